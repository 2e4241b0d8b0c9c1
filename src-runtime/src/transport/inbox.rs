//! The inbox contract: the ids of the messages a consumer group has processed, so a message the
//! broker delivers again (after a crash, a lost acknowledgement, a republished outbox entry)
//! does not run its handlers twice; and projections, which write in the inbox's own transaction.
//! `catga_sqlite::SqliteInbox` is the inbox catga ships.

use std::any::Any;
use std::fmt::Debug;

use super::{BoxFuture, Envelope, Handled};
use crate::Result;

/// Processed message ids per consumer group.
///
/// Given to a consumer with [`EventConsumer::inbox`](super::EventConsumer::inbox), which keeps
/// it as an `Arc<dyn Inbox>`. `Any` lets a [`Projection`] reach the inbox's own type (and so its
/// transaction) behind that.
pub trait Inbox: Any + Debug + Send + Sync {
    /// Whether `consumer` has processed message `id`.
    fn seen<'a>(&'a self, consumer: &'a str, id: &'a str) -> BoxFuture<'a, Result<bool>>;

    /// Records that `consumer` processed message `id`; `false` when it was already recorded.
    fn record<'a>(&'a self, consumer: &'a str, id: &'a str) -> BoxFuture<'a, Result<bool>>;
}

/// How the events of one type are applied inside an inbox's transaction, so their writes and
/// the record of the delivery commit together: exactly once, whatever the redeliveries and
/// crashes. An inbox's crate implements it for the projections it offers (catga-sqlite's
/// `Routes::projection`, with a SQLite transaction); [`Routes::inbox_projection`](super::Routes::inbox_projection)
/// routes a type to one.
pub trait Projection: Send + Sync + 'static {
    /// Applies `envelope` for consumer group `consumer` in the transaction that records it in
    /// `inbox`: [`Handled::Applied`], or [`Handled::Duplicate`] without applying it when `inbox`
    /// has it already. An error rolls both back and counts as a failed delivery; an inbox of
    /// another kind than the projection writes to is a
    /// [`Configuration`](crate::ErrorKind::Configuration) error.
    fn apply<'a>(
        &'a self,
        inbox: &'a dyn Inbox,
        consumer: &'a str,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<Handled>>;
}
