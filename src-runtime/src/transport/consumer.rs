//! [`EventConsumer`]: one member of a consumer group, taking events from a transport into the
//! local mediator with the runtime's delivery policy, the same for every transport.
//!
//! For each delivery: skip it if the inbox has its id; otherwise publish it to the local
//! handlers, record the id, and acknowledge. When handling fails, the delivery comes back after
//! the backoff, until `max_attempts`; then, or at once for an envelope that cannot be decoded or
//! routed (a poison message: retrying cannot help), it goes to the group's dead-letter subject
//! with the reason, and the stream moves on.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{
    ConsumerOptions, Delivery, ENVELOPE_VERSION, Envelope, Routes, SqliteInbox, Transport,
    dead_letter_subject,
};
use crate::{ErrorKind, Mediator, Result};

/// What became of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The handlers ran and succeeded.
    Applied,
    /// The inbox had the id: acknowledged without running the handlers.
    Duplicate,
    /// Handling failed; the broker delivers it again after the backoff.
    Retried,
    /// Handling failed for good; it is on the dead-letter subject.
    DeadLettered,
}

/// The payload of a dead-letter envelope (type name `catga.dead_letter`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The consumer group that gave up.
    pub group: String,
    /// How many deliveries it had.
    pub attempts: u32,
    /// The last error's kind ([`ErrorKind::as_str`]).
    pub error_kind: String,
    /// The last error's message.
    pub error: String,
    /// The message as it was delivered.
    pub envelope: Envelope,
}

/// The type name of dead-letter envelopes.
pub const DEAD_LETTER_TYPE: &str = "catga.dead_letter";

/// A consumer group member feeding `routes`' events to a mediator.
#[derive(Clone)]
pub struct EventConsumer {
    transport: Arc<dyn Transport>,
    group: String,
    routes: Routes,
    mediator: Mediator,
    inbox: Option<SqliteInbox>,
    options: ConsumerOptions,
}

impl std::fmt::Debug for EventConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventConsumer")
            .field("group", &self.group)
            .field("routes", &self.routes)
            .field("inbox", &self.inbox)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl EventConsumer {
    /// A member of consumer group `group` (usually the service's name) for the events in
    /// `routes`, delivering them to `mediator`.
    pub fn new(
        transport: Arc<dyn Transport>,
        group: impl Into<String>,
        routes: Routes,
        mediator: Mediator,
    ) -> Self {
        EventConsumer {
            transport,
            group: group.into(),
            routes,
            mediator,
            inbox: None,
            options: ConsumerOptions::default(),
        }
    }

    /// Deduplicate deliveries through `inbox`.
    pub fn inbox(mut self, inbox: SqliteInbox) -> Self {
        self.inbox = Some(inbox);
        self
    }

    /// Acknowledgement deadline, attempts and backoff.
    pub fn options(mut self, options: ConsumerOptions) -> Self {
        self.options = options;
        self
    }

    /// Consumes until the subscription fails (the transport shut down) or settling a delivery
    /// fails; returns that error. Run it in a task; several members may run in one process or
    /// in several.
    pub async fn run(self) -> Result<()> {
        let subjects = self.routes.event_subjects();
        let mut subscription = self
            .transport
            .subscribe(&self.group, &subjects, &self.options)
            .await?;
        loop {
            let delivery = subscription.next().await?;
            self.handle(delivery).await?;
        }
    }

    /// Handles and settles one delivery.
    pub async fn handle(&self, delivery: Delivery) -> Result<Handled> {
        let id = delivery.envelope.id.clone();
        if let Some(inbox) = &self.inbox
            && inbox.seen(&self.group, &id).await?
        {
            delivery.ack().await?;
            return Ok(Handled::Duplicate);
        }
        let outcome = self
            .routes
            .deliver(&self.mediator, delivery.envelope.clone())
            .await;
        let error = match outcome {
            Ok(()) => {
                if let Some(inbox) = &self.inbox {
                    inbox.record(&self.group, &id).await?;
                }
                delivery.ack().await?;
                return Ok(Handled::Applied);
            }
            Err(error) => error,
        };
        // A message that does not decode or route fails the same way every time.
        let poison = error.kind() == ErrorKind::Validation;
        if !poison && delivery.attempt < self.options.max_attempts {
            let delay = self.options.backoff_after(delivery.attempt);
            delivery.retry(delay).await?;
            return Ok(Handled::Retried);
        }
        tracing::warn!(
            group = %self.group,
            message_type = %delivery.envelope.type_name,
            message_id = %id,
            attempts = delivery.attempt,
            error = %error,
            "catga: dead-lettering a message"
        );
        let letter = DeadLetter {
            group: self.group.clone(),
            attempts: delivery.attempt,
            error_kind: error.kind().as_str().to_string(),
            error: error.message().to_string(),
            envelope: delivery.envelope.clone(),
        };
        let subject = dead_letter_subject(&self.group, &delivery.envelope.type_name);
        self.transport
            .publish(&subject, &dead_letter_envelope(&letter)?)
            .await?;
        delivery.ack().await?;
        Ok(Handled::DeadLettered)
    }
}

fn dead_letter_envelope(letter: &DeadLetter) -> Result<Envelope> {
    let original = &letter.envelope;
    let payload = serde_json::to_value(letter).map_err(|error| {
        crate::Error::internal(format!("cannot serialize a dead letter: {error}"))
    })?;
    Ok(Envelope {
        version: ENVELOPE_VERSION,
        // Derived from the original, so dead-lettering it twice stores one letter.
        id: format!("dead-{}-{}", letter.group, original.id),
        type_name: DEAD_LETTER_TYPE.to_string(),
        schema_version: 1,
        correlation_id: original.correlation_id.clone(),
        causation_id: Some(original.id.clone()),
        created_at_ms: crate::sqlite::now_millis()?,
        key: original.key.clone(),
        payload,
    })
}
