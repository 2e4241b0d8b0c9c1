//! Fault tests against a real nats-server (started per test on a free port): the outbox
//! dispatcher killed with SIGKILL at random points, a consumer group member killed mid-stream,
//! the broker restarted mid-run, and a poison message. Each asserts that every event is applied
//! exactly once (the inbox and the projection commit together), and each is bounded in time.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use catga::transport::{
    ConsumerOptions, DEAD_LETTER_TYPE, DeadLetter, Envelope, EventConsumer, Routes, SqliteInbox,
    SqliteOutbox, Transport, event_subject,
};
use catga::{Context, MessageId};
use catga_fault_tests::{
    Deposited, GROUP, POISON, applied, connect, consumer_options, create_ledger,
};
use catga_nats::testing::NatsServer;
use tokio::process::{Child, Command};

/// A worker process, killed (SIGKILL) when dropped.
fn worker(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_catga-fault-worker"))
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start catga-fault-worker")
}

fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// Waits until the ledger has `expected` distinct deposits, failing after `limit`.
async fn until_applied(db: &Path, expected: u64, limit: Duration) -> (u64, u64) {
    let started = Instant::now();
    loop {
        let (rows, distinct) = applied(db).expect("read the ledger");
        if distinct >= expected {
            // Give a duplicate, if there is one coming, the chance to show.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return applied(db).expect("read the ledger");
        }
        assert!(
            started.elapsed() < limit,
            "only {distinct} of {expected} deposits applied ({rows} rows) after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pending(outbox: &Path) -> usize {
    SqliteOutbox::open(outbox)
        .await
        .expect("open the outbox")
        .pending()
        .await
        .expect("count pending")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_killed_at_random_points_loses_and_duplicates_nothing() {
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
    let started = Instant::now();
    let mut kills = 0;
    while pending(&outbox).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the outbox never drained"
        );
        let mut dispatcher = worker(&["dispatch", &outbox_arg, &url]);
        // Somewhere between connecting and the middle of a batch.
        tokio::time::sleep(Duration::from_millis(fastrand::u64(30..400))).await;
        dispatcher.start_kill().expect("SIGKILL the dispatcher");
        dispatcher.wait().await.expect("reap the dispatcher");
        kills += 1;
    }
    assert!(
        kills >= 3,
        "the dispatcher finished before it could be killed often ({kills})"
    );

    let (rows, distinct) = until_applied(&ledger, EVENTS, Duration::from_secs(120)).await;
    assert_eq!(
        (rows, distinct),
        (EVENTS, EVENTS),
        "after {kills} kills of the dispatcher"
    );
    eprintln!("{EVENTS} events applied once each after {kills} SIGKILLs of the dispatcher");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_killed_mid_stream_leaves_the_rest_to_the_other() {
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

    let started = Instant::now();
    while applied(&ledger).expect("ledger").1 < EVENTS / 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no progress before the kill"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.start_kill().expect("SIGKILL one member");
    first.wait().await.expect("reap it");
    publishing.await.expect("published");

    let (rows, distinct) = until_applied(&ledger, EVENTS, Duration::from_secs(90)).await;
    assert_eq!((rows, distinct), (EVENTS, EVENTS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restarted_mid_run_delays_nothing_for_good() {
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

    let started = Instant::now();
    while applied(&ledger).expect("ledger").1 < EVENTS / 4 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no progress before the restart"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().await.expect("stop the broker");
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.resume().await.expect("start the broker again");
    let produced = producer.wait_with_output().await.expect("the producer ran");
    assert!(produced.status.success(), "the producer failed");

    let (rows, distinct) = until_applied(&ledger, EVENTS, Duration::from_secs(90)).await;
    assert_eq!((rows, distinct), (EVENTS, EVENTS));
    assert!(
        server.log().await.contains("JetStream"),
        "the broker ran with JetStream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_after_its_attempts_and_the_stream_moves_on() {
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
                    return Err(catga::Error::unavailable(
                        "this deposit can never be applied",
                    ));
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

    let (rows, distinct) = until_applied(&ledger, 10, Duration::from_secs(30)).await;
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
    let letter = tokio::time::timeout(Duration::from_secs(10), dead.next())
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

/// Publishes `Deposited` for each `n` in `range`, retrying while the broker is unreachable.
async fn publish(transport: std::sync::Arc<dyn Transport>, range: std::ops::Range<u64>) {
    for n in range {
        publish_one(&transport, n).await;
    }
}

async fn publish_one(transport: &std::sync::Arc<dyn Transport>, n: u64) {
    let envelope = Envelope::of(&Deposited { n }, &Context::new(MessageId(n))).expect("envelope");
    let started = Instant::now();
    while let Err(error) = transport
        .publish(&event_subject("Deposited"), &envelope)
        .await
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "cannot publish: {error}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
