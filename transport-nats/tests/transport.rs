//! NatsTransport against a real nats-server (started per test by `catga_nats::testing`).
//! Every test is bounded in time, so a hang fails instead of blocking CI.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant};

use catga::ErrorKind;
use catga::transport::{
    ConsumerOptions, Delivery, ENVELOPE_VERSION, Envelope, ReplyBody, Subscription, Transport,
    command_subject, dead_letter_subject, event_subject,
};
use catga_nats::testing::NatsServer;
use catga_nats::{DEAD_LETTER_STREAM, EVENTS_STREAM, NatsOptions, NatsTransport};
use tokio::sync::mpsc;

/// Fails the test when `future` does not finish within `seconds`.
async fn bounded<F: Future>(seconds: u64, future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(seconds), future)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {seconds} s"))
}

/// True, after one line saying so, when nats-server is not installed: the test then returns.
/// With `CATGA_REQUIRE_NATS=1` (CI) a missing server fails the test instead.
fn no_nats_server(test: &str) -> bool {
    catga_nats::testing::skip_without_nats_server(test).expect("nats-server is required")
}

async fn broker() -> (NatsServer, NatsTransport) {
    broker_with(NatsOptions::default()).await
}

async fn broker_with(options: NatsOptions) -> (NatsServer, NatsTransport) {
    let server = NatsServer::start().await.expect("nats-server starts");
    let options = NatsOptions {
        operation_timeout: Duration::from_secs(2),
        ..options
    };
    let transport = NatsTransport::connect(&server.url(), options)
        .await
        .expect("connects");
    (server, transport)
}

fn envelope(type_name: &str, n: u64) -> Envelope {
    Envelope {
        version: ENVELOPE_VERSION,
        id: format!("{:016x}{n:016x}", fastrand::u64(..)),
        type_name: type_name.to_string(),
        schema_version: 1,
        correlation_id: format!("c{n}"),
        causation_id: None,
        created_at_ms: 0,
        key: None,
        payload: serde_json::json!({ "n": n }),
        headers: Default::default(),
    }
}

fn options(ack_wait: Duration) -> ConsumerOptions {
    ConsumerOptions {
        ack_wait,
        ..ConsumerOptions::default()
    }
}

/// Runs a member: acks every delivery and reports `(member, envelope id)`.
fn spawn_member(
    member: &'static str,
    mut subscription: Box<dyn Subscription>,
    seen: mpsc::UnboundedSender<(&'static str, String)>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok(delivery) = subscription.next().await {
            let id = delivery.envelope.id.clone();
            // A failed ack means a redelivery, which the sets below absorb or catch.
            let _ = delivery.ack().await;
            if seen.send((member, id)).is_err() {
                return;
            }
        }
    })
}

async fn stream_messages(transport: &NatsTransport, stream: &str) -> u64 {
    let jetstream = async_nats::jetstream::new(transport.client().clone());
    let mut stream = jetstream.get_stream(stream).await.expect("stream exists");
    stream.info().await.expect("stream info").state.messages
}

/// Services that start together each make sure of the streams: those that find them as
/// configured write nothing (nats-server 2.9 can crash when several processes update one
/// stream at once), and a connection asking for another setting has it applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_starting_together_share_the_streams_and_a_changed_setting_is_applied() {
    if no_nats_server(
        "services_starting_together_share_the_streams_and_a_changed_setting_is_applied",
    ) {
        return;
    }
    bounded(60, async {
        let server = NatsServer::start().await.expect("nats-server starts");
        let options = NatsOptions {
            operation_timeout: Duration::from_secs(5),
            ..NatsOptions::default()
        };
        let starting: Vec<_> = (0..4)
            .map(|_| {
                let (url, options) = (server.url(), options.clone());
                tokio::spawn(async move { NatsTransport::connect(&url, options).await })
            })
            .collect();
        for service in starting {
            service.await.expect("joins").expect("connects");
        }
        let changed = NatsOptions {
            duplicate_window: Duration::from_secs(30),
            ..options
        };
        let transport = NatsTransport::connect(&server.url(), changed)
            .await
            .expect("the broker is still up");
        let jetstream = async_nats::jetstream::new(transport.client().clone());
        let mut events = jetstream.get_stream(EVENTS_STREAM).await.expect("exists");
        let config = events.info().await.expect("stream info").config.clone();
        assert_eq!(config.duplicate_window, Duration::from_secs(30));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_group_gets_each_event_and_one_member_of_a_group_handles_it() {
    if no_nats_server("every_group_gets_each_event_and_one_member_of_a_group_handles_it") {
        return;
    }
    bounded(30, async {
        let (_server, transport) = broker().await;
        let subject = event_subject("Tick");
        let subjects = [subject.clone()];
        let opts = options(Duration::from_secs(30));
        let (seen, mut received) = mpsc::unbounded_channel();
        let mut members = Vec::new();
        for (member, group) in [("a1", "alpha"), ("a2", "alpha"), ("b1", "beta")] {
            let subscription = transport
                .subscribe(group, &subjects, &opts)
                .await
                .expect("subscribes");
            members.push(spawn_member(member, subscription, seen.clone()));
        }
        let mut published = HashSet::new();
        for n in 0..200 {
            let envelope = envelope("Tick", n);
            transport
                .publish(&subject, &envelope)
                .await
                .expect("publishes");
            published.insert(envelope.id);
        }
        let mut alpha: HashMap<String, u32> = HashMap::new();
        let mut beta: HashMap<String, u32> = HashMap::new();
        let mut per_member: HashMap<&str, u32> = HashMap::new();
        while alpha.len() < 200 || beta.len() < 200 {
            let (member, id) = received.recv().await.expect("members run");
            *per_member.entry(member).or_default() += 1;
            let group = if member == "b1" {
                &mut beta
            } else {
                &mut alpha
            };
            *group.entry(id).or_default() += 1;
        }
        // Anything delivered twice would show up within this pause.
        tokio::time::sleep(Duration::from_millis(500)).await;
        while let Ok((member, id)) = received.try_recv() {
            let group = if member == "b1" {
                &mut beta
            } else {
                &mut alpha
            };
            *group.entry(id).or_default() += 1;
        }
        for (name, group) in [("alpha", &alpha), ("beta", &beta)] {
            let keys: HashSet<String> = group.keys().cloned().collect();
            assert_eq!(keys, published, "group {name} got every event");
            let twice: Vec<_> = group.iter().filter(|(_, count)| **count > 1).collect();
            assert!(twice.is_empty(), "group {name} got events twice: {twice:?}");
        }
        eprintln!("deliveries per member: {per_member:?}");
        members.iter().for_each(|member| member.abort());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsettled_delivery_goes_to_another_member_after_ack_wait() {
    if no_nats_server("an_unsettled_delivery_goes_to_another_member_after_ack_wait") {
        return;
    }
    bounded(30, async {
        let (_server, transport) = broker().await;
        let subjects = [event_subject("Tick")];
        let opts = options(Duration::from_secs(1));
        let mut first = transport
            .subscribe("alpha", &subjects, &opts)
            .await
            .expect("subscribes");
        let sent = envelope("Tick", 1);
        // Before the publish: ack_wait runs from the first delivery, which is later.
        let published = Instant::now();
        transport
            .publish(&subjects[0], &sent)
            .await
            .expect("publishes");
        let delivery = first.next().await.expect("delivered");
        assert_eq!(
            (delivery.envelope.id.as_str(), delivery.attempt),
            (sent.id.as_str(), 1)
        );
        // The member dies holding the delivery: neither acked nor returned.
        drop(delivery);
        drop(first);
        let mut second = transport
            .subscribe("alpha", &subjects, &opts)
            .await
            .expect("subscribes");
        let again = second.next().await.expect("redelivered");
        assert_eq!(again.envelope, sent);
        assert_eq!(again.subject, subjects[0]);
        assert_eq!(again.attempt, 2);
        // Not before ack_wait ran out; how long after is the machine's business (the
        // test's own bound catches a redelivery that never comes).
        let waited = published.elapsed();
        assert!(
            waited >= Duration::from_millis(950),
            "redelivered {waited:?} after the publish, before ack_wait"
        );
        again.ack().await.expect("acks");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_redelivers_after_the_delay_with_the_next_attempt() {
    if no_nats_server("retry_redelivers_after_the_delay_with_the_next_attempt") {
        return;
    }
    bounded(30, async {
        let (_server, transport) = broker().await;
        let subjects = [event_subject("Tick")];
        let mut member = transport
            .subscribe("alpha", &subjects, &options(Duration::from_secs(30)))
            .await
            .expect("subscribes");
        let sent = envelope("Tick", 1);
        transport
            .publish(&subjects[0], &sent)
            .await
            .expect("publishes");
        let mut delivery: Delivery = member.next().await.expect("delivered");
        assert_eq!(delivery.attempt, 1);
        for attempt in 2..=3 {
            let returned = Instant::now();
            delivery
                .retry(Duration::from_millis(400))
                .await
                .expect("returns");
            delivery = member.next().await.expect("redelivered");
            let waited = returned.elapsed();
            assert_eq!(delivery.envelope.id, sent.id);
            assert_eq!(delivery.attempt, attempt);
            // Not before the delay; the test's own bound catches one that never comes.
            assert!(
                waited >= Duration::from_millis(350),
                "redelivered after {waited:?}, before the 400 ms delay"
            );
        }
        delivery.ack().await.expect("acks");
        let nothing = tokio::time::timeout(Duration::from_millis(700), member.next()).await;
        assert!(nothing.is_err(), "an acked message came back: {nothing:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_published_twice_is_stored_once() {
    if no_nats_server("an_envelope_published_twice_is_stored_once") {
        return;
    }
    bounded(30, async {
        let (_server, transport) = broker().await;
        let subject = event_subject("Tick");
        let once = envelope("Tick", 1);
        let other = envelope("Tick", 2);
        for envelope in [&once, &once, &other, &once] {
            transport
                .publish(&subject, envelope)
                .await
                .expect("publishes");
        }
        assert_eq!(stream_messages(&transport, EVENTS_STREAM).await, 2);
        let mut member = transport
            .subscribe("alpha", &[subject], &options(Duration::from_secs(30)))
            .await
            .expect("subscribes");
        let mut ids = Vec::new();
        for _ in 0..2 {
            let delivery = member.next().await.expect("delivered");
            ids.push(delivery.envelope.id.clone());
            delivery.ack().await.expect("acks");
        }
        assert_eq!(ids, [once.id, other.id]);
        let nothing = tokio::time::timeout(Duration::from_millis(500), member.next()).await;
        assert!(nothing.is_err(), "a duplicate was delivered: {nothing:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_land_in_the_dead_letter_stream() {
    if no_nats_server("dead_letters_land_in_the_dead_letter_stream") {
        return;
    }
    bounded(30, async {
        let (_server, transport) = broker().await;
        let subject = dead_letter_subject("billing", "Tick");
        let dead = envelope("Tick", 7);
        transport.publish(&subject, &dead).await.expect("publishes");
        assert_eq!(stream_messages(&transport, DEAD_LETTER_STREAM).await, 1);
        assert_eq!(stream_messages(&transport, EVENTS_STREAM).await, 0);
        let mut ops = transport
            .subscribe(
                "ops",
                &["catga.dead.>".to_string()],
                &ConsumerOptions::default(),
            )
            .await
            .expect("subscribes");
        let delivery = ops.next().await.expect("delivered");
        assert_eq!(delivery.subject, "catga.dead.billing.Tick");
        assert_eq!(delivery.envelope, dead);
        delivery.ack().await.expect("acks");

        let error = transport
            .publish("orders.created", &dead)
            .await
            .expect_err("not a catga subject");
        assert_eq!(error.kind(), ErrorKind::Validation);
        assert!(error.message().contains("catga.events."), "{error}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_get_replies_and_the_error_kinds_of_a_local_send() {
    if no_nats_server("requests_get_replies_and_the_error_kinds_of_a_local_send") {
        return;
    }
    bounded(30, async {
        let (_server, transport) = broker().await;
        let subject = command_subject("Divide");
        let mut requests = transport
            .serve("calculator", std::slice::from_ref(&subject))
            .await
            .expect("serves");
        let server = tokio::spawn(async move {
            while let Ok(request) = requests.next().await {
                let divisor = request.envelope.payload["n"].as_u64().unwrap_or(0);
                let outcome = 100u64
                    .checked_div(divisor)
                    .ok_or_else(|| catga::Error::validation("division by zero"));
                let reply = request
                    .envelope
                    .reply(&ReplyBody::of(&outcome))
                    .expect("reply");
                request.reply(reply).await.expect("replies");
            }
        });
        let timeout = Duration::from_secs(2);
        let request = envelope("Divide", 4);
        let reply = transport
            .request(&subject, &request, timeout)
            .await
            .expect("a reply");
        assert_eq!(reply.causation_id.as_deref(), Some(request.id.as_str()));
        let body: ReplyBody = serde_json::from_value(reply.payload).expect("a reply body");
        assert_eq!(body.into_result::<u64>().expect("ok"), 25);

        let reply = transport
            .request(&subject, &envelope("Divide", 0), timeout)
            .await
            .expect("a reply");
        let body: ReplyBody = serde_json::from_value(reply.payload).expect("a reply body");
        let error = body.into_result::<u64>().expect_err("an error reply");
        assert_eq!(error.kind(), ErrorKind::Validation);
        assert_eq!(error.message(), "division by zero");
        server.abort();

        let error = transport
            .request(&command_subject("Nobody"), &envelope("Nobody", 1), timeout)
            .await
            .expect_err("no server");
        assert_eq!(error.kind(), ErrorKind::NoHandler, "{error}");
        assert!(error.message().contains("catga.commands.Nobody"), "{error}");

        // A server that takes the request and never answers.
        let silent_subject = command_subject("Silent");
        let mut silent = transport
            .serve("silent", std::slice::from_ref(&silent_subject))
            .await
            .expect("serves");
        let held = tokio::spawn(async move { silent.next().await.map(|request| request.envelope) });
        let error = transport
            .request(
                &silent_subject,
                &envelope("Silent", 1),
                Duration::from_millis(300),
            )
            .await
            .expect_err("no reply");
        // A Timeout error at all is the point: a request that hung would trip `bounded`.
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        assert!(
            held.await.expect("joins").is_ok(),
            "the server got the request"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_pauses_its_handling_loses_nothing_it_pulled_ahead() {
    if no_nats_server("a_member_that_pauses_its_handling_loses_nothing_it_pulled_ahead") {
        return;
    }
    bounded(60, async {
        // A member busy with one delivery for many pull expiries leaves the rest of its batch
        // unread. What it pulled ahead must wait for it, not be dropped with a pull that timed
        // out and come back only after ack_wait (as a second attempt).
        let (_server, transport) = broker_with(NatsOptions {
            pull_expiry: Duration::from_millis(100),
            ..NatsOptions::default()
        })
        .await;
        let subject = event_subject("Paused");
        let mut subscription = transport
            .subscribe(
                "slow",
                std::slice::from_ref(&subject),
                &options(Duration::from_secs(30)),
            )
            .await
            .expect("subscribes");
        let mut published = HashSet::new();
        for n in 0..64 {
            let envelope = envelope("Paused", n);
            transport
                .publish(&subject, &envelope)
                .await
                .expect("stored");
            published.insert(envelope.id);
        }
        let mut got = HashSet::new();
        let mut pauses = 0;
        while got.len() < published.len() {
            let delivery = subscription.next().await.expect("a delivery");
            assert_eq!(
                delivery.attempt, 1,
                "{} was delivered again: it was lost while the member paused",
                delivery.envelope.id
            );
            got.insert(delivery.envelope.id.clone());
            delivery.ack().await.expect("acked");
            if pauses < 3 {
                // Twenty pull expiries without asking for the next delivery.
                tokio::time::sleep(Duration::from_secs(2)).await;
                pauses += 1;
            }
        }
        assert_eq!(got, published);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_run_loses_nothing() {
    if no_nats_server("a_broker_restart_mid_run_loses_nothing") {
        return;
    }
    bounded(50, async {
        // Pulls expire after 200 ms, so that the outage below (3 s) outlasts twice that and
        // the member's pull is reopened while the broker is down, not only resumed by the
        // client's reconnection.
        let (mut server, transport) = broker_with(NatsOptions {
            pull_expiry: Duration::from_millis(200),
            ..NatsOptions::default()
        })
        .await;
        let subject = event_subject("Tick");
        let subscription = transport
            .subscribe(
                "alpha",
                std::slice::from_ref(&subject),
                &options(Duration::from_secs(5)),
            )
            .await
            .expect("subscribes");
        let (seen, mut received) = mpsc::unbounded_channel();
        let member = spawn_member("a1", subscription, seen);

        async fn publish_until_stored(
            transport: &NatsTransport,
            subject: &str,
            envelope: &Envelope,
        ) {
            loop {
                match transport.publish(subject, envelope).await {
                    Ok(()) => return,
                    Err(error) if error.kind() == ErrorKind::Unavailable => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(error) => panic!("publish failed: {error}"),
                }
            }
        }
        let mut published = HashSet::new();
        for n in 0..100 {
            let envelope = envelope("Tick", n);
            publish_until_stored(&transport, &subject, &envelope).await;
            published.insert(envelope.id);
        }

        // The member consumes the first 100, then waits in `next` while the broker is down.
        let mut got = HashSet::new();
        while !published.is_subset(&got) {
            let (_, id) = received.recv().await.expect("the member runs");
            got.insert(id);
        }
        server.kill().await.expect("killed");
        // While the broker is down, a publish fails (within its operation timeout) instead of
        // hanging; a hang would trip `bounded`.
        let started = Instant::now();
        let error = transport
            .publish(&subject, &envelope("Tick", 999))
            .await
            .expect_err("the broker is down");
        assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
        eprintln!(
            "publish during the outage failed after {:?}: {error}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
        server.resume().await.expect("restarts");

        for n in 100..200 {
            let envelope = envelope("Tick", n);
            publish_until_stored(&transport, &subject, &envelope).await;
            published.insert(envelope.id);
        }
        while !published.is_subset(&got) {
            let (_, id) = received.recv().await.expect("the member runs");
            got.insert(id);
        }
        // The publish that failed during the outage may or may not have been stored.
        assert!(
            got.len() == 200 || got.len() == 201,
            "{} distinct",
            got.len()
        );
        member.abort();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_groups_and_subjects_are_refused_clearly() {
    if no_nats_server("invalid_groups_and_subjects_are_refused_clearly") {
        return;
    }
    bounded(30, async {
        let (_server, transport) = broker().await;
        let subjects = [event_subject("Tick")];
        let opts = ConsumerOptions::default();
        for group in ["", "billing.eu", "two words", "star*", &"g".repeat(65)] {
            let error = transport
                .subscribe(group, &subjects, &opts)
                .await
                .err()
                .expect("an invalid group is refused");
            assert_eq!(error.kind(), ErrorKind::Validation);
            assert!(
                error.message().contains("invalid consumer group name"),
                "{error}"
            );
            let error = transport
                .serve(group, &subjects)
                .await
                .err()
                .expect("refused too");
            assert_eq!(error.kind(), ErrorKind::Validation);
        }
        let overlapping = [event_subject("Tick"), "catga.events.>".to_string()];
        let error = transport
            .subscribe("alpha", &overlapping, &opts)
            .await
            .err()
            .expect("overlapping subjects are refused");
        assert!(error.message().contains("overlap"), "{error}");
        let error = transport
            .subscribe("alpha", &["orders.created".to_string()], &opts)
            .await
            .err()
            .expect("a subject outside the streams is refused");
        assert!(error.message().contains("only subjects below"), "{error}");
        let error = transport
            .subscribe("alpha", &[], &opts)
            .await
            .err()
            .expect("no subject is refused");
        assert!(error.message().contains("no subject"), "{error}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_group_consumes_several_subjects_across_both_streams() {
    if no_nats_server("one_group_consumes_several_subjects_across_both_streams") {
        return;
    }
    bounded(30, async {
        let (_server, transport) = broker().await;
        let subjects = [
            event_subject("Placed"),
            event_subject("Shipped"),
            dead_letter_subject("alpha", "Placed"),
        ];
        let mut member = transport
            .subscribe("alpha", &subjects, &ConsumerOptions::default())
            .await
            .expect("subscribes");
        let mut sent = HashSet::new();
        for (n, subject) in subjects.iter().enumerate() {
            let envelope = envelope("X", n as u64);
            transport
                .publish(subject, &envelope)
                .await
                .expect("publishes");
            sent.insert((subject.clone(), envelope.id));
        }
        transport
            .publish(&event_subject("Other"), &envelope("Other", 9))
            .await
            .expect("publishes");
        let mut got = HashSet::new();
        for _ in 0..3 {
            let delivery = member.next().await.expect("delivered");
            got.insert((delivery.subject.clone(), delivery.envelope.id.clone()));
            delivery.ack().await.expect("acks");
        }
        assert_eq!(got, sent);
        let nothing = tokio::time::timeout(Duration::from_millis(500), member.next()).await;
        assert!(
            nothing.is_err(),
            "an unsubscribed subject was delivered: {nothing:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn connecting_to_nothing_is_unavailable_and_names_the_url() {
    bounded(30, async {
        let port = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let url = format!("nats://127.0.0.1:{port}");
        let options = NatsOptions {
            operation_timeout: Duration::from_secs(1),
            ..NatsOptions::default()
        };
        let error = NatsTransport::connect(&url, options)
            .await
            .expect_err("nothing listens");
        assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
        assert!(error.message().contains(&url), "{error}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_can_change_its_settings_between_deploys() {
    if no_nats_server("a_group_can_change_its_settings_between_deploys") {
        return;
    }
    bounded(30, async {
        let (_server, transport) = broker().await;
        let subjects = [event_subject("Tick")];
        for (ack_wait, max_attempts) in [(1, 3), (7, 9)] {
            let opts = ConsumerOptions {
                ack_wait: Duration::from_secs(ack_wait),
                max_attempts,
                ..ConsumerOptions::default()
            };
            transport
                .subscribe("alpha", &subjects, &opts)
                .await
                .expect("subscribes with new settings");
            let jetstream = async_nats::jetstream::new(transport.client().clone());
            let stream = jetstream.get_stream(EVENTS_STREAM).await.expect("stream");
            let mut names = stream.consumer_names();
            let name = futures_util::StreamExt::next(&mut names)
                .await
                .expect("one consumer")
                .expect("listed");
            assert!(name.starts_with("alpha__Tick__"), "{name}");
            let consumer: async_nats::jetstream::consumer::PullConsumer =
                stream.get_consumer(&name).await.expect("consumer");
            let config = &consumer.cached_info().config;
            assert_eq!(config.ack_wait, Duration::from_secs(ack_wait));
            // max_attempts plus the margin that lets the runtime dead-letter a message whose
            // last attempt died unsettled.
            assert_eq!(config.max_deliver, i64::from(max_attempts) + 2);
            assert_eq!(config.filter_subject, subjects[0]);
        }
    })
    .await;
}
