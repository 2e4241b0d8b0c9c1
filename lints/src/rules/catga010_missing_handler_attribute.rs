//! CATGA010 missing-handler-attribute: in a project that registers handlers with
//! `#[catga::handler]` (`registration = "attribute"`), a handler impl without the attribute.

use crate::config::RegistrationStyle;
use crate::context::{HandlerKind, is_test_attr};
use crate::diagnostic::{Applicability, Edit, Fix, Severity};
use crate::rule::{FixAvailability, Hooks, Rule, RuleCx, RuleMeta};
use quote::ToTokens;
use syn::visit::Visit;

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
builds the handler with `Default::default()`, so how safe that is depends on what the file shows
about the handler type:

- it derives or implements `Default` in this file: safe;
- it is a struct of this file without fields and without `Default`: unsafe, and the fix also adds
  `Default` to its `#[derive(..)]` (a `Default` impl in another file would then conflict);
- it is declared in another file: unsafe, since the attribute does not compile unless the type
  implements `Default`, which this file does not show;
- the trait is named through an alias (`use catga::EventHandler as OnEvent;`): no fix, since the
  attribute reads the trait's name as written and rejects the impl;
- it is a struct with fields, or an enum, of this file without `Default`: no fix (it needs a
  `Default` impl that only its author can write), and neither is there one when this file also
  registers the type with `.handler(..)` / `.event_handler(..)` (the attribute would register it a
  second time: `build()` fails for a request handler, and an event handler would run twice).

## Options
- `registration`: `"builder"` (default) or `"attribute"`; the rule only runs with `"attribute"`.
"#,
};

/// The rule.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks {
        item: Some(check_item),
        ..Hooks::NONE
    },
};

fn check_item(item: &syn::Item, cx: &mut RuleCx<'_>) {
    if cx.settings().registration != RegistrationStyle::Attribute {
        return;
    }
    let syn::Item::Impl(imp) = item else { return };
    let Some((_, trait_path, _)) = &imp.trait_ else {
        return;
    };
    if !matches!(
        cx.handler_kind_of(imp),
        Some(HandlerKind::Handler | HandlerKind::EventHandler)
    ) || !imp.generics.params.is_empty()
        || cx.in_test()
        || is_test_attr(&imp.attrs)
        || imp.attrs.iter().any(|attr| registers(attr, cx))
    {
        return;
    }
    let header = format!(
        "impl {} for {}",
        one_line(cx.text(cx.span(trait_path))),
        one_line(cx.text(cx.span(&*imp.self_ty)))
    );
    let span = cx
        .source()
        .join(cx.span(&imp.impl_token), cx.span(&*imp.self_ty));
    let attribute = if cx
        .resolve(&syn::Path::from(syn::Ident::new(
            "handler",
            proc_macro2::Span::call_site(),
        )))
        .as_deref()
        == Some("catga::handler")
    {
        "#[handler]"
    } else {
        "#[catga::handler]"
    };
    // The attribute reads the trait's name as written, so an alias (`EventHandler as OnEvent`)
    // does not compile under it.
    let trait_name = match cx.handler_kind_of(imp) {
        Some(HandlerKind::EventHandler) => "EventHandler",
        _ => "Handler",
    };
    let plan = if last_ident_is(trait_path, trait_name) {
        plan_fix(imp, attribute, cx)
    } else {
        Plan::Alias(trait_name)
    };
    let mut message = format!(
        "`{header}` has no `#[catga::handler]`: this project registers handlers by attribute \
         (`registration = \"attribute\"`), so `auto_register()` never registers it"
    );
    let help = match &plan {
        Plan::RegisteredByBuilder => {
            message.push_str(" (this file registers it with the builder)");
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
        Plan::Fix(..) => format!("add `{attribute}` on the impl"),
    };
    let report = cx.report(span, message).help(help);
    if let Plan::Fix(mut fix) = plan {
        fix.edits.sort_by_key(|edit| edit.span.start);
        report.fix(fix);
    }
}

/// Whether an attribute is `#[catga::handler]`, however written (also inside `cfg_attr`).
fn registers(attr: &syn::Attribute, cx: &RuleCx<'_>) -> bool {
    if attr.path().is_ident("cfg_attr") {
        let Ok(nested) = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
        ) else {
            return false;
        };
        return nested
            .iter()
            .skip(1)
            .any(|meta| cx.resolve(meta.path()).as_deref() == Some("catga::handler"));
    }
    cx.resolve(attr.path()).as_deref() == Some("catga::handler")
}

/// What to offer for one impl.
enum Plan {
    /// The edits, safe or unsafe.
    Fix(Fix),
    /// The file registers the type with the builder: no fix.
    RegisteredByBuilder,
    /// The type is declared in this file and shows no way to be default-constructed: no fix.
    NotDefault(String),
    /// The trait is named through an alias, which the attribute does not understand: no fix.
    Alias(&'static str),
}

/// What the file says about the handler type: decide the fix.
fn plan_fix(imp: &syn::ItemImpl, attribute: &str, cx: &RuleCx<'_>) -> Plan {
    // After the doc comments (rustdoc style), before every other attribute.
    let start = match imp.attrs.iter().find(|attr| !attr.path().is_ident("doc")) {
        Some(attr) => cx.span(attr).start,
        None => match (&imp.defaultness, &imp.unsafety) {
            (Some(defaultness), _) => cx.span(defaultness).start,
            (None, Some(unsafety)) => cx.span(unsafety).start,
            (None, None) => cx.span(&imp.impl_token).start,
        },
    };
    let insert_attribute = insert_line_before(start, attribute, cx);
    let name = match &*imp.self_ty {
        syn::Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .filter(|segment| segment.arguments.is_none())
            .map(|segment| segment.ident.to_string()),
        _ => None,
    };
    let unchecked = |insert_attribute: Edit| {
        Plan::Fix(Fix::unsafe_edits(
            format!(
                "Add `{attribute}` (the handler type must implement `Default`, which this file \
                 does not show)"
            ),
            vec![insert_attribute],
        ))
    };
    let Some(name) = name else {
        return unchecked(insert_attribute);
    };
    let file = cx.file();
    let mut survey = TypeSurvey {
        name: &name,
        declarations: Vec::new(),
        default_impl: false,
        builder_registration: false,
    };
    survey.visit_file(file);
    if survey.builder_registration {
        return Plan::RegisteredByBuilder;
    }
    let [declaration] = survey.declarations.as_slice() else {
        // Declared in another file (or ambiguous here): `Default` cannot be seen.
        return unchecked(insert_attribute);
    };
    if survey.default_impl || derives_default(declaration.attrs()) {
        return Plan::Fix(Fix::safe(
            format!("Add `{attribute}`"),
            vec![insert_attribute],
        ));
    }
    match declaration {
        Declaration::Struct(item) if item.fields.is_empty() && item.generics.params.is_empty() => {
            Plan::Fix(Fix::unsafe_edits(
                format!("Add `{attribute}` and derive `Default` for `{name}`"),
                vec![add_default_derive(item, cx), insert_attribute],
            ))
        }
        _ => Plan::NotDefault(name),
    }
}

/// An edit inserting `line` on its own line before the item starting at byte `start`, with
/// the item's indentation (or before it on the same line when other code precedes it).
fn insert_line_before(start: usize, line: &str, cx: &RuleCx<'_>) -> Edit {
    let source = cx.source();
    let text = &source.text;
    let line_start = text[..start].rfind('\n').map_or(0, |newline| newline + 1);
    let indent = &text[line_start..start];
    let content = if indent.chars().all(|c| c == ' ' || c == '\t') {
        format!("{line}\n{indent}")
    } else {
        format!("{line} ")
    };
    Edit::insert_before(source.span_of_bytes(start, start), content)
}

/// The edit adding `Default` to a fieldless struct: into its last `#[derive(..)]`, or as a new
/// `#[derive(Default)]` line just above the `struct` keyword (after its doc comments).
fn add_default_derive(item: &syn::ItemStruct, cx: &RuleCx<'_>) -> Edit {
    let derive = item.attrs.iter().rev().find_map(|attr| match &attr.meta {
        syn::Meta::List(list) if list.path.is_ident("derive") => Some(list),
        _ => None,
    });
    if let Some(list) = derive {
        match list.tokens.clone().into_iter().last() {
            Some(last) => {
                let trailing_comma =
                    matches!(&last, proc_macro2::TokenTree::Punct(punct) if punct.as_char() == ',');
                let span = cx.source().span_from(last.span());
                let end = cx.source().span_of_bytes(span.end, span.end);
                let content = if trailing_comma {
                    " Default"
                } else {
                    ", Default"
                };
                return Edit::insert_after(end, content);
            }
            None => {
                let close = cx.source().span_from(list.delimiter.span().close());
                return Edit::insert_before(close, "Default");
            }
        }
    }
    let start = match &item.vis {
        syn::Visibility::Inherited => cx.span(&item.struct_token).start,
        vis => cx.span(vis).start,
    };
    insert_line_before(start, "#[derive(Default)]", cx)
}

/// Whether `#[derive(..)]` lists `Default` (any path ending in it).
fn derives_default(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let syn::Meta::List(list) = &attr.meta else {
            return false;
        };
        list.path.is_ident("derive")
            && list
                .parse_args_with(
                    syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
                )
                .is_ok_and(|paths| paths.iter().any(|path| last_ident_is(path, "Default")))
    })
}

fn last_ident_is(path: &syn::Path, name: &str) -> bool {
    path.segments
        .last()
        .is_some_and(|segment| segment.ident == name)
}

/// A struct or enum of the file named like the handler type.
enum Declaration<'f> {
    Struct(&'f syn::ItemStruct),
    Enum(&'f syn::ItemEnum),
}

impl Declaration<'_> {
    fn attrs(&self) -> &[syn::Attribute] {
        match self {
            Declaration::Struct(item) => &item.attrs,
            Declaration::Enum(item) => &item.attrs,
        }
    }
}

/// Everything the file says about one type name: its declarations, `impl Default for` it, and
/// builder calls that register it.
struct TypeSurvey<'n, 'f> {
    name: &'n str,
    declarations: Vec<Declaration<'f>>,
    default_impl: bool,
    builder_registration: bool,
}

impl<'f> Visit<'f> for TypeSurvey<'_, 'f> {
    fn visit_item_struct(&mut self, item: &'f syn::ItemStruct) {
        if item.ident == self.name {
            self.declarations.push(Declaration::Struct(item));
        }
        syn::visit::visit_item_struct(self, item);
    }

    fn visit_item_enum(&mut self, item: &'f syn::ItemEnum) {
        if item.ident == self.name {
            self.declarations.push(Declaration::Enum(item));
        }
        syn::visit::visit_item_enum(self, item);
    }

    fn visit_item_impl(&mut self, item: &'f syn::ItemImpl) {
        let names_type = matches!(&*item.self_ty, syn::Type::Path(path)
            if path.path.segments.last().is_some_and(|segment| segment.ident == self.name));
        if names_type
            && item
                .trait_
                .as_ref()
                .is_some_and(|(_, path, _)| last_ident_is(path, "Default"))
        {
            self.default_impl = true;
        }
        syn::visit::visit_item_impl(self, item);
    }

    fn visit_expr_method_call(&mut self, call: &'f syn::ExprMethodCall) {
        if (call.method == "handler" || call.method == "event_handler")
            && call.args.len() == 1
            && (mentions(call.args.to_token_stream(), self.name)
                || call
                    .turbofish
                    .as_ref()
                    .is_some_and(|turbofish| mentions(turbofish.to_token_stream(), self.name)))
        {
            self.builder_registration = true;
        }
        syn::visit::visit_expr_method_call(self, call);
    }
}

/// Whether the identifier `name` occurs in `tokens`.
fn mentions(tokens: proc_macro2::TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|token| match token {
        proc_macro2::TokenTree::Ident(ident) => ident == name,
        proc_macro2::TokenTree::Group(group) => mentions(group.stream(), name),
        _ => false,
    })
}

/// The source text of a node on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use crate::check::{CheckEnv, RuleSet, check_source};
    use crate::config::{RegistrationStyle, Settings};
    use crate::diagnostic::{Applicability, Diagnostic};
    use crate::source::SourceFile;

    fn lint(text: &str, registration: RegistrationStyle) -> Vec<Diagnostic> {
        let settings = Settings {
            registration,
            ..Settings::default()
        };
        let select = ["CATGA010".to_string()];
        let rules = RuleSet::new(&settings, &select, &[]).expect("rules");
        let env = CheckEnv {
            settings: &settings,
            rules: &rules,
            dependencies: None,
            test_target: false,
            module: "crate",
        };
        check_source(&SourceFile::new("a.rs", text), env)
            .diagnostics
            .into_iter()
            .filter(|diagnostic| diagnostic.code == "CATGA010")
            .collect()
    }

    const HANDLER: &str = "use catga::prelude::*;\n\
        impl Handler<Ping> for PingHandler {\n\
            async fn handle(&self, p: Ping, ctx: &Context) -> catga::Result<()> { Ok(()) }\n\
        }\n";

    #[test]
    fn builder_registration_style_reports_nothing() {
        let text = format!("pub struct PingHandler;\n{HANDLER}");
        assert!(lint(&text, RegistrationStyle::Builder).is_empty());
        assert_eq!(lint(&text, RegistrationStyle::Attribute).len(), 1);
    }

    #[test]
    fn fix_is_safe_only_when_the_file_shows_default() {
        let applicability = |declaration: &str| {
            lint(
                &format!("{declaration}\n{HANDLER}"),
                RegistrationStyle::Attribute,
            )
            .first()
            .and_then(|diagnostic| diagnostic.fix.as_ref())
            .map(|fix| fix.applicability)
        };
        assert_eq!(
            applicability("#[derive(Default)] pub struct PingHandler { n: u8 }"),
            Some(Applicability::Safe)
        );
        assert_eq!(
            applicability(
                "pub struct PingHandler { n: u8 }\nimpl Default for PingHandler { fn default() -> Self { PingHandler { n: 1 } } }"
            ),
            Some(Applicability::Safe)
        );
        assert_eq!(
            applicability("pub struct PingHandler;"),
            Some(Applicability::Unsafe)
        );
        assert_eq!(applicability(""), Some(Applicability::Unsafe));
        assert_eq!(applicability("pub struct PingHandler { n: u8 }"), None);
        assert_eq!(
            applicability(
                "#[derive(Default)] pub struct PingHandler;\nfn wire(b: MediatorBuilder) -> MediatorBuilder { b.handler(PingHandler) }"
            ),
            None
        );
    }

    #[test]
    fn attribute_imported_by_name_counts_and_generic_impls_are_skipped() {
        let text = "use catga::prelude::*;\nuse catga::handler;\n\
            #[handler] impl Handler<Ping> for A { }\n\
            #[cfg_attr(feature = \"auto\", catga::handler)] impl Handler<Pong> for B { }\n\
            impl<T: Send + Sync> Handler<Ping> for C<T> { }\n";
        assert!(lint(text, RegistrationStyle::Attribute).is_empty());
    }
}
