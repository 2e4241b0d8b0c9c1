//! The three services in one process over [`MemoryTransport`]: what the tests and the benches
//! run, the same wiring the binaries run over NATS.

use std::path::Path;
use std::sync::Arc;

use catga::transport::{MemoryTransport, Transport};
use tokio::task::JoinHandle;

use crate::inventory::Inventory;
use crate::orders::Orders;
use crate::payments::Payments;

/// The shop's services, serving each other until dropped.
#[derive(Debug)]
pub struct InProcessShop {
    pub orders: Orders,
    pub payments: Payments,
    pub inventory: Inventory,
    pub transport: Arc<dyn Transport>,
    serving: Vec<JoinHandle<catga::Result<()>>>,
}

impl InProcessShop {
    /// Opens the services' SQLite files in `dir` and starts serving them.
    pub async fn start(dir: &Path) -> catga::Result<InProcessShop> {
        let transport: Arc<dyn Transport> = Arc::new(MemoryTransport::new());
        let payments = Payments::open(dir.join("payments.db")).await?;
        let inventory = Inventory::open(dir.join("inventory.db")).await?;
        let orders = Orders::open(dir.join("orders.db"), Arc::clone(&transport)).await?;
        let serving = vec![
            tokio::spawn(payments.clone().serve(Arc::clone(&transport))),
            tokio::spawn(inventory.clone().serve(Arc::clone(&transport))),
            tokio::spawn(orders.clone().serve(Arc::clone(&transport))),
        ];
        Ok(InProcessShop {
            orders,
            payments,
            inventory,
            transport,
            serving,
        })
    }
}

impl Drop for InProcessShop {
    fn drop(&mut self) {
        for task in &self.serving {
            task.abort();
        }
    }
}
