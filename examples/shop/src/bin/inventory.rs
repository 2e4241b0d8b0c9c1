//! The inventory service, over NATS JetStream (`CATGA_NATS_URL`). See `shop::process::Settings`.

use catga_ops::Health;
use shop::inventory::Inventory;
use shop::process::{Settings, serve_ops};

#[tokio::main]
async fn main() -> catga::Result<()> {
    let settings = Settings::from_env("inventory")?;
    let health = Health::new();
    serve_ops(settings.ops_addr, health.clone()).await?;
    let transport = settings.connect().await?;
    let inventory = Inventory::open(&settings.database).await?;
    health.transport("nats", transport.clone());
    println!("inventory serves on {}", settings.nats_url);
    inventory.serve(transport).await
}
