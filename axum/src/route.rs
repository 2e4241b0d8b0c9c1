//! The two axum handlers every route runs, one per message kind, and the send they end in.

use std::future::Future;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, RawPathParamsRejection};
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use catga::{Command, Error, Mediator, Query, Request};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::caller::{Caller, header_value};
use crate::decode::{command_from_body, path_params, query_from_url};
use crate::problem::{Culprit, Problem};
use crate::{CORRELATION_ID, IDEMPOTENCY_KEY, REQUEST_TIMEOUT};

/// `POST` of a command: headers, then the JSON body, then its validation and its idempotency
/// key; only a request that passes all of them is sent.
pub(crate) async fn command_route<C>(
    State(mediator): State<Mediator>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response
where
    C: Command + DeserializeOwned,
    C::Response: Serialize,
{
    let caller = match Caller::from_headers(&headers) {
        Ok(caller) => caller,
        Err(problem) => return problem.into_response(),
    };
    let accepted = command_from_body::<C>(&headers, body)
        .and_then(|command| validated(command, &caller))
        .and_then(|command| key_agrees(command, &caller));
    match accepted {
        Ok(command) => answer(&mediator, command, caller).await,
        Err(problem) => problem
            .correlation_id(caller.correlation_id)
            .into_response(),
    }
}

/// `GET` of a query: headers, then the path parameters and query string, then validation.
/// An `Idempotency-Key` is ignored: a query changes nothing, so repeating it is already safe.
pub(crate) async fn query_route<Q>(
    State(mediator): State<Mediator>,
    headers: HeaderMap,
    params: Result<RawPathParams, RawPathParamsRejection>,
    RawQuery(query): RawQuery,
) -> Response
where
    Q: Query + DeserializeOwned,
    Q::Response: Serialize,
{
    let caller = match Caller::from_headers(&headers) {
        Ok(caller) => caller,
        Err(problem) => return problem.into_response(),
    };
    let accepted = path_params(&params)
        .and_then(|params| query_from_url::<Q>(&params, query.as_deref()))
        .and_then(|query| validated(query, &caller));
    match accepted {
        Ok(query) => answer(&mediator, query, caller).await,
        Err(problem) => problem
            .correlation_id(caller.correlation_id)
            .into_response(),
    }
}

/// `request`, once its `Validate` impl accepts it. Run here whether or not the mediator has
/// the `Validation` behavior, so that invalid input never reaches a handler (nor claims an
/// idempotency key); a mediator with the behavior checks again, which is cheap and harmless.
fn validated<R: Request>(request: R, caller: &Caller) -> Result<R, Problem> {
    match request.validate_hook() {
        Ok(()) => Ok(request),
        Err(error) => Err(Problem::from_error(&error, R::NAME, caller.correlation_id)),
    }
}

/// `command`, when an `Idempotency-Key` header, if any, agrees with it.
///
/// The key is the command's own (its `#[idempotency_key]` field, or its `Idempotent` impl), the
/// one every other way of sending it (a handler, another service over a broker) deduplicates
/// by; a header that could replace it would make one logical execution two. So the header is a
/// check: equal to the command's key, or a 400. On a command that is not idempotent it is a
/// 400 too: the caller expects a repeat to be answered from a store, and nothing would store it.
fn key_agrees<C: Command>(command: C, caller: &Caller) -> Result<C, Problem> {
    let Some(header_key) = caller.idempotency_key.as_deref() else {
        return Ok(command);
    };
    let reason = match C::idempotency() {
        Some(hooks) => {
            let command_key = hooks.key_of(&command);
            if command_key == header_key {
                return Ok(command);
            }
            format!(
                "is `{header_key}`, and the command's own idempotency key is `{command_key}`: \
                 send the same key in both, or leave the header out"
            )
        }
        None => format!(
            "cannot be honoured: `{}` is not idempotent, so a repeat would run it again; leave \
             the header out, or make the command idempotent",
            C::NAME
        ),
    };
    Err(Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_header",
        format!("the request's {IDEMPOTENCY_KEY} {reason}"),
    )
    .culprits(vec![Culprit::header(IDEMPOTENCY_KEY, reason)]))
}

/// Sends `request` in the caller's conversation and trace, until the caller's deadline, and
/// answers with the response as JSON or the error as a problem.
async fn answer<R>(mediator: &Mediator, request: R, caller: Caller) -> Response
where
    R: Request,
    R::Response: Serialize,
{
    let sent = in_trace(&caller, mediator.send_from(request, caller.origin()));
    // The handler's context carries the deadline; this stops waiting at it even when no
    // `Timeout` behavior enforces it, since the caller has stopped waiting too.
    let outcome = match caller.deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, sent)
            .await
            .unwrap_or_else(|_| {
                Err(Error::timeout(format!(
                    "`{}` did not finish within the request's {REQUEST_TIMEOUT}",
                    R::NAME
                )))
            }),
        None => sent.await,
    };
    let correlation_id = caller.correlation_id;
    let encoded = outcome.and_then(|response| {
        serde_json::to_vec(&response).map_err(|error| {
            Error::internal(format!(
                "the response of `{}` does not serialize: {error}",
                R::NAME
            ))
        })
    });
    let error = match encoded {
        Ok(body) => {
            let mut response = (StatusCode::OK, body).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert(CORRELATION_ID, header_value(correlation_id));
            return response;
        }
        Err(error) => error,
    };
    let problem = Problem::from_error(&error, R::NAME, correlation_id);
    if problem.status().is_server_error() {
        tracing::error!(
            message_type = R::NAME,
            kind = %error.kind(),
            correlation_id = %correlation_id,
            error = %error,
            "request failed"
        );
    }
    problem.into_response()
}

/// `future`, run with the caller's trace context as the one catga's messages join.
async fn in_trace<F: Future>(caller: &Caller, future: F) -> F::Output {
    match caller.trace.clone() {
        Some(trace) => catga::telemetry::in_context(trace, future).await,
        None => future.await,
    }
}
