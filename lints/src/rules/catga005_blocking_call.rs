//! CATGA005 blocking-call-in-async: a call that blocks the thread, made from async code.

use crate::diagnostic::{Applicability, Fix, Severity};
use crate::rule::{FixAvailability, Hooks, Rule, RuleCx, RuleMeta};

static META: RuleMeta = RuleMeta {
    code: "CATGA005",
    name: "blocking-call-in-async",
    severity: Severity::Warning,
    fix: FixAvailability::Sometimes,
    fix_applicabilities: &[Applicability::Safe, Applicability::Unsafe],
    summary: "A call that blocks the thread (`std::thread::sleep`, `block_on`, `blocking_*`, std mpsc receive) in async code",
    docs: r#"## What it does
Reports calls that block the current thread when they run inside async code (an `async fn`, an
`async` block or an async closure):

- `std::thread::sleep`
- `block_on` of any executor: `futures::executor::block_on`, `pollster::block_on`,
  `async_std::task::block_on`, `smol::block_on`, `futures_lite::future::block_on`,
  `async_io::block_on`, and `.block_on(..)` on a runtime or handle
  (`Handle::current().block_on(..)`)
- tokio's `.blocking_recv()`, `.blocking_send(..)`, `.blocking_lock()`, `.blocking_read()`,
  `.blocking_write()`
- `.recv()` / `.recv_timeout(..)` on a `std::sync::mpsc` receiver, `.join()` on a
  `std::thread::spawn` handle
- every function listed in the `blocking_functions` option

Closures are not async code: a call inside `spawn_blocking(|| ..)`, `block_in_place(|| ..)` or
`std::thread::spawn(|| ..)` is where blocking belongs, and is not reported. Neither is a nested
plain `fn`, a local function that happens to be called `sleep`, or a `.recv().await`.

## Why is this bad?
An async executor runs many tasks on a few threads. A task that blocks its thread stops every
other task scheduled there: latency spikes for unrelated requests, timers fire late, and with a
single-threaded runtime the whole service stalls. tokio's `blocking_*` methods and
`Runtime::block_on` panic outright when called from async code.

## Example
```rust
impl Handler<CreateOrder> for CreateOrderHandler {
    async fn handle(&self, cmd: CreateOrder, ctx: &Context) -> catga::Result<OrderId> {
        std::thread::sleep(Duration::from_millis(10));
        let permit = self.limiter.blocking_lock();
        // ...
    }
}
```

## Use instead
```rust
impl Handler<CreateOrder> for CreateOrderHandler {
    async fn handle(&self, cmd: CreateOrder, ctx: &Context) -> catga::Result<OrderId> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let permit = self.limiter.lock().await;
        // ...
    }
}
```
Work that must block (a synchronous library, heavy computation) goes into
`tokio::task::spawn_blocking`.

## Fix safety
`thread::sleep(d)` becomes `tokio::time::sleep(d).await`: safe, offered only when the crate's
`Cargo.toml` depends on tokio with its `time` (or `full`) feature and `.await` can be written at
that spot (not inside a closure).
`.blocking_recv()` and friends become `.recv().await` and friends: unsafe, because the receiver's
type is not checked (the rewrite is right for tokio's channels and locks, which are the types that
have these methods). The other calls have no fix: the right replacement depends on the code.

## Options
Test code is linted like any other code (the same policy as CATGA012): the bodies of
`#[tokio::test]` and `#[tokio::main]` fns are async code, and a blocking call there blocks the
test's or the program's runtime, so it is reported. Silence a deliberate case with
`// catga-allow(CATGA005): reason`.

- `blocking_functions`: extra full paths to report, e.g.
  `blocking_functions = ["my_db::query_sync", "my_service::legacy::fetch"]`. A path into the crate
  being linted names the fn by its module path and matches by what follows the crate name:
  `my_service::legacy::fetch` matches a call to `crate::legacy::fetch`, or to `legacy::fetch` in
  the crate root that declares `mod legacy`; the `fetch` of a `mod legacy` in `src/orders.rs` is
  `my_service::orders::legacy::fetch`.
"#,
};

/// The rule.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks {
        expr: Some(check_expr),
        ..Hooks::NONE
    },
};

/// Free functions that block until a future completes.
const BLOCK_ON_FUNCTIONS: &[&str] = &[
    "futures::executor::block_on",
    "futures_executor::block_on",
    "futures::executor::block_on_stream",
    "pollster::block_on",
    "async_std::task::block_on",
    "smol::block_on",
    "futures_lite::future::block_on",
    "async_io::block_on",
    "tokio::runtime::Runtime::block_on",
    "tokio::runtime::Handle::block_on",
];

/// tokio's blocking bridges and the async method to await instead.
const BLOCKING_METHODS: &[(&str, &str)] = &[
    ("blocking_recv", "recv"),
    ("blocking_send", "send"),
    ("blocking_lock", "lock"),
    ("blocking_read", "read"),
    ("blocking_write", "write"),
];

fn check_expr(expr: &syn::Expr, cx: &mut RuleCx<'_>) {
    match expr {
        syn::Expr::Call(call) => check_call(call, cx),
        syn::Expr::MethodCall(call) => check_method_call(call, cx),
        _ => {}
    }
}

fn check_call(call: &syn::ExprCall, cx: &mut RuleCx<'_>) {
    let Some(context) = cx.async_context() else {
        return;
    };
    let Some(path) = cx.resolve_expr(&call.func) else {
        return;
    };
    // A node's span is computed from its tokens: only for the calls that are reported.
    if path == "std::thread::sleep" {
        let span = cx.span(call);
        let fix = (call.args.len() == 1 && cx.tokio_has("time") && cx.await_allowed()).then(|| {
            Fix::safe(
                "Replace with `tokio::time::sleep(..).await`",
                cx.awaited_replacement(call, &call.func, "tokio::time::sleep"),
            )
        });
        let report = cx
            .report(
                span,
                format!("std::thread::sleep blocks the executor thread inside {context}"),
            )
            .help("use `tokio::time::sleep(..).await`, which lets other tasks run while it waits");
        if let Some(fix) = fix {
            report.fix(fix);
        }
    } else if BLOCK_ON_FUNCTIONS.contains(&path.as_str()) {
        let span = cx.span(call);
        cx.report(
            span,
            format!("{path} blocks the executor thread inside {context}"),
        )
        .help("`.await` the future instead of blocking on it");
    } else if !cx.settings().blocking_functions.is_empty() && {
        // Named in the workspace's terms: `legacy::fetch` in `src/orders.rs` of `shop` is
        // `shop::orders::legacy::fetch`, wherever the call is written.
        let canonical = match &*call.func {
            syn::Expr::Path(func) if func.qself.is_none() => cx.resolver().canonical(&func.path),
            _ => None,
        };
        cx.settings()
            .blocking_functions
            .iter()
            .any(|blocking| names_configured_function(&path, canonical.as_deref(), blocking))
    } {
        let span = cx.span(call);
        cx.report(span, format!("{path} (listed in `blocking_functions`) blocks the executor thread inside {context}"))
            .help("run it inside `tokio::task::spawn_blocking(move || ..)` and `.await` the handle");
    }
}

/// Whether a call is the configured `blocking` path: its resolved path is, or, for a fn of this
/// crate, its workspace-wide path (`local`: `my_service::db::query` for `db::query` in the crate
/// root of `my_service`) is, counting the configured crate name as any name (a file linted alone
/// has none).
fn names_configured_function(path: &str, local: Option<&str>, blocking: &str) -> bool {
    if path == blocking || local == Some(blocking) {
        return true;
    }
    let tail = |full: &str| full.split_once("::").map(|(_, tail)| tail.to_string());
    let local_tail = path
        .strip_prefix("crate::")
        .map(str::to_string)
        .or_else(|| local.and_then(tail));
    matches!((local_tail, tail(blocking)), (Some(local), Some(configured)) if local == configured)
}

fn check_method_call(call: &syn::ExprMethodCall, cx: &mut RuleCx<'_>) {
    let Some(context) = cx.async_context() else {
        return;
    };
    let method = call.method.to_string();
    // A node's span is computed from its tokens: only for the calls that are reported.
    if let Some((_, async_method)) = BLOCKING_METHODS
        .iter()
        .find(|(blocking, _)| *blocking == method)
    {
        let span = cx.span(call);
        let fix = cx.await_allowed().then(|| {
            Fix::unsafe_edits(
                format!("Replace with `.{async_method}(..).await`"),
                cx.awaited_replacement(call, &call.method, *async_method),
            )
        });
        let report = cx
            .report(span, format!("`.{method}()` blocks the executor thread inside {context} (tokio panics when it is called from async code)"))
            .help(format!("use `.{async_method}(..).await`"));
        if let Some(fix) = fix {
            report.fix(fix);
        }
        return;
    }
    if method == "block_on" && call.args.len() == 1 {
        let span = cx.span(call);
        cx.report(span, format!("`.block_on(..)` blocks the executor thread inside {context} (a tokio runtime panics when it is entered from async code)"))
            .help("`.await` the future instead of blocking on it");
        return;
    }
    if cx.is_awaited() {
        return;
    }
    let Some(origin) = cx.local_of(&call.receiver) else {
        return;
    };
    let root = origin.root_call.as_deref();
    let std_receiver = matches!(
        root,
        Some("std::sync::mpsc::channel" | "std::sync::mpsc::sync_channel")
    ) || origin.ty.as_deref() == Some("std::sync::mpsc::Receiver");
    if std_receiver
        && origin.methods.is_empty()
        && matches!(method.as_str(), "recv" | "recv_timeout")
    {
        let span = cx.span(call);
        cx.report(span, format!("std::sync::mpsc::Receiver::{method} blocks the executor thread inside {context}"))
            .help("use `tokio::sync::mpsc` and `.recv().await`, or receive inside `tokio::task::spawn_blocking`");
    } else if root == Some("std::thread::spawn") && origin.methods.is_empty() && method == "join" {
        let span = cx.span(call);
        cx.report(
            span,
            format!("std::thread::JoinHandle::join blocks the executor thread inside {context}"),
        )
        .help("use `tokio::task::spawn_blocking(..)` and `.await` its handle");
    }
}

#[cfg(test)]
mod tests {
    use super::names_configured_function;
    use crate::check::diagnostics_for_test;

    #[test]
    fn configured_paths_match_exactly_or_by_their_path_in_the_workspace() {
        let configured = "my_service::db::query";
        assert!(names_configured_function(
            "my_db::query",
            None,
            "my_db::query"
        ));
        assert!(names_configured_function(
            "crate::db::query",
            None,
            configured
        ));
        // `db::query` in the crate root, and in a module file of another crate name.
        assert!(names_configured_function(
            "self::db::query",
            Some("my_service::db::query"),
            configured
        ));
        assert!(names_configured_function(
            "self::db::query",
            Some("fixture::db::query"),
            configured
        ));
        // `db::query` in `src/orders.rs` is `orders::db::query`, another fn.
        assert!(!names_configured_function(
            "self::db::query",
            Some("my_service::orders::db::query"),
            configured
        ));
        assert!(names_configured_function(
            "self::db::query",
            Some("my_service::orders::db::query"),
            "my_service::orders::db::query"
        ));
        assert!(!names_configured_function(
            "other::db::query",
            None,
            configured
        ));
        assert!(!names_configured_function(
            "self::query",
            Some("my_service::query"),
            configured
        ));
    }

    #[test]
    fn sleep_in_an_entry_point_is_reported_because_it_stalls_the_runtime() {
        let diagnostics = diagnostics_for_test(
            "#[tokio::test] async fn waits() { std::thread::sleep(std::time::Duration::from_millis(5)); }",
            &["tokio"],
        );
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(
            diagnostics[0].message,
            "std::thread::sleep blocks the executor thread inside async fn `waits`"
        );
    }

    #[test]
    fn sleep_fix_requires_tokio_with_its_time_feature() {
        let text = "async fn f() { std::thread::sleep(std::time::Duration::from_millis(5)); }";
        let fixable =
            |dependencies: &[&str]| diagnostics_for_test(text, dependencies)[0].fix.is_some();
        assert!(fixable(&["tokio", "tokio/time"]));
        assert!(fixable(&["tokio", "tokio/full"]));
        assert!(!fixable(&["tokio"]));
    }

    #[test]
    fn tokio_methods_awaited_are_not_blocking() {
        let diagnostics = diagnostics_for_test(
            "async fn f(m: tokio::sync::Mutex<u8>, mut rx: tokio::sync::mpsc::Receiver<u8>) { m.lock().await; rx.recv().await; }",
            &["tokio"],
        );
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
    }
}
