//! The timeout behavior fires, cancels the handler, and sets the context deadline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use catga::prelude::*;
use tokio::time::Instant;

#[derive(Debug, Clone, Query)]
#[query(response = u32)]
struct SlowReport {
    takes: Duration,
}

#[derive(Clone, Default)]
struct ReportHandler {
    seen_deadline: Arc<Mutex<Option<Instant>>>,
}

impl Handler<SlowReport> for ReportHandler {
    async fn handle(&self, query: SlowReport, ctx: &Context) -> catga::Result<u32> {
        *self.seen_deadline.lock().unwrap() = ctx.deadline();
        tokio::time::sleep(query.takes).await;
        Ok(42)
    }
}

fn mediator(handler: ReportHandler) -> Mediator {
    Mediator::builder()
        .handler(handler)
        .behavior(Timeout::after(Duration::from_secs(1)))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn timeout_fires_when_the_handler_is_too_slow() {
    let started = Instant::now();
    let err = mediator(ReportHandler::default())
        .send(SlowReport {
            takes: Duration::from_secs(10),
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.message().contains("SlowReport"), "{err}");
    assert_eq!(started.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn timeout_lets_a_fast_handler_finish_and_shows_it_the_deadline() {
    let handler = ReportHandler::default();
    let started = Instant::now();
    let answer = mediator(handler.clone())
        .send(SlowReport {
            takes: Duration::from_millis(200),
        })
        .await;
    assert_eq!(answer.unwrap(), 42);
    assert_eq!(
        *handler.seen_deadline.lock().unwrap(),
        Some(started + Duration::from_secs(1))
    );
}
