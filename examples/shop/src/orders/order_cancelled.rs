//! An order was cancelled: the `OrderCancelled` event, exported to other services.

use catga::prelude::*;

/// Order `order_id` failed and everything its saga did was undone. Published by the
/// compensation of the saga's first step, the last to run.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
pub struct OrderCancelled {
    pub order_id: String,
    pub reason: String,
}
