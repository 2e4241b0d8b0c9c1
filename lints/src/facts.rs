//! Per-file facts for cross-file rules: types and their fields, handler impls, message types,
//! registrations and publishes. Recorded during the one walk and cached with the diagnostics, so
//! the workspace index ([`crate::workspace`]) never needs a syntax tree.
//!
//! Types are named twice: by their last segment (`CreateOrder`, what people read) and by their
//! workspace-wide path ([`Resolver::canonical`], `shop::orders::CreateOrder`), so two types with
//! one name in different modules stay apart.

use crate::context::{HandlerKind, ScopeView, handler_kind, is_test_attr};
use crate::diagnostic::{Edit, Span};
use crate::resolve::{Resolver, is_catga_item};
use crate::semantic::Bindings;
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
    /// For a struct without fields that does not derive `Default`: the edit that adds it (into
    /// its last `#[derive(..)]`, or as a `#[derive(Default)]` line above it).
    pub default_derive: Option<Edit>,
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
    /// `impl Trait<M> for Type`: from the `impl` keyword through the self type.
    pub header_span: Span,
    /// That header's text on one line.
    pub header: String,
    /// Where an attribute on its own line goes: after the impl's doc comments, before its other
    /// attributes; and what to write after the attribute there (a newline and the line's
    /// indentation, or a space when other code precedes it on that line).
    pub attr_insert: (Span, String),
    /// `use catga::handler;` is in scope, so the attribute is written `#[handler]`.
    pub handler_attr_imported: bool,
    /// The trait is written under its own name (`Handler`, `EventHandler`, `Saga`, with or
    /// without a path), not through an alias (`use catga::EventHandler as OnEvent;`):
    /// `#[catga::handler]` reads the name as written and rejects an alias.
    pub trait_named: bool,
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

/// Whether catga's attribute `name` is on the item, however written: `#[catga::handler]`,
/// `#[handler]` after `use catga::handler;`, or inside `#[cfg_attr(.., catga::handler)]`.
fn has_catga_attr(resolver: &Resolver, attrs: &[syn::Attribute], name: &str) -> bool {
    let names = |path: &syn::Path| {
        resolver
            .resolve(path)
            .is_some_and(|path| is_catga_item(&path, name))
    };
    attrs.iter().any(|attr| {
        if attr.path().is_ident("cfg_attr") {
            return attr
                .parse_args_with(
                    syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
                )
                .is_ok_and(|nested| nested.iter().skip(1).any(|meta| names(meta.path())));
        }
        names(attr.path())
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

/// Where a line inserted before the code at byte `offset` goes (an empty span there), and what
/// follows the inserted text: a newline and the indentation of that line, or a space when other
/// code precedes `offset` on its line.
fn line_insert(source: &SourceFile, offset: usize) -> (Span, String) {
    let text = &source.text;
    let line_start = text[..offset].rfind('\n').map_or(0, |newline| newline + 1);
    let indent = &text[line_start..offset];
    let separator = if indent.chars().all(|c| c == ' ' || c == '\t') {
        format!("\n{indent}")
    } else {
        " ".to_string()
    };
    (source.span_of_bytes(offset, offset), separator)
}

/// The edit adding `Default` to a struct: into its last `#[derive(..)]`, or as a new
/// `#[derive(Default)]` line just above the struct (after its doc comments).
fn default_derive(source: &SourceFile, item: &syn::ItemStruct) -> Edit {
    let derive = item.attrs.iter().rev().find_map(|attr| match &attr.meta {
        syn::Meta::List(list) if list.path.is_ident("derive") => Some(list),
        _ => None,
    });
    if let Some(list) = derive {
        return match list.tokens.clone().into_iter().last() {
            Some(last) => {
                let trailing_comma =
                    matches!(&last, proc_macro2::TokenTree::Punct(punct) if punct.as_char() == ',');
                let end = source.span_from(last.span()).end;
                let content = if trailing_comma {
                    " Default"
                } else {
                    ", Default"
                };
                Edit::insert_after(source.span_of_bytes(end, end), content)
            }
            None => Edit::insert_before(source.span_from(list.delimiter.span().close()), "Default"),
        };
    }
    let start = match &item.vis {
        syn::Visibility::Inherited => source.span_of(&item.struct_token).start,
        vis => source.span_of(vis).start,
    };
    let (at, separator) = line_insert(source, start);
    Edit::insert_before(at, format!("#[derive(Default)]{separator}"))
}

/// Source text on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
                if s.fields.is_empty() && !derives(&s.attrs, "Default") {
                    let edit = default_derive(self.source, s);
                    if let Some(def) = self.facts.types.last_mut() {
                        def.default_derive = Some(edit);
                    }
                }
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
                    default_derive: None,
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
            default_derive: None,
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
            let header_span = self
                .source
                .join(self.source.span_of(&item.impl_token), self_span);
            let header = format!(
                "impl {} for {}",
                one_line(self.source.text_of(self.source.span_of(trait_path))),
                one_line(self.source.text_of(self_span))
            );
            // After the doc comments (rustdoc style), before every other attribute.
            let attr_start = match item.attrs.iter().find(|attr| !attr.path().is_ident("doc")) {
                Some(attr) => self.source.span_of(attr).start,
                None => match (&item.defaultness, &item.unsafety) {
                    (Some(defaultness), _) => self.source.span_of(defaultness).start,
                    (None, Some(unsafety)) => self.source.span_of(unsafety).start,
                    (None, None) => self.source.span_of(&item.impl_token).start,
                },
            };
            let attr_insert = line_insert(self.source, attr_start);
            let handler_attr_imported = self
                .resolver
                .resolve(&syn::Path::from(syn::Ident::new(
                    "handler",
                    proc_macro2::Span::call_site(),
                )))
                .as_deref()
                == Some("catga::handler");
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
                header_span,
                header,
                attr_insert,
                handler_attr_imported,
                trait_named: trait_path.segments.last().is_some_and(|segment| {
                    segment.ident
                        == match kind {
                            HandlerKind::Handler => "Handler",
                            HandlerKind::EventHandler => "EventHandler",
                            HandlerKind::Saga => "Saga",
                        }
                }),
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
    pub(crate) fn expr(&mut self, expr: &syn::Expr, bindings: &Bindings<'_>, scope: ScopeView<'_>) {
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
                match bindings.get(&name) {
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
