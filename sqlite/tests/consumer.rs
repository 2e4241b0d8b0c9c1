//! An event consumer with a `SqliteInbox`: a redelivered message is skipped, and a projection
//! writes in the inbox's transaction exactly once.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use catga::prelude::*;
use catga::testing::{CountOrders, OrderPlaced, billing_consumer, delivery_of, placed};
use catga::transport::{EventConsumer, Handled, MemoryTransport, Routes};
use catga_sqlite::prelude::*;

#[tokio::test]
async fn the_inbox_skips_a_redelivered_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inbox = SqliteInbox::open(dir.path().join("inbox.db"))
        .await
        .expect("inbox");
    let transport = MemoryTransport::new();
    let counter = CountOrders::default();
    let consumer = billing_consumer(Arc::new(transport.clone()), counter.clone()).inbox(inbox);
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
    let first = placed(1);
    assert_eq!(
        consumer
            .handle(delivery_of(&first, 1))
            .await
            .expect("first"),
        Handled::Applied
    );
    assert_eq!(
        consumer
            .handle(delivery_of(&first, 2))
            .await
            .expect("again"),
        Handled::Duplicate
    );
    assert_eq!(
        consumer
            .handle(delivery_of(&placed(2), 1))
            .await
            .expect("second"),
        Handled::Applied
    );
    assert_eq!(
        consumer
            .handle(delivery_of(&placed(99), 1))
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
