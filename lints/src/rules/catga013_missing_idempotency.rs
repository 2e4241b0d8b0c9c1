//! CATGA013 missing-idempotency: a critical command (by name pattern) that is not idempotent.

use crate::diagnostic::{Applicability, Edit, Fix, Severity};
use crate::facts::{MessageKind, MessageType, TypeDefKind, TypeShape};
use crate::rule::{FixAvailability, Hooks, Rule, RuleMeta};
use crate::workspace::{WorkspaceCx, WorkspaceIndex};

static META: RuleMeta = RuleMeta {
    code: "CATGA013",
    name: "missing-idempotency",
    severity: Severity::Warning,
    fix: FixAvailability::Sometimes,
    fix_applicabilities: &[Applicability::Unsafe],
    summary: "A critical command (`Create*`, `*Payment*`, ...) that is not idempotent",
    docs: r#"## What it does
Reports a command (`#[derive(Command)]` or `impl Command`, outside test code) whose name matches
one of the `critical_commands` patterns and that is not idempotent: it has no
`#[command(idempotent)]` and no `impl Idempotent for ..` exists anywhere in the workspace. The
default patterns are `Create*`, `Update*`, `Delete*`, `*Payment*`, `Process*`, `Transfer*`,
`Charge*` and `Refund*`. Queries and events are never reported. Types are told apart by module
path: an `impl Idempotent for billing::CreateInvoice` does not cover `crm::CreateInvoice`.

## Why is this bad?
Messages get delivered more than once: a client retries after a timeout, the retry behavior
runs a failed send again, a broker redelivers after a crash. For a command that creates,
charges or transfers, running twice means two orders, two charges, two transfers. An
idempotent command is deduplicated on its key: the second send returns the first response
instead of running the handler again.

## Example
```rust
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u64)]
pub struct ChargeCard {
    pub payment_id: String,
    pub amount_cents: u64,
}
```

## Use instead
```rust
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u64, idempotent)]
pub struct ChargeCard {
    #[idempotency_key]
    pub payment_id: String,
    pub amount_cents: u64,
}
```
To key on several fields, implement `catga::Idempotent` by hand instead.

## Fix safety
The fix adds `idempotent` to `#[command(..)]` (or adds `#[command(idempotent)]`) and, unless a
field already carries it, puts `#[idempotency_key]` on the one field named `id` or `*_id`. It
is offered only for derived struct commands with exactly one such field whose type can be a
key (`String`, an integer, `char`, `bool`, `Uuid`, `Ulid`: the derive turns the key into a
string with `ToString`). It is unsafe because it changes behavior: a second send with the same
key no longer runs the handler, which is wrong if that field does not identify one logical
operation (check it does). The idempotency store also keeps the response, so the response type
must implement `Serialize` and `Deserialize`: no fix is offered when the response is a type of
the workspace without both derives (or holds one, or a reference); types of other crates are
taken on trust. No key field, no fix: the help says which attribute to add.

## Options
- `critical_commands` (default `["Create*", "Update*", "Delete*", "*Payment*", "Process*",
  "Transfer*", "Charge*", "Refund*"]`): command name patterns, where `*` matches any run of
  characters. A pattern without `*` is an exact name: that is how a project marks one command
  critical (`critical_commands = ["Create*", "ShipParcel"]`). Setting the key replaces the
  defaults; `[]` turns the rule off.
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

/// Key field types whose `ToString` the derive can call, by last segment (and crate, when the
/// path shows one).
const KEY_TYPES: &[&str] = &[
    "String", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128",
    "isize", "char", "bool", "Uuid", "Ulid",
];

/// Crates whose types the key check trusts by name.
const KEY_CRATES: &[&str] = &["std", "core", "alloc", "uuid", "ulid"];

fn check_workspace(index: &WorkspaceIndex<'_>, cx: &mut WorkspaceCx<'_>) {
    let settings = cx.settings().clone();
    if settings.critical_commands.is_empty() {
        return;
    }
    for command in index.message_types() {
        let fact = command.fact;
        if fact.kind != MessageKind::Command || fact.in_test || fact.idempotent_attr {
            continue;
        }
        let name = &fact.ty.name;
        let Some(pattern) = settings.critical_pattern(name) else {
            continue;
        };
        if index
            .idempotent_impls()
            .any(|idempotent| index.may_be_same(idempotent.fact, &fact.ty))
        {
            continue;
        }
        let why = if pattern.contains('*') {
            format!("matches the critical pattern `{pattern}`")
        } else {
            "is listed in `critical_commands`".to_string()
        };
        let message = format!(
            "command `{name}` {why} but is not idempotent: a retried or redelivered send runs it twice"
        );
        let is_enum = index
            .definition(&fact.ty)
            .is_some_and(|def| def.fact.kind == TypeDefKind::Enum);
        let response_storable = fact
            .response
            .as_ref()
            .is_none_or(|response| storable(index, response, 0));
        let fix = if is_enum || !response_storable {
            None
        } else {
            fix_for(index, fact)
        };
        let help = match &fix {
            _ if !response_storable => format!(
                "idempotency stores `{name}`'s response for duplicates: derive `Serialize` and `Deserialize` on the response type, then add `#[command(idempotent)]` and an `#[idempotency_key]` field"
            ),
            _ if !fact.derived || is_enum => format!(
                "implement `catga::Idempotent` for `{name}`, returning the key that identifies one logical operation"
            ),
            Some((_, Some(key))) => format!(
                "mark it `#[command(idempotent)]` with `#[idempotency_key]` on `{key}` (if `{key}` identifies one logical operation), or implement `catga::Idempotent`"
            ),
            _ if fact.has_key_field => "add `idempotent` to `#[command(..)]`".to_string(),
            _ => match fact.key_candidates.as_slice() {
                [(key, ..)] => format!(
                    "add `#[command(idempotent)]` and `#[idempotency_key]` on `{key}` once its type implements `Display` (the key is its `to_string()`), or implement `catga::Idempotent` by hand"
                ),
                [] => "add `#[command(idempotent)]` and put `#[idempotency_key]` on the field that identifies the operation (a request or entity id the client sends), or implement `catga::Idempotent` by hand".to_string(),
                candidates => format!(
                    "add `#[command(idempotent)]` and put `#[idempotency_key]` on the one of {} that identifies the operation, or implement `catga::Idempotent` to key on several",
                    candidates
                        .iter()
                        .map(|(key, ..)| format!("`{key}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        };
        let report = cx.report(command.path, fact.span, message).help(help);
        if let Some((fix, _)) = fix {
            report.fix(fix);
        }
    }
}

/// The edits that make a derived command idempotent, and the field newly marked as its key
/// (`None` when a field already is).
fn fix_for(index: &WorkspaceIndex<'_>, fact: &MessageType) -> Option<(Fix, Option<String>)> {
    if !fact.derived {
        return None;
    }
    // With `#[command(..)]`: the separator before `idempotent`; without: the indentation.
    let (at, text) = fact.attr_insert.as_ref()?;
    let mut edits = vec![if fact.has_command_attr {
        Edit::insert_before(*at, format!("{text}idempotent"))
    } else {
        Edit::insert_before(*at, format!("{text}#[command(idempotent)]\n"))
    }];
    let mut key = None;
    if !fact.has_key_field {
        let [(field, start, indent)] = fact.key_candidates.as_slice() else {
            return None;
        };
        if !key_type_ok(index, fact, field) {
            return None;
        }
        edits.push(Edit::insert_before(
            *start,
            format!("{indent}#[idempotency_key]\n"),
        ));
        key = Some(field.clone());
    }
    let name = &fact.ty.name;
    let description = match &key {
        Some(key) => format!("Make `{name}` idempotent, keyed on `{key}`"),
        None => format!("Make `{name}` idempotent"),
    };
    Some((Fix::unsafe_edits(description, edits), key))
}

/// Whether the field `field` of the command has a type the derive can use as a key.
fn key_type_ok(index: &WorkspaceIndex<'_>, fact: &MessageType, field: &str) -> bool {
    let Some(def) = index.definition(&fact.ty) else {
        return false;
    };
    let Some(field) = def
        .fact
        .variants
        .first()
        .into_iter()
        .flatten()
        .find(|candidate| candidate.name.as_deref() == Some(field))
    else {
        return false;
    };
    let TypeShape::Path { ty, args } = &field.ty else {
        return false;
    };
    let known_crate = ty.path.as_deref().is_none_or(|path| {
        KEY_CRATES
            .iter()
            .any(|krate| path.split("::").next() == Some(krate))
    });
    args.is_empty() && known_crate && KEY_TYPES.contains(&ty.name.as_str())
}

/// Whether a response of this shape can be stored for duplicates (the idempotency store keeps
/// it serialized), as far as the workspace shows: a type it declares must derive `Serialize`
/// and `Deserialize`, and so must every type argument; a reference cannot be deserialized into
/// an owned value. Types of other crates (`Uuid`, `chrono::DateTime`) and std's primitives,
/// strings and collections are taken as storable when their arguments are.
fn storable(index: &WorkspaceIndex<'_>, shape: &TypeShape, depth: usize) -> bool {
    // Deeper than any response type; a cycle through an alias ends here too.
    if depth > 16 {
        return true;
    }
    match shape {
        TypeShape::Tuple(items) => items.iter().all(|item| storable(index, item, depth + 1)),
        TypeShape::Array { elem, .. } => storable(index, elem, depth + 1),
        TypeShape::Pointer | TypeShape::WidePointer => false,
        TypeShape::Other => true,
        TypeShape::Path { ty, args } => {
            let args_storable = args.iter().all(|arg| storable(index, arg, depth + 1));
            let outside = ty.path.as_deref().is_some_and(|path| {
                ["std::", "core::", "alloc::", "catga::"]
                    .iter()
                    .any(|prefix| path.starts_with(prefix))
            });
            match index.definition(ty).filter(|_| !outside) {
                Some(def) if def.fact.kind == TypeDefKind::Alias => def
                    .fact
                    .variants
                    .iter()
                    .flatten()
                    .all(|field| storable(index, &field.ty, depth + 1)),
                Some(def) => def.fact.serde && args_storable,
                None => args_storable,
            }
        }
    }
}
