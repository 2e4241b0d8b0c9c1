//! What only the in-memory idempotency store does: purge by age and follow tokio's clock, so
//! tests with paused time see leases expire without waiting.

use std::time::Duration;

use catga::idempotency::{Claim, Fence, IdempotencyStore, MemoryIdempotencyStore};

const LEASE: Duration = Duration::from_secs(30);

/// The fence of an acquired claim; fails the test for any other outcome.
fn acquired(claim: Claim) -> Fence {
    match claim {
        Claim::Acquired(fence) => fence,
        other => panic!("expected the claim to be acquired, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn purge_removes_only_completed_records_older_than_the_age() {
    let store = MemoryIdempotencyStore::new();
    let old = acquired(store.try_claim("old", LEASE).await.unwrap());
    store.complete("old", old, b"1").await.unwrap();
    store.try_claim("running", LEASE).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let fresh = acquired(store.try_claim("fresh", LEASE).await.unwrap());
    store.complete("fresh", fresh, b"2").await.unwrap();

    assert_eq!(store.purge_completed(Duration::from_secs(60)), 1);
    assert_eq!(store.len(), 2);
    acquired(store.try_claim("old", LEASE).await.unwrap());
    assert_eq!(
        store.try_claim("fresh", LEASE).await.unwrap(),
        Claim::Completed(b"2".to_vec())
    );
    // The in-progress claim is an hour old, past its lease: it is taken over, not purged.
    acquired(store.try_claim("running", LEASE).await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn lease_expires_on_the_paused_tokio_clock() {
    let store = MemoryIdempotencyStore::new();
    acquired(store.try_claim("k", LEASE).await.unwrap());
    tokio::time::sleep(LEASE - Duration::from_millis(1)).await;
    assert_eq!(
        store.try_claim("k", LEASE).await.unwrap(),
        Claim::InProgress
    );
    tokio::time::sleep(Duration::from_millis(1)).await;
    acquired(store.try_claim("k", LEASE).await.unwrap());
}
