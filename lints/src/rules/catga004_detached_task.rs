//! CATGA004 detached-task: a task or thread spawned in handler code whose handle is dropped.

use crate::diagnostic::Severity;
use crate::rule::{FixAvailability, Hooks, Rule, RuleCx, RuleMeta};

static META: RuleMeta = RuleMeta {
    code: "CATGA004",
    name: "detached-task",
    severity: Severity::Warning,
    fix: FixAvailability::None,
    fix_applicabilities: &[],
    summary: "`tokio::spawn` or `std::thread::spawn` in handler code whose handle is dropped",
    docs: r#"## What it does
Reports a task or thread spawned in handler code (the methods of a `Handler`, `EventHandler` or
`Saga` impl, closures and async blocks inside them included) whose handle is thrown away, either
as a statement (`tokio::spawn(..);`) or with `let _ = tokio::spawn(..);`. The spawn functions,
resolved through `use` (so `use tokio::spawn; spawn(..)` counts and a local fn `spawn` does
not):

- `tokio::spawn`, `tokio::task::spawn`
- `tokio::task::spawn_blocking` and `tokio::task::spawn_local`: the same problem (a dropped
  handle detaches them; a blocking task cannot even be aborted)
- `std::thread::spawn`

Not reported: a handle bound to a name (`let handle = ..`, `let _handle = ..`), awaited,
returned, pushed into a collection or passed to a function, tasks spawned on a `JoinSet` or a
`TaskTracker`, method calls such as `runtime.spawn(..)` (their receiver's type is unknown), and
code outside handler impls and in tests. A name starting with `_` is a decision the author made
in writing, so it is not second-guessed, although the task still outlives the handler when the
handle is dropped at the end of the scope.

## Why is this bad?
A detached task escapes the message that started it. The mediator's timeout and cancellation do
not reach it, its errors and panics vanish (nobody awaits the handle), the retry and idempotency
behaviors see the handler succeed before the work is done, and a shutdown drops the work halfway.
Under load, detached tasks also pile up without any back-pressure.

## Example
```rust
impl EventHandler<OrderPlaced> for NotifyWarehouse {
    async fn handle(&self, event: &OrderPlaced, ctx: &Context) -> catga::Result<()> {
        let client = self.client.clone();
        let order_id = event.order_id.clone();
        tokio::spawn(async move { client.reserve(&order_id).await });
        Ok(())
    }
}
```

## Use instead
```rust
impl EventHandler<OrderPlaced> for NotifyWarehouse {
    async fn handle(&self, event: &OrderPlaced, ctx: &Context) -> catga::Result<()> {
        self.client.reserve(&event.order_id).await
    }
}
```
When the work really must outlive the message, publish an event for another handler, write it to
the outbox, or spawn it on a `JoinSet` or `TaskTracker` that the service joins on shutdown.

## Fix safety
No fix: whether to await the work, hand it to an outbox or track it depends on what it does.

## Options
None.
"#,
};

/// The rule.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks {
        block: Some(check_block),
        ..Hooks::NONE
    },
};

/// Spawn functions whose handle, when dropped, detaches the task or thread.
const SPAWN_FUNCTIONS: &[(&str, &str)] = &[
    ("tokio::spawn", "task"),
    ("tokio::task::spawn", "task"),
    ("tokio::task::spawn_blocking", "blocking task"),
    ("tokio::task::spawn_local", "task"),
    ("std::thread::spawn", "thread"),
];

fn check_block(block: &syn::Block, cx: &mut RuleCx<'_>) {
    if !cx.in_handler() {
        return;
    }
    for stmt in &block.stmts {
        let (call, how) = match stmt {
            syn::Stmt::Expr(expr, Some(_)) => (spawn_call(expr), "as a statement"),
            syn::Stmt::Local(local) if is_wildcard(&local.pat) && local.init.is_some() => (
                local.init.as_ref().and_then(|init| spawn_call(&init.expr)),
                "with `let _ =`",
            ),
            _ => continue,
        };
        let Some(call) = call else {
            continue;
        };
        let Some(path) = cx.resolve_expr(&call.func) else {
            continue;
        };
        let Some((_, what)) = SPAWN_FUNCTIONS
            .iter()
            .find(|(function, _)| *function == path)
        else {
            continue;
        };
        let written = cx.text(cx.span(&*call.func)).to_string();
        let span = cx.span(call);
        let message = format!(
            "`{written}` in {} drops the {what}'s handle {how}: the {what} is detached, escapes the message's timeout and cancellation, and its errors vanish",
            cx.handler_method()
        );
        cx.report(span, message).help(
            "await the work in the handler, publish an event or use the outbox for work that must outlive it, or spawn it on a `JoinSet` that is joined",
        );
    }
}

/// The spawn-like call an expression statement or initializer is, parentheses aside.
fn spawn_call(expr: &syn::Expr) -> Option<&syn::ExprCall> {
    match expr {
        syn::Expr::Call(call) => Some(call),
        syn::Expr::Paren(paren) => spawn_call(&paren.expr),
        _ => None,
    }
}

/// `_` or `_: T`: the value is dropped right away.
fn is_wildcard(pat: &syn::Pat) -> bool {
    match pat {
        syn::Pat::Wild(_) => true,
        syn::Pat::Type(typed) => is_wildcard(&typed.pat),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::check::diagnostics_for_test;

    fn messages(body: &str) -> Vec<String> {
        let text = format!(
            "use catga::prelude::*;\nuse tokio::task;\nfn spawn(_: u8) {{}}\n\
             impl EventHandler<Ev> for H {{ async fn handle(&self, e: &Ev, ctx: &Context) -> catga::Result<()> {{ {body} }} }}"
        );
        diagnostics_for_test(&text, &["tokio"])
            .into_iter()
            .filter(|diagnostic| diagnostic.code == "CATGA004")
            .map(|diagnostic| diagnostic.message)
            .collect()
    }

    #[test]
    fn dropped_handles_are_reported_with_the_construct_and_the_handler() {
        let got = messages(
            "tokio::spawn(async {}); let _ = task::spawn_blocking(|| 1); let _: std::thread::JoinHandle<()> = std::thread::spawn(|| {}); Ok(())",
        );
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(
            got[0],
            "`tokio::spawn` in `H::handle` drops the task's handle as a statement: \
             the task is detached, escapes the message's timeout and cancellation, and its errors vanish"
        );
        assert!(
            got[1].contains("blocking task's handle with `let _ =`"),
            "{}",
            got[1]
        );
        assert!(got[2].starts_with("`std::thread::spawn`"), "{}", got[2]);
    }

    #[test]
    fn kept_awaited_or_local_spawns_are_quiet() {
        let got = messages(
            "let handle = tokio::spawn(async {}); let _h = tokio::spawn(async {}); \
             tokio::spawn(async {}).await.ok(); spawn(1); let mut set = tokio::task::JoinSet::new(); \
             set.spawn(async {}); let hs = vec![tokio::spawn(async {})]; drop(handle); Ok(())",
        );
        assert!(got.is_empty(), "{got:?}");
    }
}
