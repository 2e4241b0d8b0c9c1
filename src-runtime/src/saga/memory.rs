//! [`MemorySagaStore`]: saga instances in a process-local map, for tests and for sagas that need
//! not survive a restart.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Mutex, MutexGuard};

use super::record::SagaRecord;
use super::store::{SagaStore, already_exists, moved_on, not_stored};
use crate::Result;
use crate::idempotency::BoxFuture;

/// Saga instances held in memory; everything is lost when the store is dropped.
#[derive(Debug, Default)]
pub struct MemorySagaStore {
    inner: Mutex<Instances>,
}

#[derive(Debug, Default)]
struct Instances {
    /// Keyed by (saga name, instance id); the number orders instances by creation.
    records: HashMap<(String, String), (u64, SagaRecord)>,
    created: u64,
}

impl MemorySagaStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Instances> {
        // Every update is a single map operation, so a poisoned map is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn create_now(&self, record: &SagaRecord) -> Result<()> {
        let mut inner = self.lock();
        let order = inner.created;
        match inner
            .records
            .entry((record.saga.clone(), record.id.clone()))
        {
            Entry::Occupied(_) => return Err(already_exists(&record.saga, &record.id)),
            Entry::Vacant(slot) => slot.insert((order, record.clone())),
        };
        inner.created += 1;
        Ok(())
    }

    fn update_now(&self, record: &SagaRecord) -> Result<()> {
        let mut inner = self.lock();
        let key = (record.saga.clone(), record.id.clone());
        match inner.records.get_mut(&key) {
            Some((_, stored)) if stored.version.checked_add(1) == Some(record.version) => {
                *stored = record.clone();
                Ok(())
            }
            Some(_) => Err(moved_on(&record.saga, &record.id)),
            None => Err(not_stored(&record.saga, &record.id)),
        }
    }

    fn load_now(&self, saga: &str, id: &str) -> Option<SagaRecord> {
        let key = (saga.to_owned(), id.to_owned());
        self.lock()
            .records
            .get(&key)
            .map(|(_, record)| record.clone())
    }

    fn pending_now(&self, saga: &str) -> Vec<SagaRecord> {
        let inner = self.lock();
        let mut pending: Vec<_> = inner
            .records
            .values()
            .filter(|(_, record)| record.saga == saga && record.status.is_pending())
            .collect();
        pending.sort_by_key(|(order, _)| *order);
        pending
            .into_iter()
            .map(|(_, record)| record.clone())
            .collect()
    }
}

impl SagaStore for MemorySagaStore {
    fn create<'a>(&'a self, record: &'a SagaRecord) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.create_now(record) })
    }

    fn update<'a>(&'a self, record: &'a SagaRecord) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.update_now(record) })
    }

    fn load<'a>(&'a self, saga: &'a str, id: &'a str) -> BoxFuture<'a, Result<Option<SagaRecord>>> {
        Box::pin(async move { Ok(self.load_now(saga, id)) })
    }

    fn pending<'a>(&'a self, saga: &'a str) -> BoxFuture<'a, Result<Vec<SagaRecord>>> {
        Box::pin(async move { Ok(self.pending_now(saga)) })
    }
}
