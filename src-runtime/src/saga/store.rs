//! The [`SagaStore`] contract: where saga instances are kept between steps and across restarts.

use super::record::SagaRecord;
use crate::Result;
use crate::idempotency::BoxFuture;
use crate::transport::OutboxEntry;

/// Where saga instances live, keyed by saga name and instance id.
///
/// Methods return boxed futures so that the store can live behind `Arc<dyn SagaStore>`.
/// A store keeps each record exactly as last written; the runner decides what they mean.
///
/// Updates are compare-and-set on [`SagaRecord::version`] (optimistic concurrency): a runner
/// saves a record whose version is one more than the version it loaded, and the store replaces
/// the stored record only when that is still the stored one. So of two runners driving one
/// instance, the one that saves second learns it was overtaken, instead of both writing over
/// each other.
pub trait SagaStore: Send + Sync + 'static {
    /// Store a new instance. Fails with [`ErrorKind::Conflict`](crate::ErrorKind::Conflict)
    /// when an instance with the same saga name and id exists.
    fn create<'a>(&'a self, record: &'a SagaRecord) -> BoxFuture<'a, Result<()>>;

    /// Replace the stored instance with `record` when the stored version is `record.version - 1`
    /// (the version the runner loaded before this change). Fails with
    /// [`ErrorKind::Conflict`](crate::ErrorKind::Conflict) ([`moved_on`]) when the stored
    /// version is another, leaving the stored record as it was, and with
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) ([`not_stored`]) when there is none.
    fn update<'a>(&'a self, record: &'a SagaRecord) -> BoxFuture<'a, Result<()>>;

    /// Whether [`update_with_outbox`](SagaStore::update_with_outbox) stores outbox messages in
    /// the record's transaction. When it does, the runner collects the events each step
    /// publishes and commits them with the state saved after the step.
    fn keeps_outbox(&self) -> bool {
        false
    }

    /// Replaces the instance like [`update`](SagaStore::update), on the same version check,
    /// and stores `outbox` in the same transaction: a refused update stores no message. Stores
    /// that cannot (the default) return `None`.
    fn update_with_outbox<'a>(
        &'a self,
        _record: &'a SagaRecord,
        _outbox: &'a [OutboxEntry],
    ) -> Option<BoxFuture<'a, Result<()>>> {
        None
    }

    /// The instance `id` of saga `saga`, if stored.
    fn load<'a>(&'a self, saga: &'a str, id: &'a str) -> BoxFuture<'a, Result<Option<SagaRecord>>>;

    /// Every instance of saga `saga` that is running or compensating, oldest first.
    fn pending<'a>(&'a self, saga: &'a str) -> BoxFuture<'a, Result<Vec<SagaRecord>>>;
}

/// The error a store's [`SagaStore::create`] returns for an existing instance.
pub fn already_exists(saga: &str, id: &str) -> crate::Error {
    crate::Error::conflict(format!(
        "saga `{saga}` already has an instance `{id}`; pick a new id, or call \
         SagaRunner::resume to continue the existing one"
    ))
}

/// The error a store's [`SagaStore::update`] returns for a missing instance.
pub fn not_stored(saga: &str, id: &str) -> crate::Error {
    crate::Error::not_found(format!(
        "saga `{saga}` has no stored instance `{id}`; start it with SagaRunner::start"
    ))
}

/// The error a store's [`SagaStore::update`] returns when the stored version is not the one the
/// record replaces: another runner saved the instance since this one loaded it.
pub fn moved_on(saga: &str, id: &str) -> crate::Error {
    crate::Error::conflict(format!(
        "saga `{saga}` instance `{id}` has moved on: another runner saved it since this one \
         loaded it; load it again to see where it stands"
    ))
}
