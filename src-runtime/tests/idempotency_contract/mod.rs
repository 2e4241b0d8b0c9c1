//! The behaviour every `IdempotencyStore` must show, written once: `store_contract!` runs it
//! against a store, here (the in-memory store) and in catga-sqlite's tests (the SQLite store).

#![allow(unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use catga::ErrorKind;
use catga::idempotency::{Claim, Fence, IdempotencyStore};

const LEASE: Duration = Duration::from_secs(30);

/// The fence of an acquired claim; fails the test for any other outcome.
fn acquired(claim: Claim) -> Fence {
    match claim {
        Claim::Acquired(fence) => fence,
        other => panic!("expected the claim to be acquired, got {other:?}"),
    }
}

pub async fn first_claim_acquires_and_second_sees_in_progress(store: impl IdempotencyStore) {
    acquired(store.try_claim("k", LEASE).await.unwrap());
    assert_eq!(
        store.try_claim("k", LEASE).await.unwrap(),
        Claim::InProgress
    );
}

pub async fn completed_key_returns_recorded_response(store: impl IdempotencyStore) {
    let fence = acquired(store.try_claim("k", LEASE).await.unwrap());
    store.complete("k", fence, b"order-42").await.unwrap();
    assert_eq!(
        store.try_claim("k", LEASE).await.unwrap(),
        Claim::Completed(b"order-42".to_vec())
    );
}

pub async fn released_claim_can_be_acquired_again(store: impl IdempotencyStore) {
    let fence = acquired(store.try_claim("k", LEASE).await.unwrap());
    store.release("k", fence).await.unwrap();
    let again = acquired(store.try_claim("k", LEASE).await.unwrap());
    assert_ne!(again, fence, "every claim has a fence of its own");
}

pub async fn release_keeps_a_completed_response(store: impl IdempotencyStore) {
    let fence = acquired(store.try_claim("k", LEASE).await.unwrap());
    store.complete("k", fence, b"done").await.unwrap();
    store.release("k", fence).await.unwrap();
    assert_eq!(
        store.try_claim("k", LEASE).await.unwrap(),
        Claim::Completed(b"done".to_vec())
    );
}

pub async fn first_completion_wins_over_a_later_one(store: impl IdempotencyStore) {
    let fence = acquired(store.try_claim("k", LEASE).await.unwrap());
    store.complete("k", fence, b"first").await.unwrap();
    let error = store.complete("k", fence, b"second").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    assert_eq!(
        store.try_claim("k", LEASE).await.unwrap(),
        Claim::Completed(b"first".to_vec())
    );
}

pub async fn empty_response_round_trips(store: impl IdempotencyStore) {
    let fence = acquired(store.try_claim("k", LEASE).await.unwrap());
    store.complete("k", fence, b"").await.unwrap();
    assert_eq!(
        store.try_claim("k", LEASE).await.unwrap(),
        Claim::Completed(Vec::new())
    );
}

pub async fn keys_are_independent(store: impl IdempotencyStore) {
    let a = acquired(store.try_claim("a", LEASE).await.unwrap());
    acquired(store.try_claim("b", LEASE).await.unwrap());
    store.complete("a", a, b"A").await.unwrap();
    assert_eq!(
        store.try_claim("b", LEASE).await.unwrap(),
        Claim::InProgress
    );
}

pub async fn claim_older_than_lease_is_taken_over(store: impl IdempotencyStore) {
    // Generous margins: the claims right after acquiring must land inside the lease even on a
    // loaded machine.
    let lease = Duration::from_millis(500);
    acquired(store.try_claim("k", lease).await.unwrap());
    assert_eq!(
        store.try_claim("k", lease).await.unwrap(),
        Claim::InProgress
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    acquired(store.try_claim("k", lease).await.unwrap());
    // The takeover is a fresh claim: it is live again.
    assert_eq!(
        store.try_claim("k", lease).await.unwrap(),
        Claim::InProgress
    );
}

pub async fn a_renewed_claim_outlives_its_first_lease(store: impl IdempotencyStore) {
    let lease = Duration::from_millis(500);
    let fence = acquired(store.try_claim("k", lease).await.unwrap());
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(store.renew("k", fence, lease).await.unwrap(), "still held");
    }
    // 900 ms after the claim, 0 ms after the last renewal: still live.
    assert_eq!(
        store.try_claim("k", lease).await.unwrap(),
        Claim::InProgress
    );
}

pub async fn a_stale_holder_can_neither_renew_complete_nor_release(store: impl IdempotencyStore) {
    let lease = Duration::from_millis(200);
    let stale = acquired(store.try_claim("k", lease).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let holder = acquired(store.try_claim("k", lease).await.unwrap());
    assert_ne!(stale, holder);
    assert!(!store.renew("k", stale, LEASE).await.unwrap());
    let error = store.complete("k", stale, b"stale").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Conflict, "{error}");
    assert!(error.message().contains("`k`"), "{error}");
    store.release("k", stale).await.unwrap();
    assert_eq!(
        store.try_claim("k", LEASE).await.unwrap(),
        Claim::InProgress,
        "the holder's claim survived the stale release"
    );
    store.complete("k", holder, b"holder").await.unwrap();
    assert_eq!(
        store.try_claim("k", LEASE).await.unwrap(),
        Claim::Completed(b"holder".to_vec())
    );
}

pub async fn completed_record_never_expires_through_the_lease(store: impl IdempotencyStore) {
    let lease = Duration::from_millis(20);
    let fence = acquired(store.try_claim("k", lease).await.unwrap());
    store.complete("k", fence, b"kept").await.unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(
        store.try_claim("k", lease).await.unwrap(),
        Claim::Completed(b"kept".to_vec())
    );
}

pub async fn concurrent_claims_have_exactly_one_winner(store: impl IdempotencyStore) {
    let store = Arc::new(store);
    let claims = (0..50).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.try_claim("k", LEASE).await.unwrap() })
    });
    let mut acquired = 0;
    for claim in claims.collect::<Vec<_>>() {
        match claim.await.unwrap() {
            Claim::Acquired(_) => acquired += 1,
            Claim::InProgress => {}
            Claim::Completed(_) => panic!("nothing completed the key"),
        }
    }
    assert_eq!(acquired, 1);
}

/// One `#[tokio::test]` per behaviour above, for the store `$make` builds. `$make` yields
/// `(store, guard)`; the guard keeps the store's files alive for the test.
macro_rules! store_contract {
    ($store:ident, $make:expr) => {
        mod $store {
            store_contract!(@tests $make;
                first_claim_acquires_and_second_sees_in_progress,
                completed_key_returns_recorded_response,
                released_claim_can_be_acquired_again,
                release_keeps_a_completed_response,
                first_completion_wins_over_a_later_one,
                empty_response_round_trips,
                keys_are_independent,
                claim_older_than_lease_is_taken_over,
                a_renewed_claim_outlives_its_first_lease,
                a_stale_holder_can_neither_renew_complete_nor_release,
                completed_record_never_expires_through_the_lease,
                concurrent_claims_have_exactly_one_winner,
            );
        }
    };
    (@tests $make:expr; $($behaviour:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $behaviour() {
                let (store, _guard) = $make.await;
                super::$behaviour(store).await;
            }
        )*
    };
}
