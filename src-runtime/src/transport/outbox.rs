//! The outbox contract: where the events a service exports wait for the transport. The mediator
//! stores them once their handling succeeded (see [`capture`](super::capture)); a dispatcher of
//! the outbox's own crate delivers them. `catga_sqlite::SqliteOutbox` is the one catga ships.

use std::any::Any;
use std::fmt::Debug;
use std::time::Duration;

use super::{BoxFuture, Envelope};
use crate::Result;

/// One message waiting in the outbox: where it goes and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// The subject to publish on.
    pub subject: String,
    /// The message.
    pub envelope: Envelope,
}

/// Where exported events wait until a dispatcher has delivered them to the transport.
///
/// Given to the mediator with [`MediatorBuilder::outbox`](crate::MediatorBuilder::outbox),
/// which keeps it as an `Arc<dyn Outbox>`. `Any` lets an outbox's crate reach its own type
/// behind that (its unit of work does, through [`Context::unit_of_work`](crate::Context::unit_of_work)).
pub trait Outbox: Any + Debug + Send + Sync {
    /// Stores `entries` together and returns once they are durable: after `Ok` they are
    /// delivered even if this process crashes. An empty `entries` stores nothing.
    fn enqueue(&self, entries: Vec<OutboxEntry>) -> BoxFuture<'_, Result<()>>;

    /// How many entries are not delivered yet.
    fn pending(&self) -> BoxFuture<'_, Result<usize>>;

    /// How long the oldest undelivered entry has waited; `None` when nothing waits. An outbox
    /// whose oldest entry keeps ageing is stuck, however few entries it holds.
    fn oldest_pending_age(&self) -> BoxFuture<'_, Result<Option<Duration>>>;
}
