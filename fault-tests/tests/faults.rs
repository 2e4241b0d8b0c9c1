//! Fault tests against a real nats-server (started per test on a free port), and processes
//! racing: the outbox dispatcher killed with SIGKILL at random points, a consumer group member
//! killed mid-stream, the broker restarted mid-run, a poison message, a handler that never
//! returns, bytes that are not envelopes, an outbox entry the broker refuses, two processes
//! racing one idempotency key with a handler slower than its lease, and a plain command's unit
//! of work killed at random points. The first four assert that every event is applied exactly
//! once (the inbox and the projection commit together). Each fails when a run stops making
//! progress, never on how fast it goes.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use catga::transport::{
    ConsumerOptions, DEAD_LETTER_TYPE, DeadLetter, Envelope, EventConsumer, MAX_UNDECODABLE_BYTES,
    OutboxEntry, Routes, Transport, UNDECODABLE_TYPE, Undecodable, event_subject,
};
use catga::{Context, MessageId};
use catga_fault_tests::{Deposited, GROUP, POISON, connect, consumer_options, create_ledger};
use catga_nats::testing::NatsServer;
use catga_sqlite::prelude::*;
use support::{
    STALL, Watchdog, no_nats_server, path, pending, until_applied, until_at_least, worker,
};
use tokio::process::{Child, Command};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_killed_at_random_points_loses_and_duplicates_nothing() {
    if no_nats_server("a_dispatcher_killed_at_random_points_loses_and_duplicates_nothing") {
        return;
    }
    const EVENTS: u64 = 10_000;
    let server = NatsServer::start().await.expect("nats-server");
    let url = server.url();
    let dir = tempfile::tempdir().expect("temp dir");
    let (outbox, ledger) = (path(dir.path(), "shop.db"), path(dir.path(), "ledger.db"));
    let outbox_arg = outbox.to_string_lossy().into_owned();
    let ledger_arg = ledger.to_string_lossy().into_owned();

    let produced = worker(&["produce", &outbox_arg, "0", &EVENTS.to_string()])
        .wait()
        .await
        .expect("the producer ran");
    assert!(produced.success(), "the producer failed");
    assert_eq!(pending(&outbox).await, EVENTS as usize);

    let _consumer = worker(&["consume", &ledger_arg, &url, "2000"]);
    let mut watchdog = Watchdog::new();
    let mut kills = 0;
    loop {
        let left = pending(&outbox).await as u64;
        if left == 0 {
            break;
        }
        watchdog.observe(EVENTS - left, || {
            format!("the outbox never drained: {left} entries left")
        });
        let mut dispatcher = worker(&["dispatch", &outbox_arg, &url]);
        // Somewhere between connecting and the middle of a batch.
        tokio::time::sleep(Duration::from_millis(fastrand::u64(30..400))).await;
        dispatcher.start_kill().expect("SIGKILL the dispatcher");
        dispatcher.wait().await.expect("reap the dispatcher");
        kills += 1;
    }
    // How many kills fit depends on the machine's speed; at least one must have.
    assert!(
        kills >= 1,
        "the dispatcher finished before it could be killed"
    );

    let (rows, distinct) = until_applied(&ledger, EVENTS).await;
    assert_eq!(
        (rows, distinct),
        (EVENTS, EVENTS),
        "after {kills} kills of the dispatcher"
    );
    eprintln!("{EVENTS} events applied once each after {kills} SIGKILLs of the dispatcher");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_killed_mid_stream_leaves_the_rest_to_the_other() {
    if no_nats_server("a_member_killed_mid_stream_leaves_the_rest_to_the_other") {
        return;
    }
    const EVENTS: u64 = 4_000;
    let server = NatsServer::start().await.expect("nats-server");
    let url = server.url();
    let dir = tempfile::tempdir().expect("temp dir");
    // Both members share the service's database: inbox and ledger.
    let ledger = path(dir.path(), "ledger.db");
    let ledger_arg = ledger.to_string_lossy().into_owned();
    create_ledger(&ledger).expect("ledger");

    let transport = connect(&url).await.expect("connect");
    let mut first = worker(&["consume", &ledger_arg, &url, "1500"]);
    let _second = worker(&["consume", &ledger_arg, &url, "1500"]);
    let publishing = tokio::spawn(publish(transport, 0..EVENTS));

    until_at_least(&ledger, EVENTS / 3).await;
    first.start_kill().expect("SIGKILL one member");
    first.wait().await.expect("reap it");
    publishing.await.expect("published");

    let (rows, distinct) = until_applied(&ledger, EVENTS).await;
    assert_eq!((rows, distinct), (EVENTS, EVENTS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restarted_mid_run_delays_nothing_for_good() {
    if no_nats_server("a_broker_restarted_mid_run_delays_nothing_for_good") {
        return;
    }
    const EVENTS: u64 = 3_000;
    let mut server = NatsServer::start().await.expect("nats-server");
    let url = server.url();
    let dir = tempfile::tempdir().expect("temp dir");
    let (outbox, ledger) = (path(dir.path(), "shop.db"), path(dir.path(), "ledger.db"));
    let (outbox_arg, ledger_arg) = (
        outbox.to_string_lossy().into_owned(),
        ledger.to_string_lossy().into_owned(),
    );
    let _consumer = worker(&["consume", &ledger_arg, &url, "2000"]);
    let _dispatcher = worker(&["dispatch", &outbox_arg, &url]);
    let producer = worker(&["produce", &outbox_arg, "0", &EVENTS.to_string()]);

    until_at_least(&ledger, EVENTS / 4).await;
    server.kill().await.expect("stop the broker");
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.resume().await.expect("start the broker again");
    let produced = producer.wait_with_output().await.expect("the producer ran");
    assert!(produced.status.success(), "the producer failed");

    let (rows, distinct) = until_applied(&ledger, EVENTS).await;
    assert_eq!((rows, distinct), (EVENTS, EVENTS));
    assert!(
        server.log().await.contains("JetStream"),
        "the broker ran with JetStream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_after_its_attempts_and_the_stream_moves_on() {
    if no_nats_server(
        "a_poison_message_is_dead_lettered_after_its_attempts_and_the_stream_moves_on",
    ) {
        return;
    }
    let server = NatsServer::start().await.expect("nats-server");
    let transport = connect(&server.url()).await.expect("connect");
    let dir = tempfile::tempdir().expect("temp dir");
    let ledger = path(dir.path(), "ledger.db");
    let consuming = tokio::spawn({
        let transport = transport.clone();
        let ledger = ledger.clone();
        async move {
            create_ledger(&ledger)?;
            let routes = Routes::new().projection(|event: &Deposited, tx| {
                if event.n == POISON {
                    return Err(
                        catga::Error::unavailable("this deposit can never be applied").into(),
                    );
                }
                tx.execute(
                    "INSERT INTO applied (n) VALUES (?1)",
                    [i64::try_from(event.n).unwrap_or(i64::MAX)],
                )?;
                Ok(())
            });
            let mediator = catga::Mediator::builder().build()?;
            EventConsumer::new(transport, GROUP, routes, mediator)
                .inbox(SqliteInbox::open(&ledger).await?)
                .options(consumer_options(Duration::from_secs(5)))
                .run()
                .await
        }
    });
    publish(transport.clone(), 0..5).await;
    publish_one(&transport, POISON).await;
    publish(transport.clone(), 5..10).await;

    let (rows, distinct) = until_applied(&ledger, 10).await;
    assert_eq!(
        (rows, distinct),
        (10, 10),
        "the events after the poison were applied"
    );
    let mut dead = transport
        .subscribe(
            "ops",
            &["catga.dead.>".to_string()],
            &ConsumerOptions::default(),
        )
        .await
        .expect("subscribe to dead letters");
    let letter = tokio::time::timeout(Duration::from_secs(60), dead.next())
        .await
        .expect("a dead letter in time")
        .expect("a dead letter");
    assert_eq!(letter.subject, format!("catga.dead.{GROUP}.Deposited"));
    assert_eq!(letter.envelope.type_name, DEAD_LETTER_TYPE);
    let letter: DeadLetter =
        serde_json::from_value(letter.envelope.payload).expect("a dead letter's payload");
    assert_eq!(
        letter.attempts,
        consumer_options(Duration::ZERO).max_attempts
    );
    assert_eq!(letter.error_kind, "unavailable");
    assert_eq!(
        letter
            .envelope
            .message::<Deposited>()
            .expect("the deposit")
            .n,
        POISON
    );
    consuming.abort();
}

/// Never returns for the poison deposit; counts every other one.
#[derive(Clone, Default)]
struct HangsOnPoison {
    handled: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<u64>>>,
}

impl catga::EventHandler<Deposited> for HangsOnPoison {
    async fn handle(&self, event: &Deposited, _ctx: &Context) -> catga::Result<()> {
        if event.n == POISON {
            std::future::pending::<()>().await;
        }
        self.handled.lock().expect("not poisoned").insert(event.n);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_handler_stops_neither_its_member_nor_the_group() {
    if no_nats_server("a_hung_handler_stops_neither_its_member_nor_the_group") {
        return;
    }
    const LATER: u64 = 100;
    let server = NatsServer::start().await.expect("nats-server");
    let handler = HangsOnPoison::default();
    // Two members of one group, each on its own connection, as two instances would be.
    let mut members = Vec::new();
    for _ in 0..2 {
        let transport = connect(&server.url()).await.expect("connect");
        let mediator = catga::Mediator::builder()
            .event_handler(handler.clone())
            .build()
            .expect("builds");
        // ack_wait 2 s, so the handling deadline is 1.6 s; three attempts.
        let consumer = EventConsumer::new(
            transport,
            GROUP,
            Routes::new().event::<Deposited>(),
            mediator,
        )
        .options(consumer_options(Duration::from_secs(2)));
        members.push(tokio::spawn(consumer.run()));
    }
    let transport = connect(&server.url()).await.expect("connect");
    publish_one(&transport, POISON).await;
    publish(transport.clone(), 0..LATER).await;

    let mut watchdog = Watchdog::new();
    loop {
        let handled = handler.handled.lock().expect("not poisoned").len() as u64;
        if handled == LATER {
            break;
        }
        watchdog.observe(handled, || {
            format!("the group handled {handled} of {LATER} deposits after the hung one")
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut dead = transport
        .subscribe(
            "ops",
            &["catga.dead.>".to_string()],
            &ConsumerOptions::default(),
        )
        .await
        .expect("subscribe to dead letters");
    let letter = tokio::time::timeout(STALL, dead.next())
        .await
        .expect("the hung deposit was dead-lettered")
        .expect("a dead letter");
    let letter: DeadLetter =
        serde_json::from_value(letter.envelope.payload).expect("a dead letter's payload");
    assert_eq!(
        (letter.attempts, letter.error_kind.as_str()),
        (consumer_options(Duration::ZERO).max_attempts, "timeout"),
        "{}",
        letter.error
    );
    assert_eq!(
        letter
            .envelope
            .message::<Deposited>()
            .expect("the deposit")
            .n,
        POISON
    );
    for member in &members {
        assert!(!member.is_finished(), "a member stopped: {member:?}");
        member.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_envelopes_are_dead_lettered_with_their_bytes_and_the_stream_moves_on() {
    if no_nats_server(
        "bytes_that_are_not_envelopes_are_dead_lettered_with_their_bytes_and_the_stream_moves_on",
    ) {
        return;
    }
    let server = NatsServer::start().await.expect("nats-server");
    let transport = connect(&server.url()).await.expect("connect");
    let handler = HangsOnPoison::default();
    let mediator = catga::Mediator::builder()
        .event_handler(handler.clone())
        .build()
        .expect("builds");
    let member = tokio::spawn(
        EventConsumer::new(
            transport.clone(),
            GROUP,
            Routes::new().event::<Deposited>(),
            mediator,
        )
        .options(consumer_options(Duration::from_secs(5)))
        .run(),
    );
    let large: Vec<u8> = (0..300 * 1024).map(|i| (i % 251) as u8).collect();
    let garbage: Vec<Vec<u8>> = vec![
        b"\x00\xffnot even text".to_vec(),
        Vec::new(),
        br#"{"hello": 1}"#.to_vec(),
        b"[1, 2, 3]".to_vec(),
        br#"{"version": 99, "id": "from-the-future"}"#.to_vec(),
        br#"{"version": 1, "id": "half-an-envelope"}"#.to_vec(),
        large.clone(),
    ];
    let raw =
        async_nats::jetstream::new(async_nats::connect(server.url()).await.expect("raw client"));
    for bytes in &garbage {
        raw.publish(event_subject("Deposited"), bytes.clone().into())
            .await
            .expect("publish raw bytes")
            .await
            .expect("stored");
    }
    publish_one(&transport, 1).await;

    let mut dead = transport
        .subscribe(
            "ops",
            &["catga.dead.>".to_string()],
            &ConsumerOptions::default(),
        )
        .await
        .expect("subscribe to dead letters");
    let mut kept = Vec::new();
    for _ in &garbage {
        let letter = tokio::time::timeout(STALL, dead.next())
            .await
            .expect("a dead letter for each")
            .expect("a dead letter");
        assert_eq!(
            letter.subject,
            format!("catga.dead.{GROUP}.{UNDECODABLE_TYPE}")
        );
        let letter: DeadLetter =
            serde_json::from_value(letter.envelope.payload).expect("a dead letter's payload");
        assert_eq!(
            (letter.attempts, letter.error_kind.as_str()),
            (1, "validation"),
            "dead-lettered at once: {}",
            letter.error
        );
        assert_eq!(letter.envelope.type_name, UNDECODABLE_TYPE);
        let undecodable: Undecodable =
            serde_json::from_value(letter.envelope.payload).expect("the undecodable payload");
        assert!(
            letter.error.contains(&undecodable.error),
            "{} / {}",
            letter.error,
            undecodable.error
        );
        kept.push((undecodable.bytes().expect("base64"), undecodable.length));
    }
    let mut expected: Vec<(Vec<u8>, usize)> = garbage
        .iter()
        .map(|bytes| {
            let cut = bytes.len().min(MAX_UNDECODABLE_BYTES);
            (bytes[..cut].to_vec(), bytes.len())
        })
        .collect();
    // One consumer per subject keeps the stream's order, but compare as sets: the order is the
    // broker's business.
    kept.sort();
    expected.sort();
    assert_eq!(kept, expected, "every message's bytes, the large one cut");
    assert_eq!(
        expected
            .iter()
            .filter(|(_, len)| *len == large.len())
            .count(),
        1
    );

    let mut watchdog = Watchdog::new();
    while !handler.handled.lock().expect("not poisoned").contains(&1) {
        watchdog.observe(0, || {
            "the event after the garbage was not handled".to_string()
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!member.is_finished(), "the member stopped: {member:?}");
    member.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_entry_the_broker_refuses_is_dead_lettered_and_holds_up_nothing_else() {
    if no_nats_server(
        "an_outbox_entry_the_broker_refuses_is_dead_lettered_and_holds_up_nothing_else",
    ) {
        return;
    }
    const OTHERS: u64 = 2_000;
    let server = NatsServer::start().await.expect("nats-server");
    let transport = connect(&server.url()).await.expect("connect");
    let dir = tempfile::tempdir().expect("temp dir");
    let outbox = SqliteOutbox::open(path(dir.path(), "shop.db"))
        .await
        .expect("outbox");
    let entry = |n: u64| {
        let envelope = Envelope::of(&Deposited { n }, &Context::new(MessageId(n)))
            .expect("envelope")
            .with_key(format!("account-{}", n % 16));
        OutboxEntry {
            subject: event_subject("Deposited"),
            envelope,
        }
    };
    // 10 MB, ten times the broker's max_payload, on account-3 early in the outbox.
    let mut poison = entry(3);
    poison.envelope.payload = serde_json::json!({ "n": 3, "note": "x".repeat(10 << 20) });
    let mut entries = vec![entry(0), entry(1), poison.clone()];
    entries.extend((4..OTHERS + 2).map(entry));
    outbox.enqueue(entries).await.expect("enqueue");

    let started = Instant::now();
    let dispatching = tokio::spawn(
        OutboxDispatcher::new(outbox.clone(), transport.clone())
            .idle_poll(Duration::from_millis(20))
            .run(),
    );
    let mut watchdog = Watchdog::new();
    loop {
        let left = outbox.pending().await.expect("count pending") as u64;
        if left == 0 {
            break;
        }
        watchdog.observe((OTHERS + 1).saturating_sub(left), || {
            format!("{left} outbox entries still pending")
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "{OTHERS} entries delivered and one dead-lettered in {:?}",
        started.elapsed()
    );
    let dead = outbox.dead_letters().await.expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].entry.envelope.id, poison.envelope.id);
    assert!(dead[0].error.contains("max_payload"), "{}", dead[0].error);
    let raw =
        async_nats::jetstream::new(async_nats::connect(server.url()).await.expect("raw client"));
    let stored = raw
        .get_stream(catga_nats::EVENTS_STREAM)
        .await
        .expect("the events stream")
        .info()
        .await
        .expect("stream info")
        .state
        .messages;
    assert_eq!(stored, OTHERS, "every other entry reached the broker once");
    dispatching.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_racing_one_key_with_a_handler_slower_than_the_lease_run_it_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = path(dir.path(), "payments.db");
    let db_arg = db.to_string_lossy().into_owned();
    catga_fault_tests::create_executions(&db).expect("executions table");
    // The handler takes four leases; the claim must be renewed to stay held.
    let racers: Vec<Child> = (0..2)
        .map(|_| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_catga-fault-worker"));
            command
                .args(["charge", &db_arg, "payment-7", "500", "2000"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .kill_on_drop(true);
            command.spawn().expect("start a racer")
        })
        .collect();
    let mut responses = Vec::new();
    for racer in racers {
        let output = tokio::time::timeout(STALL, racer.wait_with_output())
            .await
            .expect("the racer finished")
            .expect("the racer ran");
        assert!(output.status.success(), "a racer failed: {output:?}");
        responses.push(String::from_utf8_lossy(&output.stdout).trim().to_string());
    }
    assert_eq!(
        catga_fault_tests::executions(&db, "payment-7").expect("count"),
        1,
        "the charge ran once"
    );
    assert_eq!(responses[0], responses[1], "both callers saw one response");
    assert!(responses[0].starts_with("charged payment-7 by process"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_command_in_a_unit_of_work_killed_at_random_points_loses_and_doubles_nothing() {
    const TRANSFERS: u64 = 10_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = path(dir.path(), "bank.db");
    let db_arg = db.to_string_lossy().into_owned();
    let mut watchdog = Watchdog::new();
    let mut kills = 0;
    loop {
        let mut transferring = worker(&["transfer", &db_arg, "0", &TRANSFERS.to_string()]);
        // Somewhere between opening the files and the middle of the run.
        let stopped = tokio::time::timeout(
            Duration::from_millis(fastrand::u64(20..150)),
            transferring.wait(),
        )
        .await;
        match stopped {
            Ok(status) => {
                assert!(status.expect("reaped").success(), "the transfers failed");
                break;
            }
            Err(_) => {
                transferring.start_kill().expect("SIGKILL the service");
                transferring.wait().await.expect("reap it");
                kills += 1;
            }
        }
        let done = catga_fault_tests::transfers(&db).unwrap_or(0);
        watchdog.observe(done, || {
            format!("{done} of {TRANSFERS} transfers after {kills} kills")
        });
    }
    // How many kills fit depends on the machine's speed; at least one must have.
    assert!(kills >= 1, "the service finished before it could be killed");
    let conn = rusqlite::Connection::open(&db).expect("open");
    let (rows, distinct): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), COUNT(DISTINCT n) FROM transfers",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("transfers");
    assert_eq!((rows, distinct), (TRANSFERS as i64, TRANSFERS as i64));
    // Each transfer's event is in the outbox exactly once: none lost, none doubled.
    let outbox = SqliteOutbox::open(&db).await.expect("outbox");
    assert_eq!(outbox.pending().await.expect("pending"), TRANSFERS as usize);
    let events: i64 = conn
        .query_row(
            "SELECT COUNT(DISTINCT json_extract(envelope, '$.payload.n')) FROM catga_outbox",
            [],
            |row| row.get(0),
        )
        .expect("distinct events");
    assert_eq!(events, TRANSFERS as i64);
    eprintln!("{TRANSFERS} transfers, each with its one event, after {kills} SIGKILLs");
}

/// Publishes `Deposited` for each `n` in `range`, retrying while the broker is unreachable.
async fn publish(transport: std::sync::Arc<dyn Transport>, range: std::ops::Range<u64>) {
    for n in range {
        publish_one(&transport, n).await;
    }
}

async fn publish_one(transport: &std::sync::Arc<dyn Transport>, n: u64) {
    let envelope = Envelope::of(&Deposited { n }, &Context::new(MessageId(n))).expect("envelope");
    // Bounded so that a broker that never comes back fails the test instead of hanging it.
    tokio::time::timeout(STALL, async {
        while transport
            .publish(&event_subject("Deposited"), &envelope)
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("cannot publish: the broker did not take the event");
}
