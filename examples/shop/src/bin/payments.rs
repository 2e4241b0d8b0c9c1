//! The payments service, over NATS JetStream (`CATGA_NATS_URL`). See `shop::process::Settings`.

use catga_ops::Health;
use shop::payments::Payments;
use shop::process::{Settings, serve_ops};

#[tokio::main]
async fn main() -> catga::Result<()> {
    let settings = Settings::from_env("payments")?;
    let health = Health::new();
    serve_ops(settings.ops_addr, health.clone()).await?;
    let transport = settings.connect().await?;
    let payments = Payments::open(&settings.database).await?;
    health.transport("nats", transport.clone());
    println!("payments serves on {}", settings.nats_url);
    payments.serve(transport).await
}
