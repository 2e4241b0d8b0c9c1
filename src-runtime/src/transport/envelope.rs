//! The [`Envelope`]: a message as it crosses a transport, with the ids and times that make it
//! traceable and deduplicable, in a stable JSON form.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::message::{Message, MessageKind};
use crate::telemetry::{MessagingSpan, Operation};
use crate::{Context, Error, ErrorKind, Result};

/// The envelope format this catga writes and reads.
pub const ENVELOPE_VERSION: u32 = 1;

/// The type name of an envelope made by [`Envelope::undecodable`].
pub const UNDECODABLE_TYPE: &str = "catga.undecodable";

/// How many of an undecodable message's bytes its envelope keeps: its dead letter must fit a
/// broker's message size limit (NATS: 1 MiB by default). The message itself stays in the
/// stream, where the broker keeps it as long as the stream's retention does.
pub const MAX_UNDECODABLE_BYTES: usize = 256 * 1024;

/// The payload of an [`UNDECODABLE_TYPE`] envelope: what arrived, and why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undecodable {
    /// Why the bytes are not a catga envelope.
    pub error: String,
    /// The bytes as received (standard base64), the first [`MAX_UNDECODABLE_BYTES`] of them.
    pub bytes_base64: String,
    /// How many bytes arrived: more than `bytes_base64` holds when they were cut.
    pub length: usize,
}

impl Undecodable {
    /// The bytes kept.
    pub fn bytes(&self) -> Result<Vec<u8>> {
        BASE64_STANDARD
            .decode(&self.bytes_base64)
            .map_err(|error| Error::validation(format!("undecodable bytes: bad base64: {error}")))
    }
}

/// One message on the wire.
///
/// Encoded as JSON, field names as below; new optional fields may be added within a version,
/// none renamed or removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The envelope format's version ([`ENVELOPE_VERSION`]).
    pub version: u32,
    /// Unique across processes and restarts (128 random bits, hex): what inboxes deduplicate on.
    pub id: String,
    /// The message type's name ([`Message::NAME`]), which routes it and decodes it.
    pub type_name: String,
    /// The version of the message type's payload, for types that change shape.
    pub schema_version: u32,
    /// The conversation the message belongs to (the first message's id).
    pub correlation_id: String,
    /// The message whose handling produced this one.
    pub causation_id: Option<String>,
    /// When the message was created, in milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// The ordering key: an outbox delivers the messages of one key in the order it stored them.
    pub key: Option<String>,
    /// The message itself, serialized by serde.
    pub payload: serde_json::Value,
    /// Metadata beside the message: the W3C trace context ([`TRACEPARENT`], [`TRACESTATE`])
    /// of the span that produced it, so the consumer's span continues the producer's trace.
    /// Absent from the JSON when empty; an envelope without it (written before it existed)
    /// reads as empty.
    ///
    /// [`TRACEPARENT`]: crate::telemetry::TRACEPARENT
    /// [`TRACESTATE`]: crate::telemetry::TRACESTATE
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

impl Envelope {
    /// An envelope for `message`, sent while handling `ctx`'s message: it joins that
    /// conversation, with `ctx`'s message as its cause.
    ///
    /// Making it is a `catga.create` span (`messaging.operation = "create"`) in the current
    /// trace (a new one when there is none), and the headers carry that span's trace context.
    pub fn of<M: Message + Serialize>(message: &M, ctx: &Context) -> Result<Envelope> {
        let mut envelope = Envelope::unsent(message, ctx)?;
        let destination = match M::KIND {
            MessageKind::Event => super::event_subject(M::NAME),
            _ => super::command_subject(M::NAME),
        };
        let span = MessagingSpan::producer(Operation::Create, None, &destination, &envelope);
        span.context.inject(&mut envelope.headers);
        Ok(envelope)
    }

    /// An envelope for `message` caused by `ctx`'s, with no headers yet.
    pub(crate) fn unsent<M: Message + Serialize>(message: &M, ctx: &Context) -> Result<Envelope> {
        let payload = serde_json::to_value(message).map_err(|error| {
            Error::internal(format!("cannot serialize `{}`: {error}", M::NAME)).with_source(error)
        })?;
        Ok(Envelope {
            version: ENVELOPE_VERSION,
            id: fresh_id(),
            type_name: M::NAME.to_string(),
            schema_version: 1,
            correlation_id: ctx.correlation_id().to_string(),
            causation_id: Some(ctx.message_id().to_string()),
            created_at_ms: now_millis()?,
            key: None,
            payload,
            headers: BTreeMap::new(),
        })
    }

    /// The same envelope with ordering key `key`.
    pub fn with_key(mut self, key: impl Into<String>) -> Envelope {
        self.key = Some(key.into());
        self
    }

    /// The reply to this request envelope, carrying `body`.
    pub fn reply(&self, body: &ReplyBody) -> Result<Envelope> {
        let payload = serde_json::to_value(body).map_err(|error| {
            Error::internal(format!("cannot serialize a reply: {error}")).with_source(error)
        })?;
        Ok(Envelope {
            version: ENVELOPE_VERSION,
            id: fresh_id(),
            type_name: REPLY_TYPE.to_string(),
            schema_version: 1,
            correlation_id: self.correlation_id.clone(),
            causation_id: Some(self.id.clone()),
            created_at_ms: now_millis()?,
            key: None,
            payload,
            headers: BTreeMap::new(),
        })
    }

    /// An envelope standing for `bytes`, which a transport received but could not decode
    /// (`error` says why), so the consumer can dead-letter them with the evidence instead of
    /// dropping them. `id` names the message at the broker (a stream sequence, say): the same
    /// bytes delivered twice get the same id, and so one dead letter. The payload is an
    /// [`Undecodable`].
    pub fn undecodable(id: String, bytes: &[u8], error: &Error) -> Envelope {
        let kept = &bytes[..bytes.len().min(MAX_UNDECODABLE_BYTES)];
        let payload = Undecodable {
            error: error.message().to_string(),
            bytes_base64: BASE64_STANDARD.encode(kept),
            length: bytes.len(),
        };
        Envelope {
            version: ENVELOPE_VERSION,
            correlation_id: id.clone(),
            id,
            type_name: UNDECODABLE_TYPE.to_string(),
            schema_version: 1,
            causation_id: None,
            // A clock before 1970 leaves the time unknown rather than the bytes unkept.
            created_at_ms: now_millis().unwrap_or(0),
            key: None,
            // Plain data with string keys: serializing it cannot fail.
            payload: serde_json::to_value(payload).unwrap_or_default(),
            headers: BTreeMap::new(),
        }
    }

    /// The JSON bytes of the envelope.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain data with string keys into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads an envelope from `bytes`: refuses bytes that are not an envelope, or are one of a
    /// version this catga does not know, saying which.
    pub fn decode(bytes: &[u8]) -> Result<Envelope> {
        #[derive(Deserialize)]
        struct Version {
            version: Option<u32>,
        }
        let version = serde_json::from_slice::<Version>(bytes)
            .map_err(|error| {
                Error::validation(format!(
                    "not a catga envelope ({error}): {}",
                    preview(bytes)
                ))
            })?
            .version;
        match version {
            Some(ENVELOPE_VERSION) => {}
            Some(other) => {
                return Err(Error::validation(format!(
                    "catga envelope version {other}, but this catga reads version \
                     {ENVELOPE_VERSION}: upgrade the receiving service"
                )));
            }
            None => {
                return Err(Error::validation(format!(
                    "not a catga envelope (no `version`): {}",
                    preview(bytes)
                )));
            }
        }
        serde_json::from_slice(bytes).map_err(|error| {
            Error::validation(format!("malformed catga envelope: {error}")).with_source(error)
        })
    }

    /// The payload as an `M`: a type name other than `M`'s, or a payload that does not
    /// deserialize as `M`, is a validation error naming both.
    pub fn message<M: Message + DeserializeOwned>(&self) -> Result<M> {
        if self.type_name != M::NAME {
            return Err(Error::validation(format!(
                "envelope {} holds a `{}`, not a `{}`",
                self.id,
                self.type_name,
                M::NAME
            )));
        }
        serde_json::from_value(self.payload.clone()).map_err(|error| {
            Error::validation(format!(
                "envelope {} does not hold a valid `{}`: {error}",
                self.id,
                M::NAME
            ))
            .with_source(error)
        })
    }
}

/// The type name of reply envelopes.
const REPLY_TYPE: &str = "catga.reply";

/// What a reply envelope's payload holds: the handler's response, or its error's kind and
/// message, so the caller gets the same error kinds a local send returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyBody {
    /// The handler's response, serialized.
    Ok(serde_json::Value),
    /// The handler's (or the pipeline's) error.
    Error {
        /// [`ErrorKind::as_str`].
        kind: String,
        /// [`Error::message`].
        message: String,
    },
}

impl ReplyBody {
    /// The body for a handler's outcome.
    pub fn of<T: Serialize>(outcome: &Result<T>) -> ReplyBody {
        match outcome {
            Ok(value) => match serde_json::to_value(value) {
                Ok(value) => ReplyBody::Ok(value),
                Err(error) => ReplyBody::Error {
                    kind: ErrorKind::Internal.as_str().to_string(),
                    message: format!("cannot serialize the response: {error}"),
                },
            },
            Err(error) => ReplyBody::Error {
                kind: error.kind().as_str().to_string(),
                message: error.message().to_string(),
            },
        }
    }

    /// The outcome the body carries, with the response as a `T`.
    pub fn into_result<T: DeserializeOwned>(self) -> Result<T> {
        match self {
            ReplyBody::Ok(value) => serde_json::from_value(value).map_err(|error| {
                Error::internal(format!(
                    "the reply does not hold the expected response: {error}"
                ))
                .with_source(error)
            }),
            ReplyBody::Error { kind, message } => {
                let kind = ErrorKind::from_name(&kind).unwrap_or(ErrorKind::Internal);
                Err(Error::new(kind, message))
            }
        }
    }
}

/// Milliseconds since the Unix epoch: an envelope's `created_at_ms`.
pub(crate) fn now_millis() -> Result<i64> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Error::internal(format!("system clock is before 1970: {e}")))?;
    Ok(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
}

/// 128 random bits in hex.
fn fresh_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// The start of `bytes`, for error messages.
fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).into_owned();
    if bytes.len() > 60 {
        format!("`{text}…`")
    } else {
        format!("`{text}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MessageId;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, crate::Event)]
    struct Shipped {
        order: u64,
    }

    #[test]
    fn round_trips_with_ids_from_the_context() {
        let ctx = Context::new(MessageId(7));
        let envelope = Envelope::of(&Shipped { order: 3 }, &ctx)
            .expect("serializes")
            .with_key("order-3");
        assert_eq!(envelope.type_name, "Shipped");
        assert_eq!(envelope.causation_id.as_deref(), Some("0000000000000007"));
        assert_eq!(envelope.id.len(), 32);
        let decoded = Envelope::decode(&envelope.encode()).expect("decodes");
        assert_eq!(decoded, envelope);
        assert_eq!(
            decoded.message::<Shipped>().expect("a Shipped"),
            Shipped { order: 3 }
        );
    }

    #[test]
    fn carries_the_trace_context_and_reads_envelopes_without_headers() {
        let envelope =
            Envelope::of(&Shipped { order: 4 }, &Context::new(MessageId(4))).expect("serializes");
        let context =
            crate::telemetry::TraceContext::from_headers(&envelope.headers).expect("a trace");
        let decoded = Envelope::decode(&envelope.encode()).expect("decodes");
        assert_eq!(
            crate::telemetry::TraceContext::from_headers(&decoded.headers),
            Some(context)
        );
        // Written before headers existed: no `headers` key at all.
        let old = br#"{"version":1,"id":"ab","type_name":"Shipped","schema_version":1,
            "correlation_id":"c","causation_id":null,"created_at_ms":0,"key":null,
            "payload":{"order":5}}"#;
        let old = Envelope::decode(old).expect("an old envelope reads");
        assert!(old.headers.is_empty());
        assert_eq!(
            old.message::<Shipped>().expect("a Shipped"),
            Shipped { order: 5 }
        );
        // And empty headers are not written, so older readers see the old shape.
        let encoded = String::from_utf8(old.encode()).expect("utf-8");
        assert!(!encoded.contains("headers"), "{encoded}");
    }

    #[test]
    fn refuses_what_is_not_an_envelope_of_this_version() {
        let not_json = Envelope::decode(b"hello").unwrap_err();
        assert!(
            not_json.message().contains("not a catga envelope"),
            "{not_json}"
        );
        let no_version = Envelope::decode(br#"{"id":"x"}"#).unwrap_err();
        assert!(
            no_version.message().contains("no `version`"),
            "{no_version}"
        );
        let future = Envelope::decode(br#"{"version":9}"#).unwrap_err();
        assert!(future.message().contains("version 9"), "{future}");
        let mut envelope =
            Envelope::of(&Shipped { order: 1 }, &Context::new(MessageId(1))).expect("serializes");
        envelope.type_name = "Other".into();
        let wrong = envelope.message::<Shipped>().unwrap_err();
        assert!(
            wrong.message().contains("holds a `Other`, not a `Shipped`"),
            "{wrong}"
        );
    }

    #[test]
    fn replies_carry_error_kinds() {
        let ok = ReplyBody::of(&Ok::<u32, Error>(5));
        assert_eq!(ok.into_result::<u32>().expect("ok"), 5);
        let failed = ReplyBody::of(&Err::<u32, Error>(Error::not_found("no order 9")));
        let error = failed.into_result::<u32>().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert_eq!(error.message(), "no order 9");
    }
}
