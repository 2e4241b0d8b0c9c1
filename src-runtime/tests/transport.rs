//! Services exchanging events and commands over the in-memory transport: consumer groups,
//! inbox deduplication, retries with backoff, dead letters, and remote sends with the local
//! error kinds. (The NATS transport's own tests run the same traits against a real broker.)

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use catga::prelude::*;
use catga::testing::{CountOrders, OrderPlaced, billing_consumer, delivery_of, placed};
use catga::transport::{
    BoxFuture, ConsumerOptions, DEAD_LETTER_TYPE, DeadLetter, EventConsumer, Handled, Inbox,
    MemoryTransport, RequestServer, Routes, Transport, event_subject, send,
};

#[derive(Debug, Clone, Serialize, Deserialize, Query)]
#[query(response = u64)]
pub struct GetStock {
    pub sku: String,
}

struct Stock;

impl Handler<GetStock> for Stock {
    async fn handle(&self, query: GetStock, _ctx: &Context) -> catga::Result<u64> {
        match query.sku.as_str() {
            "apple" => Ok(12),
            other => Err(Error::not_found(format!("no sku `{other}`"))),
        }
    }
}

#[tokio::test]
async fn a_consumer_group_member_applies_each_event_once() {
    let transport = MemoryTransport::new();
    let counter = CountOrders::default();
    let consumer = billing_consumer(Arc::new(transport.clone()), counter.clone());
    let running = tokio::spawn(consumer.run());
    for order in 0..50 {
        transport
            .publish(&event_subject("OrderPlaced"), &placed(order))
            .await
            .expect("publish");
    }
    tokio::time::timeout(Duration::from_secs(60), async {
        while counter.handled.load(Ordering::SeqCst) < 50 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("all 50 handled in time");
    running.abort();
    assert_eq!(counter.handled.load(Ordering::SeqCst), 50);
}

/// An inbox in a set, for the consumer's part of deduplication; catga-sqlite's tests run the
/// same through a `SqliteInbox`.
#[derive(Debug, Default)]
struct SetInbox(Mutex<HashSet<(String, String)>>);

impl Inbox for SetInbox {
    fn seen<'a>(&'a self, consumer: &'a str, id: &'a str) -> BoxFuture<'a, catga::Result<bool>> {
        let key = (consumer.to_string(), id.to_string());
        let seen = self.0.lock().expect("lock").contains(&key);
        Box::pin(async move { Ok(seen) })
    }
    fn record<'a>(&'a self, consumer: &'a str, id: &'a str) -> BoxFuture<'a, catga::Result<bool>> {
        let key = (consumer.to_string(), id.to_string());
        let inserted = self.0.lock().expect("lock").insert(key);
        Box::pin(async move { Ok(inserted) })
    }
}

#[tokio::test]
async fn the_inbox_skips_a_redelivered_message() {
    let transport = MemoryTransport::new();
    let counter = CountOrders::default();
    let consumer =
        billing_consumer(Arc::new(transport.clone()), counter.clone()).inbox(SetInbox::default());
    let envelope = placed(1);
    assert_eq!(
        consumer
            .handle(delivery_of(&envelope, 1))
            .await
            .expect("first"),
        Handled::Applied
    );
    assert_eq!(
        consumer
            .handle(delivery_of(&envelope, 2))
            .await
            .expect("again"),
        Handled::Duplicate
    );
    assert_eq!(counter.handled.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn failures_are_retried_with_backoff_then_dead_lettered() {
    let transport = MemoryTransport::new();
    let options = ConsumerOptions {
        max_attempts: 3,
        backoff: Duration::from_secs(1),
        ..ConsumerOptions::default()
    };
    let mut subscription = transport
        .subscribe("billing", &[event_subject("OrderPlaced")], &options)
        .await
        .expect("subscribe");
    // Fails twice, then succeeds on the third delivery.
    let recovering = CountOrders {
        failures: 2,
        ..CountOrders::default()
    };
    let consumer_a =
        billing_consumer(Arc::new(transport.clone()), recovering.clone()).options(options.clone());
    transport
        .publish(&event_subject("OrderPlaced"), &placed(1))
        .await
        .expect("publish");
    let started = tokio::time::Instant::now();
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let delivery = subscription.next().await.expect("a delivery");
        outcomes.push(consumer_a.handle(delivery).await.expect("handled"));
    }
    assert_eq!(
        outcomes,
        [Handled::Retried, Handled::Retried, Handled::Applied]
    );
    // 1 s after the first failure, 2 s after the second.
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // Always failing: dead-lettered at the third attempt, with the reason.
    let failing = CountOrders {
        failures: u32::MAX,
        ..CountOrders::default()
    };
    let consumer_b =
        billing_consumer(Arc::new(transport.clone()), failing.clone()).options(options.clone());
    transport
        .publish(&event_subject("OrderPlaced"), &placed(2))
        .await
        .expect("publish");
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let delivery = subscription.next().await.expect("a delivery");
        outcomes.push(consumer_b.handle(delivery).await.expect("handled"));
    }
    assert_eq!(
        outcomes,
        [Handled::Retried, Handled::Retried, Handled::DeadLettered]
    );
    let mut dead = transport
        .subscribe("ops", &["catga.dead.>".to_string()], &options)
        .await
        .expect("subscribe to dead letters");
    let letter = dead.next().await.expect("a dead letter");
    assert_eq!(letter.subject, "catga.dead.billing.OrderPlaced");
    assert_eq!(letter.envelope.type_name, DEAD_LETTER_TYPE);
    let letter: DeadLetter = serde_json::from_value(letter.envelope.payload).expect("a letter");
    assert_eq!(
        (letter.attempts, letter.error_kind.as_str()),
        (3, "unavailable")
    );
    assert_eq!(
        letter
            .envelope
            .message::<OrderPlaced>()
            .expect("the original")
            .order,
        2
    );
}

/// Never returns for order 0; handles every other order, recording the deadline it was given.
#[derive(Clone, Default)]
struct HangsOnZero {
    handled: Arc<AtomicU32>,
    deadlines: Arc<std::sync::Mutex<Vec<Option<tokio::time::Instant>>>>,
}

impl EventHandler<OrderPlaced> for HangsOnZero {
    async fn handle(&self, event: &OrderPlaced, ctx: &Context) -> catga::Result<()> {
        if event.order == 0 {
            std::future::pending::<()>().await;
        }
        self.deadlines
            .lock()
            .expect("not poisoned")
            .push(ctx.deadline());
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn hanging_consumer(
    transport: &MemoryTransport,
    handler: &HangsOnZero,
    routes: Routes,
    options: ConsumerOptions,
) -> EventConsumer {
    let mediator = Mediator::builder()
        .event_handler(handler.clone())
        .build()
        .expect("builds");
    EventConsumer::new(Arc::new(transport.clone()), "billing", routes, mediator).options(options)
}

#[tokio::test(start_paused = true)]
async fn a_hung_handler_is_stopped_at_its_deadline_and_dead_lettered_while_the_rest_flow() {
    let transport = MemoryTransport::new();
    let handler = HangsOnZero::default();
    let options = ConsumerOptions {
        ack_wait: Duration::from_secs(30),
        max_attempts: 3,
        backoff: Duration::from_millis(100),
        ..ConsumerOptions::default()
    };
    let routes = Routes::new()
        .event::<OrderPlaced>()
        .deadline::<OrderPlaced>(Duration::from_secs(5));
    let running = tokio::spawn(hanging_consumer(&transport, &handler, routes, options).run());
    for order in 0..=100 {
        transport
            .publish(&event_subject("OrderPlaced"), &placed(order))
            .await
            .expect("publish");
    }
    let mut dead = transport
        .subscribe(
            "ops",
            &["catga.dead.>".to_string()],
            &ConsumerOptions::default(),
        )
        .await
        .expect("subscribe to dead letters");
    // On the paused clock a hang here (no deadline) would run into this bound at once.
    let letter = tokio::time::timeout(Duration::from_secs(600), dead.next())
        .await
        .expect("the hung order was dead-lettered")
        .expect("a dead letter");
    let letter: DeadLetter = serde_json::from_value(letter.envelope.payload).expect("a letter");
    assert_eq!(
        (letter.attempts, letter.error_kind.as_str()),
        (3, "timeout")
    );
    assert!(letter.error.contains("deadline of 5s"), "{}", letter.error);
    assert_eq!(
        letter
            .envelope
            .message::<OrderPlaced>()
            .expect("the original")
            .order,
        0
    );
    // The member went on between the attempts: every later order was handled.
    tokio::time::timeout(Duration::from_secs(60), async {
        while handler.handled.load(Ordering::SeqCst) < 100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("every later order handled");
    // Each handler was told how long it had.
    let deadlines = handler.deadlines.lock().expect("not poisoned").clone();
    assert!(deadlines.iter().all(Option::is_some), "{deadlines:?}");
    running.abort();
}

#[tokio::test]
async fn a_deadline_not_shorter_than_ack_wait_or_for_an_unrouted_type_is_refused_before_consuming()
{
    let transport = MemoryTransport::new();
    let handler = HangsOnZero::default();
    let ack_wait = ConsumerOptions {
        ack_wait: Duration::from_secs(10),
        ..ConsumerOptions::default()
    };
    let cases = [
        (
            Routes::new()
                .event::<OrderPlaced>()
                .deadline::<OrderPlaced>(Duration::from_secs(10)),
            ack_wait.clone(),
            "the deadline of `OrderPlaced` (10s)",
        ),
        (
            Routes::new().event::<OrderPlaced>(),
            ConsumerOptions {
                handling_deadline: Some(Duration::from_secs(12)),
                ..ack_wait.clone()
            },
            "the handling deadline (12s)",
        ),
        (
            Routes::new().deadline::<OrderPlaced>(Duration::from_secs(1)),
            ack_wait.clone(),
            "add `.event::<OrderPlaced>()`",
        ),
    ];
    for (routes, options, says) in cases {
        let error = hanging_consumer(&transport, &handler, routes, options)
            .run()
            .await
            .expect_err("refused");
        assert_eq!(error.kind(), ErrorKind::Configuration, "{error}");
        assert!(error.message().contains(says), "{error}");
    }
    assert_eq!(
        ConsumerOptions {
            ack_wait: Duration::from_secs(30),
            ..ConsumerOptions::default()
        }
        .handling_deadline(),
        Duration::from_secs(24),
        "four fifths of ack_wait by default"
    );
}

/// Records the order it handles orders in and how many run at once; order `n` takes
/// `n % 3` ms.
#[derive(Clone, Default)]
struct OrderLog {
    handled: Arc<std::sync::Mutex<Vec<u64>>>,
    running: Arc<AtomicU32>,
    most_at_once: Arc<AtomicU32>,
}

impl EventHandler<OrderPlaced> for OrderLog {
    async fn handle(&self, event: &OrderPlaced, _ctx: &Context) -> catga::Result<()> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(event.order % 3)).await;
        self.handled.lock().expect("not poisoned").push(event.order);
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Publishes orders 0..200 keyed `k0`..`k3` by `order % 4`, consumes them with `concurrency`,
/// and returns the log once all are handled.
async fn consume_keyed(concurrency: usize) -> OrderLog {
    let transport = MemoryTransport::new();
    let log = OrderLog::default();
    let consumer =
        billing_consumer(Arc::new(transport.clone()), log.clone()).options(ConsumerOptions {
            concurrency,
            ..ConsumerOptions::default()
        });
    let running = tokio::spawn(consumer.run());
    for order in 0..200 {
        let envelope = placed(order).with_key(format!("k{}", order % 4));
        transport
            .publish(&event_subject("OrderPlaced"), &envelope)
            .await
            .expect("publish");
    }
    tokio::time::timeout(Duration::from_secs(600), async {
        while log.handled.lock().expect("not poisoned").len() < 200 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("every order handled");
    running.abort();
    log
}

#[tokio::test(start_paused = true)]
async fn a_member_handles_keys_side_by_side_and_each_key_in_order() {
    let log = consume_keyed(8).await;
    let handled = log.handled.lock().expect("not poisoned").clone();
    for key in 0..4 {
        let of_key: Vec<u64> = handled.iter().copied().filter(|n| n % 4 == key).collect();
        assert!(of_key.is_sorted(), "key k{key} out of order: {of_key:?}");
        assert_eq!(of_key.len(), 50);
    }
    let most = log.most_at_once.load(Ordering::SeqCst);
    assert!((2..=4).contains(&most), "{most} at once, with 4 keys");
}

#[tokio::test(start_paused = true)]
async fn a_concurrency_of_one_handles_everything_in_order() {
    let log = consume_keyed(1).await;
    let handled = log.handled.lock().expect("not poisoned").clone();
    assert_eq!(handled, (0..200).collect::<Vec<_>>());
    assert_eq!(log.most_at_once.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_at_once_and_the_stream_moves_on() {
    let transport = MemoryTransport::new();
    let counter = CountOrders::default();
    let consumer = billing_consumer(Arc::new(transport.clone()), counter.clone());
    let mut poison = placed(1);
    poison.payload = serde_json::json!({ "order": "not a number" });
    let outcome = consumer
        .handle(delivery_of(&poison, 1))
        .await
        .expect("handled");
    assert_eq!(outcome, Handled::DeadLettered);
    let outcome = consumer
        .handle(delivery_of(&placed(2), 1))
        .await
        .expect("handled");
    assert_eq!(outcome, Handled::Applied);
    assert_eq!(transport.stored("catga.dead.>"), 1);
}

#[tokio::test]
async fn remote_sends_get_replies_and_the_local_error_kinds() {
    let transport = Arc::new(MemoryTransport::new());
    let ctx = Context::new(MessageId(1));
    let query = GetStock {
        sku: "apple".into(),
    };
    let error = send(transport.as_ref(), &query, &ctx).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoHandler, "{error}");

    let stock = Mediator::builder().handler(Stock).build().expect("builds");
    let server = RequestServer::new(
        transport.clone(),
        "inventory",
        Routes::new().request::<GetStock>(),
        stock,
    );
    let serving = tokio::spawn(server.run());
    // `serve` registers asynchronously: wait for it.
    let answer = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match send(transport.as_ref(), &query, &ctx).await {
                Err(error) if error.kind() == ErrorKind::NoHandler => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                other => return other,
            }
        }
    })
    .await
    .expect("served in time");
    assert_eq!(answer.expect("stock"), 12);
    let missing = send(transport.as_ref(), &GetStock { sku: "pear".into() }, &ctx)
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert_eq!(missing.message(), "no sku `pear`");

    let expired = Context::new(MessageId(2)).with_deadline(tokio::time::Instant::now());
    let late = send(transport.as_ref(), &query, &expired)
        .await
        .unwrap_err();
    assert_eq!(late.kind(), ErrorKind::Timeout);
    serving.abort();
}
