//! CATGA016 blocking-call-through-helper: async code that calls a plain fn of the workspace
//! which blocks, directly or through other plain fns (see [`crate::call_graph`]).

use crate::diagnostic::Severity;
use crate::rule::{FixAvailability, Hooks, Rule, RuleMeta};
use crate::workspace::{WorkspaceCx, WorkspaceIndex};

static META: RuleMeta = RuleMeta {
    code: "CATGA016",
    name: "blocking-call-through-helper",
    severity: Severity::Warning,
    fix: FixAvailability::None,
    fix_applicabilities: &[],
    summary: "Async code calling a plain fn of the workspace that blocks (`handle` -> `wait_for_tx` -> `.block_on(..)`)",
    docs: r#"## What it does
Reports a call, from async code, of a plain (not `async`) fn of the workspace that blocks the
thread: its body calls `std::thread::sleep`, `block_on` of any executor (`.block_on(..)` on a
runtime or handle, `futures::executor::block_on`, ...), tokio's `blocking_*` bridges, a
`std::fs` function, `File::open` / `File::create`, `TcpStream::connect`, or runs a process to its
end (`Command::new(..).output()` / `.status()`, a spawned child's `.wait()`), or it calls another
plain fn of the workspace that does, however deep. The message names the chain:
`handle` -> `wait_for_tx` -> `.block_on(..)`.

Calls are followed through the workspace's own fns: free fns by path (through `use` items and
modules, across files), and `self.method()` / `Self::f()` by the impl's type. A call inside a
closure handed elsewhere (`spawn_blocking(|| ..)`, `std::thread::spawn(|| ..)`) or inside an
async block of the plain fn does not make it block; closures an iterator or `Option` combinator
runs right there do. Method calls on other receivers are not followed (their type is not known
without compiling), and a fn defined twice (cfg variants) blocks only when every definition does.

## Why is this bad?
The blocking call runs on the executor thread exactly as if it were written in the async body
(CATGA005, CATGA012), but one call away it is invisible to a reader of the async code, and to
those rules. A `block_on` there panics inside a tokio runtime.

## Example
```rust
fn wait_for_tx(handle: &Handle, tx: Tx) -> Receipt {
    handle.block_on(tx.confirmed())
}

async fn handle(&self, cmd: Pay) -> Result<Receipt> {
    Ok(wait_for_tx(&self.runtime, cmd.tx))
}
```

## Use instead
```rust
async fn wait_for_tx(tx: Tx) -> Receipt {
    tx.confirmed().await
}

async fn handle(&self, cmd: Pay) -> Result<Receipt> {
    Ok(wait_for_tx(cmd.tx).await)
}
```
or call the plain fn inside `tokio::task::spawn_blocking(move || ..)` and `.await` the handle.

## Fix safety
No fix: whether to make the helper async or move the call to the blocking pool is a design
choice.

## Options
None. Suppress a deliberate call with `// catga-allow(CATGA016): reason` on the call's line.
"#,
};

/// The rule.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks {
        workspace: Some(check_workspace),
        ..Hooks::NONE
    },
};

fn check_workspace(index: &WorkspaceIndex<'_>, cx: &mut WorkspaceCx<'_>) {
    let mut chains = index.blocking_chains();
    for located in index.fns() {
        let caller = located.fact;
        for call in &caller.calls {
            let Some(context) = &call.async_context else {
                continue;
            };
            let Some(chain) = chains.chain(&call.callee) else {
                continue;
            };
            let caller_name = caller.path.rsplit("::").next().unwrap_or(&caller.path);
            let helper = chain.first().map_or("", String::as_str);
            let path: Vec<String> = std::iter::once(caller_name)
                .chain(chain.iter().map(String::as_str))
                .map(|name| format!("`{name}`"))
                .collect();
            cx.report(
                located.path,
                call.span,
                format!(
                    "`{helper}` blocks the executor thread inside {context}: {}",
                    path.join(" -> ")
                ),
            )
            .help(format!(
                "make `{helper}` async and `.await` it, or call it inside `tokio::task::spawn_blocking(move || ..)` and `.await` the handle"
            ));
        }
    }
}
