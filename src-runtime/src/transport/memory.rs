//! [`MemoryTransport`]: a broker inside the process, with the delivery semantics of the NATS
//! transport (durable consumer groups, acknowledgement deadlines, delayed redelivery, a
//! duplicate window on envelope ids, queue-group request/reply), for tests and for services
//! that run as one process. "Durable" here means "for the life of the process".

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;
use tracing::Instrument as _;

use super::{
    BoxFuture, ConsumerOptions, Delivery, Envelope, IncomingRequest, Requests, Respond, Settle,
    Subscription, Transport,
};
use crate::{Error, ErrorKind, Result};

/// An in-process broker; clones share it.
#[derive(Debug, Clone, Default)]
pub struct MemoryTransport {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// Woken on every publish, settle and new redelivery, so waiting members look again.
    changed: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Every published message, in order: the stream.
    log: Vec<(String, Envelope)>,
    /// Envelope ids already in the log: a republished envelope is stored once.
    ids: HashSet<String>,
    groups: HashMap<String, Group>,
    /// Request servers by queue group, each a list of members.
    servers: HashMap<String, Vec<Server>>,
    /// Round-robin position per queue group.
    next_server: HashMap<String, usize>,
}

#[derive(Debug)]
struct Group {
    filters: Vec<String>,
    options: ConsumerOptions,
    /// The first log index the group has not looked at yet.
    cursor: usize,
    /// Deliveries made per log index.
    attempts: HashMap<usize, u32>,
    /// Delivered and not settled: log index and the instant it is due again.
    in_flight: HashMap<usize, Instant>,
    /// Returned for redelivery: (due, log index).
    redeliver: BTreeSet<(Instant, usize)>,
}

#[derive(Debug, Clone)]
struct Server {
    subjects: Vec<String>,
    requests: mpsc::UnboundedSender<IncomingRequest>,
}

impl MemoryTransport {
    /// An empty broker.
    pub fn new() -> Self {
        MemoryTransport::default()
    }

    /// How many messages were stored on subjects matching `filter` (e.g. `catga.dead.>`).
    pub fn stored(&self, filter: &str) -> usize {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|(subject, _)| subject_matches(filter, subject))
            .count()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section leaves the state consistent before it can panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Transport for MemoryTransport {
    fn publish<'a>(
        &'a self,
        subject: &'a str,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<()>> {
        let span = crate::telemetry::publish_span(self.messaging_system(), subject, envelope);
        Box::pin(
            async move {
                {
                    let mut state = self.shared.lock();
                    if state.ids.insert(envelope.id.clone()) {
                        state.log.push((subject.to_string(), envelope.clone()));
                    }
                }
                self.shared.changed.notify_waiters();
                Ok(())
            }
            .instrument(span),
        )
    }

    fn messaging_system(&self) -> &'static str {
        "catga.memory"
    }

    fn lag<'a>(&'a self, group: &'a str, subject: &'a str) -> BoxFuture<'a, Result<Option<u64>>> {
        Box::pin(async move {
            let state = self.shared.lock();
            let Some(consumer) = state
                .groups
                .get(group)
                .filter(|consumer| consumer.filters.iter().any(|f| f == subject))
            else {
                return Ok(None);
            };
            let waiting = state.log[consumer.cursor..]
                .iter()
                .filter(|(published, _)| subject_matches(subject, published))
                .count();
            Ok(Some(waiting as u64))
        })
    }

    fn subscribe<'a>(
        &'a self,
        group: &'a str,
        subjects: &'a [String],
        options: &'a ConsumerOptions,
    ) -> BoxFuture<'a, Result<Box<dyn Subscription>>> {
        Box::pin(async move {
            if group.is_empty() || subjects.is_empty() {
                return Err(Error::new(
                    ErrorKind::Configuration,
                    format!(
                        "a subscription needs a group name and at least one subject (group `{group}`, \
                     subjects {subjects:?})"
                    ),
                ));
            }
            let mut state = self.shared.lock();
            let existing = state
                .groups
                .entry(group.to_string())
                .or_insert_with(|| Group {
                    filters: subjects.to_vec(),
                    options: options.clone(),
                    cursor: 0,
                    attempts: HashMap::new(),
                    in_flight: HashMap::new(),
                    redeliver: BTreeSet::new(),
                });
            if existing.filters != subjects {
                return Err(Error::new(
                    ErrorKind::Configuration,
                    format!(
                        "consumer group `{group}` already consumes {:?}; a member cannot consume \
                     {subjects:?}: use another group name",
                        existing.filters
                    ),
                ));
            }
            Ok(Box::new(MemorySubscription {
                shared: Arc::clone(&self.shared),
                group: group.to_string(),
            }) as Box<dyn Subscription>)
        })
    }

    fn request<'a>(
        &'a self,
        subject: &'a str,
        envelope: &'a Envelope,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<Envelope>> {
        Box::pin(async move {
            let server = {
                let mut state = self.shared.lock();
                let State {
                    servers,
                    next_server,
                    ..
                } = &mut *state;
                servers.iter_mut().find_map(|(group, members)| {
                    members.retain(|member| !member.requests.is_closed());
                    let serving: Vec<&Server> = members
                        .iter()
                        .filter(|member| {
                            member.subjects.iter().any(|f| subject_matches(f, subject))
                        })
                        .collect();
                    if serving.is_empty() {
                        return None;
                    }
                    let turn = next_server.entry(group.clone()).or_default();
                    *turn = turn.wrapping_add(1);
                    Some(serving[*turn % serving.len()].requests.clone())
                })
            };
            let no_server = || {
                Error::new(
                    ErrorKind::NoHandler,
                    format!("no service serves `{subject}` on this transport"),
                )
            };
            let server = server.ok_or_else(no_server)?;
            let (reply, answer) = oneshot::channel();
            server
                .send(IncomingRequest::new(
                    envelope.clone(),
                    Box::new(MemoryRespond { reply }),
                ))
                .map_err(|_| no_server())?;
            match tokio::time::timeout(timeout, answer).await {
                Ok(Ok(reply)) => Ok(reply),
                Ok(Err(_)) => Err(Error::unavailable(format!(
                    "the service handling `{subject}` dropped the request without replying"
                ))),
                Err(_) => Err(Error::timeout(format!(
                    "no reply on `{subject}` within {timeout:?}"
                ))),
            }
        })
    }

    fn serve<'a>(
        &'a self,
        group: &'a str,
        subjects: &'a [String],
    ) -> BoxFuture<'a, Result<Box<dyn Requests>>> {
        Box::pin(async move {
            let (requests, incoming) = mpsc::unbounded_channel();
            self.shared
                .lock()
                .servers
                .entry(group.to_string())
                .or_default()
                .push(Server {
                    subjects: subjects.to_vec(),
                    requests,
                });
            Ok(Box::new(MemoryRequests { incoming }) as Box<dyn Requests>)
        })
    }
}

/// One member of a consumer group.
struct MemorySubscription {
    shared: Arc<Shared>,
    group: String,
}

impl Subscription for MemorySubscription {
    fn next(&mut self) -> BoxFuture<'_, Result<Delivery>> {
        Box::pin(async move {
            loop {
                // Register for wake-ups before looking, so a publish in between is not missed.
                let changed = self.shared.changed.notified();
                let wake_at = match self.take() {
                    Ok(delivery) => return Ok(delivery),
                    Err(wake_at) => wake_at,
                };
                match wake_at {
                    Some(at) => {
                        tokio::select! {
                            () = changed => {}
                            () = tokio::time::sleep_until(at) => {}
                        }
                    }
                    None => changed.await,
                }
            }
        })
    }
}

impl MemorySubscription {
    /// Claims the next due message for this member, or says when to look again.
    fn take(&self) -> std::result::Result<Delivery, Option<Instant>> {
        let now = Instant::now();
        let mut state = self.shared.lock();
        let State { log, groups, .. } = &mut *state;
        let Some(group) = groups.get_mut(&self.group) else {
            return Err(None);
        };
        // Deliveries whose member never settled them are due again.
        let expired: Vec<usize> = group
            .in_flight
            .iter()
            .filter(|(_, due)| **due <= now)
            .map(|(index, _)| *index)
            .collect();
        for index in expired {
            group.in_flight.remove(&index);
            group.redeliver.insert((now, index));
        }
        let due = group
            .redeliver
            .first()
            .copied()
            .filter(|(at, _)| *at <= now);
        let index = match due {
            Some(entry) => {
                group.redeliver.remove(&entry);
                Some(entry.1)
            }
            None => {
                let found = log[group.cursor..]
                    .iter()
                    .position(|(subject, _)| {
                        group.filters.iter().any(|f| subject_matches(f, subject))
                    })
                    .map(|offset| group.cursor + offset);
                group.cursor = found.map_or(log.len(), |index| index + 1);
                found
            }
        };
        let Some(index) = index else {
            let next_redelivery = group.redeliver.first().map(|(at, _)| *at);
            let next_expiry = group.in_flight.values().min().copied();
            return Err(next_redelivery.into_iter().chain(next_expiry).min());
        };
        let attempt = group.attempts.entry(index).or_default();
        *attempt += 1;
        let attempt = *attempt;
        group.in_flight.insert(index, now + group.options.ack_wait);
        let (subject, envelope) = log[index].clone();
        let settle = MemorySettle {
            shared: Arc::clone(&self.shared),
            group: self.group.clone(),
            index,
        };
        Ok(Delivery::new(envelope, subject, attempt, Box::new(settle)))
    }
}

struct MemorySettle {
    shared: Arc<Shared>,
    group: String,
    index: usize,
}

impl MemorySettle {
    fn settle(self, redeliver_at: Option<Instant>) {
        {
            let mut state = self.shared.lock();
            if let Some(group) = state.groups.get_mut(&self.group) {
                group.in_flight.remove(&self.index);
                if let Some(at) = redeliver_at {
                    group.redeliver.insert((at, self.index));
                }
            }
        }
        self.shared.changed.notify_waiters();
    }
}

impl Settle for MemorySettle {
    fn ack(self: Box<Self>) -> BoxFuture<'static, Result<()>> {
        self.settle(None);
        Box::pin(async { Ok(()) })
    }

    fn retry(self: Box<Self>, delay: Duration) -> BoxFuture<'static, Result<()>> {
        self.settle(Some(Instant::now() + delay));
        Box::pin(async { Ok(()) })
    }
}

struct MemoryRequests {
    incoming: mpsc::UnboundedReceiver<IncomingRequest>,
}

impl Requests for MemoryRequests {
    fn next(&mut self) -> BoxFuture<'_, Result<IncomingRequest>> {
        Box::pin(async move {
            self.incoming
                .recv()
                .await
                .ok_or_else(|| Error::unavailable("the memory transport was dropped"))
        })
    }
}

struct MemoryRespond {
    reply: oneshot::Sender<Envelope>,
}

impl Respond for MemoryRespond {
    fn respond(self: Box<Self>, envelope: Envelope) -> BoxFuture<'static, Result<()>> {
        // A requester that gave up (timed out) no longer waits; that is not the server's error.
        let _ = self.reply.send(envelope);
        Box::pin(async { Ok(()) })
    }
}

/// NATS subject matching: `*` matches one token, a final `>` one or more.
pub(crate) fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in filter.split('.') {
        match (token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (token, Some(actual)) if token == actual => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::event_subject;
    use crate::{Context, MessageId};

    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, crate::Event)]
    struct Ping {
        n: u32,
    }

    fn envelope(n: u32) -> Envelope {
        Envelope::of(&Ping { n }, &Context::new(MessageId(u64::from(n)))).expect("serializes")
    }

    fn subjects() -> Vec<String> {
        vec![event_subject("Ping")]
    }

    async fn next(subscription: &mut Box<dyn Subscription>) -> Delivery {
        // Longer than any ack wait below, so paused-clock tests reach their redeliveries.
        tokio::time::timeout(Duration::from_secs(120), subscription.next())
            .await
            .expect("a delivery in time")
            .expect("a delivery")
    }

    #[test]
    fn subjects_match_like_nats() {
        assert!(subject_matches("catga.events.>", "catga.events.Ping"));
        assert!(subject_matches("catga.*.Ping", "catga.events.Ping"));
        assert!(!subject_matches("catga.events.>", "catga.events"));
        assert!(!subject_matches("catga.events.Ping", "catga.events.Pong"));
        assert!(!subject_matches("catga.events", "catga.events.Ping"));
    }

    #[tokio::test]
    async fn every_group_gets_each_message_and_one_member_of_a_group_does() {
        let transport = MemoryTransport::new();
        let options = ConsumerOptions::default();
        let mut a1 = transport
            .subscribe("a", &subjects(), &options)
            .await
            .expect("a1");
        let mut a2 = transport
            .subscribe("a", &subjects(), &options)
            .await
            .expect("a2");
        let mut b = transport
            .subscribe("b", &subjects(), &options)
            .await
            .expect("b");
        for n in 0..4 {
            transport
                .publish(&event_subject("Ping"), &envelope(n))
                .await
                .expect("publish");
        }
        let mut seen_by_a = Vec::new();
        for turn in 0..4 {
            let member = if turn % 2 == 0 { &mut a1 } else { &mut a2 };
            let delivery = next(member).await;
            seen_by_a.push(delivery.envelope.message::<Ping>().expect("ping").n);
            delivery.ack().await.expect("ack");
        }
        seen_by_a.sort_unstable();
        assert_eq!(seen_by_a, [0, 1, 2, 3]);
        for n in 0..4 {
            let delivery = next(&mut b).await;
            assert_eq!(delivery.envelope.message::<Ping>().expect("ping").n, n);
            delivery.ack().await.expect("ack");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn unsettled_deliveries_come_back_after_ack_wait_and_retries_after_their_delay() {
        let transport = MemoryTransport::new();
        let options = ConsumerOptions {
            ack_wait: Duration::from_secs(30),
            ..ConsumerOptions::default()
        };
        let mut member = transport
            .subscribe("g", &subjects(), &options)
            .await
            .expect("sub");
        transport
            .publish(&event_subject("Ping"), &envelope(1))
            .await
            .expect("publish");
        let first = next(&mut member).await;
        assert_eq!(first.attempt, 1);
        drop(first); // its member died
        let started = Instant::now();
        let second = next(&mut member).await;
        assert_eq!(second.attempt, 2);
        assert!(started.elapsed() >= Duration::from_secs(30));
        second.retry(Duration::from_secs(2)).await.expect("retry");
        let third = next(&mut member).await;
        assert_eq!(third.attempt, 3);
        third.ack().await.expect("ack");
        transport
            .publish(&event_subject("Ping"), &envelope(2))
            .await
            .expect("publish");
        assert_eq!(
            next(&mut member).await.attempt,
            1,
            "the acked message is gone"
        );
    }

    #[tokio::test]
    async fn a_republished_envelope_is_stored_once() {
        let transport = MemoryTransport::new();
        let message = envelope(1);
        transport
            .publish(&event_subject("Ping"), &message)
            .await
            .expect("publish");
        transport
            .publish(&event_subject("Ping"), &message)
            .await
            .expect("publish");
        assert_eq!(transport.stored("catga.events.>"), 1);
    }

    #[tokio::test]
    async fn requests_reach_one_server_and_fail_clearly_without_one() {
        let transport = MemoryTransport::new();
        let subject = "catga.commands.Ping".to_string();
        let no_server = transport
            .request(&subject, &envelope(1), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert_eq!(no_server.kind(), ErrorKind::NoHandler);

        let mut server = transport
            .serve("svc", std::slice::from_ref(&subject))
            .await
            .expect("serve");
        let answering = tokio::spawn(async move {
            let request = server.next().await.expect("a request");
            let reply = request
                .envelope
                .reply(&super::super::ReplyBody::of(&Ok::<u32, Error>(9)))
                .expect("reply");
            request.reply(reply).await.expect("sent");
            server
        });
        let reply = transport
            .request(&subject, &envelope(1), Duration::from_secs(5))
            .await
            .expect("a reply");
        let body: super::super::ReplyBody = serde_json::from_value(reply.payload).expect("a body");
        assert_eq!(body.into_result::<u32>().expect("ok"), 9);
        let _server = answering.await.expect("served");

        let silent = transport
            .request(&subject, &envelope(2), Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(silent.kind(), ErrorKind::Timeout);
    }
}
