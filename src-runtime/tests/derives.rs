//! The `Command`, `Query` and `Event` derives.

use catga::prelude::*;
use catga::{IdempotencyHooks, MessageKind};

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = String)]
struct CreateOrder {
    order_id: String,
}

#[derive(Debug, Clone, Command)]
struct ArchiveOrder(u64);

#[derive(Debug, Clone, Query)]
#[query(response = Vec<u32>)]
struct ListOrders;

#[derive(Debug, Clone, Event)]
enum OrderEvent {
    Created { order_id: String },
    Cancelled,
}

#[derive(Debug, Clone, Command)]
#[command(idempotent, response = u32)]
struct PayInvoice(#[idempotency_key] String, u32);

fn idempotency<R: Request>() -> Option<IdempotencyHooks<R>> {
    R::idempotency()
}

#[test]
fn derives_set_name_and_kind() {
    assert_eq!(
        (CreateOrder::NAME, CreateOrder::KIND),
        ("CreateOrder", MessageKind::Command)
    );
    assert_eq!(
        (ListOrders::NAME, ListOrders::KIND),
        ("ListOrders", MessageKind::Query)
    );
    assert_eq!(
        (OrderEvent::NAME, OrderEvent::KIND),
        ("OrderEvent", MessageKind::Event)
    );
}

#[test]
fn command_response_defaults_to_unit() {
    fn response_of<R: Request<Response = ()>>(_: &R) {}
    let archive = ArchiveOrder(1);
    response_of(&archive);
    assert_eq!(archive.0, 1);
}

#[test]
fn idempotent_derive_keys_on_the_marked_tuple_field() {
    let pay = PayInvoice("inv-9".into(), 3);
    assert_eq!((pay.idempotency_key().as_str(), pay.1), ("inv-9", 3));
    assert!(idempotency::<PayInvoice>().is_some());
    assert!(idempotency::<CreateOrder>().is_none());
}

#[test]
fn derived_messages_without_validate_are_valid() {
    let event = OrderEvent::Created {
        order_id: "o-1".into(),
    };
    assert!(event.validate_hook().is_ok());
    assert!(matches!(&event, OrderEvent::Created { order_id } if order_id == "o-1"));
    assert!(OrderEvent::Cancelled.validate_hook().is_ok());
}

struct Orders;
impl Handler<CreateOrder> for Orders {
    async fn handle(&self, cmd: CreateOrder, _ctx: &Context) -> catga::Result<String> {
        Ok(format!("created {}", cmd.order_id))
    }
}

#[tokio::test]
async fn derived_command_round_trips_through_the_mediator() {
    let mediator = Mediator::builder().handler(Orders).build().unwrap();
    let reply = mediator
        .send(CreateOrder {
            order_id: "o-1".into(),
        })
        .await
        .unwrap();
    assert_eq!(reply, "created o-1");
}
