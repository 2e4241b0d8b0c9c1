//! Traces across a real nats-server: the W3C trace context set at the producer reaches the
//! consumer's span through the outbox, the dispatcher and JetStream, and a remote send's
//! through core request/reply. Every test is bounded in time.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use catga::prelude::*;
use catga::telemetry::{self, TraceContext};
use catga::testing::{Bill, Charge, OrderPlaced, billing_consumer, billing_server};
use catga::transport::{Transport, send};
use catga_nats::testing::NatsServer;
use catga_nats::{NatsOptions, NatsTransport};
use catga_sqlite::{OutboxDispatcher, SqliteOutbox};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use catga::telemetry::testing::Spans;

async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("the test did not finish within 60 s")
}

async fn broker(test: &str) -> Option<(NatsServer, Arc<dyn Transport>)> {
    let server = NatsServer::start_or_skip(test)
        .await
        .expect("nats-server starts")?;
    let transport = NatsTransport::connect(&server.url(), NatsOptions::default())
        .await
        .expect("connects");
    Some((server, Arc::new(transport)))
}

#[tokio::test]
async fn an_events_trace_crosses_nats_into_the_consuming_handler() {
    let (spans, _guard) = Spans::install();
    bounded(async {
        let Some((_server, transport)) =
            broker("an_events_trace_crosses_nats_into_the_consuming_handler").await
        else {
            return;
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let outbox = SqliteOutbox::open(dir.path().join("shop.db"))
            .await
            .expect("opens");
        let shop = Mediator::builder()
            .outbox(outbox.clone())
            .export::<OrderPlaced>()
            .build()
            .expect("builds");
        let root = TraceContext::new_root();
        telemetry::in_context(root.clone(), shop.publish(OrderPlaced { order: 3 }))
            .instrument(tracing::info_span!("http.request"))
            .await
            .expect("publishes");
        let flushed = OutboxDispatcher::new(outbox, Arc::clone(&transport))
            .flush()
            .await
            .expect("flushes");
        assert_eq!(flushed.delivered, 1, "{flushed:?}");

        let (tx, mut rx) = mpsc::unbounded_channel();
        let consumer = billing_consumer(Arc::clone(&transport), Bill(tx));
        let running = tokio::spawn(consumer.run());
        assert_eq!(rx.recv().await, Some(3));
        running.abort();

        let create = spans.one("catga.create");
        assert_eq!(create.field("trace_id"), root.trace_id_hex());
        let publish = spans.one("catga.publish");
        assert_eq!(publish.field("messaging.system"), "nats");
        assert_eq!(publish.field("trace_id"), root.trace_id_hex());
        assert_eq!(publish.field("parent_span_id"), create.field("span_id"));

        let process = spans.one("catga.process");
        assert_eq!(process.field("trace_id"), root.trace_id_hex());
        assert_eq!(process.field("parent_span_id"), create.field("span_id"));
        assert_eq!(process.field("messaging.system"), "nats");
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
        assert_eq!(spans.one("billing.work").parent, Some(process.id));
    })
    .await;
}

#[tokio::test]
async fn a_remote_sends_trace_crosses_nats_into_the_serving_handler() {
    let (spans, _guard) = Spans::install();
    bounded(async {
        let Some((_server, transport)) =
            broker("a_remote_sends_trace_crosses_nats_into_the_serving_handler").await
        else {
            return;
        };
        let server = billing_server(Arc::clone(&transport));
        let serving = tokio::spawn(server.run());
        let root = TraceContext::new_root();
        let ctx = Context::new(MessageId::next());
        // The server's subscription may not have reached the broker yet: ask until it answers.
        let doubled = loop {
            match telemetry::in_context(
                root.clone(),
                send(&*transport, &Charge { cents: 21 }, &ctx),
            )
            .await
            {
                Err(error) if error.kind() == ErrorKind::NoHandler => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => break other.expect("answered"),
            }
        };
        assert_eq!(doubled, 42);
        serving.abort();

        let served = spans.one("catga.serve");
        let sent = spans
            .named("catga.send")
            .into_iter()
            .find(|sent| sent.field("span_id") == served.field("parent_span_id"))
            .expect("the send the server answered");
        assert_eq!(sent.field("trace_id"), root.trace_id_hex());
        assert_eq!(sent.field("messaging.system"), "nats");
        assert_eq!(served.field("trace_id"), root.trace_id_hex());
        assert_eq!(served.field("messaging.system"), "nats");
        assert_eq!(spans.one("billing.charge").parent, Some(served.id));
    })
    .await;
}

#[tokio::test]
async fn a_groups_lag_is_what_the_broker_holds_for_it() {
    bounded(async {
        let Some((_server, transport)) =
            broker("a_groups_lag_is_what_the_broker_holds_for_it").await
        else {
            return;
        };
        let subject = catga::transport::event_subject("OrderPlaced");
        let subjects = vec![subject.clone()];
        let options = catga::transport::ConsumerOptions::default();
        assert_eq!(
            transport.lag("reporting", &subject).await.expect("asks"),
            None,
            "a group that never subscribed"
        );
        // The group's durable consumer stays when its member goes.
        drop(
            transport
                .subscribe("reporting", &subjects, &options)
                .await
                .expect("subscribes"),
        );
        for order in 0..3 {
            let envelope = catga::transport::Envelope::of(
                &OrderPlaced { order },
                &Context::new(MessageId::next()),
            )
            .expect("serializes");
            transport
                .publish(&subject, &envelope)
                .await
                .expect("publishes");
        }
        assert_eq!(
            transport.lag("reporting", &subject).await.expect("asks"),
            Some(3)
        );
        let mut member = transport
            .subscribe("reporting", &subjects, &options)
            .await
            .expect("subscribes again");
        for _ in 0..3 {
            member
                .next()
                .await
                .expect("a delivery")
                .ack()
                .await
                .expect("acknowledged");
        }
        assert_eq!(
            transport.lag("reporting", &subject).await.expect("asks"),
            Some(0)
        );
    })
    .await;
}

/// The environment variable that makes [`consumer_process`] the consuming service of
/// [`a_trace_crosses_nats_into_another_process`]: the broker's URL.
const CHILD_NATS_URL: &str = "CATGA_TEST_TRACE_CHILD_NATS_URL";

/// The consuming service of [`a_trace_crosses_nats_into_another_process`], in a process of its
/// own (this test binary, run again with [`CHILD_NATS_URL`] set): consumes one `OrderPlaced`
/// and prints its `catga.process` span's ids. Without the variable, as in a plain test run, it
/// has nothing to do.
#[tokio::test]
async fn consumer_process() {
    let Ok(url) = std::env::var(CHILD_NATS_URL) else {
        return;
    };
    let (spans, _guard) = Spans::install();
    let transport: Arc<dyn Transport> = Arc::new(
        NatsTransport::connect(&url, NatsOptions::default())
            .await
            .expect("connects"),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let consumer = billing_consumer(transport, Bill(tx));
    let running = tokio::spawn(consumer.run());
    // Subscribed: the parent may publish now.
    println!("READY");
    assert_eq!(bounded(rx.recv()).await, Some(11));
    running.abort();
    let process = spans.one("catga.process");
    println!(
        "PROCESS trace_id={} parent_span_id={} child_of_process={}",
        process.field("trace_id"),
        process.field("parent_span_id"),
        spans.one("billing.work").parent == Some(process.id),
    );
}

#[tokio::test]
async fn a_trace_crosses_nats_into_another_process() {
    use tokio::io::AsyncBufReadExt as _;

    bounded(async {
        let Some((server, transport)) = broker("a_trace_crosses_nats_into_another_process").await
        else {
            return;
        };
        let mut child = tokio::process::Command::new(std::env::current_exe().expect("this test"))
            .args([
                "--exact",
                "consumer_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_NATS_URL, server.url())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the consuming process starts");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("its output")).lines();
        let mut next_line = async || {
            lines
                .next_line()
                .await
                .expect("reads")
                .expect("the consuming process ended early")
        };
        // libtest may print `test consumer_process ... ` before the test's own output.
        while !next_line().await.ends_with("READY") {}

        let root = TraceContext::new_root();
        let envelope = telemetry::in_context(root.clone(), async {
            catga::transport::Envelope::of(
                &OrderPlaced { order: 11 },
                &Context::new(MessageId::next()),
            )
        })
        .await
        .expect("serializes");
        let created = TraceContext::from_headers(&envelope.headers).expect("a trace context");
        assert_eq!(created.trace_id, root.trace_id);
        transport
            .publish(&catga::transport::event_subject("OrderPlaced"), &envelope)
            .await
            .expect("publishes");

        let report = loop {
            let line = next_line().await;
            if let Some(at) = line.find("PROCESS ") {
                break line[at..].to_string();
            }
        };
        assert_eq!(
            report,
            format!(
                "PROCESS trace_id={} parent_span_id={} child_of_process=true",
                root.trace_id_hex(),
                created.span_id_hex()
            )
        );
        let status = child.wait().await.expect("the consuming process ends");
        assert!(status.success(), "{status}");
    })
    .await;
}
