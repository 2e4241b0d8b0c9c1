//! The floor `load.sh` measures the shop against: a bare axum handler doing the same JSON work
//! as the gateway's `POST /orders` (decode the order, encode an outcome) and nothing else: no
//! mediator, no saga, no broker, no database. Listens on `SHOP_HTTP_ADDR` (127.0.0.1:8090).

use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
struct Order {
    order_id: String,
    sku: String,
    quantity: u32,
    amount_cents: u64,
    card: String,
}

#[derive(Debug, Serialize)]
struct Outcome {
    order_id: String,
    confirmed: bool,
    reason: Option<String>,
}

async fn place_order(Json(order): Json<Order>) -> Json<Outcome> {
    let confirmed = order.quantity > 0
        && order.amount_cents > 0
        && !order.sku.is_empty()
        && !order.card.is_empty();
    Json(Outcome {
        order_id: order.order_id,
        confirmed,
        reason: None,
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("SHOP_HTTP_ADDR").unwrap_or_else(|_| "127.0.0.1:8090".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("bare axum floor serves http://{addr}");
    axum::serve(listener, Router::new().route("/orders", post(place_order))).await
}
