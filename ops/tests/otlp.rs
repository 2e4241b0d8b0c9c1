//! Spans exported over OTLP/HTTP, checked by decoding what the exporter sends to a receiver in
//! this test (the `opentelemetry-proto` types): the consumer's span is the child of the
//! producer's, across the transport, with the messaging attributes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use catga::prelude::*;
use catga::testing::{Bill, OrderPlaced, billing_consumer};
use catga::transport::{Envelope, MemoryTransport, Transport, event_subject};
use catga_ops::otel::Otlp;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message as _;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// An OTLP/HTTP receiver: every export request, decoded, goes to the returned channel.
async fn receiver() -> (String, mpsc::UnboundedReceiver<ExportTraceServiceRequest>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!(
        "http://{}/v1/traces",
        listener.local_addr().expect("an address")
    );
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accepts");
            let tx = tx.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let tx = tx.clone();
                    async move {
                        assert_eq!(request.uri().path(), "/v1/traces");
                        let body = request.into_body().collect().await.expect("a body");
                        let export = ExportTraceServiceRequest::decode(body.to_bytes())
                            .expect("an OTLP trace export");
                        let _ = tx.send(export);
                        // An empty ExportTraceServiceResponse.
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, rx)
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes.iter().find_map(|kv| {
        if kv.key != key {
            return None;
        }
        match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(text) => Some(text.as_str()),
            _ => None,
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_spans_make_the_consumer_a_child_of_the_producer() {
    let (url, mut exports) = receiver().await;
    let otlp = Otlp::to_url(&url, "shop").expect("an exporter");
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(otlp.layer()))
        .expect("the only subscriber of this test binary");

    let transport = MemoryTransport::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let consumer = billing_consumer(Arc::new(transport.clone()), Bill(tx));
    let consuming = tokio::spawn(consumer.run());

    // The producer: an entry span (an HTTP request, say) that makes and publishes the event.
    let entry = tracing::info_span!("http.request");
    async {
        let envelope = Envelope::of(&OrderPlaced { order: 9 }, &Context::new(MessageId::next()))
            .expect("serializes");
        transport
            .publish(&event_subject("OrderPlaced"), &envelope)
            .await
            .expect("publishes");
    }
    .instrument(entry)
    .await;
    assert_eq!(bounded(30, rx.recv()).await, Some(9));
    consuming.abort();

    tokio::task::spawn_blocking(move || otlp.shutdown())
        .await
        .expect("joins")
        .expect("flushes");
    let mut spans: HashMap<String, Span> = HashMap::new();
    while let Ok(export) = exports.try_recv() {
        for resource in export.resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref()?.value.clone());
            assert_eq!(service, Some(Value::StringValue("shop".into())));
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.insert(span.name.clone(), span);
                }
            }
        }
    }
    let names: Vec<&String> = spans.keys().collect();
    let get = |name: &str| {
        spans
            .get(name)
            .unwrap_or_else(|| panic!("no span `{name}` among {names:?}"))
    };
    let entry = get("http.request");
    let create = get("create catga.events.OrderPlaced");
    let publish = get("publish catga.events.OrderPlaced");
    let process = get("process catga.events.OrderPlaced");
    let work = get("billing.work");

    assert_eq!(create.trace_id, entry.trace_id);
    assert_eq!(create.parent_span_id, entry.span_id);
    assert_eq!(create.kind, SpanKind::Producer as i32);
    assert_eq!(publish.parent_span_id, create.span_id);
    // The consumer's span, made on the far side of the transport from the envelope's headers,
    // is the child of the producer's, in the producer's trace.
    assert_eq!(process.trace_id, entry.trace_id);
    assert_eq!(process.parent_span_id, create.span_id);
    assert_eq!(process.kind, SpanKind::Consumer as i32);
    assert_eq!(attribute(process, "messaging.system"), Some("catga.memory"));
    assert_eq!(attribute(process, "messaging.operation"), Some("process"));
    assert_eq!(
        attribute(process, "messaging.destination.name"),
        Some("catga.events.OrderPlaced")
    );
    assert_eq!(
        attribute(process, "messaging.consumer.group.name"),
        Some("billing")
    );
    assert_eq!(
        attribute(process, "messaging.message.id"),
        attribute(create, "messaging.message.id")
    );
    // The ids catga records as fields are OpenTelemetry's.
    assert_eq!(
        attribute(process, "trace_id").map(str::to_string),
        Some(hex(&process.trace_id))
    );
    assert_eq!(work.parent_span_id, process.span_id);
}

/// Fails the test when `future` does not finish within `seconds`.
async fn bounded<F: Future>(seconds: u64, future: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(seconds), future)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {seconds} s"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
