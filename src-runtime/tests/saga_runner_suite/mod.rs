//! The behaviour of the saga runner over a store, written once: `saga_suite!` runs it against a
//! store, here (the in-memory store) and in catga-sqlite's tests (the SQLite store). Uses the
//! crate's `saga_support` module.

#![allow(unreachable_pub)]

use std::sync::Arc;

use crate::saga_support::{At, OrderSaga, OrderState, ctx, log_of, start_and_kill};
use catga::ErrorKind;
use catga::saga::{SagaFailure, SagaRecord, SagaRunner, SagaStatus, SagaStore, StepFailure};

pub async fn stored(store: &Arc<dyn SagaStore>, id: &str) -> SagaRecord {
    store
        .load("order", id)
        .await
        .unwrap()
        .expect("instance is stored")
}

pub async fn steps_run_in_order_and_the_saga_completes(store: Arc<dyn SagaStore>) {
    let runner = SagaRunner::with_shared_store(Arc::clone(&store));
    let saga = OrderSaga::new();
    let state = runner
        .start(&saga, "o-1", OrderState::new("o-1"), &ctx())
        .await
        .unwrap();
    assert_eq!(state.standing, 3);
    assert_eq!(
        saga.log(),
        log_of(&[
            "execute:reserve_stock",
            "execute:charge_card",
            "execute:ship_order"
        ])
    );
    let record = stored(&store, "o-1").await;
    assert_eq!(record.status, SagaStatus::Completed);
    assert_eq!(record.completed_steps, 3);
    assert_eq!(
        serde_json::from_slice::<OrderState>(&record.state).unwrap(),
        state
    );
}

pub async fn failed_step_compensates_completed_steps_in_reverse_order(store: Arc<dyn SagaStore>) {
    let runner = SagaRunner::with_shared_store(Arc::clone(&store));
    let saga = OrderSaga::failing_at(&[At::Execute(2)]);
    let err = runner
        .start(&saga, "o-1", OrderState::new("o-1"), &ctx())
        .await
        .unwrap_err();
    assert_eq!(
        saga.log(),
        log_of(&[
            "execute:reserve_stock",
            "execute:charge_card",
            "execute:ship_order",
            "compensate:charge_card",
            "compensate:reserve_stock",
        ])
    );
    assert_eq!(
        err.kind(),
        ErrorKind::Unavailable,
        "the failed step's kind: {err}"
    );
    let failure = SagaFailure::of(&err).expect("a saga failure");
    assert_eq!(failure.failed_step.step, 2);
    assert_eq!(failure.failed_step.name, "ship_order");
    assert!(failure.compensated());
    assert!(err.message().contains("ship_order"), "{err}");

    let record = stored(&store, "o-1").await;
    assert_eq!(record.status, SagaStatus::Compensated);
    assert_eq!(record.completed_steps, 0);
    assert_eq!(
        serde_json::from_slice::<OrderState>(&record.state)
            .unwrap()
            .standing,
        0
    );
}

pub async fn failed_first_step_compensates_nothing(store: Arc<dyn SagaStore>) {
    let runner = SagaRunner::with_shared_store(store);
    let saga = OrderSaga::failing_at(&[At::Execute(0)]);
    let err = runner
        .start(&saga, "o-1", OrderState::new("o-1"), &ctx())
        .await
        .unwrap_err();
    assert_eq!(saga.log(), log_of(&["execute:reserve_stock"]));
    let failure = SagaFailure::of(&err).unwrap();
    assert_eq!(failure.failed_step.step, 0);
    assert!(failure.compensated());
}

pub async fn compensation_failure_is_reported_and_stops_compensation(store: Arc<dyn SagaStore>) {
    let runner = SagaRunner::with_shared_store(Arc::clone(&store));
    let saga = OrderSaga::failing_at(&[At::Execute(2), At::Compensate(1)]);
    let err = runner
        .start(&saga, "o-1", OrderState::new("o-1"), &ctx())
        .await
        .unwrap_err();
    assert_eq!(
        saga.log(),
        log_of(&[
            "execute:reserve_stock",
            "execute:charge_card",
            "execute:ship_order",
            "compensate:charge_card",
        ])
    );
    let failure = SagaFailure::of(&err).unwrap();
    assert!(!failure.compensated());
    let compensation = failure.compensation_failure.as_ref().unwrap();
    assert_eq!(
        (compensation.step, compensation.name.as_str()),
        (1, "charge_card")
    );
    assert!(
        err.message().contains("compensating step 1 `charge_card`"),
        "{err}"
    );

    let record = stored(&store, "o-1").await;
    assert_eq!(record.status, SagaStatus::CompensationFailed);
    assert_eq!(record.completed_steps, 2);
}

pub async fn resume_retries_a_failed_compensation(store: Arc<dyn SagaStore>) {
    let runner = SagaRunner::with_shared_store(Arc::clone(&store));
    let failing = OrderSaga::failing_at(&[At::Execute(2), At::Compensate(1)]);
    runner
        .start(&failing, "o-1", OrderState::new("o-1"), &ctx())
        .await
        .unwrap_err();
    assert!(
        runner
            .resume_pending(&OrderSaga::new(), &ctx())
            .await
            .unwrap()
            .is_empty()
    );

    let fixed = OrderSaga::new();
    let err = runner.resume(&fixed, "o-1", &ctx()).await.unwrap_err();
    assert_eq!(
        fixed.log(),
        log_of(&["compensate:charge_card", "compensate:reserve_stock"])
    );
    let failure = SagaFailure::of(&err).unwrap();
    assert_eq!(failure.failed_step.name, "ship_order");
    assert!(failure.compensated());
    assert_eq!(stored(&store, "o-1").await.status, SagaStatus::Compensated);
}

pub async fn panicking_step_is_compensated_like_a_failure(store: Arc<dyn SagaStore>) {
    let runner = SagaRunner::with_shared_store(store);
    let saga = OrderSaga::panicking_at(At::Execute(1));
    let err = runner
        .start(&saga, "o-1", OrderState::new("o-1"), &ctx())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(
        err.message().contains("panicked: execute 1 blew up"),
        "{err}"
    );
    assert_eq!(
        saga.log(),
        log_of(&[
            "execute:reserve_stock",
            "execute:charge_card",
            "compensate:reserve_stock"
        ])
    );
}

pub async fn starting_an_existing_instance_is_a_conflict(store: Arc<dyn SagaStore>) {
    let runner = SagaRunner::with_shared_store(store);
    let saga = OrderSaga::new();
    runner
        .start(&saga, "o-1", OrderState::new("o-1"), &ctx())
        .await
        .unwrap();
    let err = runner
        .start(&saga, "o-1", OrderState::new("o-1"), &ctx())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("o-1"), "{err}");
    assert_eq!(saga.log().len(), 3, "the second start ran no step");
}

pub async fn empty_instance_id_is_rejected(store: Arc<dyn SagaStore>) {
    let runner = SagaRunner::with_shared_store(store);
    let err = runner
        .start(&OrderSaga::new(), "", OrderState::new(""), &ctx())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
}

pub async fn interrupted_saga_resumes_after_its_last_completed_step(store: Arc<dyn SagaStore>) {
    start_and_kill(
        Arc::clone(&store),
        OrderSaga::hanging_at(At::Execute(1)),
        "o-1",
    )
    .await;
    let record = stored(&store, "o-1").await;
    assert_eq!(
        (record.status, record.completed_steps),
        (SagaStatus::Running, 1)
    );

    let runner = SagaRunner::with_shared_store(Arc::clone(&store));
    let saga = OrderSaga::new();
    let resumed = runner.resume_pending(&saga, &ctx()).await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].id, "o-1");
    assert_eq!(resumed[0].result.as_ref().unwrap().standing, 3);
    // Step 0 completed before the crash and is not run again; step 1 was cut off mid-way.
    assert_eq!(
        saga.log(),
        log_of(&["execute:charge_card", "execute:ship_order"])
    );
    assert_eq!(stored(&store, "o-1").await.status, SagaStatus::Completed);
}

pub async fn interrupted_compensation_resumes_compensating(store: Arc<dyn SagaStore>) {
    let dying = OrderSaga {
        fail: vec![At::Execute(2)],
        hang: Some(At::Compensate(0)),
        ..OrderSaga::new()
    };
    start_and_kill(Arc::clone(&store), dying, "o-1").await;
    let record = stored(&store, "o-1").await;
    assert_eq!(
        (record.status, record.completed_steps),
        (SagaStatus::Compensating, 1)
    );

    let runner = SagaRunner::with_shared_store(Arc::clone(&store));
    let saga = OrderSaga::new();
    let resumed = runner.resume_pending(&saga, &ctx()).await.unwrap();
    assert_eq!(saga.log(), log_of(&["compensate:reserve_stock"]));
    let err = resumed[0].result.as_ref().unwrap_err();
    let failure = SagaFailure::of(err).unwrap();
    assert_eq!(failure.failed_step.name, "ship_order");
    assert!(failure.compensated());
    assert_eq!(stored(&store, "o-1").await.status, SagaStatus::Compensated);
}

pub async fn resume_pending_leaves_finished_instances_alone(store: Arc<dyn SagaStore>) {
    let runner = SagaRunner::with_shared_store(store);
    runner
        .start(&OrderSaga::new(), "done", OrderState::new("done"), &ctx())
        .await
        .unwrap();
    let failing = OrderSaga::failing_at(&[At::Execute(1)]);
    runner
        .start(&failing, "undone", OrderState::new("undone"), &ctx())
        .await
        .unwrap_err();
    let saga = OrderSaga::new();
    assert!(
        runner
            .resume_pending(&saga, &ctx())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(saga.log().is_empty());
    // Resuming a finished instance by id reports its outcome without running anything.
    assert_eq!(
        runner.resume(&saga, "done", &ctx()).await.unwrap().standing,
        3
    );
    assert!(SagaFailure::of(&runner.resume(&saga, "undone", &ctx()).await.unwrap_err()).is_some());
    assert!(saga.log().is_empty());
}

pub async fn resuming_an_unknown_instance_is_not_found(store: Arc<dyn SagaStore>) {
    let runner = SagaRunner::with_shared_store(store);
    let err = runner
        .resume(&OrderSaga::new(), "nope", &ctx())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("nope"), "{err}");
}

pub async fn instance_stored_past_the_last_step_is_a_configuration_error(
    store: Arc<dyn SagaStore>,
) {
    let mut record = SagaRecord::new(
        "order",
        "o-1",
        b"{\"order_id\":\"o-1\",\"standing\":5}".to_vec(),
    );
    record.completed_steps = 5;
    store.create(&record).await.unwrap();
    let runner = SagaRunner::with_shared_store(store);
    let err = runner
        .resume(&OrderSaga::new(), "o-1", &ctx())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("defines 3 steps"), "{err}");
}

pub async fn unreadable_stored_state_is_a_storage_error(store: Arc<dyn SagaStore>) {
    store
        .create(&SagaRecord::new("order", "o-1", b"not json".to_vec()))
        .await
        .unwrap();
    let runner = SagaRunner::with_shared_store(store);
    let resumed = runner
        .resume_pending(&OrderSaga::new(), &ctx())
        .await
        .unwrap();
    let err = resumed[0].result.as_ref().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.message().contains("`order` instance `o-1`"), "{err}");
}

pub async fn store_keeps_records_exactly_as_written(store: Arc<dyn SagaStore>) {
    let mut record = SagaRecord::new("order", "o-1", b"{}".to_vec());
    store.create(&record).await.unwrap();
    assert_eq!(
        store.load("order", "o-1").await.unwrap(),
        Some(record.clone())
    );

    record.status = SagaStatus::CompensationFailed;
    record.completed_steps = 2;
    record.failure = Some(StepFailure::new(
        2,
        "ship_order",
        &catga::Error::timeout("slow"),
    ));
    record.compensation_failure = Some(StepFailure::new(
        1,
        "charge_card",
        &catga::Error::conflict("refunded twice"),
    ));
    record.version = 1;
    store.update(&record).await.unwrap();
    assert_eq!(
        store.load("order", "o-1").await.unwrap(),
        Some(record.clone())
    );
    assert_eq!(store.load("other_saga", "o-1").await.unwrap(), None);

    assert_eq!(
        store.create(&record).await.unwrap_err().kind(),
        ErrorKind::Conflict
    );
    let mut missing = SagaRecord::new("order", "o-2", b"{}".to_vec());
    missing.version = 1;
    assert_eq!(
        store.update(&missing).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

pub async fn versions_count_the_saves_from_zero(store: Arc<dyn SagaStore>) {
    let created = SagaRecord::new("order", "o-1", b"{}".to_vec());
    assert_eq!(created.version, 0);
    store.create(&created).await.unwrap();
    assert_eq!(stored(&store, "o-1").await.version, 0);
    let mut next = created.clone();
    next.completed_steps = 1;
    next.version = 1;
    store.update(&next).await.unwrap();
    assert_eq!(stored(&store, "o-1").await, next);

    // The runner saves after each of the three steps, then the completion.
    let runner = SagaRunner::with_shared_store(Arc::clone(&store));
    runner
        .start(&OrderSaga::new(), "o-2", OrderState::new("o-2"), &ctx())
        .await
        .unwrap();
    assert_eq!(stored(&store, "o-2").await.version, 4);
}

pub async fn an_update_with_a_stale_version_is_a_conflict_and_changes_nothing(
    store: Arc<dyn SagaStore>,
) {
    let created = SagaRecord::new("order", "o-1", b"{}".to_vec());
    store.create(&created).await.unwrap();
    let mut saved = created.clone();
    saved.completed_steps = 1;
    saved.version = 1;
    store.update(&saved).await.unwrap();

    // A second runner that loaded version 0 saves its own version 1; another one skips ahead.
    let mut stale = created.clone();
    stale.status = SagaStatus::Compensating;
    stale.version = 1;
    let mut ahead = saved.clone();
    ahead.completed_steps = 3;
    ahead.version = 3;
    for refused in [stale, ahead] {
        let err = store.update(&refused).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
        assert!(err.message().contains("`order` instance `o-1`"), "{err}");
        assert!(err.message().contains("another runner"), "{err}");
        assert_eq!(stored(&store, "o-1").await, saved);
    }
}

pub async fn of_two_runners_resuming_one_instance_the_second_to_save_stops(
    store: Arc<dyn SagaStore>,
) {
    let state = serde_json::to_vec(&OrderState::new("o-1")).unwrap();
    store
        .create(&SagaRecord::new("order", "o-1", state))
        .await
        .unwrap();
    // The first runner runs step 0 and stops inside step 1, which fails when released.
    let held = Arc::new(OrderSaga {
        fail: vec![At::Execute(1)],
        hang: Some(At::Execute(1)),
        ..OrderSaga::new()
    });
    let overtaken = tokio::spawn({
        let runner = SagaRunner::with_shared_store(Arc::clone(&store));
        let held = Arc::clone(&held);
        async move { runner.resume(held.as_ref(), "o-1", &ctx()).await }
    });
    held.reached.notified().await;
    // Meanwhile the second runner resumes the instance from step 1 and finishes it.
    let winner = OrderSaga::new();
    let finished = SagaRunner::with_shared_store(Arc::clone(&store))
        .resume(&winner, "o-1", &ctx())
        .await
        .unwrap();
    assert_eq!(finished.standing, 3);
    held.release.notify_one();

    let err = overtaken.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("`order` instance `o-1`"), "{err}");
    assert!(err.message().contains("another runner"), "{err}");
    assert!(SagaFailure::of(&err).is_none(), "not a failed saga: {err}");
    // Its failed step 1 is not compensated: the instance is the other runner's.
    assert_eq!(
        held.log(),
        log_of(&["execute:reserve_stock", "execute:charge_card"])
    );
    assert_eq!(
        winner.log(),
        log_of(&["execute:charge_card", "execute:ship_order"])
    );
    let record = stored(&store, "o-1").await;
    assert_eq!(
        (record.status, record.completed_steps, record.version),
        (SagaStatus::Completed, 3, 4)
    );
    assert_eq!(
        serde_json::from_slice::<OrderState>(&record.state).unwrap(),
        finished
    );
}

pub async fn pending_lists_running_and_compensating_instances_oldest_first(
    store: Arc<dyn SagaStore>,
) {
    let statuses = [
        ("c", SagaStatus::Compensating),
        ("done", SagaStatus::Completed),
        ("a", SagaStatus::Running),
        ("undone", SagaStatus::Compensated),
        ("stuck", SagaStatus::CompensationFailed),
        ("b", SagaStatus::Running),
    ];
    for (id, status) in statuses {
        let mut record = SagaRecord::new("order", id, b"{}".to_vec());
        record.status = status;
        store.create(&record).await.unwrap();
    }
    store
        .create(&SagaRecord::new("other_saga", "x", b"{}".to_vec()))
        .await
        .unwrap();
    let pending: Vec<_> = store
        .pending("order")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(pending, ["c", "a", "b"]);
}

/// One `#[tokio::test]` per behaviour above, for the store `$make` builds. `$make` yields
/// `(store, guard)`; the guard keeps the store's files alive for the test.
macro_rules! saga_suite {
    ($store:ident, $make:expr) => {
        mod $store {
            saga_suite!(@tests $make;
                steps_run_in_order_and_the_saga_completes,
                failed_step_compensates_completed_steps_in_reverse_order,
                failed_first_step_compensates_nothing,
                compensation_failure_is_reported_and_stops_compensation,
                resume_retries_a_failed_compensation,
                panicking_step_is_compensated_like_a_failure,
                starting_an_existing_instance_is_a_conflict,
                empty_instance_id_is_rejected,
                interrupted_saga_resumes_after_its_last_completed_step,
                interrupted_compensation_resumes_compensating,
                resume_pending_leaves_finished_instances_alone,
                resuming_an_unknown_instance_is_not_found,
                instance_stored_past_the_last_step_is_a_configuration_error,
                unreadable_stored_state_is_a_storage_error,
                store_keeps_records_exactly_as_written,
                versions_count_the_saves_from_zero,
                an_update_with_a_stale_version_is_a_conflict_and_changes_nothing,
                of_two_runners_resuming_one_instance_the_second_to_save_stops,
                pending_lists_running_and_compensating_instances_oldest_first,
            );
        }
    };
    (@tests $make:expr; $($behaviour:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $behaviour() {
                let (store, _guard) = $make.await;
                let store: std::sync::Arc<dyn catga::saga::SagaStore> = store;
                super::$behaviour(store).await;
            }
        )*
    };
}
