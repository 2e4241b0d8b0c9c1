//! Correlation id, trace context and deadline headers reach the handler's context.

use crate::support::Service;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn the_callers_correlation_id_reaches_the_handler_and_comes_back() {
    let service = Service::start().await;
    let answer = service
        .get("/inspect", &[("x-correlation-id", "00000000deadbeef")])
        .await;
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    assert_eq!(answer.body["correlation_id"], "00000000deadbeef");
    assert_eq!(answer.correlation_id.as_deref(), Some("00000000deadbeef"));
}

#[tokio::test]
async fn a_request_without_a_correlation_id_is_told_the_one_its_handler_had() {
    let service = Service::start().await;
    let answer = service.get("/inspect", &[]).await;
    let correlation_id = answer.correlation_id.expect("a correlation id");
    assert_eq!(answer.body["correlation_id"], correlation_id.as_str());
}

#[tokio::test]
async fn a_correlation_id_that_is_not_a_catga_id_is_400_and_nothing_runs() {
    let service = Service::start().await;
    let uuid = "0b9e4ec4-3c51-4a4e-9f4b-4a3d2a1b0c9d";
    let answer = service.get("/inspect", &[("x-correlation-id", uuid)]).await;
    let problem = answer.problem(400, "invalid_header");
    assert_eq!(problem["errors"][0]["header"], "x-correlation-id");
    assert_eq!(service.handler_calls(), 0);
}

#[tokio::test]
async fn the_traceparent_is_the_trace_the_handler_runs_in() {
    let service = Service::start().await;
    let traceparent = format!("00-{TRACE_ID}-00f067aa0ba902b7-01");
    let answer = service
        .get("/inspect", &[("traceparent", traceparent.as_str())])
        .await;
    assert_eq!(answer.body["trace_id"], TRACE_ID);
    // An invalid one is ignored, as W3C asks: the request is served outside any trace.
    let answer = service
        .get("/inspect", &[("traceparent", "00-not-a-trace-01")])
        .await;
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    assert_eq!(answer.body["trace_id"], serde_json::Value::Null);
}

#[tokio::test]
async fn request_timeout_is_the_handlers_deadline() {
    let service = Service::start().await;
    let answer = service.get("/inspect", &[("request-timeout", "30")]).await;
    let deadline_in_ms = answer.body["deadline_in_ms"]
        .as_u64()
        .expect("the handler has a deadline");
    assert!(deadline_in_ms <= 30_000, "{deadline_in_ms}");
    let answer = service.get("/inspect", &[]).await;
    assert_eq!(answer.body["deadline_in_ms"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_handler_still_running_at_the_deadline_is_answered_504() {
    let service = Service::start().await;
    let answer = service.get("/stall", &[("request-timeout", "0.05")]).await;
    answer.problem(504, "timeout");
    assert_eq!(service.handler_calls(), 1);
}

#[tokio::test]
async fn a_request_timeout_that_is_not_positive_seconds_is_400_and_nothing_runs() {
    let service = Service::start().await;
    for timeout in ["0", "-1", "5s", "soon"] {
        let answer = service
            .get("/inspect", &[("request-timeout", timeout)])
            .await;
        let problem = answer.problem(400, "invalid_header");
        assert_eq!(
            problem["errors"][0]["header"], "request-timeout",
            "{timeout}"
        );
    }
    assert_eq!(service.handler_calls(), 0);
}
