//! CATGA007 lock-across-await: a blocking lock guard or `RefCell` borrow bound with `let` and still
//! alive at an `.await` of the same async body.
//!
//! Each async body (`async fn`, `async` block, async closure) is scanned in source order with the
//! guards its blocks bind: a guard dies at the end of its block, when it is dropped or moved, and
//! is reported at the first `.await` it is alive across. Branches are not merged: a guard released
//! in one branch counts as released, which keeps the rule quiet where it cannot be sure.

use crate::context::AsyncContext;
use crate::diagnostic::{Applicability, Edit, Fix, Severity};
use crate::file_index::{TypeEnv, innermost_value, mentions_variable};
use crate::locals::bound_names;
use crate::rule::{FixAvailability, Hooks, Rule, RuleCx, RuleMeta};
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

static META: RuleMeta = RuleMeta {
    code: "CATGA007",
    name: "lock-across-await",
    severity: Severity::Warning,
    fix: FixAvailability::Sometimes(Applicability::Safe),
    summary: "A std::sync or parking_lot lock guard, or a RefCell borrow, alive across an `.await`",
    docs: r#"## What it does
Reports a guard bound with `let` that is still alive when the same async body reaches an
`.await`:

- `std::sync::Mutex::lock()`, `RwLock::read()` / `write()` (with or without `.unwrap()`,
  `.expect(..)`, `.unwrap_or_else(..)`)
- `parking_lot::Mutex::lock()`, `RwLock::read()` / `write()`
- `RefCell::borrow()` / `borrow_mut()`

A guard stops being alive at the end of its block, at `drop(guard)` and when it is moved. Method
calls are only syntax, so the rule asks for evidence of the lock's type: `.lock()` counts when it
is followed by `.unwrap()`/`.expect(..)` or when the receiver's declared type (a parameter, a
`let`, a static, a field of a struct in the same file, through the file's type aliases) is a std
or parking_lot `Mutex`;
`.read()`/`.write()` need a declared `RwLock`, `.borrow()`/`.borrow_mut()` a declared `RefCell`.
Async locks (`tokio::sync::Mutex`, anything locked with `.lock().await`), types declared in the
same module (they have their own `lock()`), and temporaries that die at the end of their statement
(`*m.lock().unwrap() += 1;`) are not reported.

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
or `drop(totals);` before the `.await`. When the lock must be held across the `.await`, use
`tokio::sync::Mutex` and `.lock().await`.

## Fix safety
The fix inserts `drop(guard);` right before the statement that holds the `.await`, and is offered
only when the guard is not mentioned from that statement on. It is safe: the guard was not used
after that point, so only the moment the lock is released changes, and it changes to before the
suspension.

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
    for site in index.fns() {
        let fn_name = site.sig.ident.to_string();
        let mut scan = BodyScan::new(TypeEnv::for_fn(index, site), fn_name.clone());
        let context = site
            .sig
            .asyncness
            .map(|_| AsyncContext::AsyncFn { name: &fn_name }.to_string());
        scan.scan_body(context, |scan| scan.scan_block(site.body));
        for crossing in &scan.crossings {
            report(crossing, cx);
        }
    }
}

/// What a guard guards, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GuardKind {
    StdMutex,
    StdRead,
    StdWrite,
    ParkingLotMutex,
    ParkingLotRead,
    ParkingLotWrite,
    RefCellRef,
    RefCellRefMut,
}

impl GuardKind {
    fn type_name(self) -> &'static str {
        match self {
            GuardKind::StdMutex => "std::sync::MutexGuard",
            GuardKind::StdRead => "std::sync::RwLockReadGuard",
            GuardKind::StdWrite => "std::sync::RwLockWriteGuard",
            GuardKind::ParkingLotMutex => "parking_lot::MutexGuard",
            GuardKind::ParkingLotRead => "parking_lot::RwLockReadGuard",
            GuardKind::ParkingLotWrite => "parking_lot::RwLockWriteGuard",
            GuardKind::RefCellRef => "RefCell borrow (std::cell::Ref)",
            GuardKind::RefCellRefMut => "RefCell borrow (std::cell::RefMut)",
        }
    }

    fn is_refcell(self) -> bool {
        matches!(self, GuardKind::RefCellRef | GuardKind::RefCellRefMut)
    }
}

/// What the declared type of a lock call's receiver says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Receiver {
    StdMutex,
    StdRwLock,
    ParkingLotMutex,
    ParkingLotRwLock,
    RefCell,
    /// An async lock (tokio, futures, async-std, async-lock): its guards may cross an `.await`.
    AsyncLock,
    /// A type declared in this module, which has its own `lock()`/`read()`.
    LocalType,
    /// No declared type found, or a type from elsewhere.
    Unknown,
}

/// Crates whose locks are async.
const ASYNC_LOCK_CRATES: &[&str] = &[
    "tokio",
    "futures",
    "futures_util",
    "async_std",
    "async_lock",
    "smol",
    "futures_locks",
];

impl Receiver {
    fn of(layer: Option<&str>) -> Receiver {
        let Some(layer) = layer else {
            return Receiver::Unknown;
        };
        match layer {
            "std::sync::Mutex" => Receiver::StdMutex,
            "std::sync::RwLock" => Receiver::StdRwLock,
            "parking_lot::Mutex" | "parking_lot::FairMutex" => Receiver::ParkingLotMutex,
            "parking_lot::RwLock" => Receiver::ParkingLotRwLock,
            "std::cell::RefCell" | "core::cell::RefCell" => Receiver::RefCell,
            _ if layer.starts_with("self::") => Receiver::LocalType,
            _ if layer
                .split("::")
                .next()
                .is_some_and(|krate| ASYNC_LOCK_CRATES.contains(&krate)) =>
            {
                Receiver::AsyncLock
            }
            _ => Receiver::Unknown,
        }
    }
}

/// The guard a `let` initializer produces, if it is a blocking lock or borrow: the kind and the
/// `.lock()` / `.read()` / `.write()` / `.borrow()` call.
fn guard_of<'a>(
    init: &'a syn::Expr,
    env: &TypeEnv<'_, 'a>,
) -> Option<(GuardKind, &'a syn::ExprMethodCall)> {
    let syn::Expr::MethodCall(outer) = init else {
        return None;
    };
    let (call, unwrapped) = if matches!(
        outer.method.to_string().as_str(),
        "unwrap" | "expect" | "unwrap_or_else"
    ) {
        let syn::Expr::MethodCall(inner) = &*outer.receiver else {
            return None;
        };
        (inner, true)
    } else {
        (outer, false)
    };
    if !call.args.is_empty() {
        return None;
    }
    let chain = env.chain_of(&call.receiver);
    let receiver = Receiver::of(chain.as_deref().and_then(innermost_value));
    let kind = match (call.method.to_string().as_str(), receiver) {
        ("lock", Receiver::StdMutex) => GuardKind::StdMutex,
        // `.lock().unwrap()`: only std's poisoning locks return a `Result` from `lock()`.
        ("lock", Receiver::Unknown) if unwrapped => GuardKind::StdMutex,
        ("lock", Receiver::ParkingLotMutex) => GuardKind::ParkingLotMutex,
        ("read", Receiver::StdRwLock) => GuardKind::StdRead,
        ("write", Receiver::StdRwLock) => GuardKind::StdWrite,
        ("read", Receiver::ParkingLotRwLock) => GuardKind::ParkingLotRead,
        ("write", Receiver::ParkingLotRwLock) => GuardKind::ParkingLotWrite,
        ("borrow", Receiver::RefCell) if !unwrapped => GuardKind::RefCellRef,
        ("borrow_mut", Receiver::RefCell) if !unwrapped => GuardKind::RefCellRefMut,
        _ => return None,
    };
    Some((kind, call))
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
    lock_call: &'a syn::ExprMethodCall,
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
    env: TypeEnv<'i, 'a>,
    fn_name: String,
    state: BodyState<'a>,
    crossings: Vec<Crossing<'a>>,
}

impl<'i, 'a> BodyScan<'i, 'a> {
    fn new(env: TypeEnv<'i, 'a>, fn_name: String) -> Self {
        BodyScan {
            env,
            fn_name,
            state: BodyState::default(),
            crossings: Vec::new(),
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
        let mark = self.env.mark();
        scan(self);
        self.env.reset(mark);
        self.state = outer;
    }

    fn scan_block(&mut self, block: &'a syn::Block) {
        let mark = self.env.mark();
        let first_guard = self.state.guards.len();
        self.state.blocks.push((block, 0));
        for (index, stmt) in block.stmts.iter().enumerate() {
            if let Some(current) = self.state.blocks.last_mut() {
                current.1 = index;
            }
            self.scan_stmt(stmt);
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
        self.env.reset(mark);
    }

    fn scan_stmt(&mut self, stmt: &'a syn::Stmt) {
        match stmt {
            syn::Stmt::Local(local) => self.scan_local(local),
            syn::Stmt::Expr(expr, _) => self.scan_expr(expr, Use::Value),
            syn::Stmt::Macro(mac) => self.scan_tokens(mac.mac.tokens.clone()),
            syn::Stmt::Item(_) => {}
        }
    }

    fn scan_local(&mut self, local: &'a syn::Local) {
        if let Some(init) = &local.init {
            self.scan_expr(&init.expr, Use::Value);
            if let Some((_, diverge)) = &init.diverge {
                self.scan_expr(diverge, Use::Value);
            }
        }
        self.shadow(&local.pat);
        let guard = match (plain_binding(&local.pat), &local.init) {
            (Some(name), Some(init)) if init.diverge.is_none() => guard_of(&init.expr, &self.env)
                .map(|(kind, lock_call)| (name.to_string(), kind, lock_call)),
            _ => None,
        };
        self.env.bind_local(local);
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
        self.env.bind_unknown(pat);
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

    fn scan_expr(&mut self, expr: &'a syn::Expr, usage: Use) {
        match expr {
            syn::Expr::Await(await_expr) => {
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
                self.scan_expr(&call.func, Use::Place);
                call.args
                    .iter()
                    .for_each(|arg| self.scan_expr(arg, Use::Value));
            }
            syn::Expr::MethodCall(call) => {
                self.scan_expr(&call.receiver, Use::Place);
                call.args
                    .iter()
                    .for_each(|arg| self.scan_expr(arg, Use::Value));
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
                self.scan_expr(&binary.left, Use::Place);
                self.scan_expr(&binary.right, Use::Place);
            }
            syn::Expr::Assign(assign) => {
                self.scan_expr(&assign.left, Use::Place);
                self.scan_expr(&assign.right, Use::Value);
            }
            syn::Expr::Block(block) => self.scan_block(&block.block),
            syn::Expr::Unsafe(block) => self.scan_block(&block.block),
            syn::Expr::TryBlock(block) => self.scan_block(&block.block),
            syn::Expr::If(if_expr) => {
                let mark = self.env.mark();
                self.scan_expr(&if_expr.cond, Use::Place);
                self.scan_block(&if_expr.then_branch);
                self.env.reset(mark);
                if let Some((_, otherwise)) = &if_expr.else_branch {
                    self.scan_expr(otherwise, Use::Value);
                }
            }
            syn::Expr::Let(let_expr) => {
                self.scan_expr(&let_expr.expr, Use::Place);
                self.bind_pattern(&let_expr.pat);
            }
            syn::Expr::While(while_expr) => {
                let mark = self.env.mark();
                self.scan_expr(&while_expr.cond, Use::Place);
                self.scan_block(&while_expr.body);
                self.env.reset(mark);
            }
            syn::Expr::ForLoop(for_loop) => {
                self.scan_expr(&for_loop.expr, Use::Value);
                let mark = self.env.mark();
                self.bind_pattern(&for_loop.pat);
                self.scan_block(&for_loop.body);
                self.env.reset(mark);
            }
            syn::Expr::Loop(loop_expr) => self.scan_block(&loop_expr.body),
            syn::Expr::Match(match_expr) => {
                self.scan_expr(&match_expr.expr, Use::Place);
                for arm in &match_expr.arms {
                    let mark = self.env.mark();
                    self.bind_pattern(&arm.pat);
                    if let Some((_, guard)) = &arm.guard {
                        self.scan_expr(guard, Use::Place);
                    }
                    self.scan_expr(&arm.body, Use::Value);
                    self.env.reset(mark);
                }
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
            syn::Expr::Macro(mac) => self.scan_tokens(mac.mac.tokens.clone()),
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

    fn scan_optional(&mut self, expr: Option<&'a syn::Expr>) {
        if let Some(expr) = expr {
            self.scan_expr(expr, Use::Value);
        }
    }

    fn scan_closure(&mut self, closure: &'a syn::ExprClosure) {
        if closure.capture.is_some() {
            self.capture_by_move(&closure.body);
        }
        let mark = self.env.mark();
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
            self.scan_expr(&closure.body, Use::Value);
            self.state.closure_depth -= 1;
        }
        self.env.reset(mark);
    }
}

fn report(crossing: &Crossing<'_>, cx: &mut RuleCx<'_>) {
    let guard = &crossing.guard;
    let Some((await_span, _)) = guard.crossing else {
        return;
    };
    let await_line = cx.source().span_from(await_span).start_pos.line;
    let lock_call: String = cx
        .text(cx.span(guard.lock_call))
        .lines()
        .map(str::trim)
        .collect();
    let name = &guard.name;
    let message = format!(
        "`{name}` holds a {} from `{lock_call}` across the `.await` on line {await_line} in {}",
        guard.kind.type_name(),
        crossing.context,
    );
    let help = if guard.kind.is_refcell() {
        format!(
            "end the borrow before the `.await` on line {await_line}: `drop({name});` or a block around its use"
        )
    } else {
        format!(
            "release the lock before the `.await` on line {await_line}: `drop({name});` or a block around its use; \
             if it must stay held, use `tokio::sync::Mutex`/`RwLock` and `.lock().await`"
        )
    };
    let fix = drop_fix(crossing, await_line, cx);
    let span = cx.span(guard.local);
    let builder = cx.report(span, message).help(help);
    if let Some(fix) = fix {
        builder.fix(fix);
    }
}

/// `drop(guard);` before the statement holding the `.await`, when the guard is not mentioned
/// from that statement on.
fn drop_fix(crossing: &Crossing<'_>, await_line: u32, cx: &RuleCx<'_>) -> Option<Fix> {
    let guard = &crossing.guard;
    let (_, statement) = guard.crossing?;
    let rest = crossing.block.stmts.get(statement..)?;
    if guard.shadowed
        || rest
            .iter()
            .any(|stmt| mentions_variable(stmt.to_token_stream(), &guard.name))
    {
        return None;
    }
    let at = cx.span(rest.first()?);
    let text = &cx.source().text;
    let line_start = text[..at.start]
        .rfind('\n')
        .map_or(0, |newline| newline + 1);
    let indent = &text[line_start..at.start];
    let name = &guard.name;
    let insert = if indent.trim().is_empty() {
        format!("drop({name});\n{indent}")
    } else {
        format!("drop({name}); ")
    };
    Some(Fix::safe(
        format!("Insert `drop({name});` before the `.await` on line {await_line}"),
        vec![Edit::insert_before(at, insert)],
    ))
}
