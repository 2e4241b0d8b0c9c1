//! CATGA007 lock-across-await: a blocking lock guard or `RefCell` borrow bound with `let` and still
//! alive at an `.await` of the same async body.
//!
//! Each async body (`async fn`, `async` block, async closure) is scanned in source order with the
//! guards its blocks bind: a guard dies at the end of its block, when it is dropped or moved, and
//! is reported at the first `.await` it is alive across. Branches are not merged: a guard released
//! in one branch counts as released, which keeps the rule quiet where it cannot be sure.

use crate::context::AsyncContext;
use crate::diagnostic::{Applicability, Edit, Fix, Severity};
use crate::file_index::{FileIndex, FnSite, TypeEnv, innermost_value};
use crate::locals::bound_names;
use crate::rule::{FixAvailability, Hooks, Rule, RuleCx, RuleMeta};
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;

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
`let`, a static, a field of a struct in the same file) is a std or parking_lot `Mutex`;
`.read()`/`.write()` need a declared `RwLock`, `.borrow()`/`.borrow_mut()` a declared `RefCell`.
Async locks (`tokio::sync::Mutex`, anything locked with `.lock().await`) and temporaries that die
at the end of their statement (`*m.lock().unwrap() += 1;`) are not reported.

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
pub(crate) static RULE: Rule = Rule { meta: &META, hooks: Hooks { file: Some(check_file), ..Hooks::NONE } };

