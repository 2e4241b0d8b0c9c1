//! The [`SagaStore`] contract: where saga instances are kept between steps and across restarts.

use super::record::SagaRecord;
use crate::Result;
use crate::idempotency::BoxFuture;
use crate::transport::OutboxEntry;

/// Where saga instances live, keyed by saga name and instance id.
///
/// Methods return boxed futures so that the store can live behind `Arc<dyn SagaStore>`.
/// A store keeps each record exactly as last written; the runner decides what they mean.
pub trait SagaStore: Send + Sync + 'static {
    /// Store a new instance. Fails with [`ErrorKind::Conflict`](crate::ErrorKind::Conflict)
    /// when an instance with the same saga name and id exists.
    fn create<'a>(&'a self, record: &'a SagaRecord) -> BoxFuture<'a, Result<()>>;

    /// Replace the stored instance with `record`. Fails with
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when there is none.
    fn update<'a>(&'a self, record: &'a SagaRecord) -> BoxFuture<'a, Result<()>>;

    /// Whether [`update_with_outbox`](SagaStore::update_with_outbox) stores outbox messages in
    /// the record's transaction. When it does, the runner collects the events each step
    /// publishes and commits them with the state saved after the step.
    fn keeps_outbox(&self) -> bool {
        false
    }

    /// Replaces the instance like [`update`](SagaStore::update) and stores `outbox` in the same
    /// transaction. Stores that cannot (the default) return `None`.
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
