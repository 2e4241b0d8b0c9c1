//! The semantic model of a file, asked by every rule: what a local is, where its value came from
//! and what its type is known to be, as ruff's `SemanticModel` answers it for Python.
//!
//! - [`Bindings`]: the locals visible at a point of the engine's walk (`let`, fn and closure
//!   parameters, `for` patterns), innermost last, with scopes entered and left by
//!   [`Bindings::mark`] and [`Bindings::reset`]; a fn sees none of the locals around it. The
//!   walk binds once for every rule, keeping each binding's syntax (the annotated type, the
//!   initializer) and its [`LocalOrigin`] (the call it was made by, what
//!   [`crate::rule::RuleCx::local`] answers).
//! - [`SemanticModel`]: those bindings at one point of the walk together with the file's
//!   declarations ([`FileIndex`]: struct fields keyed by their owning struct's path, statics,
//!   aliases, guard-returning fns) and the names in scope, answering "what type does this
//!   expression have" ([`SemanticModel::chain_of`]). Hooks get it from
//!   [`crate::rule::RuleCx::semantic`]; a rule that scans a whole body in its own order binds on
//!   a clone of it.
//! - [`types`]: how a type is represented ([`types::TypeChain`]).

pub(crate) mod types;

use crate::file_index::FileIndex;
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

/// What the model knows of a binding: the syntax its type and value come from.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Declared<'f> {
    /// Where it sits among the bindings, for [`SemanticModel::binding`]'s `visible`.
    pub(crate) at: usize,
    /// The annotated type of a plain name (`x: Mutex<u64>`).
    pub(crate) ty: Option<&'f syn::Type>,
    /// The value a plain name is bound to: a `let` initializer, or what a closure parameter
    /// views (`CACHE` in `CACHE.with(|buf| ..)`).
    pub(crate) value: Option<&'f syn::Expr>,
}

/// One local binding.
#[derive(Debug, Clone)]
struct Binding<'f> {
    name: String,
    declared: Declared<'f>,
    /// Where its value came from, as the engine's walk records it.
    origin: LocalOrigin,
}

/// The bindings visible at a point of a walk, innermost last; see the module docs.
///
/// The engine's walk binds with the `walk_*` methods, which keep both the syntax a binding's
/// type and value come from and its [`LocalOrigin`]. A rule's own scan of a body (a flow
/// analysis such as CATGA007's) binds on a copy of the model with [`SemanticModel::bind_local`]
/// and the like, in its own order.
#[derive(Debug, Default, Clone)]
pub(crate) struct Bindings<'f> {
    bindings: Vec<Binding<'f>>,
    /// The first binding of the innermost fn: a fn sees none of the locals around it.
    floor: usize,
    /// Record [`LocalOrigin::constructed`] in the engine's walk: set for files that may register
    /// handlers (`.handler(var)`), since resolving every binding's type costs time elsewhere.
    constructed: bool,
}

impl<'f> Bindings<'f> {
    /// No bindings yet; `constructed`: see the field.
    pub(crate) fn new(constructed: bool) -> Bindings<'f> {
        Bindings {
            bindings: Vec::new(),
            floor: 0,
            constructed,
        }
    }

    /// Entering a fn: the bindings made so far are out of its sight. Returns what
    /// [`Bindings::leave_fn`] restores.
    pub(crate) fn enter_fn(&mut self) -> usize {
        std::mem::replace(&mut self.floor, self.bindings.len())
    }

    /// Leaving a fn entered when [`Bindings::enter_fn`] returned `floor`.
    pub(crate) fn leave_fn(&mut self, floor: usize) {
        self.reset(self.floor);
        self.floor = floor;
    }

    /// A mark to return to when the current scope ends.
    pub(crate) fn mark(&self) -> usize {
        self.bindings.len()
    }

    /// Forget the bindings made since `mark`.
    pub(crate) fn reset(&mut self, mark: usize) {
        self.bindings.truncate(mark);
    }

    fn push_all(&mut self, pat: &syn::Pat, declared: Declared<'f>, origin: LocalOrigin) {
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

    /// The syntax a `let`'s names are declared with.
    fn declared_by(local: &'f syn::Local) -> Declared<'f> {
        let (pat, ty) = match &local.pat {
            syn::Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
            pat => (pat, None),
        };
        match plain_name(pat) {
            true => Declared {
                ty,
                value: local.init.as_ref().map(|init| &*init.expr),
                at: 0,
            },
            false => Declared::default(),
        }
    }

    /// Bind the names of a `let` statement, keeping the syntax their type and value come from
    /// (a rule's own scan: no origin).
    fn bind_local(&mut self, local: &'f syn::Local) {
        self.push_all(&local.pat, Self::declared_by(local), LocalOrigin::default());
    }

    /// Bind a closure parameter `pat` that views the value of `value` (`buf` in
    /// `CACHE.with(|buf| ..)`).
    fn bind_view(&mut self, pat: &'f syn::Pat, value: &'f syn::Expr) {
        let declared = Declared {
            value: plain_name(pat).then_some(value),
            ..Declared::default()
        };
        self.push_all(pat, declared, LocalOrigin::default());
    }

    /// The engine's walk: bind a parameter `pat: ty` (of a fn or a closure).
    pub(crate) fn walk_param(&mut self, pat: &'f syn::Pat, ty: &'f syn::Type, resolver: &Resolver) {
        let declared = Declared {
            ty: plain_name(pat).then_some(ty),
            ..Declared::default()
        };
        self.push_all(pat, declared, LocalOrigin::of_type(ty, resolver));
    }

    /// The engine's walk: bind a closure parameter, typed (`|m: &Mutex<u8>|`) or not.
    pub(crate) fn walk_closure_input(&mut self, input: &'f syn::Pat, resolver: &Resolver) {
        match input {
            syn::Pat::Type(typed) => self.walk_param(&typed.pat, &typed.ty, resolver),
            _ => self.bind_unknown(input),
        }
    }

    /// The engine's walk: bind the names of a `let` statement.
    pub(crate) fn walk_local(&mut self, local: &'f syn::Local, resolver: &Resolver) {
        let mut origin = local_origin(local, resolver);
        if self.constructed {
            origin.constructed = constructed(local, resolver);
        }
        self.push_all(&local.pat, Self::declared_by(local), origin);
    }

    /// Where the innermost binding called `name` came from (bound by the engine's walk).
    pub(crate) fn get(&self, name: &str) -> Option<&LocalOrigin> {
        self.bindings[self.floor..]
            .iter()
            .rev()
            .find(|binding| binding.name == name)
            .map(|binding| &binding.origin)
    }

    /// The innermost binding called `name` among the first `visible`.
    fn find(&self, name: &str, visible: usize) -> Option<Declared<'f>> {
        let visible = self
            .bindings
            .get(self.floor..visible.min(self.bindings.len()))
            .unwrap_or_default();
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

/// The bindings a model reads: the engine walk's, or a rule's own copy it binds in as it scans.
#[derive(Debug, Clone)]
enum Visible<'m, 'f> {
    Walk(&'m Bindings<'f>),
    Own(Bindings<'f>),
}

impl<'f> Visible<'_, 'f> {
    fn get(&self) -> &Bindings<'f> {
        match self {
            Visible::Walk(bindings) => bindings,
            Visible::Own(bindings) => bindings,
        }
    }

    /// The bindings to bind in: a copy of the walk's on the first binding.
    fn own(&mut self) -> &mut Bindings<'f> {
        if let Visible::Walk(bindings) = self {
            *self = Visible::Own((*bindings).clone());
        }
        match self {
            Visible::Own(bindings) => bindings,
            Visible::Walk(_) => unreachable!("a walk's scope was just copied"),
        }
    }
}

/// The semantic model at one point of the engine's walk, built once per fn as the walk enters
/// it and kept up to date as it binds: the bindings visible here, the file's declarations,
/// the names in scope, and the `Self` type of the fn's impl; see the module docs. Every hook
/// gets it through [`crate::rule::RuleCx::semantic`]. A rule that scans a body in its own
/// order (a flow analysis) clones it and binds as it goes; the copy never changes the walk's.
#[derive(Debug, Clone)]
pub(crate) struct SemanticModel<'m, 'f> {
    index: &'m FileIndex<'f>,
    resolver: &'m Resolver,
    /// The module the point is in (`self::a`), for statics no scope binds.
    module: &'m str,
    self_ty: Option<&'f syn::Type>,
    scope: Visible<'m, 'f>,
}

impl<'m, 'f> SemanticModel<'m, 'f> {
    /// The model over the walk's `bindings`, with names resolved by `resolver` in `module`.
    pub(crate) fn new(
        index: &'m FileIndex<'f>,
        resolver: &'m Resolver,
        module: &'m str,
        self_ty: Option<&'f syn::Type>,
        bindings: &'m Bindings<'f>,
    ) -> SemanticModel<'m, 'f> {
        SemanticModel {
            index,
            resolver,
            module,
            self_ty,
            scope: Visible::Walk(bindings),
        }
    }

    /// The file's declarations.
    pub(crate) fn index(&self) -> &'m FileIndex<'f> {
        self.index
    }

    /// The name resolver at this point.
    pub(crate) fn resolver(&self) -> &'m Resolver {
        self.resolver
    }

    /// The module this point is in (`self`, `self::a`).
    pub(crate) fn module(&self) -> &'m str {
        self.module
    }

    /// A mark to return to when the current scope ends.
    pub(crate) fn mark(&self) -> usize {
        self.scope.get().mark()
    }

    /// Forget the bindings made since `mark`.
    pub(crate) fn reset(&mut self, mark: usize) {
        if mark < self.mark() {
            self.scope.own().reset(mark);
        }
    }

    /// Bind every name `pat` binds, with an unknown type.
    pub(crate) fn bind_unknown(&mut self, pat: &syn::Pat) {
        self.scope.own().bind_unknown(pat);
    }

    /// Bind the names of a `let` statement.
    pub(crate) fn bind_local(&mut self, local: &'f syn::Local) {
        self.scope.own().bind_local(local);
    }

    /// Bind a closure parameter that views `value`; see [`Bindings::bind_view`].
    pub(crate) fn bind_view(&mut self, pat: &'f syn::Pat, value: &'f syn::Expr) {
        self.scope.own().bind_view(pat, value);
    }

    /// The innermost local called `name` among the first `visible` bindings (all of them:
    /// [`SemanticModel::mark`]); an expression its value names is read with `visible` set to
    /// the binding's `at`, the bindings made before it.
    pub(crate) fn binding(&self, name: &str, visible: usize) -> Option<Declared<'f>> {
        self.scope.get().find(name, visible)
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
        self.chain_with(expr, self.mark())
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
                let Some(declared) = self.scope.get().find(&ident.to_string(), visible) else {
                    return self.index.static_type(ident, self.resolver, self.module);
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
    use crate::context::test_support::{probe_rule, rule_messages};
    use crate::rule::{Rule, RuleCx};

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

    /// At every `probe(expr)`, reports the layers the engine's model gives `expr` there.
    static PROBE: Rule = probe_rule(probe);

    fn probe(expr: &syn::Expr, cx: &mut RuleCx<'_>) {
        let syn::Expr::Call(call) = expr else { return };
        let syn::Expr::Path(func) = &*call.func else {
            return;
        };
        if !func.path.is_ident("probe") {
            return;
        }
        let chain = cx.semantic().chain_of(&call.args[0]);
        let span = cx.span(call);
        cx.report(
            span,
            chain.map_or("none".to_string(), |chain| chain.join(" ")),
        );
    }

    /// The layers of each `probe(..)` argument of `source`, in source order.
    fn probed(source: &str) -> Vec<String> {
        rule_messages(&PROBE, source)
    }

    /// The outermost layer of each probed type.
    fn outermost(source: &str) -> Vec<String> {
        probed(source)
            .into_iter()
            .map(|chain| chain.split(' ').next().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn self_field_type_comes_from_the_struct_declared_in_the_file() {
        let source = "use std::sync::{Arc, Mutex}; struct Book { totals: Arc<Mutex<u64>> } \
                      impl Book { fn f(&self) { probe(self.totals); } }";
        assert_eq!(probed(source), ["std::sync::Arc std::sync::Mutex ?"]);
        let chain = ["std::sync::Arc".to_string(), "std::sync::Mutex".to_string()];
        assert_eq!(innermost_value(&chain), Some("std::sync::Mutex"));
    }

    #[test]
    fn fields_are_keyed_by_their_owning_struct_not_its_name() {
        // Two `Pool`s: each `self.state` is the field of the struct its own module declares,
        // its type read with that module's imports.
        let source = "mod a { use std::sync::Mutex; pub struct Pool { state: Mutex<u8> } \
                      impl Pool { fn f(&self) { probe(self.state); } } }\n\
                      mod b { use tokio::sync::Mutex; pub struct Pool { state: Mutex<u8> } \
                      impl Pool { fn g(&self) { probe(self.state); } } }";
        assert_eq!(
            outermost(source),
            ["std::sync::Mutex", "tokio::sync::Mutex"]
        );
    }

    #[test]
    fn statics_are_keyed_by_their_module_and_read_with_its_imports() {
        let source = "mod a { use std::sync::Mutex; static CACHE: Mutex<u8> = Mutex::new(0); \
                      fn f() { probe(CACHE); probe(NAMES); } }\n\
                      mod b { use tokio::sync::Mutex; static CACHE: Mutex<u8> = Mutex::const_new(0); \
                      lazy_static::lazy_static! { static ref NAMES: parking_lot::Mutex<u8> = Default::default(); } \
                      fn g() { probe(CACHE); probe(NAMES); } }\n\
                      mod c { use super::b::CACHE; fn h() { probe(CACHE); } }";
        assert_eq!(
            outermost(source),
            [
                "std::sync::Mutex",
                "none",
                "tokio::sync::Mutex",
                "parking_lot::Mutex",
                "tokio::sync::Mutex"
            ]
        );
    }

    #[test]
    fn parameter_field_and_static_types_are_found() {
        let source = "struct Cmd { ids: Vec<u64> } static CACHE: parking_lot::RwLock<u8> = todo!(); \
                      fn f(cmd: &Cmd, items: &[u8]) { probe(cmd.ids); probe(items); probe(CACHE); probe(other); }";
        assert_eq!(
            outermost(source),
            ["std::vec::Vec", "[]", "parking_lot::RwLock", "none"]
        );
    }

    #[test]
    fn type_aliases_of_the_file_are_expanded() {
        let source = "use std::sync::{Arc, Mutex}; type Shared<T> = Arc<Mutex<T>>; type Db = Shared<u8>; \
                      fn f(db: Db) { probe(db); }";
        assert_eq!(probed(source), ["std::sync::Arc std::sync::Mutex ?"]);
    }

    #[test]
    fn a_local_cloned_from_a_field_has_the_field_type_and_shadowing_does_not_loop() {
        let source = "use std::sync::{Arc, Mutex}; struct S { state: Arc<Mutex<u8>> } \
                      impl S { fn f(&self) { let state = self.state.clone(); let other = Arc::clone(&state); \
                      let state = state.clone(); let unknown = make(); \
                      probe(state); probe(other); probe(unknown); } }";
        let arc_mutex = "std::sync::Arc std::sync::Mutex ?";
        assert_eq!(probed(source), [arc_mutex, arc_mutex, "none"]);
    }

    #[test]
    fn methods_of_impls_in_inline_test_modules_see_their_module_imports() {
        let source = "mod tests { use parking_lot::Mutex; #[cfg(test)] impl S { fn f(m: &Mutex<u8>) { probe(m); } } }";
        assert_eq!(outermost(source), ["parking_lot::Mutex"]);
    }

    #[test]
    fn locals_bound_by_the_walk_are_typed_where_they_are_visible() {
        // Each point sees the bindings made before it in its own fn and its enclosing blocks
        // and closures: not a later `let`, a block's after it ends, nor another fn's.
        let source = "use std::sync::Mutex; \
                      fn f(flag: bool) { probe(m); let m = Mutex::new(0); probe(m); \
                      { let inner: std::sync::RwLock<u8> = todo!(); probe(inner); } probe(inner); \
                      let c = |x: &Mutex<u8>| probe(x); \
                      fn nested() { probe(m); } \
                      println!(\"{:?}\", probe(m)); }";
        assert_eq!(
            outermost(source),
            [
                "none",
                "std::sync::Mutex",
                "std::sync::RwLock",
                "none",
                "std::sync::Mutex",
                "none",
            ]
        );
    }
}
