//! Reading an order: the `GetOrder` query and its handler, over the order view.

use catga::prelude::*;
use catga_sqlite::SqliteReader;
use rusqlite::OptionalExtension;

/// Order `id` as the view has it; fails with `ErrorKind::NotFound` until the view has recorded
/// it (the view follows the events, a moment after the order is placed).
#[derive(Debug, Clone, Serialize, Deserialize, Query)]
#[query(response = OrderView)]
pub struct GetOrder {
    pub id: String,
}

/// One order in the view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub order_id: String,
    /// `placed`, `confirmed` or `cancelled` (see [`super::order_view::status`]).
    pub status: String,
    pub sku: Option<String>,
    pub quantity: Option<u32>,
    pub amount_cents: Option<u64>,
    /// Why a cancelled order failed.
    pub reason: Option<String>,
}

/// Handles [`GetOrder`] from the order view.
#[derive(Debug)]
pub struct GetOrderHandler {
    reader: SqliteReader,
}

impl GetOrderHandler {
    pub fn new(reader: SqliteReader) -> Self {
        GetOrderHandler { reader }
    }
}

impl Handler<GetOrder> for GetOrderHandler {
    async fn handle(&self, query: GetOrder, _ctx: &Context) -> catga::Result<OrderView> {
        let order_id = query.id.clone();
        self.reader
            .read(move |db| {
                let found = db
                    .query_row(
                        "SELECT status, sku, quantity, amount_cents, reason \
                         FROM order_view WHERE order_id = ?1",
                        [&order_id],
                        |row| {
                            Ok(OrderView {
                                order_id: order_id.clone(),
                                status: row.get(0)?,
                                sku: row.get(1)?,
                                quantity: row.get(2)?,
                                amount_cents: row.get(3)?,
                                reason: row.get(4)?,
                            })
                        },
                    )
                    .optional()?;
                Ok(found)
            })
            .await?
            .ok_or_else(|| Error::not_found(format!("no order {}", query.id)))
    }
}
