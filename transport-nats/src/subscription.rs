//! Consumer groups: durable pull consumers, pulled by every member, reopened after an outage.

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, ReplayPolicy, pull};
use async_nats::jetstream::stream::ConsumerErrorKind;
use async_nats::jetstream::{self, AckKind, ErrorCode};
use catga::transport::{BoxFuture, ConsumerOptions, Delivery, Envelope, Settle, Subscription};
use catga::{Error, ErrorKind, Result};
use futures_util::StreamExt;
use futures_util::stream::{BoxStream, SelectAll};

use crate::{NatsOptions, errors, names};

/// How long one pull request waits on the broker before the client renews it (at least
/// twice the heartbeat: the server refuses a heartbeat above half the expiry).
const PULL_EXPIRES: Duration = Duration::from_secs(30);
/// The longest pause between two attempts to reopen a pull that failed.
const MAX_REOPEN_DELAY: Duration = Duration::from_secs(1);

/// Deliveries beyond `max_attempts` the broker still makes. The runtime dead-letters a message
/// itself when its attempt `max_attempts` fails; if the broker stopped at exactly
/// `max_attempts`, a message whose last attempt died unsettled (the member crashed) would
/// never come back, and never be dead-lettered. With the margin it comes back once more, with
/// `attempt > max_attempts`, and the runtime dead-letters it then.
const MAX_DELIVER_MARGIN: u32 = 2;

/// A member of a consumer group: the merged deliveries of the group's consumers.
pub(crate) struct NatsSubscription {
    deliveries: SelectAll<BoxStream<'static, Result<Delivery>>>,
    group: String,
}

impl std::fmt::Debug for NatsSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSubscription")
            .field("group", &self.group)
            .field("consumers", &self.deliveries.len())
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
            messages: None,
            failures: 0,
        };
        // Created now, not on the first `next`: a misconfiguration fails `subscribe`, and the
        // consumer exists (and keeps messages for the group) as soon as this returns.
        puller.consumer = Some(puller.create_consumer().await?);
        pullers.push(puller);
    }
    let mut deliveries = SelectAll::new();
    for puller in pullers {
        deliveries.push(
            futures_util::stream::unfold(puller, |mut puller| async move {
                let delivery = puller.next_delivery().await;
                Some((delivery, puller))
            })
            .boxed(),
        );
    }
    Ok(NatsSubscription {
        deliveries,
        group: group.to_string(),
    })
}

impl Subscription for NatsSubscription {
    fn next(&mut self) -> BoxFuture<'_, Result<Delivery>> {
        Box::pin(async move {
            match self.deliveries.next().await {
                Some(delivery) => delivery,
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
    messages: Option<pull::Stream>,
    /// Consecutive failures to pull, for the pause before reopening.
    failures: u32,
}

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

    /// The next delivery of this consumer: waits for one, reopening the pull (and recreating
    /// the consumer, in case it was deleted) after any error, until the broker answers.
    async fn next_delivery(&mut self) -> Result<Delivery> {
        loop {
            if self.messages.is_none() {
                match self.open().await {
                    Ok(messages) => self.messages = Some(messages),
                    Err(error) if error.kind() == ErrorKind::Unavailable => {
                        self.pause(&error).await;
                        continue;
                    }
                    Err(error) => return Err(error),
                }
            }
            let Some(messages) = self.messages.as_mut() else {
                continue;
            };
            match messages.next().await {
                Some(Ok(message)) => {
                    self.failures = 0;
                    return Ok(self.delivery(message));
                }
                Some(Err(error)) => {
                    self.messages = None;
                    self.consumer = None;
                    let error = Error::unavailable(format!(
                        "pulling `{}` (consumer {} on {}) failed: {error}",
                        self.subject, self.name, self.stream
                    ));
                    self.pause(&error).await;
                }
                None => {
                    self.messages = None;
                    self.consumer = None;
                }
            }
        }
    }

    async fn open(&mut self) -> Result<pull::Stream> {
        let consumer = match self.consumer.take() {
            Some(consumer) => consumer,
            None => self.create_consumer().await?,
        };
        let messages = consumer
            .stream()
            .max_messages_per_batch(self.batch)
            .heartbeat(self.nats.idle_heartbeat)
            .expires(PULL_EXPIRES.max(self.nats.idle_heartbeat.saturating_mul(2)))
            .messages()
            .await
            .map_err(|error| {
                Error::unavailable(format!(
                    "cannot pull `{}` (consumer {} on {}): {error}",
                    self.subject, self.name, self.stream
                ))
            })?;
        self.consumer = Some(consumer);
        Ok(messages)
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
