//! CATGA001 handler-not-registered: a handler impl that no builder call and no
//! `#[catga::handler]` registers anywhere in the workspace.

use crate::config::RegistrationStyle;
use crate::context::HandlerKind;
use crate::diagnostic::{Applicability, Edit, Fix, Severity};
use crate::facts::RegistrationKind;
use crate::rule::{FixAvailability, Hooks, Rule, RuleMeta};
use crate::workspace::{SameType, WorkspaceCx, WorkspaceIndex};

static META: RuleMeta = RuleMeta {
    code: "CATGA001",
    name: "handler-not-registered",
    severity: Severity::Warning,
    fix: FixAvailability::Sometimes,
    fix_applicabilities: &[Applicability::Unsafe],
    summary: "A handler impl that nothing registers with the mediator",
    docs: r#"## What it does
Reports an `impl Handler<R>` or `impl EventHandler<E>` (outside test code) whose type is
registered nowhere in the workspace: no `.handler(..)` or `.event_handler(..)` builder call
takes a value of that type, and the impl carries no `#[catga::handler]`.

A builder call counts whatever way it builds the value: `.handler(CreateOrderHandler)`,
`CreateOrderHandler::new(..)`, `CreateOrderHandler::default()`, `CreateOrderHandler { .. }`,
or a variable bound from one of those or annotated with the type. Types are told apart by
module path, so registering `billing::Handler` does not register `orders::Handler`. When the
argument's type cannot be told (a function call returning the handler), a registration of a
type of that name counts, so the rule stays quiet rather than guess.

## Why is this bad?
An unregistered handler never runs. For a command or query, every `send` fails with "no
handler registered"; for an event, the reaction silently never happens. Both only show at run
time, usually in production.

## Example
```rust
impl Handler<CreateOrder> for CreateOrderHandler { /* .. */ }

let mediator = Mediator::builder()
    .handler(GetOrderHandler::new(db.clone())) // CreateOrderHandler is missing
    .build()?;
```

## Use instead
```rust
let mediator = Mediator::builder()
    .handler(CreateOrderHandler::new(db.clone()))
    .handler(GetOrderHandler::new(db.clone()))
    .build()?;
```
or, for a handler built without arguments, `#[catga::handler]` on the impl and
`Mediator::builder().auto_register()`.

## Fix safety
When the handler type is declared in the workspace with `#[derive(Default)]` or an
`impl Default`, neither it nor the impl is generic, and code of the workspace outside tests
builds a mediator with `.auto_register()`, the fix adds `#[catga::handler]` to the impl (the
attribute builds the handler with `Default::default()`). No fix either when the impl names the
trait through an alias (`use catga::EventHandler as OnEvent;`): the attribute reads the name as
written and rejects the impl. Without an `.auto_register()` call
there is no fix: the attribute would silence this finding while `send` still fails with
`NoHandler`.
It is unsafe: a workspace may build several mediators and only some of them auto-register, and
a default-built handler may not be what the service needs.

## Options
With `registration = "attribute"`, CATGA010 reports every handler impl without the attribute,
and this rule stays quiet to avoid saying it twice.
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
    if cx.settings().registration == RegistrationStyle::Attribute {
        return;
    }
    let builder_calls: Vec<_> = index
        .registrations()
        .filter(|registration| registration.fact.kind == RegistrationKind::Builder)
        .collect();
    // The attribute registers a handler only in a mediator built with `.auto_register()`:
    // without one, adding it would hide this finding while `send` still fails with NoHandler.
    let auto_registers = index.auto_register_calls().next().is_some();
    for handler in index.handler_impls() {
        let imp = handler.fact;
        let call = match imp.kind {
            HandlerKind::Handler => "handler",
            HandlerKind::EventHandler => "event_handler",
            HandlerKind::Saga => continue,
        };
        if imp.in_test || imp.has_handler_attr {
            continue;
        }
        let registered = builder_calls
            .iter()
            .any(|registration| index.may_be_same(&registration.fact.handler, &imp.self_ty));
        if registered {
            continue;
        }
        let name = &imp.self_ty.name;
        let message = match &imp.message {
            Some(message) => format!(
                "`{name}` handles `{}` but nothing registers it: no `.{call}(..)` builder call and no `#[catga::handler]`",
                message.name
            ),
            None => format!("`{name}` is never registered with the mediator"),
        };
        // `#[catga::handler]` builds the handler with `Default::default()`.
        let default_constructible = auto_registers
            && !imp.generic
            && imp.trait_named
            && index.definition(&imp.self_ty).is_some_and(|def| {
                !def.fact.generic
                    && (def.fact.default_constructible
                        || index.default_impls().any(|default| {
                            index.same_type(default.fact, &imp.self_ty) == SameType::Yes
                        }))
            });
        let report = cx.report(handler.path, imp.self_span, message).help(format!(
            "pass a `{name}` to `Mediator::builder().{call}(..)`, or mark the impl `#[catga::handler]` and build with `.auto_register()`"
        ));
        if default_constructible {
            report.fix(Fix::unsafe_edits(
                "Add `#[catga::handler]` to the impl",
                vec![Edit::replace(
                    imp.line_start,
                    format!("{}#[catga::handler]\n", imp.indent),
                )],
            ));
        }
    }
}
