//! Traces that cross the transport: the W3C trace context set at the producer reaches the
//! consumer's span (through the transport, and through remote send), recorded by a `tracing`
//! layer. Through the outbox and its dispatcher: catga-sqlite's `tests/telemetry.rs`.

use std::sync::Arc;
use std::time::Duration;

use catga::prelude::*;
use catga::telemetry::{self, TraceContext};
use catga::testing::{Bill, Charge, OrderPlaced, billing_consumer, billing_server};
use catga::transport::{MemoryTransport, send};
use tokio::sync::mpsc;

use catga::telemetry::testing::Spans;

/// Fails the test when `future` does not finish within 30 s.
async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("the test did not finish within 30 s")
}

#[tokio::test]
async fn a_message_produced_outside_any_trace_starts_one_that_the_consumer_continues() {
    let (spans, _guard) = Spans::install();
    let transport = MemoryTransport::new();
    let envelope =
        catga::transport::Envelope::of(&OrderPlaced { order: 1 }, &Context::new(MessageId::next()))
            .expect("serializes");
    let sent = TraceContext::from_headers(&envelope.headers).expect("a trace context");
    catga::transport::Transport::publish(
        &transport,
        &catga::transport::event_subject("OrderPlaced"),
        &envelope,
    )
    .await
    .expect("publishes");

    let (tx, mut rx) = mpsc::unbounded_channel();
    let consumer = billing_consumer(Arc::new(transport.clone()), Bill(tx));
    let running = tokio::spawn(consumer.run());
    assert_eq!(bounded(rx.recv()).await, Some(1));
    running.abort();

    let create = spans.one("catga.create");
    assert_eq!(create.field("trace_id"), sent.trace_id_hex());
    assert_eq!(create.field("span_id"), sent.span_id_hex());
    assert!(!create.fields.contains_key("parent_span_id"), "{create:?}");
    let process = spans.one("catga.process");
    assert_eq!(process.field("trace_id"), sent.trace_id_hex());
    assert_eq!(process.field("parent_span_id"), sent.span_id_hex());
}

#[tokio::test]
async fn a_remote_sends_trace_reaches_the_serving_handler() {
    let (spans, _guard) = Spans::install();
    let transport = MemoryTransport::new();
    let server = billing_server(Arc::new(transport.clone()));
    let serving = tokio::spawn(server.run());
    // The server subscribes on its first poll (this is a one-thread runtime).
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }

    let root = TraceContext::new_root();
    let ctx = Context::new(MessageId::next());
    let doubled = bounded(telemetry::in_context(
        root.clone(),
        send(&transport, &Charge { cents: 21 }, &ctx),
    ))
    .await
    .expect("answered");
    assert_eq!(doubled, 42);
    serving.abort();

    let sent = spans.one("catga.send");
    assert_eq!(sent.field("trace_id"), root.trace_id_hex());
    assert_eq!(sent.field("parent_span_id"), root.span_id_hex());
    assert_eq!(sent.field("otel.kind"), "client");
    assert_eq!(sent.field("messaging.operation"), "send");
    assert_eq!(
        sent.field("messaging.destination.name"),
        "catga.commands.Charge"
    );
    let served = spans.one("catga.serve");
    assert_eq!(served.field("trace_id"), root.trace_id_hex());
    assert_eq!(served.field("parent_span_id"), sent.field("span_id"));
    assert_eq!(served.field("otel.kind"), "server");
    assert_eq!(served.field("messaging.consumer.group.name"), "billing");
    let work = spans.one("billing.charge");
    assert_eq!(work.parent, Some(served.id));
}
