//! [`Problem`]: the RFC 9457 `application/problem+json` body of every failed request, and
//! [`status_of`], the one table from catga's error kinds to HTTP statuses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use catga::{ErrorKind, InvalidField, MessageId};
use serde::Serialize;

/// The media type of a problem body (RFC 9457, section 3).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The HTTP status a catga error of `kind` is answered with.
///
/// Caller errors are 4xx, each with its own status so clients can branch on it; failures of
/// the service or its dependencies are 5xx. A kind added to catga later is a 500 until this
/// table names it.
///
/// ```
/// use axum::http::StatusCode;
/// use catga::ErrorKind;
///
/// assert_eq!(catga_axum::status_of(ErrorKind::Validation), StatusCode::UNPROCESSABLE_ENTITY);
/// assert_eq!(catga_axum::status_of(ErrorKind::Timeout), StatusCode::GATEWAY_TIMEOUT);
/// ```
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Validation => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        // 403, not 401: the caller is known and refused; 401 asks for credentials (with a
        // `WWW-Authenticate` challenge), which authentication in front of the mediator answers.
        ErrorKind::Unauthorized => StatusCode::FORBIDDEN,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        // A route to a message nothing handles, a misconfigured mediator, a store that failed,
        // a bug: nothing the caller can change.
        ErrorKind::NoHandler
        | ErrorKind::Configuration
        | ErrorKind::Storage
        | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An RFC 9457 problem: `type` (always `about:blank`, so `title` is the status' reason
/// phrase), `title`, `status`, `detail`, and two extension members: `kind`, what went wrong as
/// a stable name to branch on (a catga [`ErrorKind`] name such as `not_found`, or an input
/// problem such as `malformed_json`), and `errors`, the fields, parameters or headers at fault,
/// each with a `detail` and a JSON `pointer` into the body, a `parameter` or a `header` name
/// (the shape of RFC 9457's own example).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    type_uri: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<Culprit>,
    #[serde(skip)]
    correlation_id: Option<MessageId>,
}

/// One part of the request at fault: a body field, a URL parameter or a header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Culprit {
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pointer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<&'static str>,
}

impl Culprit {
    /// The body's member at JSON `pointer` (`#/lines/0/sku`).
    pub(crate) fn pointer(pointer: String, detail: impl Into<String>) -> Culprit {
        Culprit {
            detail: detail.into(),
            pointer: Some(pointer),
            parameter: None,
            header: None,
        }
    }

    /// The path or query parameter `name`.
    pub(crate) fn parameter(name: impl Into<String>, detail: impl Into<String>) -> Culprit {
        Culprit {
            detail: detail.into(),
            pointer: None,
            parameter: Some(name.into()),
            header: None,
        }
    }

    /// The request header `name`.
    pub(crate) fn header(name: &'static str, detail: impl Into<String>) -> Culprit {
        Culprit {
            detail: detail.into(),
            pointer: None,
            parameter: None,
            header: Some(name),
        }
    }

    /// The header at fault, if this culprit is one.
    pub(crate) fn header_name(&self) -> Option<&'static str> {
        self.header
    }
}

impl Problem {
    /// A problem with `status`, named `kind`, explained by `detail`.
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            type_uri: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            kind,
            errors: Vec::new(),
            correlation_id: None,
        }
    }

    /// The answer to a request whose message `message_type` failed with `error`.
    ///
    /// A 5xx keeps the error's message out of the body (it may name internals: a panic, a
    /// store's error) and points at the log instead, by correlation id; the caller logs it.
    /// A validation error made by [`catga::Error::invalid_field`] names its field in `errors`.
    pub fn from_error(
        error: &catga::Error,
        message_type: &str,
        correlation_id: MessageId,
    ) -> Problem {
        let status = status_of(error.kind());
        let detail = if status.is_server_error()
            && !matches!(error.kind(), ErrorKind::Timeout | ErrorKind::Unavailable)
        {
            format!(
                "the service failed to handle `{message_type}`; its log has the cause under \
                 correlation id {correlation_id}"
            )
        } else {
            error.message().to_string()
        };
        let mut problem = Problem::new(status, error.kind().as_str(), detail);
        if let Some(invalid) = InvalidField::of(error) {
            problem.errors.push(Culprit::pointer(
                format!("#/{}", invalid.field()),
                invalid.reason(),
            ));
        }
        problem.correlation_id(correlation_id)
    }

    /// This problem, naming the parts of the request at fault.
    pub(crate) fn culprits(mut self, culprits: Vec<Culprit>) -> Problem {
        self.errors = culprits;
        self
    }

    /// This problem, answered with the conversation's id in the `X-Correlation-Id` header.
    pub(crate) fn correlation_id(mut self, correlation_id: MessageId) -> Problem {
        self.correlation_id = Some(correlation_id);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `kind` member: what went wrong, as a stable name.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The `detail` member: what went wrong, for people.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).expect("a problem is plain strings and numbers");
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(correlation_id) = self.correlation_id {
            headers.insert(
                crate::CORRELATION_ID,
                crate::caller::header_value(correlation_id),
            );
        }
        response
    }
}
