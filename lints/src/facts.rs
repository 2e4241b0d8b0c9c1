//! Per-file facts for cross-file rules: handler impls, message types, registrations and
//! publishes. Recorded during the one walk and cached with the diagnostics, so the workspace
//! index never needs a syntax tree.

use crate::context::{HandlerKind, ScopeView, handler_kind};
use crate::resolve::{Resolver, is_catga_item};
use crate::source::SourceFile;
use serde::{Deserialize, Serialize};

/// Everything cross-file rules need from one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFacts {
    /// Impls of catga's `Handler`, `EventHandler` and `Saga`.
    pub handler_impls: Vec<HandlerImpl>,
    /// Types that are commands, queries or events (by derive or by impl).
    pub message_types: Vec<MessageType>,
    /// Handlers registered through the builder or `#[catga::handler]`.
    pub registrations: Vec<Registration>,
    /// Types passed to `.publish(..)`.
    pub publishes: Vec<NamedSite>,
}

/// A type name and where it appears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedSite {
    /// The type's last path segment: `OrderCreated`.
    pub name: String,
    /// 1-based line.
    pub line: u32,
}

/// `impl Handler<CreateOrder> for CreateOrderHandler`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerImpl {
    /// Which trait.
    pub kind: HandlerKind,
    /// The message type (last segment of the trait's generic argument); `None` for sagas.
    pub message: Option<String>,
    /// The implementing type (last path segment).
    pub self_ty: String,
    /// `#[catga::handler]` is on the impl.
    pub has_handler_attr: bool,
    /// The impl is test code.
    pub in_test: bool,
    /// 1-based line of the impl.
    pub line: u32,
    /// `type State = S;` of a saga.
    pub saga_state: Option<String>,
}

/// What kind of message a type is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// A command.
    Command,
    /// A query.
    Query,
    /// An event.
    Event,
}

/// A command, query or event type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageType {
    /// Command, query or event.
    pub kind: MessageKind,
    /// The type's name.
    pub name: String,
    /// `#[command(idempotent)]`, or an `impl Idempotent` in this file.
    pub idempotent: bool,
    /// 1-based line.
    pub line: u32,
}

/// How a handler gets registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistrationKind {
    /// `.handler(..)` / `.event_handler(..)` on the mediator builder.
    Builder,
    /// `#[catga::handler]` on the impl.
    Attribute,
}

/// A registered handler type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// Builder or attribute.
    pub kind: RegistrationKind,
    /// The handler type's name (last path segment), when the argument names it.
    pub handler_type: String,
    /// 1-based line.
    pub line: u32,
}

fn last_segment_of_type(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .map(|segment| segment.ident.to_string()),
        syn::Type::Reference(reference) => last_segment_of_type(&reference.elem),
        syn::Type::Paren(paren) => last_segment_of_type(&paren.elem),
        _ => None,
    }
}

fn first_generic_type(path: &syn::Path) -> Option<String> {
    let syn::PathArguments::AngleBracketed(args) = &path.segments.last()?.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => last_segment_of_type(ty),
        _ => None,
    })
}

fn has_catga_attr(resolver: &Resolver, attrs: &[syn::Attribute], name: &str) -> bool {
    attrs.iter().any(|attr| {
        resolver
            .resolve(attr.path())
            .is_some_and(|path| is_catga_item(&path, name))
    })
}

/// Record facts from an item.
pub(crate) fn record_item(
    facts: &mut FileFacts,
    resolver: &Resolver,
    source: &SourceFile,
    item: &syn::Item,
    scope: ScopeView<'_>,
) {
    match item {
        syn::Item::Impl(item_impl) => record_impl(facts, resolver, source, item_impl, scope),
        syn::Item::Struct(s) => record_derives(facts, resolver, source, &s.attrs, &s.ident),
        syn::Item::Enum(e) => record_derives(facts, resolver, source, &e.attrs, &e.ident),
        _ => {}
    }
}

fn record_impl(
    facts: &mut FileFacts,
    resolver: &Resolver,
    source: &SourceFile,
    item: &syn::ItemImpl,
    scope: ScopeView<'_>,
) {
    let line = source.span_of(&item.impl_token).start_pos.line;
    let Some(self_ty) = last_segment_of_type(&item.self_ty) else {
        return;
    };
    let Some((_, trait_path, _)) = &item.trait_ else {
        return;
    };
    if let Some(kind) = handler_kind(resolver, item) {
        let has_handler_attr = has_catga_attr(resolver, &item.attrs, "handler");
        let saga_state = item.items.iter().find_map(|impl_item| match impl_item {
            syn::ImplItem::Type(ty) if ty.ident == "State" => last_segment_of_type(&ty.ty),
            _ => None,
        });
        facts.handler_impls.push(HandlerImpl {
            kind,
            message: first_generic_type(trait_path),
            self_ty: self_ty.clone(),
            has_handler_attr,
            in_test: scope.in_test() || crate::context::is_test_attr(&item.attrs),
            line,
            saga_state,
        });
        if has_handler_attr {
            facts.registrations.push(Registration {
                kind: RegistrationKind::Attribute,
                handler_type: self_ty,
                line,
            });
        }
        return;
    }
    let Some(resolved) = resolver.resolve(trait_path) else {
        return;
    };
    let kind = [
        ("Command", MessageKind::Command),
        ("Query", MessageKind::Query),
        ("Event", MessageKind::Event),
    ]
    .into_iter()
    .find(|(name, _)| is_catga_item(&resolved, name));
    if let Some((_, kind)) = kind {
        facts.message_types.push(MessageType {
            kind,
            name: self_ty,
            idempotent: false,
            line,
        });
    } else if is_catga_item(&resolved, "Idempotent") {
        for message in facts
            .message_types
            .iter_mut()
            .filter(|message| message.name == self_ty)
        {
            message.idempotent = true;
        }
    }
}

fn record_derives(
    facts: &mut FileFacts,
    resolver: &Resolver,
    source: &SourceFile,
    attrs: &[syn::Attribute],
    ident: &syn::Ident,
) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("derive")) {
        let Ok(paths) = attr.parse_args_with(
            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
        ) else {
            continue;
        };
        for path in paths {
            let Some(resolved) = resolver.resolve(&path) else {
                continue;
            };
            let kind = match resolved.rsplit("::").next() {
                Some("Command") if resolved.starts_with("catga::") => MessageKind::Command,
                Some("Query") if resolved.starts_with("catga::") => MessageKind::Query,
                Some("Event") if resolved.starts_with("catga::") => MessageKind::Event,
                _ => continue,
            };
            let idempotent = attrs.iter().any(|attr| {
                attr.path().is_ident("command")
                    && attr
                        .meta
                        .require_list()
                        .is_ok_and(|list| list.tokens.to_string().contains("idempotent"))
            });
            let line = source.span_of(ident).start_pos.line;
            facts.message_types.push(MessageType {
                kind,
                name: ident.to_string(),
                idempotent,
                line,
            });
        }
    }
}

/// The type an expression constructs or names: `H::new(..)`, `H`, `H { .. }`, `H::default()`.
fn constructed_type(expr: &syn::Expr) -> Option<String> {
    match expr {
        syn::Expr::Call(call) => match &*call.func {
            syn::Expr::Path(path) => {
                let segments = &path.path.segments;
                let index = if segments.len() >= 2 {
                    segments.len() - 2
                } else {
                    0
                };
                Some(segments[index].ident.to_string())
            }
            _ => None,
        },
        syn::Expr::Path(path) => path
            .path
            .segments
            .last()
            .map(|segment| segment.ident.to_string()),
        syn::Expr::Struct(lit) => lit
            .path
            .segments
            .last()
            .map(|segment| segment.ident.to_string()),
        syn::Expr::Reference(reference) => constructed_type(&reference.expr),
        syn::Expr::Paren(paren) => constructed_type(&paren.expr),
        _ => None,
    }
}

/// Record facts from an expression: builder registrations and publishes.
pub(crate) fn record_expr(
    facts: &mut FileFacts,
    _resolver: &Resolver,
    source: &SourceFile,
    expr: &syn::Expr,
) {
    let syn::Expr::MethodCall(call) = expr else {
        return;
    };
    let registration = call.method == "handler" || call.method == "event_handler";
    if !registration && call.method != "publish" {
        return;
    }
    let (Some(arg), 1) = (call.args.first(), call.args.len()) else {
        return;
    };
    let Some(name) = constructed_type(arg) else {
        return;
    };
    let line = source.span_of(&call.method).start_pos.line;
    if registration {
        facts.registrations.push(Registration {
            kind: RegistrationKind::Builder,
            handler_type: name,
            line,
        });
    } else {
        facts.publishes.push(NamedSite { name, line });
    }
}
