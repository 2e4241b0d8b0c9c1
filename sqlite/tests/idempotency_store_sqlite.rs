//! What only the SQLite idempotency store does: keep records on disk across reopening, share a
//! file between stores, purge old records, and refuse files it cannot use.

use std::sync::Arc;
use std::time::Duration;

use catga::ErrorKind;
use catga::idempotency::{Claim, Fence, IdempotencyStore};
use catga_sqlite::SqliteIdempotencyStore;

const LEASE: Duration = Duration::from_secs(30);

/// The fence of an acquired claim; fails the test for any other outcome.
fn acquired(claim: Claim) -> Fence {
    match claim {
        Claim::Acquired(fence) => fence,
        other => panic!("expected the claim to be acquired, got {other:?}"),
    }
}

#[tokio::test]
async fn reopened_store_keeps_completed_and_in_progress_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idem.db");
    {
        let store = SqliteIdempotencyStore::open(&path).await.unwrap();
        let done = acquired(store.try_claim("done", LEASE).await.unwrap());
        store.complete("done", done, b"response").await.unwrap();
        acquired(store.try_claim("running", LEASE).await.unwrap());
    }
    let store = SqliteIdempotencyStore::open(&path).await.unwrap();
    assert_eq!(
        store.try_claim("done", LEASE).await.unwrap(),
        Claim::Completed(b"response".to_vec())
    );
    assert_eq!(
        store.try_claim("running", LEASE).await.unwrap(),
        Claim::InProgress
    );
    acquired(store.try_claim("new", LEASE).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_have_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idem.db");
    let first = Arc::new(SqliteIdempotencyStore::open(&path).await.unwrap());
    let second = Arc::new(SqliteIdempotencyStore::open(&path).await.unwrap());
    let claims: Vec<_> = (0..40)
        .map(|i| {
            let store = if i % 2 == 0 {
                Arc::clone(&first)
            } else {
                Arc::clone(&second)
            };
            tokio::spawn(async move { store.try_claim("k", LEASE).await.unwrap() })
        })
        .collect();
    let mut acquired = 0;
    for claim in claims {
        if matches!(claim.await.unwrap(), Claim::Acquired(_)) {
            acquired += 1;
        }
    }
    assert_eq!(acquired, 1);
}

#[tokio::test]
async fn purge_removes_only_completed_records_older_than_the_age() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteIdempotencyStore::open(dir.path().join("idem.db"))
        .await
        .unwrap();
    let old = acquired(store.try_claim("old", LEASE).await.unwrap());
    store.complete("old", old, b"1").await.unwrap();
    store.try_claim("running", LEASE).await.unwrap();
    // Wide margins: "fresh" must stay younger than the purge age even on a loaded machine.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let fresh = acquired(store.try_claim("fresh", LEASE).await.unwrap());
    store.complete("fresh", fresh, b"2").await.unwrap();

    assert_eq!(
        store
            .purge_completed(Duration::from_millis(600))
            .await
            .unwrap(),
        1
    );
    acquired(store.try_claim("old", LEASE).await.unwrap());
    assert_eq!(
        store.try_claim("fresh", LEASE).await.unwrap(),
        Claim::Completed(b"2".to_vec())
    );
    assert_eq!(
        store.try_claim("running", LEASE).await.unwrap(),
        Claim::InProgress
    );
}

#[tokio::test]
async fn open_in_a_missing_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("idem.db");
    let err = SqliteIdempotencyStore::open(&path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.message().contains("no-such-dir"), "{err}");
}

#[tokio::test]
async fn open_a_file_that_is_not_sqlite_is_a_storage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    tokio::fs::write(
        &path,
        "this is not a database, just some text that is long enough",
    )
    .await
    .unwrap();
    let err = SqliteIdempotencyStore::open(&path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.message().contains("notes.txt"), "{err}");
}

#[tokio::test]
async fn open_a_file_from_a_newer_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idem.db");
    drop(SqliteIdempotencyStore::open(&path).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE catga_schema SET version = 99 WHERE component = 'idempotency'",
        [],
    )
    .unwrap();
    drop(conn);
    let err = SqliteIdempotencyStore::open(&path).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.message().contains("version 99"), "{err}");
}
