//! A remote send asked again while its outcome is in doubt (`transport::send_retrying`), over
//! the in-memory transport, in paused time: what it asks again on, what it returns at once, the
//! deadline as its budget, and the commands it refuses to ask twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use catga::prelude::*;
use catga::transport::{MemoryTransport, RequestServer, Routes, send_retrying};
use tokio::time::Instant;

/// Reserves stock for an order; idempotent by order, so asking twice reserves once.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u32, idempotent)]
struct ReserveStock {
    #[idempotency_key]
    order_id: String,
    quantity: u32,
}

/// Charges a card; not idempotent, so asking twice could charge twice.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = ())]
struct ChargeCard {
    cents: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Query)]
#[query(response = u64)]
struct GetStock {
    sku: String,
}

/// Answers the requests, counting them; hangs on the first `hangs` stock queries.
#[derive(Clone, Default)]
struct Inventory {
    handled: Arc<AtomicU32>,
    hangs: u32,
}

impl Handler<ReserveStock> for Inventory {
    async fn handle(&self, command: ReserveStock, _ctx: &Context) -> catga::Result<u32> {
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(command.quantity)
    }
}

impl Handler<GetStock> for Inventory {
    async fn handle(&self, query: GetStock, _ctx: &Context) -> catga::Result<u64> {
        if self.handled.fetch_add(1, Ordering::SeqCst) < self.hangs {
            std::future::pending::<()>().await;
        }
        match query.sku.as_str() {
            "apple" => Ok(12),
            other => Err(Error::not_found(format!("no sku `{other}`"))),
        }
    }
}

fn serve(transport: &Arc<MemoryTransport>, inventory: &Inventory) -> RequestServer {
    let mediator = Mediator::builder()
        .handler::<ReserveStock, _>(inventory.clone())
        .handler::<GetStock, _>(inventory.clone())
        .build()
        .expect("builds");
    RequestServer::new(
        transport.clone(),
        "inventory",
        Routes::new()
            .request::<ReserveStock>()
            .request::<GetStock>(),
        mediator,
    )
}

fn quick_retry() -> Retry {
    Retry::exponential(u32::MAX)
        .base_delay(Duration::from_millis(50))
        .max_delay(Duration::from_millis(500))
}

/// Fails the test when `future` does not finish within 60 s (of paused, auto-advancing time).
async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("the send did not finish")
}

#[tokio::test(start_paused = true)]
async fn a_command_is_asked_again_until_a_server_appears() {
    let transport = Arc::new(MemoryTransport::new());
    let inventory = Inventory::default();
    let server = serve(&transport, &inventory);
    // No instance serves at first: one starts a second later, as after a restart.
    let serving = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        server.run().await
    });
    let ctx = Context::new(MessageId(1)).with_deadline(Instant::now() + Duration::from_secs(30));
    let reserve = ReserveStock {
        order_id: "o-1".into(),
        quantity: 3,
    };
    let reserved = bounded(send_retrying(
        transport.as_ref(),
        &reserve,
        &ctx,
        &quick_retry(),
    ))
    .await;
    assert_eq!(reserved.expect("reserved once served"), 3);
    assert_eq!(inventory.handled.load(Ordering::SeqCst), 1);
    serving.abort();
}

#[tokio::test(start_paused = true)]
async fn an_attempt_without_an_answer_is_dropped_at_its_timeout_and_asked_again() {
    let transport = Arc::new(MemoryTransport::new());
    let inventory = Inventory {
        hangs: 2,
        ..Inventory::default()
    };
    let serving = tokio::spawn(serve(&transport, &inventory).run());
    tokio::task::yield_now().await;
    let ctx = Context::new(MessageId(1)).with_deadline(Instant::now() + Duration::from_secs(30));
    let retry = quick_retry().attempt_timeout(Duration::from_secs(2));
    let stock = bounded(send_retrying(
        transport.as_ref(),
        &GetStock {
            sku: "apple".into(),
        },
        &ctx,
        &retry,
    ))
    .await;
    assert_eq!(stock.expect("answered at the third attempt"), 12);
    assert_eq!(inventory.handled.load(Ordering::SeqCst), 3);
    serving.abort();
}

#[tokio::test(start_paused = true)]
async fn an_answer_that_is_not_in_doubt_is_returned_after_one_attempt() {
    let transport = Arc::new(MemoryTransport::new());
    let inventory = Inventory::default();
    let serving = tokio::spawn(serve(&transport, &inventory).run());
    tokio::task::yield_now().await;
    let ctx = Context::new(MessageId(1)).with_deadline(Instant::now() + Duration::from_secs(30));
    let missing = bounded(send_retrying(
        transport.as_ref(),
        &GetStock { sku: "pear".into() },
        &ctx,
        &quick_retry(),
    ))
    .await
    .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    assert_eq!(missing.message(), "no sku `pear`");
    assert_eq!(inventory.handled.load(Ordering::SeqCst), 1);
    serving.abort();
}

#[tokio::test(start_paused = true)]
async fn the_deadline_ends_the_asking_with_the_last_attempts_error() {
    let transport = MemoryTransport::new();
    let ctx = Context::new(MessageId(1)).with_deadline(Instant::now() + Duration::from_secs(2));
    let query = GetStock {
        sku: "apple".into(),
    };
    let error = bounded(send_retrying(&transport, &query, &ctx, &quick_retry()))
        .await
        .unwrap_err();
    // No attempt started after the deadline: that one would have been a timeout.
    assert_eq!(error.kind(), ErrorKind::NoHandler, "{error}");
}

#[tokio::test(start_paused = true)]
async fn the_attempts_of_the_policy_end_the_asking_too() {
    let transport = MemoryTransport::new();
    let query = GetStock {
        sku: "apple".into(),
    };
    // No deadline: the three attempts are the budget.
    let error = bounded(send_retrying(
        &transport,
        &query,
        &Context::new(MessageId(1)),
        &Retry::exponential(3),
    ))
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoHandler, "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_command_that_is_not_idempotent_is_refused_before_anything_is_sent() {
    let transport = MemoryTransport::new();
    let ctx = Context::new(MessageId(1));
    let error = send_retrying(&transport, &ChargeCard { cents: 100 }, &ctx, &quick_retry())
        .await
        .unwrap_err();
    // Sent, it would have met no server (`NoHandler`).
    assert_eq!(error.kind(), ErrorKind::Configuration, "{error}");
    assert!(error.message().contains("`ChargeCard`"), "{error}");
    assert!(error.message().contains("not idempotent"), "{error}");
}
