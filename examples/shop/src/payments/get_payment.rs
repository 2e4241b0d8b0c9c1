//! Reading an order's payment: the `GetPayment` query and its handler.

use catga::prelude::*;
use catga_sqlite::SqliteReader;
use rusqlite::OptionalExtension;

/// Order `order_id`'s charge; fails with `ErrorKind::NotFound` when it has none.
#[derive(Debug, Clone, Serialize, Deserialize, Query)]
#[query(response = Payment)]
pub struct GetPayment {
    pub order_id: String,
}

/// One order's charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub order_id: String,
    pub amount_cents: u64,
    /// `charged`, `refunded` or `captured` (see [`super::status`]).
    pub status: String,
}

/// Handles [`GetPayment`] from the service's tables.
#[derive(Debug)]
pub struct GetPaymentHandler {
    reader: SqliteReader,
}

impl GetPaymentHandler {
    pub fn new(reader: SqliteReader) -> Self {
        GetPaymentHandler { reader }
    }
}

impl Handler<GetPayment> for GetPaymentHandler {
    async fn handle(&self, query: GetPayment, _ctx: &Context) -> catga::Result<Payment> {
        let order_id = query.order_id.clone();
        self.reader
            .read(move |db| {
                let found = db
                    .query_row(
                        "SELECT amount_cents, status FROM charges WHERE order_id = ?1",
                        [&order_id],
                        |row| {
                            Ok(Payment {
                                order_id: order_id.clone(),
                                amount_cents: row.get(0)?,
                                status: row.get(1)?,
                            })
                        },
                    )
                    .optional()?;
                Ok(found)
            })
            .await?
            .ok_or_else(|| Error::not_found(format!("order {} has no payment", query.order_id)))
    }
}
