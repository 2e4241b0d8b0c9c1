//! Placing an order: the `PlaceOrder` command and its handler, which runs the place-order saga.

use std::sync::Arc;

use catga::prelude::*;
use catga::saga::SagaFailure;

use super::place_order_saga::{PlaceOrderSaga, PlaceOrderState};

/// Places order `order_id` and answers how it ended: confirmed (stock reserved, payment
/// charged) or cancelled (a step failed and everything was undone).
///
/// Idempotent: sent again with the same `order_id`, it answers the first outcome without
/// running the saga again, so a client may retry after a timeout without being charged twice.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = OrderOutcome, idempotent)]
pub struct PlaceOrder {
    /// Chosen by the client: one per order it means to place.
    #[idempotency_key]
    pub order_id: String,
    pub sku: String,
    pub quantity: u32,
    pub amount_cents: u64,
    pub card: String,
}

impl Validate for PlaceOrder {
    fn validate(&self) -> catga::Result<()> {
        if self.order_id.trim().is_empty() {
            return Err(Error::invalid_field("order_id", "must not be empty"));
        }
        if self.quantity == 0 {
            return Err(Error::invalid_field("quantity", "must be at least 1"));
        }
        if self.amount_cents == 0 {
            return Err(Error::invalid_field(
                "amount_cents",
                "must be greater than zero",
            ));
        }
        Ok(())
    }
}

/// How an order ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderOutcome {
    pub order_id: String,
    pub confirmed: bool,
    /// Why a cancelled order failed.
    pub reason: Option<String>,
}

/// Handles [`PlaceOrder`] by running the saga to its end.
#[derive(Debug)]
pub struct PlaceOrderHandler {
    runner: SagaRunner,
    saga: Arc<PlaceOrderSaga>,
}

impl PlaceOrderHandler {
    pub fn new(runner: SagaRunner, saga: Arc<PlaceOrderSaga>) -> Self {
        PlaceOrderHandler { runner, saga }
    }
}

impl Handler<PlaceOrder> for PlaceOrderHandler {
    async fn handle(&self, command: PlaceOrder, ctx: &Context) -> catga::Result<OrderOutcome> {
        let order_id = command.order_id.clone();
        let state = PlaceOrderState {
            order_id: command.order_id,
            sku: command.sku,
            quantity: command.quantity,
            amount_cents: command.amount_cents,
            card: command.card,
            failure: None,
        };
        // Detached: a caller that stops waiting (a closed HTTP connection drops this future)
        // must not leave the order half-way, and an order whose saga exists already (its
        // idempotency record was lost, or a retry arrived while it ran) is carried on to its
        // outcome rather than started again.
        let ended = self
            .runner
            .run_detached(Arc::clone(&self.saga), &order_id, state, ctx)
            .await;
        match ended {
            Ok(_) => Ok(OrderOutcome {
                order_id,
                confirmed: true,
                reason: None,
            }),
            Err(error) => match SagaFailure::of(&error) {
                Some(failure) if failure.compensated() => Ok(OrderOutcome {
                    order_id,
                    confirmed: false,
                    reason: Some(failure.failed_step.message.clone()),
                }),
                _ => Err(error),
            },
        }
    }
}
