//! Per-file facts for cross-file rules: types and their fields, handler impls, message types,
//! registrations and publishes. Recorded during the one walk and cached with the diagnostics, so
//! the workspace index ([`crate::workspace`]) never needs a syntax tree.
//!
//! Types are named twice: by their last segment (`CreateOrder`, what people read) and by their
//! workspace-wide path ([`Resolver::canonical`], `shop::orders::CreateOrder`), so two types with
//! one name in different modules stay apart.

use crate::context::{HandlerKind, ScopeView, handler_kind, is_test_attr};
use crate::diagnostic::Span;
use crate::locals::Locals;
use crate::resolve::{Resolver, is_catga_item};
use crate::source::SourceFile;
use serde::{Deserialize, Serialize};

/// Everything cross-file rules need from one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFacts {
    /// Structs, enums and type aliases declared in the file.
    pub types: Vec<TypeDef>,
    /// Impls of catga's `Handler`, `EventHandler` and `Saga`.
    pub handler_impls: Vec<HandlerImpl>,
    /// Types that are commands, queries or events (by derive or by impl).
    pub message_types: Vec<MessageType>,
    /// Self types of `impl Idempotent for T`.
    pub idempotent_impls: Vec<TypeRef>,
    /// Self types of `impl Default for T`.
    pub default_impls: Vec<TypeRef>,
    /// Handlers registered through the builder or `#[catga::handler]`.
    pub registrations: Vec<Registration>,
    /// Values passed to `.publish(..)`.
    pub publishes: Vec<TypeSite>,
    /// Event types sent to other services: `.export::<E>()` / `.export_keyed::<E, _>(..)` on
    /// the mediator builder.
    pub exports: Vec<TypeSite>,
    /// Where non-test code calls `.auto_register()` (the mediator builder's registration of
    /// every `#[catga::handler]` impl): a fix that adds the attribute registers nothing without.
    pub auto_register_calls: Vec<Span>,
    /// Every fn with a body, with its blocking calls and its calls of workspace fns.
    pub fns: Vec<crate::call_graph::FnNode>,
    /// An empty span at the end of the file, where text can be appended.
    pub end: Option<Span>,
    /// The module the file is (`shop::orders`).
    pub module: String,
}

/// A type as named at one place: its last segment and, when known, its workspace-wide path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TypeRef {
    /// The last path segment: `CreateOrder`.
    pub name: String,
    /// The workspace-wide path, `None` when the name cannot be placed (`Self`, a glob import).
    pub path: Option<String>,
}

impl TypeRef {
    fn of_path(resolver: &Resolver, path: &syn::Path) -> Option<TypeRef> {
        Some(TypeRef {
            name: path.segments.last()?.ident.to_string(),
            path: resolver.canonical(path),
        })
    }

    fn of_type(resolver: &Resolver, ty: &syn::Type) -> Option<TypeRef> {
        TypeRef::of_path(resolver, type_path(ty)?)
    }
}

/// A type reference and where it appears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeSite {
    /// The type.
    pub ty: TypeRef,
    /// Where.
    pub span: Span,
}

/// What a declared type is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TypeDefKind {
    /// `struct`.
    Struct,
    /// `enum`: one variant is held at a time.
    Enum,
    /// `type A = B;`: one field, the aliased type.
    Alias,
}

/// A struct, enum or type alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeDef {
    /// Struct, enum or alias.
    pub kind: TypeDefKind,
    /// The declared name and its workspace-wide path.
    pub ty: TypeRef,
    /// Fields per variant (a struct or alias has one variant).
    pub variants: Vec<Vec<FieldDef>>,
    /// `#[derive(Default)]` on it (an `impl Default` is in [`FileFacts::default_impls`]).
    pub default_constructible: bool,
    /// `#[derive(Serialize, Deserialize)]` on it (both).
    pub serde: bool,
    /// Declared with generic parameters.
    pub generic: bool,
}

/// One field of a struct or enum variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Its name; `None` for a tuple field.
    pub name: Option<String>,
    /// Its type.
    pub ty: TypeShape,
}

/// The shape of a written type, enough to estimate its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeShape {
    /// `a::B<C, D>`.
    Path {
        /// The type.
        ty: TypeRef,
        /// Its generic type arguments.
        args: Vec<TypeShape>,
    },
    /// `[T; N]`, with `N` when it is a literal.
    Array {
        /// The element.
        elem: Box<TypeShape>,
        /// The length.
        len: Option<u64>,
    },
    /// `(A, B)`; `()` is an empty tuple.
    Tuple(Vec<TypeShape>),
    /// `&T`, `&mut T`, `*const T`, `fn(..)`: one pointer.
    Pointer,
    /// A reference to an unsized type (`&str`, `&[T]`, `&dyn Trait`): two pointers.
    WidePointer,
    /// Anything else (`impl Trait`, macros, `dyn Trait` by value).
    Other,
}

impl TypeShape {
    fn of(resolver: &Resolver, ty: &syn::Type) -> TypeShape {
        match ty {
            syn::Type::Path(path) if path.qself.is_none() => {
                let Some(ty) = TypeRef::of_path(resolver, &path.path) else {
                    return TypeShape::Other;
                };
                let args = match path.path.segments.last().map(|segment| &segment.arguments) {
                    Some(syn::PathArguments::AngleBracketed(args)) => args
                        .args
                        .iter()
                        .filter_map(|arg| match arg {
                            syn::GenericArgument::Type(ty) => Some(TypeShape::of(resolver, ty)),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                TypeShape::Path { ty, args }
            }
            syn::Type::Array(array) => TypeShape::Array {
                elem: Box::new(TypeShape::of(resolver, &array.elem)),
                len: match &array.len {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Int(int),
                        ..
                    }) => int.base10_parse().ok(),
                    _ => None,
                },
            },
            syn::Type::Tuple(tuple) => TypeShape::Tuple(
                tuple
                    .elems
                    .iter()
                    .map(|elem| TypeShape::of(resolver, elem))
                    .collect(),
            ),
            syn::Type::Paren(paren) => TypeShape::of(resolver, &paren.elem),
            syn::Type::Group(group) => TypeShape::of(resolver, &group.elem),
            syn::Type::Reference(reference) => match &*reference.elem {
                syn::Type::Slice(_) | syn::Type::TraitObject(_) => TypeShape::WidePointer,
                syn::Type::Path(path) if path.path.is_ident("str") => TypeShape::WidePointer,
                _ => TypeShape::Pointer,
            },
            syn::Type::Ptr(_) | syn::Type::BareFn(_) => TypeShape::Pointer,
            _ => TypeShape::Other,
        }
    }
}

/// `impl Handler<CreateOrder> for CreateOrderHandler`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerImpl {
    /// Which trait.
    pub kind: HandlerKind,
    /// The message type (the trait's generic argument); `None` for sagas.
    pub message: Option<TypeRef>,
    /// The implementing type.
    pub self_ty: TypeRef,
    /// The span of the self type.
    pub self_span: Span,
    /// An empty span at the start of the line of the `impl` keyword (below its docs and
    /// attributes): where another attribute goes.
    pub line_start: Span,
    /// The indentation of that line.
    pub indent: String,
    /// `#[catga::handler]` is on the impl.
    pub has_handler_attr: bool,
    /// The impl is test code.
    pub in_test: bool,
    /// The impl has generic parameters.
    pub generic: bool,
    /// `type State = S;` of a saga, and the span of `S`.
    pub saga_state: Option<(TypeShape, Span)>,
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
    /// The type.
    pub ty: TypeRef,
    /// The span of its name (derive) or of the impl's self type.
    pub span: Span,
    /// `#[command(idempotent)]`.
    pub idempotent_attr: bool,
    /// Declared by derive (so `#[command(..)]` can carry `idempotent`).
    pub derived: bool,
    /// Where `idempotent` goes: after the last argument of `#[command(..)]`, with the separator
    /// to write before it (`, `; nothing in an empty list; ` ` after a trailing comma), or (no
    /// such attribute) an empty span at the start of the line of the type's name (after every
    /// attribute: a derive helper must follow its derive), with that line's indentation.
    pub attr_insert: Option<(Span, String)>,
    /// Whether `#[command(..)]` exists (the insertion is `, idempotent`) or not.
    pub has_command_attr: bool,
    /// Fields named `id` or `*_id`, with where the line of their name starts (after their
    /// attributes) and its indentation.
    pub key_candidates: Vec<(String, Span, String)>,
    /// A field already carries `#[idempotency_key]`.
    pub has_key_field: bool,
    /// `T` of `#[command(response = T)]` (derived commands only).
    pub response: Option<TypeShape>,
    /// Declared in test code.
    pub in_test: bool,
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
    /// The handler type, when the argument shows it.
    pub handler: TypeRef,
    /// Where.
    pub span: Span,
}

/// The path of a type written as a path (`&T` and `(T)` look through), else `None`.
pub(crate) fn type_path(ty: &syn::Type) -> Option<&syn::Path> {
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => Some(&path.path),
        syn::Type::Reference(reference) => type_path(&reference.elem),
        syn::Type::Paren(paren) => type_path(&paren.elem),
        syn::Type::Group(group) => type_path(&group.elem),
        _ => None,
    }
}

/// The path of the type an expression evidently builds: `T`, `T { .. }`, `T(..)` (a tuple
/// struct), `T::new(..)`, `T::default()` (by reference or in parens too), and whether that
/// path is a constructor fn's (`T::new`), whose last segment is not part of the type. A fn
/// named `T::something` is taken to build a `T`, as constructors by convention do.
fn constructed_type(expr: &syn::Expr) -> Option<(&syn::Path, bool)> {
    match expr {
        syn::Expr::Call(call) => match &*call.func {
            syn::Expr::Path(path) if path.qself.is_none() => {
                let last = path.path.segments.last()?;
                // `T(..)` and `m::T(..)` build a `T`; `T::new(..)` is a fn of `T`.
                let tuple_struct = last.ident.to_string().starts_with(char::is_uppercase);
                if !tuple_struct && path.path.segments.len() < 2 {
                    return None;
                }
                Some((&path.path, !tuple_struct))
            }
            _ => None,
        },
        syn::Expr::Path(path) if path.qself.is_none() => Some((&path.path, false)),
        syn::Expr::Struct(lit) => Some((&lit.path, false)),
        syn::Expr::Reference(reference) => constructed_type(&reference.expr),
        syn::Expr::Paren(paren) => constructed_type(&paren.expr),
        _ => None,
    }
}

/// [`constructed_type`] as a [`TypeRef`].
pub(crate) fn constructed_ref(resolver: &Resolver, expr: &syn::Expr) -> Option<TypeRef> {
    let (path, constructor_fn) = constructed_type(expr)?;
    if constructor_fn {
        let mut prefix = path.clone();
        prefix.segments.pop();
        let last = prefix.segments.pop()?.into_value();
        prefix.segments.push(last);
        return TypeRef::of_path(resolver, &prefix);
    }
    TypeRef::of_path(resolver, path)
}

fn strip(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Reference(reference) => strip(&reference.expr),
        syn::Expr::Paren(paren) => strip(&paren.expr),
        other => other,
    }
}

fn first_generic_type(path: &syn::Path) -> Option<&syn::Type> {
    let syn::PathArguments::AngleBracketed(args) = &path.segments.last()?.arguments else {
        return None;
    };
    args.args.iter().find_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
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

/// Where the line holding `offset` starts, as an empty span, and its indentation.
fn line_start(source: &SourceFile, offset: usize) -> (Span, String) {
    let start = source.text[..offset]
        .rfind('\n')
        .map_or(0, |newline| newline + 1);
    let indent: String = source.text[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect();
    (source.span_of_bytes(start, start), indent)
}

/// Records facts during the walk.
pub(crate) struct FactRecorder<'a> {
    pub(crate) facts: &'a mut FileFacts,
    pub(crate) resolver: &'a Resolver,
    pub(crate) source: &'a SourceFile,
}

impl FactRecorder<'_> {
    /// Record facts from an item.
    pub(crate) fn item(&mut self, item: &syn::Item, scope: ScopeView<'_>) {
        let in_test = scope.in_test();
        match item {
            syn::Item::Impl(item_impl) => self.impl_item(item_impl, in_test),
            syn::Item::Struct(s) => {
                let fields: Vec<&syn::Field> = s.fields.iter().collect();
                self.type_def(
                    TypeDefKind::Struct,
                    &s.ident,
                    &s.generics,
                    &s.attrs,
                    vec![fields],
                );
                self.derives(&s.attrs, &s.ident, s.fields.iter().collect(), in_test);
            }
            syn::Item::Enum(e) => {
                let variants = e
                    .variants
                    .iter()
                    .map(|variant| variant.fields.iter().collect())
                    .collect();
                self.type_def(TypeDefKind::Enum, &e.ident, &e.generics, &e.attrs, variants);
                self.derives(&e.attrs, &e.ident, Vec::new(), in_test);
            }
            syn::Item::Type(alias) => {
                let Some(ty) =
                    TypeRef::of_path(self.resolver, &syn::Path::from(alias.ident.clone()))
                else {
                    return;
                };
                self.facts.types.push(TypeDef {
                    kind: TypeDefKind::Alias,
                    ty,
                    variants: vec![vec![FieldDef {
                        name: None,
                        ty: TypeShape::of(self.resolver, &alias.ty),
                    }]],
                    default_constructible: false,
                    // An alias is what it names: rules look through its one field.
                    serde: false,
                    generic: !alias.generics.params.is_empty(),
                });
            }
            _ => {}
        }
    }

    fn type_def(
        &mut self,
        kind: TypeDefKind,
        ident: &syn::Ident,
        generics: &syn::Generics,
        attrs: &[syn::Attribute],
        variants: Vec<Vec<&syn::Field>>,
    ) {
        let Some(ty) = TypeRef::of_path(self.resolver, &syn::Path::from(ident.clone())) else {
            return;
        };
        let variants = variants
            .into_iter()
            .map(|fields| {
                fields
                    .into_iter()
                    .map(|field| FieldDef {
                        name: field.ident.as_ref().map(ToString::to_string),
                        ty: TypeShape::of(self.resolver, &field.ty),
                    })
                    .collect()
            })
            .collect();
        self.facts.types.push(TypeDef {
            kind,
            ty,
            variants,
            default_constructible: derives(attrs, "Default"),
            serde: derives(attrs, "Serialize") && derives(attrs, "Deserialize"),
            generic: !generics.params.is_empty(),
        });
    }

    fn impl_item(&mut self, item: &syn::ItemImpl, in_test: bool) {
        let Some((_, trait_path, _)) = &item.trait_ else {
            return;
        };
        let Some(self_ty) = TypeRef::of_type(self.resolver, &item.self_ty) else {
            return;
        };
        let in_test = in_test || is_test_attr(&item.attrs);
        if let Some(kind) = handler_kind(self.resolver, item) {
            let has_handler_attr = has_catga_attr(self.resolver, &item.attrs, "handler");
            let saga_state = item.items.iter().find_map(|impl_item| match impl_item {
                syn::ImplItem::Type(ty) if ty.ident == "State" => Some((
                    TypeShape::of(self.resolver, &ty.ty),
                    self.source.span_of(&ty.ty),
                )),
                _ => None,
            });
            let (line_start, indent) =
                line_start(self.source, self.source.span_of(&item.impl_token).start);
            let self_span = self.source.span_of(&item.self_ty);
            if has_handler_attr {
                self.facts.registrations.push(Registration {
                    kind: RegistrationKind::Attribute,
                    handler: self_ty.clone(),
                    span: self_span,
                });
            }
            self.facts.handler_impls.push(HandlerImpl {
                kind,
                message: first_generic_type(trait_path)
                    .and_then(|ty| TypeRef::of_type(self.resolver, ty)),
                self_ty,
                self_span,
                line_start,
                indent,
                has_handler_attr,
                in_test,
                generic: !item.generics.params.is_empty(),
                saga_state,
            });
            return;
        }
        let Some(resolved) = self.resolver.resolve(trait_path) else {
            return;
        };
        if matches!(
            resolved.as_str(),
            "std::default::Default" | "core::default::Default"
        ) {
            self.facts.default_impls.push(self_ty);
            return;
        }
        if is_catga_item(&resolved, "Idempotent") {
            self.facts.idempotent_impls.push(self_ty);
            return;
        }
        let kind = [
            ("Command", MessageKind::Command),
            ("Query", MessageKind::Query),
            ("Event", MessageKind::Event),
        ]
        .into_iter()
        .find(|(name, _)| is_catga_item(&resolved, name));
        if let Some((_, kind)) = kind {
            self.facts.message_types.push(MessageType {
                kind,
                ty: self_ty,
                span: self.source.span_of(&item.self_ty),
                idempotent_attr: false,
                derived: false,
                attr_insert: None,
                has_command_attr: false,
                key_candidates: Vec::new(),
                has_key_field: false,
                response: None,
                in_test,
            });
        }
    }

    fn derives(
        &mut self,
        attrs: &[syn::Attribute],
        ident: &syn::Ident,
        fields: Vec<&syn::Field>,
        in_test: bool,
    ) {
        let kinds: Vec<MessageKind> = derive_paths(attrs)
            .filter_map(|path| {
                let resolved = self.resolver.resolve(&path)?;
                [
                    ("Command", MessageKind::Command),
                    ("Query", MessageKind::Query),
                    ("Event", MessageKind::Event),
                ]
                .into_iter()
                .find(|(name, _)| is_catga_item(&resolved, name))
                .map(|(_, kind)| kind)
            })
            .collect();
        let Some(ty) = TypeRef::of_path(self.resolver, &syn::Path::from(ident.clone())) else {
            return;
        };
        let command_attr = attrs.iter().find(|attr| attr.path().is_ident("command"));
        let response = command_attr
            .and_then(response_type)
            .map(|ty| TypeShape::of(self.resolver, &ty));
        let idempotent_attr = command_attr.is_some_and(|attr| {
            attr.meta.require_list().is_ok_and(|list| {
                list.tokens
                    .clone()
                    .into_iter()
                    .any(|token| token.to_string() == "idempotent")
            })
        });
        let attr_insert = match command_attr.map(|attr| &attr.meta) {
            Some(syn::Meta::List(list)) => {
                let close = self.source.span_from(list.delimiter.span().close());
                let separator = match list.tokens.clone().into_iter().last() {
                    None => "",
                    Some(proc_macro2::TokenTree::Punct(punct)) if punct.as_char() == ',' => " ",
                    Some(_) => ", ",
                };
                Some((
                    self.source.span_of_bytes(close.start, close.start),
                    separator.to_string(),
                ))
            }
            Some(_) => None,
            None => Some(line_start(self.source, self.source.span_of(ident).start)),
        };
        let key_candidates: Vec<(String, Span, String)> = fields
            .iter()
            .filter_map(|field| {
                let name = field.ident.as_ref()?.to_string();
                let key_like = name == "id" || name.ends_with("_id");
                key_like.then(|| {
                    // After the field's attributes and doc comment, where `#[idempotency_key]`
                    // reads best.
                    let ident = field
                        .ident
                        .as_ref()
                        .map_or(0, |ident| self.source.span_of(ident).start);
                    let (start, indent) = line_start(self.source, ident);
                    (name, start, indent)
                })
            })
            .collect();
        let has_key_field = fields.iter().any(|field| {
            field
                .attrs
                .iter()
                .any(|attr| attr.path().is_ident("idempotency_key"))
        });
        for kind in kinds {
            self.facts.message_types.push(MessageType {
                kind,
                ty: ty.clone(),
                span: self.source.span_of(ident),
                idempotent_attr,
                derived: true,
                attr_insert: attr_insert.clone(),
                has_command_attr: command_attr.is_some(),
                key_candidates: if kind == MessageKind::Command {
                    key_candidates.clone()
                } else {
                    Vec::new()
                },
                has_key_field,
                response: response.clone(),
                in_test,
            });
        }
    }

    /// Record facts from an expression: builder registrations, `.auto_register()` and publishes.
    pub(crate) fn expr(&mut self, expr: &syn::Expr, locals: &Locals, scope: ScopeView<'_>) {
        let syn::Expr::MethodCall(call) = expr else {
            return;
        };
        if call.method == "auto_register" && call.args.is_empty() {
            if !scope.in_test() {
                let span = self.source.span_of(&call.method);
                self.facts.auto_register_calls.push(span);
            }
            return;
        }
        if call.method == "export" || call.method == "export_keyed" {
            let exported =
                call.turbofish
                    .as_ref()
                    .and_then(|turbofish| match turbofish.args.first() {
                        Some(syn::GenericArgument::Type(ty)) => type_path(ty),
                        _ => None,
                    });
            if let Some(ty) = exported.and_then(|path| TypeRef::of_path(self.resolver, path)) {
                let span = self.source.span_of(&call.method);
                self.facts.exports.push(TypeSite { ty, span });
            }
            return;
        }
        let registration = call.method == "handler" || call.method == "event_handler";
        if !registration && call.method != "publish" {
            return;
        }
        let (Some(arg), 1) = (call.args.first(), call.args.len()) else {
            return;
        };
        let ty = match strip(arg) {
            // A variable: its evident type, if the binding shows one.
            syn::Expr::Path(path) if path.path.get_ident().is_some() && path.qself.is_none() => {
                let name = path.path.segments[0].ident.to_string();
                match locals.get(&name) {
                    Some(origin) => origin.constructed.clone().map(|canonical| TypeRef {
                        name: canonical
                            .rsplit("::")
                            .next()
                            .unwrap_or(&canonical)
                            .to_string(),
                        path: Some(canonical),
                    }),
                    None => constructed_ref(self.resolver, arg),
                }
            }
            _ => constructed_ref(self.resolver, arg),
        };
        let Some(ty) = ty else {
            return;
        };
        let span = self.source.span_of(&call.method);
        if registration {
            self.facts.registrations.push(Registration {
                kind: RegistrationKind::Builder,
                handler: ty,
                span,
            });
        } else {
            self.facts.publishes.push(TypeSite { ty, span });
        }
    }
}

/// Whether the derives on an item include one whose last segment is `name`.
fn derives(attrs: &[syn::Attribute], name: &str) -> bool {
    derive_paths(attrs).any(|path| path.segments.last().is_some_and(|last| last.ident == name))
}

/// `T` of `response = T` in a message's `#[command(..)]` / `#[query(..)]` attribute.
fn response_type(attr: &syn::Attribute) -> Option<syn::Type> {
    attr.parse_args_with(|input: syn::parse::ParseStream<'_>| {
        let mut response = None;
        while !input.is_empty() {
            let key: syn::Ident = input.call(syn::ext::IdentExt::parse_any)?;
            if input.peek(syn::Token![=]) {
                input.parse::<syn::Token![=]>()?;
                if key == "response" {
                    response = Some(input.parse::<syn::Type>()?);
                }
            }
            // Skip the rest of this argument.
            while !input.is_empty() && !input.peek(syn::Token![,]) {
                input.parse::<proc_macro2::TokenTree>()?;
            }
            if !input.is_empty() {
                input.parse::<syn::Token![,]>()?;
            }
        }
        Ok(response)
    })
    .ok()
    .flatten()
}

fn derive_paths(attrs: &[syn::Attribute]) -> impl Iterator<Item = syn::Path> + '_ {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("derive"))
        .filter_map(|attr| {
            attr.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            )
            .ok()
        })
        .flatten()
}
