//! CATGA009 inefficient-iterator: iterator chains in handler code that do extra work (an
//! intermediate `Vec`, two adapters for one) where a single std method says the same thing.
//!
//! Method calls are only syntax, so each pattern asks for evidence that the chain is an
//! `Iterator`: `collect::<Vec<_>>()` itself, or an iterator source (`.iter()`, `.into_iter()`,
//! `.chars()`, a range, ...) reached through iterator adapters only. `.iter().cloned()` ->
//! `.to_vec()` also needs the receiver's declared type to be a `Vec`, slice or array.

use crate::diagnostic::{Applicability, Edit, Fix, Severity, Span};
use crate::rule::{FixAvailability, Hooks, Rule, RuleCx, RuleMeta};
use crate::semantic::types::{first_type_argument, is_transparent_wrapper};
use crate::semantic::{SemanticModel, mentions_variable};
use crate::source::SourceFile;
use quote::ToTokens;

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
        expr: Some(check_expr),
        ..Hooks::NONE
    },
};

/// Every method call of a handler method's code (its closures and async blocks included).
fn check_expr(expr: &syn::Expr, cx: &mut RuleCx<'_>) {
    let syn::Expr::MethodCall(call) = expr else {
        return;
    };
    if !cx.in_handler_method() {
        return;
    }
    let Some(fn_name) = cx.fn_display_name() else {
        return;
    };
    let mut check = ChainCheck {
        source: cx.source(),
        model: cx.semantic(),
        fn_name,
        enclosing: cx.enclosing_exprs().collect(),
        awaited: cx.is_awaited(),
        findings: Vec::new(),
    };
    check.check(call);
    for finding in check.findings {
        let builder = cx.report(finding.span, finding.message).help(finding.help);
        if let Some(fix) = finding.fix {
            builder.fix(fix);
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

/// Finds the patterns that end at one method call of a handler method.
struct ChainCheck<'a> {
    source: &'a SourceFile,
    /// The engine's model at the call.
    model: SemanticModel<'a, 'a>,
    /// "`PlaceOrderHandler::handle`", for messages.
    fn_name: String,
    /// The expressions around the call, innermost first.
    enclosing: Vec<&'a syn::Expr>,
    /// The call is the operand of `.await`.
    awaited: bool,
    findings: Vec<Finding>,
}

impl<'a> ChainCheck<'a> {
    /// The method calls `call` is the receiver of, innermost first: in `a.b().c().d()`, for
    /// `a.b()`, `.c()` then `.d()`.
    fn downstream(&self, call: &syn::ExprMethodCall) -> Vec<&'a syn::ExprMethodCall> {
        let mut calls: Vec<&'a syn::ExprMethodCall> = Vec::new();
        let mut receiver: *const syn::ExprMethodCall = call;
        for expr in &self.enclosing {
            let syn::Expr::MethodCall(outer) = expr else {
                break;
            };
            let syn::Expr::MethodCall(inner) = &*outer.receiver else {
                break;
            };
            if !std::ptr::eq(inner, receiver) {
                break;
            }
            calls.push(outer);
            receiver = outer;
        }
        calls
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
            && !self.awaited
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
        let downstream = self.downstream(into_iter);
        let Some(next) = downstream.first() else {
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
        !downstream.iter().any(|call| {
            call.args
                .iter()
                .any(|arg| mentions_variable(arg.to_token_stream(), &root_name))
        })
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

#[cfg(test)]
mod tests {
    use crate::check::diagnostics_for_test;

    fn messages(body: &str) -> Vec<String> {
        let text = format!(
            "use catga::prelude::*;\nstruct H;\n\
             impl Handler<Cmd> for H {{ async fn handle(&self, cmd: Cmd, ctx: &Context) -> catga::Result<()> {{ {body} Ok(()) }} }}"
        );
        diagnostics_for_test(&text, &[])
            .into_iter()
            .filter(|diagnostic| diagnostic.code == "CATGA009")
            .map(|diagnostic| diagnostic.message)
            .collect()
    }

    #[test]
    fn a_local_is_typed_where_it_is_used_and_a_shadowing_one_hides_it() {
        // The engine's model binds in walk order: `ids` is a `Vec` at its first use and of an
        // unknown type once a later `let` shadows it.
        let got = messages(
            "let ids: Vec<u64> = cmd.ids.clone(); let a = ids.iter().cloned().collect::<Vec<_>>(); \
             let ids = load(); let b = ids.iter().cloned().collect::<Vec<_>>();",
        );
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("copies a slice item by item"), "{}", got[0]);
    }

    #[test]
    fn a_fn_nested_in_a_handler_method_is_not_handler_code() {
        let got = messages(
            "fn helper(v: &[u8]) -> usize { v.iter().filter(|b| **b > 1).next().map_or(0, |_| 1) }",
        );
        assert!(got.is_empty(), "{got:?}");
    }
}
