//! [`EventConsumer`]: one member of a consumer group, taking events from a transport into the
//! local mediator with the runtime's delivery policy, the same for every transport.
//!
//! For each delivery: skip it if the inbox has its id; otherwise publish it to the local
//! handlers, record the id, and acknowledge. When handling fails, or outlasts its deadline, the
//! delivery comes back after the backoff, until `max_attempts`; then, or at once for an envelope
//! that cannot be decoded or routed (a poison message: retrying cannot help), it goes to the
//! group's dead-letter subject with the reason, and the stream moves on.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::routes::EventRoute;
use super::{
    ConsumerOptions, Delivery, ENVELOPE_VERSION, Envelope, Inbox, Routes, Transport,
    UNDECODABLE_TYPE, Undecodable, dead_letter_subject,
};
use crate::telemetry::{MessagingSpan, Operation};
use crate::{Error, ErrorKind, Mediator, Result};

/// What became of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The handlers ran and succeeded.
    Applied,
    /// The inbox had the id: acknowledged without running the handlers.
    Duplicate,
    /// Not done yet: the broker delivers it again after the backoff (or after `ack_wait`, when
    /// its dead letter could not be stored).
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
#[derive(Debug, Clone)]
pub struct EventConsumer {
    transport: Arc<dyn Transport>,
    /// Shared, so that labelling a delivery's metrics with it copies no string.
    group: Arc<str>,
    routes: Routes,
    mediator: Mediator,
    inbox: Option<Arc<dyn Inbox>>,
    options: ConsumerOptions,
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
            group: Arc::from(group.into()),
            routes,
            mediator,
            inbox: None,
            options: ConsumerOptions::default(),
        }
    }

    /// Deduplicate deliveries through `inbox` (such as `catga_sqlite::SqliteInbox`).
    pub fn inbox(mut self, inbox: impl Inbox) -> Self {
        self.inbox = Some(Arc::new(inbox));
        self
    }

    /// Acknowledgement deadline, attempts and backoff.
    pub fn options(mut self, options: ConsumerOptions) -> Self {
        self.options = options;
        self
    }

    /// Consumes until the subscription fails (the transport shut down) or the inbox cannot be
    /// read or written; returns that error. Run it in a task; several members may run in one
    /// process or in several.
    ///
    /// Up to [`ConsumerOptions::concurrency`] deliveries are handled at once: those of one
    /// ordering key one after another, in the order they arrived.
    pub async fn run(self) -> Result<()> {
        self.check_deadlines()?;
        if self.routes.has_projections() && self.inbox.is_none() {
            return Err(Error::new(
                ErrorKind::Configuration,
                format!(
                    "consumer group `{}` routes events to projections, which write in the \
                     inbox's transaction: give it one with `.inbox(..)` (such as \
                     `catga_sqlite::SqliteInbox::open(..)`)",
                    self.group
                ),
            ));
        }
        let subjects = self.routes.event_subjects();
        let subscription = self
            .transport
            .subscribe(&self.group, &subjects, &self.options)
            .await?;
        // A stream, so that waiting for the next delivery can be dropped and resumed (the
        // wait in progress stays inside the stream) while handlings finish.
        let mut deliveries =
            futures_util::stream::unfold(subscription, |mut subscription| async move {
                let delivery = subscription.next().await;
                Some((delivery, subscription))
            })
            .boxed();
        let limit = self.options.concurrency.max(1);
        let mut running = FuturesUnordered::new();
        // The ordering keys being handled, each with the deliveries that wait behind it.
        let mut behind: HashMap<String, VecDeque<Delivery>> = HashMap::new();
        let mut waiting = 0;
        loop {
            tokio::select! {
                biased;
                Some((key, handled)) = running.next(), if !running.is_empty() => {
                    handled?;
                    let Some(key) = key else { continue };
                    match behind.get_mut(&key).and_then(VecDeque::pop_front) {
                        Some(next) => {
                            waiting -= 1;
                            running.push(self.handle_in_turn(Some(key), next));
                        }
                        None => {
                            behind.remove(&key);
                        }
                    }
                }
                delivery = deliveries.next(), if running.len() + waiting < limit => {
                    let Some(delivery) = delivery else {
                        return Err(Error::internal("the subscription ended"));
                    };
                    let delivery = delivery?;
                    match delivery.envelope.key.clone() {
                        Some(key) => match behind.get_mut(&key) {
                            Some(queue) => {
                                queue.push_back(delivery);
                                waiting += 1;
                            }
                            None => {
                                behind.insert(key.clone(), VecDeque::new());
                                running.push(self.handle_in_turn(Some(key), delivery));
                            }
                        },
                        None => running.push(self.handle_in_turn(None, delivery)),
                    }
                }
            }
        }
    }

    /// Handles `delivery`, whose ordering key is `key`, and hands the key back with the outcome.
    async fn handle_in_turn(
        &self,
        key: Option<String>,
        delivery: Delivery,
    ) -> (Option<String>, Result<Handled>) {
        (key, self.handle(delivery).await)
    }

    /// Every handling deadline must end before `ack_wait` does, and name a routed type.
    fn check_deadlines(&self) -> Result<()> {
        let ack_wait = self.options.ack_wait;
        let own = self.options.handling_deadline();
        if own.is_zero() || own >= ack_wait {
            return Err(Error::new(
                ErrorKind::Configuration,
                format!(
                    "consumer group `{}`: the handling deadline ({own:?}) must be above zero and \
                     shorter than ack_wait ({ack_wait:?}), or the broker hands a message to \
                     another member while this one still works on it; lower \
                     ConsumerOptions::handling_deadline or raise ack_wait",
                    self.group
                ),
            ));
        }
        let routed = self.routes.event_subjects();
        for (type_name, deadline) in self.routes.deadlines() {
            if !routed.contains(&super::event_subject(type_name)) {
                return Err(Error::new(
                    ErrorKind::Configuration,
                    format!(
                        "consumer group `{}` sets a deadline for `{type_name}`, which its routes \
                         do not consume: add `.event::<{type_name}>()` or drop the deadline",
                        self.group
                    ),
                ));
            }
            if deadline.is_zero() || deadline >= ack_wait {
                return Err(Error::new(
                    ErrorKind::Configuration,
                    format!(
                        "consumer group `{}`: the deadline of `{type_name}` ({deadline:?}) must be \
                         above zero and shorter than ack_wait ({ack_wait:?}), or the broker hands \
                         the message to another member while this one still works on it",
                        self.group
                    ),
                ));
            }
        }
        Ok(())
    }

    /// How long handling `envelope` may take.
    fn deadline_of(&self, envelope: &Envelope) -> Duration {
        self.routes
            .deadline_of(&envelope.type_name)
            .unwrap_or_else(|| self.options.handling_deadline())
    }

    /// Handles and settles one delivery. An error means the inbox cannot be read or written;
    /// a delivery that cannot be settled (the broker is unreachable) is left to come back after
    /// `ack_wait`, where the inbox recognizes it.
    ///
    /// The handling runs in a `catga.process` span (`messaging.operation = "process"`) whose
    /// parent is the producer's span, read from the envelope's trace context headers.
    pub async fn handle(&self, delivery: Delivery) -> Result<Handled> {
        let span = MessagingSpan::consumer(
            Operation::Process,
            Some(self.transport.messaging_system()),
            &delivery.subject,
            Some(&self.group),
            &delivery.envelope,
        );
        #[cfg(feature = "metrics")]
        let type_name = self.routes.metric_label(&delivery.envelope.type_name);
        let handled = span.run(self.handle_in_span(delivery)).await;
        #[cfg(feature = "metrics")]
        if let Ok(outcome) = &handled {
            let outcome = match outcome {
                Handled::Applied => "applied",
                Handled::Duplicate => "duplicate",
                Handled::Retried => "retried",
                Handled::DeadLettered => "dead_lettered",
            };
            crate::telemetry::metrics::delivered(type_name, &self.group, outcome);
        }
        handled
    }

    async fn handle_in_span(&self, delivery: Delivery) -> Result<Handled> {
        if delivery.envelope.type_name == UNDECODABLE_TYPE {
            let error = undecodable_error(&delivery.envelope);
            return Ok(self.dead_letter(delivery, &error).await);
        }
        let allowed = self.deadline_of(&delivery.envelope);
        let deadline = Instant::now() + allowed;
        let applied =
            tokio::time::timeout_at(deadline, self.apply(&delivery.envelope, deadline)).await;
        let applied = applied.unwrap_or_else(|_| {
            Ok(Err(Error::timeout(format!(
                "handling {} {} took longer than its deadline of {allowed:?}; its handlers \
                 were stopped (raise the deadline with Routes::deadline if they are slow \
                 rather than stuck)",
                delivery.envelope.type_name, delivery.envelope.id
            ))))
        });
        let error = match applied? {
            Ok(handled) => {
                settled(delivery.ack_unconfirmed().await, &self.group);
                return Ok(handled);
            }
            Err(error) => error,
        };
        // A message that does not decode or route fails the same way every time.
        let poison = error.kind() == ErrorKind::Validation;
        if !poison && delivery.attempt < self.options.max_attempts {
            let delay = self.options.backoff_after(delivery.attempt);
            settled(delivery.retry(delay).await, &self.group);
            return Ok(Handled::Retried);
        }
        Ok(self.dead_letter(delivery, &error).await)
    }

    /// Applies one envelope. The outer error stops the consumer (its inbox failed); the inner
    /// one is the delivery's failure, to retry or dead-letter.
    async fn apply(&self, envelope: &Envelope, deadline: Instant) -> Result<Result<Handled>> {
        let route = match self.routes.event_route(envelope) {
            Ok(route) => route,
            Err(error) => return Ok(Err(error)),
        };
        match (route, &self.inbox) {
            (EventRoute::Projection(projection), Some(inbox)) => {
                Ok(projection.apply(&**inbox, &self.group, envelope).await)
            }
            (EventRoute::Projection(_), None) => Ok(Err(Error::new(
                ErrorKind::Configuration,
                format!(
                    "consumer group `{}` has a projection but no inbox",
                    self.group
                ),
            ))),
            (EventRoute::Mediator(deliver), inbox) => {
                if let Some(inbox) = inbox
                    && inbox.seen(&self.group, &envelope.id).await?
                {
                    return Ok(Ok(Handled::Duplicate));
                }
                if let Err(error) = deliver(self.mediator.clone(), envelope.clone(), deadline).await
                {
                    return Ok(Err(error));
                }
                if let Some(inbox) = inbox {
                    inbox.record(&self.group, &envelope.id).await?;
                }
                Ok(Ok(Handled::Applied))
            }
        }
    }

    /// Publishes the delivery to the group's dead-letter subject with the reason, then
    /// acknowledges it: the stream moves on. When the letter cannot be published, the delivery
    /// is not acknowledged: it comes back after `ack_wait` and is dead-lettered then.
    async fn dead_letter(&self, delivery: Delivery, error: &Error) -> Handled {
        tracing::warn!(
            group = %self.group,
            message_type = %delivery.envelope.type_name,
            message_id = %delivery.envelope.id,
            attempts = delivery.attempt,
            error = %error,
            "catga: dead-lettering a message"
        );
        let letter = DeadLetter {
            group: self.group.to_string(),
            attempts: delivery.attempt,
            error_kind: error.kind().as_str().to_string(),
            error: error.message().to_string(),
            envelope: delivery.envelope.clone(),
        };
        let subject = dead_letter_subject(&self.group, &delivery.envelope.type_name);
        let stored = match dead_letter_envelope(&letter) {
            Ok(envelope) => self.transport.publish(&subject, &envelope).await,
            Err(error) => Err(error),
        };
        match stored {
            Ok(()) => {
                settled(delivery.ack_unconfirmed().await, &self.group);
                Handled::DeadLettered
            }
            Err(error) => {
                tracing::warn!(group = %self.group, %error, "catga: cannot store a dead letter; the message comes back after ack_wait");
                Handled::Retried
            }
        }
    }
}

/// Logs a settlement the broker did not confirm: the delivery comes back after `ack_wait`,
/// which the inbox (or a retry) absorbs.
fn settled(outcome: Result<()>, group: &str) {
    if let Err(error) = outcome {
        tracing::warn!(group, %error, "catga: a delivery was not settled; the broker delivers it again after ack_wait");
    }
}

/// Why the transport could not decode the message an [`UNDECODABLE_TYPE`] envelope stands for.
fn undecodable_error(envelope: &Envelope) -> Error {
    let why = serde_json::from_value::<Undecodable>(envelope.payload.clone()).map_or_else(
        |error| format!("(no reason kept: {error})"),
        |payload| payload.error,
    );
    Error::validation(format!(
        "message {} could not be decoded: {why}; its bytes are in this letter",
        envelope.id
    ))
}

fn dead_letter_envelope(letter: &DeadLetter) -> Result<Envelope> {
    let original = &letter.envelope;
    let payload = serde_json::to_value(letter)
        .map_err(|error| Error::internal(format!("cannot serialize a dead letter: {error}")))?;
    Ok(Envelope {
        version: ENVELOPE_VERSION,
        // Derived from the original, so dead-lettering it twice stores one letter.
        id: format!("dead-{}-{}", letter.group, original.id),
        type_name: DEAD_LETTER_TYPE.to_string(),
        schema_version: 1,
        correlation_id: original.correlation_id.clone(),
        causation_id: Some(original.id.clone()),
        created_at_ms: super::envelope::now_millis()?,
        key: original.key.clone(),
        payload,
        headers: trace_headers(),
    })
}

/// Headers carrying the current trace context (the consumer's span, for a dead letter).
fn trace_headers() -> std::collections::BTreeMap<String, String> {
    let mut headers = std::collections::BTreeMap::new();
    if let Some(context) = crate::telemetry::current() {
        context.inject(&mut headers);
    }
    headers
}
