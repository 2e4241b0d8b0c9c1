//! Sending a request nobody handles.

use catga::prelude::*;

#[derive(Debug, Clone, Query)]
#[query(response = String)]
struct GetInvoice {
    id: u64,
}

#[tokio::test]
async fn missing_handler_error_names_the_request_type() {
    let mediator = Mediator::builder().build().unwrap();
    let err = mediator.send(GetInvoice { id: 7 }).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoHandler);
    assert!(err.message().contains("`GetInvoice`"), "{err}");
    assert!(
        err.message().contains("missing_handler::GetInvoice"),
        "{err}"
    );
    assert_eq!(GetInvoice { id: 7 }.clone().id, 7);
}

#[derive(Debug, Clone, Event)]
struct NobodyListens;

#[tokio::test]
async fn publishing_an_event_without_handlers_succeeds() {
    let mediator = Mediator::builder().build().unwrap();
    mediator.publish(NobodyListens).await.unwrap();
}
