//! Finishing the orders a stop interrupted: the `ResumeOrders` command and its handler.

use std::sync::Arc;

use catga::prelude::*;

use super::place_order_saga::PlaceOrderSaga;

/// Drives every place-order saga left running or compensating (by a crash or a stop) to its
/// end, and answers how many there were. Sent once at start-up, before taking new orders.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = usize)]
pub struct ResumeOrders;

/// Handles [`ResumeOrders`] with the saga runner the orders run on.
#[derive(Debug)]
pub struct ResumeOrdersHandler {
    runner: SagaRunner,
    saga: Arc<PlaceOrderSaga>,
}

impl ResumeOrdersHandler {
    pub fn new(runner: SagaRunner, saga: Arc<PlaceOrderSaga>) -> Self {
        ResumeOrdersHandler { runner, saga }
    }
}

impl Handler<ResumeOrders> for ResumeOrdersHandler {
    async fn handle(&self, _command: ResumeOrders, ctx: &Context) -> catga::Result<usize> {
        let resumed = self.runner.resume_pending(self.saga.as_ref(), ctx).await?;
        Ok(resumed.len())
    }
}
