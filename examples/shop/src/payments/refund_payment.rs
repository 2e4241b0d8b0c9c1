//! Refunding an order: the `RefundPayment` command and its handler.

use catga::prelude::*;
use catga_sqlite::prelude::*;
use rusqlite::OptionalExtension;

use super::status;

/// Gives order `order_id`'s charge back. An order without a charge is marked refunded all the
/// same, so a charge request still on its way is refused when it arrives. Fails with
/// `ErrorKind::Conflict` for a captured charge.
///
/// Idempotent by order: refunding twice refunds once.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = (), idempotent)]
pub struct RefundPayment {
    #[idempotency_key]
    pub order_id: String,
}

/// Handles [`RefundPayment`] in one transaction.
#[derive(Debug)]
pub struct RefundPaymentHandler;

impl Handler<RefundPayment> for RefundPaymentHandler {
    async fn handle(&self, command: RefundPayment, ctx: &Context) -> catga::Result<()> {
        ctx.commit(move |tx| {
            let existing: Option<String> = tx
                .query_row(
                    "SELECT status FROM charges WHERE order_id = ?1",
                    [&command.order_id],
                    |row| row.get(0),
                )
                .optional()?;
            match existing.as_deref() {
                Some(status::CAPTURED) => Err(Error::conflict(format!(
                    "order {}'s charge is captured; it cannot be refunded",
                    command.order_id
                ))
                .into()),
                Some(status::REFUNDED) => Ok(()),
                Some(_) => {
                    tx.execute(
                        "UPDATE charges SET status = ?2 WHERE order_id = ?1",
                        (&command.order_id, status::REFUNDED),
                    )?;
                    Ok(())
                }
                None => {
                    tx.execute(
                        "INSERT INTO charges (order_id, amount_cents, status) VALUES (?1, 0, ?2)",
                        (&command.order_id, status::REFUNDED),
                    )?;
                    Ok(())
                }
            }
        })
        .await
    }
}
