//! CATGA009 inefficient-iterator: iterator chains in handler code that do extra work (an
//! intermediate `Vec`, two adapters for one) where a single std method says the same thing.
//!
//! Method calls are only syntax, so each pattern asks for evidence that the chain is an
//! `Iterator`: `collect::<Vec<_>>()` itself, or an iterator source (`.iter()`, `.into_iter()`,
//! `.chars()`, a range, ...) reached through iterator adapters only. `.iter().cloned()` ->
//! `.to_vec()` also needs the receiver's declared type to be a `Vec`, slice or array.

use crate::diagnostic::{Applicability, Edit, Fix, Severity, Span};
use crate::file_index::{FileIndex, FnSite};
use crate::rule::{FixAvailability, Hooks, Rule, RuleCx, RuleMeta};
use crate::semantic::types::{first_type_argument, is_transparent_wrapper};
use crate::semantic::{SemanticModel, mentions_variable};
use crate::source::SourceFile;
use quote::ToTokens;
use std::collections::{HashMap, HashSet};
use syn::visit::Visit;

static META: RuleMeta = RuleMeta {
    code: "CATGA009",
    name: "inefficient-iterator",
    severity: Severity::Info,
    fix: FixAvailability::Sometimes,
    fix_applicabilities: &[Applicability::Safe],
    summary: "An iterator chain in handler code with a direct, cheaper equivalent (`collect().len()`, `filter().next()`, ...)",
    docs: r#"## What it does
Reports, in handler code (the methods of `Handler`, `EventHandler` and `Saga` impls, test code
excluded), iterator chains with a direct equivalent:

| Written | Instead |
|---|---|
| `.collect::<Vec<_>>().len()` | `.count()` |
| `.filter(p).next()` | `.find(p)` |
| `.map(f).flatten()` | `.flat_map(f)` |
| `.filter_map(f).next()` | `.find_map(f)` |
| `.collect::<Vec<_>>().into_iter()` / `.iter()` | keep iterating the original iterator |
| `.iter().cloned().collect::<Vec<_>>()` / `.copied()` | `.to_vec()` (on a `Vec`, slice or array) |

A pattern is reported only when the chain is known to be an `Iterator`: it starts at `.iter()`,
`.into_iter()`, `.chars()`, a range or another iterator source and goes through iterator adapters
only, or it is a `collect::<Vec<_>>()`. So `Option::map(..).flatten()` and a stream's
`.filter(..).next().await` are left alone.

## Why is this bad?
Handlers run once per message. Collecting into a `Vec` only to count it or iterate it again
allocates and copies every item; `.filter(p).next()` and `.map(f).flatten()` say in two steps what
std says in one, and the one-step form is what readers expect.

## Example
```rust
let bulk = cmd.lines.iter().filter(|l| l.quantity > 10).collect::<Vec<_>>().len();
let first = cmd.lines.iter().filter(|l| l.quantity > 10).next();
let prices = self.catalog.iter().cloned().collect::<Vec<_>>();
```

## Use instead
```rust
let bulk = cmd.lines.iter().filter(|l| l.quantity > 10).count();
let first = cmd.lines.iter().find(|l| l.quantity > 10);
let prices = self.catalog.to_vec();
```

## Fix safety
Every fix rewrites only the tail of the method chain and is safe: the rewritten chain visits the
same items and calls the same closures. No fix is offered when it would delete a comment written
between the links of the chain. Dropping `.collect::<Vec<_>>().into_iter()` is offered
only when the closures before the `collect` make no calls (so running them lazily, interleaved
with the rest of the chain, cannot change what happens), the chain's root variable is not used
again in the rest of the chain, and the next method exists on every iterator (not `rev`, `len`,
...). `.collect::<Vec<_>>().iter()` has no fix: it iterates references, the original iterator
does not.

## Options
None.
"#,
};

/// The rule.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks {
        file: Some(check_file),
        ..Hooks::NONE
    },
};

fn check_file(cx: &mut RuleCx<'_>) {
    let Some(index) = cx.file_index() else {
        return;
    };
    let source = cx.source();
    for site in index.fns().iter().filter(|site| site.is_handler_code()) {
        let mut scan = ChainScan::new(site, index, source);
        scan.visit_block(site.body);
        for finding in scan.findings {
            let builder = cx.report(finding.span, finding.message).help(finding.help);
            if let Some(fix) = finding.fix {
                builder.fix(fix);
            }
        }
    }
}

/// Methods that create an iterator from something that is not one.
const ITERATOR_SOURCES: &[&str] = &[
    "iter",
    "iter_mut",
    "into_iter",
    "chars",
    "char_indices",
    "bytes",
    "lines",
    "split_whitespace",
    "split",
    "split_terminator",
    "keys",
    "values",
    "values_mut",
    "into_keys",
    "into_values",
    "drain",
    "windows",
    "chunks",
    "chunks_exact",
];

/// Iterator adapters: an iterator in, an iterator out.
const ITERATOR_ADAPTERS: &[&str] = &[
    "map",
    "filter",
    "filter_map",
    "flat_map",
    "flatten",
    "enumerate",
    "zip",
    "chain",
    "skip",
    "take",
    "rev",
    "cloned",
    "copied",
    "peekable",
    "skip_while",
    "take_while",
    "map_while",
    "inspect",
    "step_by",
    "fuse",
    "scan",
];

/// Methods every `Iterator` has (not the `DoubleEndedIterator`/`ExactSizeIterator` ones a
/// `vec::IntoIter` adds), so the chain still compiles when the `collect` is dropped.
const ANY_ITERATOR_METHODS: &[&str] = &[
    "map",
    "filter",
    "filter_map",
    "flat_map",
    "flatten",
    "enumerate",
    "zip",
    "chain",
    "skip",
    "take",
    "cloned",
    "copied",
    "peekable",
    "skip_while",
    "take_while",
    "map_while",
    "inspect",
    "step_by",
    "fuse",
    "scan",
    "sum",
    "product",
    "count",
    "collect",
    "fold",
    "for_each",
    "any",
    "all",
    "find",
    "find_map",
    "position",
    "max",
    "min",
    "max_by_key",
    "min_by_key",
    "max_by",
    "min_by",
    "last",
    "nth",
    "reduce",
    "partition",
    "unzip",
    "next",
];

/// Methods a closure may call and still be free of side effects, for the `into_iter` fix.
const PURE_METHODS: &[&str] = &[
    "clone",
    "to_owned",
    "to_string",
    "len",
    "is_empty",
    "as_str",
    "as_ref",
    "is_some",
    "is_none",
    "is_ok",
    "is_err",
    "starts_with",
    "ends_with",
    "contains",
    "abs",
    "min",
    "max",
    "copied",
    "cloned",
];

/// One reportable chain tail.
#[derive(Debug)]
struct Finding {
    span: Span,
    message: String,
    help: String,
    fix: Option<Fix>,
}

/// Finds the patterns in one handler fn body (closures included, nested items not).
struct ChainScan<'i, 'a> {
    source: &'i SourceFile,
    model: SemanticModel<'i, 'a>,
    /// "`PlaceOrderHandler::handle`", for messages.
    fn_name: String,
    /// Method call -> the method call it is the receiver of.
    parents: HashMap<*const syn::ExprMethodCall, &'a syn::ExprMethodCall>,
    /// Method calls that are the operand of `.await`.
    awaited: HashSet<*const syn::ExprMethodCall>,
    findings: Vec<Finding>,
}

impl<'i, 'a> ChainScan<'i, 'a> {
    fn new(site: &'i FnSite<'a>, index: &'i FileIndex<'a>, source: &'i SourceFile) -> Self {
        let mut model = SemanticModel::for_fn(index, site);
        // Receiver evidence comes from parameters, fields and statics; a name bound in the body
        // may shadow a parameter, so every body binding counts as unknown.
        let mut bindings = BodyPatterns::default();
        bindings.visit_block(site.body);
        for pat in bindings.patterns {
            model.bind_unknown(pat);
        }
        ChainScan {
            source,
            model,
            fn_name: site.display_name(),
            parents: HashMap::new(),
            awaited: HashSet::new(),
            findings: Vec::new(),
        }
    }

    fn check(&mut self, call: &'a syn::ExprMethodCall) {
        if let Some(collect) = no_args(call, "len").and_then(collect_vec) {
            let span = self.tail(&collect.method, call);
            self.findings.push(Finding {
                span,
                message: format!(
                    "`.collect::<Vec<_>>().len()` in `{}` allocates a Vec only to count the items",
                    self.fn_name
                ),
                help: "use `.count()`".to_string(),
                fix: Some(Fix::safe(
                    "Replace with `.count()`",
                    vec![Edit::replace(span, "count()")],
                )),
            });
        }
        if let Some(receiver) = no_args(call, "next")
            && !self.awaited.contains(&(call as *const _))
        {
            if let Some(filter) =
                one_arg(receiver, "filter").filter(|filter| is_iterator(&filter.receiver))
            {
                self.two_in_one(call, filter, "find", "to find the first match");
            }
            if let Some(filter_map) =
                one_arg(receiver, "filter_map").filter(|inner| is_iterator(&inner.receiver))
            {
                self.two_in_one(
                    call,
                    filter_map,
                    "find_map",
                    "to find the first mapped item",
                );
            }
        }
        if let Some(map) = no_args(call, "flatten").and_then(|receiver| one_arg(receiver, "map"))
            && is_iterator(&map.receiver)
        {
            self.two_in_one(call, map, "flat_map", "to map and flatten");
        }
        for method in ["into_iter", "iter"] {
            if let Some(collect) = no_args(call, method).and_then(collect_vec) {
                self.collect_then_iterate(call, collect);
            }
        }
        if let Some(adapter) =
            collect_vec_call(call).and_then(|collect| as_method_call(&collect.receiver))
            && let Some(iter) = no_args(adapter, "cloned")
                .or_else(|| no_args(adapter, "copied"))
                .and_then(as_method_call)
            && let Some(slice) = no_args(iter, "iter")
            && self.is_contiguous(slice)
        {
            let span = self.tail(&iter.method, call);
            let adapter_name = &adapter.method;
            self.findings.push(Finding {
                span,
                message: format!(
                    "`.iter().{adapter_name}().collect::<Vec<_>>()` in `{}` copies a slice item by item",
                    self.fn_name
                ),
                help: "use `.to_vec()`".to_string(),
                fix: Some(Fix::safe("Replace with `.to_vec()`", vec![Edit::replace(span, "to_vec()")])),
            });
        }
    }

    /// `.first(arg).second()` that one std method does: rename `first`, drop `.second()`.
    fn two_in_one(
        &mut self,
        call: &'a syn::ExprMethodCall,
        first: &'a syn::ExprMethodCall,
        instead: &str,
        why: &str,
    ) {
        let span = self.tail(&first.method, call);
        let written = format!("`.{}(..).{}()`", first.method, call.method);
        let second_call = self
            .source
            .span_of_bytes(self.source.span_of(first).end, span.end);
        let fix = self.keeps_comments(second_call).then(|| {
            Fix::safe(
                format!("Replace with `.{instead}(..)`"),
                vec![
                    Edit::replace(self.source.span_of(&first.method), instead),
                    Edit::delete(second_call),
                ],
            )
        });
        self.findings.push(Finding {
            span,
            message: format!("{written} in `{}` takes two adapters {why}", self.fn_name),
            help: format!("use `.{instead}(..)`"),
            fix,
        });
    }

    fn collect_then_iterate(
        &mut self,
        call: &'a syn::ExprMethodCall,
        collect: &'a syn::ExprMethodCall,
    ) {
        let span = self.tail(&collect.method, call);
        let message = format!(
            "`.collect::<Vec<_>>().{}()` in `{}` allocates a Vec only to iterate it again",
            call.method, self.fn_name
        );
        if call.method == "iter" {
            let help = "iterate the original iterator instead (it yields the items, not references to them)";
            self.findings.push(Finding {
                span,
                message,
                help: help.to_string(),
                fix: None,
            });
            return;
        }
        let removed = self
            .source
            .span_of_bytes(self.source.span_of(&*collect.receiver).end, span.end);
        let fix =
            (self.collect_removable(call, collect) && self.keeps_comments(removed)).then(|| {
                Fix::safe(
                    "Remove `.collect::<Vec<_>>().into_iter()`",
                    vec![Edit::delete(removed)],
                )
            });
        let help =
            "remove `.collect::<Vec<_>>().into_iter()` and keep iterating the original iterator"
                .to_string();
        self.findings.push(Finding {
            span,
            message,
            help,
            fix,
        });
    }

    /// Whether dropping `.collect::<Vec<_>>().into_iter()` keeps the meaning: see "Fix safety".
    fn collect_removable(
        &self,
        into_iter: &syn::ExprMethodCall,
        collect: &syn::ExprMethodCall,
    ) -> bool {
        let Some(next) = self.parents.get(&(into_iter as *const _)) else {
            return false;
        };
        if !ANY_ITERATOR_METHODS.contains(&next.method.to_string().as_str())
            || !is_iterator(&collect.receiver)
        {
            return false;
        }
        let (root, upstream) = chain_parts(&collect.receiver);
        if !upstream.iter().all(|call| call.args.iter().all(is_pure)) {
            return false;
        }
        let Some(root_name) = root_variable(root) else {
            return false;
        };
        let mut downstream = Some(*next);
        while let Some(call) = downstream {
            if call
                .args
                .iter()
                .any(|arg| mentions_variable(arg.to_token_stream(), &root_name))
            {
                return false;
            }
            downstream = self.parents.get(&(call as *const _)).copied();
        }
        true
    }

    /// Whether the declared type of `expr` is a `Vec`, a slice or an array (behind `&`, `Box`,
    /// `Rc` or `Arc`), which have `.to_vec()`.
    fn is_contiguous(&self, expr: &syn::Expr) -> bool {
        let Some(chain) = self.model.chain_of(expr) else {
            return false;
        };
        chain
            .iter()
            .find(|layer| !is_transparent_wrapper(layer))
            .is_some_and(|layer| {
                matches!(
                    layer.as_str(),
                    "std::vec::Vec" | "alloc::vec::Vec" | "[]" | "[;]"
                )
            })
    }

    /// Whether deleting `span` deletes no comment (one between the links of a chain).
    fn keeps_comments(&self, span: Span) -> bool {
        let text = self.source.text_of(span);
        !text.contains("//") && !text.contains("/*")
    }

    /// From the name of the pattern's first method to the end of `last`.
    fn tail(&self, first_method: &syn::Ident, last: &syn::ExprMethodCall) -> Span {
        self.source.span_of_bytes(
            self.source.span_of(first_method).start,
            self.source.span_of(last).end,
        )
    }
}

impl<'a> Visit<'a> for ChainScan<'_, 'a> {
    fn visit_item(&mut self, _: &'a syn::Item) {}

    fn visit_expr_await(&mut self, await_expr: &'a syn::ExprAwait) {
        if let syn::Expr::MethodCall(call) = &*await_expr.base {
            self.awaited.insert(std::ptr::from_ref(call));
        }
        syn::visit::visit_expr_await(self, await_expr);
    }

    fn visit_expr_method_call(&mut self, call: &'a syn::ExprMethodCall) {
        if let syn::Expr::MethodCall(receiver) = &*call.receiver {
            self.parents.insert(std::ptr::from_ref(receiver), call);
        }
        self.check(call);
        syn::visit::visit_expr_method_call(self, call);
    }
}

/// Every top-level pattern a fn body binds (`let`, closure parameters, `for`, `match` arms).
#[derive(Default)]
struct BodyPatterns<'a> {
    patterns: Vec<&'a syn::Pat>,
}

impl<'a> Visit<'a> for BodyPatterns<'a> {
    fn visit_pat(&mut self, pat: &'a syn::Pat) {
        self.patterns.push(pat);
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}
}

fn as_method_call(expr: &syn::Expr) -> Option<&syn::ExprMethodCall> {
    match expr {
        syn::Expr::MethodCall(call) => Some(call),
        _ => None,
    }
}

/// The receiver of `call` when `call` is `receiver.method()` with no arguments.
fn no_args<'a>(call: &'a syn::ExprMethodCall, method: &str) -> Option<&'a syn::Expr> {
    (call.method == method && call.args.is_empty() && call.turbofish.is_none())
        .then_some(&*call.receiver)
}

/// `expr` when it is `receiver.method(arg)`.
fn one_arg<'a>(expr: &'a syn::Expr, method: &str) -> Option<&'a syn::ExprMethodCall> {
    as_method_call(expr).filter(|call| call.method == method && call.args.len() == 1)
}

/// `expr` when it is `.collect::<Vec<..>>()`.
fn collect_vec(expr: &syn::Expr) -> Option<&syn::ExprMethodCall> {
    as_method_call(expr).and_then(collect_vec_call)
}

fn collect_vec_call(call: &syn::ExprMethodCall) -> Option<&syn::ExprMethodCall> {
    if call.method != "collect" || !call.args.is_empty() {
        return None;
    }
    let turbofish = call.turbofish.as_ref()?;
    let Some(syn::GenericArgument::Type(syn::Type::Path(ty))) = turbofish.args.first() else {
        return None;
    };
    let is_vec = ty.qself.is_none()
        && ty
            .path
            .segments
            .last()
            .is_some_and(|last| last.ident == "Vec");
    (turbofish.args.len() == 1 && is_vec && first_type_argument(&ty.path).is_some()).then_some(call)
}

/// Whether `expr` is known to be an iterator: a source reached through adapters only.
fn is_iterator(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::MethodCall(call) => {
            let method = call.method.to_string();
            ITERATOR_SOURCES.contains(&method.as_str())
                || (ITERATOR_ADAPTERS.contains(&method.as_str()) && is_iterator(&call.receiver))
        }
        syn::Expr::Paren(paren) => {
            matches!(&*paren.expr, syn::Expr::Range(_)) || is_iterator(&paren.expr)
        }
        _ => false,
    }
}

/// A method chain's root expression and its calls, outermost first.
fn chain_parts(expr: &syn::Expr) -> (&syn::Expr, Vec<&syn::ExprMethodCall>) {
    let mut calls = Vec::new();
    let mut current = expr;
    while let syn::Expr::MethodCall(call) = current {
        calls.push(call);
        current = &call.receiver;
    }
    (current, calls)
}

/// The variable a chain starts from: `items` in `items.iter()`, `self` in `self.lines.iter()`.
fn root_variable(root: &syn::Expr) -> Option<String> {
    match root {
        syn::Expr::Path(path) => path.path.get_ident().map(ToString::to_string),
        syn::Expr::Field(field) => root_variable(&field.base),
        syn::Expr::Paren(paren) => root_variable(&paren.expr),
        syn::Expr::Reference(reference) => root_variable(&reference.expr),
        _ => None,
    }
}

/// Whether evaluating `expr` can have no side effect: no calls (but a few pure methods), no
/// macros, no assignments.
fn is_pure(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Lit(_) | syn::Expr::Path(_) => true,
        syn::Expr::Field(field) => is_pure(&field.base),
        syn::Expr::Paren(paren) => is_pure(&paren.expr),
        syn::Expr::Group(group) => is_pure(&group.expr),
        syn::Expr::Reference(reference) => is_pure(&reference.expr),
        syn::Expr::Unary(unary) => is_pure(&unary.expr),
        syn::Expr::Cast(cast) => is_pure(&cast.expr),
        syn::Expr::Index(index) => is_pure(&index.expr) && is_pure(&index.index),
        syn::Expr::Tuple(tuple) => tuple.elems.iter().all(is_pure),
        syn::Expr::Binary(binary) => {
            !is_assignment(&binary.op) && is_pure(&binary.left) && is_pure(&binary.right)
        }
        syn::Expr::MethodCall(call) => {
            PURE_METHODS.contains(&call.method.to_string().as_str())
                && is_pure(&call.receiver)
                && call.args.iter().all(is_pure)
        }
        syn::Expr::Closure(closure) => is_pure(&closure.body),
        syn::Expr::Block(block) => match block.block.stmts.as_slice() {
            [syn::Stmt::Expr(inner, None)] => is_pure(inner),
            _ => false,
        },
        _ => false,
    }
}

fn is_assignment(op: &syn::BinOp) -> bool {
    matches!(
        op,
        syn::BinOp::AddAssign(_)
            | syn::BinOp::SubAssign(_)
            | syn::BinOp::MulAssign(_)
            | syn::BinOp::DivAssign(_)
            | syn::BinOp::RemAssign(_)
            | syn::BinOp::BitXorAssign(_)
            | syn::BinOp::BitAndAssign(_)
            | syn::BinOp::BitOrAssign(_)
            | syn::BinOp::ShlAssign(_)
            | syn::BinOp::ShrAssign(_)
    )
}
