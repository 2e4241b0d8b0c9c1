//! The shop's benchmark scenarios: `catga bench` measures them beside catga's reference
//! baselines, and `catga bench --compare baseline.json` tells a regression from noise. All
//! three services run in this process over the in-memory transport, on SQLite files in a
//! temporary directory.

use std::sync::atomic::{AtomicU64, Ordering};

use catga::prelude::*;
use catga_bench::{Group, Scenario, Workload};
use shop::in_process::InProcessShop;
use shop::orders::get_order::GetOrder;
use shop::orders::place_order::PlaceOrder;
use shop::payments::DECLINED_CARD;

/// Counts allocations, for the report's allocations per operation.
#[global_allocator]
static ALLOCATOR: catga_bench::CountingAllocator = catga_bench::CountingAllocator;

fn main() -> std::process::ExitCode {
    catga_bench::project::main(scenarios())
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new("place_order_confirmed", Group::Project, || async {
            PlaceOrders::start("4242-4242-4242-4242").await
        }),
        Scenario::new("place_order_declined", Group::Project, || async {
            PlaceOrders::start(DECLINED_CARD).await
        }),
        Scenario::new("get_order", Group::Project, || async {
            GetOneOrder::start().await
        }),
    ]
}

/// A fresh shop in a temporary directory; building it can only fail on a wiring mistake or a
/// full disk.
async fn shop() -> (tempfile::TempDir, InProcessShop) {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("no temporary directory for the bench: {error}"),
    };
    match InProcessShop::start(dir.path()).await {
        Ok(shop) => (dir, shop),
        Err(error) => panic!("the shop does not start: {error}"),
    }
}

fn order(order_id: String, card: &str) -> PlaceOrder {
    PlaceOrder {
        order_id,
        sku: "book".into(),
        quantity: 1,
        amount_cents: 1_999,
        card: card.into(),
    }
}

/// Places a new order per operation, through the whole saga; confirmed or, with the declined
/// card, compensated.
struct PlaceOrders {
    shop: InProcessShop,
    card: &'static str,
    next_order: AtomicU64,
    _dir: tempfile::TempDir,
}

impl PlaceOrders {
    async fn start(card: &'static str) -> Self {
        let (dir, shop) = shop().await;
        PlaceOrders {
            shop,
            card,
            next_order: AtomicU64::new(0),
            _dir: dir,
        }
    }
}

impl Workload for PlaceOrders {
    async fn op(&self) -> catga::Result<()> {
        let n = self.next_order.fetch_add(1, Ordering::Relaxed);
        let placed = order(format!("bench-{n}"), self.card);
        self.shop.orders.mediator().send(placed).await.map(drop)
    }
}

/// Reads one order from the view.
struct GetOneOrder {
    shop: InProcessShop,
    _dir: tempfile::TempDir,
}

impl GetOneOrder {
    async fn start() -> Self {
        let (dir, shop) = shop().await;
        if let Err(error) = shop
            .orders
            .mediator()
            .send(order("bench".into(), "4242-4242-4242-4242"))
            .await
        {
            panic!("the bench setup cannot place its order: {error}");
        }
        // The view follows the events: wait until it has the order.
        loop {
            match shop
                .orders
                .mediator()
                .send(GetOrder { id: "bench".into() })
                .await
            {
                Ok(_) => break,
                Err(error) if error.kind() == ErrorKind::NotFound => {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                Err(error) => panic!("the bench setup cannot read its order: {error}"),
            }
        }
        GetOneOrder { shop, _dir: dir }
    }
}

impl Workload for GetOneOrder {
    async fn op(&self) -> catga::Result<()> {
        let query = GetOrder { id: "bench".into() };
        self.shop.orders.mediator().send(query).await.map(drop)
    }
}
