//! Fixtures for tests of transports, consumers and traces (feature `testing`): a small billing
//! service that the runtime's tests, catga-sqlite's and catga-nats' run over their transports,
//! inboxes and outboxes. One event ([`OrderPlaced`]) and one command ([`Charge`]), the handlers
//! tests count ([`CountOrders`]) or trace ([`Bill`], [`ChargeHandler`]) with, the consumer and
//! the server of group `billing` that run them ([`billing_consumer`], [`billing_server`]), and
//! deliveries a test hands to a consumer itself, whose settlement is lost ([`delivery_of`],
//! [`LostAck`]).
//!
//! Spans as a test sees them are [`telemetry::testing`](crate::telemetry::testing).
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::Ordering;
//!
//! use catga::testing::{CountOrders, billing_consumer, delivery_of, placed};
//! use catga::transport::{Handled, MemoryTransport};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let counter = CountOrders::default();
//! let consumer = billing_consumer(Arc::new(MemoryTransport::new()), counter.clone());
//! let handled = consumer.handle(delivery_of(&placed(1), 1)).await.expect("handled");
//! assert_eq!(handled, Handled::Applied);
//! assert_eq!(counter.handled.load(Ordering::SeqCst), 1);
//! # }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::transport::{
    BoxFuture, Delivery, Envelope, EventConsumer, RequestServer, Routes, Settle, Transport,
    event_subject,
};
use crate::{Command, Context, Error, Event, EventHandler, Handler, Mediator, MessageId, Result};

/// The event of the billing fixtures: an order was placed.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
pub struct OrderPlaced {
    /// The order's number.
    pub order: u64,
}

/// An envelope of `OrderPlaced { order }`, whose message id is `order` too.
pub fn placed(order: u64) -> Envelope {
    Envelope::of(&OrderPlaced { order }, &Context::new(MessageId(order))).expect("serializes")
}

/// The command of the billing fixtures, answered by [`ChargeHandler`].
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u64)]
pub struct Charge {
    /// The amount to charge.
    pub cents: u64,
}

/// Counts handled [`OrderPlaced`] events; fails the first `failures` calls with `Unavailable`.
/// Clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct CountOrders {
    /// The events handled successfully.
    pub handled: Arc<AtomicU32>,
    /// Every call, failed or not.
    pub calls: Arc<AtomicU32>,
    /// How many calls fail before the first succeeds (0: none).
    pub failures: u32,
}

impl EventHandler<OrderPlaced> for CountOrders {
    async fn handle(&self, _event: &OrderPlaced, _ctx: &Context) -> Result<()> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Err(Error::unavailable("the database is restarting"));
        }
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Opens a span of its own, `billing.work`, inside the consumer's, and sends the order of
/// every [`OrderPlaced`] it handles to its receiver.
#[derive(Debug, Clone)]
pub struct Bill(pub mpsc::UnboundedSender<u64>);

impl EventHandler<OrderPlaced> for Bill {
    async fn handle(&self, event: &OrderPlaced, _ctx: &Context) -> Result<()> {
        let _work = tracing::info_span!("billing.work").entered();
        self.0.send(event.order).expect("the test listens");
        Ok(())
    }
}

/// Answers a [`Charge`] with twice its cents, inside a span of its own, `billing.charge`.
#[derive(Debug)]
pub struct ChargeHandler;

impl Handler<Charge> for ChargeHandler {
    async fn handle(&self, charge: Charge, _ctx: &Context) -> Result<u64> {
        let _work = tracing::info_span!("billing.charge").entered();
        Ok(charge.cents * 2)
    }
}

/// A consumer of [`OrderPlaced`] in group `billing` on `transport`, with `handler` its one
/// event handler and the default options.
pub fn billing_consumer<H: EventHandler<OrderPlaced>>(
    transport: Arc<dyn Transport>,
    handler: H,
) -> EventConsumer {
    let mediator = Mediator::builder()
        .event_handler(handler)
        .build()
        .expect("builds");
    EventConsumer::new(
        transport,
        "billing",
        Routes::new().event::<OrderPlaced>(),
        mediator,
    )
}

/// A server of [`Charge`] in group `billing` on `transport`, answered by [`ChargeHandler`].
pub fn billing_server(transport: Arc<dyn Transport>) -> RequestServer {
    let mediator = Mediator::builder()
        .handler(ChargeHandler)
        .build()
        .expect("builds");
    RequestServer::new(
        transport,
        "billing",
        Routes::new().request::<Charge>(),
        mediator,
    )
}

/// `envelope` on [`OrderPlaced`]'s subject as the broker's `attempt`th delivery, settled by
/// [`LostAck`]: for a test that hands a consumer the same message again.
pub fn delivery_of(envelope: &Envelope, attempt: u32) -> Delivery {
    Delivery::new(
        envelope.clone(),
        event_subject("OrderPlaced"),
        attempt,
        Box::new(LostAck),
    )
}

/// Settles nothing, so a test can hand the same message to a consumer twice, as a broker does
/// when an acknowledgement is lost.
#[derive(Debug)]
pub struct LostAck;

impl Settle for LostAck {
    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<()>> {
        Box::pin(async { Ok(()) })
    }
    fn retry(self: Box<Self>, _delay: Duration) -> BoxFuture<'static, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}
