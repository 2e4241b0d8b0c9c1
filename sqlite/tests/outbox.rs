//! The transactional outbox through the mediator: exported events are stored when the handling
//! that published them succeeds (with the idempotency record, in one transaction, when the
//! store shares the outbox's file), dropped when it fails, and delivered by the dispatcher.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use catga::idempotency::{BoxFuture, Claim, Fence, IdempotencyStore};
use catga::prelude::*;
use catga::transport::{
    ConsumerOptions, Envelope, MemoryTransport, Outbox, OutboxEntry, Transport, event_subject,
};
use catga_sqlite::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
pub struct Shipped {
    pub order: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u64)]
pub struct Ship {
    pub order: u64,
    pub fail_after_publish: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u64, idempotent)]
pub struct ShipOnce {
    #[idempotency_key]
    pub order: u64,
}

struct ShipHandler;

impl Handler<Ship> for ShipHandler {
    async fn handle(&self, command: Ship, ctx: &Context) -> catga::Result<u64> {
        ctx.publish(Shipped {
            order: command.order,
        })
        .await?;
        if command.fail_after_publish {
            return Err(Error::conflict("the parcel is gone"));
        }
        Ok(command.order)
    }
}

#[derive(Default)]
struct ShipOnceHandler {
    runs: Arc<AtomicU32>,
}

impl Handler<ShipOnce> for ShipOnceHandler {
    async fn handle(&self, command: ShipOnce, ctx: &Context) -> catga::Result<u64> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        ctx.publish(Shipped {
            order: command.order,
        })
        .await?;
        Ok(command.order)
    }
}

/// A SQLite store that counts the records committed together with outbox messages.
#[derive(Clone)]
struct Counting {
    inner: SqliteIdempotencyStore,
    together: Arc<AtomicU32>,
}

impl IdempotencyStore for Counting {
    fn try_claim<'a>(
        &'a self,
        key: &'a str,
        lease: std::time::Duration,
    ) -> BoxFuture<'a, catga::Result<Claim>> {
        self.inner.try_claim(key, lease)
    }
    fn renew<'a>(
        &'a self,
        key: &'a str,
        fence: Fence,
        lease: std::time::Duration,
    ) -> BoxFuture<'a, catga::Result<bool>> {
        self.inner.renew(key, fence, lease)
    }
    fn complete<'a>(
        &'a self,
        key: &'a str,
        fence: Fence,
        response: &'a [u8],
    ) -> BoxFuture<'a, catga::Result<()>> {
        self.inner.complete(key, fence, response)
    }
    fn complete_with_outbox<'a>(
        &'a self,
        key: &'a str,
        fence: Fence,
        response: &'a [u8],
        outbox: &'a [OutboxEntry],
    ) -> Option<BoxFuture<'a, catga::Result<()>>> {
        self.together.fetch_add(1, Ordering::SeqCst);
        self.inner
            .complete_with_outbox(key, fence, response, outbox)
    }
    fn release<'a>(&'a self, key: &'a str, fence: Fence) -> BoxFuture<'a, catga::Result<()>> {
        self.inner.release(key, fence)
    }
}

/// The first `count` `Shipped` envelopes on `transport`, acknowledged.
async fn delivered(transport: &MemoryTransport, count: usize) -> Vec<Envelope> {
    let mut subscription = transport
        .subscribe(
            "check",
            &[event_subject("Shipped")],
            &ConsumerOptions::default(),
        )
        .await
        .expect("subscribe");
    let mut envelopes = Vec::new();
    for _ in 0..count {
        let delivery = subscription.next().await.expect("a delivery");
        envelopes.push(delivery.envelope.clone());
        delivery.ack().await.expect("ack");
    }
    envelopes
}

/// The orders of the first `count` `Shipped` events on `transport`.
async fn orders_delivered(transport: &MemoryTransport, count: usize) -> Vec<u64> {
    delivered(transport, count)
        .await
        .iter()
        .map(|envelope| envelope.message::<Shipped>().expect("shipped").order)
        .collect()
}

#[tokio::test]
async fn events_of_a_successful_handling_are_stored_and_of_a_failed_one_dropped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
        .await
        .expect("outbox");
    let mediator = Mediator::builder()
        .handler(ShipHandler)
        .outbox(outbox.clone())
        .export::<Shipped>()
        .build()
        .expect("builds");

    assert_eq!(
        mediator
            .send(Ship {
                order: 1,
                fail_after_publish: false
            })
            .await
            .expect("ships"),
        1
    );
    let failed = mediator
        .send(Ship {
            order: 2,
            fail_after_publish: true,
        })
        .await
        .unwrap_err();
    assert_eq!(failed.kind(), ErrorKind::Conflict);
    // Published from outside any handler: stored at once.
    mediator
        .publish(Shipped { order: 3 })
        .await
        .expect("publishes");
    assert_eq!(outbox.pending().await.expect("pending"), 2);

    let transport = MemoryTransport::new();
    let dispatcher = OutboxDispatcher::new(outbox.clone(), Arc::new(transport.clone()));
    assert_eq!(dispatcher.flush().await.expect("flush").delivered, 2);
    assert_eq!(orders_delivered(&transport, 2).await, [1, 3]);
}

#[tokio::test]
async fn an_idempotent_commands_events_commit_with_its_record_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, outbox) = SqliteIdempotencyStore::open_with_outbox(dir.path().join("service.db"))
        .await
        .expect("store and outbox");
    let together = Arc::new(AtomicU32::new(0));
    let handler = ShipOnceHandler::default();
    let runs = Arc::clone(&handler.runs);
    let mediator = Mediator::builder()
        .handler(handler)
        .idempotency_store(Counting {
            inner: store,
            together: Arc::clone(&together),
        })
        .outbox(outbox.clone())
        .export_keyed::<Shipped, _>(|event| Some(format!("order-{}", event.order)))
        .build()
        .expect("builds");

    for _ in 0..3 {
        assert_eq!(
            mediator.send(ShipOnce { order: 7 }).await.expect("ships"),
            7
        );
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the handler ran once");
    assert_eq!(
        together.load(Ordering::SeqCst),
        1,
        "record and event in one transaction"
    );
    assert_eq!(outbox.pending().await.expect("pending"), 1);

    let transport = MemoryTransport::new();
    OutboxDispatcher::new(outbox, Arc::new(transport.clone()))
        .flush()
        .await
        .expect("flush");
    let envelopes = delivered(&transport, 1).await;
    assert_eq!(envelopes[0].key.as_deref(), Some("order-7"));
}

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = ())]
pub struct ShipBothThenFail {
    pub order: u64,
}

/// Publishes its own event, sends an idempotent command that publishes another, then fails.
struct ShipBothThenFailHandler;

impl Handler<ShipBothThenFail> for ShipBothThenFailHandler {
    async fn handle(&self, command: ShipBothThenFail, ctx: &Context) -> catga::Result<()> {
        ctx.publish(Shipped {
            order: command.order,
        })
        .await?;
        ctx.send(ShipOnce {
            order: command.order + 1,
        })
        .await?;
        Err(Error::conflict("the warehouse refused the rest"))
    }
}

#[tokio::test]
async fn a_nested_idempotent_command_commits_only_its_own_events_and_the_failed_outer_ones_drop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (store, outbox) = SqliteIdempotencyStore::open_with_outbox(dir.path().join("service.db"))
        .await
        .expect("store and outbox");
    let mediator = Mediator::builder()
        .handler(ShipBothThenFailHandler)
        .handler(ShipOnceHandler::default())
        .idempotency_store(store)
        .outbox(outbox.clone())
        .export::<Shipped>()
        .build()
        .expect("builds");

    let failed = mediator
        .send(ShipBothThenFail { order: 20 })
        .await
        .unwrap_err();
    assert_eq!(failed.kind(), ErrorKind::Conflict);
    // The idempotent command succeeded and recorded its outcome: its event is stored with it.
    // The outer handler failed: its own event did not happen.
    let transport = MemoryTransport::new();
    OutboxDispatcher::new(outbox.clone(), Arc::new(transport.clone()))
        .flush()
        .await
        .expect("flush");
    assert_eq!(orders_delivered(&transport, 1).await, [21]);
    assert_eq!(outbox.pending().await.expect("pending"), 0);
    assert_eq!(transport.stored(&event_subject("Shipped")), 1);
}

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = ())]
pub struct ShipAndLog {
    pub order: u64,
    pub fail_in_unit: bool,
    pub fail_after: bool,
}

/// Publishes order `n`, commits a log row for it with that event, publishes order `n + 100`,
/// and fails where asked.
struct ShipAndLogHandler;

impl Handler<ShipAndLog> for ShipAndLogHandler {
    async fn handle(&self, command: ShipAndLog, ctx: &Context) -> catga::Result<()> {
        ctx.publish(Shipped {
            order: command.order,
        })
        .await?;
        let (order, fail) = (command.order, command.fail_in_unit);
        ctx.commit(move |tx| {
            tx.execute("INSERT INTO shipping_log (n) VALUES (?1)", [order as i64])?;
            if fail {
                return Err(Error::conflict("the log refused it").into());
            }
            Ok(())
        })
        .await?;
        ctx.publish(Shipped {
            order: command.order + 100,
        })
        .await?;
        if command.fail_after {
            return Err(Error::unavailable("the label printer is down"));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_unit_of_work_commits_the_handlers_writes_with_its_events_so_far() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("service.db");
    let outbox = SqliteOutbox::open(&path).await.expect("outbox");
    rusqlite::Connection::open(&path)
        .expect("open")
        .execute_batch("CREATE TABLE shipping_log (n INTEGER NOT NULL)")
        .expect("log table");
    let mediator = Mediator::builder()
        .handler(ShipAndLogHandler)
        .outbox(outbox.clone())
        .export::<Shipped>()
        .build()
        .expect("builds");
    let send = |order, fail_in_unit, fail_after| {
        mediator.send(ShipAndLog {
            order,
            fail_in_unit,
            fail_after,
        })
    };
    send(1, false, false).await.expect("ships");
    // Committed, then failed: the writes and the events before the commit stand; the event
    // after it did not happen.
    send(2, false, true).await.expect_err("fails after");
    // The unit of work refused: nothing of it, and the handling failed.
    send(3, true, false).await.expect_err("fails inside");

    let logged: Vec<i64> = {
        let conn = rusqlite::Connection::open(&path).expect("open");
        let mut statement = conn
            .prepare("SELECT n FROM shipping_log ORDER BY n")
            .expect("query");
        statement
            .query_map([], |row| row.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    assert_eq!(logged, [1, 2]);
    let transport = MemoryTransport::new();
    OutboxDispatcher::new(outbox.clone(), Arc::new(transport.clone()))
        .flush()
        .await
        .expect("flush");
    let mut orders = orders_delivered(&transport, 3).await;
    orders.sort();
    assert_eq!(orders, [1, 2, 101]);
    assert_eq!(transport.stored(&event_subject("Shipped")), 3);
}

#[tokio::test]
async fn a_unit_of_work_without_an_outbox_is_a_configuration_error() {
    let mediator = Mediator::builder()
        .handler(ShipAndLogHandler)
        .build()
        .expect("builds");
    let error = mediator
        .send(ShipAndLog {
            order: 1,
            fail_in_unit: false,
            fail_after: false,
        })
        .await
        .expect_err("no outbox");
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(error.message().contains("SqliteOutbox"), "{error}");
    assert!(error.message().contains("has none"), "{error}");
}

/// An outbox of another kind than SQLite's, keeping entries in memory.
#[derive(Debug, Default)]
struct ListOutbox(std::sync::Mutex<Vec<OutboxEntry>>);

impl Outbox for ListOutbox {
    fn enqueue(&self, entries: Vec<OutboxEntry>) -> BoxFuture<'_, catga::Result<()>> {
        self.0.lock().expect("lock").extend(entries);
        Box::pin(async { Ok(()) })
    }
    fn pending(&self) -> BoxFuture<'_, catga::Result<usize>> {
        let pending = self.0.lock().expect("lock").len();
        Box::pin(async move { Ok(pending) })
    }
    fn oldest_pending_age(&self) -> BoxFuture<'_, catga::Result<Option<std::time::Duration>>> {
        Box::pin(async { Ok(None) })
    }
}

#[tokio::test]
async fn a_unit_of_work_on_an_outbox_of_another_kind_is_a_configuration_error() {
    let mediator = Mediator::builder()
        .handler(ShipAndLogHandler)
        .outbox(ListOutbox::default())
        .export::<Shipped>()
        .build()
        .expect("builds");
    let error = mediator
        .send(ShipAndLog {
            order: 1,
            fail_in_unit: false,
            fail_after: false,
        })
        .await
        .expect_err("not a SQLite outbox");
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(error.message().contains("ListOutbox"), "{error}");
    assert!(error.message().contains("another kind"), "{error}");
}

#[tokio::test]
async fn exporting_without_an_outbox_is_a_configuration_error() {
    let error = Mediator::builder()
        .handler(ShipHandler)
        .export::<Shipped>()
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Configuration);
    assert!(error.message().contains("needs `.outbox(..)`"), "{error}");
}

mod saga {
    use super::*;
    use catga::saga::{Saga, SagaRunner};

    /// Ships each step's parcel with an event; fails at step 1 when asked to.
    struct Deliver {
        fail_at_second_step: bool,
    }

    impl Saga for Deliver {
        type State = u64;
        const NAME: &'static str = "deliver";
        const STEPS: &'static [&'static str] = &["pack", "hand_over"];

        async fn execute(&self, step: usize, order: &mut u64, ctx: &Context) -> catga::Result<()> {
            ctx.publish(Shipped {
                order: *order * 10 + step as u64,
            })
            .await?;
            if step == 1 && self.fail_at_second_step {
                return Err(Error::unavailable("the courier did not come"));
            }
            Ok(())
        }

        async fn compensate(
            &self,
            _step: usize,
            _order: &mut u64,
            _ctx: &Context,
        ) -> catga::Result<()> {
            Ok(())
        }
    }

    #[derive(Debug, Clone, Serialize, Deserialize, Command)]
    #[command(response = u64)]
    pub(crate) struct StartDelivery {
        pub(crate) order: u64,
        pub(crate) fail: bool,
    }

    struct StartDeliveryHandler {
        runner: SagaRunner,
    }

    impl Handler<StartDelivery> for StartDeliveryHandler {
        async fn handle(&self, command: StartDelivery, ctx: &Context) -> catga::Result<u64> {
            let saga = Deliver {
                fail_at_second_step: command.fail,
            };
            self.runner
                .start(&saga, &command.order.to_string(), command.order, ctx)
                .await
        }
    }

    #[tokio::test]
    async fn a_steps_events_commit_with_its_state_and_a_failed_steps_are_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (store, outbox) = SqliteSagaStore::open_with_outbox(dir.path().join("sagas.db"))
            .await
            .expect("store and outbox");
        let mediator = Mediator::builder()
            .handler(StartDeliveryHandler {
                runner: SagaRunner::new(store),
            })
            .outbox(outbox.clone())
            .export::<Shipped>()
            .build()
            .expect("builds");

        mediator
            .send(StartDelivery {
                order: 1,
                fail: false,
            })
            .await
            .expect("delivered");
        // Step 0's event is saved with step 0's state, though the saga then fails at step 1,
        // whose event is dropped.
        let failed = mediator
            .send(StartDelivery {
                order: 2,
                fail: true,
            })
            .await
            .unwrap_err();
        assert_eq!(failed.kind(), ErrorKind::Unavailable);
        assert_eq!(outbox.pending().await.expect("pending"), 3);

        let transport = MemoryTransport::new();
        OutboxDispatcher::new(outbox, Arc::new(transport.clone()))
            .flush()
            .await
            .expect("flush");
        let mut orders = orders_delivered(&transport, 3).await;
        orders.sort_unstable();
        assert_eq!(orders, [10, 11, 20]);
    }
}
