//! Turning a request into a message: a command from its JSON body, a query from its path
//! parameters and query string. Every failure is a 4xx [`Problem`] naming the part at fault;
//! nothing here reaches a handler.

use axum::body::Bytes;
use axum::extract::RawPathParams;
use axum::extract::rejection::{BytesRejection, RawPathParamsRejection};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use serde_path_to_error::{Path, Segment};

use crate::problem::{Culprit, Problem};

/// The command in a request's body, which must be JSON (`Content-Type: application/json`, or
/// any `application/*+json`).
///
/// - no JSON content type: 415 `unsupported_media_type`;
/// - a body over the router's limit (axum's `DefaultBodyLimit`, 2 MB unless set): 413
///   `payload_too_large`;
/// - not JSON at all: 400 `malformed_json`;
/// - JSON of the wrong shape (a wrong type, a missing field): 422 `validation`, with the JSON
///   pointer of the member at fault.
pub(crate) fn command_from_body<C: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<C, Problem> {
    if !is_json(headers) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the command as JSON, with `Content-Type: application/json`",
        ));
    }
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let kind = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "unreadable_body"
        };
        Problem::new(status, kind, rejection.body_text())
    })?;
    let mut json = serde_json::Deserializer::from_slice(&body);
    let command = serde_path_to_error::deserialize(&mut json).map_err(|error| {
        let pointer = json_pointer(error.path(), error.inner());
        json_problem(pointer, error.into_inner())
    })?;
    // Characters after the value are a syntax error, not a second command.
    json.end()
        .map_err(|error| json_problem(String::from("#"), error))?;
    Ok(command)
}

/// The answer to a body serde_json refused: 422 for a value of the wrong shape (at `pointer`),
/// 400 for text that is not JSON.
fn json_problem(pointer: String, error: serde_json::Error) -> Problem {
    match error.classify() {
        Category::Data => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            format!("the body does not match the command: {error}"),
        )
        .culprits(vec![Culprit::pointer(pointer, error.to_string())]),
        Category::Syntax | Category::Eof | Category::Io => Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {error}"),
        ),
    }
}

/// The query in a request's path parameters and query string, together (`/orders/{id}?lines=true`
/// is `GetOrder { id, lines }`); a path parameter and a query parameter of one name are a
/// duplicate field. A value of the wrong type or a missing parameter is a 400
/// `invalid_parameter` naming the parameter: the URL, not a body, is at fault.
pub(crate) fn query_from_url<Q: DeserializeOwned>(
    path_params: &[(&str, &str)],
    query: Option<&str>,
) -> Result<Q, Problem> {
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    encoded.extend_pairs(path_params);
    let mut encoded = encoded.finish();
    if let Some(query) = query.filter(|query| !query.is_empty()) {
        if !encoded.is_empty() {
            encoded.push('&');
        }
        encoded.push_str(query);
    }
    let parameters =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    let decoded = serde_path_to_error::deserialize(parameters);
    if decoded.is_err() && encoded.is_empty() {
        // A query without fields (`struct CountOrders;`) is a unit struct, which the
        // form decoder, always seeing a map, refuses.
        let unit = serde::de::value::UnitDeserializer::<serde::de::value::Error>::new();
        if let Ok(query) = Q::deserialize(unit) {
            return Ok(query);
        }
    }
    decoded.map_err(|error| {
        let reason = error.inner().to_string();
        let parameter = named_field(&reason)
            .map(str::to_string)
            .unwrap_or_else(|| error.path().to_string());
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("the URL does not match the query: `{parameter}`: {reason}"),
        )
        .culprits(vec![Culprit::parameter(parameter, reason)])
    })
}

/// The path parameters of a request, or the 400 answer to one that is not UTF-8.
pub(crate) fn path_params(
    params: &Result<RawPathParams, RawPathParamsRejection>,
) -> Result<Vec<(&str, &str)>, Problem> {
    match params {
        Ok(params) => Ok(params.iter().collect()),
        // A route without parameters.
        Err(RawPathParamsRejection::MissingPathParams(_)) => Ok(Vec::new()),
        Err(rejection) => Err(Problem::new(
            rejection.status(),
            "invalid_parameter",
            rejection.body_text(),
        )),
    }
}

/// Whether the request says its body is JSON.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// The RFC 6901 JSON pointer (in URI fragment form, as RFC 9457's example) of the member at
/// fault: `path` itself, or for a missing, duplicate or unknown field the field inside `path`.
fn json_pointer(path: &Path, error: &serde_json::Error) -> String {
    let mut pointer = String::from("#");
    let mut push = |segment: &str| {
        pointer.push('/');
        pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    };
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => push(&index.to_string()),
            Segment::Map { key } => push(key),
            Segment::Enum { variant } => push(variant),
            // Past a step serde could not name (an untagged enum, a flattened map), the
            // deepest member known is the best pointer there is.
            Segment::Unknown => return pointer,
        }
    }
    if error.classify() == Category::Data
        && let Some(field) = named_field(&error.to_string())
    {
        push(field);
    }
    pointer
}

/// The field a serde error about a struct's fields names: serde reports the path of the
/// struct, and its message (`missing field `x``, `duplicate field `x``, `unknown field `x`,
/// expected ..`, fixed texts of serde's `de::Error` defaults) names the field itself.
fn named_field(message: &str) -> Option<&str> {
    ["missing field `", "duplicate field `", "unknown field `"]
        .into_iter()
        .find_map(|prefix| message.strip_prefix(prefix))?
        .split('`')
        .next()
}
