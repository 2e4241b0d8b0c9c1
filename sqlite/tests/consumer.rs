//! An event consumer with a `SqliteInbox`: a redelivered message is skipped, and a projection
//! writes in the inbox's transaction exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use catga::prelude::*;
use catga::transport::{
    BoxFuture, ConsumerOptions, Delivery, Envelope, EventConsumer, Handled, MemoryTransport,
    Routes, Settle, event_subject,
};
use catga_sqlite::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
pub struct OrderPlaced {
    pub order: u64,
}

/// Counts handled events.
#[derive(Clone, Default)]
struct CountOrders {
    handled: Arc<AtomicU32>,
}

impl EventHandler<OrderPlaced> for CountOrders {
    async fn handle(&self, _event: &OrderPlaced, _ctx: &Context) -> catga::Result<()> {
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn placed(order: u64) -> Envelope {
    Envelope::of(&OrderPlaced { order }, &Context::new(MessageId(order))).expect("serializes")
}

fn consumer(
    transport: &MemoryTransport,
    counter: &CountOrders,
    options: ConsumerOptions,
) -> EventConsumer {
    let mediator = Mediator::builder()
        .event_handler(counter.clone())
        .build()
        .expect("builds");
    EventConsumer::new(
        Arc::new(transport.clone()),
        "billing",
        Routes::new().event::<OrderPlaced>(),
        mediator,
    )
    .options(options)
}

/// Settles nothing, so a test can hand the same message to a consumer twice, as a broker does
/// when an acknowledgement is lost.
struct LostAck;

impl Settle for LostAck {
    fn ack(self: Box<Self>) -> BoxFuture<'static, catga::Result<()>> {
        Box::pin(async { Ok(()) })
    }
    fn retry(self: Box<Self>, _delay: Duration) -> BoxFuture<'static, catga::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn the_inbox_skips_a_redelivered_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inbox = SqliteInbox::open(dir.path().join("inbox.db"))
        .await
        .expect("inbox");
    let transport = MemoryTransport::new();
    let counter = CountOrders::default();
    let consumer = consumer(&transport, &counter, ConsumerOptions::default()).inbox(inbox);
    let envelope = placed(1);
    let delivery = |attempt| {
        Delivery::new(
            envelope.clone(),
            event_subject("OrderPlaced"),
            attempt,
            Box::new(LostAck),
        )
    };
    assert_eq!(
        consumer.handle(delivery(1)).await.expect("first"),
        Handled::Applied
    );
    assert_eq!(
        consumer.handle(delivery(2)).await.expect("again"),
        Handled::Duplicate
    );
    assert_eq!(counter.handled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_projection_writes_in_the_inbox_transaction_exactly_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("billing.db");
    let inbox = SqliteInbox::open(&path).await.expect("inbox");
    let setup = rusqlite::Connection::open(&path).expect("open");
    setup
        .execute_batch(
            "CREATE TABLE revenue (orders INTEGER NOT NULL); INSERT INTO revenue VALUES (0);",
        )
        .expect("schema");
    let routes = Routes::new().projection(|event: &OrderPlaced, tx| {
        if event.order == 99 {
            return Err(Error::unavailable("the projection's dependency is down").into());
        }
        tx.execute("UPDATE revenue SET orders = orders + 1", [])?;
        Ok(())
    });
    let mediator = Mediator::builder().build().expect("builds");
    let transport = MemoryTransport::new();
    let consumer = EventConsumer::new(
        Arc::new(transport.clone()),
        "billing",
        routes.clone(),
        mediator.clone(),
    )
    .inbox(inbox);
    let delivery = |envelope: &Envelope, attempt| {
        Delivery::new(
            envelope.clone(),
            event_subject("OrderPlaced"),
            attempt,
            Box::new(LostAck),
        )
    };
    let first = placed(1);
    assert_eq!(
        consumer.handle(delivery(&first, 1)).await.expect("first"),
        Handled::Applied
    );
    assert_eq!(
        consumer.handle(delivery(&first, 2)).await.expect("again"),
        Handled::Duplicate
    );
    assert_eq!(
        consumer
            .handle(delivery(&placed(2), 1))
            .await
            .expect("second"),
        Handled::Applied
    );
    assert_eq!(
        consumer
            .handle(delivery(&placed(99), 1))
            .await
            .expect("failing"),
        Handled::Retried
    );
    let orders: i64 = setup
        .query_row("SELECT orders FROM revenue", [], |row| row.get(0))
        .expect("read");
    assert_eq!(orders, 2);

    let without_inbox = EventConsumer::new(Arc::new(transport), "billing", routes, mediator);
    let error = without_inbox.run().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(
        error.message().contains("give it one with `.inbox("),
        "{error}"
    );
}
