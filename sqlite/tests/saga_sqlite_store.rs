//! What only the SQLite saga store does: keep instances on disk, so a saga cut off by a process
//! death resumes from its last saved step after the file is opened again; upgrade a file an
//! older catga wrote; refuse a stale update together with its step's events.

#[path = "../../src-runtime/tests/saga_support/mod.rs"]
mod saga_support;

use std::sync::Arc;

use catga::ErrorKind;
use catga::idempotency::{Claim, IdempotencyStore};
use catga::prelude::{Deserialize, Event, Serialize};
use catga::saga::{SagaFailure, SagaRecord, SagaRunner, SagaStatus, SagaStore};
use catga::transport::{Envelope, OutboxEntry, event_subject};
use catga_sqlite::{SqliteIdempotencyStore, SqliteSagaStore};
use saga_support::{At, OrderSaga, ctx, log_of, start_and_kill};

#[tokio::test]
async fn saga_resumes_from_the_persisted_step_after_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sagas.db");
    {
        let store: Arc<dyn SagaStore> = Arc::new(SqliteSagaStore::open(&path).await.unwrap());
        start_and_kill(store, OrderSaga::hanging_at(At::Execute(2)), "o-1").await;
        // Everything of the first "process" is dropped here.
    }

    let store = Arc::new(SqliteSagaStore::open(&path).await.unwrap());
    let record = store.load("order", "o-1").await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.completed_steps),
        (SagaStatus::Running, 2)
    );

    let runner = SagaRunner::with_shared_store(store.clone());
    let saga = OrderSaga::new();
    let resumed = runner.resume_pending(&saga, &ctx()).await.unwrap();
    // Steps 0 and 1 completed before the crash: only the interrupted step 2 runs. The saga
    // checks that the state saved after step 1 (two standing steps) is what step 2 receives.
    assert_eq!(saga.log(), log_of(&["execute:ship_order"]));
    assert_eq!(resumed[0].result.as_ref().unwrap().standing, 3);
    assert_eq!(
        store.load("order", "o-1").await.unwrap().unwrap().status,
        SagaStatus::Completed
    );
}

#[tokio::test]
async fn compensation_resumes_after_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sagas.db");
    {
        let store: Arc<dyn SagaStore> = Arc::new(SqliteSagaStore::open(&path).await.unwrap());
        let dying = OrderSaga {
            fail: vec![At::Execute(2)],
            hang: Some(At::Compensate(1)),
            ..OrderSaga::new()
        };
        start_and_kill(store, dying, "o-1").await;
    }

    let runner = SagaRunner::new(SqliteSagaStore::open(&path).await.unwrap());
    let saga = OrderSaga::new();
    let resumed = runner.resume_pending(&saga, &ctx()).await.unwrap();
    // The interrupted compensation of step 1 runs again, then step 0's; no step executes.
    assert_eq!(
        saga.log(),
        log_of(&["compensate:charge_card", "compensate:reserve_stock"])
    );
    let err = resumed[0].result.as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let failure = SagaFailure::of(err).unwrap();
    assert_eq!(failure.failed_step.name, "ship_order");
    assert!(failure.compensated());
}

#[tokio::test]
async fn failed_compensation_is_still_reported_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sagas.db");
    {
        let runner = SagaRunner::new(SqliteSagaStore::open(&path).await.unwrap());
        let saga = OrderSaga::failing_at(&[At::Execute(1), At::Compensate(0)]);
        runner
            .start(&saga, "o-1", saga_support::OrderState::new("o-1"), &ctx())
            .await
            .unwrap_err();
    }
    let runner = SagaRunner::new(SqliteSagaStore::open(&path).await.unwrap());
    let saga = OrderSaga::failing_at(&[At::Compensate(0)]);
    let err = runner.resume(&saga, "o-1", &ctx()).await.unwrap_err();
    let failure = SagaFailure::of(&err).unwrap();
    assert_eq!(failure.failed_step.kind, ErrorKind::Unavailable);
    assert_eq!(
        failure.compensation_failure.as_ref().unwrap().name,
        "reserve_stock"
    );
    assert_eq!(saga.log(), log_of(&["compensate:reserve_stock"]));
}

#[tokio::test]
async fn saga_and_idempotency_stores_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catga.db");
    let sagas = SagaRunner::new(SqliteSagaStore::open(&path).await.unwrap());
    let idempotency = SqliteIdempotencyStore::open(&path).await.unwrap();
    let saga = OrderSaga::new();
    sagas
        .start(&saga, "o-1", saga_support::OrderState::new("o-1"), &ctx())
        .await
        .unwrap();
    let lease = std::time::Duration::from_secs(30);
    assert!(matches!(
        idempotency.try_claim("o-1", lease).await.unwrap(),
        Claim::Acquired(_)
    ));
    drop((sagas, idempotency));

    let store = SqliteSagaStore::open(&path).await.unwrap();
    assert!(store.load("order", "o-1").await.unwrap().is_some());
    let idempotency = SqliteIdempotencyStore::open(&path).await.unwrap();
    assert_eq!(
        idempotency.try_claim("o-1", lease).await.unwrap(),
        Claim::InProgress
    );
}

#[tokio::test]
async fn row_with_an_unknown_status_is_a_storage_error_naming_the_instance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sagas.db");
    let store = SqliteSagaStore::open(&path).await.unwrap();
    let runner = SagaRunner::new(store.clone());
    runner
        .start(
            &OrderSaga::new(),
            "o-1",
            saga_support::OrderState::new("o-1"),
            &ctx(),
        )
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE catga_sagas SET status = 'paused'", [])
        .unwrap();
    let err = store.load("order", "o-1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.message().contains("unknown status `paused`"), "{err}");
    assert!(err.message().contains("`o-1`"), "{err}");
}

#[tokio::test]
async fn a_saga_file_of_schema_version_1_is_upgraded_and_its_instances_resume() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sagas.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE catga_schema (component TEXT PRIMARY KEY NOT NULL,
                                        version INTEGER NOT NULL);
             INSERT INTO catga_schema VALUES ('saga', 1);
             CREATE TABLE catga_sagas (
                 saga TEXT NOT NULL,
                 id TEXT NOT NULL,
                 status TEXT NOT NULL,
                 completed_steps INTEGER NOT NULL CHECK (completed_steps >= 0),
                 state BLOB NOT NULL,
                 failed_step INTEGER,
                 failed_step_name TEXT,
                 failure_kind TEXT,
                 failure_message TEXT,
                 compensation_step INTEGER,
                 compensation_step_name TEXT,
                 compensation_kind TEXT,
                 compensation_message TEXT,
                 created_at_ms INTEGER NOT NULL,
                 updated_at_ms INTEGER NOT NULL,
                 PRIMARY KEY (saga, id)
             );
             CREATE INDEX catga_sagas_by_status ON catga_sagas (saga, status);
             INSERT INTO catga_sagas (saga, id, status, completed_steps, state,
                                      created_at_ms, updated_at_ms)
             VALUES ('order', 'o-1', 'running', 1,
                     CAST('{\"order_id\":\"o-1\",\"standing\":1}' AS BLOB), 0, 0);",
        )
        .expect("a version 1 saga file with an instance stopped after step 0");
    }

    let store = Arc::new(
        SqliteSagaStore::open(&path)
            .await
            .expect("opens and upgrades"),
    );
    assert_eq!(
        store.load("order", "o-1").await.unwrap().unwrap().version,
        0
    );
    let runner = SagaRunner::with_shared_store(store.clone());
    let saga = OrderSaga::new();
    let resumed = runner.resume_pending(&saga, &ctx()).await.unwrap();
    assert_eq!(resumed[0].result.as_ref().unwrap().standing, 3);
    assert_eq!(
        saga.log(),
        log_of(&["execute:charge_card", "execute:ship_order"])
    );
    let record = store.load("order", "o-1").await.unwrap().unwrap();
    assert_eq!((record.status, record.version), (SagaStatus::Completed, 3));
    drop((runner, store));

    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row(
            "SELECT version FROM catga_schema WHERE component = 'saga'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(version, 2);
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Charged {
    order: String,
}

#[tokio::test]
async fn a_refused_saga_update_stores_none_of_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let (store, outbox) = SqliteSagaStore::open_with_outbox(dir.path().join("service.db"))
        .await
        .unwrap();
    let mut record = SagaRecord::new("order", "o-1", b"{}".to_vec());
    store.create(&record).await.unwrap();
    record.version = 1;
    store.update(&record).await.unwrap();

    // Saved by a runner that loaded version 0, with the event its step published.
    let mut stale = SagaRecord::new("order", "o-1", b"{}".to_vec());
    stale.completed_steps = 1;
    stale.version = 1;
    let event = Charged {
        order: "o-1".into(),
    };
    let entry = OutboxEntry {
        subject: event_subject("Charged"),
        envelope: Envelope::of(&event, &ctx()).unwrap(),
    };
    let err = store
        .update_with_outbox(&stale, &[entry])
        .expect("the store keeps an outbox")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert_eq!(outbox.pending().await.unwrap(), 0);
    assert_eq!(store.load("order", "o-1").await.unwrap(), Some(record));
}
