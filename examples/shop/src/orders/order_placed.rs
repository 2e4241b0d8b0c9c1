//! An order was accepted: the `OrderPlaced` event, exported to other services.

use catga::prelude::*;

/// Order `order_id` was accepted and its saga started. Published by the saga's first step;
/// the order view records it (see [`super::order_view`]).
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
pub struct OrderPlaced {
    pub order_id: String,
    pub sku: String,
    pub quantity: u32,
    pub amount_cents: u64,
}
