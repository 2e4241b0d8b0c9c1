//! An event's trace crosses the outbox: the W3C trace context set at the producer is stored
//! with the envelope, continued by the dispatcher's publish and by the consumer's span,
//! recorded by a `tracing` layer.

use std::sync::Arc;
use std::time::Duration;

use catga::prelude::*;
use catga::telemetry::testing::Spans;
use catga::telemetry::{self, TraceContext};
use catga::testing::{Bill, OrderPlaced, billing_consumer};
use catga::transport::MemoryTransport;
use catga_sqlite::{OutboxDispatcher, SqliteOutbox};
use tokio::sync::mpsc;
use tracing::Instrument as _;

/// Fails the test when `future` does not finish within 30 s.
async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("the test did not finish within 30 s")
}

#[tokio::test]
async fn an_events_trace_crosses_the_outbox_and_the_transport_into_the_consuming_handler() {
    let (spans, _guard) = Spans::install();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let outbox = SqliteOutbox::open(dir.path().join("shop.db"))
        .await
        .expect("opens");
    let shop = Mediator::builder()
        .outbox(outbox.clone())
        .export::<OrderPlaced>()
        .build()
        .expect("builds");
    let transport = MemoryTransport::new();

    // The entry point (an HTTP request, say) starts the trace.
    let root = TraceContext::new_root();
    telemetry::in_context(root.clone(), shop.publish(OrderPlaced { order: 7 }))
        .instrument(tracing::info_span!("http.request"))
        .await
        .expect("publishes");
    let flushed = OutboxDispatcher::new(outbox.clone(), Arc::new(transport.clone()))
        .flush()
        .await
        .expect("flushes");
    assert_eq!(flushed.delivered, 1, "{flushed:?}");

    let (tx, mut rx) = mpsc::unbounded_channel();
    let consumer = billing_consumer(Arc::new(transport.clone()), Bill(tx));
    let running = tokio::spawn(consumer.run());
    assert_eq!(bounded(rx.recv()).await, Some(7));
    running.abort();

    let create = spans.one("catga.create");
    assert_eq!(create.field("trace_id"), root.trace_id_hex());
    assert_eq!(create.field("parent_span_id"), root.span_id_hex());
    assert_eq!(create.field("messaging.operation"), "create");
    assert_eq!(
        create.field("messaging.destination.name"),
        "catga.events.OrderPlaced"
    );
    assert_eq!(create.field("otel.kind"), "producer");

    // The dispatcher's publish continues the trace from the stored envelope.
    let publish = spans.one("catga.publish");
    assert_eq!(publish.field("trace_id"), root.trace_id_hex());
    assert_eq!(publish.field("parent_span_id"), create.field("span_id"));
    assert_eq!(publish.field("messaging.system"), "catga.memory");
    assert_eq!(publish.field("messaging.operation"), "publish");

    // The consumer's span is the producer's child, with the messaging attributes.
    let process = spans.one("catga.process");
    assert_eq!(process.field("trace_id"), root.trace_id_hex());
    assert_eq!(process.field("parent_span_id"), create.field("span_id"));
    assert_ne!(process.field("span_id"), create.field("span_id"));
    assert_eq!(process.field("messaging.system"), "catga.memory");
    assert_eq!(process.field("messaging.operation"), "process");
    assert_eq!(
        process.field("messaging.destination.name"),
        "catga.events.OrderPlaced"
    );
    assert_eq!(process.field("messaging.consumer.group.name"), "billing");
    assert_eq!(
        process.field("messaging.message.id"),
        create.field("messaging.message.id")
    );
    assert_eq!(process.field("otel.kind"), "consumer");
    assert_eq!(
        process.field("otel.name"),
        "process catga.events.OrderPlaced"
    );

    // And the handler runs inside it.
    let work = spans.one("billing.work");
    assert_eq!(work.parent, Some(process.id));
}
