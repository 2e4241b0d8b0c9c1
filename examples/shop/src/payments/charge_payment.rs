//! Charging an order: the `ChargePayment` command and its handler.

use catga::prelude::*;
use catga_sqlite::prelude::*;
use rusqlite::OptionalExtension;

use super::{DECLINED_CARD, status};

/// Charges `amount_cents` to `card` for order `order_id`. A declined card fails with
/// `ErrorKind::Validation` and charges nothing; an order refunded before its charge arrived
/// fails with `ErrorKind::Conflict`.
///
/// Idempotent by order: sent again (a retry after a timeout), it charges nothing more.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = (), idempotent)]
pub struct ChargePayment {
    #[idempotency_key]
    pub order_id: String,
    pub amount_cents: u64,
    pub card: String,
}

impl Validate for ChargePayment {
    fn validate(&self) -> catga::Result<()> {
        if self.amount_cents == 0 {
            return Err(Error::invalid_field(
                "amount_cents",
                "must be greater than zero",
            ));
        }
        Ok(())
    }
}

/// Handles [`ChargePayment`]: one row per order, written in one transaction.
#[derive(Debug)]
pub struct ChargePaymentHandler;

impl Handler<ChargePayment> for ChargePaymentHandler {
    async fn handle(&self, command: ChargePayment, ctx: &Context) -> catga::Result<()> {
        if command.card == DECLINED_CARD {
            return Err(Error::validation(format!(
                "card declined for order {}",
                command.order_id
            )));
        }
        ctx.commit(move |tx| {
            let existing: Option<String> = tx
                .query_row(
                    "SELECT status FROM charges WHERE order_id = ?1",
                    [&command.order_id],
                    |row| row.get(0),
                )
                .optional()?;
            match existing.as_deref() {
                // Charged by an earlier attempt whose idempotency record was not stored.
                Some(status::CHARGED | status::CAPTURED) => Ok(()),
                Some(_) => Err(Error::conflict(format!(
                    "order {} was refunded before its charge arrived",
                    command.order_id
                ))
                .into()),
                None => {
                    tx.execute(
                        "INSERT INTO charges (order_id, amount_cents, status) VALUES (?1, ?2, ?3)",
                        (&command.order_id, command.amount_cents, status::CHARGED),
                    )?;
                    Ok(())
                }
            }
        })
        .await
    }
}
