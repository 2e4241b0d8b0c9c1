//! CATGA002 handler-panics: `unwrap()`, `expect(..)` and the panicking macros in handler code.

use crate::diagnostic::{Applicability, Edit, Fix, Severity, Span};
use crate::rule::{FixAvailability, Hooks, Rule, RuleCx, RuleMeta};
use crate::semantic::LocalOrigin;

static META: RuleMeta = RuleMeta {
    code: "CATGA002",
    name: "handler-panics",
    severity: Severity::Warning,
    fix: FixAvailability::Sometimes,
    fix_applicabilities: &[Applicability::Unsafe],
    summary: "`unwrap()`, `expect(..)`, `panic!`, `todo!`, `unimplemented!` or `unreachable!` in handler code",
    docs: r#"## What it does
Reports code that panics inside handler code (the methods of a `Handler`, `EventHandler` or
`Saga` impl, closures and async blocks inside them included):

- `.unwrap()` and `.expect(..)`
- `panic!`, `todo!`, `unimplemented!`, `unreachable!` (std's macros; a local macro of the same
  name is not reported)

Not reported:
- `unwrap_or`, `unwrap_or_else`, `unwrap_or_default` and the other non-panicking relatives;
- `.lock().unwrap()`, `.read().unwrap()`, `.write().unwrap()` (and `.expect(..)`) on a lock:
  they panic only when the lock is poisoned, that is when another thread already panicked while
  holding it, and propagating that panic is the accepted idiom;
- unwrapping a value built from literals only (`NonZeroU32::new(8).unwrap()`,
  `"127.0.0.1:80".parse::<SocketAddr>().unwrap()`), which cannot fail at run time;
- code outside handler impls, and test code (`#[cfg(test)]`, `#[test]`, test targets).

## Why is this bad?
catga catches a panic in a handler and turns it into an `ErrorKind::Internal` error, which is not
retryable: a transient failure (a timeout, an unavailable database) that the `Retry` behavior
would have retried as an error fails for good as a panic, and a saga step that panics is
compensated as a bug rather than handled. Whatever the handler had half-updated stays so, std
locks it held are poisoned, and a binary built with `panic = "abort"` dies with every in-flight
message.

## Example
```rust
impl Handler<ShipOrder> for ShipOrderHandler {
    async fn handle(&self, cmd: ShipOrder, ctx: &Context) -> catga::Result<()> {
        let order = self.orders.load(&cmd.order_id).await.unwrap();
        let address = order.address.expect("orders have an address");
        if order.shipped {
            todo!("decide what re-shipping means");
        }
        self.carrier.book(&address).await
    }
}
```

## Use instead
```rust
impl Handler<ShipOrder> for ShipOrderHandler {
    async fn handle(&self, cmd: ShipOrder, ctx: &Context) -> catga::Result<()> {
        let order = self.orders.load(&cmd.order_id).await?;
        let address = order
            .address
            .ok_or_else(|| catga::Error::validation("order has no address"))?;
        if order.shipped {
            return Err(catga::Error::conflict("order already shipped"));
        }
        self.carrier.book(&address).await
    }
}
```

## Fix safety
`.unwrap()` and `.expect(..)` become `?` (unsafe). The fix is offered only where `?` returns
from the handler method itself (not inside a closure or an async block), that method returns a
`Result`, and the receiver is not evidently an `Option`: it is a call to a function or method
that is not one of the usual `Option`-returning ones (`get`, `first`, `last`, `next`, `find`,
`pop`, `take`, `max`, `checked_*`, ...), nor one whose error type is known not to convert into
`catga::Error` (`parse`, `try_into`, `recv`, std and tokio I/O, ...), or a local variable
whose declared type or initializer says so (not one bound from `Some(..)`). Method calls are
only syntax, so the fix can still produce code that does not compile: `?` needs a `Result`
whose error converts into `catga::Error` (`catga::Result`, `serde_json::Error`,
`rusqlite::Error`); otherwise add `.map_err(..)` by hand. It also changes behaviour, which is
the point: the error is returned to the caller (and to the retry behavior) instead of
panicking. `.expect(..)`'s message is dropped. Fields (`cmd.customer.unwrap()`) and the macros
have no fix.

## Options
None. Test code is never handler code, so `unwrap()` in tests is not reported.
"#,
};

/// The rule.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks {
        block: Some(check_block),
        expr: Some(check_expr),
        ..Hooks::NONE
    },
};

/// std's macros that panic when reached.
const PANIC_MACROS: &[&str] = &["panic", "todo", "unimplemented", "unreachable"];

/// Methods that usually return an `Option`: `?` on their result does not compile in a fn
/// returning `catga::Result`.
const OPTION_METHODS: &[&str] = &[
    "get",
    "get_mut",
    "first",
    "first_mut",
    "last",
    "last_mut",
    "next",
    "next_back",
    "nth",
    "peek",
    "find",
    "find_map",
    "position",
    "rposition",
    "pop",
    "pop_front",
    "pop_back",
    "pop_first",
    "pop_last",
    "take",
    "max",
    "min",
    "max_by",
    "min_by",
    "max_by_key",
    "min_by_key",
    "reduce",
    "checked_add",
    "checked_sub",
    "checked_mul",
    "checked_div",
    "checked_rem",
    "checked_pow",
    "ok",
    "err",
    "strip_prefix",
    "strip_suffix",
    "split_once",
    "rsplit_once",
    "chars",
    "parent",
    "file_name",
    "file_stem",
    "extension",
    "to_str",
    "as_ref",
    "as_mut",
    "as_deref",
    "as_deref_mut",
    "copied",
    "cloned",
    "filter",
    "flatten",
    "zip",
    "upgrade",
    "downcast_ref",
    "downcast_mut",
];

/// Methods whose `Result` error type does not convert into `catga::Error`.
const FOREIGN_ERROR_METHODS: &[&str] = &[
    "parse",
    "try_into",
    "try_from",
    "from_str",
    "from_utf8",
    "recv",
    "try_recv",
    "recv_timeout",
    "send",
    "try_send",
    "join",
    "binary_search",
    "binary_search_by",
    "binary_search_by_key",
    "try_lock",
    "try_read",
    "try_write",
    "read_to_string",
    "read_to_end",
    "read_exact",
    "write_all",
    "flush",
    "acquire",
    "acquire_owned",
    "duration_since",
    "elapsed",
];

/// Lock methods whose `.unwrap()` only propagates a poisoning panic.
const LOCK_METHODS: &[&str] = &["lock", "read", "write"];

fn check_block(block: &syn::Block, cx: &mut RuleCx<'_>) {
    if !block
        .stmts
        .iter()
        .any(|stmt| matches!(stmt, syn::Stmt::Macro(_)))
        || !cx.in_handler()
    {
        return;
    }
    for stmt in &block.stmts {
        if let syn::Stmt::Macro(mac) = stmt {
            check_macro(&mac.mac, cx);
        }
    }
}

fn check_expr(expr: &syn::Expr, cx: &mut RuleCx<'_>) {
    match expr {
        syn::Expr::MethodCall(call) => check_method_call(call, cx),
        syn::Expr::Macro(mac) if cx.in_handler() => check_macro(&mac.mac, cx),
        _ => {}
    }
}

fn check_macro(mac: &syn::Macro, cx: &mut RuleCx<'_>) {
    let Some(last) = mac.path.segments.last() else {
        return;
    };
    let name = last.ident.to_string();
    if !PANIC_MACROS.contains(&name.as_str()) {
        return;
    }
    // std's macro: unbound (a built-in) or named through std/core, never a local or imported
    // macro of the same name.
    let builtin = match cx.resolve(&mac.path) {
        None => mac.path.segments.len() == 1,
        Some(path) => path == format!("std::{name}") || path == format!("core::{name}"),
    };
    if !builtin {
        return;
    }
    let span = cx.span(mac);
    let message = format!(
        "`{name}!` in {} panics when reached: the panic becomes a non-retryable internal error and skips retry and compensation",
        cx.handler_method()
    );
    cx.report(span, message)
        .help("return an error instead, e.g. `return Err(catga::Error::internal(\"..\"))`");
}

fn check_method_call(call: &syn::ExprMethodCall, cx: &mut RuleCx<'_>) {
    let method = call.method.to_string();
    let panics = match method.as_str() {
        "unwrap" => call.args.is_empty(),
        "expect" => call.args.len() == 1 && is_message_argument(&call.args[0]),
        _ => false,
    };
    if !panics || !cx.in_handler() {
        return;
    }
    if is_poisoned_lock_unwrap(&call.receiver) || is_constant(&call.receiver) {
        return;
    }
    let written = if method == "unwrap" {
        ".unwrap()"
    } else {
        ".expect(..)"
    };
    let tail = unwrap_span(call, cx);
    let fixable = cx.fn_returns_result() && receiver_may_be_result(&call.receiver, cx);
    let message = format!(
        "`{written}` in {} panics on `Err`/`None`: the panic becomes a non-retryable internal error and skips retry and compensation",
        cx.handler_method()
    );
    let report = cx
        .report(tail, message)
        .help("return the error with `?` (`.ok_or_else(..)?` for an `Option`, `.map_err(..)?` for a foreign error)");
    if fixable {
        report.fix(Fix::unsafe_edits(
            format!("Replace `{written}` with `?`"),
            vec![Edit::replace(tail, "?")],
        ));
    }
}

/// The span of `.unwrap()` / `.expect(..)`, from the dot to the closing parenthesis.
fn unwrap_span(call: &syn::ExprMethodCall, cx: &RuleCx<'_>) -> Span {
    let source = cx.source();
    source.join(
        cx.span(&call.dot_token),
        source.span_from(call.paren_token.span.close()),
    )
}

/// `expect`'s argument is a message: not a char or number literal (a parser's `expect(',')`).
fn is_message_argument(arg: &syn::Expr) -> bool {
    match arg {
        syn::Expr::Lit(lit) => matches!(lit.lit, syn::Lit::Str(_)),
        _ => true,
    }
}

/// `.lock().unwrap()`, `.read().unwrap()`, `.write().unwrap()`: only a poisoned lock panics.
fn is_poisoned_lock_unwrap(receiver: &syn::Expr) -> bool {
    matches!(receiver, syn::Expr::MethodCall(inner)
        if inner.args.is_empty() && LOCK_METHODS.contains(&inner.method.to_string().as_str()))
}

/// A value computed from literals only: `NonZeroU32::new(8)`, `"1.2.3.4:80".parse()`.
fn is_constant(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Lit(_) => true,
        syn::Expr::Paren(paren) => is_constant(&paren.expr),
        syn::Expr::Reference(reference) => is_constant(&reference.expr),
        syn::Expr::Unary(unary) => is_constant(&unary.expr),
        syn::Expr::Call(call) => {
            is_pure_constructor(&call.func)
                && !call.args.is_empty()
                && call.args.iter().all(is_constant)
        }
        syn::Expr::MethodCall(call) => {
            matches!(call.method.to_string().as_str(), "parse" | "try_into")
                && is_constant(&call.receiver)
                && call.args.is_empty()
        }
        _ => false,
    }
}

/// `Type::new`, `Type::parse`, `Type::from_str`, `Type::try_from`: a constructor whose result
/// depends on its arguments only (unlike `std::env::var("X")` or `File::open("x")`).
fn is_pure_constructor(func: &syn::Expr) -> bool {
    let syn::Expr::Path(path) = func else {
        return false;
    };
    let segments: Vec<&syn::PathSegment> = path.path.segments.iter().collect();
    match segments.as_slice() {
        [.., ty, function] => {
            ty.ident.to_string().starts_with(char::is_uppercase)
                && matches!(
                    function.ident.to_string().as_str(),
                    "new" | "parse" | "from_str" | "try_from"
                )
        }
        _ => false,
    }
}

/// Whether the receiver of `.unwrap()` may be a `Result` `?` can return: not evidently an
/// `Option`, nor a `Result` whose error is known not to convert into `catga::Error`.
fn receiver_may_be_result(receiver: &syn::Expr, cx: &RuleCx<'_>) -> bool {
    match receiver {
        syn::Expr::Await(awaited) => receiver_may_be_result(&awaited.base, cx),
        syn::Expr::Paren(paren) => receiver_may_be_result(&paren.expr, cx),
        syn::Expr::Try(_) => false,
        // Copies keep the type: `order.address.clone().unwrap()` unwraps whatever `address` is.
        syn::Expr::MethodCall(call)
            if matches!(call.method.to_string().as_str(), "clone" | "to_owned") =>
        {
            receiver_may_be_result(&call.receiver, cx)
        }
        syn::Expr::MethodCall(call) => method_may_return_result(&call.method.to_string()),
        syn::Expr::Call(call) => match cx.resolve_expr(&call.func) {
            Some(path) => call_may_return_result(&path),
            None => false,
        },
        syn::Expr::Path(_) => cx.local_of(receiver).is_some_and(local_may_be_result),
        _ => false,
    }
}

fn method_may_return_result(method: &str) -> bool {
    !OPTION_METHODS.contains(&method) && !FOREIGN_ERROR_METHODS.contains(&method)
}

/// A function of the project or of a crate other than std and tokio (whose errors are
/// `std::io::Error` and friends), and not an `Option` constructor.
fn call_may_return_result(path: &str) -> bool {
    let foreign = ["std::", "core::", "alloc::", "tokio::"]
        .iter()
        .any(|prefix| path.starts_with(prefix));
    !foreign
        && path
            .rsplit("::")
            .next()
            .is_some_and(method_may_return_result)
}

fn local_may_be_result(origin: &LocalOrigin) -> bool {
    if let Some(ty) = &origin.ty {
        let last = ty.rsplit("::").next().unwrap_or(ty);
        return last == "Result";
    }
    match (origin.root_call.as_deref(), origin.methods.last()) {
        (_, Some(method)) => method_may_return_result(method),
        (Some(path), None) => call_may_return_result(path),
        (None, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::check::diagnostics_for_test;

    fn found(text: &str) -> Vec<(String, bool)> {
        diagnostics_for_test(text, &["tokio"])
            .into_iter()
            .filter(|diagnostic| diagnostic.code == "CATGA002")
            .map(|diagnostic| (diagnostic.message, diagnostic.fix.is_some()))
            .collect()
    }

    fn handler(body: &str) -> String {
        format!(
            "use catga::prelude::*;\nimpl Handler<Cmd> for H {{ async fn handle(&self, cmd: Cmd, ctx: &Context) -> catga::Result<u64> {{ {body} }} }}"
        )
    }

    #[test]
    fn statement_and_tail_macros_are_reported_once_each() {
        let got = found(&handler(
            "if cmd.a { panic!(\"boom\"); } if cmd.b { unreachable!() } todo!()",
        ));
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].0.starts_with("`panic!` in `H::handle`"));
        assert!(got.iter().all(|(_, fix)| !fix));
    }

    #[test]
    fn local_macro_named_todo_is_not_reported() {
        let text = format!(
            "macro_rules! todo {{ () => {{ 0 }} }}\n{}",
            handler("Ok(todo!())")
        );
        assert!(found(&text).is_empty());
    }

    #[test]
    fn fix_is_offered_for_call_results_but_not_option_methods_closures_or_locals_from_some() {
        let got = found(&handler(
            "let a = self.repo.load(1).await.unwrap();\n\
             let b = self.items.first().unwrap();\n\
             let c = cmd.ids.iter().map(|id| self.repo.load(*id).unwrap());\n\
             let d = Some(3);\n\
             let e = d.unwrap();\n\
             let f = cmd.text.parse::<u64>().unwrap();\n\
             Ok(a)",
        ));
        let fixes: Vec<bool> = got.iter().map(|(_, fix)| *fix).collect();
        assert_eq!(fixes, [true, false, false, false, false], "{got:?}");
    }

    #[test]
    fn poisoned_locks_constants_and_non_panicking_relatives_are_quiet() {
        let got = found(&handler(
            "let n = self.state.lock().unwrap(); let m = self.map.write().expect(\"poisoned\");\n\
             let z = std::num::NonZeroU32::new(8).unwrap();\n\
             let x = self.repo.load(1).await.unwrap_or_default();\n\
             let y = cmd.name.unwrap_or_else(String::new); Ok(0)",
        ));
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn unwrapping_calls_with_literal_arguments_that_can_fail_at_run_time_is_reported() {
        let got = found(&handler(
            "let home = std::env::var(\"HOME\").unwrap(); let f = std::fs::File::open(\"x\").unwrap(); Ok(0)",
        ));
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got.iter().all(|(_, fix)| !fix),
            "std errors do not convert: {got:?}"
        );
    }

    #[test]
    fn code_outside_handlers_and_tests_is_quiet() {
        let text = "use catga::prelude::*;\n\
                    fn helper(x: Option<u8>) -> u8 { x.unwrap() }\n\
                    #[cfg(test)] mod tests { use super::*; impl Handler<Cmd> for H { async fn handle(&self, c: Cmd, ctx: &Context) -> catga::Result<u8> { todo!() } } }";
        assert!(found(text).is_empty());
    }
}
