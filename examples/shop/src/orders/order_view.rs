//! The order view: a projection of the order events into the `order_view` table, which
//! `GetOrder` reads.
//!
//! Events of different types reach the consumer in no fixed order (a confirmation may arrive
//! before the placement), so each write keeps the final status once one is recorded.

use catga::transport::Routes;
use catga_sqlite::prelude::*;

use super::order_cancelled::OrderCancelled;
use super::order_confirmed::OrderConfirmed;
use super::order_placed::OrderPlaced;

/// The view's table, created at start-up.
pub const TABLES: &str = "
    CREATE TABLE IF NOT EXISTS order_view (
        order_id TEXT PRIMARY KEY NOT NULL,
        status TEXT NOT NULL,
        sku TEXT,
        quantity INTEGER,
        amount_cents INTEGER,
        reason TEXT
    );
";

/// An order's status in the view.
pub mod status {
    /// Accepted; its saga is running.
    pub const PLACED: &str = "placed";
    /// Stock reserved and payment taken.
    pub const CONFIRMED: &str = "confirmed";
    /// Failed, and everything undone.
    pub const CANCELLED: &str = "cancelled";
}

/// The consumer's routes: each order event written into the view, exactly once.
pub fn routes() -> Routes {
    Routes::new()
        .projection(|event: &OrderPlaced, tx| {
            tx.execute(
                "INSERT INTO order_view (order_id, status, sku, quantity, amount_cents)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (order_id) DO UPDATE SET
                     sku = excluded.sku, quantity = excluded.quantity,
                     amount_cents = excluded.amount_cents",
                (
                    &event.order_id,
                    status::PLACED,
                    &event.sku,
                    event.quantity,
                    event.amount_cents,
                ),
            )?;
            Ok(())
        })
        .projection(|event: &OrderConfirmed, tx| {
            tx.execute(
                "INSERT INTO order_view (order_id, status) VALUES (?1, ?2)
                 ON CONFLICT (order_id) DO UPDATE SET status = excluded.status",
                (&event.order_id, status::CONFIRMED),
            )?;
            Ok(())
        })
        .projection(|event: &OrderCancelled, tx| {
            tx.execute(
                "INSERT INTO order_view (order_id, status, reason) VALUES (?1, ?2, ?3)
                 ON CONFLICT (order_id) DO UPDATE SET
                     status = excluded.status, reason = excluded.reason",
                (&event.order_id, status::CANCELLED, &event.reason),
            )?;
            Ok(())
        })
}
