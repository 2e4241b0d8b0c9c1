//! Publish-to-handled latency over NATS JetStream (feature `nats`): what a service sees between
//! publishing an event and another service's handler having run for it.
//!
//! One operation publishes one event envelope through [`NatsTransport`] (a JetStream publish,
//! awaiting the broker's acknowledgement that it stored the event) and waits until an
//! [`EventConsumer`] in the same process, with `Routes::event::<E>()` and a mediator event
//! handler, has received and handled it. The handler completes the operation's oneshot, found
//! by the event's sequence number in a shared map. Publisher and consumer have a connection
//! each, as two services would.
//!
//! The scenarios are in the built-in suite only when [`URL_VAR`] names a broker. Each has its
//! own event type (so its own subject) and its own consumer group, so the scenarios of a run,
//! interleaved, never see each other's events. Set-up purges the scenario's subject and deletes
//! its group's consumers (a run that was killed leaves them), and teardown does it again, so
//! the broker keeps nothing from a run. Run one bench against a broker at a time: two runs
//! would share the groups.
//!
//! Four more scenarios measure throughput against the broker itself, in the same run, with
//! [`THROUGHPUT_IN_FLIGHT`] events in flight: `nats_raw_floor` (group `baseline`: plain
//! async-nats, a JetStream publish awaiting its ack and a pull consumer acking each message, no
//! catga), `nats_consumer_throughput` (the publish above, an `EventConsumer` and a mediator
//! handler), `nats_inbox_throughput` (the same through a `SqliteInbox`), and
//! `nats_outbox_inbox_throughput` (a command whose handler exports the event through a
//! `SqliteOutbox` and an `OutboxDispatcher`, consumed through the inbox). Their `x floor` is the
//! raw floor's throughput over theirs. Likewise `nats_raw_rate_1k` (group `baseline`) is the
//! plain async-nats round trip at `nats_handled_rate_1k`'s rate, and the latter's `x floor` is
//! its p99 over the raw one's.
//!
//! A broker that cannot be reached does not panic the set-up: the workload keeps the error,
//! and its first operation returns it, so the run stops with the scenario's name and the
//! reason.

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream;
use catga::prelude::*;
use catga::transport::{
    Envelope, EventConsumer, Routes, Transport, dead_letter_subject, event_subject,
};
use catga_nats::{DEAD_LETTER_STREAM, EVENTS_STREAM, NatsOptions, NatsTransport};
use catga_sqlite::{OutboxDispatcher, SqliteInbox, SqliteOutbox};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::scenario::{Group, Scenario, Workload};

/// The environment variable naming the broker (`nats://127.0.0.1:4222`): set, the NATS
/// scenarios are in the built-in suite; unset or empty, they are not.
pub use super::NATS_URL_VAR as URL_VAR;

/// The open-loop rate of `nats_handled_rate_1k`, in events per second.
pub const LOW_RATE: f64 = 1_000.0;
/// The open-loop rate of `nats_handled_rate_2k`, in events per second.
pub const HIGH_RATE: f64 = 2_000.0;
/// Events in flight in `nats_handled_saturation`.
pub const SATURATION_IN_FLIGHT: u32 = 64;
/// The most events in flight in the open-loop scenarios: enough to keep offering the rate when
/// a round trip takes longer than the interval between events (up to 64 ms at 1,000/s).
pub const RATE_IN_FLIGHT: u32 = 64;

/// Events in flight in the throughput scenarios.
pub const THROUGHPUT_IN_FLIGHT: u32 = 256;
/// The throughput scenarios' floor: the broker driven by plain async-nats.
pub const RAW_FLOOR: &str = "nats_raw_floor";
/// The tail-latency floor of `nats_handled_rate_1k`: plain async-nats at the same rate.
pub const RAW_RATE_FLOOR: &str = "nats_raw_rate_1k";

/// The longest an operation waits for its event to be handled: past it the operation fails
/// (the consumer is stuck or the broker lost the event), rather than hanging the run.
const HANDLED_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one of the raw consumer's pulls waits on the broker before it ends empty.
const RAW_PULL_EXPIRY: Duration = Duration::from_secs(1);

/// The longest teardown spends removing the scenario's messages and consumers.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The NATS scenarios against the broker at `url` (`nats://HOST:PORT`, JetStream enabled).
pub fn scenarios(url: &str) -> Vec<Scenario> {
    vec![
        rated::<BenchNatsRawRate1k>(url, RAW_RATE_FLOOR, Path::Raw, Group::Baseline, LOW_RATE),
        rated::<BenchNatsRate1k>(
            url,
            "nats_handled_rate_1k",
            Path::Consumer { inbox: false },
            Group::Runtime,
            LOW_RATE,
        )
        .p99_floor(RAW_RATE_FLOOR),
        rated::<BenchNatsRate2k>(
            url,
            "nats_handled_rate_2k",
            Path::Consumer { inbox: false },
            Group::Runtime,
            HIGH_RATE,
        ),
        scenario::<BenchNatsSaturation>(
            url,
            "nats_handled_saturation",
            Path::Consumer { inbox: false },
            Group::Runtime,
        )
        .concurrency(SATURATION_IN_FLIGHT),
        throughput::<BenchNatsRawFloor>(url, RAW_FLOOR, Path::Raw, Group::Baseline),
        throughput::<BenchNatsConsumer>(
            url,
            "nats_consumer_throughput",
            Path::Consumer { inbox: false },
            Group::Runtime,
        ),
        throughput::<BenchNatsInbox>(
            url,
            "nats_inbox_throughput",
            Path::Consumer { inbox: true },
            Group::Runtime,
        ),
        throughput::<BenchNatsOutboxInbox>(
            url,
            "nats_outbox_inbox_throughput",
            Path::OutboxInbox,
            Group::Runtime,
        ),
    ]
}

/// A scenario of group `group` whose operations travel `path`, one at a time unless set.
fn scenario<E: Probe>(url: &str, name: &'static str, path: Path, group: Group) -> Scenario {
    let url = url.to_string();
    Scenario::new(name, group, move || {
        NatsHandled::<E>::open(url.clone(), name, path)
    })
}

/// An open-loop scenario at `rate`, with up to [`RATE_IN_FLIGHT`] in flight.
fn rated<E: Probe>(url: &str, name: &'static str, path: Path, group: Group, rate: f64) -> Scenario {
    scenario::<E>(url, name, path, group)
        .rate(rate)
        .concurrency(RATE_IN_FLIGHT)
}

fn throughput<E: Probe>(url: &str, name: &'static str, path: Path, group: Group) -> Scenario {
    scenario::<E>(url, name, path, group)
        .concurrency(THROUGHPUT_IN_FLIGHT)
        .throughput_floor(RAW_FLOOR)
}

/// How an event travels from the operation to the handler that completes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// Plain async-nats on both sides: the floor.
    Raw,
    /// `NatsTransport::publish`, then an `EventConsumer`, through a `SqliteInbox` or not.
    Consumer { inbox: bool },
    /// A command whose handler exports the event through the outbox; consumed through an inbox.
    OutboxInbox,
}

/// An event type of one scenario: a sequence number, and a name (so a subject) of its own.
trait Probe: Event + Serialize + DeserializeOwned + Clone {
    fn numbered(seq: u64) -> Self;
    fn seq(&self) -> u64;
}

macro_rules! probes {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Serialize, Deserialize, Event)]
        struct $name {
            seq: u64,
        }

        impl Probe for $name {
            fn numbered(seq: u64) -> Self {
                $name { seq }
            }

            fn seq(&self) -> u64 {
                self.seq
            }
        }
    )*};
}

probes!(
    BenchNatsRate1k,
    BenchNatsRate2k,
    BenchNatsSaturation,
    BenchNatsRawFloor,
    BenchNatsRawRate1k,
    BenchNatsConsumer,
    BenchNatsInbox,
    BenchNatsOutboxInbox,
);

/// The command of `nats_outbox_inbox_throughput`: its handler exports event `seq`.
#[derive(Debug, Clone, Command)]
#[command(response = ())]
struct BenchNatsExport {
    seq: u64,
}

/// Exports `E::numbered(seq)` for every [`BenchNatsExport`].
struct Export<E>(PhantomData<fn() -> E>);

impl<E: Probe> Handler<BenchNatsExport> for Export<E> {
    async fn handle(&self, command: BenchNatsExport, ctx: &Context) -> catga::Result<()> {
        ctx.publish(E::numbered(command.seq)).await
    }
}

/// The operations waiting for their event to be handled, by sequence number.
#[derive(Default)]
struct Waiters(Mutex<HashMap<u64, oneshot::Sender<()>>>);

impl Waiters {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<()>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The consuming service's handler: tells the waiting operation its event was handled.
struct Complete(Arc<Waiters>);

impl<E: Probe> EventHandler<E> for Complete {
    async fn handle(&self, event: &E, _ctx: &Context) -> catga::Result<()> {
        // An event nobody waits for (its operation timed out) is handled all the same.
        if let Some(done) = self.0.map().remove(&event.seq()) {
            let _ = done.send(());
        }
        Ok(())
    }
}

/// A scenario's workload: connected, or the reason it could not be.
struct NatsHandled<E> {
    live: Result<Live<E>, Error>,
}

impl<E: Probe> NatsHandled<E> {
    async fn open(url: String, scenario: &'static str, path: Path) -> NatsHandled<E> {
        let live = Live::open(&url, scenario, path).await.map_err(|error| {
            Error::new(
                error.kind(),
                format!(
                    "{} ({URL_VAR}={url}; unset {URL_VAR} to leave the NATS scenarios \
                     out)",
                    error.message()
                ),
            )
        });
        NatsHandled { live }
    }
}

impl<E: Probe> Workload for NatsHandled<E> {
    async fn op(&self) -> catga::Result<()> {
        match &self.live {
            Ok(live) => live.publish_and_wait().await,
            Err(error) => Err(error.clone()),
        }
    }

    async fn teardown(&self) {
        if let Ok(live) = &self.live {
            live.consumer.abort();
            if let Publisher::Outbox { dispatcher, .. } = &live.publisher {
                dispatcher.abort();
            }
            // Best effort: the broker may be gone; what stays is removed by the next set-up.
            let _ = tokio::time::timeout(
                CLEANUP_TIMEOUT,
                clean(&live.admin, &live.subject, &live.group, E::NAME),
            )
            .await;
        }
    }
}

/// How a scenario's operations publish.
enum Publisher {
    Transport(Box<NatsTransport>),
    /// Plain JetStream publishes on the scenario's admin context.
    Raw,
    /// A mediator whose handler exports through the outbox, which the dispatcher drains.
    Outbox {
        mediator: Mediator,
        dispatcher: JoinHandle<()>,
    },
}

/// A connected scenario: the publishing side, the consumer task, and what they share.
struct Live<E> {
    publisher: Publisher,
    admin: jetstream::Context,
    subject: String,
    group: String,
    waiters: Arc<Waiters>,
    /// Why the consumer stopped, once it has.
    consumer_error: Arc<Mutex<Option<Error>>>,
    consumer: JoinHandle<()>,
    next: AtomicU64,
    /// The SQLite files of the inbox and the outbox, removed with the workload.
    _files: Option<tempfile::TempDir>,
    _event: PhantomData<fn() -> E>,
}

impl<E> Drop for Live<E> {
    fn drop(&mut self) {
        self.consumer.abort();
        if let Publisher::Outbox { dispatcher, .. } = &self.publisher {
            dispatcher.abort();
        }
    }
}

impl<E: Probe> Live<E> {
    async fn open(url: &str, scenario: &'static str, path: Path) -> catga::Result<Live<E>> {
        let options = |side: &str| NatsOptions {
            client_name: Some(format!("catga-bench {scenario} {side}")),
            ..NatsOptions::default()
        };
        let publishing = NatsTransport::connect(url, options("publisher")).await?;
        let consuming = NatsTransport::connect(url, options("consumer")).await?;
        let admin = jetstream::new(publishing.client().clone());
        let subject = event_subject(E::NAME);
        let group = format!("catga_bench_{scenario}");
        // What a killed run left: its events would be replayed to the new consumer.
        clean(&admin, &subject, &group, E::NAME).await?;
        let files = match path {
            Path::Raw | Path::Consumer { inbox: false } => None,
            _ => Some(tempfile::tempdir().map_err(|error| {
                Error::storage(format!("cannot make a directory for the inbox: {error}"))
            })?),
        };

        let waiters = Arc::new(Waiters::default());
        let consuming: Pin<Box<dyn Future<Output = catga::Result<()>> + Send>> = match path {
            Path::Raw => Box::pin(consume_raw::<E>(
                consuming.client().clone(),
                subject.clone(),
                format!("{group}__raw"),
                Arc::clone(&waiters),
            )),
            Path::Consumer { .. } | Path::OutboxInbox => {
                let mediator = Mediator::builder()
                    .event_handler::<E, _>(Complete(Arc::clone(&waiters)))
                    .build()?;
                let transport: Arc<dyn Transport> = Arc::new(consuming);
                let mut consumer = EventConsumer::new(
                    transport,
                    group.clone(),
                    Routes::new().event::<E>(),
                    mediator,
                );
                if let Some(files) = &files {
                    consumer =
                        consumer.inbox(SqliteInbox::open(files.path().join("inbox.db")).await?);
                }
                Box::pin(consumer.run())
            }
        };
        let consumer_error = Arc::new(Mutex::new(None));
        let task = {
            let consumer_error = Arc::clone(&consumer_error);
            let waiters = Arc::clone(&waiters);
            let group = group.clone();
            tokio::spawn(async move {
                let error = match consuming.await {
                    Err(error) => error,
                    Ok(()) => Error::unavailable("the subscription ended"),
                };
                *consumer_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Error::new(
                    error.kind(),
                    format!(
                        "the consumer of group `{group}` stopped: {}",
                        error.message()
                    ),
                ));
                // Dropping the senders wakes every waiting operation with the failure.
                waiters.map().clear();
            })
        };
        let publisher = match (path, &files) {
            (Path::Raw, _) => Publisher::Raw,
            (Path::OutboxInbox, Some(files)) => {
                let outbox = SqliteOutbox::open(files.path().join("outbox.db")).await?;
                let mediator = Mediator::builder()
                    .handler(Export::<E>(PhantomData))
                    .outbox(outbox.clone())
                    .export::<E>()
                    .build()?;
                let dispatcher = OutboxDispatcher::new(outbox, Arc::new(publishing));
                let stopped = Arc::clone(&consumer_error);
                let waiters = Arc::clone(&waiters);
                let dispatcher = tokio::spawn(async move {
                    if let Err(error) = dispatcher.run().await {
                        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = Some(Error::new(
                            error.kind(),
                            format!("the outbox dispatcher stopped: {}", error.message()),
                        ));
                        waiters.map().clear();
                    }
                });
                Publisher::Outbox {
                    mediator,
                    dispatcher,
                }
            }
            _ => Publisher::Transport(Box::new(publishing)),
        };
        Ok(Live {
            publisher,
            admin,
            subject,
            group,
            waiters,
            consumer_error,
            consumer: task,
            next: AtomicU64::new(0),
            _files: files,
            _event: PhantomData,
        })
    }

    /// Publishes event `seq` the scenario's way.
    async fn publish(&self, seq: u64) -> catga::Result<()> {
        match &self.publisher {
            Publisher::Transport(transport) => {
                let envelope = Envelope::of(&E::numbered(seq), &Context::new(MessageId(seq)))?;
                transport.publish(&self.subject, &envelope).await
            }
            Publisher::Raw => {
                let envelope = Envelope::of(&E::numbered(seq), &Context::new(MessageId(seq)))?;
                let unavailable = |error: &dyn std::fmt::Display| {
                    Error::unavailable(format!("raw publish on `{}`: {error}", self.subject))
                };
                self.admin
                    .publish(self.subject.clone(), envelope.encode().into())
                    .await
                    .map_err(|error| unavailable(&error))?
                    .await
                    .map_err(|error| unavailable(&error))?;
                Ok(())
            }
            Publisher::Outbox { mediator, .. } => mediator.send(BenchNatsExport { seq }).await,
        }
    }

    /// One operation: publish (stored, acknowledged), then wait until the handler ran.
    async fn publish_and_wait(&self) -> catga::Result<()> {
        if let Some(error) = self.consumer_failure() {
            return Err(error);
        }
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let (done, handled) = oneshot::channel();
        self.waiters.map().insert(seq, done);
        if let Err(error) = self.publish(seq).await {
            self.waiters.map().remove(&seq);
            return Err(error);
        }
        match tokio::time::timeout(HANDLED_TIMEOUT, handled).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(self.consumer_failure().unwrap_or_else(|| {
                Error::internal(format!(
                    "the wait for event {seq} on `{}` was dropped",
                    self.subject
                ))
            })),
            Err(_) => {
                self.waiters.map().remove(&seq);
                Err(Error::timeout(format!(
                    "event {seq} was stored on `{}`, but consumer group `{}` did not handle \
                     it within {HANDLED_TIMEOUT:?}",
                    self.subject, self.group
                )))
            }
        }
    }

    fn consumer_failure(&self) -> Option<Error> {
        self.consumer_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// The floor's consumer: a durable pull consumer read with plain async-nats, each message
/// acknowledged (a plain ack) and its waiter woken; no catga on the way. It pulls in batches of
/// [`THROUGHPUT_IN_FLIGHT`], one pull at a time, each read to its end: async-nats' continuous
/// pull (`messages()`) can stop asking for messages under load while the stream holds them.
async fn consume_raw<E: Probe>(
    client: async_nats::Client,
    subject: String,
    name: String,
    waiters: Arc<Waiters>,
) -> catga::Result<()> {
    let broker = |what: &str, error: &dyn std::fmt::Display| {
        Error::unavailable(format!("raw consumer `{name}`: cannot {what}: {error}"))
    };
    let jetstream = jetstream::new(client);
    let consumer: jetstream::consumer::PullConsumer = jetstream
        .create_consumer_on_stream(
            jetstream::consumer::pull::Config {
                durable_name: Some(name.clone()),
                filter_subject: subject.clone(),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ..Default::default()
            },
            EVENTS_STREAM,
        )
        .await
        .map_err(|error| broker("create it", &error))?;
    loop {
        let mut messages = consumer
            .batch()
            .max_messages(THROUGHPUT_IN_FLIGHT as usize)
            .expires(RAW_PULL_EXPIRY)
            .messages()
            .await
            .map_err(|error| broker("pull", &error))?;
        while let Some(message) = messages.next().await {
            let message = message.map_err(|error| broker("pull", &error))?;
            let seq = Envelope::decode(&message.payload)
                .and_then(|envelope| envelope.message::<E>())
                .map(|event| event.seq());
            message.ack().await.map_err(|error| broker("ack", &error))?;
            if let Some(done) = seq.ok().and_then(|seq| waiters.map().remove(&seq)) {
                let _ = done.send(());
            }
        }
    }
}

/// Removes a scenario's traces from the broker: its events, its group's consumers, and its
/// group's dead letters.
async fn clean(
    admin: &jetstream::Context,
    subject: &str,
    group: &str,
    type_name: &str,
) -> catga::Result<()> {
    let broker = |what: String, error: &dyn std::fmt::Display| {
        Error::unavailable(format!("cannot {what}: {error}"))
    };
    let events = admin
        .get_stream(EVENTS_STREAM)
        .await
        .map_err(|error| broker(format!("open stream {EVENTS_STREAM}"), &error))?;
    events
        .purge()
        .filter(subject)
        .await
        .map_err(|error| broker(format!("purge `{subject}` from {EVENTS_STREAM}"), &error))?;
    // Consumers are named `<group>__<subject>__<hash>` (see catga_nats).
    let prefix = format!("{group}__");
    let mut names = events.consumer_names();
    let mut ours = Vec::new();
    while let Some(name) = names.next().await {
        let name =
            name.map_err(|error| broker(format!("list the consumers of {EVENTS_STREAM}"), &error))?;
        if name.starts_with(&prefix) {
            ours.push(name);
        }
    }
    for name in ours {
        events
            .delete_consumer(&name)
            .await
            .map_err(|error| broker(format!("delete consumer `{name}`"), &error))?;
    }
    let dead = dead_letter_subject(group, type_name);
    let letters = admin
        .get_stream(DEAD_LETTER_STREAM)
        .await
        .map_err(|error| broker(format!("open stream {DEAD_LETTER_STREAM}"), &error))?;
    letters
        .purge()
        .filter(&dead)
        .await
        .map_err(|error| broker(format!("purge `{dead}` from {DEAD_LETTER_STREAM}"), &error))?;
    Ok(())
}
