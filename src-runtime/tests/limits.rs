//! The concurrency limit and the rate limit (paused tokio time).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use catga::prelude::*;
use tokio::time::Instant;

#[derive(Debug, Clone, Command)]
struct Work;

/// Records how many handler calls overlap.
#[derive(Clone, Default)]
struct Worker {
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Handler<Work> for Worker {
    async fn handle(&self, _cmd: Work, _ctx: &Context) -> catga::Result<()> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn concurrency_limit_caps_handlers_running_at_once() {
    let worker = Worker::default();
    let mediator = Mediator::builder()
        .handler(worker.clone())
        .behavior(ConcurrencyLimit::new(3))
        .build()
        .unwrap();
    let results = mediator.send_batch((0..10).map(|_| Work)).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(worker.peak.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn rate_limit_rejects_past_the_burst_and_refills_over_time() {
    let mediator = Mediator::builder()
        .handler(Worker::default())
        .behavior(RateLimit::per_second(10).burst(2))
        .build()
        .unwrap();
    mediator.send(Work).await.unwrap();
    mediator.send(Work).await.unwrap();
    let err = mediator.send(Work).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.message().contains("rate limit"), "{err}");

    tokio::time::advance(Duration::from_millis(100)).await;
    mediator.send(Work).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn rate_limit_in_wait_mode_spaces_messages_by_the_refill_interval() {
    let mediator = Mediator::builder()
        .handler(Worker::default())
        .behavior(RateLimit::per_second(10).burst(1).wait())
        .build()
        .unwrap();
    let started = Instant::now();
    for _ in 0..4 {
        mediator.send(Work).await.unwrap();
    }
    // One token at once, then one per 100 ms; each handler call also sleeps 10 ms, which
    // refills part of the next token.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_millis(350),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn metrics_count_started_succeeded_and_failed_per_message_type() {
    #[derive(Debug, Clone, Query)]
    #[query(response = u32)]
    struct Half(u32);

    struct HalfHandler;
    impl Handler<Half> for HalfHandler {
        async fn handle(&self, query: Half, _ctx: &Context) -> catga::Result<u32> {
            if query.0 % 2 == 1 {
                return Err(Error::validation("odd"));
            }
            Ok(query.0 / 2)
        }
    }

    let metrics = Metrics::new();
    let mediator = Mediator::builder()
        .handler(HalfHandler)
        .behavior(metrics.clone())
        .build()
        .unwrap();
    for n in 0..5 {
        let _ = mediator.send(Half(n)).await;
    }
    let counts = metrics.counts("Half");
    assert_eq!((counts.started, counts.succeeded, counts.failed), (5, 3, 2));
    assert_eq!(metrics.snapshot(), vec![("Half", counts)]);
}
