//! CATGA015 unhandled-event: an event type that no `EventHandler` impl in the workspace handles.

use crate::context::HandlerKind;
use crate::diagnostic::{Applicability, Edit, Fix, Severity};
use crate::facts::MessageKind;
use crate::rule::{FixAvailability, Hooks, Rule, RuleMeta};
use crate::workspace::{SameType, WorkspaceCx, WorkspaceIndex, place};

static META: RuleMeta = RuleMeta {
    code: "CATGA015",
    name: "unhandled-event",
    severity: Severity::Warning,
    fix: FixAvailability::Sometimes,
    fix_applicabilities: &[Applicability::Unsafe],
    summary: "An event type that no `EventHandler` in the workspace handles",
    docs: r#"## What it does
Reports an event type (`#[derive(Event)]` or `impl Event`, outside test code) for which no
`impl EventHandler<E>` exists anywhere in the workspace outside test code, and that no mediator
exports to other services (`.export::<E>()` or `.export_keyed::<E, _>(..)`: their handlers live
elsewhere). It says where the event is published when a `.publish(..)` call shows it. Types are told apart by module path: a handler
of `billing::Paid` does not handle `orders::Paid`.

## Why is this bad?
Publishing an event nobody handles succeeds and does nothing. Either a reaction was forgotten
(the email is never sent, the read model never updated), or the event is dead code that
misleads readers about what the system does.

## Example
```rust
#[derive(Debug, Clone, Event)]
pub struct OrderShipped {
    pub order_id: u64,
}
// no `impl EventHandler<OrderShipped>` anywhere
```

## Use instead
```rust
#[derive(Debug, Default)]
pub struct NotifyCustomer;

impl EventHandler<OrderShipped> for NotifyCustomer {
    async fn handle(&self, event: &OrderShipped, ctx: &Context) -> catga::Result<()> {
        // send the notification
        Ok(())
    }
}
```

## Fix safety
The fix appends a handler stub to the file that defines the event: a unit struct
`<Event>Handler` and an `EventHandler` impl whose `handle` returns `Ok(())`. The fix
registers nothing itself: CATGA001 then reports the stub, and when it runs too and the
workspace builds a mediator with `.auto_register()`, its own unsafe fix marks the stub
`#[catga::handler]` in the same run; otherwise CATGA001 keeps reporting the stub until it is
registered with `.event_handler(..)`. It is unsafe because the stub does nothing: it silences this
rule without adding the reaction. No fix is offered for generic
events, for events declared in an inline `mod { .. }` (the stub would land outside it), or
when the stub's name is taken in that module.

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
    let handled: Vec<_> = index
        .handler_impls()
        .filter(|handler| handler.fact.kind == HandlerKind::EventHandler && !handler.fact.in_test)
        .filter_map(|handler| handler.fact.message.as_ref())
        .collect();
    for event in index.message_types() {
        let fact = event.fact;
        if fact.kind != MessageKind::Event || fact.in_test {
            continue;
        }
        if handled
            .iter()
            .any(|message| index.may_be_same(message, &fact.ty))
            || index
                .exports()
                .any(|export| index.may_be_same(&export.fact.ty, &fact.ty))
        {
            continue;
        }
        let name = &fact.ty.name;
        // Where it is published, when that shows: the reaction that silently never happens.
        let published = index
            .publishes()
            .find(|publish| index.same_type(&publish.fact.ty, &fact.ty) == SameType::Yes)
            .map(|publish| {
                format!(
                    ", yet it is published at {}",
                    place(publish.path, publish.fact.span)
                )
            })
            .unwrap_or_default();
        let report = cx
            .report(
                event.path,
                fact.span,
                format!("event `{name}` has no handler: no `impl EventHandler<{name}>` in the workspace{published}"),
            )
            .help(format!(
                "add an `impl EventHandler<{name}>` and register it with `.event_handler(..)`, or remove the event"
            ));
        if let Some(fix) = stub_fix(index, event.path, fact) {
            report.fix(fix);
        }
    }
}

/// Append `<Event>Handler` to the event's file, unless the event is generic or the name is
/// taken in its module.
fn stub_fix(
    index: &WorkspaceIndex<'_>,
    path: &std::path::Path,
    event: &crate::facts::MessageType,
) -> Option<Fix> {
    let name = &event.ty.name;
    if index
        .definition(&event.ty)
        .is_some_and(|def| def.fact.generic)
    {
        return None;
    }
    let module = event.ty.path.as_deref()?.rsplit_once("::")?.0;
    let handler = format!("{name}Handler");
    let facts = index.file(path)?;
    // Appended text lands in the file's own module: an event of an inline module would be
    // out of scope there.
    if facts.module != module {
        return None;
    }
    let taken = index.is_defined(&format!("{module}::{handler}"))
        || facts.types.iter().any(|def| def.ty.name == handler);
    if taken {
        return None;
    }
    let end = facts.end?;
    let separator = if end.start_pos.column == 1 {
        "\n"
    } else {
        "\n\n"
    };
    let stub = format!(
        "{separator}/// Reacts to [`{name}`]. Added by `catga lint --fix` (CATGA015): write the reaction,\n\
         /// then register it with `Mediator::builder().event_handler({handler})`.\n\
         #[derive(Debug, Default)]\n\
         pub struct {handler};\n\
         \n\
         impl catga::EventHandler<{name}> for {handler} {{\n    \
             async fn handle(&self, _event: &{name}, _ctx: &catga::Context) -> catga::Result<()> {{\n        \
                 Ok(())\n    \
             }}\n\
         }}\n"
    );
    Some(Fix::unsafe_edits(
        format!("Append an `EventHandler<{name}>` stub, `{handler}`"),
        vec![Edit::replace(end, stub)],
    ))
}
