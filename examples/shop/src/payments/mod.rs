//! The payments service: charges and refunds orders, and captures a charge once its order is
//! confirmed.

pub mod charge_payment;
pub mod get_payment;
pub mod refund_payment;

use std::path::Path;
use std::sync::Arc;

use catga::prelude::*;
use catga::transport::{Routes, Transport};
use catga_sqlite::prelude::*;

use crate::orders::order_confirmed::OrderConfirmed;

/// This service's name on the broker: its consumer group and its queue group.
pub const SERVICE: &str = "payments";

/// The card number the payment provider always declines (as card networks' test numbers do).
pub const DECLINED_CARD: &str = "4000-0000-0000-0002";

const TABLES: &str = "
    CREATE TABLE IF NOT EXISTS charges (
        order_id TEXT PRIMARY KEY NOT NULL,
        amount_cents INTEGER NOT NULL,
        status TEXT NOT NULL
    );
";

/// A charge's status, as stored.
pub mod status {
    /// The money is held, waiting for the order's outcome.
    pub const CHARGED: &str = "charged";
    /// Given back (or refused in advance, when the refund came first).
    pub const REFUNDED: &str = "refunded";
    /// The order was confirmed: the money is taken.
    pub const CAPTURED: &str = "captured";
}

/// The payments service over its SQLite file.
#[derive(Debug, Clone)]
pub struct Payments {
    mediator: Mediator,
    inbox: SqliteInbox,
    metrics: Metrics,
}

impl Payments {
    /// Opens the service's state in the SQLite file at `path`.
    pub async fn open(path: impl AsRef<Path>) -> catga::Result<Payments> {
        let path = path.as_ref();
        let reader = SqliteReader::open(path, TABLES).await?;
        let (idempotency, outbox) = SqliteIdempotencyStore::open_with_outbox(path).await?;
        let inbox = SqliteInbox::open(path).await?;
        let metrics = Metrics::new();
        let mediator = Mediator::builder()
            .handler(charge_payment::ChargePaymentHandler)
            .handler(refund_payment::RefundPaymentHandler)
            .handler(get_payment::GetPaymentHandler::new(reader))
            .idempotency_store(idempotency)
            // Commands write their rows with `ctx.commit`, a transaction on the outbox's file.
            .outbox(outbox)
            .behavior(metrics.clone())
            .behavior(Validation)
            .build()?;
        Ok(Payments {
            mediator,
            inbox,
            metrics,
        })
    }

    /// The service's mediator.
    pub fn mediator(&self) -> &Mediator {
        &self.mediator
    }

    /// How many times a charge was handled (a repeat answered from the idempotency records is
    /// not handled again).
    pub fn charges_handled(&self) -> u64 {
        self.metrics
            .counts(charge_payment::ChargePayment::NAME)
            .started
    }

    /// The requests this service answers for others.
    pub fn requests() -> Routes {
        Routes::new()
            .request::<charge_payment::ChargePayment>()
            .request::<refund_payment::RefundPayment>()
            .request::<get_payment::GetPayment>()
    }

    /// The events it consumes: a confirmed order captures its charge, exactly once.
    pub fn events() -> Routes {
        Routes::new().projection(|event: &OrderConfirmed, tx| {
            tx.execute(
                "UPDATE charges SET status = ?2 WHERE order_id = ?1 AND status = ?3",
                (&event.order_id, status::CAPTURED, status::CHARGED),
            )?;
            Ok(())
        })
    }

    /// Serves [`Payments::requests`] and consumes [`Payments::events`] until the transport
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
