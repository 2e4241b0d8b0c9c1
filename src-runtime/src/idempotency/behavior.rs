//! The idempotency behavior the mediator installs for every [`Idempotent`](crate::Idempotent)
//! command.
//!
//! Two levels of deduplication: inside the process, sends of one key share one execution (the
//! first caller leads, the others wait on a watch channel for its outcome); across processes,
//! the [`IdempotencyStore`] claim decides who runs and keeps the serialized response.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::store::{Claim, Fence, IdempotencyStore};
use crate::message::{IdempotencyHooks, Request};
use crate::transport::{OutboxEntry, capture};
use crate::{ErrorKind, Result};

/// What the leader of a key hands its waiters: the serialized response, or the error.
type Outcome = Result<Arc<[u8]>>;

/// First and last pause between claims while another process holds the key.
const CLAIM_POLL_MIN: Duration = Duration::from_millis(10);
const CLAIM_POLL_MAX: Duration = Duration::from_millis(250);

/// Deduplicates idempotent commands; one per mediator.
pub(crate) struct IdempotencyBehavior {
    store: Arc<dyn IdempotencyStore>,
    lease: Duration,
    in_flight: Mutex<HashMap<String, watch::Sender<Option<Outcome>>>>,
}

impl IdempotencyBehavior {
    pub(crate) fn new(store: Arc<dyn IdempotencyStore>, lease: Duration) -> Self {
        IdempotencyBehavior {
            store,
            lease,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `execute(request)` at most once per idempotency key, or returns the response of the
    /// execution that already ran (or is running) for that key.
    pub(crate) async fn run<R, F, Fut>(
        &self,
        request: R,
        hooks: IdempotencyHooks<R>,
        execute: F,
    ) -> Result<R::Response>
    where
        R: Request,
        F: FnOnce(R) -> Fut,
        Fut: Future<Output = Result<R::Response>>,
    {
        let key = format!("{}:{}", R::NAME, (hooks.key)(&request));
        loop {
            let Some(mut waiting) = self.join_or_lead(&key) else {
                break;
            };
            // `Err` means the leader was dropped (its caller gave up) without an outcome: go
            // round again, and maybe lead this time.
            if let Ok(outcome) = waiting.wait_for(Option::is_some).await
                && let Some(outcome) = outcome.clone()
            {
                crate::telemetry::metrics::idempotent_hit(R::NAME, "in_flight");
                return outcome.and_then(|bytes| (hooks.decode)(&bytes));
            }
        }
        let mut lead = Lead {
            behavior: self,
            key: &key,
            claimed: None,
            finished: false,
        };
        let (response, outcome) = lead.execute(request, hooks, execute).await;
        lead.finish(outcome);
        response
    }

    /// Subscribes to the execution in flight for `key`, or registers the caller as its leader
    /// (returns `None`).
    fn join_or_lead(&self, key: &str) -> Option<watch::Receiver<Option<Outcome>>> {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // An entry in the map always belongs to a live leader: it removes the entry when it
        // finishes or is dropped.
        if let Some(sender) = in_flight.get(key) {
            return Some(sender.subscribe());
        }
        in_flight.insert(key.to_owned(), watch::channel(None).0);
        None
    }
}

/// Records the response of `key` under `fence`, with `captured`, the outbox messages the
/// execution published, in the same transaction when the store can. Otherwise, or when that
/// transaction fails for another reason than a lost claim, they are handed to the enclosing
/// capture scope, for the outbox behavior to store when the outermost handling succeeds. A
/// lost claim stores nothing of this execution.
async fn complete(
    store: &dyn IdempotencyStore,
    key: &str,
    fence: Fence,
    response: &[u8],
    captured: Vec<OutboxEntry>,
) -> Result<()> {
    if !captured.is_empty()
        && let Some(both) = store.complete_with_outbox(key, fence, response, &captured)
    {
        match both.await {
            Ok(()) => return Ok(()),
            Err(err) if err.kind() == ErrorKind::Conflict => return Err(err),
            // Neither was stored; the record is tried alone, the messages go to the outbox
            // behavior.
            Err(err) => {
                tracing::warn!(key, error = %err, "idempotency record and outbox messages not saved together");
            }
        }
    }
    store.complete(key, fence, response).await?;
    capture::hand_up(captured);
    Ok(())
}

/// The caller that runs the command for a key; removes the key from the in-flight map when it
/// finishes or is dropped.
struct Lead<'a> {
    behavior: &'a IdempotencyBehavior,
    key: &'a str,
    /// The store's claim this process holds (and must complete or release), if any.
    claimed: Option<Fence>,
    /// Whether the outcome was handed over (and the in-flight entry removed).
    finished: bool,
}

impl Lead<'_> {
    /// Claims the key in the store and runs the command if no one ran it yet. Returns the
    /// leader's result and the outcome for the waiters.
    async fn execute<R, F, Fut>(
        &mut self,
        request: R,
        hooks: IdempotencyHooks<R>,
        execute: F,
    ) -> (Result<R::Response>, Outcome)
    where
        R: Request,
        F: FnOnce(R) -> Fut,
        Fut: Future<Output = Result<R::Response>>,
    {
        let fence = match self.claim().await {
            Ok(Ok(fence)) => fence,
            Ok(Err(bytes)) => {
                crate::telemetry::metrics::idempotent_hit(R::NAME, "stored");
                return ((hooks.decode)(&bytes), Ok(bytes.into()));
            }
            Err(err) => return (Err(err.clone()), Err(err)),
        };
        self.claimed = Some(fence);
        // This command's own events, in a scope of their own: they commit with its record and
        // never take the enclosing handling's, which are stored when (and only when) that
        // handling succeeds.
        let executing = async {
            if capture::active() {
                capture::scope(execute(request)).await
            } else {
                (execute(request).await, Vec::new())
            }
        };
        // The claim is renewed while the command runs, so a slow handler keeps it; when it is
        // lost all the same (this process stalled past the lease and another took the key
        // over), the execution stops: the other one's outcome is the key's.
        let outcome = tokio::select! {
            outcome = executing => Some(outcome),
            () = self.keep_claim(fence) => None,
        };
        let Some((result, captured)) = outcome else {
            self.claimed = None;
            return self.adopt(&hooks).await;
        };
        self.claimed = None;
        match result {
            Ok(response) => match (hooks.encode)(&response) {
                Ok(bytes) => {
                    let store = &*self.behavior.store;
                    match complete(store, self.key, fence, &bytes, captured).await {
                        Ok(()) => (Ok(response), Ok(bytes.into())),
                        Err(err) if err.kind() == ErrorKind::Conflict => {
                            tracing::warn!(key = self.key, error = %err, "idempotency claim lost; answering with the outcome recorded for the key");
                            self.adopt(&hooks).await
                        }
                        Err(err) => {
                            tracing::warn!(key = self.key, error = %err, "idempotency record not saved; a later duplicate may run again");
                            (Ok(response), Ok(bytes.into()))
                        }
                    }
                }
                Err(err) => {
                    capture::hand_up(captured);
                    self.release(fence).await;
                    (Ok(response), Err(err))
                }
            },
            Err(err) => {
                self.release(fence).await;
                (Err(err.clone()), Err(err))
            }
        }
    }

    /// Claims the key, waiting while another process holds it: the fence of the claim, or the
    /// recorded response.
    async fn claim(&self) -> Result<std::result::Result<Fence, Vec<u8>>> {
        let store = &*self.behavior.store;
        let mut pause = CLAIM_POLL_MIN;
        loop {
            match store.try_claim(self.key, self.behavior.lease).await? {
                Claim::Acquired(fence) => return Ok(Ok(fence)),
                Claim::Completed(bytes) => return Ok(Err(bytes)),
                Claim::InProgress => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(CLAIM_POLL_MAX);
                }
            }
        }
    }

    /// Renews the claim every third of the lease; returns only when it is lost.
    async fn keep_claim(&self, fence: Fence) {
        let lease = self.behavior.lease;
        loop {
            tokio::time::sleep(lease / 3).await;
            match self.behavior.store.renew(self.key, fence, lease).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(err) => {
                    tracing::warn!(key = self.key, error = %err, "idempotency claim not renewed; trying again");
                }
            }
        }
    }

    /// The outcome recorded for the key by the execution that took it over, waited for while it
    /// runs. If that one failed and released the key, this caller claims it and runs nothing:
    /// its own execution did not complete, so it reports the lost claim.
    async fn adopt<R: Request>(
        &mut self,
        hooks: &IdempotencyHooks<R>,
    ) -> (Result<R::Response>, Outcome) {
        match self.claim().await {
            Ok(Err(bytes)) => ((hooks.decode)(&bytes), Ok(bytes.into())),
            Ok(Ok(fence)) => {
                self.release(fence).await;
                let err = super::store::claim_lost(self.key);
                (Err(err.clone()), Err(err))
            }
            Err(err) => (Err(err.clone()), Err(err)),
        }
    }

    async fn release(&self, fence: Fence) {
        if let Err(err) = self.behavior.store.release(self.key, fence).await {
            tracing::warn!(key = self.key, error = %err, "idempotency claim not released; it expires with its lease");
        }
    }

    /// Hands `outcome` to the waiters.
    fn finish(&mut self, outcome: Outcome) {
        self.finished = true;
        let mut in_flight = self
            .behavior
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = in_flight.remove(self.key) {
            sender.send_replace(Some(outcome));
        }
    }
}

impl Drop for Lead<'_> {
    /// A leader dropped mid-execution (its caller gave up): wake the waiters so one of them
    /// takes over, and give the store's claim back.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut in_flight = self
            .behavior
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        in_flight.remove(self.key);
        drop(in_flight);
        if let Some(fence) = self.claimed
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let store = Arc::clone(&self.behavior.store);
            let key = self.key.to_owned();
            runtime.spawn(async move { store.release(&key, fence).await });
        }
    }
}
