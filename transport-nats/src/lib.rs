//! `catga-nats`: the NATS JetStream implementation of [`catga::transport::Transport`].
//!
//! ```no_run
//! # async fn run() -> catga::Result<()> {
//! use std::sync::Arc;
//! use catga::transport::Transport;
//! use catga_nats::{NatsOptions, NatsTransport};
//!
//! let transport: Arc<dyn Transport> =
//!     Arc::new(NatsTransport::connect("nats://127.0.0.1:4222", NatsOptions::default()).await?);
//! # Ok(()) }
//! ```
//!
//! # Topology
//!
//! | What | NATS | Name |
//! |---|---|---|
//! | events | JetStream stream, file storage, subjects `catga.events.>` | [`EVENTS_STREAM`] `CATGA_EVENTS` |
//! | dead letters | JetStream stream, file storage, subjects `catga.dead.>` | [`DEAD_LETTER_STREAM`] `CATGA_DEAD` |
//! | a consumer group | one durable pull consumer per subscribed subject | `<group>__<subject>__<hash>` |
//! | commands | core NATS request/reply, queue group = the serving group | subject `catga.commands.<type>` |
//!
//! [`NatsTransport::connect`] creates both streams, or updates them to the configured limits
//! (idempotent, so every instance of every service may do it). Both use limits retention: a
//! message stays until it is older than [`NatsOptions::event_max_age`] (7 days) or
//! [`NatsOptions::dead_letter_max_age`] (30 days), whether or not groups have consumed it, so a
//! group created later, or one that was down for a while, still finds it; one replica (a
//! clustered deployment raises `num_replicas` with the `nats` CLI).
//!
//! # Consumer groups
//!
//! [`Transport::subscribe`]`(group, subjects, options)`
//! creates (or updates) one durable pull consumer per subject, named after the group and the
//! subject: the group name must be 1 to 64 ASCII letters, digits, `-` or `_`, because it also
//! is one token of `catga.dead.<group>.<type>`. One consumer per subject, not one with several
//! filter subjects, because several filter subjects need nats-server 2.10 and Debian stable
//! ships 2.9; the price is that a group sees the events of different subjects in no fixed
//! order relative to each other (within one subject and one member, stream order holds until
//! a redelivery). Subscribed subjects may not overlap (`catga.events.>` with
//! `catga.events.A`), since a message would then reach the group twice.
//!
//! Every consumer: deliver policy all (a new group starts at the oldest stored event), explicit
//! acks, `ack_wait` = [`ConsumerOptions::ack_wait`](catga::transport::ConsumerOptions),
//! `max_deliver` = `max_attempts + 2`. Every member of a group pulls from the same consumers,
//! so the broker hands each message to one member; a member that dies with messages unsettled
//! leaves them to be redelivered, to any member, once `ack_wait` has passed. Members pull up to
//! [`NatsOptions::pull_batch`] messages ahead: those too count against `ack_wait`.
//!
//! A [`Delivery`](catga::transport::Delivery)'s `attempt` is JetStream's delivery count.
//! `ack` is a double ack (it waits for the broker to confirm it stored the ack, so `Ok` means
//! "not delivered again"); `ack_unconfirmed` a plain one; `retry(delay)` is a negative ack with
//! that delay. A message that is not a catga envelope is delivered as an
//! [`Envelope::undecodable`](catga::transport::Envelope::undecodable) (id
//! `<stream>-<sequence>`) holding its bytes and the reason, which the runtime's consumer
//! dead-letters; the message itself stays in the stream.
//!
//! # Guarantees
//!
//! - `publish` returns `Ok` once JetStream acknowledged storing the envelope (file storage). The
//!   envelope's id is sent as `Nats-Msg-Id`, so a republish of the same envelope within
//!   [`NatsOptions::duplicate_window`] (2 minutes) is dropped by the broker; past the window,
//!   consumers deduplicate on [`Envelope::id`](catga::transport::Envelope) (the inbox).
//! - Delivery is at least once per group: redelivery after `ack_wait`, after `retry`, and
//!   after a reconnect that lost an ack. Exactly-once effects are the inbox's job.
//! - Commands use core NATS: a request is not stored, and a reply can be lost with a broken
//!   connection; the caller then sees [`ErrorKind::Timeout`](catga::ErrorKind::Timeout).
//!
//! # Outages
//!
//! The client reconnects by itself, forever, waiting at most
//! [`NatsOptions::max_reconnect_delay`] between tries. While it is disconnected, `publish` and
//! `request` fail at once with [`ErrorKind::Unavailable`](catga::ErrorKind::Unavailable) (and
//! any call in flight within [`NatsOptions::operation_timeout`]), so callers (the outbox) retry
//! rather than hang. A waiting `Subscription::next` does not fail: a pull the broker has not
//! ended within twice [`NatsOptions::pull_expiry`] is presumed lost, and the member reopens its
//! pulls (recreating the consumers) until the broker is back. The file store keeps streams, consumers and their
//! acknowledged positions across a broker restart.
//!
//! # Running NATS locally
//!
//! `apt-get install -y nats-server`, then `nats-server -js -sd /tmp/nats-store`. Tests use
//! [`testing::NatsServer`] (feature `testing`), which starts one on a free port.

mod errors;
pub mod leader;
mod names;
mod requests;
mod subscription;
#[cfg(feature = "testing")]
pub mod testing;

use std::time::Duration;

use async_nats::connection::State;
use async_nats::header::{HeaderMap, NATS_MESSAGE_ID};
use async_nats::jetstream::{self, stream};
use catga::telemetry::{TRACEPARENT, TRACESTATE};
use catga::transport::{BoxFuture, ConsumerOptions, Envelope, Requests, Subscription, Transport};
use catga::{Error, Result};
use tracing::Instrument as _;

pub use names::{
    DEAD_LETTER_STREAM, DEAD_LETTER_SUBJECTS, EVENTS_STREAM, EVENTS_SUBJECTS, MAX_GROUP_LEN,
};

/// How [`NatsTransport`] connects, stores and pulls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsOptions {
    /// The connection's name, shown in the server's monitoring (`nats server report
    /// connections`).
    pub client_name: Option<String>,
    /// The longest wait for the broker in one operation: connecting, a JetStream API call, a
    /// publish acknowledgement, a double ack. Past it the operation fails with
    /// [`ErrorKind::Unavailable`](catga::ErrorKind::Unavailable).
    pub operation_timeout: Duration,
    /// How long the events stream remembers envelope ids to drop republished envelopes.
    pub duplicate_window: Duration,
    /// How long the events stream keeps an event (zero: forever).
    pub event_max_age: Duration,
    /// How long the dead-letter stream keeps a dead letter (zero: forever).
    pub dead_letter_max_age: Duration,
    /// How many messages a group member pulls ahead of its handler.
    pub pull_batch: usize,
    /// How long one pull request waits on the broker for messages before it ends empty and
    /// the member asks again; a pull the broker has not ended within twice this (the broker
    /// is gone) makes the member reopen its pull until the broker answers again.
    pub pull_expiry: Duration,
    /// The longest pause between two reconnection attempts.
    pub max_reconnect_delay: Duration,
}

impl Default for NatsOptions {
    fn default() -> Self {
        NatsOptions {
            client_name: None,
            operation_timeout: Duration::from_secs(5),
            duplicate_window: Duration::from_secs(120),
            event_max_age: Duration::from_secs(7 * 24 * 3600),
            dead_letter_max_age: Duration::from_secs(30 * 24 * 3600),
            pull_batch: 32,
            pull_expiry: Duration::from_secs(5),
            max_reconnect_delay: Duration::from_secs(1),
        }
    }
}

/// A [`Transport`] over NATS JetStream. Cheap to clone: clones share one connection.
#[derive(Debug, Clone)]
pub struct NatsTransport {
    client: async_nats::Client,
    jetstream: jetstream::Context,
    options: NatsOptions,
}

impl NatsTransport {
    /// Connects to the NATS server(s) at `url` (for example `nats://127.0.0.1:4222`, or several
    /// separated by commas) and creates or updates the [`EVENTS_STREAM`] and
    /// [`DEAD_LETTER_STREAM`] streams.
    ///
    /// Fails with [`ErrorKind::Unavailable`](catga::ErrorKind::Unavailable) when no server
    /// answers within [`NatsOptions::operation_timeout`] or JetStream is not enabled, and
    /// [`ErrorKind::Configuration`](catga::ErrorKind::Configuration) for a malformed URL or a
    /// stream that cannot be created (an existing stream already holds the subjects).
    pub async fn connect(url: &str, options: NatsOptions) -> Result<NatsTransport> {
        let max_delay = options.max_reconnect_delay;
        let mut connect = async_nats::ConnectOptions::new()
            .connection_timeout(options.operation_timeout)
            .request_timeout(Some(options.operation_timeout))
            // Fast first retries (a broker restart takes well under a second), then at most
            // `max_reconnect_delay` apart, forever: the contract waits out outages.
            .reconnect_delay_callback(move |attempts| {
                let exponent = u32::try_from(attempts.min(16)).unwrap_or(16);
                Duration::from_millis(10)
                    .saturating_mul(1 << exponent)
                    .min(max_delay)
            })
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Connected => tracing::info!("catga-nats: connected"),
                    async_nats::Event::Disconnected => {
                        tracing::warn!("catga-nats: disconnected, reconnecting")
                    }
                    other => tracing::warn!("catga-nats: {other}"),
                }
            });
        if let Some(name) = &options.client_name {
            connect = connect.name(name);
        }
        let client = tokio::time::timeout(
            options.operation_timeout.saturating_mul(2),
            connect.connect(url),
        )
        .await
        .map_err(|_| {
            Error::unavailable(format!(
                "cannot connect to NATS at {url}: no answer within {:?}; is nats-server running \
                 there (`nats-server -js`)?",
                options.operation_timeout
            ))
        })?
        .map_err(|error| errors::connect(url, error))?;
        NatsTransport::with_client(client, options).await
    }

    /// A transport over a connection the caller made (for credentials, TLS or other
    /// [`async_nats::ConnectOptions`]); creates or updates the streams like
    /// [`connect`](NatsTransport::connect).
    pub async fn with_client(
        client: async_nats::Client,
        options: NatsOptions,
    ) -> Result<NatsTransport> {
        let mut jetstream = jetstream::new(client.clone());
        jetstream.set_timeout(options.operation_timeout);
        let transport = NatsTransport {
            client,
            jetstream,
            options,
        };
        transport.ensure_streams().await?;
        Ok(transport)
    }

    /// The underlying connection.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The options this transport was made with.
    pub fn options(&self) -> &NatsOptions {
        &self.options
    }

    /// Creates the two streams, or updates them to the configured limits.
    async fn ensure_streams(&self) -> Result<()> {
        ensure_streams(&self.jetstream, &self.options).await
    }

    /// `Unavailable` at once when the connection is down, rather than queueing the operation
    /// until the operation timeout.
    fn check_connected(&self, what: &str, subject: &str) -> Result<()> {
        match self.client.connection_state() {
            State::Connected => Ok(()),
            state => Err(Error::unavailable(format!(
                "cannot {what} on `{subject}`: the NATS connection is {}; the client is \
                 reconnecting, try again",
                match state {
                    State::Pending => "not established yet",
                    _ => "down",
                }
            ))),
        }
    }

    async fn publish_envelope(&self, subject: &str, envelope: &Envelope) -> Result<()> {
        names::validate_subject(subject, "publish")?;
        if names::stream_of(subject).is_none() || subject.contains(['*', '>']) {
            return Err(Error::validation(format!(
                "cannot publish on `{subject}`: only concrete subjects below `catga.events.` \
                 (stream {EVENTS_STREAM}) and `catga.dead.` (stream {DEAD_LETTER_STREAM}) are \
                 stored; use catga::transport::event_subject or dead_letter_subject"
            )));
        }
        self.check_connected("publish", subject)?;
        let mut headers = HeaderMap::new();
        headers.insert(NATS_MESSAGE_ID, envelope.id.as_str());
        // The trace context also as NATS headers, for tools that read them there.
        for name in [TRACEPARENT, TRACESTATE] {
            if let Some(value) = envelope.headers.get(name) {
                headers.insert(name, value.as_str());
            }
        }
        let timeout = self.options.operation_timeout;
        let publish = async {
            let ack = self
                .jetstream
                .publish_with_headers(subject.to_string(), headers, envelope.encode().into())
                .await
                .map_err(|error| errors::publish(subject, timeout, error))?;
            ack.await
                .map_err(|error| errors::publish(subject, timeout, error))
        };
        // The client bounds each step by `timeout`; this bounds the sum.
        let ack = tokio::time::timeout(timeout.saturating_mul(2), publish)
            .await
            .map_err(|_| errors::publish_timeout(subject, timeout))??;
        if ack.duplicate {
            tracing::debug!(
                subject,
                id = envelope.id,
                "catga-nats: envelope already stored; the broker dropped the duplicate"
            );
        }
        Ok(())
    }
}

/// Whether consumer info failed because the group never subscribed to the subject.
fn consumer_not_found(kind: &jetstream::context::ConsumerInfoErrorKind) -> bool {
    use jetstream::context::ConsumerInfoErrorKind as Kind;
    match kind {
        Kind::NotFound => true,
        Kind::JetStream(error) => error.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND,
        _ => false,
    }
}

/// Creates or updates the events and dead-letter streams.
async fn ensure_streams(jetstream: &jetstream::Context, options: &NatsOptions) -> Result<()> {
    let streams = [
        (
            EVENTS_STREAM,
            EVENTS_SUBJECTS,
            options.event_max_age,
            "catga events",
        ),
        (
            DEAD_LETTER_STREAM,
            DEAD_LETTER_SUBJECTS,
            options.dead_letter_max_age,
            "catga dead letters",
        ),
    ];
    for (name, subjects, max_age, description) in streams {
        let config = stream::Config {
            name: name.to_string(),
            description: Some(description.to_string()),
            subjects: vec![subjects.to_string()],
            retention: stream::RetentionPolicy::Limits,
            storage: stream::StorageType::File,
            discard: stream::DiscardPolicy::Old,
            max_age,
            duplicate_window: options.duplicate_window,
            num_replicas: 1,
            ..stream::Config::default()
        };
        // Write only what is missing or different: nats-server 2.9 can crash (a nil pointer in
        // its stream update) when several processes update one stream at once, as services
        // that start together did.
        let written = match jetstream.get_stream(name).await {
            Ok(existing) if is_configured_as(&existing.cached_info().config, &config) => Ok(()),
            Ok(_) => jetstream.update_stream(&config).await.map(drop),
            Err(error) if is_stream_not_found(&error) => {
                jetstream.create_stream(config).await.map(drop)
            }
            Err(_) => jetstream.create_or_update_stream(config).await.map(drop),
        };
        written.map_err(|error| errors::create_stream(name, subjects, error))?;
    }
    Ok(())
}

/// Whether an existing stream has every setting catga gives its streams.
fn is_configured_as(existing: &stream::Config, wanted: &stream::Config) -> bool {
    existing.subjects == wanted.subjects
        && existing.description == wanted.description
        && existing.retention == wanted.retention
        && existing.storage == wanted.storage
        && existing.discard == wanted.discard
        && existing.max_age == wanted.max_age
        && existing.duplicate_window == wanted.duplicate_window
        && existing.num_replicas == wanted.num_replicas
}

fn is_stream_not_found(error: &jetstream::context::GetStreamError) -> bool {
    matches!(
        error.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(error)
            if error.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

impl Transport for NatsTransport {
    fn publish<'a>(
        &'a self,
        subject: &'a str,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<()>> {
        let span = catga::telemetry::publish_span(self.messaging_system(), subject, envelope);
        Box::pin(self.publish_envelope(subject, envelope).instrument(span))
    }

    fn messaging_system(&self) -> &'static str {
        "nats"
    }

    /// `Unavailable`, saying so, while the connection to the server is down or not
    /// established yet.
    /// The durable consumer's `num_pending`: messages in the stream, matching `subject`, not yet
    /// delivered to the group (those delivered and not yet acknowledged are not counted).
    fn lag<'a>(&'a self, group: &'a str, subject: &'a str) -> BoxFuture<'a, Result<Option<u64>>> {
        Box::pin(async move {
            let Some((stream, prefix)) = names::stream_of(subject) else {
                return Ok(None);
            };
            self.check_connected("read the lag", subject)?;
            let name = names::consumer_name(group, prefix, subject);
            let unavailable = |error: &dyn std::fmt::Display| {
                Error::unavailable(format!(
                    "cannot read consumer `{name}` of stream {stream}: {error}"
                ))
            };
            let stream = self
                .jetstream
                .get_stream(stream)
                .await
                .map_err(|error| unavailable(&error))?;
            match stream.consumer_info(&name).await {
                Ok(info) => Ok(Some(info.num_pending)),
                Err(error) if consumer_not_found(&error.kind()) => Ok(None),
                Err(error) => Err(unavailable(&error)),
            }
        })
    }

    fn health_check(&self) -> Result<()> {
        match self.client.connection_state() {
            State::Connected => Ok(()),
            State::Pending => Err(Error::unavailable(
                "the NATS connection is not established yet",
            )),
            _ => Err(Error::unavailable(
                "the NATS connection is down; the client is reconnecting",
            )),
        }
    }

    fn subscribe<'a>(
        &'a self,
        group: &'a str,
        subjects: &'a [String],
        options: &'a ConsumerOptions,
    ) -> BoxFuture<'a, Result<Box<dyn Subscription>>> {
        Box::pin(async move {
            let subscription =
                subscription::subscribe(&self.jetstream, &self.options, group, subjects, options)
                    .await?;
            Ok(Box::new(subscription) as Box<dyn Subscription>)
        })
    }

    fn request<'a>(
        &'a self,
        subject: &'a str,
        envelope: &'a Envelope,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Envelope>> {
        Box::pin(async move {
            names::validate_subject(subject, "request")?;
            self.check_connected("send a request", subject)?;
            requests::request(&self.client, subject, envelope, timeout).await
        })
    }

    fn serve<'a>(
        &'a self,
        group: &'a str,
        subjects: &'a [String],
    ) -> BoxFuture<'a, Result<Box<dyn Requests>>> {
        Box::pin(async move {
            let requests = requests::serve(&self.client, group, subjects).await?;
            Ok(Box::new(requests) as Box<dyn Requests>)
        })
    }
}
