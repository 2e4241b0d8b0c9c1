//! The storage contract behind idempotent commands: claim a key, record the response, or give
//! the claim up.
//!
//! A store only keeps bytes; serializing the response is the idempotency behavior's business.
//! Methods return boxed futures so that the store can live behind `Arc<dyn IdempotencyStore>`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::transport::OutboxEntry;
use crate::{Error, Result};

/// A heap-allocated, `Send` future: what a dyn-compatible async trait method returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One holding of a claim. A store hands out a new fence with every claim it grants and acts
/// on a claim (renew, complete, release) only for the fence that holds it now: an execution
/// that lost its claim (it outlived its lease, paused, and another took over) can neither
/// record its response over the new holder's nor release the new holder's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fence(pub u64);

impl Fence {
    /// A fresh fence: random, so two holders of one key never share one.
    pub fn fresh() -> Fence {
        // At most i64::MAX, so stores that keep it in a signed 64-bit column lose nothing.
        Fence(fastrand::u64(1..=i64::MAX as u64))
    }
}

/// The outcome of [`IdempotencyStore::try_claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller now holds the claim under this fence and must run the command, renewing the
    /// claim while it runs, then call [`complete`](IdempotencyStore::complete) or
    /// [`release`](IdempotencyStore::release).
    Acquired(Fence),
    /// The command already ran; here is its serialized response.
    Completed(Vec<u8>),
    /// Another execution holds a live claim; the caller should wait and claim again.
    InProgress,
}

/// The error a store returns when `fence` no longer holds the claim on `key`: nothing was
/// stored. Its kind is [`Conflict`](crate::ErrorKind::Conflict).
pub fn claim_lost(key: &str) -> Error {
    Error::conflict(format!(
        "the claim on idempotency key `{key}` was lost: the execution outlived its lease \
         without renewing it and another execution took the key over; this execution's \
         outcome was not recorded"
    ))
}

/// Where idempotency records live.
///
/// A key has at most one record: absent, in progress (claimed at some instant under a
/// [`Fence`]), or completed (with its response). Implementations make `try_claim` atomic: of
/// any number of concurrent claimers of one key, exactly one gets [`Claim::Acquired`].
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claim `key` for one execution; a claim not renewed within `lease` counts as abandoned.
    ///
    /// An absent key or an abandoned claim yields [`Claim::Acquired`] (and a fresh claim under
    /// a new fence), a completed key its response, a live claim [`Claim::InProgress`].
    fn try_claim<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<Claim>>;

    /// Extends the claim `fence` holds on `key` to `lease` from now. `Ok(false)`: `fence` no
    /// longer holds it (it expired and another execution took it, or it was completed).
    fn renew<'a>(
        &'a self,
        key: &'a str,
        fence: Fence,
        lease: Duration,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Records the serialized response of the execution that holds the claim under `fence`.
    ///
    /// When `fence` no longer holds it, nothing is stored and the error is [`claim_lost`]'s:
    /// the response recorded (or to be recorded) by the holder stands, so every caller sees
    /// the same one.
    fn complete<'a>(
        &'a self,
        key: &'a str,
        fence: Fence,
        response: &'a [u8],
    ) -> BoxFuture<'a, Result<()>>;

    /// Records the response like [`complete`](IdempotencyStore::complete) and stores `outbox`
    /// (the messages the execution published for other services) in the same transaction, so
    /// that either both are stored or neither is.
    ///
    /// A store that cannot (the default) returns `None`; the mediator then completes the record
    /// and stores the messages in the outbox separately.
    fn complete_with_outbox<'a>(
        &'a self,
        _key: &'a str,
        _fence: Fence,
        _response: &'a [u8],
        _outbox: &'a [OutboxEntry],
    ) -> Option<BoxFuture<'a, Result<()>>> {
        None
    }

    /// Gives the claim `fence` holds up after a failed execution, so a later attempt may run.
    /// Does nothing when `fence` no longer holds it.
    ///
    /// A completed record is kept: a response, once recorded, is never released.
    fn release<'a>(&'a self, key: &'a str, fence: Fence) -> BoxFuture<'a, Result<()>>;
}
