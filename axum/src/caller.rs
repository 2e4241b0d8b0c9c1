//! [`Caller`]: what a request's headers say about where it comes from (the conversation, the
//! trace, the deadline, the idempotency key), read once and checked before the body is.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use catga::telemetry::{TRACEPARENT, TRACESTATE, TraceContext};
use catga::{MessageId, Origin};
use tokio::time::Instant;

use crate::problem::{Culprit, Problem};
use crate::{CORRELATION_ID, IDEMPOTENCY_KEY, REQUEST_TIMEOUT};

/// The caller's side of one request, from its headers.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The caller's conversation, or a new one (answered in `X-Correlation-Id` either way).
    pub(crate) correlation_id: MessageId,
    /// When the caller stops waiting (`Request-Timeout` after the request arrived).
    pub(crate) deadline: Option<Instant>,
    /// The caller's W3C trace context; an invalid `traceparent` is ignored, as W3C asks.
    pub(crate) trace: Option<TraceContext>,
    /// The `Idempotency-Key` header, unquoted.
    pub(crate) idempotency_key: Option<String>,
}

impl Caller {
    /// Reads the headers; every header that cannot be honoured is named in one 400 problem.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Result<Caller, Problem> {
        let arrived = Instant::now();
        let mut culprits = Vec::new();
        let correlation_id = match text(headers, CORRELATION_ID) {
            Some(Ok(text)) => parse_correlation_id(text).unwrap_or_else(|reason| {
                culprits.push(Culprit::header(CORRELATION_ID, reason));
                MessageId::next()
            }),
            Some(Err(reason)) => {
                culprits.push(Culprit::header(CORRELATION_ID, reason));
                MessageId::next()
            }
            None => MessageId::next(),
        };
        let deadline = match text(headers, REQUEST_TIMEOUT) {
            Some(Ok(text)) => match parse_timeout(text).map(|timeout| arrived.checked_add(timeout))
            {
                Ok(Some(deadline)) => Some(deadline),
                Ok(None) => {
                    culprits.push(Culprit::header(REQUEST_TIMEOUT, "is too large"));
                    None
                }
                Err(reason) => {
                    culprits.push(Culprit::header(REQUEST_TIMEOUT, reason));
                    None
                }
            },
            Some(Err(reason)) => {
                culprits.push(Culprit::header(REQUEST_TIMEOUT, reason));
                None
            }
            None => None,
        };
        let idempotency_key = match text(headers, IDEMPOTENCY_KEY) {
            Some(Ok(text)) => match parse_idempotency_key(text) {
                Ok(key) => Some(key.to_string()),
                Err(reason) => {
                    culprits.push(Culprit::header(IDEMPOTENCY_KEY, reason));
                    None
                }
            },
            Some(Err(reason)) => {
                culprits.push(Culprit::header(IDEMPOTENCY_KEY, reason));
                None
            }
            None => None,
        };
        let trace = match text(headers, TRACEPARENT) {
            Some(Ok(traceparent)) => {
                TraceContext::parse(traceparent, text(headers, TRACESTATE).and_then(Result::ok))
            }
            _ => None,
        };
        if !culprits.is_empty() {
            let names: Vec<&str> = culprits.iter().filter_map(Culprit::header_name).collect();
            return Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid_header",
                format!("the request's {} cannot be honoured", names.join(", ")),
            )
            .culprits(culprits));
        }
        Ok(Caller {
            correlation_id,
            deadline,
            trace,
            idempotency_key,
        })
    }

    /// What the mediator is told about the request.
    pub(crate) fn origin(&self) -> Origin {
        let origin = Origin::new().correlation_id(self.correlation_id);
        match self.deadline {
            Some(deadline) => origin.deadline(deadline),
            None => origin,
        }
    }
}

/// The `X-Correlation-Id` value of `correlation_id`: 16 hex digits, as catga writes ids.
pub(crate) fn header_value(correlation_id: MessageId) -> HeaderValue {
    HeaderValue::try_from(correlation_id.to_string()).expect("hex digits are a valid header value")
}

/// The header `name` as text, if present: `Err` when it is not visible ASCII or repeated.
fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<Result<&'a str, &'static str>> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return Some(Err("is given more than once"));
    }
    Some(
        value
            .to_str()
            .map(str::trim)
            .map_err(|_| "is not visible ASCII text"),
    )
}

/// A catga message id: 1 to 16 hex digits. Catga ids are 64-bit, so another service's ids
/// (a UUID, say) are refused rather than cut down to a different conversation.
fn parse_correlation_id(text: &str) -> Result<MessageId, &'static str> {
    if text.is_empty() || text.len() > 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("must be a catga message id: 1 to 16 hex digits");
    }
    u64::from_str_radix(text, 16)
        .map(MessageId)
        .map_err(|_| "must be a catga message id: 1 to 16 hex digits")
}

/// Seconds, a decimal number greater than zero (`30`, `2.5`, `0.250`).
fn parse_timeout(text: &str) -> Result<Duration, &'static str> {
    const EXPECTED: &str = "must be a number of seconds greater than zero, such as 30 or 2.5";
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || text.ends_with('.') {
        return Err(EXPECTED);
    }
    let seconds: f64 = text.parse().map_err(|_| EXPECTED)?;
    match Duration::try_from_secs_f64(seconds) {
        Ok(timeout) if !timeout.is_zero() => Ok(timeout),
        Ok(_) => Err(EXPECTED),
        Err(_) => Err("is too large"),
    }
}

/// The key, without the quotes of the IETF draft's structured-field string form
/// (`Idempotency-Key: "8e03978e"`); the unquoted form most APIs use is taken as it is.
fn parse_idempotency_key(text: &str) -> Result<&str, &'static str> {
    let key = text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or(text);
    if key.is_empty() {
        return Err("must not be empty");
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_are_catga_message_ids() {
        assert_eq!(parse_correlation_id("2a"), Ok(MessageId(0x2a)));
        assert_eq!(
            parse_correlation_id("00000000deadbeef"),
            Ok(MessageId(0xdead_beef))
        );
        for refused in ["", "+2a", "0x2a", "1234567890abcdef0", "not-hex"] {
            assert!(parse_correlation_id(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn timeouts_are_positive_decimal_seconds() {
        assert_eq!(parse_timeout("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_timeout("0.25"), Ok(Duration::from_millis(250)));
        for refused in ["", "0", "0.0", "-1", "1.", ".5", "1e3", "2s", "inf", "NaN"] {
            assert!(parse_timeout(refused).is_err(), "{refused:?}");
        }
        assert_eq!(parse_timeout(&"9".repeat(400)), Err("is too large"));
    }

    #[test]
    fn idempotency_keys_may_be_quoted() {
        assert_eq!(parse_idempotency_key("\"req-1\""), Ok("req-1"));
        assert_eq!(parse_idempotency_key("req-1"), Ok("req-1"));
        assert!(parse_idempotency_key("\"\"").is_err());
    }
}
