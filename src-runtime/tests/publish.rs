//! Publishing: every event handler runs even when some fail, and the caller sees each failure.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use catga::prelude::*;

#[derive(Debug, Clone, Event)]
struct OrderPlaced {
    order_id: u32,
}

#[derive(Clone, Default)]
struct Recorder {
    runs: Arc<AtomicU32>,
}

impl EventHandler<OrderPlaced> for Recorder {
    async fn handle(&self, event: &OrderPlaced, _ctx: &Context) -> catga::Result<()> {
        assert_eq!(event.order_id, 7);
        self.runs.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

struct MailerDown;
impl EventHandler<OrderPlaced> for MailerDown {
    async fn handle(&self, _event: &OrderPlaced, _ctx: &Context) -> catga::Result<()> {
        Err(Error::unavailable("smtp refused"))
    }
}

struct Panics;
impl EventHandler<OrderPlaced> for Panics {
    async fn handle(&self, _event: &OrderPlaced, _ctx: &Context) -> catga::Result<()> {
        panic!("ledger invariant broken")
    }
}

#[tokio::test]
async fn publish_runs_all_handlers_when_one_fails_and_reports_every_failure() {
    let recorder = Recorder::default();
    let mediator = Mediator::builder()
        .event_handler(recorder.clone())
        .event_handler(MailerDown)
        .event_handler(recorder.clone())
        .event_handler(Panics)
        .build()
        .unwrap();
    let err = mediator
        .publish(OrderPlaced { order_id: 7 })
        .await
        .unwrap_err();

    assert_eq!(
        recorder.runs.load(Ordering::SeqCst),
        2,
        "the healthy handlers still ran"
    );
    let publish = PublishError::of(&err).expect("a publish failure carries a PublishError");
    assert_eq!(publish.event(), "OrderPlaced");
    let failed: Vec<(&str, ErrorKind)> = publish
        .failures()
        .iter()
        .map(|f| (f.handler, f.error.kind()))
        .collect();
    assert_eq!(
        failed,
        vec![
            ("publish::MailerDown", ErrorKind::Unavailable),
            ("publish::Panics", ErrorKind::Internal)
        ]
    );
    assert_eq!(
        err.kind(),
        ErrorKind::Internal,
        "mixed kinds report as internal"
    );
    assert!(
        err.message().contains("smtp refused") && err.message().contains("ledger invariant"),
        "{err}"
    );
}

#[tokio::test]
async fn publish_with_one_failing_handler_keeps_its_error_kind() {
    let mediator = Mediator::builder()
        .event_handler(MailerDown)
        .build()
        .unwrap();
    let err = mediator
        .publish(OrderPlaced { order_id: 7 })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(PublishError::of(&err).unwrap().failures().len(), 1);
}

#[tokio::test]
async fn publish_goes_through_behaviors_for_each_handler() {
    let recorder = Recorder::default();
    let metrics = Metrics::new();
    let mediator = Mediator::builder()
        .event_handler(recorder.clone())
        .event_handler(MailerDown)
        .behavior(metrics.clone())
        .build()
        .unwrap();
    mediator
        .publish(OrderPlaced { order_id: 7 })
        .await
        .unwrap_err();
    let counts = metrics.counts("OrderPlaced");
    assert_eq!((counts.started, counts.succeeded, counts.failed), (2, 1, 1));
}
