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

use super::store::{Claim, IdempotencyStore};
use crate::Result;
use crate::message::{IdempotencyHooks, Request};
use crate::transport::{OutboxEntry, capture};

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
                return outcome.and_then(|bytes| (hooks.decode)(&bytes));
            }
        }
        let mut lead = Lead {
            behavior: self,
            key: &key,
            claimed: false,
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

/// Records the response of `key`, with `captured`, the outbox messages the execution
/// published, when the store can commit them in the same transaction. Otherwise, or when that
/// transaction fails, they are handed to the enclosing capture scope, for the outbox behavior
/// to store when the outermost handling succeeds.
async fn complete(
    store: &dyn IdempotencyStore,
    key: &str,
    response: &[u8],
    captured: Vec<OutboxEntry>,
) -> Result<()> {
    if captured.is_empty() {
        return store.complete(key, response).await;
    }
    if let Some(both) = store.complete_with_outbox(key, response, &captured) {
        match both.await {
            Ok(()) => return Ok(()),
            // Neither was stored; the record is tried alone, the messages go to the outbox
            // behavior.
            Err(err) => {
                tracing::warn!(key, error = %err, "idempotency record and outbox messages not saved together");
            }
        }
    }
    capture::hand_up(captured);
    store.complete(key, response).await
}

/// The caller that runs the command for a key; removes the key from the in-flight map when it
/// finishes or is dropped.
struct Lead<'a> {
    behavior: &'a IdempotencyBehavior,
    key: &'a str,
    /// Whether this process holds the store's claim (and must complete or release it).
    claimed: bool,
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
        let store = &*self.behavior.store;
        let mut pause = CLAIM_POLL_MIN;
        loop {
            match store.try_claim(self.key, self.behavior.lease).await {
                Ok(Claim::Acquired) => break,
                Ok(Claim::Completed(bytes)) => {
                    let response = (hooks.decode)(&bytes);
                    return (response, Ok(bytes.into()));
                }
                Ok(Claim::InProgress) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(CLAIM_POLL_MAX);
                }
                Err(err) => return (Err(err.clone()), Err(err)),
            }
        }
        self.claimed = true;
        // This command's own events, in a scope of their own: they commit with its record and
        // never take the enclosing handling's, which are stored when (and only when) that
        // handling succeeds.
        let (result, captured) = if capture::active() {
            capture::scope(execute(request)).await
        } else {
            (execute(request).await, Vec::new())
        };
        self.claimed = false;
        match result {
            Ok(response) => match (hooks.encode)(&response) {
                Ok(bytes) => {
                    if let Err(err) = complete(store, self.key, &bytes, captured).await {
                        tracing::warn!(key = self.key, error = %err, "idempotency record not saved; a later duplicate may run again");
                    }
                    (Ok(response), Ok(bytes.into()))
                }
                Err(err) => {
                    capture::hand_up(captured);
                    self.release().await;
                    (Ok(response), Err(err))
                }
            },
            Err(err) => {
                self.release().await;
                (Err(err.clone()), Err(err))
            }
        }
    }

    async fn release(&self) {
        if let Err(err) = self.behavior.store.release(self.key).await {
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
        if self.claimed
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let store = Arc::clone(&self.behavior.store);
            let key = self.key.to_owned();
            runtime.spawn(async move { store.release(&key).await });
        }
    }
}
