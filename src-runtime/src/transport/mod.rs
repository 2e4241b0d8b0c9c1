//! Past one process: messages cross a [`Transport`] (a broker) as [`Envelope`]s.
//!
//! The transport moves bytes between subjects with the broker's guarantees and nothing more:
//! durable at-least-once event delivery to durable consumer groups (every group gets each
//! event; one member of a group handles it), explicit acknowledgement, redelivery after a
//! delay, and request/reply for commands. What to do with a delivery (decode it, skip a
//! duplicate, run the handlers, retry, dead-letter) is the runtime's, the same for every
//! transport.
//!
//! Subjects are derived from message type names: [`event_subject`], [`command_subject`] and
//! [`dead_letter_subject`].

pub(crate) mod capture;
mod consumer;
mod envelope;
mod inbox;
mod memory;
mod outbox;
mod remote;
mod routes;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::Result;

pub use consumer::{DEAD_LETTER_TYPE, DeadLetter, EventConsumer, Handled};
pub use envelope::{
    ENVELOPE_VERSION, Envelope, MAX_UNDECODABLE_BYTES, ReplyBody, UNDECODABLE_TYPE, Undecodable,
};
pub use inbox::{Inbox, Projection};
pub use memory::MemoryTransport;
pub use outbox::{Outbox, OutboxEntry};
pub use remote::{DEFAULT_REQUEST_TIMEOUT, RequestServer, in_doubt, send, send_retrying};
pub use routes::Routes;

/// A heap-allocated, `Send` future: what the transport traits' methods return, so a transport
/// can live behind `Arc<dyn Transport>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The subject events of type `type_name` are published on: `catga.events.<type_name>`.
pub fn event_subject(type_name: &str) -> String {
    format!("catga.events.{type_name}")
}

/// The subject commands of type `type_name` are requested on: `catga.commands.<type_name>`.
pub fn command_subject(type_name: &str) -> String {
    format!("catga.commands.{type_name}")
}

/// Where consumer group `group` puts the events of type `type_name` it gave up on:
/// `catga.dead.<group>.<type_name>`.
pub fn dead_letter_subject(group: &str, type_name: &str) -> String {
    format!("catga.dead.{group}.{type_name}")
}

/// A message broker.
///
/// Implementations: [`MemoryTransport`] in this crate (one process, for tests and embedded
/// use) and `catga_nats::NatsTransport` (NATS JetStream).
pub trait Transport: Send + Sync + 'static {
    /// Publishes `envelope` on `subject` (an event or a dead letter) and returns once the broker
    /// has stored it durably: after `Ok`, the message survives a crash of this process and of
    /// the broker. An `Err` means it may or may not have been stored; publishing again is safe,
    /// because consumers deduplicate on [`Envelope::id`].
    fn publish<'a>(&'a self, subject: &'a str, envelope: &'a Envelope)
    -> BoxFuture<'a, Result<()>>;

    /// Consumes `subjects` (exact subjects, or ending in `>` for every subject below) as a member
    /// of the durable consumer group `group`. Every group receives each message; within a group,
    /// one member at a time holds it. A message that is not acknowledged within
    /// [`ConsumerOptions::ack_wait`] (its consumer died) is delivered again, to any member.
    fn subscribe<'a>(
        &'a self,
        group: &'a str,
        subjects: &'a [String],
        options: &'a ConsumerOptions,
    ) -> BoxFuture<'a, Result<Box<dyn Subscription>>>;

    /// Sends the request `envelope` on `subject` and waits for one reply, at most `timeout`.
    /// No server for the subject is [`ErrorKind::NoHandler`](crate::ErrorKind::NoHandler);
    /// no reply in time is [`ErrorKind::Timeout`](crate::ErrorKind::Timeout).
    fn request<'a>(
        &'a self,
        subject: &'a str,
        envelope: &'a Envelope,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Envelope>>;

    /// Serves the requests on `subjects` as a member of queue group `group`: each request goes
    /// to one member.
    fn serve<'a>(
        &'a self,
        group: &'a str,
        subjects: &'a [String],
    ) -> BoxFuture<'a, Result<Box<dyn Requests>>>;

    /// The broker's name in OpenTelemetry's `messaging.system` attribute (`"nats"`), which
    /// catga's messaging spans carry. Defaults to `"catga"`.
    fn messaging_system(&self) -> &'static str {
        "catga"
    }

    /// `Ok` when the broker is reachable now, else why not: what a readiness probe asks
    /// (`catga_ops::Health::transport`). Defaults to `Ok`, for transports always reachable.
    fn health_check(&self) -> Result<()> {
        Ok(())
    }

    /// How many messages on `subject` (as subscribed) are stored and not yet delivered to
    /// consumer group `group`: the group's lag, which `catga_ops::watch_consumer_lag` exports.
    /// `None` when the transport cannot tell, or the group has not subscribed to `subject`.
    /// Defaults to `None`.
    fn lag<'a>(&'a self, group: &'a str, subject: &'a str) -> BoxFuture<'a, Result<Option<u64>>> {
        let _ = (group, subject);
        Box::pin(async { Ok(None) })
    }
}

/// The broker by its [`messaging_system`](Transport::messaging_system) name
/// (`Transport("nats")`), so that types holding an `Arc<dyn Transport>` can derive `Debug`.
impl std::fmt::Debug for dyn Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Transport")
            .field(&self.messaging_system())
            .finish()
    }
}

/// How a consumer group's deliveries are retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerOptions {
    /// How long a delivery may stay unacknowledged before the broker delivers it again.
    pub ack_wait: Duration,
    /// Deliveries of one message, the first included, before it is dead-lettered.
    pub max_attempts: u32,
    /// The pause before the first redelivery after a failure; doubles with each attempt.
    pub backoff: Duration,
    /// The longest pause between redeliveries.
    pub max_backoff: Duration,
    /// How long handling one delivery may take. Past it the handlers' futures are dropped and
    /// the attempt fails with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout): retried after
    /// the backoff, then dead-lettered, while the member goes on with the next delivery, so a
    /// hung handler cannot stop a consumer group. `None` is four fifths of `ack_wait`. It
    /// must be shorter than `ack_wait`: past that the broker hands the message to another
    /// member while this one still works on it. A route can set its own
    /// ([`Routes::deadline`]).
    pub handling_deadline: Option<Duration>,
    /// How many deliveries a member handles at once. Deliveries with the same ordering key
    /// ([`Envelope::key`]) are handled one after another, in the order they arrive; those of
    /// other keys, and those without a key, side by side. 1 handles everything in order.
    pub concurrency: usize,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        ConsumerOptions {
            ack_wait: Duration::from_secs(30),
            max_attempts: 5,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            handling_deadline: None,
            concurrency: 32,
        }
    }
}

impl ConsumerOptions {
    /// How long handling one delivery may take when its route sets no deadline of its own.
    pub fn handling_deadline(&self) -> Duration {
        self.handling_deadline
            .unwrap_or_else(|| self.ack_wait.mul_f64(0.8))
    }

    /// The pause before redelivering a message whose delivery `attempt` (1-based) failed.
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff)
    }
}

/// A consumer group member's stream of deliveries.
pub trait Subscription: Send {
    /// The next delivery, waiting for one. An error means the subscription cannot go on (the
    /// transport was shut down); a broker that is briefly unreachable is waited for, not an
    /// error.
    fn next(&mut self) -> BoxFuture<'_, Result<Delivery>>;
}

/// One delivery of one message to a consumer group member, to be settled exactly once.
pub struct Delivery {
    /// The message.
    pub envelope: Envelope,
    /// The subject it was published on.
    pub subject: String,
    /// Which delivery of this message this is to the group, from 1.
    pub attempt: u32,
    settle: Box<dyn Settle>,
}

impl Delivery {
    /// A delivery that `settle` acknowledges or returns to the broker.
    pub fn new(envelope: Envelope, subject: String, attempt: u32, settle: Box<dyn Settle>) -> Self {
        Delivery {
            envelope,
            subject,
            attempt,
            settle,
        }
    }

    /// Done with: the broker will not deliver it to this group again. Waits for the broker to
    /// confirm it stored the acknowledgement.
    pub async fn ack(self) -> Result<()> {
        self.settle.ack().await
    }

    /// Done with, without waiting for the broker's confirmation: cheaper (no round trip per
    /// message), and if the acknowledgement is lost the message comes back after `ack_wait`,
    /// as after a crash, which an inbox absorbs. [`EventConsumer`] settles this way.
    pub async fn ack_unconfirmed(self) -> Result<()> {
        self.settle.ack_unconfirmed().await
    }

    /// Failed: deliver it to the group again after `delay`.
    pub async fn retry(self, delay: Duration) -> Result<()> {
        self.settle.retry(delay).await
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("envelope", &self.envelope)
            .field("subject", &self.subject)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// How a transport settles one delivery.
pub trait Settle: Send {
    /// Acknowledge: never deliver again to this group; resolves once the broker confirmed it.
    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<()>>;
    /// Acknowledge without waiting for a confirmation (a lost one means a redelivery after
    /// `ack_wait`). The default waits, as [`ack`](Settle::ack) does.
    fn ack_unconfirmed(self: Box<Self>) -> BoxFuture<'static, Result<()>> {
        self.ack()
    }
    /// Negative acknowledgement: deliver again after `delay`.
    fn retry(self: Box<Self>, delay: Duration) -> BoxFuture<'static, Result<()>>;
}

/// A queue group member's stream of incoming requests.
pub trait Requests: Send {
    /// The next request, waiting for one.
    fn next(&mut self) -> BoxFuture<'_, Result<IncomingRequest>>;
}

/// One request, to be answered once.
pub struct IncomingRequest {
    /// The request.
    pub envelope: Envelope,
    reply: Box<dyn Respond>,
}

impl IncomingRequest {
    /// A request that `reply` answers.
    pub fn new(envelope: Envelope, reply: Box<dyn Respond>) -> Self {
        IncomingRequest { envelope, reply }
    }

    /// Sends the reply (an envelope whose payload is a [`ReplyBody`]).
    pub async fn reply(self, envelope: Envelope) -> Result<()> {
        self.reply.respond(envelope).await
    }
}

impl std::fmt::Debug for IncomingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingRequest")
            .field("envelope", &self.envelope)
            .finish_non_exhaustive()
    }
}

/// How a transport answers one request.
pub trait Respond: Send {
    /// Sends `envelope` to the requester.
    fn respond(self: Box<Self>, envelope: Envelope) -> BoxFuture<'static, Result<()>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transport_debugs_as_its_messaging_system() {
        let transport: std::sync::Arc<dyn Transport> = std::sync::Arc::new(MemoryTransport::new());
        assert_eq!(format!("{transport:?}"), r#"Transport("catga.memory")"#);
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let options = ConsumerOptions {
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
            ..ConsumerOptions::default()
        };
        let pauses: Vec<u128> = (1..=5)
            .map(|attempt| options.backoff_after(attempt).as_millis())
            .collect();
        assert_eq!(pauses, [100, 200, 400, 500, 500]);
        assert_eq!(options.backoff_after(u32::MAX), Duration::from_millis(500));
    }
}
