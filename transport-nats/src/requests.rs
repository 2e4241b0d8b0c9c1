//! Commands: core NATS request/reply, served by queue groups.

use std::time::Duration;

use async_nats::Subject;
use catga::transport::{BoxFuture, Envelope, IncomingRequest, ReplyBody, Requests, Respond};
use catga::{Error, ErrorKind, Result};
use futures_util::StreamExt;
use futures_util::stream::SelectAll;

use crate::{errors, names};

/// Sends `envelope` on `subject` and waits at most `timeout` for the reply envelope.
pub(crate) async fn request(
    client: &async_nats::Client,
    subject: &str,
    envelope: &Envelope,
    timeout: Duration,
) -> Result<Envelope> {
    let request = async_nats::Request::new()
        .payload(envelope.encode().into())
        .timeout(Some(timeout));
    let reply = client
        .send_request(subject.to_string(), request)
        .await
        .map_err(|error| errors::request(subject, timeout, error))?;
    Envelope::decode(&reply.payload).map_err(|error| {
        Error::validation(format!(
            "the reply on `{subject}` is not a catga envelope this service reads: {}",
            error.message()
        ))
    })
}

/// Subscribes to `subjects` in queue group `group`.
pub(crate) async fn serve(
    client: &async_nats::Client,
    group: &str,
    subjects: &[String],
) -> Result<NatsRequests> {
    names::validate_group(group)?;
    if subjects.is_empty() {
        return Err(Error::validation(format!(
            "queue group `{group}` serves no subject: pass at least one, for example \
             catga::transport::command_subject(\"CreateOrder\")"
        )));
    }
    let mut subscribers = SelectAll::new();
    for subject in subjects {
        names::validate_subject(subject, "request")?;
        let subscriber = client
            .queue_subscribe(subject.clone(), group.to_string())
            .await
            .map_err(|error| {
                Error::unavailable(format!(
                    "cannot serve `{subject}` in queue group `{group}`: {error}"
                ))
                .with_source(error)
            })?;
        subscribers.push(subscriber);
    }
    Ok(NatsRequests {
        client: client.clone(),
        group: group.to_string(),
        subscribers,
    })
}

/// A queue group member's incoming requests.
pub(crate) struct NatsRequests {
    client: async_nats::Client,
    group: String,
    subscribers: SelectAll<async_nats::Subscriber>,
}

impl std::fmt::Debug for NatsRequests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsRequests")
            .field("group", &self.group)
            .field("subjects", &self.subscribers.len())
            .finish()
    }
}

impl Requests for NatsRequests {
    fn next(&mut self) -> BoxFuture<'_, Result<IncomingRequest>> {
        Box::pin(async move {
            loop {
                let Some(message) = self.subscribers.next().await else {
                    return Err(Error::unavailable(format!(
                        "queue group `{}` stopped serving: the NATS connection was closed",
                        self.group
                    )));
                };
                let subject = message.subject.to_string();
                let Some(reply_to) = message.reply else {
                    tracing::warn!(
                        subject,
                        group = self.group,
                        "catga-nats: ignoring a message without a reply subject (a publish, not \
                         a request)"
                    );
                    continue;
                };
                let respond = NatsRespond {
                    client: self.client.clone(),
                    reply_to,
                    subject,
                };
                match Envelope::decode(&message.payload) {
                    Ok(envelope) => return Ok(IncomingRequest::new(envelope, Box::new(respond))),
                    // Answered here rather than dropped, so the caller fails now with the
                    // reason instead of timing out.
                    Err(error) => reject(respond, &error).await,
                }
            }
        })
    }
}

/// Answers a request that is not a catga envelope with a validation error.
async fn reject(respond: NatsRespond, error: &Error) {
    let subject = respond.subject.clone();
    tracing::warn!(subject, "catga-nats: rejecting a request: {error}");
    let body = ReplyBody::Error {
        kind: ErrorKind::Validation.as_str().to_string(),
        message: format!(
            "the request on `{subject}` was refused by its server: {}",
            error.message()
        ),
    };
    let placeholder = Envelope {
        version: catga::transport::ENVELOPE_VERSION,
        id: String::new(),
        type_name: String::new(),
        schema_version: 1,
        correlation_id: String::new(),
        causation_id: None,
        created_at_ms: 0,
        key: None,
        payload: serde_json::Value::Null,
        headers: Default::default(),
    };
    let sent = match placeholder.reply(&body) {
        Ok(reply) => Box::new(respond).respond(reply).await,
        Err(error) => Err(error),
    };
    if let Err(error) = sent {
        tracing::warn!(
            subject,
            "catga-nats: cannot answer a refused request: {error}"
        );
    }
}

/// Answers one request on its reply subject.
struct NatsRespond {
    client: async_nats::Client,
    reply_to: Subject,
    subject: String,
}

impl Respond for NatsRespond {
    fn respond(self: Box<Self>, envelope: Envelope) -> BoxFuture<'static, Result<()>> {
        Box::pin(async move {
            self.client
                .publish(self.reply_to, envelope.encode().into())
                .await
                .map_err(|error| {
                    Error::unavailable(format!(
                        "cannot send the reply to the request on `{}`: {error}",
                        self.subject
                    ))
                    .with_source(error)
                })
        })
    }
}
