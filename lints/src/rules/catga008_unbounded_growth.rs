//! CATGA008 unbounded-growth: memory that handler code leaks, queues without a bound, or adds to
//! a static collection, once per message handled.
//!
//! A file hook: whether a method chain's root names a static needs the file's declarations
//! ([`FileIndex`]), and whether the handler also evicts from that static needs the whole body.

use crate::diagnostic::{Severity, Span};
use crate::file_index::{FileIndex, StaticKind};
use crate::resolve::{Resolver, Scope};
use crate::rule::{FixAvailability, FnSyntax, Hooks, Rule, RuleCx, RuleMeta};
use crate::semantic::SemanticModel;
use std::collections::HashSet;
use syn::visit::{self, Visit};

static META: RuleMeta = RuleMeta {
    code: "CATGA008",
    name: "unbounded-growth",
    severity: Severity::Warning,
    fix: FixAvailability::None,
    fix_applicabilities: &[],
    summary: "`Box::leak`, `mem::forget`, unbounded channels, or inserts into a `static` collection in handler code",
    docs: r#"## What it does
Reports, in handler code (the methods of a `Handler`, `EventHandler` or `Saga` impl, closures
and async blocks inside them included), what grows with every message handled:

- `Box::leak` (and `Vec::leak`, `String::leak` called as paths) and `std::mem::forget`
- unbounded channels: `tokio::sync::mpsc::unbounded_channel()`, `std::sync::mpsc::channel()`
  (std's `channel` is unbounded), `crossbeam_channel::unbounded()`, `flume::unbounded()`,
  `async_channel::unbounded()`, `futures::channel::mpsc::unbounded()`
- `push`, `push_back`, `push_front`, `push_str`, `insert`, `extend`, `extend_from_slice`,
  `append` and
  `entry(..).or_insert(..)` / `or_insert_with` / `or_default` on a collection held in a
  `static`: a method chain whose root names a static (`CACHE.lock().unwrap().insert(k, v)`,
  `EVENTS.write().await.push(e)`, `STATE.lock().unwrap().orders.insert(..)`), a local bound to
  one (`let mut seen = SEEN.lock().unwrap(); seen.insert(id);`), or the closure parameter of a
  `thread_local!`'s `.with(|buf| ..)` / `.with_borrow_mut(|buf| ..)`

A static is a `static` item, a `lazy_static!` `static ref` or a `thread_local!` static of the
same file (names resolved through `use`), or a `SCREAMING_CASE` name imported from another
module (`use crate::cache::CACHE;`): consts are not statics, since each use is a fresh copy.

Not reported: bounded channels (`tokio::sync::mpsc::channel(n)`, `std::sync::mpsc::sync_channel`),
a local `Vec` or a collection in a field of the handler (`self.cache`), a static the same handler
method also shrinks or measures (`remove`, `pop*`, `retain`, `clear`, `truncate`, `drain`,
`split_off`, or a `len()` check: the usual shape of a bounded cache), and code outside handler
impls and in tests.

## Why is this bad?
A handler runs once per message for the whole life of the service. Whatever it leaks or adds to
a static without removing is never freed: memory climbs with traffic until the process is
killed, and a static map also makes every lookup slower and every lock held longer. An
unbounded channel has no back-pressure: when its receiver falls behind, the queue absorbs the
difference, until memory runs out.

## Example
```rust
static PROCESSED: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);

impl Handler<ChargeCard> for ChargeCardHandler {
    async fn handle(&self, cmd: ChargeCard, ctx: &Context) -> catga::Result<ChargeId> {
        PROCESSED.lock().unwrap().insert(cmd.charge_id.clone());
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        // ...
    }
}
```

## Use instead
```rust
impl Handler<ChargeCard> for ChargeCardHandler {
    async fn handle(&self, cmd: ChargeCard, ctx: &Context) -> catga::Result<ChargeId> {
        // Deduplicate with `#[command(idempotent)]` and an `IdempotencyStore` (it expires
        // entries), or with a bounded cache such as `moka` with a capacity and a TTL.
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        // ...
    }
}
```

## Fix safety
No fix: choosing a bound (a capacity, an eviction policy, a store) is a design decision.

## Options
None.
"#,
};

/// The rule.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks {
        function: Some(check_fn),
        ..Hooks::NONE
    },
};

/// Calls that leak: (path, message, help).
const LEAKS: &[(&str, &str, &str)] = &[
    (
        "std::boxed::Box::leak",
        "leaks its allocation",
        "keep the value owned (in the handler or behind an `Arc`); leak once at startup if it must be `'static`",
    ),
    (
        "std::vec::Vec::leak",
        "leaks its allocation",
        "keep the value owned (in the handler or behind an `Arc`); leak once at startup if it must be `'static`",
    ),
    (
        "std::string::String::leak",
        "leaks its allocation",
        "keep the value owned (in the handler or behind an `Arc`); leak once at startup if it must be `'static`",
    ),
    (
        "std::mem::forget",
        "never frees the value nor runs its destructor, so its memory and resources leak",
        "let the value drop; to hand it over, store it where its owner can drop it",
    ),
    (
        "core::mem::forget",
        "never frees the value nor runs its destructor, so its memory and resources leak",
        "let the value drop; to hand it over, store it where its owner can drop it",
    ),
];

/// Unbounded channel constructors and their bounded counterparts, for help.
const UNBOUNDED_CHANNELS: &[(&str, &str)] = &[
    (
        "tokio::sync::mpsc::unbounded_channel",
        "tokio::sync::mpsc::channel(capacity)",
    ),
    (
        "std::sync::mpsc::channel",
        "std::sync::mpsc::sync_channel(capacity)",
    ),
    (
        "crossbeam_channel::unbounded",
        "crossbeam_channel::bounded(capacity)",
    ),
    (
        "crossbeam::channel::unbounded",
        "crossbeam::channel::bounded(capacity)",
    ),
    ("flume::unbounded", "flume::bounded(capacity)"),
    (
        "async_channel::unbounded",
        "async_channel::bounded(capacity)",
    ),
    (
        "futures::channel::mpsc::unbounded",
        "futures::channel::mpsc::channel(capacity)",
    ),
];

/// Methods that add to a collection.
const GROW_METHODS: &[&str] = &[
    "push",
    "push_back",
    "push_front",
    "push_str",
    "insert",
    "extend",
    "extend_from_slice",
    "append",
];

/// `entry(..)` methods that insert when the key is new.
const ENTRY_INSERTS: &[&str] = &[
    "or_insert",
    "or_insert_with",
    "or_insert_with_key",
    "or_default",
];

/// Methods that remove from a collection or measure it: evidence the handler bounds it.
const BOUNDING_METHODS: &[&str] = &[
    "remove",
    "swap_remove",
    "pop",
    "pop_front",
    "pop_back",
    "pop_first",
    "pop_last",
    "retain",
    "clear",
    "truncate",
    "drain",
    "split_off",
    "len",
];

/// Methods that reach the collection inside a static without copying it.
const ACCESS_METHODS: &[&str] = &[
    "lock",
    "read",
    "write",
    "borrow_mut",
    "get_mut",
    "get",
    "get_or_init",
    "get_or_insert_with",
    "force",
    "as_mut",
    "deref_mut",
    "unwrap",
    "expect",
    "unwrap_or_else",
];

/// `thread_local!` accessors whose closure receives the value.
const LOCAL_KEY_ACCESSORS: &[&str] = &["with", "with_borrow_mut", "with_borrow"];

/// Scan a handler method's body with the semantic model the engine built for it.
fn check_fn(f: &FnSyntax<'_>, cx: &mut RuleCx<'_>) {
    // A method of a handler impl (not a fn nested in one, nor test code).
    if f.self_ty.is_none() || !cx.in_handler() {
        return;
    }
    let model = cx.semantic();
    let mut scan = BodyScan {
        index: model.index(),
        resolver: model.resolver().clone(),
        model,
        found: Vec::new(),
        bounded: HashSet::new(),
    };
    scan.visit_block(f.body);
    report(f, scan, cx);
}

/// Something a handler body does that grows without bound.
#[derive(Debug)]
enum Finding {
    /// A call of [`LEAKS`] or [`UNBOUNDED_CHANNELS`]: (call, resolved path).
    Call(proc_macro2::Span, String),
    /// A growth method on a static: (from its `.` to its `)`, `.push(..)`, static).
    StaticGrowth([proc_macro2::Span; 2], String, String),
}

fn report(f: &FnSyntax<'_>, scan: BodyScan<'_, '_>, cx: &mut RuleCx<'_>) {
    let handler = f.display_name();
    for finding in scan.found {
        match finding {
            Finding::Call(at, path) => {
                let span = cx.source().span_from(at);
                let short = short_name(&path);
                if let Some((_, what, help)) = LEAKS.iter().find(|(leak, ..)| *leak == path) {
                    cx.report(
                        span,
                        format!("`{short}` in handler `{handler}` {what}, once for every message handled"),
                    )
                    .help(*help);
                } else if let Some((_, bounded)) = UNBOUNDED_CHANNELS
                    .iter()
                    .find(|(channel, _)| *channel == path)
                {
                    cx.report(
                        span,
                        format!(
                            "`{path}` in handler `{handler}` creates an unbounded channel: when its receiver falls behind, the queue grows with every message sent, with no back-pressure"
                        ),
                    )
                    .help(format!("use a bounded channel, `{bounded}`, so senders wait (or fail) when it is full"));
                }
            }
            Finding::StaticGrowth(at, method, name) => {
                if scan.bounded.contains(&name) {
                    continue;
                }
                let source = cx.source();
                let span: Span = source.join(source.span_from(at[0]), source.span_from(at[1]));
                cx.report(
                    span,
                    format!(
                        "`{method}` in handler `{handler}` adds to the static `{name}`: it lives as long as the process, so it grows with every message handled"
                    ),
                )
                .help("bound it (evict old entries, or use a cache with a capacity and a TTL such as `moka`), or keep the data in a store");
            }
        }
    }
}

/// `Box::leak` for `std::boxed::Box::leak`, `mem::forget` for `std::mem::forget`.
fn short_name(path: &str) -> String {
    let mut segments: Vec<&str> = path.rsplit("::").take(2).collect();
    segments.reverse();
    segments.join("::")
}

/// The scan of one handler method's body.
struct BodyScan<'i, 'a> {
    index: &'i FileIndex<'a>,
    /// The method's module resolver, with the scopes of the blocks entered so far.
    resolver: Resolver,
    /// The locals bound so far: one bound to (a guard of) a static stands for it.
    model: SemanticModel<'i, 'a>,
    found: Vec<Finding>,
    /// Statics the body shrinks or measures.
    bounded: HashSet<String>,
}

impl BodyScan<'_, '_> {
    /// The static a path expression names, if any, seeing the first `visible` locals.
    fn static_of_path(&self, path: &syn::Path, visible: usize) -> Option<String> {
        let last = path.segments.last()?.ident.to_string();
        if path.segments.len() == 1
            && let Some(local) = self.model.binding(&last, visible)
            && let Some(name) = local
                .value
                .and_then(|value| self.static_root_with(value, local.at))
        {
            return Some(name);
        }
        // The static's path in the file, when the file declares it (`self::a::CACHE`).
        let in_file = |path: &str| self.index.static_kind(path);
        match self.resolver.resolve(path) {
            // Declared in this file (a `static` item), or a macro-declared static, which no
            // scope binds.
            Some(full) if full == format!("self::{last}") => {
                let ident = &path.segments.last()?.ident;
                in_file(
                    &self
                        .index
                        .static_path(ident, &self.resolver, self.model.module()),
                )
                .map(|_| last)
            }
            None if path.segments.len() == 1 => {
                in_file(&format!("{}::{last}", self.model.module()))
                    .filter(|kind| *kind != StaticKind::Static)
                    .map(|_| last)
            }
            None => None,
            // Imported (`use crate::cache::CACHE;`) or qualified (`state::EVENTS`).
            Some(full) => {
                let imported = full.rsplit("::").next().unwrap_or(&full).to_string();
                let module = full.rsplit("::").nth(1).unwrap_or("");
                let declared_here = self
                    .resolver
                    .local_path(path)
                    .is_some_and(|local| in_file(&local).is_some());
                let from_module =
                    module.starts_with(|c: char| c.is_lowercase()) && is_screaming_case(&imported);
                (declared_here || from_module).then_some(imported)
            }
        }
    }

    /// The static a receiver reaches through access methods, fields and indexing only.
    fn static_root(&self, expr: &syn::Expr) -> Option<String> {
        self.static_root_with(expr, self.model.mark())
    }

    /// [`BodyScan::static_root`] seeing the first `visible` locals.
    fn static_root_with(&self, expr: &syn::Expr, visible: usize) -> Option<String> {
        match expr {
            syn::Expr::Path(path) if path.qself.is_none() => {
                self.static_of_path(&path.path, visible)
            }
            syn::Expr::MethodCall(call)
                if ACCESS_METHODS.contains(&call.method.to_string().as_str()) =>
            {
                self.static_root_with(&call.receiver, visible)
            }
            syn::Expr::Try(inner) => self.static_root_with(&inner.expr, visible),
            syn::Expr::Await(inner) => self.static_root_with(&inner.base, visible),
            syn::Expr::Paren(inner) => self.static_root_with(&inner.expr, visible),
            syn::Expr::Reference(inner) => self.static_root_with(&inner.expr, visible),
            syn::Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Deref(_)) => {
                self.static_root_with(&unary.expr, visible)
            }
            syn::Expr::Field(field) => self.static_root_with(&field.base, visible),
            syn::Expr::Index(index) => self.static_root_with(&index.expr, visible),
            _ => None,
        }
    }
}

/// `CACHE`, `SEEN_IDS`, `V2`: an uppercase name, as statics and consts are written.
fn is_screaming_case(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

impl<'a> Visit<'a> for BodyScan<'_, 'a> {
    fn visit_block(&mut self, block: &'a syn::Block) {
        let scope = Scope::block(&block.stmts);
        let pushed = scope.is_some();
        if let Some(scope) = scope {
            self.resolver.push(scope);
        }
        let mark = self.model.mark();
        visit::visit_block(self, block);
        self.model.reset(mark);
        if pushed {
            self.resolver.pop();
        }
    }

    /// Items nested in a handler body are indexed (and checked) on their own.
    fn visit_item(&mut self, _item: &'a syn::Item) {}

    fn visit_local(&mut self, local: &'a syn::Local) {
        visit::visit_local(self, local);
        self.model.bind_local(local);
    }

    fn visit_expr_for_loop(&mut self, for_loop: &'a syn::ExprForLoop) {
        self.visit_expr(&for_loop.expr);
        let mark = self.model.mark();
        self.model.bind_unknown(&for_loop.pat);
        self.visit_block(&for_loop.body);
        self.model.reset(mark);
    }

    fn visit_expr_closure(&mut self, closure: &'a syn::ExprClosure) {
        let mark = self.model.mark();
        for input in &closure.inputs {
            self.model.bind_unknown(input);
        }
        visit::visit_expr_closure(self, closure);
        self.model.reset(mark);
    }

    fn visit_expr_call(&mut self, call: &'a syn::ExprCall) {
        if let Some(path) = self.resolver.resolve_expr(&call.func) {
            let known = LEAKS.iter().any(|(leak, ..)| *leak == path)
                || UNBOUNDED_CHANNELS
                    .iter()
                    .any(|(channel, _)| *channel == path);
            if known {
                self.found
                    .push(Finding::Call(syn::spanned::Spanned::span(call), path));
            }
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'a syn::ExprMethodCall) {
        let method = call.method.to_string();
        let target = if GROW_METHODS.contains(&method.as_str()) {
            self.static_root(&call.receiver)
        } else if ENTRY_INSERTS.contains(&method.as_str()) {
            match &*call.receiver {
                syn::Expr::MethodCall(entry) if entry.method == "entry" => {
                    self.static_root(&entry.receiver)
                }
                _ => None,
            }
        } else {
            None
        };
        if let Some(target) = target {
            let arguments = if call.args.is_empty() { "" } else { ".." };
            self.found.push(Finding::StaticGrowth(
                [call.dot_token.span, call.paren_token.span.close()],
                format!(".{method}({arguments})"),
                target,
            ));
        }
        if BOUNDING_METHODS.contains(&method.as_str())
            && let Some(target) = self.static_root(&call.receiver)
        {
            self.bounded.insert(target);
        }
        // `LOCAL.with(|buf| ..)`: the closure's parameter is the static's value.
        let local_key = LOCAL_KEY_ACCESSORS.contains(&method.as_str())
            && self.static_root(&call.receiver).is_some();
        if !local_key {
            visit::visit_expr_method_call(self, call);
            return;
        }
        self.visit_expr(&call.receiver);
        for arg in &call.args {
            let parameter = match arg {
                syn::Expr::Closure(closure) => match closure.inputs.first() {
                    Some(input @ syn::Pat::Ident(_)) => Some((closure, input)),
                    _ => None,
                },
                _ => None,
            };
            match parameter {
                Some((closure, input)) => {
                    let mark = self.model.mark();
                    self.model.bind_view(input, &call.receiver);
                    self.visit_expr(&closure.body);
                    self.model.reset(mark);
                }
                None => self.visit_expr(arg),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::diagnostics_for_test;

    fn messages(text: &str) -> Vec<String> {
        diagnostics_for_test(text, &["tokio"])
            .into_iter()
            .filter(|diagnostic| diagnostic.code == "CATGA008")
            .map(|diagnostic| diagnostic.message)
            .collect()
    }

    fn in_handler(prelude: &str, body: &str) -> String {
        format!(
            "use catga::prelude::*;\n{prelude}\nstruct H;\n\
             impl Handler<Cmd> for H {{ async fn handle(&self, cmd: Cmd, ctx: &Context) -> catga::Result<()> {{ {body} Ok(()) }} }}"
        )
    }

    #[test]
    fn leaks_and_unbounded_channels_name_the_construct_and_the_handler() {
        let got = messages(&in_handler(
            "use std::sync::mpsc;",
            "let s: &'static str = Box::leak(cmd.name.into_boxed_str()); std::mem::forget(cmd); \
             let (tx, rx) = mpsc::channel::<u8>(); let (a, b) = tokio::sync::mpsc::unbounded_channel::<u8>(); \
             let (c, d) = mpsc::sync_channel::<u8>(4); let (e, f) = tokio::sync::mpsc::channel::<u8>(4);",
        ));
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(
            got[0],
            "`Box::leak` in handler `H::handle` leaks its allocation, once for every message handled"
        );
        assert!(
            got[1].starts_with("`mem::forget` in handler `H::handle`"),
            "{}",
            got[1]
        );
        assert!(
            got[2].starts_with("`std::sync::mpsc::channel` in handler"),
            "{}",
            got[2]
        );
        assert!(
            got[3].starts_with("`tokio::sync::mpsc::unbounded_channel`"),
            "{}",
            got[3]
        );
    }

    #[test]
    fn inserts_into_statics_through_chains_locals_and_thread_locals_are_reported() {
        let got = messages(&in_handler(
            "static SEEN: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());\n\
             lazy_static::lazy_static! { static ref NAMES: std::sync::Mutex<std::collections::HashMap<u64, u64>> = Default::default(); }\n\
             thread_local! { static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) }; }\n\
             use crate::registry::HANDLED;",
            "SEEN.lock().unwrap().push(1); let mut names = NAMES.lock().unwrap(); names.entry(1).or_default(); \
             BUF.with(|b| b.borrow_mut().push(1)); HANDLED.write().await.insert(2);",
        ));
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(
            got[0],
            "`.push(..)` in handler `H::handle` adds to the static `SEEN`: it lives as long as the process, so it grows with every message handled"
        );
        assert!(
            got[1].contains("`.or_default()`") && got[1].contains("`NAMES`"),
            "{}",
            got[1]
        );
        assert!(got[2].contains("`BUF`"), "{}", got[2]);
        assert!(got[3].contains("`HANDLED`"), "{}", got[3]);
    }

    #[test]
    fn local_collections_consts_bounded_statics_and_copies_are_quiet() {
        let got = messages(&in_handler(
            "static CACHE: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());\n\
             const LIMITS: [u64; 2] = [1, 2];",
            "let mut local = Vec::new(); local.push(1); \
             let mut cache = CACHE.lock().unwrap(); if cache.len() > 100 { cache.remove(0); } cache.push(3); \
             let mut copy = LIMITS.to_vec(); copy.push(4); let mut v = CACHE.lock().unwrap().clone(); v.push(5);",
        ));
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn a_guard_alias_ends_with_its_block_and_is_hidden_by_loop_and_closure_bindings() {
        let got = messages(&in_handler(
            "static SEEN: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());",
            "{ let cmd = SEEN.lock().unwrap(); } cmd.push(9); let mut all = Vec::new(); \
             for seen in [vec![1u64]] { all.push(seen); } let f = |mut seen: Vec<u64>| seen.push(1); \
             { let mut seen = SEEN.lock().unwrap(); seen.push(2); }",
        ));
        assert_eq!(got.len(), 1, "{got:?}");
    }

    #[test]
    fn a_local_rebound_from_a_guard_alias_still_names_the_static() {
        let got = messages(&in_handler(
            "static SEEN: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());",
            "let seen = SEEN.lock().unwrap(); let mut seen = seen; seen.push(cmd.id);",
        ));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("the static `SEEN`"), "{}", got[0]);
    }

    #[test]
    fn code_outside_handlers_is_quiet() {
        let got = messages(
            "static SEEN: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());\n\
             fn remember(id: u64) { SEEN.lock().unwrap().push(id); let (tx, rx) = std::sync::mpsc::channel::<u8>(); }",
        );
        assert!(got.is_empty(), "{got:?}");
    }
}
