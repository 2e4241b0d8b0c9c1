//! An order was confirmed: the `OrderConfirmed` event, exported to other services.

use catga::prelude::*;

/// Order `order_id` has its stock and its payment: inventory ships it and payments captures
/// the charge. Published by the saga's last step.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
pub struct OrderConfirmed {
    pub order_id: String,
}
