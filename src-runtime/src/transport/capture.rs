//! Outbox capture: the entries exported events produce while one message is handled, held in a
//! task-local scope until the handling has succeeded, then committed with the idempotency
//! record (one transaction, when the store shares the outbox's file) or on their own by the
//! outbox behavior. A failed handling drops them: its events did not happen.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

use super::{Outbox, OutboxEntry};
use crate::pipeline::{AnyMessage, Behavior, Next, Reply};
use crate::{Context, Result};

tokio::task_local! {
    static CAPTURED: RefCell<Vec<OutboxEntry>>;
}

/// Whether a capture scope is active in this task.
pub(crate) fn active() -> bool {
    CAPTURED.try_with(|_| ()).is_ok()
}

/// Runs `work` in a new capture scope, even inside another one, and returns its output with
/// what it captured (apart from the enclosing scope's: a saga step's events are saved with the
/// step).
pub(crate) async fn scope<F: Future>(work: F) -> (F::Output, Vec<OutboxEntry>) {
    CAPTURED
        .scope(RefCell::new(Vec::new()), async {
            let output = work.await;
            (output, take())
        })
        .await
}

/// Adds `entry` to the active scope; hands it back when there is none.
pub(crate) fn push(entry: OutboxEntry) -> Option<OutboxEntry> {
    let mut entry = Some(entry);
    let _ = CAPTURED.try_with(|captured| {
        if let Some(entry) = entry.take() {
            captured.borrow_mut().push(entry);
        }
    });
    entry
}

/// Takes what the active scope captured so far (nothing without one).
pub(crate) fn take() -> Vec<OutboxEntry> {
    CAPTURED
        .try_with(|captured| std::mem::take(&mut *captured.borrow_mut()))
        .unwrap_or_default()
}

/// Appends `entries` to the active scope: a nested scope's that could not commit them with its
/// own record, or a unit of work's that did not commit. They are stored when the enclosing
/// handling succeeds.
pub(crate) fn hand_up(mut entries: Vec<OutboxEntry>) {
    if entries.is_empty() {
        return;
    }
    let _ = CAPTURED.try_with(|captured| captured.borrow_mut().append(&mut entries));
}

/// The behavior `.outbox(..)` installs outermost: the first message handled in a task opens a
/// capture scope, and when its handling succeeds, stores what is captured in the outbox.
/// Messages handled inside it (sent or published from its handler) share its scope, except
/// idempotent commands, whose events go in a scope of their own and commit with their record.
pub(crate) struct OutboxBehavior {
    pub(crate) outbox: Arc<dyn Outbox>,
}

impl Behavior for OutboxBehavior {
    async fn handle(
        &self,
        _message: &dyn AnyMessage,
        ctx: Context,
        next: Next<'_>,
    ) -> Result<Reply> {
        if active() {
            return next.run(ctx).await;
        }
        let (reply, captured) = scope(next.run(ctx)).await;
        let reply = reply?;
        // Checked here: the outbox's boxed future is an allocation a handling that exported
        // nothing need not make.
        if !captured.is_empty() {
            self.outbox.enqueue(captured).await?;
        }
        Ok(reply)
    }
}
