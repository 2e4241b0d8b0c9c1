//! The inventory service: reserves stock for orders and releases it when an order is cancelled;
//! ships the reservation when the order is confirmed.

pub mod get_reservation;
pub mod release_stock;
pub mod reserve_stock;

use std::path::Path;
use std::sync::Arc;

use catga::prelude::*;
use catga::transport::{Routes, Transport};
use catga_sqlite::prelude::*;

use crate::orders::order_confirmed::OrderConfirmed;

/// This service's name on the broker: its consumer group and its queue group.
pub const SERVICE: &str = "inventory";

/// The tables, and the catalogue a fresh inventory starts with: two items in (practically)
/// endless supply and one sold out.
const TABLES: &str = "
    CREATE TABLE IF NOT EXISTS stock (
        sku TEXT PRIMARY KEY NOT NULL,
        available INTEGER NOT NULL CHECK (available >= 0)
    );
    CREATE TABLE IF NOT EXISTS reservations (
        order_id TEXT PRIMARY KEY NOT NULL,
        sku TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        status TEXT NOT NULL
    );
    INSERT OR IGNORE INTO stock (sku, available)
        VALUES ('book', 1000000000), ('lamp', 1000000000), ('sold-out', 0);
";

/// A reservation's status, as stored.
pub mod status {
    /// Taken from the stock, waiting for the order's outcome.
    pub const RESERVED: &str = "reserved";
    /// Given back to the stock (or refused in advance, when the release came first).
    pub const RELEASED: &str = "released";
    /// The order was confirmed: the goods are on their way.
    pub const SHIPPED: &str = "shipped";
}

/// The inventory service over its SQLite file.
#[derive(Debug, Clone)]
pub struct Inventory {
    mediator: Mediator,
    inbox: SqliteInbox,
}

impl Inventory {
    /// Opens the service's state in the SQLite file at `path`.
    pub async fn open(path: impl AsRef<Path>) -> catga::Result<Inventory> {
        let path = path.as_ref();
        let reader = SqliteReader::open(path, TABLES).await?;
        let (idempotency, outbox) = SqliteIdempotencyStore::open_with_outbox(path).await?;
        let inbox = SqliteInbox::open(path).await?;
        let mediator = Mediator::builder()
            .handler(reserve_stock::ReserveStockHandler)
            .handler(release_stock::ReleaseStockHandler)
            .handler(get_reservation::GetReservationHandler::new(reader))
            .idempotency_store(idempotency)
            // Commands write their rows with `ctx.commit`, a transaction on the outbox's file.
            .outbox(outbox)
            .behavior(Metrics::new())
            .behavior(Validation)
            .build()?;
        Ok(Inventory { mediator, inbox })
    }

    /// The service's mediator.
    pub fn mediator(&self) -> &Mediator {
        &self.mediator
    }

    /// The requests this service answers for others.
    pub fn requests() -> Routes {
        Routes::new()
            .request::<reserve_stock::ReserveStock>()
            .request::<release_stock::ReleaseStock>()
            .request::<get_reservation::GetReservation>()
    }

    /// The events it consumes: a confirmed order ships its reservation, exactly once.
    pub fn events() -> Routes {
        Routes::new().projection(|event: &OrderConfirmed, tx| {
            tx.execute(
                "UPDATE reservations SET status = ?2 WHERE order_id = ?1 AND status = ?3",
                (&event.order_id, status::SHIPPED, status::RESERVED),
            )?;
            Ok(())
        })
    }

    /// Serves [`Inventory::requests`] and consumes [`Inventory::events`] until the transport
    /// fails.
    pub async fn serve(self, transport: Arc<dyn Transport>) -> catga::Result<()> {
        crate::process::serve_group(
            transport,
            SERVICE,
            Self::requests(),
            Self::events(),
            self.mediator,
            self.inbox,
        )
        .await
    }
}
