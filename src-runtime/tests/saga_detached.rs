//! `SagaRunner::run_detached`: an instance run on a task of its own reaches its end when its
//! caller stops waiting, a second run of it joins the first, its trace goes with it, and a
//! panic comes back as an error.

mod saga_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use catga::prelude::*;
use catga::saga::{BoxFuture, MemorySagaStore, SagaFailure, SagaRecord, SagaStatus, SagaStore};
use catga::telemetry::testing::Spans;
use catga::telemetry::{self, TraceContext};
use tokio::sync::Notify;
use tracing::Instrument;

use saga_support::{At, OrderSaga, OrderState, ctx};

/// Two steps; the first waits at a gate the test opens, and every step records the trace
/// context it runs in.
#[derive(Debug, Default)]
struct Gated {
    reached: Notify,
    gate: Notify,
    runs: AtomicUsize,
    traces: Mutex<Vec<Option<TraceContext>>>,
}

impl Saga for Gated {
    type State = Vec<String>;
    const NAME: &'static str = "gated";
    const STEPS: &'static [&'static str] = &["wait", "finish"];

    async fn execute(
        &self,
        step: usize,
        done: &mut Vec<String>,
        _ctx: &Context,
    ) -> catga::Result<()> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.traces.lock().unwrap().push(telemetry::current());
        if step == 0 {
            self.reached.notify_one();
            self.gate.notified().await;
        }
        done.push(Self::STEPS[step].to_string());
        Ok(())
    }

    async fn compensate(
        &self,
        _step: usize,
        _: &mut Vec<String>,
        _ctx: &Context,
    ) -> catga::Result<()> {
        Ok(())
    }
}

/// Fails the test when `future` does not finish within 30 s.
async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("the test did not finish within 30 s")
}

async fn status(store: &Arc<dyn SagaStore>, saga: &str, id: &str) -> Option<SagaStatus> {
    let record = store.load(saga, id).await.expect("loads");
    record.map(|record| record.status)
}

#[tokio::test]
async fn an_instance_whose_caller_stops_waiting_still_completes() {
    let store: Arc<dyn SagaStore> = Arc::new(MemorySagaStore::new());
    let runner = SagaRunner::with_shared_store(Arc::clone(&store));
    let saga = Arc::new(Gated::default());
    let ctx = ctx();
    let caller = runner.run_detached(Arc::clone(&saga), "g-1", Vec::new(), &ctx);
    // The caller waits until the first step runs, then gives up: its future is dropped.
    bounded(async {
        tokio::select! {
            _ = caller => panic!("the saga cannot end before its gate opens"),
            () = saga.reached.notified() => {}
        }
    })
    .await;
    assert_eq!(
        status(&store, "gated", "g-1").await,
        Some(SagaStatus::Running)
    );

    saga.gate.notify_one();
    bounded(async {
        while status(&store, "gated", "g-1").await != Some(SagaStatus::Completed) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(saga.runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_second_run_of_a_running_instance_joins_it() {
    let runner = SagaRunner::new(MemorySagaStore::new());
    let saga = Arc::new(Gated::default());
    let first = tokio::spawn({
        let (runner, saga) = (runner.clone(), Arc::clone(&saga));
        async move { runner.run_detached(saga, "g-1", Vec::new(), &ctx()).await }
    });
    bounded(saga.reached.notified()).await;
    let again = tokio::spawn({
        let (runner, saga) = (runner.clone(), Arc::clone(&saga));
        async move {
            let state = vec!["ignored: the stored state wins".to_string()];
            runner.run_detached(saga, "g-1", state, &ctx()).await
        }
    });
    // Let the second run find the first one running before the gate opens.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    saga.gate.notify_one();
    let first = bounded(first).await.expect("no panic").expect("completes");
    let again = bounded(again).await.expect("no panic").expect("completes");
    assert_eq!(first, ["wait", "finish"]);
    assert_eq!(again, first);
    assert_eq!(saga.runs.load(Ordering::SeqCst), 2, "each step ran once");
}

#[tokio::test]
async fn a_finished_instance_answers_its_outcome_without_running() {
    let runner = SagaRunner::new(MemorySagaStore::new());
    let failing = Arc::new(OrderSaga::failing_at(&[At::Execute(1)]));
    let first = runner
        .run_detached(Arc::clone(&failing), "o-1", OrderState::new("o-1"), &ctx())
        .await
        .unwrap_err();
    let ran = failing.log().len();
    let again = runner
        .run_detached(Arc::clone(&failing), "o-1", OrderState::new("o-1"), &ctx())
        .await
        .unwrap_err();
    assert_eq!(failing.log().len(), ran, "nothing ran again");
    let failure = SagaFailure::of(&again).expect("the stored failure");
    assert!(failure.compensated());
    assert_eq!(failure.failed_step.name, "charge_card");
    assert_eq!(again.kind(), first.kind());
}

#[tokio::test]
async fn the_callers_trace_and_span_go_with_the_instance() {
    let (spans, _guard) = Spans::install();
    let runner = SagaRunner::new(MemorySagaStore::new());
    let saga = Arc::new(Gated::default());
    saga.gate.notify_one();
    let root = TraceContext::new_root();
    let caller = tracing::info_span!("caller");
    let ctx = ctx();
    let run = runner.run_detached(Arc::clone(&saga), "g-1", Vec::new(), &ctx);
    bounded(telemetry::in_context(root.clone(), run.instrument(caller)))
        .await
        .expect("completes");

    let traces = saga.traces.lock().unwrap().clone();
    assert_eq!(traces.len(), 2);
    for trace in traces {
        let trace = trace.expect("the step runs in the caller's trace");
        assert_eq!(trace.trace_id_hex(), root.trace_id_hex());
    }
    let caller = spans.one("caller");
    assert_eq!(spans.one("saga").parent, Some(caller.id));
}

#[tokio::test]
async fn a_panicking_step_comes_back_as_an_internal_error() {
    let runner = SagaRunner::new(MemorySagaStore::new());
    let saga = Arc::new(OrderSaga::panicking_at(At::Execute(1)));
    let error =
        bounded(runner.run_detached(Arc::clone(&saga), "o-1", OrderState::new("o-1"), &ctx()))
            .await
            .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Internal, "{error}");
    assert!(
        SagaFailure::of(&error)
            .expect("a saga failure")
            .compensated()
    );
}

/// A store whose `update` panics: the runner's own task panics, outside any step.
#[derive(Debug, Default)]
struct PanickingStore(MemorySagaStore);

impl SagaStore for PanickingStore {
    fn create<'a>(&'a self, record: &'a SagaRecord) -> BoxFuture<'a, catga::Result<()>> {
        self.0.create(record)
    }
    fn update<'a>(&'a self, _record: &'a SagaRecord) -> BoxFuture<'a, catga::Result<()>> {
        panic!("the store blew up")
    }
    fn load<'a>(
        &'a self,
        saga: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, catga::Result<Option<SagaRecord>>> {
        self.0.load(saga, id)
    }
    fn pending<'a>(&'a self, saga: &'a str) -> BoxFuture<'a, catga::Result<Vec<SagaRecord>>> {
        self.0.pending(saga)
    }
}

#[tokio::test]
async fn a_panic_of_the_runners_task_is_an_internal_error_not_a_panic() {
    let runner = SagaRunner::new(PanickingStore::default());
    let saga = Arc::new(OrderSaga::new());
    let error = bounded(runner.run_detached(saga, "o-1", OrderState::new("o-1"), &ctx()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Internal, "{error}");
    assert!(
        error.message().contains("panicked: the store blew up"),
        "{error}"
    );
    assert!(error.message().contains("`o-1`"), "{error}");
}
