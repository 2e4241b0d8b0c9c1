//! async-nats errors as catga errors: a fitting kind, and a message that says what failed, on
//! which subject or stream, and what to do.

use std::time::Duration;

use async_nats::jetstream::context::{CreateStreamErrorKind, PublishErrorKind};
use async_nats::jetstream::stream::ConsumerErrorKind;
use async_nats::{ConnectErrorKind, RequestErrorKind};
use catga::{Error, ErrorKind};

/// Connecting to `url` failed.
pub(crate) fn connect(url: &str, error: async_nats::ConnectError) -> Error {
    let (kind, hint) = match error.kind() {
        ConnectErrorKind::ServerParse | ConnectErrorKind::Dns => (
            ErrorKind::Configuration,
            "check the URL (for example nats://127.0.0.1:4222)",
        ),
        ConnectErrorKind::Authentication | ConnectErrorKind::AuthorizationViolation => (
            ErrorKind::Unauthorized,
            "check the credentials (connect with NatsTransport::with_client to pass them)",
        ),
        ConnectErrorKind::Tls => (ErrorKind::Configuration, "check the TLS settings"),
        ConnectErrorKind::TimedOut | ConnectErrorKind::Io | ConnectErrorKind::MaxReconnects => (
            ErrorKind::Unavailable,
            "is nats-server running there (`nats-server -js`)?",
        ),
    };
    Error::new(
        kind,
        format!("cannot connect to NATS at {url}: {error}; {hint}"),
    )
    .with_source(error)
}

/// Creating or updating stream `name` failed.
pub(crate) fn create_stream(
    name: &str,
    subjects: &str,
    error: async_nats::jetstream::context::CreateStreamError,
) -> Error {
    let (kind, hint) = match error.kind() {
        CreateStreamErrorKind::JetStreamUnavailable | CreateStreamErrorKind::TimedOut => (
            ErrorKind::Unavailable,
            "is JetStream enabled on the server (`nats-server -js`) and ready?",
        ),
        _ => (
            ErrorKind::Configuration,
            "another stream may already hold these subjects, or the account's JetStream \
             limits are too small; see `nats stream ls`",
        ),
    };
    Error::new(
        kind,
        format!(
            "cannot create or update the JetStream stream {name} ({subjects}): {error}; {hint}"
        ),
    )
    .with_source(error)
}

/// Publishing on `subject` failed.
pub(crate) fn publish(
    subject: &str,
    timeout: Duration,
    error: async_nats::jetstream::context::PublishError,
) -> Error {
    let (kind, what) = match error.kind() {
        PublishErrorKind::TimedOut => return publish_timeout(subject, timeout),
        PublishErrorKind::StreamNotFound => (
            ErrorKind::Unavailable,
            "no JetStream stream answered (the broker is starting, or the stream was deleted: \
             connecting again recreates it)"
                .to_string(),
        ),
        PublishErrorKind::BrokenPipe | PublishErrorKind::MaxAckPending => (
            ErrorKind::Unavailable,
            format!("{error}; it may or may not be stored, publishing again is safe"),
        ),
        PublishErrorKind::MaxPayloadExceeded => (
            ErrorKind::Validation,
            format!("{error}: the envelope is larger than the server's max_payload"),
        ),
        _ => (ErrorKind::Unavailable, error.to_string()),
    };
    Error::new(kind, format!("cannot publish on `{subject}`: {what}")).with_source(error)
}

/// No publish acknowledgement on `subject` within `timeout`.
pub(crate) fn publish_timeout(subject: &str, timeout: Duration) -> Error {
    Error::unavailable(format!(
        "cannot publish on `{subject}`: JetStream did not acknowledge within {timeout:?} (the \
         broker is down or overloaded); it may or may not be stored, publishing again is safe"
    ))
}

/// Creating the consumer `consumer` of stream `stream` failed.
pub(crate) fn create_consumer(
    stream: &str,
    consumer: &str,
    subject: &str,
    error: async_nats::jetstream::stream::ConsumerError,
) -> Error {
    let (kind, hint) = match error.kind() {
        ConsumerErrorKind::TimedOut | ConsumerErrorKind::Request => (
            ErrorKind::Unavailable,
            "the broker did not answer; try again",
        ),
        _ => (
            ErrorKind::Configuration,
            "if the group's consumer exists with settings the server will not change, remove \
             it (`nats consumer rm`) or use another group name",
        ),
    };
    Error::new(
        kind,
        format!(
            "cannot create the consumer {consumer} on stream {stream} for `{subject}`: {error}; \
             {hint}"
        ),
    )
    .with_source(error)
}

/// A request on `subject` failed.
pub(crate) fn request(
    subject: &str,
    timeout: Duration,
    error: async_nats::client::RequestError,
) -> Error {
    let (kind, message) = match error.kind() {
        RequestErrorKind::NoResponders => (
            ErrorKind::NoHandler,
            format!("no service serves `{subject}`: none is subscribed in any queue group"),
        ),
        RequestErrorKind::TimedOut => (
            ErrorKind::Timeout,
            format!("no reply on `{subject}` within {timeout:?}"),
        ),
        RequestErrorKind::InvalidSubject => (
            ErrorKind::Validation,
            format!("cannot send a request on `{subject}`: not a valid NATS subject"),
        ),
        RequestErrorKind::MaxPayloadExceeded => (
            ErrorKind::Validation,
            format!("cannot send a request on `{subject}`: larger than the server's max_payload"),
        ),
        RequestErrorKind::Other => (
            ErrorKind::Unavailable,
            format!("the request on `{subject}` failed: {error}; the connection is down"),
        ),
    };
    Error::new(kind, message).with_source(error)
}

/// Settling (acking, nacking, terminating) a delivery from `subject` failed.
pub(crate) fn settle(what: &str, subject: &str, error: async_nats::Error) -> Error {
    Error::unavailable(format!(
        "cannot {what} the delivery from `{subject}`: {error}; the broker will deliver it \
         again after ack_wait"
    ))
}
