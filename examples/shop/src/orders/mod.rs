//! The orders service: takes orders over HTTP, runs the place-order saga against inventory and
//! payments, exports the order events through its outbox, and keeps the order view.

pub mod get_order;
pub mod order_cancelled;
pub mod order_confirmed;
pub mod order_placed;
pub mod order_view;
pub mod place_order;
pub mod place_order_saga;
pub mod remote;

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use catga::prelude::*;
use catga::transport::{EventConsumer, Transport};
use catga_axum::MessageRoutes;
use catga_sqlite::prelude::*;

use get_order::GetOrder;
use order_cancelled::OrderCancelled;
use order_confirmed::OrderConfirmed;
use order_placed::OrderPlaced;
use place_order::PlaceOrder;
use place_order_saga::PlaceOrderSaga;

/// This service's name on the broker: the consumer group of its order view.
pub const SERVICE: &str = "orders";

/// The orders service over its SQLite file.
#[derive(Debug, Clone)]
pub struct Orders {
    mediator: Mediator,
    outbox: SqliteOutbox,
    inbox: SqliteInbox,
    runner: SagaRunner,
    saga: Arc<PlaceOrderSaga>,
}

impl Orders {
    /// Opens the service's state in the SQLite file at `path`; the saga reaches the other
    /// services over `transport`.
    pub async fn open(
        path: impl AsRef<Path>,
        transport: Arc<dyn Transport>,
    ) -> catga::Result<Orders> {
        let path = path.as_ref();
        let reader = SqliteReader::open(path, order_view::TABLES).await?;
        // Each saga step's events commit with the saga's state after that step.
        let (sagas, outbox) = SqliteSagaStore::open_with_outbox(path).await?;
        let idempotency = SqliteIdempotencyStore::open(path).await?;
        let inbox = SqliteInbox::open(path).await?;
        let runner = SagaRunner::new(sagas);
        let saga = Arc::new(PlaceOrderSaga::new(transport));
        let by_order = |order_id: &String| Some(order_id.clone());
        let mediator = Mediator::builder()
            .handler(place_order::PlaceOrderHandler::new(
                runner.clone(),
                Arc::clone(&saga),
            ))
            .handler(get_order::GetOrderHandler::new(reader))
            .idempotency_store(idempotency)
            .outbox(outbox.clone())
            .export_keyed::<OrderPlaced, _>(move |event| by_order(&event.order_id))
            .export_keyed::<OrderConfirmed, _>(move |event| by_order(&event.order_id))
            .export_keyed::<OrderCancelled, _>(move |event| by_order(&event.order_id))
            .behavior(Metrics::new())
            .behavior(Validation)
            .build()?;
        Ok(Orders {
            mediator,
            outbox,
            inbox,
            runner,
            saga,
        })
    }

    /// The service's mediator.
    pub fn mediator(&self) -> &Mediator {
        &self.mediator
    }

    /// The outbox the order events wait in until the broker has them.
    pub fn outbox(&self) -> &SqliteOutbox {
        &self.outbox
    }

    /// The HTTP gateway: `POST /orders` places an order, `GET /orders/{id}` reads the view.
    pub fn router(&self) -> Router {
        Router::new()
            .command::<PlaceOrder>("/orders")
            .query::<GetOrder>("/orders/{id}")
            .with_state(self.mediator.clone())
    }

    /// Drives every place-order saga a stop left running or compensating to its end, and
    /// answers how many there were; call it once before serving. The steps send and publish
    /// through the service's mediator.
    pub async fn resume(&self) -> catga::Result<usize> {
        let ctx = self.mediator.context();
        let resumed = self.runner.resume_pending(self.saga.as_ref(), &ctx).await?;
        Ok(resumed.len())
    }

    /// Publishes the outbox's events and keeps the order view until the transport fails.
    pub async fn serve(self, transport: Arc<dyn Transport>) -> catga::Result<()> {
        let dispatcher = OutboxDispatcher::new(self.outbox, Arc::clone(&transport));
        let view = EventConsumer::new(transport, SERVICE, order_view::routes(), self.mediator)
            .inbox(self.inbox);
        tokio::try_join!(dispatcher.run(), view.run()).map(|_| ())
    }
}
