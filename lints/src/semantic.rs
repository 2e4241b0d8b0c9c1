//! The semantic model of a file, asked by every rule: what a local is, where its value came from
//! and what its type is known to be, as ruff's `SemanticModel` answers it for Python.
//!
//! - [`Bindings`]: the locals visible at a point of a walk (`let`, fn and closure parameters,
//!   `for` patterns), innermost last, with scopes entered and left by [`Bindings::mark`] and
//!   [`Bindings::reset`]. In a rule's scan of a fn body a binding keeps the syntax its type and
//!   value come from (an annotation, an initializer); in the engine's walk, its [`LocalOrigin`]
//!   (the call it was made by), what [`crate::rule::RuleCx::local`] answers.
//! - [`SemanticModel`]: those bindings at one point of a fn body together with the file's
//!   declarations ([`FileIndex`]: struct fields keyed by their owning struct's path, statics,
//!   aliases), answering "what type does this expression have" ([`SemanticModel::chain_of`]).
//! - [`types`]: how a type is represented ([`types::TypeChain`]).

pub(crate) mod types;

use crate::file_index::{FileIndex, FnSite};
use crate::resolve::Resolver;
use proc_macro2::{TokenStream, TokenTree};
use types::{TypeChain, constructor_chain};

/// Where a local binding's value came from: `let (tx, rx) = mpsc::channel();` makes `rx` a
/// binding whose origin is the call `std::sync::mpsc::channel`; `let child =
/// Command::new("ls").spawn()?;` has origin `std::process::Command::new` then `.spawn()`; a
/// parameter `rx: Receiver<u8>` has the annotated type. Rules use this as evidence about a
/// method call's receiver, since method calls themselves are only syntax.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalOrigin {
    /// The resolved path of the call at the root of the initializer's method chain.
    pub root_call: Option<String>,
    /// Method names called on that root, in order (`?`, `.unwrap()`, `.expect(..)` skipped).
    pub methods: Vec<String>,
    /// The resolved path of the annotated type (`let rx: Receiver<u8>`, fn parameters).
    pub ty: Option<String>,
    /// The workspace-wide name ([`Resolver::canonical`]) of the type a `let` binding's value
    /// evidently has: the annotated type, or what the initializer builds (`T`, `T { .. }`,
    /// `T::new(..)`, `T::default()`). Only recorded for files that may register handlers.
    pub constructed: Option<String>,
}

/// A method chain taken apart: its root expression and the methods called on it.
#[derive(Debug, Clone)]
pub struct MethodChain<'a> {
    /// The innermost receiver: a call, a path, a field access, ...
    pub root: &'a syn::Expr,
    /// Method names from the root outwards, skipping `.unwrap()`, `.expect(..)` and `?`.
    pub methods: Vec<&'a syn::Ident>,
}

/// Take `Command::new("x").arg("y").spawn()?.wait()` apart into root `Command::new("x")` and
/// methods `arg`, `spawn`, `wait`.
pub fn method_chain(expr: &syn::Expr) -> MethodChain<'_> {
    let mut methods = Vec::new();
    let mut current = expr;
    loop {
        match current {
            syn::Expr::MethodCall(call) => {
                if call.method != "unwrap" && call.method != "expect" {
                    methods.push(&call.method);
                }
                current = &call.receiver;
            }
            syn::Expr::Try(try_expr) => current = &try_expr.expr,
            syn::Expr::Paren(paren) => current = &paren.expr,
            syn::Expr::Reference(reference) => current = &reference.expr,
            _ => break,
        }
    }
    methods.reverse();
    MethodChain {
        root: current,
        methods,
    }
}

impl LocalOrigin {
    /// The origin of a value computed by `init`.
    pub fn of_init(init: &syn::Expr, resolver: &Resolver) -> LocalOrigin {
        let chain = method_chain(init);
        let root_call = match chain.root {
            syn::Expr::Call(call) => resolver.resolve_expr(&call.func),
            _ => None,
        };
        LocalOrigin {
            root_call,
            methods: chain
                .methods
                .iter()
                .map(|method| method.to_string())
                .collect(),
            ty: None,
            constructed: None,
        }
    }

    /// The origin of a binding annotated with `ty`.
    pub fn of_type(ty: &syn::Type, resolver: &Resolver) -> LocalOrigin {
        LocalOrigin {
            ty: resolved_type(ty, resolver),
            ..LocalOrigin::default()
        }
    }
}

fn resolved_type(ty: &syn::Type, resolver: &Resolver) -> Option<String> {
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => resolver.resolve(&path.path),
        syn::Type::Reference(reference) => resolved_type(&reference.elem, resolver),
        syn::Type::Paren(paren) => resolved_type(&paren.elem, resolver),
        _ => None,
    }
}

/// Every identifier a pattern binds (`(tx, mut rx)` binds `tx` and `rx`).
pub(crate) fn bound_names(pat: &syn::Pat, out: &mut Vec<String>) {
    match pat {
        syn::Pat::Ident(ident) => {
            out.push(ident.ident.to_string());
            if let Some((_, sub)) = &ident.subpat {
                bound_names(sub, out);
            }
        }
        syn::Pat::Tuple(tuple) => tuple.elems.iter().for_each(|elem| bound_names(elem, out)),
        syn::Pat::TupleStruct(tuple) => tuple.elems.iter().for_each(|elem| bound_names(elem, out)),
        syn::Pat::Struct(strukt) => strukt
            .fields
            .iter()
            .for_each(|field| bound_names(&field.pat, out)),
        syn::Pat::Slice(slice) => slice.elems.iter().for_each(|elem| bound_names(elem, out)),
        syn::Pat::Reference(reference) => bound_names(&reference.pat, out),
        syn::Pat::Paren(paren) => bound_names(&paren.pat, out),
        syn::Pat::Or(or) => or
            .cases
            .iter()
            .take(1)
            .for_each(|case| bound_names(case, out)),
        syn::Pat::Type(typed) => bound_names(&typed.pat, out),
        _ => {}
    }
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

/// What a rule's scan knows of a binding: the syntax its type and value come from.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Declared<'a> {
    /// Where it sits among the bindings, for [`SemanticModel::binding`]'s `visible`.
    pub(crate) at: usize,
    /// The annotated type of a plain name (`x: Mutex<u64>`).
    pub(crate) ty: Option<&'a syn::Type>,
    /// The value a plain name is bound to: a `let` initializer, or what a closure parameter
    /// views (`CACHE` in `CACHE.with(|buf| ..)`).
    pub(crate) value: Option<&'a syn::Expr>,
}

/// One local binding.
#[derive(Debug)]
struct Binding<'a> {
    name: String,
    declared: Declared<'a>,
    /// Recorded by the engine's walk only.
    origin: LocalOrigin,
}

/// The bindings visible at a point of a walk, innermost last; see the module docs.
///
/// Two walks fill it. A rule's scan of a fn body binds with [`Bindings::bind_param`] and
/// [`Bindings::bind_local`], which keep the syntax a type comes from. The engine's walk binds
/// with the `walk_*` methods, which keep each binding's [`LocalOrigin`] instead: it also walks
/// macro arguments parsed on the spot, which do not live as long as the file's syntax.
#[derive(Debug, Default)]
pub(crate) struct Bindings<'a> {
    bindings: Vec<Binding<'a>>,
    /// Record [`LocalOrigin::constructed`] in the engine's walk: set for files that may register
    /// handlers (`.handler(var)`), since resolving every binding's type costs time elsewhere.
    constructed: bool,
}

impl<'a> Bindings<'a> {
    /// No bindings yet; `constructed`: see the field.
    pub(crate) fn new(constructed: bool) -> Bindings<'a> {
        Bindings {
            bindings: Vec::new(),
            constructed,
        }
    }

    /// A mark to return to when the current scope ends.
    pub(crate) fn mark(&self) -> usize {
        self.bindings.len()
    }

    /// Forget the bindings made since `mark`.
    pub(crate) fn reset(&mut self, mark: usize) {
        self.bindings.truncate(mark);
    }

    fn push_all(&mut self, pat: &syn::Pat, declared: Declared<'a>, origin: LocalOrigin) {
        let mut names = Vec::new();
        bound_names(pat, &mut names);
        for name in names {
            let at = self.bindings.len();
            self.bindings.push(Binding {
                name,
                declared: Declared { at, ..declared },
                origin: origin.clone(),
            });
        }
    }

    /// Bind every name `pat` binds, with an unknown type and origin (`for` patterns, untyped
    /// closure parameters, the patterns of `match` arms and `if let`).
    pub(crate) fn bind_unknown(&mut self, pat: &syn::Pat) {
        self.push_all(pat, Declared::default(), LocalOrigin::default());
    }

    /// Bind a fn parameter `pat: ty`, keeping its declared type.
    pub(crate) fn bind_param(&mut self, pat: &'a syn::Pat, ty: &'a syn::Type) {
        let ty = plain_name(pat).then_some(ty);
        let declared = Declared {
            ty,
            ..Declared::default()
        };
        self.push_all(pat, declared, LocalOrigin::default());
    }

    /// Bind the names of a `let` statement, keeping the syntax their type and value come from.
    pub(crate) fn bind_local(&mut self, local: &'a syn::Local) {
        let (pat, ty) = match &local.pat {
            syn::Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
            pat => (pat, None),
        };
        let declared = match plain_name(pat) {
            true => Declared {
                ty,
                value: local.init.as_ref().map(|init| &*init.expr),
                at: 0,
            },
            false => Declared::default(),
        };
        self.push_all(&local.pat, declared, LocalOrigin::default());
    }

    /// Bind a closure parameter `pat` that views the value of `value` (`buf` in
    /// `CACHE.with(|buf| ..)`).
    pub(crate) fn bind_view(&mut self, pat: &'a syn::Pat, value: &'a syn::Expr) {
        let declared = Declared {
            value: plain_name(pat).then_some(value),
            ..Declared::default()
        };
        self.push_all(pat, declared, LocalOrigin::default());
    }

    /// The engine's walk: bind a parameter `pat: ty` (of a fn or a closure) with its origin.
    pub(crate) fn walk_param(&mut self, pat: &syn::Pat, ty: &syn::Type, resolver: &Resolver) {
        self.push_all(pat, Declared::default(), LocalOrigin::of_type(ty, resolver));
    }

    /// The engine's walk: bind a closure parameter, typed (`|m: &Mutex<u8>|`) or not.
    pub(crate) fn walk_closure_input(&mut self, input: &syn::Pat, resolver: &Resolver) {
        match input {
            syn::Pat::Type(typed) => self.walk_param(&typed.pat, &typed.ty, resolver),
            _ => self.bind_unknown(input),
        }
    }

    /// The engine's walk: bind the names of a `let` statement with their origin.
    pub(crate) fn walk_local(&mut self, local: &syn::Local, resolver: &Resolver) {
        let mut origin = local_origin(local, resolver);
        if self.constructed {
            origin.constructed = constructed(local, resolver);
        }
        self.push_all(&local.pat, Declared::default(), origin);
    }

    /// Where the innermost binding called `name` came from (bound by the engine's walk).
    pub(crate) fn get(&self, name: &str) -> Option<&LocalOrigin> {
        self.bindings
            .iter()
            .rev()
            .find(|binding| binding.name == name)
            .map(|binding| &binding.origin)
    }

    /// The innermost binding called `name` among the first `visible`.
    fn find(&self, name: &str, visible: usize) -> Option<Declared<'a>> {
        let visible = &self.bindings[..visible.min(self.bindings.len())];
        visible
            .iter()
            .rev()
            .find(|binding| binding.name == name)
            .map(|binding| binding.declared)
    }
}

/// Whether `pat` is a plain name (`x`, `mut x`), whose type and value are the whole value's,
/// unlike a name a pattern takes apart.
fn plain_name(pat: &syn::Pat) -> bool {
    matches!(pat, syn::Pat::Ident(ident) if ident.subpat.is_none())
}

fn local_origin(local: &syn::Local, resolver: &Resolver) -> LocalOrigin {
    match (&local.pat, &local.init) {
        (syn::Pat::Type(typed), init) => {
            let mut origin = LocalOrigin::of_type(&typed.ty, resolver);
            if let Some(init) = init {
                let from_init = LocalOrigin::of_init(&init.expr, resolver);
                origin.root_call = from_init.root_call;
                origin.methods = from_init.methods;
            }
            origin
        }
        (_, Some(init)) => LocalOrigin::of_init(&init.expr, resolver),
        (_, None) => LocalOrigin::default(),
    }
}

/// [`LocalOrigin::constructed`] of a `let`.
fn constructed(local: &syn::Local, resolver: &Resolver) -> Option<String> {
    match (&local.pat, &local.init) {
        (syn::Pat::Type(typed), _) => {
            crate::facts::type_path(&typed.ty).and_then(|path| resolver.canonical(path))
        }
        (_, Some(init)) => {
            crate::facts::constructed_ref(resolver, &init.expr).and_then(|ty| ty.path)
        }
        (_, None) => None,
    }
}

/// The semantic model at one point of a fn body that a rule scans: the bindings made so far
/// and the file's declarations; see the module docs.
#[derive(Debug)]
pub(crate) struct SemanticModel<'i, 'a> {
    index: &'i FileIndex<'a>,
    site: &'i FnSite<'a>,
    resolver: &'i Resolver,
    self_ty: Option<&'a syn::Type>,
    bindings: Bindings<'a>,
}

impl<'i, 'a> SemanticModel<'i, 'a> {
    /// The model at the start of `site`'s body: its parameters are bound.
    pub(crate) fn for_fn(index: &'i FileIndex<'a>, site: &'i FnSite<'a>) -> SemanticModel<'i, 'a> {
        let mut bindings = Bindings::new(false);
        for input in &site.sig.inputs {
            if let syn::FnArg::Typed(typed) = input {
                bindings.bind_param(&typed.pat, &typed.ty);
            }
        }
        SemanticModel {
            index,
            site,
            resolver: index.resolver(site),
            self_ty: site.self_ty,
            bindings,
        }
    }

    /// A mark to return to when the current scope ends.
    pub(crate) fn mark(&self) -> usize {
        self.bindings.mark()
    }

    /// Forget the bindings made since `mark`.
    pub(crate) fn reset(&mut self, mark: usize) {
        self.bindings.reset(mark);
    }

    /// Bind every name `pat` binds, with an unknown type.
    pub(crate) fn bind_unknown(&mut self, pat: &syn::Pat) {
        self.bindings.bind_unknown(pat);
    }

    /// Bind the names of a `let` statement.
    pub(crate) fn bind_local(&mut self, local: &'a syn::Local) {
        self.bindings.bind_local(local);
    }

    /// Bind a closure parameter that views `value`; see [`Bindings::bind_view`].
    pub(crate) fn bind_view(&mut self, pat: &'a syn::Pat, value: &'a syn::Expr) {
        self.bindings.bind_view(pat, value);
    }

    /// The innermost local called `name` among the first `visible` bindings (all of them:
    /// [`SemanticModel::mark`]); an expression its value names is read with `visible` set to
    /// the binding's `at`, the bindings made before it.
    pub(crate) fn binding(&self, name: &str, visible: usize) -> Option<Declared<'a>> {
        self.bindings.find(name, visible)
    }

    /// The layers of a type written here, aliases of the file expanded.
    fn written(&self, ty: &syn::Type) -> TypeChain {
        self.index.written(ty, self.resolver)
    }

    /// The layers of the type of a receiver expression, when the file declares them: a
    /// parameter, a `let` with a type, a constructor or a value whose type is known
    /// (`let state = self.state.clone();`, `Arc::clone(&self.state)`), a static, `self.field`,
    /// `param.field`. `None` when unknown.
    pub(crate) fn chain_of(&self, expr: &syn::Expr) -> Option<TypeChain> {
        self.chain_with(expr, self.bindings.mark())
    }

    /// [`SemanticModel::chain_of`] seeing only the first `visible` bindings (an initializer
    /// sees the bindings made before its own `let`).
    fn chain_with(&self, expr: &syn::Expr, visible: usize) -> Option<TypeChain> {
        match expr {
            syn::Expr::Path(path) if path.qself.is_none() => {
                let ident = path.path.get_ident()?;
                if ident == "self" {
                    return Some(self.written(self.self_ty?));
                }
                let Some(declared) = self.bindings.find(&ident.to_string(), visible) else {
                    return self.index.static_type(ident, self.site);
                };
                if let Some(ty) = declared.ty {
                    return Some(self.written(ty));
                }
                let init = declared.value?;
                let built = constructor_chain(init, self.resolver);
                if built.is_empty() {
                    self.chain_with(init, declared.at)
                } else {
                    Some(built)
                }
            }
            syn::Expr::Field(field) => {
                let syn::Member::Named(member) = &field.member else {
                    return None;
                };
                let base = self.chain_with(&field.base, visible)?;
                let self_chain = self.self_ty.map(|ty| self.written(ty));
                // The struct is the first layer the file declares (`Arc<Inner>` reaches `Inner`).
                base.iter()
                    .find_map(|layer| self.index.field_type(layer, self_chain.as_ref(), member))
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

#[cfg(test)]
mod tests {
    use super::types::innermost_value;
    use super::*;

    #[test]
    fn chain_skips_unwrap_and_question_mark() {
        let expr: syn::Expr =
            syn::parse_str("Command::new(\"x\").arg(\"y\").spawn()?.wait().unwrap()").unwrap();
        let chain = method_chain(&expr);
        let methods: Vec<String> = chain.methods.iter().map(|m| m.to_string()).collect();
        assert_eq!(methods, ["arg", "spawn", "wait"]);
        assert!(matches!(chain.root, syn::Expr::Call(_)));
    }

    #[test]
    fn tuple_let_binds_every_name_with_the_call_origin() {
        let file = syn::parse_file("use std::sync::mpsc;").unwrap();
        let resolver = Resolver::for_file(&file);
        let stmt: syn::Stmt = syn::parse_str("let (tx, mut rx) = mpsc::channel();").unwrap();
        let syn::Stmt::Local(local) = stmt else {
            panic!("expected a let")
        };
        let mut bindings = Bindings::new(false);
        bindings.walk_local(&local, &resolver);
        assert_eq!(
            bindings.get("rx").and_then(|o| o.root_call.as_deref()),
            Some("std::sync::mpsc::channel")
        );
        assert!(bindings.get("tx").is_some());
        assert!(bindings.get("other").is_none());
    }

    fn chain_in(source: &str, fn_name: &str, expr: &str) -> Option<TypeChain> {
        let file: syn::File = syn::parse_str(source).unwrap();
        let resolver = Resolver::for_file(&file);
        let index = FileIndex::new(&file, &resolver);
        let site = index
            .fns()
            .iter()
            .find(|site| site.sig.ident == fn_name)
            .unwrap();
        let model = SemanticModel::for_fn(&index, site);
        model.chain_of(&syn::parse_str(expr).unwrap())
    }

    /// Each `(fn, expr, layer)`: the outermost layer of `expr`'s type in that fn is `layer`.
    fn assert_layers(source: &str, cases: &[(&str, &str, &str)]) {
        for (fn_name, expr, layer) in cases {
            let chain = chain_in(source, fn_name, expr);
            assert_eq!(
                chain.as_ref().map(|chain| chain[0].as_str()),
                Some(*layer),
                "`{expr}` in `{fn_name}`"
            );
        }
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
    fn fields_are_keyed_by_their_owning_struct_not_its_name() {
        // Two `Pool`s: each `self.state` is the field of the struct its own module declares,
        // its type read with that module's imports.
        let source = "mod a { use std::sync::Mutex; pub struct Pool { state: Mutex<u8> } \
                      impl Pool { fn f(&self) {} } }\n\
                      mod b { use tokio::sync::Mutex; pub struct Pool { state: Mutex<u8> } \
                      impl Pool { fn g(&self) {} } }";
        assert_layers(
            source,
            &[
                ("f", "self.state", "std::sync::Mutex"),
                ("g", "self.state", "tokio::sync::Mutex"),
            ],
        );
    }

    #[test]
    fn statics_are_keyed_by_their_module_and_read_with_its_imports() {
        let source = "mod a { use std::sync::Mutex; static CACHE: Mutex<u8> = Mutex::new(0); fn f() {} }\n\
                      mod b { use tokio::sync::Mutex; static CACHE: Mutex<u8> = Mutex::const_new(0); \
                      lazy_static::lazy_static! { static ref NAMES: parking_lot::Mutex<u8> = Default::default(); } \
                      fn g() {} }\n\
                      mod c { use super::b::CACHE; fn h() {} }";
        assert_layers(
            source,
            &[
                ("f", "CACHE", "std::sync::Mutex"),
                ("g", "CACHE", "tokio::sync::Mutex"),
                ("g", "NAMES", "parking_lot::Mutex"),
                ("h", "CACHE", "tokio::sync::Mutex"),
            ],
        );
        assert_eq!(chain_in(source, "f", "NAMES"), None);
    }

    #[test]
    fn parameter_field_and_static_types_are_found() {
        let source = "struct Cmd { ids: Vec<u64> } static CACHE: parking_lot::RwLock<u8> = todo!(); \
                      fn f(cmd: &Cmd, items: &[u8]) {}";
        assert_layers(
            source,
            &[
                ("f", "cmd.ids", "std::vec::Vec"),
                ("f", "items", "[]"),
                ("f", "CACHE", "parking_lot::RwLock"),
            ],
        );
        assert_eq!(chain_in(source, "f", "other"), None);
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
        let mut model = SemanticModel::for_fn(&index, site);
        for stmt in &site.body.stmts {
            if let syn::Stmt::Local(local) = stmt {
                model.bind_local(local);
            }
        }
        let chain = |expr: &str| {
            model
                .chain_of(&syn::parse_str(expr).unwrap())
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
    fn methods_of_impls_in_inline_test_modules_see_their_module_imports() {
        let source =
            "mod tests { use parking_lot::Mutex; #[cfg(test)] impl S { fn f(m: &Mutex<u8>) {} } }";
        let chain = chain_in(source, "f", "m").unwrap();
        assert_eq!(chain[0], "parking_lot::Mutex");
    }
}
