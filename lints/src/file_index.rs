//! Declarations of one file, for rules whose evidence lies outside the node a hook is given: the
//! fields of the file's structs, its statics (`lazy_static!` and `thread_local!` ones included),
//! and every fn body with its enclosing impl and the
//! name-resolution scope of its module. Built from the `file` hook's `syn::File`.
//!
//! Types are reduced to a [`TypeChain`], the resolved paths of a type and of its first type
//! argument, outermost first, references dropped: `&Arc<parking_lot::Mutex<u64>>` is
//! `std::sync::Arc`, `parking_lot::Mutex`, `?` (a name the resolver cannot place). A rule reads
//! the layers it cares about ("a Mutex under any number of Arcs") and needs no type checker.

use crate::context::{HandlerKind, handler_kind, is_test_attr};
use crate::locals::bound_names;
use crate::resolve::{Resolver, Scope};
use proc_macro2::{TokenStream, TokenTree};
use std::collections::HashMap;
use syn::visit::Visit;

/// A type's layers, outermost first; see the module docs. `[]` is a slice, `[;]` an array, `?`
/// a layer whose name does not resolve.
pub(crate) type TypeChain = Vec<String>;

/// A fn with a body, where it sits, and how to resolve names inside it.
#[derive(Debug)]
pub(crate) struct FnSite<'a> {
    /// Its signature.
    pub(crate) sig: &'a syn::Signature,
    /// Its body.
    pub(crate) body: &'a syn::Block,
    /// The `Self` type of the enclosing impl.
    pub(crate) self_ty: Option<&'a syn::Type>,
    /// The catga trait the enclosing impl implements, if any.
    pub(crate) handler: Option<HandlerKind>,
    /// Test code: the fn, its impl or one of its modules is `#[cfg(test)]` / `#[test]`.
    pub(crate) in_test: bool,
    module: usize,
}

impl FnSite<'_> {
    /// Handler code: a method of a catga handler impl that is not test code.
    pub(crate) fn is_handler_code(&self) -> bool {
        self.handler.is_some() && !self.in_test
    }

    /// `Type::name` for a method of an impl whose self type is a path, else `name`.
    pub(crate) fn display_name(&self) -> String {
        let name = &self.sig.ident;
        match self.self_ty {
            Some(syn::Type::Path(path)) => match path.path.segments.last() {
                Some(segment) => format!("{}::{name}", segment.ident),
                None => name.to_string(),
            },
            _ => name.to_string(),
        }
    }
}

/// How a static of the file is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StaticKind {
    /// `static NAME: T = ..;`
    Static,
    /// `static ref NAME: T = ..;` inside `lazy_static!`.
    LazyStatic,
    /// `static NAME: T = ..;` inside `thread_local!` (a `LocalKey`, reached through `.with(..)`).
    ThreadLocal,
}

/// The declarations of one file.
#[derive(Debug)]
pub(crate) struct FileIndex<'a> {
    /// Struct name -> fields; `None` when two structs of the file share the name.
    structs: HashMap<String, Option<&'a syn::Fields>>,
    /// Static or const name -> type; `None` when the name is declared twice.
    statics: HashMap<String, Option<&'a syn::Type>>,
    /// `lazy_static!` name -> type (parsed from the macro body); `None` when declared twice.
    lazy_statics: HashMap<String, Option<syn::Type>>,
    /// Name of a static (not a const) -> how it is declared; `None` when the file declares the
    /// name more than once (in two modules, or also as a const).
    static_kinds: HashMap<String, Option<StaticKind>>,
    /// Type alias name -> aliased type; `None` when the name is declared twice.
    aliases: HashMap<String, Option<&'a syn::Type>>,
    fns: Vec<FnSite<'a>>,
    /// One resolver per module of the file (the file itself first).
    modules: Vec<Resolver>,
}

impl<'a> FileIndex<'a> {
    /// Index `file`; `resolver` is the file-level resolver the hook was given.
    pub(crate) fn new(file: &'a syn::File, resolver: &Resolver) -> FileIndex<'a> {
        let mut index = FileIndex {
            structs: HashMap::new(),
            statics: HashMap::new(),
            lazy_statics: HashMap::new(),
            static_kinds: HashMap::new(),
            aliases: HashMap::new(),
            fns: Vec::new(),
            modules: vec![resolver.clone()],
        };
        index.add_items(&file.items, 0, false);
        index
    }

    /// Every fn with a body, nested ones included, in source order of their enclosing items.
    pub(crate) fn fns(&self) -> &[FnSite<'a>] {
        &self.fns
    }

    /// How the file declares the static `name` (`None` for anything else, consts included, and
    /// for a name declared more than once).
    pub(crate) fn static_kind(&self, name: &str) -> Option<StaticKind> {
        self.static_kinds.get(name).copied().flatten()
    }

    /// The declared type of the static or const `name` (`lazy_static!` ones included).
    fn static_type(&self, name: &str) -> Option<&syn::Type> {
        match (self.statics.get(name), self.lazy_statics.get(name)) {
            (Some(ty), None) => ty.as_deref(),
            (None, Some(ty)) => ty.as_ref(),
            _ => None,
        }
    }

    /// The resolver for names inside `site`.
    pub(crate) fn resolver(&self, site: &FnSite<'_>) -> &Resolver {
        &self.modules[site.module]
    }

    fn add_items(&mut self, items: &'a [syn::Item], module: usize, in_test: bool) {
        for item in items {
            self.add_item(item, module, in_test);
        }
    }

    fn add_item(&mut self, item: &'a syn::Item, module: usize, in_test: bool) {
        match item {
            syn::Item::Struct(strukt) => {
                insert_unique(&mut self.structs, strukt.ident.to_string(), &strukt.fields)
            }
            syn::Item::Static(statik) => {
                insert_unique(&mut self.statics, statik.ident.to_string(), &*statik.ty);
                insert_unique(
                    &mut self.static_kinds,
                    statik.ident.to_string(),
                    StaticKind::Static,
                );
            }
            syn::Item::Macro(mac) => {
                let Some((kind, declared)) = macro_statics(&mac.mac) else {
                    return;
                };
                for (name, ty) in declared {
                    let name = name.to_string();
                    insert_unique(&mut self.static_kinds, name.clone(), kind);
                    if kind == StaticKind::LazyStatic {
                        insert_unique(&mut self.lazy_statics, name, ty);
                    }
                }
            }
            syn::Item::Type(alias) => {
                insert_unique(&mut self.aliases, alias.ident.to_string(), &*alias.ty)
            }
            syn::Item::Const(konst) => {
                insert_unique(&mut self.statics, konst.ident.to_string(), &*konst.ty);
                // A const is not a static: a name declared as both is ambiguous.
                self.static_kinds.insert(konst.ident.to_string(), None);
            }
            syn::Item::Fn(f) => {
                let in_test = in_test || is_test_attr(&f.attrs);
                self.add_fn(&f.sig, &f.block, None, None, module, in_test);
            }
            syn::Item::Impl(imp) => {
                let in_test = in_test || is_test_attr(&imp.attrs);
                let handler = handler_kind(&self.modules[module], imp);
                for impl_item in &imp.items {
                    if let syn::ImplItem::Fn(f) = impl_item {
                        let in_test = in_test || is_test_attr(&f.attrs);
                        self.add_fn(
                            &f.sig,
                            &f.block,
                            Some(&imp.self_ty),
                            handler,
                            module,
                            in_test,
                        );
                    }
                }
            }
            syn::Item::Trait(tr) => {
                let in_test = in_test || is_test_attr(&tr.attrs);
                for trait_item in &tr.items {
                    if let syn::TraitItem::Fn(f) = trait_item
                        && let Some(body) = &f.default
                    {
                        self.add_fn(
                            &f.sig,
                            body,
                            None,
                            None,
                            module,
                            in_test || is_test_attr(&f.attrs),
                        );
                    }
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    let mut resolver = self.modules[module].clone();
                    resolver.push(Scope::module(items));
                    self.modules.push(resolver);
                    let inner = self.modules.len() - 1;
                    self.add_items(items, inner, in_test || is_test_attr(&m.attrs));
                }
            }
            _ => {}
        }
    }

    fn add_fn(
        &mut self,
        sig: &'a syn::Signature,
        body: &'a syn::Block,
        self_ty: Option<&'a syn::Type>,
        handler: Option<HandlerKind>,
        module: usize,
        in_test: bool,
    ) {
        self.fns.push(FnSite {
            sig,
            body,
            self_ty,
            handler,
            in_test,
            module,
        });
        // Items declared inside the body (nested fns, impls, structs) belong to the file too.
        let mut nested = NestedItems::default();
        nested.visit_block(body);
        for item in nested.items {
            self.add_item(item, module, in_test);
        }
    }

    /// `chain` with the file's type aliases replaced by what they stand for
    /// (`type Shared = Arc<Mutex<State>>`).
    fn expand_aliases(&self, mut chain: TypeChain, resolver: &Resolver) -> TypeChain {
        // Bounded: aliases may (wrongly) refer to each other.
        for _ in 0..8 {
            let alias = chain.iter().enumerate().find_map(|(position, layer)| {
                let name = layer.strip_prefix("self::")?;
                Some((position, self.aliases.get(name).copied().flatten()?))
            });
            let Some((position, aliased)) = alias else {
                break;
            };
            chain.truncate(position);
            chain.extend(type_chain(aliased, resolver));
        }
        chain
    }

    /// The fields of the struct a type chain's layer names, when the struct is declared here.
    fn fields_of(&self, layer: &str, self_chain: Option<&TypeChain>) -> Option<&'a syn::Fields> {
        if layer == "Self" {
            let self_layer = self_chain?.first()?;
            return if self_layer == "Self" {
                None
            } else {
                self.fields_of(self_layer, None)
            };
        }
        let name = layer.strip_prefix("self::")?;
        self.structs.get(name).copied().flatten()
    }
}

fn insert_unique<V>(map: &mut HashMap<String, Option<V>>, name: String, value: V) {
    map.entry(name)
        .and_modify(|slot| *slot = None)
        .or_insert(Some(value));
}

/// The statics a `lazy_static! { .. }` or `thread_local! { .. }` invocation declares, with their
/// types; `None` for other macros and bodies that do not parse.
fn macro_statics(mac: &syn::Macro) -> Option<(StaticKind, Vec<(syn::Ident, syn::Type)>)> {
    let kind = match mac.path.segments.last()?.ident.to_string().as_str() {
        "lazy_static" => StaticKind::LazyStatic,
        "thread_local" => StaticKind::ThreadLocal,
        _ => return None,
    };
    let parser = |input: syn::parse::ParseStream<'_>| {
        let mut declared = Vec::new();
        while !input.is_empty() {
            input.call(syn::Attribute::parse_outer)?;
            input.parse::<syn::Visibility>()?;
            input.parse::<syn::Token![static]>()?;
            if input.peek(syn::Token![ref]) {
                input.parse::<syn::Token![ref]>()?;
            }
            let name: syn::Ident = input.parse()?;
            input.parse::<syn::Token![:]>()?;
            let ty: syn::Type = input.parse()?;
            input.parse::<syn::Token![=]>()?;
            // The initializer: every token up to the `;` of this declaration.
            while !input.is_empty() && !input.peek(syn::Token![;]) {
                input.parse::<TokenTree>()?;
            }
            if !input.is_empty() {
                input.parse::<syn::Token![;]>()?;
            }
            declared.push((name, ty));
        }
        Ok(declared)
    };
    mac.parse_body_with(parser)
        .ok()
        .map(|declared| (kind, declared))
}

/// Items directly inside a fn body (at any block depth), not inside nested items.
#[derive(Default)]
struct NestedItems<'a> {
    items: Vec<&'a syn::Item>,
}

impl<'a> Visit<'a> for NestedItems<'a> {
    fn visit_item(&mut self, item: &'a syn::Item) {
        self.items.push(item);
    }
}

/// The layers of a written type.
pub(crate) fn type_chain(ty: &syn::Type, resolver: &Resolver) -> TypeChain {
    let mut chain = Vec::new();
    let mut current = ty;
    loop {
        current = match current {
            syn::Type::Reference(reference) => &reference.elem,
            syn::Type::Paren(paren) => &paren.elem,
            syn::Type::Group(group) => &group.elem,
            syn::Type::Slice(slice) => {
                chain.push("[]".to_string());
                &slice.elem
            }
            syn::Type::Array(array) => {
                chain.push("[;]".to_string());
                &array.elem
            }
            syn::Type::Path(path) if path.qself.is_none() => {
                chain.push(
                    resolver
                        .resolve(&path.path)
                        .unwrap_or_else(|| "?".to_string()),
                );
                match first_type_argument(&path.path) {
                    Some(argument) => argument,
                    None => break,
                }
            }
            _ => break,
        };
    }
    chain
}

/// The first type argument of a path's last segment: `u64` in `Mutex<u64>`.
pub(crate) fn first_type_argument(path: &syn::Path) -> Option<&syn::Type> {
    let syn::PathArguments::AngleBracketed(arguments) = &path.segments.last()?.arguments else {
        return None;
    };
    arguments.args.iter().find_map(|argument| match argument {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// The layers of a value built by constructor calls: `Arc::new(Mutex::new(0))` is
/// `std::sync::Arc`, `std::sync::Mutex`; `vec![..]` is `std::vec::Vec`. Empty for anything else.
pub(crate) fn constructor_chain(expr: &syn::Expr, resolver: &Resolver) -> TypeChain {
    let mut chain = Vec::new();
    let mut current = expr;
    loop {
        match current {
            syn::Expr::Call(call) => {
                let Some(callee) = resolver.resolve_expr(&call.func) else {
                    break;
                };
                let Some((ty, constructor)) = callee.rsplit_once("::") else {
                    break;
                };
                if !matches!(constructor, "new" | "default" | "with_capacity" | "from") {
                    break;
                }
                chain.push(ty.to_string());
                match call.args.first() {
                    Some(argument) => current = argument,
                    None => break,
                }
            }
            syn::Expr::Macro(mac) if mac.mac.path.is_ident("vec") => {
                chain.push("std::vec::Vec".to_string());
                break;
            }
            syn::Expr::Paren(paren) => current = &paren.expr,
            _ => break,
        }
    }
    chain
}

/// Where a binding's type comes from.
#[derive(Debug, Clone, Copy)]
enum Origin<'a> {
    /// Annotated: `x: Mutex<u64>`.
    Written(&'a syn::Type),
    /// Built by its initializer: `let x = Mutex::new(0)`.
    Built(&'a syn::Expr),
    /// Unknown (a pattern binding, an initializer that is not a constructor).
    Unknown,
}

/// The bindings visible at one point of a fn body and what their types are known to be.
#[derive(Debug)]
pub(crate) struct TypeEnv<'i, 'a> {
    index: &'i FileIndex<'a>,
    resolver: &'i Resolver,
    self_ty: Option<&'a syn::Type>,
    bindings: Vec<(String, Origin<'a>)>,
}

impl<'i, 'a> TypeEnv<'i, 'a> {
    /// The environment at the start of `site`'s body: its parameters are bound.
    pub(crate) fn for_fn(index: &'i FileIndex<'a>, site: &FnSite<'a>) -> TypeEnv<'i, 'a> {
        let mut env = TypeEnv {
            index,
            resolver: index.resolver(site),
            self_ty: site.self_ty,
            bindings: Vec::new(),
        };
        for input in &site.sig.inputs {
            if let syn::FnArg::Typed(typed) = input {
                env.bind_typed(&typed.pat, &typed.ty);
            }
        }
        env
    }

    /// A mark to return to when the current block ends.
    pub(crate) fn mark(&self) -> usize {
        self.bindings.len()
    }

    /// Forget the bindings made since `mark`.
    pub(crate) fn reset(&mut self, mark: usize) {
        self.bindings.truncate(mark);
    }

    /// Bind every name `pat` binds, with an unknown type.
    pub(crate) fn bind_unknown(&mut self, pat: &syn::Pat) {
        let mut names = Vec::new();
        bound_names(pat, &mut names);
        self.bindings
            .extend(names.into_iter().map(|name| (name, Origin::Unknown)));
    }

    fn bind_typed(&mut self, pat: &'a syn::Pat, ty: &'a syn::Type) {
        match pat {
            syn::Pat::Ident(ident) if ident.subpat.is_none() => {
                self.bindings
                    .push((ident.ident.to_string(), Origin::Written(ty)));
            }
            _ => self.bind_unknown(pat),
        }
    }

    /// Bind the names of a `let` statement.
    pub(crate) fn bind_local(&mut self, local: &'a syn::Local) {
        match (&local.pat, &local.init) {
            (syn::Pat::Type(typed), _) => self.bind_typed(&typed.pat, &typed.ty),
            (syn::Pat::Ident(ident), Some(init)) if ident.subpat.is_none() => {
                self.bindings
                    .push((ident.ident.to_string(), Origin::Built(&init.expr)));
            }
            (pat, _) => self.bind_unknown(pat),
        }
    }

    /// The layers of a type written here, aliases of the file expanded.
    fn written(&self, ty: &syn::Type) -> TypeChain {
        self.index
            .expand_aliases(type_chain(ty, self.resolver), self.resolver)
    }

    /// The layers of the type of a receiver expression, when the file declares them: a
    /// parameter, a `let` with a type, a constructor or a value whose type is known
    /// (`let state = self.state.clone();`, `Arc::clone(&self.state)`), a static, `self.field`,
    /// `param.field`. `None` when unknown.
    pub(crate) fn chain_of(&self, expr: &syn::Expr) -> Option<TypeChain> {
        self.chain_with(expr, self.bindings.len())
    }

    /// [`TypeEnv::chain_of`] seeing only the first `visible` bindings (an initializer sees the
    /// bindings made before its own `let`).
    fn chain_with(&self, expr: &syn::Expr, visible: usize) -> Option<TypeChain> {
        match expr {
            syn::Expr::Path(path) if path.qself.is_none() => {
                let ident = path.path.get_ident()?;
                if ident == "self" {
                    return Some(self.written(self.self_ty?));
                }
                let name = ident.to_string();
                let found = self.bindings[..visible.min(self.bindings.len())]
                    .iter()
                    .rposition(|(bound, _)| *bound == name);
                match found.map(|at| (at, &self.bindings[at].1)) {
                    Some((_, Origin::Written(ty))) => Some(self.written(ty)),
                    Some((at, Origin::Built(init))) => {
                        let built = constructor_chain(init, self.resolver);
                        if built.is_empty() {
                            self.chain_with(init, at)
                        } else {
                            Some(built)
                        }
                    }
                    Some((_, Origin::Unknown)) => None,
                    None => Some(self.written(self.index.static_type(&name)?)),
                }
            }
            syn::Expr::Field(field) => {
                let syn::Member::Named(member) = &field.member else {
                    return None;
                };
                let base = self.chain_with(&field.base, visible)?;
                let self_chain = self.self_ty.map(|ty| self.written(ty));
                // The struct is the first layer the file declares (`Arc<Inner>` reaches `Inner`).
                let fields = base
                    .iter()
                    .find_map(|layer| self.index.fields_of(layer, self_chain.as_ref()))?;
                let field = fields
                    .iter()
                    .find(|field| field.ident.as_ref() == Some(member))?;
                Some(self.written(&field.ty))
            }
            syn::Expr::Paren(paren) => self.chain_with(&paren.expr, visible),
            syn::Expr::Reference(reference) => self.chain_with(&reference.expr, visible),
            syn::Expr::MethodCall(call) if call.method == "clone" && call.args.is_empty() => {
                self.chain_with(&call.receiver, visible)
            }
            // `Arc::clone(&self.state)`: the same value behind a new pointer.
            syn::Expr::Call(call) if call.args.len() == 1 => {
                let callee = self.resolver.resolve_expr(&call.func)?;
                matches!(
                    callee.as_str(),
                    "std::sync::Arc::clone" | "alloc::sync::Arc::clone" | "std::rc::Rc::clone"
                )
                .then(|| self.chain_with(&call.args[0], visible))?
            }
            _ => None,
        }
    }
}

/// Whether `layer` is a smart pointer or lazy cell that method calls see through.
pub(crate) fn is_transparent_wrapper(layer: &str) -> bool {
    matches!(
        layer,
        "std::sync::Arc"
            | "alloc::sync::Arc"
            | "std::rc::Rc"
            | "alloc::rc::Rc"
            | "std::boxed::Box"
            | "alloc::boxed::Box"
            | "std::sync::LazyLock"
            | "std::cell::LazyCell"
            | "once_cell::sync::Lazy"
            | "once_cell::unsync::Lazy"
    )
}

/// The first layer of `chain` under any [`is_transparent_wrapper`] layers.
pub(crate) fn innermost_value(chain: &[String]) -> Option<&str> {
    chain
        .iter()
        .map(String::as_str)
        .find(|layer| !is_transparent_wrapper(layer))
}

/// Whether `tokens` mention the variable `name`: the identifier anywhere, macro arguments
/// included, except right after a `.` (a field or a method of the same name).
pub(crate) fn mentions_variable(tokens: TokenStream, name: &str) -> bool {
    let mut after_dot = false;
    for token in tokens {
        let found = match &token {
            TokenTree::Group(group) => mentions_variable(group.stream(), name),
            TokenTree::Ident(ident) => !after_dot && ident == name,
            _ => false,
        };
        if found {
            return true;
        }
        after_dot = matches!(&token, TokenTree::Punct(punct) if punct.as_char() == '.');
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain_in(source: &str, fn_name: &str, expr: &str) -> Option<TypeChain> {
        let file: syn::File = syn::parse_str(source).unwrap();
        let resolver = Resolver::for_file(&file);
        let index = FileIndex::new(&file, &resolver);
        let site = index
            .fns()
            .iter()
            .find(|site| site.sig.ident == fn_name)
            .unwrap();
        let env = TypeEnv::for_fn(&index, site);
        env.chain_of(&syn::parse_str(expr).unwrap())
    }

    #[test]
    fn self_field_type_comes_from_the_struct_declared_in_the_file() {
        let source = "use std::sync::{Arc, Mutex}; struct Book { totals: Arc<Mutex<u64>> } \
                      impl Book { fn f(&self) {} }";
        let chain = chain_in(source, "f", "self.totals").unwrap();
        assert_eq!(chain, ["std::sync::Arc", "std::sync::Mutex", "?"]);
        assert_eq!(innermost_value(&chain), Some("std::sync::Mutex"));
    }

    #[test]
    fn parameter_field_and_static_types_are_found() {
        let source = "struct Cmd { ids: Vec<u64> } static CACHE: parking_lot::RwLock<u8> = todo!(); \
                      fn f(cmd: &Cmd, items: &[u8]) {}";
        assert_eq!(
            chain_in(source, "f", "cmd.ids").unwrap()[0],
            "std::vec::Vec"
        );
        assert_eq!(chain_in(source, "f", "items").unwrap()[0], "[]");
        assert_eq!(
            chain_in(source, "f", "CACHE").unwrap()[0],
            "parking_lot::RwLock"
        );
        assert_eq!(chain_in(source, "f", "other"), None);
    }

    #[test]
    fn lazy_static_and_thread_local_statics_are_indexed_apart_from_consts() {
        let source = "lazy_static::lazy_static! { pub static ref CACHE: std::sync::Mutex<u8> = Default::default(); }\n\
                      thread_local! { static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) }; }\n\
                      static SEEN: u8 = 0; const MAX: u8 = 1; fn f() {}";
        assert_eq!(
            chain_in(source, "f", "CACHE").unwrap()[0],
            "std::sync::Mutex"
        );
        let file: syn::File = syn::parse_str(source).unwrap();
        let index = FileIndex::new(&file, &Resolver::for_file(&file));
        assert_eq!(index.static_kind("CACHE"), Some(StaticKind::LazyStatic));
        assert_eq!(index.static_kind("BUF"), Some(StaticKind::ThreadLocal));
        assert_eq!(index.static_kind("SEEN"), Some(StaticKind::Static));
        assert_eq!(index.static_kind("MAX"), None);
    }

    #[test]
    fn type_aliases_of_the_file_are_expanded() {
        let source = "use std::sync::{Arc, Mutex}; type Shared<T> = Arc<Mutex<T>>; type Db = Shared<u8>; \
                      fn f(db: Db) {}";
        let chain = chain_in(source, "f", "db").unwrap();
        assert_eq!(innermost_value(&chain), Some("std::sync::Mutex"));
    }

    #[test]
    fn a_local_cloned_from_a_field_has_the_field_type_and_shadowing_does_not_loop() {
        let file: syn::File = syn::parse_str(
            "use std::sync::{Arc, Mutex}; struct S { state: Arc<Mutex<u8>> } \
             impl S { fn f(&self) { let state = self.state.clone(); let other = Arc::clone(&state); \
             let state = state.clone(); let unknown = make(); } }",
        )
        .unwrap();
        let resolver = Resolver::for_file(&file);
        let index = FileIndex::new(&file, &resolver);
        let site = &index.fns()[0];
        let mut env = TypeEnv::for_fn(&index, site);
        for stmt in &site.body.stmts {
            if let syn::Stmt::Local(local) = stmt {
                env.bind_local(local);
            }
        }
        let chain = |expr: &str| {
            env.chain_of(&syn::parse_str(expr).unwrap())
                .map(|chain| chain[..2].to_vec())
        };
        let arc_mutex = Some(vec![
            "std::sync::Arc".to_string(),
            "std::sync::Mutex".to_string(),
        ]);
        assert_eq!(chain("state"), arc_mutex);
        assert_eq!(chain("other"), arc_mutex);
        assert_eq!(chain("unknown"), None);
    }

    #[test]
    fn constructor_calls_give_the_layers_of_a_let_binding() {
        let file: syn::File = syn::parse_str("use std::sync::{Arc, RwLock};").unwrap();
        let resolver = Resolver::for_file(&file);
        let expr = syn::parse_str("Arc::new(RwLock::new(5))").unwrap();
        assert_eq!(
            constructor_chain(&expr, &resolver),
            ["std::sync::Arc", "std::sync::RwLock"]
        );
        assert!(constructor_chain(&syn::parse_str("make()").unwrap(), &resolver).is_empty());
    }

    #[test]
    fn methods_of_impls_in_inline_test_modules_are_test_code_and_see_their_module_imports() {
        let source =
            "mod tests { use parking_lot::Mutex; #[cfg(test)] impl S { fn f(m: &Mutex<u8>) {} } }";
        let chain = chain_in(source, "f", "m").unwrap();
        assert_eq!(chain[0], "parking_lot::Mutex");
        let file: syn::File = syn::parse_str(source).unwrap();
        let index = FileIndex::new(&file, &Resolver::for_file(&file));
        assert!(index.fns()[0].in_test);
    }
}
