//! CATGA007 lock-across-await: a blocking lock guard or `RefCell` borrow still alive at an
//! `.await` of the same async body, bound with `let` or a temporary of the statement.
//!
//! Each async body (`async fn`, `async` block, async closure) is scanned in source order with the
//! guards its blocks bind (what counts as a guard is [`crate::locks`]): a guard dies at the end of
//! its block, when it is dropped or moved, and is reported at the first `.await` it is alive
//! across. Branches are merged: after an `if` or `match`, a guard counts as released only when
//! every branch that falls through released it. A temporary guard lives to the end of its
//! temporary scope (the statement, an `if` condition, a `match` arm; a `match` scrutinee's lives
//! through the whole `match`, an `if let` scrutinee's through its block). The fix ends a bound
//! guard's scope with a block (not `drop`, which leaves the future `!Send`).

use crate::context::AsyncContext;
use crate::diagnostic::{Applicability, Edit, Fix, Severity};
use crate::locks::{GuardKind, Locks};
use crate::rule::{FixAvailability, FnSyntax, Hooks, Rule, RuleCx, RuleMeta};
use crate::semantic::{SemanticModel, bound_names, mentions_variable};
use crate::source::SourceFile;
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use std::collections::HashSet;

static META: RuleMeta = RuleMeta {
    code: "CATGA007",
    name: "lock-across-await",
    severity: Severity::Warning,
    fix: FixAvailability::Sometimes,
    fix_applicabilities: &[Applicability::Safe, Applicability::DisplayOnly],
    summary: "A std::sync or parking_lot lock guard, or a RefCell borrow, alive across an `.await`",
    docs: r#"## What it does
Reports a guard that is still alive when the same async body reaches an `.await`:

- `std::sync::Mutex::lock()`, `RwLock::read()` / `write()` (reached through `.unwrap()`,
  `.expect(..)`, `.unwrap_or_else(..)`, `.map_err(..)` and `?`)
- `parking_lot::Mutex::lock()` / `lock_arc()`, `RwLock::read()` / `write()` / `read_arc()` /
  `write_arc()` / `upgradable_read()`
- `RefCell::borrow()` / `borrow_mut()`
- a call of a fn of the same file whose declared return type is one of those guards
  (`fn state(&self) -> RefMut<'_, State>`, also inside `Result` or `Option`)

An await point is an `.await`, or a macro of tokio or futures that awaits the futures it is
given: `select!`, `select_biased!`, `join!`, `try_join!` (written with their crate's path, or
imported at the top of the file with `use tokio::select;`). A guard alive when a `select!` starts
is held until one of its arms' futures is ready.

The guard may be bound with `let`, or be a temporary that lives to the `.await`: in the awaited
call itself (`self.client.lock().unwrap().upload().await`), in the statement holding the
`.await`, or in the scrutinee of a `match` (alive through the whole `match`) or `if let`
(alive through its block). A guard stops being alive at the end of its block, at `drop(guard)`
and when it is moved; after an `if` or `match`, only when every branch that reaches the code
after it released it (a `drop` in a branch that returns does not count for the others).

Method calls are only syntax, so the rule asks for evidence of the lock's type: `.lock()`,
`.read()` and `.write()` count when their `Result` is unwrapped (only std's locks return one) or
when the receiver's declared type (a parameter, a `let` with a type, a constructor or a clone of
a known value such as `self.state.clone()` or `Arc::clone(&state)`, a static, a field of a
struct in the same file, through the file's type aliases) is a std or parking_lot lock;
`lock_arc()` and the other `*_arc` methods need a declared parking_lot lock or a crate that
depends on parking_lot; `.borrow()`/`.borrow_mut()` a declared `RefCell`. Async locks
(`tokio::sync::Mutex`, async-lock, futures, anything locked with `.lock().await`), types declared
in the same module (they have their own `lock()`), and temporaries whose scope ends before the
`.await` (`*m.lock().unwrap() += 1;`, `if m.lock().unwrap().is_empty() { .. }`) are not
reported.

## Why is this bad?
While the future is suspended at the `.await`, the lock stays held: every other task (and thread)
that needs it blocks its executor thread until this task is polled again, which can be never when
they share a thread (a deadlock). A held std or parking_lot guard also makes the future `!Send`,
so it cannot be spawned on a multi-threaded runtime. A `RefCell` borrow held across an `.await`
panics any other task on the thread that borrows the cell meanwhile.

## Example
```rust
async fn record(&self, amount: u64) {
    let mut totals = self.totals.lock().unwrap();
    *totals += amount;
    self.flush().await;
}
```

## Use instead
```rust
async fn record(&self, amount: u64) {
    {
        let mut totals = self.totals.lock().unwrap();
        *totals += amount;
    }
    self.flush().await;
}
```
When the lock must be held across the `.await`, use `tokio::sync::Mutex` and `.lock().await`.
`drop(totals);` before the `.await` releases the lock, but is not enough: the compiler still
counts the guard as alive across the `.await`, so the future stays `!Send` and cannot be
spawned on a multi-threaded runtime. End the guard's scope with a block.

## Fix safety
The fix moves the guard's `let` and the statements after it, up to the statement holding the
`.await`, into a block of their own, and is offered only when the guard is not mentioned from
that statement on and the moved statements hold no `.await` themselves. A temporary guard has no
fix: where the value it yields should live is the author's choice. A value those statements bind and later code reads is handed out of the
block (`let first = { let names = ..; let first = names.first().cloned(); first };`).
It is safe when every value handed out is an immutable binding whose value evidently owns its
data (a literal, arithmetic, a cast, `*guard`, `format!`, `.clone()`, `.cloned()`, `.len()`,
`.to_string()`, ...): then only the moment the lock is released changes, to before the
suspension. Otherwise (a value that may borrow from the guard, a `mut` binding) the fix is
display-only: shown as a suggestion, never applied.

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

/// Scan one fn's body (its async blocks and closures included) with the semantic model the
/// engine built for it, binding the body's locals in a copy of it as the scan goes.
fn check_fn(f: &FnSyntax<'_>, cx: &mut RuleCx<'_>) {
    let model = cx.semantic();
    // No await point, nothing alive across one.
    if !model.index().may_await(f.body) {
        return;
    }
    let locks = Locks::new(cx.depends_on("parking_lot"));
    let fn_name = f.sig.ident.to_string();
    let mut scan = BodyScan::new(model, cx.source(), locks, fn_name.clone());
    let context = f
        .sig
        .asyncness
        .map(|_| AsyncContext::AsyncFn { name: &fn_name }.to_string());
    scan.scan_body(context, |scan| scan.scan_block(f.body));
    for crossing in &scan.crossings {
        report(crossing, cx);
    }
    for temporary in &scan.temporaries {
        report_temporary(temporary, cx);
    }
}

/// The name a `let` binds when its pattern is a plain identifier (`g`, `mut g`, `g: T`).
fn plain_binding(pat: &syn::Pat) -> Option<&syn::Ident> {
    match pat {
        syn::Pat::Ident(ident) if ident.subpat.is_none() && ident.by_ref.is_none() => {
            Some(&ident.ident)
        }
        syn::Pat::Type(typed) => plain_binding(&typed.pat),
        _ => None,
    }
}

/// A guard bound by a `let` of the body being scanned.
#[derive(Debug)]
struct Guard<'a> {
    name: String,
    kind: GuardKind,
    local: &'a syn::Local,
    lock_call: &'a syn::Expr,
    /// Index of the declaring block in [`BodyState::blocks`].
    depth: usize,
    /// Dropped or moved.
    released: bool,
    /// A later binding reuses the name, so the name no longer refers to this guard.
    shadowed: bool,
    /// The first `.await` it is alive across, and the index (in the declaring block) of the
    /// statement holding that `.await`.
    crossing: Option<(proc_macro2::Span, usize)>,
}

/// A guard alive across an `.await`, ready to report.
#[derive(Debug)]
struct Crossing<'a> {
    guard: Guard<'a>,
    block: &'a syn::Block,
    /// "async fn `record`".
    context: String,
}

/// A guard no `let` binds (`m.lock().unwrap().len()`): it lives until the end of its temporary
/// scope (the statement; an `if` condition; a `match` arm; the scrutinee of a `match`, which is
/// the whole `match`; of an `if let`, its `then` block).
#[derive(Debug)]
struct Temporary<'a> {
    kind: GuardKind,
    lock_call: &'a syn::Expr,
    /// The first `.await` it is alive across.
    crossing: Option<proc_macro2::Span>,
    /// "async fn `record`".
    context: String,
}

/// The scan state of one async (or plain) body.
#[derive(Debug, Default)]
struct BodyState<'a> {
    /// The body's async context; `None` for the body of a plain fn.
    context: Option<String>,
    guards: Vec<Guard<'a>>,
    /// Enclosing blocks, innermost last, with the index of the statement being scanned.
    blocks: Vec<(&'a syn::Block, usize)>,
    /// Inside a plain closure, where no `.await` can be.
    closure_depth: usize,
    /// Temporary guards alive here, outermost temporary scope first.
    temporaries: Vec<Temporary<'a>>,
}

/// Whether an expression is read as a value (moving a guard) or as a place (borrowing it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Value,
    Place,
}

/// Scans one fn: its own body and every async block or closure inside it.
#[derive(Debug)]
struct BodyScan<'i, 'a> {
    model: SemanticModel<'i, 'a>,
    /// The file, for the text of macro calls.
    source: &'i SourceFile,
    locks: Locks,
    fn_name: String,
    state: BodyState<'a>,
    /// Lock calls already accounted for: bound by a `let`, or the inner call of a temporary
    /// already recorded (`m.lock()` inside `m.lock().unwrap()`).
    claimed: HashSet<*const syn::Expr>,
    crossings: Vec<Crossing<'a>>,
    temporaries: Vec<Temporary<'a>>,
}

/// Macros of tokio and futures that await the futures they are given: an await point like
/// `.await`, wherever a guard is alive (`tokio::select!` suspends the task until an arm's
/// future is ready).
const AWAITING_MACROS: [&str; 4] = ["select", "select_biased", "join", "try_join"];

impl<'i, 'a> BodyScan<'i, 'a> {
    fn new(
        model: SemanticModel<'i, 'a>,
        source: &'i SourceFile,
        locks: Locks,
        fn_name: String,
    ) -> Self {
        BodyScan {
            model,
            source,
            locks,
            fn_name,
            state: BodyState::default(),
            claimed: HashSet::new(),
            crossings: Vec::new(),
            temporaries: Vec::new(),
        }
    }

    /// Scan a body with fresh guard state, then return to the enclosing body's.
    fn scan_body(&mut self, context: Option<String>, scan: impl FnOnce(&mut Self)) {
        let outer = std::mem::replace(
            &mut self.state,
            BodyState {
                context,
                ..BodyState::default()
            },
        );
        let mark = self.model.mark();
        scan(self);
        self.model.reset(mark);
        self.state = outer;
    }

    /// Scan `scan` as one temporary scope: the temporary guards it creates die at its end.
    fn temporary_scope(&mut self, scan: impl FnOnce(&mut Self)) {
        let first = self.state.temporaries.len();
        scan(self);
        for temporary in self.state.temporaries.drain(first..) {
            if temporary.crossing.is_some() {
                self.temporaries.push(temporary);
            }
        }
    }

    fn scan_block(&mut self, block: &'a syn::Block) {
        let mark = self.model.mark();
        let first_guard = self.state.guards.len();
        self.state.blocks.push((block, 0));
        for (index, stmt) in block.stmts.iter().enumerate() {
            if let Some(current) = self.state.blocks.last_mut() {
                current.1 = index;
            }
            self.temporary_scope(|scan| scan.scan_stmt(stmt));
        }
        self.state.blocks.pop();
        // The block's guards die here.
        for guard in self.state.guards.drain(first_guard..).collect::<Vec<_>>() {
            if guard.crossing.is_some()
                && let Some(context) = &self.state.context
            {
                self.crossings.push(Crossing {
                    guard,
                    block,
                    context: context.clone(),
                });
            }
        }
        self.model.reset(mark);
    }

    fn scan_stmt(&mut self, stmt: &'a syn::Stmt) {
        match stmt {
            syn::Stmt::Local(local) => self.scan_local(local),
            syn::Stmt::Expr(expr, _) => self.scan_expr(expr, Use::Value),
            syn::Stmt::Macro(mac) => self.scan_macro(&mac.mac),
            syn::Stmt::Item(_) => {}
        }
    }

    fn scan_local(&mut self, local: &'a syn::Local) {
        let guard = match (plain_binding(&local.pat), &local.init) {
            (Some(name), Some(init)) if init.diverge.is_none() => self
                .locks
                .guard_of(&init.expr, &self.model)
                .map(|(kind, lock_call)| (name.to_string(), kind, lock_call)),
            _ => None,
        };
        if let Some((_, _, lock_call)) = &guard {
            self.claimed.insert(std::ptr::from_ref(*lock_call));
        }
        if let Some(init) = &local.init {
            self.scan_expr(&init.expr, Use::Value);
            if let Some((_, diverge)) = &init.diverge {
                self.scan_expr(diverge, Use::Value);
            }
        }
        self.shadow(&local.pat);
        self.model.bind_local(local);
        if let Some((name, kind, lock_call)) = guard {
            let depth = self.state.blocks.len().saturating_sub(1);
            self.state.guards.push(Guard {
                name,
                kind,
                local,
                lock_call,
                depth,
                released: false,
                shadowed: false,
                crossing: None,
            });
        }
    }

    /// A new binding of a guard's name: the name no longer refers to the guard.
    fn shadow(&mut self, pat: &syn::Pat) {
        let mut names = Vec::new();
        bound_names(pat, &mut names);
        for guard in &mut self.state.guards {
            if names.contains(&guard.name) {
                guard.shadowed = true;
            }
        }
    }

    fn bind_pattern(&mut self, pat: &syn::Pat) {
        self.shadow(pat);
        self.model.bind_unknown(pat);
    }

    /// A guard named `name` is moved (or dropped) here.
    fn release(&mut self, name: &str) {
        if let Some(guard) = self
            .state
            .guards
            .iter_mut()
            .rev()
            .find(|guard| guard.name == name && !guard.shadowed)
        {
            guard.released = true;
        }
    }

    /// Which guards are released, for merging branches.
    fn released(&self) -> Vec<bool> {
        self.state
            .guards
            .iter()
            .map(|guard| guard.released)
            .collect()
    }

    fn set_released(&mut self, released: &[bool]) {
        for (guard, released) in self.state.guards.iter_mut().zip(released) {
            guard.released = *released;
        }
    }

    /// After one of several alternative branches (each scanned from the released flags
    /// `before`): fold what it released into `merged`, and reset for the next branch. After
    /// them a guard counts as released only when every branch that falls through released it
    /// (a branch that returns, breaks or continues does not reach the code after).
    fn end_branch(&mut self, before: &[bool], merged: &mut Option<Vec<bool>>, diverges: bool) {
        if !diverges {
            let after = self.released();
            *merged = Some(match merged.take() {
                None => after,
                Some(merged) => merged.iter().zip(&after).map(|(a, b)| *a && *b).collect(),
            });
        }
        self.set_released(before);
    }

    /// After the last branch: the merged flags (when every branch diverges nothing after is
    /// reached from here, and the flags stay as they were).
    fn end_branches(&mut self, merged: Option<Vec<bool>>) {
        if let Some(merged) = merged {
            self.set_released(&merged);
        }
    }

    /// Every guard alive here is alive across this `.await`.
    fn on_await(&mut self, at: proc_macro2::Span) {
        if self.state.context.is_none() || self.state.closure_depth > 0 {
            return;
        }
        let blocks = &self.state.blocks;
        for guard in &mut self.state.guards {
            if !guard.released
                && guard.crossing.is_none()
                && let Some(&(_, statement)) = blocks.get(guard.depth)
            {
                guard.crossing = Some((at, statement));
            }
        }
        for temporary in &mut self.state.temporaries {
            temporary.crossing.get_or_insert(at);
        }
    }

    /// A `move` closure or async block captures every guard it mentions.
    fn capture_by_move(&mut self, captured: &impl ToTokens) {
        let live: Vec<String> = self
            .state
            .guards
            .iter()
            .filter(|guard| !guard.released && !guard.shadowed)
            .map(|guard| guard.name.clone())
            .collect();
        if live.is_empty() {
            return;
        }
        let tokens = captured.to_token_stream();
        for name in live {
            if mentions_variable(tokens.clone(), &name) {
                self.release(&name);
            }
        }
    }

    /// A macro call: its arguments are scanned for `.await`; `tokio::select!`, `join!` and the
    /// like (tokio's or futures', by path or imported) are an await point themselves, after the
    /// futures they are given are made.
    fn scan_macro(&mut self, mac: &syn::Macro) {
        // Outside an async body, or in a plain closure, nothing is an await point.
        if self.state.context.is_none() || self.state.closure_depth > 0 {
            return;
        }
        let Some(last) = mac.path.segments.last() else {
            self.scan_macro_tokens(mac);
            return;
        };
        let awaiting = AWAITING_MACROS.iter().any(|name| last.ident == name)
            && match mac.path.segments.first() {
                Some(first) if mac.path.segments.len() > 1 => {
                    first.ident == "tokio" || first.ident == "futures"
                }
                // `select!` after `use tokio::select;` awaits as `tokio::select!` does.
                _ => self
                    .model
                    .resolver()
                    .resolve(&mac.path)
                    .is_some_and(|path| {
                        path.starts_with("tokio::") || path.starts_with("futures::")
                    }),
            };
        // The macro suspends the task before any `.await` of its arms runs.
        if awaiting {
            self.on_await(last.ident.span());
        }
        self.scan_macro_tokens(mac);
    }

    /// Scan a macro's arguments for `.await`: only when its text holds `await` at all, which
    /// spares copying the tokens of every `format!` and `assert!`.
    fn scan_macro_tokens(&mut self, mac: &syn::Macro) {
        let group = match &mac.delimiter {
            syn::MacroDelimiter::Paren(paren) => paren.span.join(),
            syn::MacroDelimiter::Brace(brace) => brace.span.join(),
            syn::MacroDelimiter::Bracket(bracket) => bracket.span.join(),
        };
        let span = self.source.span_from(group);
        if self.source.text_of(span).contains("await") {
            self.scan_tokens(mac.tokens.clone());
        }
    }

    /// Macro arguments are opaque: look for `.await` in them; mentions are borrows.
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let mut after_dot = false;
        for token in tokens {
            match &token {
                TokenTree::Group(group) => self.scan_tokens(group.stream()),
                TokenTree::Ident(ident) if after_dot && ident == "await" => {
                    self.on_await(ident.span())
                }
                _ => {}
            }
            after_dot = matches!(&token, TokenTree::Punct(punct) if punct.as_char() == '.');
        }
    }

    /// A lock call no `let` binds: a temporary guard from when the call returns.
    fn temporary_guard(&mut self, expr: &'a syn::Expr) -> Option<(GuardKind, &'a syn::Expr)> {
        if self.state.context.is_none() || self.state.closure_depth > 0 {
            return None;
        }
        let (kind, lock_call) = self.locks.guard_of(expr, &self.model)?;
        self.claimed
            .insert(std::ptr::from_ref(lock_call))
            .then_some((kind, lock_call))
    }

    fn scan_expr(&mut self, expr: &'a syn::Expr, usage: Use) {
        match expr {
            syn::Expr::Await(await_expr) => {
                // What is awaited is a future, not a guard (`lock.lock_arc().await` of an
                // async lock).
                if let Some((_, lock_call)) = self.locks.guard_of(&await_expr.base, &self.model) {
                    self.claimed.insert(std::ptr::from_ref(lock_call));
                }
                self.scan_expr(&await_expr.base, Use::Value);
                self.on_await(await_expr.await_token.span);
            }
            syn::Expr::Path(path) => {
                if usage == Use::Value
                    && let Some(ident) = path.path.get_ident()
                {
                    self.release(&ident.to_string());
                }
            }
            syn::Expr::Call(call) => {
                let temporary = self.temporary_guard(expr);
                self.scan_expr(&call.func, Use::Place);
                call.args
                    .iter()
                    .for_each(|arg| self.scan_expr(arg, Use::Value));
                self.hold(temporary);
            }
            syn::Expr::MethodCall(call) => {
                let temporary = self.temporary_guard(expr);
                self.scan_expr(&call.receiver, Use::Place);
                call.args
                    .iter()
                    .for_each(|arg| self.scan_expr(arg, Use::Value));
                self.hold(temporary);
            }
            syn::Expr::Field(field) => self.scan_expr(&field.base, Use::Place),
            syn::Expr::Index(index) => {
                self.scan_expr(&index.expr, Use::Place);
                self.scan_expr(&index.index, Use::Value);
            }
            syn::Expr::Unary(unary) => self.scan_expr(&unary.expr, Use::Place),
            syn::Expr::Reference(reference) => self.scan_expr(&reference.expr, Use::Place),
            syn::Expr::RawAddr(raw) => self.scan_expr(&raw.expr, Use::Place),
            syn::Expr::Binary(binary) => {
                // The operands of `&&` and `||` are temporary scopes of their own.
                if matches!(binary.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) {
                    self.temporary_scope(|scan| scan.scan_expr(&binary.left, Use::Place));
                    self.temporary_scope(|scan| scan.scan_expr(&binary.right, Use::Place));
                } else {
                    self.scan_expr(&binary.left, Use::Place);
                    self.scan_expr(&binary.right, Use::Place);
                }
            }
            syn::Expr::Assign(assign) => {
                self.scan_expr(&assign.left, Use::Place);
                self.scan_expr(&assign.right, Use::Value);
            }
            syn::Expr::Block(block) => self.scan_block(&block.block),
            syn::Expr::Unsafe(block) => self.scan_block(&block.block),
            syn::Expr::TryBlock(block) => self.scan_block(&block.block),
            syn::Expr::If(if_expr) => {
                let before = self.released();
                let mut merged = None;
                let mark = self.model.mark();
                // The scrutinee of `if let` lives through the `then` block; a plain condition
                // is a temporary scope of its own.
                self.temporary_scope(|scan| {
                    if matches!(&*if_expr.cond, syn::Expr::Let(_)) {
                        scan.scan_expr(&if_expr.cond, Use::Place);
                    } else {
                        scan.temporary_scope(|scan| scan.scan_expr(&if_expr.cond, Use::Place));
                    }
                    scan.scan_block(&if_expr.then_branch);
                });
                self.model.reset(mark);
                self.end_branch(&before, &mut merged, diverges(&if_expr.then_branch));
                let else_diverges = match &if_expr.else_branch {
                    Some((_, otherwise)) => {
                        self.scan_expr(otherwise, Use::Value);
                        expr_diverges(otherwise)
                    }
                    None => false,
                };
                self.end_branch(&before, &mut merged, else_diverges);
                self.end_branches(merged);
            }
            syn::Expr::Let(let_expr) => {
                self.scan_expr(&let_expr.expr, Use::Place);
                self.bind_pattern(&let_expr.pat);
            }
            syn::Expr::While(while_expr) => {
                let mark = self.model.mark();
                self.temporary_scope(|scan| {
                    if matches!(&*while_expr.cond, syn::Expr::Let(_)) {
                        scan.scan_expr(&while_expr.cond, Use::Place);
                    } else {
                        scan.temporary_scope(|scan| scan.scan_expr(&while_expr.cond, Use::Place));
                    }
                    scan.scan_block(&while_expr.body);
                });
                self.model.reset(mark);
            }
            syn::Expr::ForLoop(for_loop) => {
                self.scan_expr(&for_loop.expr, Use::Value);
                let mark = self.model.mark();
                self.bind_pattern(&for_loop.pat);
                self.scan_block(&for_loop.body);
                self.model.reset(mark);
            }
            syn::Expr::Loop(loop_expr) => self.scan_block(&loop_expr.body),
            syn::Expr::Match(match_expr) => {
                // The scrutinee's temporaries live through the whole `match`.
                self.scan_expr(&match_expr.expr, Use::Place);
                let before = self.released();
                let mut merged = None;
                for arm in &match_expr.arms {
                    let mark = self.model.mark();
                    self.bind_pattern(&arm.pat);
                    if let Some((_, guard)) = &arm.guard {
                        self.temporary_scope(|scan| scan.scan_expr(guard, Use::Place));
                    }
                    self.temporary_scope(|scan| scan.scan_expr(&arm.body, Use::Value));
                    self.model.reset(mark);
                    self.end_branch(&before, &mut merged, expr_diverges(&arm.body));
                }
                self.end_branches(merged);
            }
            syn::Expr::Closure(closure) => self.scan_closure(closure),
            syn::Expr::Async(async_block) => {
                if async_block.capture.is_some() {
                    self.capture_by_move(&async_block.block);
                }
                let context = AsyncContext::AsyncBlock {
                    in_fn: Some(self.fn_name.as_str()),
                }
                .to_string();
                self.scan_body(Some(context), |scan| scan.scan_block(&async_block.block));
            }
            syn::Expr::Macro(mac) => self.scan_macro(&mac.mac),
            syn::Expr::Paren(paren) => self.scan_expr(&paren.expr, usage),
            syn::Expr::Group(group) => self.scan_expr(&group.expr, usage),
            syn::Expr::Return(ret) => self.scan_optional(ret.expr.as_deref()),
            syn::Expr::Break(brk) => self.scan_optional(brk.expr.as_deref()),
            syn::Expr::Yield(yld) => self.scan_optional(yld.expr.as_deref()),
            syn::Expr::Try(try_expr) => self.scan_expr(&try_expr.expr, Use::Value),
            syn::Expr::Cast(cast) => self.scan_expr(&cast.expr, Use::Value),
            syn::Expr::Tuple(tuple) => tuple
                .elems
                .iter()
                .for_each(|elem| self.scan_expr(elem, Use::Value)),
            syn::Expr::Array(array) => array
                .elems
                .iter()
                .for_each(|elem| self.scan_expr(elem, Use::Value)),
            syn::Expr::Repeat(repeat) => self.scan_expr(&repeat.expr, Use::Value),
            syn::Expr::Range(range) => {
                self.scan_optional(range.start.as_deref());
                self.scan_optional(range.end.as_deref());
            }
            syn::Expr::Struct(strukt) => {
                strukt
                    .fields
                    .iter()
                    .for_each(|field| self.scan_expr(&field.expr, Use::Value));
                self.scan_optional(strukt.rest.as_deref());
            }
            // Literals, `continue`, `const` blocks (evaluated at compile time), verbatim tokens.
            _ => {}
        }
    }

    /// A temporary guard found at a call, held from the moment the call returned.
    fn hold(&mut self, temporary: Option<(GuardKind, &'a syn::Expr)>) {
        let (Some((kind, lock_call)), Some(context)) = (temporary, &self.state.context) else {
            return;
        };
        let context = context.clone();
        self.state.temporaries.push(Temporary {
            kind,
            lock_call,
            crossing: None,
            context,
        });
    }

    fn scan_optional(&mut self, expr: Option<&'a syn::Expr>) {
        if let Some(expr) = expr {
            self.scan_expr(expr, Use::Value);
        }
    }

    fn scan_closure(&mut self, closure: &'a syn::ExprClosure) {
        if closure.capture.is_some() {
            self.capture_by_move(&closure.body);
        }
        let mark = self.model.mark();
        closure
            .inputs
            .iter()
            .for_each(|input| self.bind_pattern(input));
        if closure.asyncness.is_some() {
            let context = AsyncContext::AsyncClosure {
                in_fn: Some(self.fn_name.as_str()),
            }
            .to_string();
            self.scan_body(Some(context), |scan| {
                scan.scan_expr(&closure.body, Use::Value)
            });
        } else {
            self.state.closure_depth += 1;
            self.temporary_scope(|scan| scan.scan_expr(&closure.body, Use::Value));
            self.state.closure_depth -= 1;
        }
        self.model.reset(mark);
    }
}

/// Whether a block never reaches its end: its last statement returns, breaks, continues or
/// panics.
fn diverges(block: &syn::Block) -> bool {
    match block.stmts.last() {
        Some(syn::Stmt::Expr(expr, _)) => expr_diverges(expr),
        Some(syn::Stmt::Macro(mac)) => is_panic_macro(&mac.mac),
        _ => false,
    }
}

fn expr_diverges(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Return(_) | syn::Expr::Break(_) | syn::Expr::Continue(_) => true,
        syn::Expr::Block(block) => diverges(&block.block),
        syn::Expr::Macro(mac) => is_panic_macro(&mac.mac),
        _ => false,
    }
}

fn is_panic_macro(mac: &syn::Macro) -> bool {
    mac.path.segments.last().is_some_and(|last| {
        matches!(
            last.ident.to_string().as_str(),
            "panic" | "unreachable" | "todo" | "unimplemented"
        )
    })
}

fn report(crossing: &Crossing<'_>, cx: &mut RuleCx<'_>) {
    let guard = &crossing.guard;
    let Some((await_span, _)) = guard.crossing else {
        return;
    };
    let await_line = cx.source().span_from(await_span).start_pos.line;
    let point = await_point(await_span, cx);
    let lock_call: String = cx
        .text(cx.span(guard.lock_call))
        .lines()
        .map(str::trim)
        .collect();
    let name = &guard.name;
    let message = format!(
        "`{name}` holds a {} from `{lock_call}` across {point} on line {await_line} in {}",
        guard.kind.type_name(),
        crossing.context,
    );
    let help = if guard.kind.is_refcell() {
        format!(
            "end the borrow before {point} on line {await_line}: put `{name}` and its uses in a block of their own"
        )
    } else {
        format!(
            "end the guard's scope before {point} on line {await_line}: put `{name}` and its uses in a block of their own \
             (`drop({name});` releases the lock, but the future stays `!Send`); \
             if it must stay held, use `tokio::sync::Mutex`/`RwLock` and `.lock().await`"
        )
    };
    let fix = scope_fix(crossing, await_line, &point, cx);
    let span = cx.span(guard.local);
    let builder = cx.report(span, message).help(help);
    if let Some(fix) = fix {
        builder.fix(fix);
    }
}

/// How a message names the await point at `span`: "the `.await`", or "the `select!`" for an
/// awaiting macro.
fn await_point(span: proc_macro2::Span, cx: &RuleCx<'_>) -> String {
    match cx.text(cx.source().span_from(span)) {
        "await" | "" => "the `.await`".to_string(),
        name => format!("the `{name}!`"),
    }
}

/// A temporary guard (no `let` binds it) alive at an `.await`: no fix, since where the value
/// it yields should live is the author's choice.
fn report_temporary(temporary: &Temporary<'_>, cx: &mut RuleCx<'_>) {
    let Some(await_span) = temporary.crossing else {
        return;
    };
    let await_line = cx.source().span_from(await_span).start_pos.line;
    let point = await_point(await_span, cx);
    let span = cx.span(temporary.lock_call);
    let lock_call: String = cx.text(span).lines().map(str::trim).collect();
    let message = format!(
        "the temporary {} from `{lock_call}` is still alive at {point} on line {await_line} in {}: \
         a temporary lives to the end of its statement (of the whole `match`, or the `if let` block, \
         whose scrutinee holds it)",
        temporary.kind.type_name(),
        temporary.context,
    );
    let help = "read what you need in a statement of its own before the `.await` \
                (`let value = lock.lock().unwrap().clone();`), so the guard is released there";
    cx.report(span, message).help(help);
}

/// End the guard's scope before the statement holding the `.await`: the guard's `let` and the
/// statements after it up to that statement go into a block of their own. Only a block makes the
/// future `Send` again; `drop(guard)` releases the lock but the compiler still counts the guard
/// as held across the `.await`.
///
/// Values the moved statements bind and later code reads are handed out of the block
/// (`let first = { let names = ..; let first = names.first().cloned(); first };`), when each is
/// a plain immutable binding whose value is evidently owned (it cannot borrow from the guard).
/// When that cannot be shown, the fix is display-only: shown, never applied.
fn scope_fix(
    crossing: &Crossing<'_>,
    await_line: u32,
    point: &str,
    cx: &RuleCx<'_>,
) -> Option<Fix> {
    let guard = &crossing.guard;
    let (_, statement) = guard.crossing?;
    let stmts = &crossing.block.stmts;
    let first = stmts.iter().position(
        |stmt| matches!(stmt, syn::Stmt::Local(local) if std::ptr::eq(local, guard.local)),
    )?;
    let rest = stmts.get(statement..)?;
    let scoped = stmts.get(first..statement)?;
    if guard.shadowed
        || scoped.is_empty()
        || rest
            .iter()
            .any(|stmt| mentions_variable(stmt.to_token_stream(), &guard.name))
        // An item or macro declared in the block would no longer be visible after it.
        || scoped.iter().any(|stmt| matches!(stmt, syn::Stmt::Item(_)))
        // An `.await` inside the block (after a `drop` in a branch) would still see the guard
        // in scope: the future would stay `!Send`.
        || scoped
            .iter()
            .any(|stmt| contains_await(stmt.to_token_stream()))
    {
        return None;
    }
    let text = &cx.source().text;
    let start = cx.span(&scoped[0]).start;
    let end = cx.span(scoped.last()?).end;
    let line_start = text[..start].rfind('\n').map_or(0, |newline| newline + 1);
    let indent = &text[line_start..start];
    let line_end = text[end..]
        .find('\n')
        .map_or(text.len(), |newline| end + newline);
    let after = text[end..line_end].trim_start();
    // The block is written as whole lines: the guard's `let` must start its line and the last
    // moved statement end its own (a trailing `//` comment moves with it).
    if !indent.trim().is_empty() || !(after.is_empty() || after.starts_with("//")) {
        return None;
    }
    let mut escaping: Vec<String> = Vec::new();
    let mut owned = true;
    for stmt in &scoped[1..] {
        let syn::Stmt::Local(local) = stmt else {
            continue;
        };
        let mut names = Vec::new();
        bound_names(&local.pat, &mut names);
        let read_later: Vec<String> = names
            .into_iter()
            .filter(|name| {
                rest.iter()
                    .any(|stmt| mentions_variable(stmt.to_token_stream(), name))
            })
            .collect();
        if read_later.is_empty() {
            continue;
        }
        let handed_out = matches!(
            (immutable_binding(&local.pat), &local.init),
            (Some(_), Some(init)) if init.diverge.is_none() && evidently_owned(&init.expr)
        );
        owned &= handed_out;
        for name in read_later {
            escaping.retain(|known| *known != name);
            escaping.push(name);
        }
    }
    // A single value bound by the last moved statement becomes the block's tail expression
    // (`let first = { ..; names.first().cloned() };`, as clippy's `let_and_return` asks).
    let tail = match (escaping.as_slice(), scoped.last()) {
        ([one], Some(syn::Stmt::Local(local)))
            if immutable_binding(&local.pat).is_some_and(|ident| ident == one) =>
        {
            local.init.as_ref().map(|init| {
                let binding = cx.text(cx.span(&local.pat)).to_string();
                (binding, cx.span(local), cx.span(&init.expr))
            })
        }
        _ => None,
    };
    let moved = match &tail {
        Some((_, local, init)) => format!(
            "{}{}{}",
            &text[line_start..local.start],
            &text[init.start..init.end],
            &text[local.end..line_end]
        ),
        None => text[line_start..line_end].to_string(),
    };
    let body: String = moved
        .lines()
        .map(|line| {
            if line.trim().is_empty() {
                "\n".to_string()
            } else {
                format!("    {line}\n")
            }
        })
        .collect();
    let name = &guard.name;
    let ends = format!("Scope `{name}` in a block that ends before {point} on line {await_line}");
    let (replacement, description) = match (escaping.as_slice(), &tail) {
        ([], _) => (format!("{indent}{{\n{body}{indent}}}"), ends),
        (_, Some((binding, _, _))) => (
            format!("{indent}let {binding} = {{\n{body}{indent}}};"),
            format!("{ends}, handing out `{}`", escaping.join("`, `")),
        ),
        (names, None) => {
            let value = if let [one] = names {
                one.clone()
            } else {
                format!("({})", names.join(", "))
            };
            (
                format!("{indent}let {value} = {{\n{body}{indent}    {value}\n{indent}}};"),
                format!("{ends}, handing out `{}`", escaping.join("`, `")),
            )
        }
    };
    let span = cx.source().span_of_bytes(line_start, line_end);
    let applicability = if owned {
        Applicability::Safe
    } else {
        Applicability::DisplayOnly
    };
    Some(Fix::new(
        applicability,
        description,
        vec![Edit::replace(span, replacement)],
    ))
}

/// Whether `tokens` hold an `.await` (nested async blocks and closures included: close enough
/// for deciding not to offer a fix).
fn contains_await(tokens: TokenStream) -> bool {
    let mut after_dot = false;
    for token in tokens {
        let found = match &token {
            TokenTree::Group(group) => contains_await(group.stream()),
            TokenTree::Ident(ident) => after_dot && ident == "await",
            _ => false,
        };
        if found {
            return true;
        }
        after_dot = matches!(&token, TokenTree::Punct(punct) if punct.as_char() == '.');
    }
    false
}

/// The name a `let` binds when its pattern is a plain immutable identifier (`x`, `x: T`).
fn immutable_binding(pat: &syn::Pat) -> Option<&syn::Ident> {
    match pat {
        syn::Pat::Ident(ident)
            if ident.subpat.is_none() && ident.by_ref.is_none() && ident.mutability.is_none() =>
        {
            Some(&ident.ident)
        }
        syn::Pat::Type(typed) => immutable_binding(&typed.pat),
        _ => None,
    }
}

/// Methods whose result owns its data (never borrows from the receiver).
const OWNING_METHODS: &[&str] = &[
    "clone",
    "cloned",
    "copied",
    "to_owned",
    "to_string",
    "to_vec",
    "into_owned",
    "len",
    "is_empty",
    "is_some",
    "is_none",
    "is_ok",
    "is_err",
    "count",
    "contains",
    "contains_key",
    "starts_with",
    "ends_with",
    "sum",
    "product",
];

/// Methods that keep the ownership of their receiver's value (`Option<T>` to `T`).
const UNWRAPPING_METHODS: &[&str] = &["unwrap", "expect", "unwrap_or_default", "unwrap_or"];

/// Whether `expr`'s value evidently owns its data, so it may outlive a guard it was read from:
/// literals, arithmetic and comparisons, casts, `*guard` (a move out of a deref compiles only
/// for `Copy` values), `format!`, and calls of [`OWNING_METHODS`].
fn evidently_owned(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Lit(_) | syn::Expr::Cast(_) | syn::Expr::Binary(_) => true,
        syn::Expr::Unary(_) => true,
        syn::Expr::Paren(paren) => evidently_owned(&paren.expr),
        syn::Expr::Tuple(tuple) => tuple.elems.iter().all(evidently_owned),
        syn::Expr::Macro(mac) => mac.mac.path.is_ident("format"),
        syn::Expr::MethodCall(call) => {
            let method = call.method.to_string();
            OWNING_METHODS.contains(&method.as_str())
                || (UNWRAPPING_METHODS.contains(&method.as_str())
                    && evidently_owned(&call.receiver))
        }
        _ => false,
    }
}
