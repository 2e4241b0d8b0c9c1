//! Consumer groups: durable pull consumers, pulled by every member, reopened after an outage.
//!
//! Each consumer is pulled by a task of its own with plain pull requests, one at a time, each
//! read to its end as it arrives and bounded by a deadline of ours: what is pulled ahead waits
//! in this process, never in an unread pull, and no bookkeeping of requests in flight can drift
//! from the broker's (a continuous pull whose count drifted would stop asking for messages
//! while the stream holds them).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, ReplayPolicy, pull};
use async_nats::jetstream::stream::ConsumerErrorKind;
use async_nats::jetstream::{self, AckKind, ErrorCode};
use catga::transport::{BoxFuture, ConsumerOptions, Delivery, Envelope, Settle, Subscription};
use catga::{Error, ErrorKind, Result};
use futures_util::StreamExt;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::{NatsOptions, errors, names};

/// The shortest expiry of a pull request (to the broker, zero means "never expires").
const MIN_PULL_EXPIRY: Duration = Duration::from_millis(10);
/// The longest pause between two attempts to reopen a pull that failed.
const MAX_REOPEN_DELAY: Duration = Duration::from_secs(1);

/// Deliveries beyond `max_attempts` the broker still makes. The runtime dead-letters a message
/// itself when its attempt `max_attempts` fails; if the broker stopped at exactly
/// `max_attempts`, a message whose last attempt died unsettled (the member crashed) would
/// never come back, and never be dead-lettered. With the margin it comes back once more, with
/// `attempt > max_attempts`, and the runtime dead-letters it then.
const MAX_DELIVER_MARGIN: u32 = 2;

/// A member of a consumer group: the merged deliveries of the group's consumers, each pulled
/// by a task of its own ([`Puller::run`]), which stops with the subscription.
pub(crate) struct NatsSubscription {
    /// Deliveries, each with the index of the puller (and so the room) it came from.
    deliveries: mpsc::UnboundedReceiver<(usize, Result<Delivery>)>,
    /// Per puller: how many more messages it may pull ahead of this member's handling.
    rooms: Vec<Arc<Semaphore>>,
    pullers: Vec<JoinHandle<()>>,
    group: String,
}

impl Drop for NatsSubscription {
    fn drop(&mut self) {
        for puller in &self.pullers {
            puller.abort();
        }
    }
}

impl std::fmt::Debug for NatsSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSubscription")
            .field("group", &self.group)
            .field("consumers", &self.pullers.len())
            .finish()
    }
}

/// Creates (or updates) the group's consumers, one per subject, and starts pulling.
pub(crate) async fn subscribe(
    jetstream: &jetstream::Context,
    nats: &NatsOptions,
    group: &str,
    subjects: &[String],
    options: &ConsumerOptions,
) -> Result<NatsSubscription> {
    names::validate_group(group)?;
    if subjects.is_empty() {
        return Err(Error::validation(format!(
            "consumer group `{group}` subscribed to no subject: pass at least one, for example \
             catga::transport::event_subject(\"OrderPlaced\")"
        )));
    }
    let mut pullers = Vec::with_capacity(subjects.len());
    for (index, subject) in subjects.iter().enumerate() {
        names::validate_subject(subject, "subscription")?;
        let Some((stream, prefix)) = names::stream_of(subject) else {
            return Err(Error::validation(format!(
                "consumer group `{group}` cannot subscribe to `{subject}`: only subjects below \
                 `catga.events.` (stream {}) and `catga.dead.` (stream {}) are stored",
                names::EVENTS_STREAM,
                names::DEAD_LETTER_STREAM
            )));
        };
        if let Some(other) = subjects[..index]
            .iter()
            .find(|other| names::patterns_overlap(other, subject))
        {
            return Err(Error::validation(format!(
                "consumer group `{group}` subscribed to `{other}` and `{subject}`, which overlap: \
                 a message matching both would reach the group twice; subscribe to one of them"
            )));
        }
        let name = names::consumer_name(group, prefix, subject);
        let config = pull::Config {
            durable_name: Some(name.clone()),
            description: Some(format!("catga consumer group `{group}` on `{subject}`")),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: options.ack_wait,
            max_deliver: i64::from(options.max_attempts.saturating_add(MAX_DELIVER_MARGIN)),
            filter_subject: subject.clone(),
            replay_policy: ReplayPolicy::Instant,
            ..pull::Config::default()
        };
        let mut puller = Puller {
            jetstream: jetstream.clone(),
            stream,
            name,
            subject: subject.clone(),
            config,
            nats: nats.clone(),
            batch: nats.pull_batch.max(1),
            consumer: None,
            failures: 0,
        };
        // Created now, not on the first pull: a misconfiguration fails `subscribe`, and the
        // consumer exists (and keeps messages for the group) as soon as this returns.
        puller.consumer = Some(puller.create_consumer().await?);
        pullers.push(puller);
    }
    let (sender, deliveries) = mpsc::unbounded_channel();
    let mut rooms = Vec::with_capacity(pullers.len());
    let mut tasks = Vec::with_capacity(pullers.len());
    for (index, puller) in pullers.into_iter().enumerate() {
        let room = Arc::new(Semaphore::new(puller.batch));
        rooms.push(Arc::clone(&room));
        tasks.push(tokio::spawn(puller.run(index, sender.clone(), room)));
    }
    Ok(NatsSubscription {
        deliveries,
        rooms,
        pullers: tasks,
        group: group.to_string(),
    })
}

impl Subscription for NatsSubscription {
    fn next(&mut self) -> BoxFuture<'_, Result<Delivery>> {
        Box::pin(async move {
            match self.deliveries.recv().await {
                Some((index, delivery)) => {
                    // Taken by the handling: its puller may pull one more ahead.
                    self.rooms[index].add_permits(1);
                    delivery
                }
                None => Err(Error::internal(format!(
                    "the subscription of consumer group `{}` has no consumers left",
                    self.group
                ))),
            }
        })
    }
}

/// One consumer of the group, as this member pulls it.
struct Puller {
    jetstream: jetstream::Context,
    stream: &'static str,
    name: String,
    subject: String,
    config: pull::Config,
    nats: NatsOptions,
    batch: usize,
    consumer: Option<PullConsumer>,
    /// Consecutive failures to pull, for the pause before reopening.
    failures: u32,
}

/// Where a puller hands its deliveries: the subscription's channel, with the puller's index.
type Deliveries = mpsc::UnboundedSender<(usize, Result<Delivery>)>;

impl Puller {
    /// Creates the consumer, or updates it to this configuration; recreates the stream first
    /// if someone deleted it.
    async fn create_consumer(&self) -> Result<PullConsumer> {
        let created = self
            .jetstream
            .create_consumer_on_stream(self.config.clone(), self.stream)
            .await;
        let created = match created {
            Err(error) if stream_missing(&error) => {
                tracing::warn!(
                    stream = self.stream,
                    "catga-nats: the stream is gone; creating it again"
                );
                crate::ensure_streams(&self.jetstream, &self.nats).await?;
                self.jetstream
                    .create_consumer_on_stream(self.config.clone(), self.stream)
                    .await
            }
            other => other,
        };
        created
            .map_err(|error| errors::create_consumer(self.stream, &self.name, &self.subject, error))
    }

    /// Pulls until the subscription is dropped: one pull request at a time, for as many
    /// messages as `room` has (at least half a batch, so requests stay few), each read to its
    /// end at once so nothing waits unread in a pull while the member is busy. A pull the
    /// broker has not ended within twice [`NatsOptions::pull_expiry`] is presumed lost (the
    /// broker is gone or restarted): the consumer is recreated and pulled again. Stops early
    /// only on an error that retrying cannot mend, which it hands on.
    async fn run(mut self, index: usize, deliveries: Deliveries, room: Arc<Semaphore>) {
        let half = u32::try_from(self.batch.div_ceil(2)).unwrap_or(u32::MAX);
        loop {
            let Ok(permits) = room.acquire_many(half).await else {
                return;
            };
            permits.forget();
            let mut wanted = half as usize;
            while wanted < self.batch {
                let Ok(permit) = room.try_acquire() else {
                    break;
                };
                permit.forget();
                wanted += 1;
            }
            let received = match self.pull(wanted, index, &deliveries).await {
                Ok(received) => received,
                Err(error) if error.kind() == ErrorKind::Unavailable => {
                    self.consumer = None;
                    self.pause(&error).await;
                    0
                }
                Err(error) => {
                    let _ = deliveries.send((index, Err(error)));
                    return;
                }
            };
            if deliveries.is_closed() {
                return;
            }
            room.add_permits(wanted - received.min(wanted));
        }
    }

    /// One pull request for up to `wanted` messages, each handed on as it arrives; returns
    /// how many arrived (some may have before an error, which is then not returned: they
    /// count, and the next pull reopens).
    async fn pull(
        &mut self,
        wanted: usize,
        index: usize,
        deliveries: &Deliveries,
    ) -> Result<usize> {
        let consumer = match self.consumer.take() {
            Some(consumer) => consumer,
            None => self.create_consumer().await?,
        };
        let expiry = self.nats.pull_expiry.max(MIN_PULL_EXPIRY);
        let unavailable = |what: &str, error: &dyn std::fmt::Display| {
            Error::unavailable(format!(
                "{what} `{}` (consumer {} on {}) failed: {error}",
                self.subject, self.name, self.stream
            ))
        };
        let mut batch = consumer
            .batch()
            .max_messages(wanted)
            .expires(expiry)
            .messages()
            .await
            .map_err(|error| unavailable("pulling", &error))?;
        let deadline = Instant::now() + expiry.saturating_mul(2);
        let mut received = 0;
        loop {
            match tokio::time::timeout_at(deadline, batch.next()).await {
                Ok(Some(Ok(message))) => {
                    received += 1;
                    self.failures = 0;
                    if deliveries
                        .send((index, Ok(self.delivery(message))))
                        .is_err()
                    {
                        return Ok(received);
                    }
                }
                // The broker ended the pull: it is full, or it expired.
                Ok(None) => break,
                Ok(Some(Err(error))) => {
                    if received > 0 {
                        // What arrived is handed on; the error shows again on the next pull.
                        return Ok(received);
                    }
                    return Err(unavailable("pulling", &error));
                }
                Err(_) => {
                    tracing::warn!(
                        consumer = self.name,
                        expiry = ?expiry,
                        "catga-nats: the broker did not end a pull within twice its expiry; \
                         reopening"
                    );
                    return Ok(received);
                }
            }
        }
        self.consumer = Some(consumer);
        Ok(received)
    }

    /// Waits before reopening: short at first, at most [`MAX_REOPEN_DELAY`].
    async fn pause(&mut self, error: &Error) {
        self.failures = self.failures.saturating_add(1);
        let delay = Duration::from_millis(25)
            .saturating_mul(1 << self.failures.min(8))
            .min(MAX_REOPEN_DELAY);
        tracing::warn!(
            consumer = self.name,
            retry_in = ?delay,
            "catga-nats: {error}; reopening"
        );
        tokio::time::sleep(delay).await;
    }

    /// The delivery a message makes. Bytes that are not a catga envelope are delivered as an
    /// [`Envelope::undecodable`] standing for them, which the consumer dead-letters with the
    /// bytes and the reason: the evidence is kept, and the stream moves on.
    fn delivery(&self, message: jetstream::Message) -> Delivery {
        let (attempt, sequence) = match message.info() {
            Ok(info) => (
                u32::try_from(info.delivered).unwrap_or(u32::MAX),
                info.stream_sequence,
            ),
            // Not reachable for messages pulled from a consumer: they all carry an ack subject.
            Err(_) => (1, 0),
        };
        let subject = message.subject.to_string();
        let (message, acker) = message.split();
        let envelope = Envelope::decode(&message.payload).unwrap_or_else(|error| {
            tracing::warn!(
                stream = self.stream,
                sequence,
                subject,
                consumer = self.name,
                "catga-nats: a message that is not a catga envelope ({error}); handing it to \
                 the consumer to dead-letter"
            );
            Envelope::undecodable(
                format!("{}-{sequence}", self.stream),
                &message.payload,
                &error,
            )
        });
        Delivery::new(
            envelope,
            subject.clone(),
            attempt,
            Box::new(NatsSettle { acker, subject }),
        )
    }
}

/// Whether creating a consumer failed because its stream does not exist.
fn stream_missing(error: &async_nats::jetstream::stream::ConsumerError) -> bool {
    matches!(
        error.kind(),
        ConsumerErrorKind::JetStream(error) if error.error_code() == ErrorCode::STREAM_NOT_FOUND
    )
}

/// Settles one JetStream delivery.
struct NatsSettle {
    acker: jetstream::message::Acker,
    subject: String,
}

impl Settle for NatsSettle {
    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<()>> {
        Box::pin(async move {
            // A double ack waits for the broker to confirm it stored the ack: `Ok` then means
            // the group will not see the message again.
            self.acker
                .double_ack()
                .await
                .map_err(|error| errors::settle("acknowledge", &self.subject, error))
        })
    }

    fn ack_unconfirmed(self: Box<Self>) -> BoxFuture<'static, Result<()>> {
        Box::pin(async move {
            self.acker
                .ack()
                .await
                .map_err(|error| errors::settle("acknowledge", &self.subject, error))
        })
    }

    fn retry(self: Box<Self>, delay: Duration) -> BoxFuture<'static, Result<()>> {
        Box::pin(async move {
            let kind = if delay.is_zero() {
                AckKind::Nak(None)
            } else {
                AckKind::Nak(Some(delay))
            };
            self.acker
                .ack_with(kind)
                .await
                .map_err(|error| errors::settle("return", &self.subject, error))
        })
    }
}
