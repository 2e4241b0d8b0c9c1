//! CATGA003 duplicate-handler: two `Handler<R>` impls for one request type in the workspace.

use crate::context::HandlerKind;
use crate::diagnostic::Severity;
use crate::facts::HandlerImpl;
use crate::rule::{FixAvailability, Hooks, Rule, RuleMeta};
use crate::workspace::{Located, SameType, WorkspaceCx, WorkspaceIndex, place};

static META: RuleMeta = RuleMeta {
    code: "CATGA003",
    name: "duplicate-handler",
    severity: Severity::Error,
    fix: FixAvailability::None,
    fix_applicabilities: &[],
    summary: "Two `Handler<R>` impls for one request type: the mediator refuses to build",
    docs: r#"## What it does
Reports every `impl Handler<R>` when another impl in the workspace handles the same request
type `R`, pointing at each impl and naming the other. Request types are told apart by their
module path: `orders::Cancel` and `billing::Cancel` are different types, so their handlers
are not duplicates, whatever the types are called where the impls name them (`use` items,
renames, `crate::`/`super::` paths).

Impls in test code are not counted, nor are event handlers (an event may have any number).

## Why is this bad?
A command or query has exactly one handler. `Mediator::builder().build()` returns an error
when two handlers of one request type are registered, so the service fails at startup; when
only one of them is registered, the other is dead code that a reader may take for the live one.

## Example
```rust
// src/orders/create.rs
impl Handler<CreateOrder> for CreateOrderHandler { /* .. */ }

// src/legacy.rs
impl Handler<crate::orders::CreateOrder> for LegacyCreateOrderHandler { /* .. */ }
```

## Use instead
Keep one handler per request type; route variants through the request's fields, or give the
variant its own request type.

## Fix safety
No fix: which handler should stay is a decision for a person.

## Options
None.
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
    let handlers: Vec<Located<'_, HandlerImpl>> = index
        .handler_impls()
        .filter(|handler| handler.fact.kind == HandlerKind::Handler && !handler.fact.in_test)
        .filter(|handler| handler.fact.message.is_some())
        .collect();
    for (position, handler) in handlers.iter().enumerate() {
        let Some(message) = &handler.fact.message else {
            continue;
        };
        let others: Vec<&Located<'_, HandlerImpl>> = handlers
            .iter()
            .enumerate()
            .filter(|(other_position, _)| *other_position != position)
            .map(|(_, other)| other)
            .filter(|other| {
                other.fact.message.as_ref().is_some_and(|other_message| {
                    index.same_type(message, other_message) == SameType::Yes
                })
            })
            .collect();
        let Some(first) = others.first() else {
            continue;
        };
        let more = match others.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        let message_text = format!(
            "`{}` is a second handler of `{}`: `{}` at {} handles it too{more}",
            handler.fact.self_ty.name,
            message.name,
            first.fact.self_ty.name,
            place(first.path, first.fact.self_span),
        );
        cx.report(handler.path, handler.fact.self_span, message_text)
            .help("keep one handler per request type; the mediator refuses to build with two");
    }
}
