//! [`MemoryIdempotencyStore`]: idempotency records in a process-local map, for tests and for
//! services that need no deduplication across restarts.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::store::{BoxFuture, Claim, Fence, IdempotencyStore, claim_lost};
use crate::Result;

/// Idempotency records held in memory; everything is lost when the store is dropped.
#[derive(Debug, Default)]
pub struct MemoryIdempotencyStore {
    records: Mutex<HashMap<String, Record>>,
}

#[derive(Debug)]
enum Record {
    InProgress {
        /// When the claim was made or last renewed.
        claimed_at: Instant,
        fence: Fence,
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
            Some(Record::InProgress { claimed_at, .. })
                if now.duration_since(*claimed_at) < lease =>
            {
                Claim::InProgress
            }
            _ => {
                let fence = Fence::fresh();
                records.insert(
                    key.to_owned(),
                    Record::InProgress {
                        claimed_at: now,
                        fence,
                    },
                );
                Claim::Acquired(fence)
            }
        }
    }

    /// Whether `fence` holds the claim on `key` in `records`.
    fn holds(records: &HashMap<String, Record>, key: &str, fence: Fence) -> bool {
        matches!(records.get(key), Some(Record::InProgress { fence: holder, .. }) if *holder == fence)
    }

    fn renew_now(&self, key: &str, fence: Fence) -> bool {
        let mut records = self.lock();
        if !Self::holds(&records, key, fence) {
            return false;
        }
        records.insert(
            key.to_owned(),
            Record::InProgress {
                claimed_at: Instant::now(),
                fence,
            },
        );
        true
    }

    fn complete_now(&self, key: &str, fence: Fence, response: &[u8]) -> Result<()> {
        let mut records = self.lock();
        if !Self::holds(&records, key, fence) {
            return Err(claim_lost(key));
        }
        let record = Record::Completed {
            response: response.to_vec(),
            completed_at: Instant::now(),
        };
        records.insert(key.to_owned(), record);
        Ok(())
    }

    fn release_now(&self, key: &str, fence: Fence) {
        let mut records = self.lock();
        if Self::holds(&records, key, fence) {
            records.remove(key);
        }
    }
}

impl IdempotencyStore for MemoryIdempotencyStore {
    fn try_claim<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<Claim>> {
        Box::pin(async move { Ok(self.claim_now(key, lease)) })
    }

    fn renew<'a>(
        &'a self,
        key: &'a str,
        fence: Fence,
        _lease: Duration,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move { Ok(self.renew_now(key, fence)) })
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        fence: Fence,
        response: &'a [u8],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move { self.complete_now(key, fence, response) })
    }

    fn release<'a>(&'a self, key: &'a str, fence: Fence) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.release_now(key, fence);
            Ok(())
        })
    }
}
