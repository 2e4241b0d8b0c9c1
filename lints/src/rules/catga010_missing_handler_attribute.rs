//! CATGA010 missing-handler-attribute: in a project that registers handlers with
//! `#[catga::handler]` (`registration = "attribute"`), a handler impl without the attribute.
//! Cross-file: whether a fix is offered depends on the workspace (an `.auto_register()` call,
//! the type's `Default`, builder registrations anywhere).

use crate::config::RegistrationStyle;
use crate::context::HandlerKind;
use crate::diagnostic::{Applicability, Edit, Fix, Severity};
use crate::facts::{HandlerImpl, RegistrationKind};
use crate::rule::{FixAvailability, Hooks, Rule, RuleMeta};
use crate::workspace::{Located, SameType, WorkspaceCx, WorkspaceIndex};

static META: RuleMeta = RuleMeta {
    code: "CATGA010",
    name: "missing-handler-attribute",
    severity: Severity::Info,
    fix: FixAvailability::Sometimes,
    fix_applicabilities: &[Applicability::Safe, Applicability::Unsafe],
    summary: "A handler impl without `#[catga::handler]` in a project configured with `registration = \"attribute\"`",
    docs: r#"## What it does
When the configuration says `registration = "attribute"`, reports every impl of catga's
`Handler` or `EventHandler` (resolved through `use` items, aliases and full paths) that does not
carry `#[catga::handler]`. The attribute counts however it is written: `#[catga::handler]`,
`#[catga::handler(timeout = ..)]`, or `#[handler]` after `use catga::handler;`.

Not reported: saga impls (`#[catga::handler]` does not register sagas), test code, inherent
impls, local traits that happen to be called `Handler`, and generic impls
(`impl<T> Handler<X> for Y<T>`), which the attribute cannot register: each instantiation goes
through `Mediator::builder().handler(..)`. With the default `registration = "builder"` the rule
reports nothing.

## Why is this bad?
In a project that registers handlers by attribute, `Mediator::builder().auto_register()` is the
only registration: a handler without the attribute is never called. A command then fails at
runtime with `ErrorKind::NoHandler`, and an event is published to nobody, silently.

## Example
```rust
// catga.toml: registration = "attribute"
#[derive(Default)]
pub struct CreateOrderHandler;

impl Handler<CreateOrder> for CreateOrderHandler {
    async fn handle(&self, cmd: CreateOrder, ctx: &Context) -> catga::Result<OrderId> {
        // ...
    }
}
```

## Use instead
```rust
#[derive(Default)]
pub struct CreateOrderHandler;

#[catga::handler]
impl Handler<CreateOrder> for CreateOrderHandler {
    async fn handle(&self, cmd: CreateOrder, ctx: &Context) -> catga::Result<OrderId> {
        // ...
    }
}
```

## Fix safety
The fix adds `#[catga::handler]` (or `#[handler]` where `use catga::handler;` is in scope) on its
own line above the impl, after its doc comments and before its other attributes. The attribute
registers the handler only where a mediator is built with `.auto_register()`, and builds it with
`Default::default()`, so the fix depends on what the workspace shows:

- no code of the workspace outside tests calls `.auto_register()`: no fix, since the attribute
  would silence this finding while `send` still fails with `NoHandler`;
- the handler type derives or implements `Default` (in any file): safe;
- it is a struct without fields and without `Default`, declared in the impl's file: unsafe, and
  the fix also adds `Default` to its `#[derive(..)]` (a `Default` impl the workspace does not show
  would then conflict);
- it has fields, is an enum, is declared in another file without `Default`, or is declared
  nowhere the run can see: no fix (the attribute would not compile without a `Default` impl that
  only its author can write);
- the trait is named through an alias (`use catga::EventHandler as OnEvent;`): no fix, since the
  attribute reads the trait's name as written and rejects the impl;
- a `.handler(..)` / `.event_handler(..)` builder call anywhere in the workspace registers the
  type: no fix (the attribute would register it a second time: `build()` fails for a request
  handler, and an event handler would run twice).

## Options
- `registration`: `"builder"` (default) or `"attribute"`; the rule only runs with `"attribute"`.
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
    if cx.settings().registration != RegistrationStyle::Attribute {
        return;
    }
    let auto_registers = index.auto_register_calls().next().is_some();
    for handler in index.handler_impls() {
        let imp = handler.fact;
        let trait_name = match imp.kind {
            HandlerKind::Handler => "Handler",
            HandlerKind::EventHandler => "EventHandler",
            HandlerKind::Saga => continue,
        };
        if imp.generic || imp.in_test || imp.has_handler_attr {
            continue;
        }
        let attribute = if imp.handler_attr_imported {
            "#[handler]"
        } else {
            "#[catga::handler]"
        };
        let registered_by_builder = index.registrations().any(|registration| {
            registration.fact.kind == RegistrationKind::Builder
                && index.may_be_same(&registration.fact.handler, &imp.self_ty)
        });
        let plan = if registered_by_builder {
            Plan::RegisteredByBuilder
        } else if !imp.trait_named {
            Plan::Alias(trait_name)
        } else if !auto_registers {
            Plan::NoAutoRegister
        } else {
            plan_fix(index, handler, attribute)
        };
        let header = &imp.header;
        let mut message = format!(
            "`{header}` has no `#[catga::handler]`: this project registers handlers by attribute \
             (`registration = \"attribute\"`), so `auto_register()` never registers it"
        );
        let help = match &plan {
            Plan::RegisteredByBuilder => {
                message.push_str(" (a builder call registers it)");
                format!(
                    "add `{attribute}` and remove the `.handler(..)` / `.event_handler(..)` call, or \
                     keep the builder call and silence this with `// catga-allow(CATGA010): reason`"
                )
            }
            Plan::NotDefault(ty) => format!(
                "implement `Default` for `{ty}` (the attribute builds the handler with \
                 `Default::default()`), then add `{attribute}` on the impl"
            ),
            Plan::Alias(trait_name) => format!(
                "name the trait `{trait_name}` (the attribute reads the name as written, not through \
                 a `use .. as ..` alias), then add `{attribute}` on the impl"
            ),
            Plan::NoAutoRegister => format!(
                "add `{attribute}` on the impl and build the mediator with \
                 `Mediator::builder().auto_register()` (no code of this workspace calls it)"
            ),
            Plan::Fix(..) => format!("add `{attribute}` on the impl"),
        };
        let report = cx.report(handler.path, imp.header_span, message).help(help);
        if let Plan::Fix(fix) = plan {
            report.fix(fix);
        }
    }
}

/// What to offer for one impl.
enum Plan {
    /// The edits, safe or unsafe.
    Fix(Fix),
    /// A builder call registers the type: no fix.
    RegisteredByBuilder,
    /// The workspace shows no way to default-construct the type: no fix.
    NotDefault(String),
    /// The trait is named through an alias, which the attribute does not understand: no fix.
    Alias(&'static str),
    /// No mediator of the workspace auto-registers: the attribute would register nothing.
    NoAutoRegister,
}

/// What the workspace says about the handler type: decide the fix.
fn plan_fix(
    index: &WorkspaceIndex<'_>,
    handler: Located<'_, HandlerImpl>,
    attribute: &str,
) -> Plan {
    let imp = handler.fact;
    let (at, separator) = &imp.attr_insert;
    let insert_attribute = Edit::insert_before(*at, format!("{attribute}{separator}"));
    let name = &imp.self_ty.name;
    let Some(definition) = index.definition(&imp.self_ty) else {
        return Plan::NotDefault(name.clone());
    };
    let implements_default = definition.fact.default_constructible
        || index
            .default_impls()
            .any(|default| index.same_type(default.fact, &imp.self_ty) == SameType::Yes);
    if implements_default {
        return Plan::Fix(Fix::safe(
            format!("Add `{attribute}`"),
            vec![insert_attribute],
        ));
    }
    match &definition.fact.default_derive {
        Some(derive) if definition.path == handler.path && !definition.fact.generic => {
            Plan::Fix(Fix::unsafe_edits(
                format!("Add `{attribute}` and derive `Default` for `{name}`"),
                vec![derive.clone(), insert_attribute],
            ))
        }
        _ => Plan::NotDefault(name.clone()),
    }
}
