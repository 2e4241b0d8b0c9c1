//! The one walk per file: a `syn::visit::Visit` that keeps a scope stack (fns, async blocks,
//! closures, impls, test code, name-resolution scopes) and calls every enabled rule's hooks with
//! that context, so N rules cost one traversal.
//!
//! Async context, the choices made:
//! - `async fn`, `async` blocks and async closures are async.
//! - A nested plain `fn` is not async, whatever surrounds it.
//! - A closure is not async: it may run anywhere (`spawn_blocking`, `block_in_place`,
//!   `std::thread::spawn`, a callback stored for later). The one exception is a closure called
//!   on the spot, `(|| ..)()`, which is as async as its surroundings. This favours precision: a
//!   blocking call inside `iter().map(|x| ..)` in an async fn is not reported.
//!
//! Test code, the one policy every rule follows: `#[cfg(test)]` modules, `#[test]` /
//! `#[tokio::test]` fns and test targets are linted like any other code, and their async bodies
//! are async code, as are runtime entry points (`#[tokio::main]`): a blocking call there blocks
//! the test's (or the program's) runtime just the same. Test code is never handler code
//! ([`ScopeView::handler`]), so rules about handlers leave it alone.

use crate::call_graph::CallGraphRecorder;
use crate::diagnostic::{Diagnostic, Severity};
use crate::facts::{FactRecorder, FileFacts};
use crate::file_index::FileIndex;
use crate::resolve::{Resolver, Scope, is_catga_item};
use crate::rule::{FileEnv, FnSyntax, Rule, RuleCx};
use crate::semantic::Bindings;
use std::cell::OnceCell;
use std::fmt;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};

/// Which catga trait a handler impl implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum HandlerKind {
    /// `impl Handler<R> for T` (commands and queries).
    Handler,
    /// `impl EventHandler<E> for T`.
    EventHandler,
    /// `impl Saga for T`.
    Saga,
}

/// Iterator adapters and consumers, `Option`/`Result`/`bool` combinators: methods whose closure
/// runs on the thread that runs the chain (an iterator's when it is consumed, which in async
/// code is the task's).
const IN_PLACE_COMBINATORS: &[&str] = &[
    "map",
    "filter",
    "filter_map",
    "flat_map",
    "for_each",
    "try_for_each",
    "fold",
    "try_fold",
    "any",
    "all",
    "find",
    "find_map",
    "position",
    "inspect",
    "take_while",
    "skip_while",
    "map_while",
    "max_by_key",
    "min_by_key",
    "partition",
    "and_then",
    "or_else",
    "map_or",
    "map_or_else",
    "unwrap_or_else",
    "ok_or_else",
    "map_err",
    "then",
];

/// How a closure runs relative to the code around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosureKind {
    /// `async || ..`: its body is a future.
    Async,
    /// `(|| ..)()`: runs right here, as async as its surroundings.
    ImmediatelyCalled,
    /// Passed to an iterator adapter or an `Option`/`Result` combinator
    /// (`paths.iter().map(|p| fs::read(p))`, `.unwrap_or_else(|| ..)`): runs where the chain
    /// runs, as async as its surroundings (but `.await` cannot be written in it).
    InPlace,
    /// Passed to `spawn_blocking`, `block_in_place`, `std::thread::spawn` and friends.
    Blocking,
    /// Any other closure: may run anywhere, treated as not async.
    Other,
}

/// One entry of the scope stack.
#[derive(Debug, Clone)]
pub enum Frame {
    /// A fn with a body.
    Fn {
        /// Its name.
        name: String,
        /// `async fn`.
        is_async: bool,
        /// Its return type is a `Result` (any path ending in `Result`).
        returns_result: bool,
    },
    /// An `async` block.
    AsyncBlock,
    /// A closure.
    Closure(ClosureKind),
    /// An impl block; `handler` when it implements a catga handler trait.
    Impl {
        /// Which catga trait, if any.
        handler: Option<HandlerKind>,
        /// The implementing type's name, for a handler impl whose self type is a path.
        self_name: Option<String>,
    },
    /// Test code: `#[cfg(test)]` items, `#[test]` fns.
    Test,
}

/// Where an async context starts, for messages: "async fn `handle`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncContext<'a> {
    /// Inside `async fn name` (runtime entry points and async tests included).
    AsyncFn {
        /// The fn's name.
        name: &'a str,
    },
    /// Inside an `async` block (in the named fn, if any).
    AsyncBlock {
        /// The enclosing fn.
        in_fn: Option<&'a str>,
    },
    /// Inside an async closure (in the named fn, if any).
    AsyncClosure {
        /// The enclosing fn.
        in_fn: Option<&'a str>,
    },
}

impl fmt::Display for AsyncContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, in_fn) = match self {
            AsyncContext::AsyncFn { name } => return write!(f, "async fn `{name}`"),
            AsyncContext::AsyncBlock { in_fn } => ("async block", in_fn),
            AsyncContext::AsyncClosure { in_fn } => ("async closure", in_fn),
        };
        match in_fn {
            Some(name) => write!(f, "{what} in fn `{name}`"),
            None => f.write_str(what),
        }
    }
}

/// Read-only questions about a scope stack.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScopeView<'a> {
    pub(crate) frames: &'a [Frame],
}

impl<'a> ScopeView<'a> {
    pub(crate) fn async_context(self) -> Option<AsyncContext<'a>> {
        for frame in self.frames.iter().rev() {
            match frame {
                Frame::Fn { name, is_async, .. } => {
                    return is_async.then_some(AsyncContext::AsyncFn { name });
                }
                Frame::AsyncBlock => {
                    return Some(AsyncContext::AsyncBlock {
                        in_fn: self.fn_name(),
                    });
                }
                Frame::Closure(ClosureKind::Async) => {
                    return Some(AsyncContext::AsyncClosure {
                        in_fn: self.fn_name(),
                    });
                }
                Frame::Closure(ClosureKind::ImmediatelyCalled | ClosureKind::InPlace)
                | Frame::Impl { .. }
                | Frame::Test => {}
                Frame::Closure(ClosureKind::Blocking | ClosureKind::Other) => return None,
            }
        }
        None
    }

    pub(crate) fn handler(self) -> Option<HandlerKind> {
        if self.in_test() {
            return None;
        }
        self.frames.iter().rev().find_map(|frame| match frame {
            Frame::Impl { handler, .. } => Some(*handler),
            _ => None,
        })?
    }

    /// The name of the handler type whose impl encloses this point (`None` outside handler
    /// code).
    pub(crate) fn handler_type(self) -> Option<&'a str> {
        self.handler()?;
        self.frames.iter().rev().find_map(|frame| match frame {
            Frame::Impl { self_name, .. } => Some(self_name.as_deref()),
            _ => None,
        })?
    }

    pub(crate) fn in_test(self) -> bool {
        self.frames.iter().any(|frame| matches!(frame, Frame::Test))
    }

    pub(crate) fn fn_name(self) -> Option<&'a str> {
        self.frames.iter().rev().find_map(|frame| match frame {
            Frame::Fn { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }

    pub(crate) fn await_allowed(self) -> bool {
        for frame in self.frames.iter().rev() {
            match frame {
                Frame::Fn { is_async, .. } => return *is_async,
                Frame::AsyncBlock | Frame::Closure(ClosureKind::Async) => return true,
                Frame::Closure(_) => return false,
                Frame::Impl { .. } | Frame::Test => {}
            }
        }
        false
    }

    pub(crate) fn question_mark_returns_result(self) -> bool {
        for frame in self.frames.iter().rev() {
            match frame {
                Frame::Fn { returns_result, .. } => return *returns_result,
                Frame::AsyncBlock | Frame::Closure(_) => return false,
                Frame::Impl { .. } | Frame::Test => {}
            }
        }
        false
    }
}

/// Which catga trait `item` implements, resolved through `resolver`.
pub(crate) fn handler_kind(resolver: &Resolver, item: &syn::ItemImpl) -> Option<HandlerKind> {
    let (_, path, _) = item.trait_.as_ref()?;
    let resolved = resolver.resolve(path)?;
    [
        ("Handler", HandlerKind::Handler),
        ("EventHandler", HandlerKind::EventHandler),
        ("Saga", HandlerKind::Saga),
    ]
    .into_iter()
    .find(|(name, _)| is_catga_item(&resolved, name))
    .map(|(_, kind)| kind)
}

/// Whether attributes mark test code: `#[test]`, `#[cfg(test)]`, `#[tokio::test]`, `#[rstest]`...
pub(crate) fn is_test_attr(attrs: &[syn::Attribute]) -> bool {
    // Called for every attribute of the corpus (`#[cfg(..)]` is everywhere): compare
    // identifiers in place rather than formatting them.
    attrs.iter().any(|attr| {
        let path = attr.path();
        let Some(last) = path.segments.last() else {
            return false;
        };
        let last = &last.ident;
        if last == "test" || last == "rstest" || last == "bench" {
            return true;
        }
        last == "cfg" && path.segments.len() == 1 && cfg_mentions_test(attr)
    })
}

/// `cfg(test)`, `cfg(all(test, ..))`, but not `cfg(not(test))`.
fn cfg_mentions_test(attr: &syn::Attribute) -> bool {
    let syn::Meta::List(list) = &attr.meta else {
        return false;
    };
    let (mut test, mut not) = (false, false);
    find_idents(list.tokens.clone(), &mut |ident| {
        test |= ident == "test";
        not |= ident == "not";
    });
    test && !not
}

/// Call `on` with every identifier in `tokens`, groups included.
fn find_idents(tokens: proc_macro2::TokenStream, on: &mut impl FnMut(&proc_macro2::Ident)) {
    for token in tokens {
        match token {
            proc_macro2::TokenTree::Ident(ident) => on(&ident),
            proc_macro2::TokenTree::Group(group) => find_idents(group.stream(), on),
            proc_macro2::TokenTree::Punct(_) | proc_macro2::TokenTree::Literal(_) => {}
        }
    }
}

fn returns_result(sig: &syn::Signature) -> bool {
    let syn::ReturnType::Type(_, ty) = &sig.output else {
        return false;
    };
    let syn::Type::Path(path) = &**ty else {
        return false;
    };
    path.path
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "Result")
}

fn is_closure(expr: &syn::Expr) -> bool {
    matches!(expr, syn::Expr::Closure(_))
}

/// Callees whose closure arguments run on a thread where blocking is fine.
fn is_blocking_spawner(resolved: &str) -> bool {
    let last = resolved.rsplit("::").next().unwrap_or(resolved);
    matches!(last, "spawn_blocking" | "block_in_place")
        || matches!(
            resolved,
            "std::thread::spawn" | "std::thread::scope" | "rayon::spawn" | "rayon::scope"
        )
}

/// Macros whose arguments are comma-separated expressions (after an optional format string).
const EXPRESSION_MACROS: &[&str] = &[
    "println",
    "print",
    "eprintln",
    "eprint",
    "format",
    "write",
    "writeln",
    "panic",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "vec",
    "dbg",
    "join",
    "try_join",
    "info",
    "warn",
    "error",
    "debug",
    "trace",
    "anyhow",
    "bail",
    "ensure",
];

/// The rules a walk runs, sorted per hook so a node only meets the rules that look at it.
#[derive(Debug, Default)]
pub(crate) struct HookTable {
    pub(crate) file: Vec<(&'static Rule, Severity)>,
    pub(crate) item: Vec<(&'static Rule, Severity)>,
    pub(crate) function: Vec<(&'static Rule, Severity)>,
    pub(crate) block: Vec<(&'static Rule, Severity)>,
    pub(crate) expr: Vec<(&'static Rule, Severity)>,
    pub(crate) workspace: Vec<(&'static Rule, Severity)>,
}

impl HookTable {
    pub(crate) fn new(rules: &[(&'static Rule, Severity)]) -> HookTable {
        let mut table = HookTable::default();
        for &(rule, severity) in rules {
            let hooks = &rule.hooks;
            let lists = [
                (hooks.file.is_some(), &mut table.file),
                (hooks.item.is_some(), &mut table.item),
                (hooks.function.is_some(), &mut table.function),
                (hooks.block.is_some(), &mut table.block),
                (hooks.expr.is_some(), &mut table.expr),
                (hooks.workspace.is_some(), &mut table.workspace),
            ];
            for (has, list) in lists {
                if has {
                    list.push((rule, severity));
                }
            }
        }
        table
    }
}

/// Macro arguments parsed during the walk (`println!("{}", fs::read(p)?)`), kept as long as the
/// file's own syntax so the semantic model may refer to them alike: an append-only list, each
/// node filled once.
#[derive(Debug, Default)]
struct ParsedArgs {
    args: OnceCell<Punctuated<syn::Expr, syn::Token![,]>>,
    next: OnceCell<Box<ParsedArgs>>,
}

impl ParsedArgs {
    /// Keep `args` in this (empty, last) node; returns them and the new last node.
    fn keep(
        &self,
        args: Punctuated<syn::Expr, syn::Token![,]>,
    ) -> (&Punctuated<syn::Expr, syn::Token![,]>, &ParsedArgs) {
        let kept = self.args.get_or_init(|| args);
        (kept, self.next.get_or_init(Box::default))
    }
}

impl Drop for ParsedArgs {
    /// One node at a time: a long list must not recurse once per node.
    fn drop(&mut self) {
        let mut next = self.next.take();
        while let Some(mut node) = next {
            next = node.next.take();
        }
    }
}

/// Walk one parsed file: run every hook, collect diagnostics and facts.
pub(crate) fn walk_file(
    file: &syn::File,
    env: &FileEnv<'_>,
    hooks: &HookTable,
) -> (Vec<Diagnostic>, FileFacts) {
    let resolver = Resolver::for_file_in(file, env.module);
    // The declarations every fn's semantic model reads.
    let file_index = FileIndex::new(file, &resolver);
    let parsed_args = ParsedArgs::default();
    let mut walker = Walker {
        env,
        hooks,
        file,
        file_index: &file_index,
        resolver,
        frames: Vec::new(),
        diagnostics: Vec::new(),
        facts: FileFacts::default(),
        pending_closure: None,
        // What a local's value is constructed as only matters to `.handler(var)` registrations.
        bindings: Bindings::new(env.source.text.contains("handler(")),
        awaited: false,
        awaited_next: false,
        call_graph: CallGraphRecorder::default(),
        crate_name: env.module.split("::").next().unwrap_or("crate"),
        modules: vec!["self".to_string()],
        self_tys: Vec::new(),
        impl_self_ty: None,
        enclosing: Vec::new(),
        parsed_args: &parsed_args,
    };
    if env.test_file || is_test_attr(&file.attrs) {
        walker.frames.push(Frame::Test);
    }
    walker.visit_file(file);
    let len = env.source.text.len();
    walker.facts.end = Some(env.source.span_of_bytes(len, len));
    walker.facts.module = env.module.to_string();
    walker.facts.fns = walker.call_graph.nodes;
    (walker.diagnostics, walker.facts)
}

/// Test support: probe rules, which report what the walk (scopes, the semantic model) says at
/// the points a test marks, and the messages a rule reports in a snippet.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{HookTable, walk_file};
    use crate::config::Settings;
    use crate::diagnostic::Severity;
    use crate::rule::{FileEnv, FixAvailability, Hooks, Rule, RuleCx, RuleMeta};
    use crate::source::SourceFile;

    static PROBE_META: RuleMeta = RuleMeta {
        code: "CATGA999",
        name: "probe",
        severity: Severity::Info,
        fix: FixAvailability::None,
        fix_applicabilities: &[],
        summary: "Reports, at the points a test marks, what the walk says there.",
        docs: "",
    };

    /// A probe rule: `expr` sees every expression and reports what the test asks about.
    pub(crate) const fn probe_rule(expr: fn(&syn::Expr, &mut RuleCx<'_>)) -> Rule {
        Rule {
            meta: &PROBE_META,
            hooks: Hooks {
                expr: Some(expr),
                ..Hooks::NONE
            },
        }
    }

    /// The messages `rule` reports in `text`, walked as the crate root of a non-test file with
    /// default settings, in source order.
    pub(crate) fn rule_messages(rule: &'static Rule, text: &str) -> Vec<String> {
        let file = SourceFile::new("t.rs", text);
        let parsed = syn::parse_file(&file.text).unwrap();
        let settings = Settings::default();
        let env = FileEnv {
            source: &file,
            settings: &settings,
            dependencies: None,
            test_file: false,
            module: "crate",
        };
        let hooks = HookTable::new(&[(rule, Severity::Info)]);
        walk_file(&parsed, &env, &hooks)
            .0
            .into_iter()
            .map(|d| d.message)
            .collect()
    }
}

struct Walker<'f> {
    env: &'f FileEnv<'f>,
    hooks: &'f HookTable,
    file: &'f syn::File,
    file_index: &'f FileIndex<'f>,
    resolver: Resolver,
    frames: Vec<Frame>,
    diagnostics: Vec<Diagnostic>,
    facts: FileFacts,
    /// The kind the next closure visited gets (set just before visiting a closure argument).
    pending_closure: Option<ClosureKind>,
    /// The semantic model's locals at this point of the walk.
    bindings: Bindings<'f>,
    /// The expression whose hooks run now is the operand of `.await`.
    awaited: bool,
    /// The next expression visited is the operand of `.await`.
    awaited_next: bool,
    call_graph: CallGraphRecorder,
    /// The crate the file belongs to (the first segment of its module path).
    crate_name: &'f str,
    /// The inline modules entered, innermost last, by their path in the file (`self::a`).
    modules: Vec<String>,
    /// Per enclosing fn, innermost last: the `Self` type of its impl (`None` for a free fn, a
    /// trait's default method, a fn nested in a body).
    self_tys: Vec<Option<&'f syn::Type>>,
    /// The self type of the innermost impl being walked.
    impl_self_ty: Option<&'f syn::Type>,
    /// The expressions around the one being visited, outermost first (the model's expression
    /// stack, as ruff's `current_expressions`).
    enclosing: Vec<&'f syn::Expr>,
    /// Where macro arguments parsed next are kept.
    parsed_args: &'f ParsedArgs,
}

/// Call `hook` of every rule in `list` on `node`, with the walker's current context.
macro_rules! run_hooks {
    ($walker:expr, $list:ident, $hook:ident $(, $node:expr)?) => {
        for &(rule, severity) in &$walker.hooks.$list {
            if let Some(hook) = rule.hooks.$hook {
                let mut cx = RuleCx {
                    env: $walker.env,
                    file: $walker.file,
                    file_index: $walker.file_index,
                    resolver: &$walker.resolver,
                    frames: &$walker.frames,
                    bindings: &$walker.bindings,
                    module: $walker.modules.last().map_or("self", String::as_str),
                    self_ty: $walker.self_tys.last().copied().flatten(),
                    enclosing: &$walker.enclosing,
                    awaited: $walker.awaited,
                    meta: rule.meta,
                    severity,
                    out: &mut $walker.diagnostics,
                };
                hook($($node,)? &mut cx);
            }
        }
    };
}

impl<'f> Walker<'f> {
    /// Run `body` with `frames` pushed on the scope stack (`None` pushes nothing).
    fn with_frames<const N: usize>(
        &mut self,
        frames: [Option<Frame>; N],
        body: impl FnOnce(&mut Self),
    ) {
        let depth = self.frames.len();
        self.frames.extend(frames.into_iter().flatten());
        body(self);
        self.frames.truncate(depth);
    }

    fn walk_fn(
        &mut self,
        attrs: &'f [syn::Attribute],
        sig: &'f syn::Signature,
        body: &'f syn::Block,
        path: Option<String>,
        self_ty: Option<&'f syn::Type>,
    ) {
        self.call_graph.enter_fn(sig, path);
        let frames = [
            is_test_attr(attrs).then_some(Frame::Test),
            Some(Frame::Fn {
                name: sig.ident.to_string(),
                is_async: sig.asyncness.is_some(),
                returns_result: returns_result(sig),
            }),
        ];
        // The fn's semantic model: its parameters bound (and no local around it), over the
        // file's declarations.
        let floor = self.bindings.enter_fn();
        for input in &sig.inputs {
            if let syn::FnArg::Typed(typed) = input {
                self.bindings
                    .walk_param(&typed.pat, &typed.ty, &self.resolver);
            }
        }
        self.self_tys.push(self_ty);
        self.with_frames(frames, |walker| {
            let syntax = FnSyntax {
                attrs,
                sig,
                body,
                self_ty,
            };
            run_hooks!(walker, function, function, &syntax);
            walker.visit_signature(sig);
            walker.visit_block(body);
        });
        self.self_tys.pop();
        self.bindings.leave_fn(floor);
        self.call_graph.leave_fn();
    }

    /// Whether the arguments of `mac` may hold a call, a method call, a macro, a closure body,
    /// a block or a struct literal: a bracket outside string literals. Arguments without one
    /// (`info!("sent {id}")`, `assert!(done)`) hold nothing any hook, fact or binding looks
    /// at, and parsing them is costly.
    fn may_hold_a_call(&self, mac: &syn::Macro) -> bool {
        let group = match &mac.delimiter {
            syn::MacroDelimiter::Paren(paren) => paren.span.join(),
            syn::MacroDelimiter::Brace(brace) => brace.span.join(),
            syn::MacroDelimiter::Bracket(bracket) => bracket.span.join(),
        };
        let span = self.env.source.span_from(group);
        let inner = self
            .env
            .source
            .text
            .as_bytes()
            .get(span.start + 1..span.end.saturating_sub(1))
            .unwrap_or_default();
        let mut in_string = false;
        let mut escaped = false;
        for (at, &byte) in inner.iter().enumerate() {
            if in_string {
                match byte {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => {
                    // A raw string (`r"..."`, `r#"..."#`) may hold a `"` without a `\`: do not
                    // try to skip it.
                    if at > 0 && matches!(inner[at - 1], b'r' | b'#') {
                        return true;
                    }
                    in_string = true;
                }
                // A char literal may be `'"'`, and a comment may hold a lone `"`: do not try
                // to skip those either.
                b'(' | b'[' | b'{' | b'\'' | b'/' => return true,
                _ => {}
            }
        }
        false
    }

    /// Visit the arguments of an expression macro as expressions when they parse as such.
    fn walk_macro_args(&mut self, mac: &'f syn::Macro) {
        // Every rule that looks inside expressions cares about async or handler code only, and
        // re-parsing macro bodies is costly: skip the others.
        let scope = ScopeView {
            frames: &self.frames,
        };
        if scope.async_context().is_none() && scope.handler().is_none() {
            return;
        }
        let Some(last) = mac.path.segments.last() else {
            return;
        };
        if !EXPRESSION_MACROS.iter().any(|name| last.ident == name) {
            return;
        }
        if !self.may_hold_a_call(mac) {
            return;
        }
        let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
        if let Ok(args) = mac.parse_body_with(parser) {
            let (args, next) = self.parsed_args.keep(args);
            self.parsed_args = next;
            for arg in args {
                self.visit_expr(arg);
            }
        }
    }
}

impl<'f> Visit<'f> for Walker<'f> {
    fn visit_file(&mut self, file: &'f syn::File) {
        run_hooks!(self, file, file);
        for item in &file.items {
            self.visit_item(item);
        }
    }

    fn visit_item(&mut self, item: &'f syn::Item) {
        run_hooks!(self, item, item, item);
        FactRecorder {
            facts: &mut self.facts,
            resolver: &self.resolver,
            source: self.env.source,
        }
        .item(
            item,
            ScopeView {
                frames: &self.frames,
            },
        );
        let test = match item {
            syn::Item::Fn(_) => false,
            syn::Item::Mod(m) => is_test_attr(&m.attrs),
            syn::Item::Impl(i) => is_test_attr(&i.attrs),
            syn::Item::Trait(t) => is_test_attr(&t.attrs),
            syn::Item::Const(c) => is_test_attr(&c.attrs),
            syn::Item::Static(s) => is_test_attr(&s.attrs),
            _ => false,
        };
        self.with_frames([test.then_some(Frame::Test)], |walker| match item {
            syn::Item::Fn(f) => {
                let path = walker
                    .resolver
                    .canonical(&syn::Path::from(f.sig.ident.clone()));
                walker.walk_fn(&f.attrs, &f.sig, &f.block, path, None);
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    walker.resolver.push(Scope::inline_module(&m.ident, items));
                    let module = match walker.modules.last() {
                        Some(outer) => format!("{outer}::{}", m.ident),
                        None => format!("self::{}", m.ident),
                    };
                    walker.modules.push(module);
                    for item in items {
                        walker.visit_item(item);
                    }
                    walker.modules.pop();
                    walker.resolver.pop();
                }
            }
            syn::Item::Impl(i) => {
                let handler = handler_kind(&walker.resolver, i);
                let self_name = handler
                    .and_then(|_| crate::facts::type_path(&i.self_ty))
                    .and_then(|path| path.segments.last())
                    .map(|segment| segment.ident.to_string());
                walker.call_graph.enter_impl(&i.self_ty, &walker.resolver);
                let outer = walker.impl_self_ty.replace(&i.self_ty);
                walker.with_frames([Some(Frame::Impl { handler, self_name })], |walker| {
                    visit::visit_item_impl(walker, i)
                });
                walker.impl_self_ty = outer;
                walker.call_graph.leave_impl();
            }
            syn::Item::Macro(m) => walker.walk_macro_args(&m.mac),
            _ => visit::visit_item(walker, item),
        });
    }

    fn visit_impl_item_fn(&mut self, f: &'f syn::ImplItemFn) {
        let path = self.call_graph.method_path(&f.sig.ident);
        let self_ty = self.impl_self_ty;
        self.walk_fn(&f.attrs, &f.sig, &f.block, path, self_ty);
    }

    fn visit_trait_item_fn(&mut self, f: &'f syn::TraitItemFn) {
        match &f.default {
            Some(body) => self.walk_fn(&f.attrs, &f.sig, body, None, None),
            None => self.visit_signature(&f.sig),
        }
    }

    fn visit_block(&mut self, block: &'f syn::Block) {
        let scope = Scope::block(&block.stmts);
        let pushed = scope.is_some();
        if let Some(scope) = scope {
            self.resolver.push(scope);
        }
        let mark = self.bindings.mark();
        run_hooks!(self, block, block, block);
        visit::visit_block(self, block);
        self.bindings.reset(mark);
        if pushed {
            self.resolver.pop();
        }
    }

    fn visit_expr(&mut self, expr: &'f syn::Expr) {
        self.awaited = std::mem::take(&mut self.awaited_next);
        run_hooks!(self, expr, expr, expr);
        self.awaited = false;
        self.enclosing.push(expr);
        FactRecorder {
            facts: &mut self.facts,
            resolver: &self.resolver,
            source: self.env.source,
        }
        .expr(
            expr,
            &self.bindings,
            ScopeView {
                frames: &self.frames,
            },
        );
        self.call_graph.expr(
            expr,
            &self.frames,
            &self.resolver,
            self.env.source,
            self.crate_name,
        );
        visit::visit_expr(self, expr);
        self.enclosing.pop();
    }

    fn visit_expr_async(&mut self, block: &'f syn::ExprAsync) {
        self.with_frames([Some(Frame::AsyncBlock)], |walker| {
            visit::visit_expr_async(walker, block)
        });
    }

    fn visit_expr_closure(&mut self, closure: &'f syn::ExprClosure) {
        let pending = self.pending_closure.take();
        let kind = if closure.asyncness.is_some() {
            ClosureKind::Async
        } else {
            pending.unwrap_or(ClosureKind::Other)
        };
        let mark = self.bindings.mark();
        for input in &closure.inputs {
            self.bindings.walk_closure_input(input, &self.resolver);
        }
        self.with_frames([Some(Frame::Closure(kind))], |walker| {
            visit::visit_expr_closure(walker, closure)
        });
        self.bindings.reset(mark);
    }

    fn visit_expr_await(&mut self, expr: &'f syn::ExprAwait) {
        for attr in &expr.attrs {
            self.visit_attribute(attr);
        }
        self.awaited_next = true;
        self.visit_expr(&expr.base);
    }

    fn visit_expr_for_loop(&mut self, for_loop: &'f syn::ExprForLoop) {
        for attr in &for_loop.attrs {
            self.visit_attribute(attr);
        }
        self.visit_expr(&for_loop.expr);
        let mark = self.bindings.mark();
        self.bindings.bind_unknown(&for_loop.pat);
        self.visit_block(&for_loop.body);
        self.bindings.reset(mark);
    }

    fn visit_local(&mut self, local: &'f syn::Local) {
        visit::visit_local(self, local);
        self.bindings.walk_local(local, &self.resolver);
    }

    fn visit_expr_call(&mut self, call: &'f syn::ExprCall) {
        for attr in &call.attrs {
            self.visit_attribute(attr);
        }
        let mut callee = &*call.func;
        while let syn::Expr::Paren(paren) = callee {
            callee = &paren.expr;
        }
        if matches!(callee, syn::Expr::Closure(_)) {
            self.pending_closure = Some(ClosureKind::ImmediatelyCalled);
        }
        self.visit_expr(&call.func);
        self.pending_closure = None;
        // Only a closure argument's kind depends on the callee: resolve it for those calls.
        let blocking = call.args.iter().any(is_closure)
            && self
                .resolver
                .resolve_expr(callee)
                .is_some_and(|path| is_blocking_spawner(&path));
        for arg in &call.args {
            if blocking && matches!(arg, syn::Expr::Closure(_)) {
                self.pending_closure = Some(ClosureKind::Blocking);
            }
            self.visit_expr(arg);
            self.pending_closure = None;
        }
    }

    fn visit_expr_method_call(&mut self, call: &'f syn::ExprMethodCall) {
        for attr in &call.attrs {
            self.visit_attribute(attr);
        }
        self.visit_expr(&call.receiver);
        if let Some(turbofish) = &call.turbofish {
            self.visit_angle_bracketed_generic_arguments(turbofish);
        }
        let (blocking, in_place) = if call.args.iter().any(is_closure) {
            let method = call.method.to_string();
            (
                is_blocking_spawner(&method),
                IN_PLACE_COMBINATORS.contains(&method.as_str()),
            )
        } else {
            (false, false)
        };
        for arg in &call.args {
            if blocking && matches!(arg, syn::Expr::Closure(_)) {
                self.pending_closure = Some(ClosureKind::Blocking);
            } else if in_place && matches!(arg, syn::Expr::Closure(_)) {
                self.pending_closure = Some(ClosureKind::InPlace);
            }
            self.visit_expr(arg);
            self.pending_closure = None;
        }
    }

    fn visit_macro(&mut self, mac: &'f syn::Macro) {
        self.walk_macro_args(mac);
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{probe_rule, rule_messages};
    use super::*;

    /// Reports, at every `probe()` call, what the context says about that point.
    static PROBE: Rule = probe_rule(probe);

    fn probe(expr: &syn::Expr, cx: &mut RuleCx<'_>) {
        let syn::Expr::Call(call) = expr else { return };
        if !cx
            .resolve_expr(&call.func)
            .is_some_and(|path| path.ends_with("::probe"))
        {
            return;
        }
        let message = format!(
            "async={} handler={:?} test={} fn={} result={}",
            cx.async_context()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "no".into()),
            cx.handler(),
            cx.in_test(),
            cx.fn_name().unwrap_or("-"),
            cx.fn_returns_result(),
        );
        let span = cx.span(call);
        cx.report(span, message);
    }

    fn probe_messages(source: &str) -> Vec<String> {
        rule_messages(&PROBE, &format!("fn probe() {{}}\n{source}"))
    }

    #[test]
    fn async_fn_and_async_block_are_async_but_nested_fn_and_closures_are_not() {
        let got = probe_messages(
            "async fn handle() { probe(); fn inner() { probe(); } let c = || probe(); \
             tokio::task::spawn_blocking(move || { probe(); async { probe() }; }); }",
        );
        assert_eq!(
            got[0],
            "async=async fn `handle` handler=None test=false fn=handle result=false"
        );
        assert!(got[1].starts_with("async=no "), "{}", got[1]);
        assert!(got[2].starts_with("async=no "), "{}", got[2]);
        assert!(got[3].starts_with("async=no "), "{}", got[3]);
        assert!(
            got[4].starts_with("async=async block in fn `handle`"),
            "{}",
            got[4]
        );
    }

    #[test]
    fn immediately_called_closure_and_async_closure_inherit_or_are_async() {
        let got =
            probe_messages("async fn f() { (|| probe())(); } fn g() { let c = async || probe(); }");
        assert!(got[0].starts_with("async=async fn `f`"), "{}", got[0]);
        assert!(
            got[1].starts_with("async=async closure in fn `g`"),
            "{}",
            got[1]
        );
    }

    #[test]
    fn handler_code_is_resolved_by_name_and_excludes_tests_and_local_traits() {
        let got = probe_messages(
            "use catga::prelude::*;\n\
             impl Handler<A> for H { async fn handle(&self) -> catga::Result<()> { probe(); Ok(()) } }\n\
             impl Other for H { fn x(&self) { probe(); } }\n\
             #[cfg(test)] mod tests { use super::*; impl Handler<A> for T { async fn handle(&self) { probe(); } } }\n\
             mod local { trait Handler<T> {} impl Handler<u8> for u8 { fn y() { super::probe(); } } }",
        );
        assert_eq!(
            got[0],
            "async=async fn `handle` handler=Some(Handler) test=false fn=handle result=true"
        );
        assert!(got[1].contains("handler=None test=false"), "{}", got[1]);
        assert!(got[2].contains("handler=None test=true"), "{}", got[2]);
        assert!(got[3].contains("handler=None test=false"), "{}", got[3]);
    }

    #[test]
    fn async_test_and_entry_point_bodies_are_async_code_but_never_handler_code() {
        let got = probe_messages(
            "#[cfg(test)] mod tests { use catga::prelude::*; \
             #[tokio::test] async fn waits() { super::probe(); } \
             impl Handler<A> for T { async fn handle(&self) { super::probe(); } } }\n\
             #[tokio::main] async fn main() { probe(); }",
        );
        assert_eq!(
            got[0],
            "async=async fn `waits` handler=None test=true fn=waits result=false"
        );
        assert!(
            got[1].starts_with("async=async fn `handle` handler=None test=true"),
            "{}",
            got[1]
        );
        assert!(
            got[2].starts_with("async=async fn `main` handler=None test=false"),
            "{}",
            got[2]
        );
    }

    #[test]
    fn file_level_cfg_test_makes_the_whole_file_test_code() {
        let got = rule_messages(
            &PROBE,
            "#![cfg(test)]\nfn probe() {}\nuse catga::prelude::*;\nimpl Handler<A> for H { async fn handle(&self) { probe(); } }",
        );
        assert!(got[0].contains("handler=None test=true"), "{}", got[0]);
    }

    #[test]
    fn macro_arguments_are_walked_in_the_same_context() {
        let got = probe_messages("async fn f() { println!(\"{:?}\", probe()); }");
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("async=async fn `f`"), "{}", got[0]);
    }

    #[test]
    fn question_mark_in_async_block_does_not_target_the_fn() {
        let got = probe_messages(
            "fn f() -> Result<(), ()> { probe(); let _ = async { probe() }; Ok(()) }",
        );
        assert!(got[0].ends_with("result=true"), "{}", got[0]);
        assert!(got[1].ends_with("result=false"), "{}", got[1]);
    }
}
