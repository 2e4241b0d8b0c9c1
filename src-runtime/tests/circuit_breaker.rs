//! The circuit breaker: opens after N consecutive failures, half-opens after its cool-down,
//! closes after a successful trial (paused tokio time).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use catga::prelude::*;

#[derive(Debug, Clone, Command)]
struct SyncInventory;

#[derive(Clone, Default)]
struct Warehouse {
    calls: Arc<AtomicU32>,
    healthy: Arc<AtomicBool>,
}

impl Handler<SyncInventory> for Warehouse {
    async fn handle(&self, _cmd: SyncInventory, _ctx: &Context) -> catga::Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.healthy.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(Error::unavailable("warehouse api down"))
        }
    }
}

fn setup(threshold: u32, cool_down: Duration) -> (Mediator, Warehouse, Arc<CircuitBreaker>) {
    let warehouse = Warehouse::default();
    let breaker = Arc::new(CircuitBreaker::new(threshold, cool_down));
    let mediator = Mediator::builder()
        .handler(warehouse.clone())
        .behavior(Arc::clone(&breaker))
        .build()
        .unwrap();
    (mediator, warehouse, breaker)
}

#[tokio::test(start_paused = true)]
async fn circuit_opens_after_threshold_failures_and_rejects_without_calling_the_handler() {
    let (mediator, warehouse, breaker) = setup(3, Duration::from_secs(10));
    for _ in 0..3 {
        assert_eq!(
            mediator.send(SyncInventory).await.unwrap_err().kind(),
            ErrorKind::Unavailable
        );
    }
    assert_eq!(breaker.state("SyncInventory"), CircuitState::Open);
    let err = mediator.send(SyncInventory).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.message().contains("circuit"), "{err}");
    assert_eq!(
        warehouse.calls.load(Ordering::SeqCst),
        3,
        "an open circuit does not call the handler"
    );
}

#[tokio::test(start_paused = true)]
async fn circuit_half_opens_after_cool_down_and_closes_after_a_successful_trial() {
    let (mediator, warehouse, breaker) = setup(2, Duration::from_secs(10));
    for _ in 0..2 {
        mediator.send(SyncInventory).await.unwrap_err();
    }
    tokio::time::advance(Duration::from_secs(9)).await;
    assert_eq!(breaker.state("SyncInventory"), CircuitState::Open);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(breaker.state("SyncInventory"), CircuitState::HalfOpen);

    warehouse.healthy.store(true, Ordering::SeqCst);
    mediator.send(SyncInventory).await.unwrap();
    assert_eq!(breaker.state("SyncInventory"), CircuitState::Closed);
    assert_eq!(warehouse.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn failed_trial_opens_the_circuit_again() {
    let (mediator, warehouse, breaker) = setup(1, Duration::from_secs(5));
    mediator.send(SyncInventory).await.unwrap_err();
    tokio::time::advance(Duration::from_secs(5)).await;
    mediator.send(SyncInventory).await.unwrap_err();
    assert_eq!(
        warehouse.calls.load(Ordering::SeqCst),
        2,
        "the trial reached the handler"
    );
    assert_eq!(breaker.state("SyncInventory"), CircuitState::Open);
}

#[tokio::test(start_paused = true)]
async fn success_resets_the_consecutive_failure_count() {
    let (mediator, warehouse, breaker) = setup(2, Duration::from_secs(5));
    mediator.send(SyncInventory).await.unwrap_err();
    warehouse.healthy.store(true, Ordering::SeqCst);
    mediator.send(SyncInventory).await.unwrap();
    warehouse.healthy.store(false, Ordering::SeqCst);
    mediator.send(SyncInventory).await.unwrap_err();
    assert_eq!(breaker.state("SyncInventory"), CircuitState::Closed);
}
