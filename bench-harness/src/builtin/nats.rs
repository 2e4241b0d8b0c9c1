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
//! A broker that cannot be reached does not panic the set-up: the workload keeps the error,
//! and its first operation returns it, so the run stops with the scenario's name and the
//! reason.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream;
use catga::prelude::*;
use catga::transport::{
    Envelope, EventConsumer, Routes, Transport, dead_letter_subject, event_subject,
};
use catga_nats::{DEAD_LETTER_STREAM, EVENTS_STREAM, NatsOptions, NatsTransport};
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

/// The longest an operation waits for its event to be handled: past it the operation fails
/// (the consumer is stuck or the broker lost the event), rather than hanging the run.
const HANDLED_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest teardown spends removing the scenario's messages and consumers.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The NATS scenarios against the broker at `url` (`nats://HOST:PORT`, JetStream enabled).
pub fn scenarios(url: &str) -> Vec<Scenario> {
    vec![
        scenario::<BenchNatsRate1k>(url, "nats_handled_rate_1k").rate(LOW_RATE),
        scenario::<BenchNatsRate2k>(url, "nats_handled_rate_2k").rate(HIGH_RATE),
        scenario::<BenchNatsSaturation>(url, "nats_handled_saturation")
            .concurrency(SATURATION_IN_FLIGHT),
    ]
}

fn scenario<E: Probe>(url: &str, name: &'static str) -> Scenario {
    let url = url.to_string();
    Scenario::new(name, Group::Runtime, move || {
        NatsHandled::<E>::open(url.clone(), name)
    })
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

probes!(BenchNatsRate1k, BenchNatsRate2k, BenchNatsSaturation);

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
    async fn open(url: String, scenario: &'static str) -> NatsHandled<E> {
        let live = Live::open(&url, scenario).await.map_err(|error| {
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
            // Best effort: the broker may be gone; what stays is removed by the next set-up.
            let _ = tokio::time::timeout(
                CLEANUP_TIMEOUT,
                clean(&live.admin, &live.subject, &live.group, E::NAME),
            )
            .await;
        }
    }
}

/// A connected scenario: the publishing side, the consumer task, and what they share.
struct Live<E> {
    publisher: NatsTransport,
    admin: jetstream::Context,
    subject: String,
    group: String,
    waiters: Arc<Waiters>,
    /// Why the consumer stopped, once it has.
    consumer_error: Arc<Mutex<Option<Error>>>,
    consumer: JoinHandle<()>,
    next: AtomicU64,
    _event: PhantomData<fn() -> E>,
}

impl<E> Drop for Live<E> {
    fn drop(&mut self) {
        self.consumer.abort();
    }
}

impl<E: Probe> Live<E> {
    async fn open(url: &str, scenario: &'static str) -> catga::Result<Live<E>> {
        let options = |side: &str| NatsOptions {
            client_name: Some(format!("catga-bench {scenario} {side}")),
            ..NatsOptions::default()
        };
        let publisher = NatsTransport::connect(url, options("publisher")).await?;
        let consuming = NatsTransport::connect(url, options("consumer")).await?;
        let admin = jetstream::new(publisher.client().clone());
        let subject = event_subject(E::NAME);
        let group = format!("catga_bench_{scenario}");
        // What a killed run left: its events would be replayed to the new consumer.
        clean(&admin, &subject, &group, E::NAME).await?;

        let waiters = Arc::new(Waiters::default());
        let mediator = Mediator::builder()
            .event_handler::<E, _>(Complete(Arc::clone(&waiters)))
            .build()?;
        let transport: Arc<dyn Transport> = Arc::new(consuming);
        let consumer = EventConsumer::new(
            transport,
            group.clone(),
            Routes::new().event::<E>(),
            mediator,
        );
        let consumer_error = Arc::new(Mutex::new(None));
        let task = {
            let consumer_error = Arc::clone(&consumer_error);
            let waiters = Arc::clone(&waiters);
            let group = group.clone();
            tokio::spawn(async move {
                let error = match consumer.run().await {
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
        Ok(Live {
            publisher,
            admin,
            subject,
            group,
            waiters,
            consumer_error,
            consumer: task,
            next: AtomicU64::new(0),
            _event: PhantomData,
        })
    }

    /// One operation: publish (stored, acknowledged), then wait until the handler ran.
    async fn publish_and_wait(&self) -> catga::Result<()> {
        if let Some(error) = self.consumer_failure() {
            return Err(error);
        }
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let (done, handled) = oneshot::channel();
        self.waiters.map().insert(seq, done);
        let published = async {
            let envelope = Envelope::of(&E::numbered(seq), &Context::new(MessageId(seq)))?;
            self.publisher.publish(&self.subject, &envelope).await
        }
        .await;
        if let Err(error) = published {
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
