//! `/metrics`, `/health/live` and `/health/ready` over real HTTP on loopback.

mod support;

use std::sync::Arc;
use std::time::Duration;

use catga::behavior::{Metrics, Retry};
use catga::prelude::*;
use catga::transport::{ConsumerOptions, EventConsumer, MemoryTransport, Routes, Transport};
use catga_ops::{Endpoints, Health, OpsServer, Prometheus};
use catga_sqlite::SqliteOutbox;
use tokio::sync::mpsc;

use support::{PlaceOrder, PlaceOrderHandler, bounded, get};

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u64, idempotent)]
struct Charge {
    #[idempotency_key]
    charge_id: String,
    cents: u64,
}

struct ChargeHandler;

impl Handler<Charge> for ChargeHandler {
    async fn handle(&self, charge: Charge, _ctx: &Context) -> catga::Result<u64> {
        Ok(charge.cents)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Shipped {
    fail: bool,
}

/// Fails the events that say so.
#[derive(Clone)]
struct Ship(mpsc::UnboundedSender<bool>);

impl EventHandler<Shipped> for Ship {
    async fn handle(&self, event: &Shipped, _ctx: &Context) -> catga::Result<()> {
        self.0.send(event.fail).expect("the test listens");
        if event.fail {
            return Err(Error::unavailable("the carrier is down"));
        }
        Ok(())
    }
}

/// Reserves, then charges; the charge fails, so the reservation is compensated.
struct Fulfil;

impl catga::saga::Saga for Fulfil {
    type State = ();
    const NAME: &'static str = "fulfil";
    const STEPS: &'static [&'static str] = &["reserve", "charge"];

    async fn execute(&self, step: usize, _state: &mut (), _ctx: &Context) -> catga::Result<()> {
        match step {
            0 => Ok(()),
            _ => Err(Error::unavailable("the bank is down")),
        }
    }

    async fn compensate(&self, _step: usize, _state: &mut (), _ctx: &Context) -> catga::Result<()> {
        Ok(())
    }
}

/// The value of the sample `name{labels}` in an exposition, if present.
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

#[tokio::test]
async fn metrics_are_served_in_prometheus_format() {
    let prometheus = Prometheus::install().expect("installs");
    let server = OpsServer::bind(
        "127.0.0.1:0",
        Endpoints::new(Health::new()).prometheus(prometheus),
    )
    .await
    .expect("binds");
    let addr = server.local_addr().expect("an address");
    let serving = tokio::spawn(server.run());

    let metrics = Metrics::new();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mediator = Mediator::builder()
        .handler(PlaceOrderHandler)
        .handler(ChargeHandler)
        .behavior(metrics.clone())
        .behavior(Retry::exponential(2).without_jitter())
        .build()
        .expect("builds");
    for order in [1, 2, 3] {
        mediator.send(PlaceOrder { order }).await.expect("placed");
    }
    mediator
        .send(PlaceOrder { order: 0 })
        .await
        .expect_err("refused");
    let charge = Charge {
        charge_id: "c-1".into(),
        cents: 5,
    };
    mediator.send(charge.clone()).await.expect("charged");
    mediator
        .send(charge)
        .await
        .expect("answered from the store");
    assert_eq!(metrics.counts("PlaceOrder").succeeded, 3);
    catga::saga::SagaRunner::new(catga::saga::MemorySagaStore::new())
        .start(&Fulfil, "order-1", (), &Context::new(MessageId::next()))
        .await
        .expect_err("the charge fails and the reservation is compensated");

    // A consumer: one event applied, one retried until it is dead-lettered.
    let transport = MemoryTransport::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let shipping = Mediator::builder()
        .event_handler(Ship(tx))
        .build()
        .expect("builds");
    let consumer = EventConsumer::new(
        Arc::new(transport.clone()),
        "shipping",
        Routes::new().event::<Shipped>(),
        shipping,
    )
    .options(ConsumerOptions {
        max_attempts: 2,
        backoff: Duration::from_millis(1),
        ..ConsumerOptions::default()
    });
    let consuming = tokio::spawn(consumer.run());
    // A group that subscribed once and is gone: what is published after lags behind.
    let shipped = vec![catga::transport::event_subject("Shipped")];
    drop(
        transport
            .subscribe("reporting", &shipped, &ConsumerOptions::default())
            .await
            .expect("subscribes"),
    );
    let lagging = tokio::spawn(catga_ops::watch_consumer_lag(
        Arc::new(transport.clone()),
        "reporting",
        shipped,
        Duration::from_millis(10),
    ));
    for fail in [false, true] {
        let envelope =
            catga::transport::Envelope::of(&Shipped { fail }, &Context::new(MessageId::next()))
                .expect("serializes");
        transport
            .publish(&catga::transport::event_subject("Shipped"), &envelope)
            .await
            .expect("publishes");
    }
    // The good one once, the bad one twice (then it is dead-lettered).
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(bounded(10, rx.recv()).await.expect("handled"));
    }

    // The outbox gauge.
    let outbox = SqliteOutbox::open(dir.path().join("shop.db"))
        .await
        .expect("opens");
    let watching = tokio::spawn(catga_ops::watch_outbox(
        "shop",
        outbox,
        Duration::from_millis(10),
    ));

    let exposition = bounded(10, async {
        loop {
            let (status, body) = get(addr, "/metrics").await;
            assert_eq!(status, 200, "{body}");
            let settled = sample(
                &body,
                "catga_consumer_deliveries_total{message_type=\"Shipped\",group=\"shipping\",outcome=\"dead_lettered\"}",
            );
            if settled == Some(1.0)
                && body.contains("catga_outbox_pending{outbox=\"shop\"} 0")
                && body.contains("catga_outbox_oldest_age_seconds{outbox=\"shop\"} 0")
                && body.contains(
                    "catga_consumer_lag{group=\"reporting\",subject=\"catga.events.Shipped\"} 2",
                )
            {
                break body;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    consuming.abort();
    watching.abort();
    lagging.abort();
    serving.abort();

    let handled = |outcome: &str| {
        sample(
            &exposition,
            &format!(
                "catga_messages_handled_total{{message_type=\"PlaceOrder\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!(handled("ok"), Some(3.0), "{exposition}");
    assert_eq!(handled("validation"), Some(1.0), "{exposition}");
    assert!(
        exposition.contains("# TYPE catga_message_handling_seconds histogram"),
        "{exposition}"
    );
    assert_eq!(
        sample(
            &exposition,
            "catga_message_handling_seconds_count{message_type=\"PlaceOrder\",outcome=\"ok\"}"
        ),
        Some(3.0),
        "{exposition}"
    );
    assert!(
        exposition.contains(
            "catga_message_handling_seconds_bucket{message_type=\"PlaceOrder\",outcome=\"ok\",le=\"0.0005\"}"
        ),
        "{exposition}"
    );
    // The second charge is a duplicate answered from the store (the first ran, and both
    // went through the Metrics behavior).
    assert_eq!(
        sample(
            &exposition,
            "catga_idempotent_hits_total{message_type=\"Charge\",source=\"stored\"}"
        ),
        Some(1.0),
        "{exposition}"
    );
    assert_eq!(
        sample(
            &exposition,
            "catga_consumer_deliveries_total{message_type=\"Shipped\",group=\"shipping\",outcome=\"applied\"}"
        ),
        Some(1.0),
        "{exposition}"
    );
    assert_eq!(
        sample(
            &exposition,
            "catga_retries_total{message_type=\"Shipped\",stage=\"consumer\"}"
        ),
        Some(1.0),
        "{exposition}"
    );
    assert_eq!(
        sample(
            &exposition,
            "catga_dead_letters_total{message_type=\"Shipped\",group=\"shipping\"}"
        ),
        Some(1.0),
        "{exposition}"
    );
    let saga = |metric: &str, step: &str, outcome: &str| {
        sample(
            &exposition,
            &format!("{metric}{{saga=\"fulfil\",step=\"{step}\",outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(
        saga("catga_saga_steps_total", "reserve", "ok"),
        Some(1.0),
        "{exposition}"
    );
    assert_eq!(
        saga("catga_saga_steps_total", "charge", "unavailable"),
        Some(1.0),
        "{exposition}"
    );
    assert_eq!(
        saga("catga_saga_compensations_total", "reserve", "ok"),
        Some(1.0),
        "{exposition}"
    );
    assert_eq!(
        saga("catga_saga_compensations_total", "charge", "ok"),
        None,
        "a step that failed is not compensated: {exposition}"
    );
    assert!(
        exposition.contains("# HELP catga_messages_handled_total"),
        "{exposition}"
    );
}

#[tokio::test]
async fn health_endpoints_answer_with_the_checks() {
    let health = Health::new();
    let server = OpsServer::bind("127.0.0.1:0", Endpoints::new(health.clone()))
        .await
        .expect("binds");
    let addr = server.local_addr().expect("an address");
    let serving = tokio::spawn(server.run());

    let (status, body) = get(addr, "/health/live").await;
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"probe":"liveness","healthy":true,"checks":[]}"#)
    );
    let transport: Arc<dyn Transport> = Arc::new(MemoryTransport::new());
    health.transport("broker", transport);
    let (status, body) = get(addr, "/health/ready").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#"{"name":"broker","healthy":true}"#),
        "{body}"
    );

    health.readiness("store", || async { Err("the file is locked".to_string()) });
    let (status, body) = get(addr, "/health/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains(r#"{"name":"store","healthy":false,"error":"the file is locked"}"#),
        "{body}"
    );
    // Liveness has its own checks, and stays up.
    assert_eq!(get(addr, "/health/live").await.0, 200);

    assert_eq!(get(addr, "/nothing").await.0, 404);
    // This server has no Prometheus recorder.
    assert_eq!(get(addr, "/metrics").await.0, 404);
    serving.abort();
}
