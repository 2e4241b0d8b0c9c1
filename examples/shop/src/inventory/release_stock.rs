//! Releasing an order's stock: the `ReleaseStock` command and its handler.

use catga::prelude::*;
use catga_sqlite::prelude::*;
use rusqlite::OptionalExtension;

use super::status;

/// Gives order `order_id`'s reservation back to the stock. An order without a reservation is
/// marked released all the same, so a reservation request still on its way is refused when it
/// arrives. Fails with `ErrorKind::Conflict` for a shipped order.
///
/// Idempotent by order: releasing twice releases once.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = (), idempotent)]
pub struct ReleaseStock {
    #[idempotency_key]
    pub order_id: String,
}

/// Handles [`ReleaseStock`] in one transaction with the stock it gives back.
#[derive(Debug)]
pub struct ReleaseStockHandler;

impl Handler<ReleaseStock> for ReleaseStockHandler {
    async fn handle(&self, command: ReleaseStock, ctx: &Context) -> catga::Result<()> {
        ctx.commit(move |tx| {
            let existing: Option<(String, String, u32)> = tx
                .query_row(
                    "SELECT status, sku, quantity FROM reservations WHERE order_id = ?1",
                    [&command.order_id],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            match existing {
                Some((reserved, sku, quantity)) if reserved == status::RESERVED => {
                    tx.execute(
                        "UPDATE stock SET available = available + ?2 WHERE sku = ?1",
                        (&sku, quantity),
                    )?;
                    tx.execute(
                        "UPDATE reservations SET status = ?2 WHERE order_id = ?1",
                        (&command.order_id, status::RELEASED),
                    )?;
                }
                Some((shipped, _, _)) if shipped == status::SHIPPED => {
                    return Err(Error::conflict(format!(
                        "order {} has shipped; its stock cannot be released",
                        command.order_id
                    ))
                    .into());
                }
                Some(_) => {}
                None => {
                    tx.execute(
                        "INSERT INTO reservations (order_id, sku, quantity, status) \
                         VALUES (?1, '', 0, ?2)",
                        (&command.order_id, status::RELEASED),
                    )?;
                }
            }
            Ok(())
        })
        .await
    }
}
