//! What a local variable was bound from: `let (tx, rx) = mpsc::channel();` makes `rx` a
//! binding whose origin is the call `std::sync::mpsc::channel`; `let child =
//! Command::new("ls").spawn()?;` has origin `std::process::Command::new` then `.spawn()`; a
//! parameter `rx: Receiver<u8>` has the annotated type. Rules use this as evidence about a
//! method call's receiver, since method calls themselves are only syntax.

use crate::resolve::Resolver;

/// Where a local binding's value came from.
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
    /// `T::new(..)`, `T::default()`). Only recorded when [`Locals::track_types`] is set.
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

/// The bindings visible at a point of the walk, innermost last.
#[derive(Debug, Default)]
pub(crate) struct Locals {
    bindings: Vec<(String, LocalOrigin)>,
    /// Record [`LocalOrigin::constructed`] for `let` bindings: set for files that may register
    /// handlers (`.handler(var)`), since resolving every binding's type costs time elsewhere.
    track_types: bool,
}

impl Locals {
    /// No bindings yet; `track_types` says whether `let` bindings record their value's type.
    pub(crate) fn tracking_types(track_types: bool) -> Locals {
        Locals {
            bindings: Vec::new(),
            track_types,
        }
    }

    /// A mark to return to when the current block ends.
    pub(crate) fn mark(&self) -> usize {
        self.bindings.len()
    }

    pub(crate) fn reset(&mut self, mark: usize) {
        self.bindings.truncate(mark);
    }

    pub(crate) fn bind_pattern(&mut self, pat: &syn::Pat, origin: &LocalOrigin) {
        let mut names = Vec::new();
        bound_names(pat, &mut names);
        for name in names {
            self.bindings.push((name, origin.clone()));
        }
    }

    /// Record a `let` statement's bindings.
    pub(crate) fn bind_local(&mut self, local: &syn::Local, resolver: &Resolver) {
        let mut origin = match (&local.pat, &local.init) {
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
        };
        if self.track_types {
            origin.constructed = match (&local.pat, &local.init) {
                (syn::Pat::Type(typed), _) => {
                    crate::facts::type_path(&typed.ty).and_then(|path| resolver.canonical(path))
                }
                (_, Some(init)) => {
                    crate::facts::constructed_ref(resolver, &init.expr).and_then(|ty| ty.path)
                }
                (_, None) => None,
            };
        }
        self.bind_pattern(&local.pat, &origin);
    }

    /// The innermost binding called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&LocalOrigin> {
        self.bindings
            .iter()
            .rev()
            .find(|(bound, _)| bound == name)
            .map(|(_, origin)| origin)
    }
}

#[cfg(test)]
mod tests {
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
        let mut locals = Locals::default();
        locals.bind_local(&local, &resolver);
        assert_eq!(
            locals.get("rx").and_then(|o| o.root_call.as_deref()),
            Some("std::sync::mpsc::channel")
        );
        assert!(locals.get("tx").is_some());
        assert!(locals.get("other").is_none());
    }
}
