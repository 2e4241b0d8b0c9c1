//! The orders service with its HTTP gateway (`SHOP_HTTP_ADDR`, by default 127.0.0.1:8080),
//! over NATS JetStream (`CATGA_NATS_URL`). See `shop::process::Settings` for the rest.

use catga_ops::Health;
use shop::orders::Orders;
use shop::process::{Settings, listen, serve_ops};

/// The gateway's address, unless `SHOP_HTTP_ADDR` names another.
const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8080";

/// How many undelivered events the outbox may hold before the service reports itself not ready.
const MAX_PENDING_EVENTS: usize = 10_000;

#[tokio::main]
async fn main() -> catga::Result<()> {
    let settings = Settings::from_env("orders")?;
    let http_addr =
        std::env::var("SHOP_HTTP_ADDR").unwrap_or_else(|_| DEFAULT_HTTP_ADDR.to_string());
    let health = Health::new();
    serve_ops(settings.ops_addr, health.clone()).await?;
    let transport = settings.connect().await?;
    let orders = Orders::open(&settings.database, transport.clone()).await?;
    let resumed = orders.resume().await?;
    health.transport("nats", transport.clone());
    health.outbox("outbox", orders.outbox().clone(), MAX_PENDING_EVENTS);
    let router = orders.router();
    let serving = tokio::spawn(orders.serve(transport));
    health.task("outbox dispatcher and order view", serving.abort_handle());
    let listener = listen(&http_addr).await?;
    println!("orders serves http://{http_addr} ({resumed} interrupted orders finished)");
    axum::serve(listener, router)
        .await
        .map_err(|error| catga::Error::internal(format!("the HTTP server stopped: {error}")))
}
