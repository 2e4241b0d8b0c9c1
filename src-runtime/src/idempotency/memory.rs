//! [`MemoryIdempotencyStore`]: idempotency records in a process-local map, for tests and for
//! services that need no deduplication across restarts.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::store::{BoxFuture, Claim, IdempotencyStore};
use crate::Result;

/// Idempotency records held in memory; everything is lost when the store is dropped.
#[derive(Debug, Default)]
pub struct MemoryIdempotencyStore {
    records: Mutex<HashMap<String, Record>>,
}

#[derive(Debug)]
enum Record {
    InProgress {
        claimed_at: Instant,
    },
    Completed {
        response: Vec<u8>,
        completed_at: Instant,
    },
}

impl MemoryIdempotencyStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget completed records older than `age`; returns how many were removed.
    ///
    /// In-progress claims are kept whatever their age: they expire through their lease.
    pub fn purge_completed(&self, age: Duration) -> usize {
        let now = Instant::now();
        let mut records = self.lock();
        let before = records.len();
        records.retain(|_, record| match record {
            Record::Completed { completed_at, .. } => now.duration_since(*completed_at) < age,
            Record::InProgress { .. } => true,
        });
        before - records.len()
    }

    /// Number of records (in progress and completed).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no record.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Record>> {
        // No code path panics while holding the lock, and every update is a single assignment,
        // so a poisoned map is still consistent.
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn claim_now(&self, key: &str, lease: Duration) -> Claim {
        let now = Instant::now();
        let mut records = self.lock();
        match records.get(key) {
            Some(Record::Completed { response, .. }) => Claim::Completed(response.clone()),
            Some(Record::InProgress { claimed_at }) if now.duration_since(*claimed_at) < lease => {
                Claim::InProgress
            }
            _ => {
                records.insert(key.to_owned(), Record::InProgress { claimed_at: now });
                Claim::Acquired
            }
        }
    }

    fn complete_now(&self, key: &str, response: &[u8]) {
        let mut records = self.lock();
        if !matches!(records.get(key), Some(Record::Completed { .. })) {
            let record = Record::Completed {
                response: response.to_vec(),
                completed_at: Instant::now(),
            };
            records.insert(key.to_owned(), record);
        }
    }

    fn release_now(&self, key: &str) {
        let mut records = self.lock();
        if matches!(records.get(key), Some(Record::InProgress { .. })) {
            records.remove(key);
        }
    }
}

impl IdempotencyStore for MemoryIdempotencyStore {
    fn try_claim<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<Claim>> {
        Box::pin(async move { Ok(self.claim_now(key, lease)) })
    }

    fn complete<'a>(&'a self, key: &'a str, response: &'a [u8]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.complete_now(key, response);
            Ok(())
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.release_now(key);
            Ok(())
        })
    }
}
