//! The place-order saga: accept the order, reserve its stock, charge its payment, confirm it.
//! A failed step undoes the completed ones in reverse order, and the order ends cancelled.

use std::sync::Arc;

use catga::prelude::*;
use catga::transport::{Transport, in_doubt};

use super::order_cancelled::OrderCancelled;
use super::order_confirmed::OrderConfirmed;
use super::order_placed::OrderPlaced;
use super::remote::call;
use crate::inventory::release_stock::ReleaseStock;
use crate::inventory::reserve_stock::ReserveStock;
use crate::payments::charge_payment::ChargePayment;
use crate::payments::refund_payment::RefundPayment;

/// What the steps need and record; saved after every step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceOrderState {
    pub order_id: String,
    pub sku: String,
    pub quantity: u32,
    pub amount_cents: u64,
    pub card: String,
    /// Why the order failed, once a step has failed.
    #[serde(default)]
    pub failure: Option<String>,
}

/// The steps, calling inventory and payments over the transport. Each call is keyed by the
/// order, so a step run again after a crash has the effect of running once.
#[derive(Debug)]
pub struct PlaceOrderSaga {
    transport: Arc<dyn Transport>,
}

impl PlaceOrderSaga {
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        PlaceOrderSaga { transport }
    }

    async fn reserve_stock(&self, order: &PlaceOrderState, ctx: &Context) -> catga::Result<()> {
        let reserve = ReserveStock {
            order_id: order.order_id.clone(),
            sku: order.sku.clone(),
            quantity: order.quantity,
        };
        match call(self.transport.as_ref(), &reserve, ctx).await {
            Err(error) if in_doubt(&error) => {
                // A failed step must leave nothing behind: the reservation may have happened.
                self.release_stock(order, ctx).await?;
                Err(error)
            }
            answer => answer,
        }
    }

    async fn release_stock(&self, order: &PlaceOrderState, ctx: &Context) -> catga::Result<()> {
        let release = ReleaseStock {
            order_id: order.order_id.clone(),
        };
        call(self.transport.as_ref(), &release, ctx).await
    }

    async fn charge_payment(&self, order: &PlaceOrderState, ctx: &Context) -> catga::Result<()> {
        let charge = ChargePayment {
            order_id: order.order_id.clone(),
            amount_cents: order.amount_cents,
            card: order.card.clone(),
        };
        match call(self.transport.as_ref(), &charge, ctx).await {
            Err(error) if in_doubt(&error) => {
                // A failed step must leave nothing behind: the charge may have happened.
                self.refund_payment(order, ctx).await?;
                Err(error)
            }
            answer => answer,
        }
    }

    async fn refund_payment(&self, order: &PlaceOrderState, ctx: &Context) -> catga::Result<()> {
        let refund = RefundPayment {
            order_id: order.order_id.clone(),
        };
        call(self.transport.as_ref(), &refund, ctx).await
    }
}

impl Saga for PlaceOrderSaga {
    type State = PlaceOrderState;
    const NAME: &'static str = "place_order";
    const STEPS: &'static [&'static str] =
        &["accept", "reserve_stock", "charge_payment", "confirm"];

    async fn execute(
        &self,
        step: usize,
        order: &mut PlaceOrderState,
        ctx: &Context,
    ) -> catga::Result<()> {
        let outcome = match step {
            0 => {
                ctx.publish(OrderPlaced {
                    order_id: order.order_id.clone(),
                    sku: order.sku.clone(),
                    quantity: order.quantity,
                    amount_cents: order.amount_cents,
                })
                .await
            }
            1 => self.reserve_stock(order, ctx).await,
            2 => self.charge_payment(order, ctx).await,
            3 => {
                ctx.publish(OrderConfirmed {
                    order_id: order.order_id.clone(),
                })
                .await
            }
            _ => Err(Error::internal(format!(
                "{} has no step {step}",
                Self::NAME
            ))),
        };
        if let Err(error) = &outcome {
            order.failure = Some(error.to_string());
        }
        outcome
    }

    async fn compensate(
        &self,
        step: usize,
        order: &mut PlaceOrderState,
        ctx: &Context,
    ) -> catga::Result<()> {
        match step {
            0 => {
                let reason = order
                    .failure
                    .clone()
                    .unwrap_or_else(|| "a later step failed".to_string());
                ctx.publish(OrderCancelled {
                    order_id: order.order_id.clone(),
                    reason,
                })
                .await
            }
            1 => self.release_stock(order, ctx).await,
            2 => self.refund_payment(order, ctx).await,
            _ => Ok(()),
        }
    }
}
