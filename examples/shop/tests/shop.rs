//! The shop in one process over the in-memory transport: the place-order saga's happy path and
//! its compensation, an idempotent retry, and the HTTP gateway.

use std::future::Future;
use std::time::Duration;

use catga::prelude::*;
use catga::transport::send;
use shop::in_process::InProcessShop;
use shop::inventory::get_reservation::{GetReservation, Reservation};
use shop::orders::get_order::{GetOrder, OrderView};
use shop::orders::place_order::PlaceOrder;
use shop::payments::DECLINED_CARD;
use shop::payments::get_payment::{GetPayment, Payment};

const GOOD_CARD: &str = "4242-4242-4242-4242";
const STOCK_OF_A_BOOK: i64 = 1_000_000_000;

async fn shop() -> catga::Result<(tempfile::TempDir, InProcessShop)> {
    let dir = tempfile::tempdir().map_err(|error| Error::internal(error.to_string()))?;
    let shop = InProcessShop::start(dir.path()).await?;
    Ok((dir, shop))
}

fn order(order_id: &str, sku: &str, card: &str) -> PlaceOrder {
    PlaceOrder {
        order_id: order_id.into(),
        sku: sku.into(),
        quantity: 2,
        amount_cents: 1_999,
        card: card.into(),
    }
}

/// Retries `read` for up to 5 s until `done` holds for its answer: the order view and the
/// captures follow the events a moment after the order is placed.
async fn eventually<T, F, Fut>(read: F, done: impl Fn(&T) -> bool) -> catga::Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = catga::Result<T>>,
{
    let mut waited = Duration::ZERO;
    loop {
        let answer = read().await;
        let settled = match &answer {
            Ok(value) => done(value),
            Err(error) => error.kind() != ErrorKind::NotFound,
        };
        if settled || waited >= Duration::from_secs(5) {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        waited += Duration::from_millis(10);
    }
}

async fn view(shop: &InProcessShop, id: &str, status: &str) -> catga::Result<OrderView> {
    let read = || shop.orders.mediator().send(GetOrder { id: id.into() });
    eventually(read, |order: &OrderView| order.status == status).await
}

async fn reservation(shop: &InProcessShop, id: &str, status: &str) -> catga::Result<Reservation> {
    let query = GetReservation {
        order_id: id.into(),
    };
    let caller = Context::new(MessageId::next());
    let read = || send(shop.transport.as_ref(), &query, &caller);
    eventually(read, |reservation: &Reservation| {
        reservation.status == status
    })
    .await
}

async fn payment(shop: &InProcessShop, id: &str, status: &str) -> catga::Result<Payment> {
    let query = GetPayment {
        order_id: id.into(),
    };
    let caller = Context::new(MessageId::next());
    let read = || send(shop.transport.as_ref(), &query, &caller);
    eventually(read, |payment: &Payment| payment.status == status).await
}

#[tokio::test]
async fn a_placed_order_is_confirmed_then_shipped_and_captured() -> catga::Result<()> {
    let (_dir, shop) = shop().await?;
    let outcome = shop
        .orders
        .mediator()
        .send(order("o-1", "book", GOOD_CARD))
        .await?;
    assert!(outcome.confirmed, "{outcome:?}");

    assert_eq!(
        view(&shop, "o-1", "confirmed").await?.sku.as_deref(),
        Some("book")
    );
    let shipped = reservation(&shop, "o-1", "shipped").await?;
    assert_eq!(
        (shipped.status.as_str(), shipped.available),
        ("shipped", STOCK_OF_A_BOOK - 2)
    );
    assert_eq!(payment(&shop, "o-1", "captured").await?.amount_cents, 1_999);
    Ok(())
}

#[tokio::test]
async fn a_declined_payment_cancels_the_order_and_releases_its_stock() -> catga::Result<()> {
    let (_dir, shop) = shop().await?;
    let outcome = shop
        .orders
        .mediator()
        .send(order("o-2", "book", DECLINED_CARD))
        .await?;
    assert!(!outcome.confirmed);
    assert!(
        outcome
            .reason
            .as_deref()
            .is_some_and(|reason| reason.contains("declined")),
        "{outcome:?}"
    );

    let cancelled = view(&shop, "o-2", "cancelled").await?;
    assert!(
        cancelled
            .reason
            .is_some_and(|reason| reason.contains("declined"))
    );
    let released = reservation(&shop, "o-2", "released").await?;
    assert_eq!(
        (released.status.as_str(), released.available),
        ("released", STOCK_OF_A_BOOK)
    );
    // A declined card charges nothing: there is no row to wait for.
    let query = GetPayment {
        order_id: "o-2".into(),
    };
    let caller = Context::new(MessageId::next());
    let charge = send(shop.transport.as_ref(), &query, &caller)
        .await
        .unwrap_err();
    assert_eq!(charge.kind(), ErrorKind::NotFound);
    Ok(())
}

#[tokio::test]
async fn an_order_out_of_stock_is_cancelled_without_a_charge() -> catga::Result<()> {
    let (_dir, shop) = shop().await?;
    let outcome = shop
        .orders
        .mediator()
        .send(order("o-3", "sold-out", GOOD_CARD))
        .await?;
    assert!(!outcome.confirmed);
    view(&shop, "o-3", "cancelled").await?;
    assert_eq!(shop.payments.charges_handled(), 0);
    Ok(())
}

#[tokio::test]
async fn a_retried_order_answers_the_first_outcome_and_charges_once() -> catga::Result<()> {
    let (_dir, shop) = shop().await?;
    let mediator = shop.orders.mediator();
    let first = mediator.send(order("o-4", "book", GOOD_CARD)).await?;
    let (retried, concurrent) = tokio::join!(
        mediator.send(order("o-4", "book", GOOD_CARD)),
        mediator.send(order("o-4", "book", GOOD_CARD)),
    );
    assert_eq!(retried?, first);
    assert_eq!(concurrent?, first);
    assert_eq!(shop.payments.charges_handled(), 1);
    let shipped = reservation(&shop, "o-4", "shipped").await?;
    assert_eq!(shipped.available, STOCK_OF_A_BOOK - 2);
    Ok(())
}

#[tokio::test]
async fn the_gateway_places_an_order_and_reads_it_over_http() -> catga::Result<()> {
    let (_dir, shop) = shop().await?;
    let listener = shop::process::listen("127.0.0.1:0").await?;
    let addr = listener
        .local_addr()
        .map_err(|error| Error::internal(error.to_string()))?;
    let gateway = tokio::spawn(axum::serve(listener, shop.orders.router()).into_future());
    let client = reqwest::Client::new();
    let http = |error: reqwest::Error| Error::unavailable(error.to_string());

    let placed = client
        .post(format!("http://{addr}/orders"))
        .header("content-type", "application/json")
        .body(r#"{"order_id":"o-5","sku":"lamp","quantity":1,"amount_cents":4500,"card":"4242-4242-4242-4242"}"#)
        .send()
        .await
        .map_err(http)?;
    assert_eq!(placed.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&placed.text().await.map_err(http)?)
        .map_err(|error| Error::internal(error.to_string()))?;
    assert_eq!(body["confirmed"], true);

    view(&shop, "o-5", "confirmed").await?;
    let read = client
        .get(format!("http://{addr}/orders/o-5"))
        .send()
        .await
        .map_err(http)?;
    assert_eq!(read.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&read.text().await.map_err(http)?)
        .map_err(|error| Error::internal(error.to_string()))?;
    assert_eq!(body["status"], "confirmed");
    gateway.abort();
    Ok(())
}
