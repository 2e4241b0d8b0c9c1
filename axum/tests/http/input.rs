//! Bad input gets a clear 4xx problem and never reaches a handler.

use crate::support::{BODY_LIMIT, Service};

#[tokio::test]
async fn malformed_json_is_400_and_the_handler_never_runs() {
    let service = Service::start().await;
    for body in [
        r#"{"request_id":"r-1","#,
        "not json",
        "",
        r#"{"request_id":"r-1","amount_cents":5} {}"#,
    ] {
        let answer = service.post("/orders", body, &[]).await;
        answer.problem(400, "malformed_json");
    }
    assert_eq!(service.handler_calls(), 0);
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_422_with_the_pointer() {
    let service = Service::start().await;
    let cases = [
        (
            r#"{"request_id":"r-1","amount_cents":"five"}"#,
            "#/amount_cents",
        ),
        (
            r#"{"request_id":"r-1","amount_cents":-5}"#,
            "#/amount_cents",
        ),
        (r#"{"request_id":7,"amount_cents":5}"#, "#/request_id"),
        (r#"{"amount_cents":5}"#, "#/request_id"),
        ("[]", "#"),
    ];
    for (body, pointer) in cases {
        let answer = service.post("/orders", body, &[]).await;
        let problem = answer.problem(422, "validation");
        assert_eq!(problem["errors"][0]["pointer"], pointer, "{body}");
    }
    assert_eq!(service.handler_calls(), 0);
}

#[tokio::test]
async fn oversized_body_is_413_and_the_handler_never_runs() {
    let service = Service::start().await;
    let body = format!(
        r#"{{"request_id":"{}","amount_cents":5}}"#,
        "r".repeat(BODY_LIMIT * 4)
    );
    let answer = service.post("/orders", &body, &[]).await;
    answer.problem(413, "payload_too_large");
    assert_eq!(service.handler_calls(), 0);
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_is_415_and_the_handler_never_runs() {
    let service = Service::start().await;
    let body = r#"{"request_id":"r-1","amount_cents":5}"#.to_string();
    let answer = service.post_raw("/orders", body.clone(), &[]).await;
    answer.problem(415, "unsupported_media_type");
    let answer = service
        .post_raw("/orders", body, &[("content-type", "text/plain")])
        .await;
    answer.problem(415, "unsupported_media_type");
    assert_eq!(service.handler_calls(), 0);
}

#[tokio::test]
async fn a_query_comes_from_path_parameters_and_the_query_string() {
    let service = Service::start().await;
    let answer = service.get("/orders/7?lines=true", &[]).await;
    assert_eq!(answer.status, 200, "{:#}", answer.body);
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    assert_eq!(answer.body, serde_json::json!({"id": 7, "lines": true}));
    let answer = service.get("/orders/8", &[]).await;
    assert_eq!(answer.body, serde_json::json!({"id": 8, "lines": false}));
    // A query without fields is a unit struct.
    let answer = service.get("/calls", &[]).await;
    assert_eq!(answer.body, serde_json::json!(3));
}

#[tokio::test]
async fn a_url_parameter_of_the_wrong_type_is_400_naming_it() {
    let service = Service::start().await;
    let answer = service.get("/orders/seven", &[]).await;
    let problem = answer.problem(400, "invalid_parameter");
    assert_eq!(problem["errors"][0]["parameter"], "id");
    let answer = service.get("/orders/7?lines=maybe", &[]).await;
    let problem = answer.problem(400, "invalid_parameter");
    assert_eq!(problem["errors"][0]["parameter"], "lines");
    let answer = service.get("/orders/7?id=8", &[]).await;
    let problem = answer.problem(400, "invalid_parameter");
    assert_eq!(problem["errors"][0]["parameter"], "id");
    assert_eq!(service.handler_calls(), 0);
}
