//! Correlation and causation ids flow through `ctx.publish` and `ctx.send`, and from the
//! context a mediator gives for the process' own work (`Mediator::context`).

use std::sync::{Arc, Mutex};

use catga::prelude::*;

#[derive(Debug, Clone, Command)]
struct PlaceOrder;

#[derive(Debug, Clone, Event)]
struct OrderPlaced;

#[derive(Debug, Clone, Command)]
struct ReserveStock;

/// (message id, correlation id, causation id) of each context seen, by step name.
type Seen = Arc<Mutex<Vec<(&'static str, MessageId, MessageId, Option<MessageId>)>>>;

fn record(seen: &Seen, step: &'static str, ctx: &Context) {
    seen.lock().unwrap().push((
        step,
        ctx.message_id(),
        ctx.correlation_id(),
        ctx.causation_id(),
    ));
}

#[derive(Clone, Default)]
struct Steps {
    seen: Seen,
}

impl Handler<PlaceOrder> for Steps {
    async fn handle(&self, _cmd: PlaceOrder, ctx: &Context) -> catga::Result<()> {
        record(&self.seen, "place", ctx);
        ctx.publish(OrderPlaced).await
    }
}

impl EventHandler<OrderPlaced> for Steps {
    async fn handle(&self, _event: &OrderPlaced, ctx: &Context) -> catga::Result<()> {
        record(&self.seen, "placed", ctx);
        ctx.send(ReserveStock).await
    }
}

impl Handler<ReserveStock> for Steps {
    async fn handle(&self, _cmd: ReserveStock, ctx: &Context) -> catga::Result<()> {
        record(&self.seen, "reserve", ctx);
        Ok(())
    }
}

#[tokio::test]
async fn correlation_and_causation_ids_propagate_through_ctx_publish_and_send() {
    let steps = Steps::default();
    let mediator = Mediator::builder()
        .handler::<PlaceOrder, _>(steps.clone())
        .event_handler::<OrderPlaced, _>(steps.clone())
        .handler::<ReserveStock, _>(steps.clone())
        .behavior(Tracing)
        .build()
        .unwrap();
    mediator.send(PlaceOrder).await.unwrap();

    let seen = steps.seen.lock().unwrap().clone();
    let [place, placed, reserve] = seen.as_slice() else {
        panic!("expected 3 steps, saw {seen:?}")
    };
    assert_eq!(
        (place.0, placed.0, reserve.0),
        ("place", "placed", "reserve")
    );
    assert_eq!(
        place.2, place.1,
        "a root message starts its own conversation"
    );
    assert_eq!(place.3, None);
    assert_eq!(
        placed.2, place.2,
        "the event shares the command's correlation id"
    );
    assert_eq!(
        placed.3,
        Some(place.1),
        "the event was caused by the command"
    );
    assert_eq!(reserve.2, place.2);
    assert_eq!(
        reserve.3,
        Some(placed.1),
        "the follow-up command was caused by the event"
    );
    assert!(
        place.1 != placed.1 && placed.1 != reserve.1,
        "every message has its own id"
    );
}

#[tokio::test]
async fn a_detached_context_cannot_publish() {
    let ctx = Context::new(MessageId::next());
    let err = ctx.publish(OrderPlaced).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[tokio::test]
async fn a_mediators_own_context_sends_through_it_as_the_cause() {
    let steps = Steps::default();
    let mediator = Mediator::builder()
        .handler::<ReserveStock, _>(steps.clone())
        .build()
        .unwrap();
    let job = mediator.context();
    assert_eq!(
        job.causation_id(),
        None,
        "nothing caused the process' own work"
    );
    assert_eq!(job.correlation_id(), job.message_id());
    assert_eq!(job.deadline(), None);
    job.send(ReserveStock).await.unwrap();

    let seen = steps.seen.lock().unwrap().clone();
    let [reserve] = seen.as_slice() else {
        panic!("expected the handler to run once, saw {seen:?}")
    };
    assert_eq!(reserve.0, "reserve");
    assert_eq!(reserve.2, job.correlation_id());
    assert_eq!(reserve.3, Some(job.message_id()));
}

#[tokio::test]
async fn a_mediators_context_outliving_it_cannot_send() {
    let mediator = Mediator::builder()
        .handler::<ReserveStock, _>(Steps::default())
        .build()
        .unwrap();
    let job = mediator.context();
    drop(mediator);
    let err = job.send(ReserveStock).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
}

#[test]
fn message_ids_are_unique_across_threads() {
    let ids: Vec<MessageId> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| (0..5000).map(|_| MessageId::next()).collect::<Vec<_>>()))
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
}
