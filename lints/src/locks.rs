//! What a blocking lock guard is, read from syntax: the lock methods of std, parking_lot
//! (including its `*_arc` guards) and `RefCell`, the async locks whose guards may cross an
//! `.await` (tokio, futures, async-std, async-lock, smol), and calls of the file's fns that hand
//! out a guard (`fn state(&self) -> RefMut<'_, State>`, which the file's declarations record:
//! [`crate::file_index::FileIndex::guard_fn`]).
//!
//! Method calls are only syntax, so a call counts as taking a lock when the receiver's declared
//! type (the semantic model's [`SemanticModel::chain_of`]) says which lock it is, or when the
//! call itself leaves no doubt: `.lock()` whose result is unwrapped (`.unwrap()`, `.expect(..)`, `.map_err(..)?`, `?`)
//! is std's poisoning `Mutex`, and so is `.read()`/`.write()` unwrapped for std's `RwLock`.

use crate::semantic::SemanticModel;
use crate::semantic::types::innermost_value;

/// What a guard guards, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuardKind {
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
    /// The guard's type, for messages.
    pub(crate) fn type_name(self) -> &'static str {
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

    /// A `RefCell` borrow rather than a lock.
    pub(crate) fn is_refcell(self) -> bool {
        matches!(self, GuardKind::RefCellRef | GuardKind::RefCellRefMut)
    }

    /// The kind of a guard type by its full path (`std::cell::RefMut`).
    pub(crate) fn of_type(path: &str) -> Option<GuardKind> {
        Some(match path {
            "std::sync::MutexGuard" => GuardKind::StdMutex,
            "std::sync::RwLockReadGuard" => GuardKind::StdRead,
            "std::sync::RwLockWriteGuard" => GuardKind::StdWrite,
            "parking_lot::MutexGuard"
            | "parking_lot::ArcMutexGuard"
            | "parking_lot::MappedMutexGuard"
            | "parking_lot::FairMutexGuard" => GuardKind::ParkingLotMutex,
            "parking_lot::RwLockReadGuard"
            | "parking_lot::ArcRwLockReadGuard"
            | "parking_lot::MappedRwLockReadGuard"
            | "parking_lot::RwLockUpgradableReadGuard"
            | "parking_lot::ArcRwLockUpgradableReadGuard" => GuardKind::ParkingLotRead,
            "parking_lot::RwLockWriteGuard"
            | "parking_lot::ArcRwLockWriteGuard"
            | "parking_lot::MappedRwLockWriteGuard" => GuardKind::ParkingLotWrite,
            "std::cell::Ref" | "core::cell::Ref" => GuardKind::RefCellRef,
            "std::cell::RefMut" | "core::cell::RefMut" => GuardKind::RefCellRefMut,
            _ => return None,
        })
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

/// Methods that unwrap a lock call's `Result` (or map its error) and keep the guard.
const UNWRAPS: &[&str] = &["unwrap", "expect", "unwrap_or_else", "map_err"];

/// How lock calls are judged in one crate: whether it uses parking_lot (whose `*_arc` methods
/// then need no declared receiver). What a receiver is, and which of the file's fns hand out a
/// guard, the semantic model answers.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Locks {
    parking_lot: bool,
}

impl Locks {
    /// `parking_lot`: the crate depends on parking_lot.
    pub(crate) fn new(parking_lot: bool) -> Locks {
        Locks { parking_lot }
    }

    /// The guard `expr` evaluates to, if it takes a blocking lock or borrow: the kind and the
    /// call that takes it (`m.lock()` in `m.lock().map_err(Error::from)?`).
    pub(crate) fn guard_of<'a>(
        &self,
        expr: &'a syn::Expr,
        model: &SemanticModel<'_, 'a>,
    ) -> Option<(GuardKind, &'a syn::Expr)> {
        let mut call = expr;
        let mut unwrapped = false;
        loop {
            match call {
                syn::Expr::Try(try_expr) => call = &try_expr.expr,
                syn::Expr::Paren(paren) => {
                    call = &paren.expr;
                    continue;
                }
                syn::Expr::MethodCall(method)
                    if UNWRAPS.iter().any(|name| method.method == name) =>
                {
                    call = &method.receiver;
                }
                _ => break,
            }
            unwrapped = true;
        }
        let kind = match call {
            syn::Expr::MethodCall(method) => self
                .lock_method(method, unwrapped, model)
                .or_else(|| self.guard_fn_call(method, model))?,
            syn::Expr::Call(call) => {
                let syn::Expr::Path(path) = &*call.func else {
                    return None;
                };
                let segments = &path.path.segments;
                let local =
                    segments.len() == 1 || (segments.len() == 2 && segments[0].ident == "Self");
                if !local {
                    return None;
                }
                model.index().guard_fn(&segments.last()?.ident)?
            }
            _ => return None,
        };
        Some((kind, call))
    }

    /// `receiver.lock()` and the like, judged by the receiver's declared type.
    fn lock_method(
        &self,
        call: &syn::ExprMethodCall,
        unwrapped: bool,
        model: &SemanticModel<'_, '_>,
    ) -> Option<GuardKind> {
        const LOCK_METHODS: &[&str] = &[
            "lock",
            "lock_arc",
            "read",
            "write",
            "read_arc",
            "write_arc",
            "read_recursive",
            "upgradable_read",
            "upgradable_read_arc",
            "borrow",
            "borrow_mut",
        ];
        if !call.args.is_empty() || !LOCK_METHODS.iter().any(|name| call.method == name) {
            return None;
        }
        let chain = model.chain_of(&call.receiver);
        let receiver = Receiver::of(chain.as_deref().and_then(innermost_value));
        let parking_lot_unknown = receiver == Receiver::Unknown && self.parking_lot;
        Some(match (call.method.to_string().as_str(), receiver) {
            ("lock", Receiver::StdMutex) => GuardKind::StdMutex,
            // Unwrapped: only std's poisoning locks return a `Result` from `lock()`, `read()`
            // and `write()` without arguments (tokio's return a future, parking_lot's a guard).
            ("lock", Receiver::Unknown) if unwrapped => GuardKind::StdMutex,
            ("read", Receiver::Unknown) if unwrapped => GuardKind::StdRead,
            ("write", Receiver::Unknown) if unwrapped => GuardKind::StdWrite,
            ("lock", Receiver::ParkingLotMutex) => GuardKind::ParkingLotMutex,
            ("lock_arc", Receiver::ParkingLotMutex) => GuardKind::ParkingLotMutex,
            ("lock_arc", _) if parking_lot_unknown && !unwrapped => GuardKind::ParkingLotMutex,
            ("read", Receiver::StdRwLock) => GuardKind::StdRead,
            ("write", Receiver::StdRwLock) => GuardKind::StdWrite,
            (
                "read" | "read_arc" | "read_recursive" | "upgradable_read" | "upgradable_read_arc",
                Receiver::ParkingLotRwLock,
            ) => GuardKind::ParkingLotRead,
            ("write" | "write_arc", Receiver::ParkingLotRwLock) => GuardKind::ParkingLotWrite,
            ("read_arc" | "upgradable_read_arc", _) if parking_lot_unknown && !unwrapped => {
                GuardKind::ParkingLotRead
            }
            ("write_arc", _) if parking_lot_unknown && !unwrapped => GuardKind::ParkingLotWrite,
            ("borrow", Receiver::RefCell) if !unwrapped => GuardKind::RefCellRef,
            ("borrow_mut", Receiver::RefCell) if !unwrapped => GuardKind::RefCellRefMut,
            _ => return None,
        })
    }

    /// `self.state()` where the file's `fn state(&self) -> RefMut<'_, State>` hands out a guard.
    fn guard_fn_call(
        &self,
        call: &syn::ExprMethodCall,
        model: &SemanticModel<'_, '_>,
    ) -> Option<GuardKind> {
        let kind = model.index().guard_fn(&call.method)?;
        let on_self =
            matches!(&*call.receiver, syn::Expr::Path(path) if path.path.is_ident("self"));
        // A method of another type may share the name: ask for `self.` or a receiver whose
        // type the file declares in this module.
        let declared_here = || {
            model
                .chain_of(&call.receiver)
                .as_deref()
                .and_then(innermost_value)
                .is_some_and(|layer| layer.starts_with("self::"))
        };
        (on_self || declared_here()).then_some(kind)
    }
}

#[cfg(test)]
mod tests {
    use crate::check::diagnostics_for_test;

    fn lock_findings(text: &str, dependencies: &[&str]) -> usize {
        diagnostics_for_test(text, dependencies)
            .iter()
            .filter(|diagnostic| diagnostic.code == "CATGA007")
            .count()
    }

    #[test]
    fn arc_guards_of_an_undeclared_receiver_count_only_in_a_crate_using_parking_lot() {
        let text = "async fn flush() {}\n\
                    async fn f(pool: &other::Pool) { let g = pool.inner.lock_arc(); flush().await; }";
        assert_eq!(lock_findings(text, &["parking_lot"]), 1);
        assert_eq!(lock_findings(text, &["async-lock"]), 0);
        let awaited =
            "async fn f(pool: &other::Pool) { let g = pool.inner.lock_arc().await; g.len(); }";
        assert_eq!(lock_findings(awaited, &["parking_lot"]), 0);
    }

    #[test]
    fn unwrapped_read_and_write_are_std_rwlock_guards_but_bare_ones_are_not() {
        let reported = "async fn flush() {}\n\
                        async fn f(s: &other::State) { let r = s.routes.read().unwrap(); flush().await; }";
        assert_eq!(lock_findings(reported, &[]), 1);
        let bare = "async fn flush() {}\n\
                    async fn f(s: &other::State) { let r = s.routes.read(); flush().await; }";
        assert_eq!(lock_findings(bare, &[]), 0);
    }
}
