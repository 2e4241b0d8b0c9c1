//! Every catga error kind answers with its own status and an RFC 9457 problem body.

use catga::ErrorKind;

use crate::support::Service;

/// The table docs/http.md promises, written out again so that a change to it is deliberate.
fn promised_status(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::Validation => 422,
        ErrorKind::NotFound => 404,
        ErrorKind::Conflict => 409,
        ErrorKind::Unauthorized => 403,
        ErrorKind::Timeout => 504,
        ErrorKind::Unavailable => 503,
        _ => 500,
    }
}

#[tokio::test]
async fn every_error_kind_answers_its_status_with_a_problem_body() {
    let service = Service::start().await;
    for kind in ErrorKind::ALL {
        let body = format!(r#"{{"kind":"{kind}"}}"#);
        let answer = service.post("/fail", &body, &[]).await;
        let status = promised_status(kind);
        let problem = answer.problem(status, kind.as_str());
        let detail = problem["detail"].as_str().expect("a detail");
        if status == 500 {
            // The cause stays in the service's log; the caller gets the id to find it by.
            assert!(!detail.contains("failed as asked"), "{kind}: {detail}");
            let correlation_id = answer.correlation_id.as_deref().expect("a correlation id");
            assert!(detail.contains(correlation_id), "{kind}: {detail}");
        } else {
            assert_eq!(detail, format!("failed as asked: {kind}"));
        }
    }
    assert_eq!(service.handler_calls(), ErrorKind::ALL.len());
}

#[tokio::test]
async fn validation_failure_is_422_naming_the_field_and_the_handler_never_runs() {
    let service = Service::start().await;
    let answer = service
        .post("/orders", r#"{"request_id":"r-1","amount_cents":0}"#, &[])
        .await;
    let problem = answer.problem(422, "validation");
    assert_eq!(problem["errors"][0]["pointer"], "#/amount_cents");
    assert_eq!(problem["errors"][0]["detail"], "must be greater than zero");
    assert_eq!(service.handler_calls(), 0);
}
