//! Reading an order's reservation: the `GetReservation` query and its handler.

use catga::prelude::*;
use catga_sqlite::SqliteReader;
use rusqlite::OptionalExtension;

/// Order `order_id`'s reservation; fails with `ErrorKind::NotFound` when it has none.
#[derive(Debug, Clone, Serialize, Deserialize, Query)]
#[query(response = Reservation)]
pub struct GetReservation {
    pub order_id: String,
}

/// One order's reservation, and how much of its item is left in stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub order_id: String,
    pub sku: String,
    pub quantity: u32,
    /// `reserved`, `released` or `shipped` (see [`super::status`]).
    pub status: String,
    pub available: i64,
}

/// Handles [`GetReservation`] from the service's tables.
#[derive(Debug)]
pub struct GetReservationHandler {
    reader: SqliteReader,
}

impl GetReservationHandler {
    pub fn new(reader: SqliteReader) -> Self {
        GetReservationHandler { reader }
    }
}

impl Handler<GetReservation> for GetReservationHandler {
    async fn handle(&self, query: GetReservation, _ctx: &Context) -> catga::Result<Reservation> {
        let order_id = query.order_id.clone();
        self.reader
            .read(move |db| {
                let found = db
                    .query_row(
                        "SELECT r.sku, r.quantity, r.status, COALESCE(s.available, 0) \
                         FROM reservations r LEFT JOIN stock s ON s.sku = r.sku \
                         WHERE r.order_id = ?1",
                        [&order_id],
                        |row| {
                            Ok(Reservation {
                                order_id: order_id.clone(),
                                sku: row.get(0)?,
                                quantity: row.get(1)?,
                                status: row.get(2)?,
                                available: row.get(3)?,
                            })
                        },
                    )
                    .optional()?;
                Ok(found)
            })
            .await?
            .ok_or_else(|| Error::not_found(format!("order {} has no reservation", query.order_id)))
    }
}
