//! Building a mediator: configuration mistakes are reported by `build`.

use catga::prelude::*;

#[derive(Debug, Clone, Command)]
#[command(response = u32)]
struct CreateOrder {
    amount: u32,
}

struct FirstHandler;
impl Handler<CreateOrder> for FirstHandler {
    async fn handle(&self, cmd: CreateOrder, _ctx: &Context) -> catga::Result<u32> {
        Ok(cmd.amount)
    }
}

struct SecondHandler;
impl Handler<CreateOrder> for SecondHandler {
    async fn handle(&self, cmd: CreateOrder, _ctx: &Context) -> catga::Result<u32> {
        Ok(cmd.amount + 1)
    }
}

#[test]
fn duplicate_handler_is_rejected_at_build() {
    let err = Mediator::builder()
        .handler(FirstHandler)
        .handler(SecondHandler)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("`CreateOrder`"), "{err}");
    assert!(
        err.message().contains("FirstHandler") && err.message().contains("SecondHandler"),
        "{err}"
    );
}

#[test]
fn behavior_for_a_type_without_handler_is_rejected_at_build() {
    let err = Mediator::builder()
        .behavior_for::<CreateOrder, _>(Validation)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("CreateOrder"), "{err}");
}

#[tokio::test]
async fn mediator_clones_share_handlers() {
    let mediator = Mediator::builder().handler(FirstHandler).build().unwrap();
    let clone = mediator.clone();
    assert!(clone.handles::<CreateOrder>());
    let sent = tokio::spawn(async move { clone.send(CreateOrder { amount: 4 }).await });
    assert_eq!(sent.await.unwrap().unwrap(), 4);
    assert_eq!(mediator.send(CreateOrder { amount: 5 }).await.unwrap(), 5);
}

#[tokio::test]
async fn send_batch_returns_results_in_request_order() {
    let mediator = Mediator::builder().handler(FirstHandler).build().unwrap();
    let results = mediator
        .send_batch((1..=5).map(|amount| CreateOrder { amount }))
        .await;
    let amounts: Vec<u32> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(amounts, vec![1, 2, 3, 4, 5]);
}
