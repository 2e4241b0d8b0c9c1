//! The storage contract behind idempotent commands: claim a key, record the response, or give
//! the claim up.
//!
//! A store only keeps bytes; serializing the response is the idempotency behavior's business.
//! Methods return boxed futures so that the store can live behind `Arc<dyn IdempotencyStore>`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::Result;
use crate::transport::OutboxEntry;

/// A heap-allocated, `Send` future: what a dyn-compatible async trait method returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The outcome of [`IdempotencyStore::try_claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller now holds the claim and must run the command, then call
    /// [`complete`](IdempotencyStore::complete) or [`release`](IdempotencyStore::release).
    Acquired,
    /// The command already ran; here is its serialized response.
    Completed(Vec<u8>),
    /// Another execution holds a live claim; the caller should wait and claim again.
    InProgress,
}

/// Where idempotency records live.
///
/// A key has at most one record: absent, in progress (claimed at some instant), or completed
/// (with its response). Implementations make `try_claim` atomic: of any number of concurrent
/// claimers of one key, exactly one gets [`Claim::Acquired`].
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claim `key` for one execution; a claim older than `lease` counts as abandoned.
    ///
    /// An absent key or an abandoned claim yields [`Claim::Acquired`] (and a fresh claim), a
    /// completed key its response, a live claim [`Claim::InProgress`].
    fn try_claim<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<Claim>>;

    /// Record the serialized response of the execution that holds the claim.
    ///
    /// If the key is already completed (an abandoned claim was taken over and both executions
    /// finished), the first recorded response stands, so every caller sees the same one.
    fn complete<'a>(&'a self, key: &'a str, response: &'a [u8]) -> BoxFuture<'a, Result<()>>;

    /// Records the response like [`complete`](IdempotencyStore::complete) and stores `outbox`
    /// (the messages the execution published for other services) in the same transaction, so
    /// that either both are stored or neither is.
    ///
    /// A store that cannot (the default) returns `None`; the mediator then completes the record
    /// and stores the messages in the outbox separately.
    fn complete_with_outbox<'a>(
        &'a self,
        _key: &'a str,
        _response: &'a [u8],
        _outbox: &'a [OutboxEntry],
    ) -> Option<BoxFuture<'a, Result<()>>> {
        None
    }

    /// Give the claim up after a failed execution so a later attempt may run.
    ///
    /// A completed record is kept: a response, once recorded, is never released.
    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>>;
}
