//! Runs {{package}} as a service: it answers other services' commands and queries and applies
//! their events over NATS JetStream until stopped. The broker is `CATGA_NATS_URL`, by default
//! `nats://127.0.0.1:4222`; the tests run the same wiring over the in-memory transport.

use std::sync::Arc;

use catga_nats::{NatsOptions, NatsTransport};
use catga_sqlite::SqliteInbox;

const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

#[tokio::main]
async fn main() -> catga::Result<()> {
    let url = std::env::var("CATGA_NATS_URL").unwrap_or_else(|_| DEFAULT_NATS_URL.to_string());
    let transport = Arc::new(NatsTransport::connect(&url, NatsOptions::default()).await?);
    let inbox = SqliteInbox::open("{{package}}-inbox.db").await?;
    println!("{{package}} serves on {url}");
    {{crate}}::transport::serve(transport, {{crate}}::mediator()?, inbox).await
}
