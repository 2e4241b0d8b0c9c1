//! `Idempotency-Key`: a repeat is answered from the store; a header that disagrees with the
//! command, or that the command cannot honour, is refused before anything runs.

use crate::support::Service;

const ORDER: &str = r#"{"request_id":"r-1","amount_cents":1999}"#;

#[tokio::test]
async fn a_repeated_key_is_answered_from_the_store_with_the_same_response() {
    let service = Service::start().await;
    let first = service
        .post("/orders", ORDER, &[("idempotency-key", "r-1")])
        .await;
    assert_eq!(first.status, 200, "{:#}", first.body);
    let repeat = service
        .post("/orders", ORDER, &[("idempotency-key", "\"r-1\"")])
        .await;
    assert_eq!(repeat.status, 200, "{:#}", repeat.body);
    assert_eq!(repeat.body, first.body);
    // Without the header, the command's own key deduplicates just the same.
    let again = service.post("/orders", ORDER, &[]).await;
    assert_eq!(again.body, first.body);
    assert_eq!(service.handler_calls(), 1);
}

#[tokio::test]
async fn a_key_that_differs_from_the_commands_own_is_400_and_nothing_runs() {
    let service = Service::start().await;
    let answer = service
        .post("/orders", ORDER, &[("idempotency-key", "r-2")])
        .await;
    let problem = answer.problem(400, "invalid_header");
    assert_eq!(problem["errors"][0]["header"], "idempotency-key");
    assert_eq!(service.handler_calls(), 0);
}

#[tokio::test]
async fn a_key_on_a_command_that_is_not_idempotent_is_400_and_nothing_runs() {
    let service = Service::start().await;
    let answer = service
        .post(
            "/fail",
            r#"{"kind":"internal"}"#,
            &[("idempotency-key", "k-1")],
        )
        .await;
    let problem = answer.problem(400, "invalid_header");
    assert_eq!(problem["errors"][0]["header"], "idempotency-key");
    assert_eq!(service.handler_calls(), 0);
}
