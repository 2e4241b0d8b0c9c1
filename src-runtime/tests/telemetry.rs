//! Traces that cross the transport: the W3C trace context set at the producer reaches the
//! consumer's span (through the outbox, the dispatcher and the transport, and through remote
//! send), recorded by a `tracing` layer.

use std::sync::Arc;
use std::time::Duration;

use catga::prelude::*;
use catga::telemetry::{self, TraceContext};
use catga::transport::{
    EventConsumer, MemoryTransport, OutboxDispatcher, RequestServer, Routes, SqliteOutbox, send,
};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use catga::telemetry::testing::Spans;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct OrderPlaced {
    order: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u64)]
struct Charge {
    cents: u64,
}

/// Opens a span of its own inside the consumer's, and reports the order.
#[derive(Clone)]
struct Bill(mpsc::UnboundedSender<u64>);

impl EventHandler<OrderPlaced> for Bill {
    async fn handle(&self, event: &OrderPlaced, _ctx: &Context) -> catga::Result<()> {
        let _work = tracing::info_span!("billing.work").entered();
        self.0.send(event.order).expect("the test listens");
        Ok(())
    }
}

struct ChargeHandler;

impl Handler<Charge> for ChargeHandler {
    async fn handle(&self, charge: Charge, _ctx: &Context) -> catga::Result<u64> {
        let _work = tracing::info_span!("billing.charge").entered();
        Ok(charge.cents * 2)
    }
}

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
    let billing = Mediator::builder()
        .event_handler(Bill(tx))
        .build()
        .expect("builds");
    let consumer = EventConsumer::new(
        Arc::new(transport.clone()),
        "billing",
        Routes::new().event::<OrderPlaced>(),
        billing,
    );
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
    let billing = Mediator::builder()
        .event_handler(Bill(tx))
        .build()
        .expect("builds");
    let consumer = EventConsumer::new(
        Arc::new(transport.clone()),
        "billing",
        Routes::new().event::<OrderPlaced>(),
        billing,
    );
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
    let billing = Mediator::builder()
        .handler(ChargeHandler)
        .build()
        .expect("builds");
    let server = RequestServer::new(
        Arc::new(transport.clone()),
        "billing",
        Routes::new().request::<Charge>(),
        billing,
    );
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
