//! Reserving stock for an order: the `ReserveStock` command and its handler.

use catga::prelude::*;
use catga_sqlite::prelude::*;
use rusqlite::OptionalExtension;

use super::status;

/// Takes `quantity` of `sku` from the stock for order `order_id`. Fails with
/// `ErrorKind::Conflict` when there is not enough, or when the order's reservation was already
/// released (a release that overtook this request).
///
/// Idempotent by order: sent again (a retry after a timeout), it reserves nothing more.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = (), idempotent)]
pub struct ReserveStock {
    #[idempotency_key]
    pub order_id: String,
    pub sku: String,
    pub quantity: u32,
}

impl Validate for ReserveStock {
    fn validate(&self) -> catga::Result<()> {
        if self.quantity == 0 {
            return Err(Error::invalid_field("quantity", "must be at least 1"));
        }
        Ok(())
    }
}

/// Handles [`ReserveStock`] in one transaction: the stock goes down as the reservation is
/// written, or neither happens.
#[derive(Debug)]
pub struct ReserveStockHandler;

impl Handler<ReserveStock> for ReserveStockHandler {
    async fn handle(&self, command: ReserveStock, ctx: &Context) -> catga::Result<()> {
        ctx.commit(move |tx| {
            let existing: Option<String> = tx
                .query_row(
                    "SELECT status FROM reservations WHERE order_id = ?1",
                    [&command.order_id],
                    |row| row.get(0),
                )
                .optional()?;
            match existing.as_deref() {
                // Reserved by an earlier attempt whose idempotency record was not stored.
                Some(status::RESERVED | status::SHIPPED) => return Ok(()),
                Some(_) => {
                    return Err(Error::conflict(format!(
                        "order {}'s reservation was released",
                        command.order_id
                    ))
                    .into());
                }
                None => {}
            }
            let taken = tx.execute(
                "UPDATE stock SET available = available - ?2 WHERE sku = ?1 AND available >= ?2",
                (&command.sku, command.quantity),
            )?;
            if taken == 0 {
                return Err(Error::conflict(format!(
                    "not enough `{}` in stock for {}",
                    command.sku, command.quantity
                ))
                .into());
            }
            tx.execute(
                "INSERT INTO reservations (order_id, sku, quantity, status) VALUES (?1, ?2, ?3, ?4)",
                (
                    &command.order_id,
                    &command.sku,
                    command.quantity,
                    status::RESERVED,
                ),
            )?;
            Ok(())
        })
        .await
    }
}
