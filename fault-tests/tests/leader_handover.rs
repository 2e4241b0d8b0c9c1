//! The led outbox dispatcher against a real nats-server: three processes share one outbox file
//! and compete for its role with short leases (2 s). Killing the leader (SIGKILL) hands the
//! role to another within the lease; pausing it (SIGSTOP) past its lease and resuming it leaves
//! it publishing nothing more, its settle refused by the fence. Across it all, every event is
//! applied once and the events stream holds each once. The processes write what they do to a
//! shared log (`catga_fault_tests::led`), which the assertions read. Every wait is bounded;
//! none measures speed.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use catga_fault_tests::led::{LEAD, PAUSE, PUBLISH, STOPPED};
use catga_nats::EVENTS_STREAM;
use catga_nats::testing::NatsServer;
use catga_sqlite::prelude::*;
use support::{STALL, Watchdog, no_nats_server, path, pending, until_applied, worker};
use tokio::process::Child;

/// The lease's time to live, shared by the candidates.
const TTL: Duration = Duration::from_secs(2);

/// Added to the longest takeover the leadership promises (the TTL after the last renewal, plus
/// a quarter of it until the next poll): a loaded machine is slow, not wrong.
const TAKEOVER_SLACK: Duration = Duration::from_secs(5);

/// One line of the shared log.
#[derive(Debug, Clone)]
struct Line {
    ns: u128,
    pid: u32,
    what: String,
    detail: String,
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_nanos()
}

/// The log's whole lines, in time order.
fn read_log(log: &Path) -> Vec<Line> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut lines: Vec<Line> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.splitn(4, ' ');
            Some(Line {
                ns: fields.next()?.parse().ok()?,
                pid: fields.next()?.parse().ok()?,
                what: fields.next()?.to_string(),
                detail: fields.next().unwrap_or_default().to_string(),
            })
        })
        .collect();
    lines.sort_by_key(|line| line.ns);
    lines
}

/// A led dispatcher process; with `pause_at`, it SIGSTOPs itself inside that publish.
fn led_dispatcher(outbox: &Path, url: &str, log: &Path, pause_at: u64) -> Child {
    worker(&[
        "dispatch-led",
        &outbox.to_string_lossy(),
        url,
        &log.to_string_lossy(),
        &TTL.as_millis().to_string(),
        &pause_at.to_string(),
    ])
}

/// Waits until `found` finds something in the log, for at most `within`.
async fn wait_in_log<T>(
    log: &Path,
    within: Duration,
    what: &str,
    mut found: impl FnMut(&[Line]) -> Option<T>,
) -> T {
    let started = Instant::now();
    loop {
        let lines = read_log(log);
        if let Some(value) = found(&lines) {
            return value;
        }
        assert!(
            started.elapsed() < within,
            "{what} did not happen within {within:?}; the log:\n{}",
            render(&lines)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn render(lines: &[Line]) -> String {
    let first = lines.first().map_or(0, |line| line.ns);
    let mut out = String::new();
    let mut publishes = 0;
    for line in lines {
        // Publishes are many: shown as a count between the other events.
        if line.what == PUBLISH {
            publishes += 1;
            continue;
        }
        if publishes > 0 {
            out.push_str(&format!("    ... {publishes} publishes\n"));
            publishes = 0;
        }
        out.push_str(&format!(
            "{:>8} ms  pid {}  {} {}\n",
            (line.ns - first) / 1_000_000,
            line.pid,
            line.what,
            line.detail
        ));
    }
    if publishes > 0 {
        out.push_str(&format!("    ... {publishes} publishes\n"));
    }
    out
}

/// Every publish comes from the process whose tenure began last: one publisher at a time.
fn assert_one_publisher_at_a_time(lines: &[Line]) {
    let mut leader = None;
    for line in lines {
        if line.what == LEAD {
            leader = Some(line.pid);
        } else if line.what == PUBLISH {
            assert_eq!(
                Some(line.pid),
                leader,
                "pid {} published at {} ns while pid {leader:?} led; the log:\n{}",
                line.pid,
                line.ns,
                render(lines)
            );
        }
    }
}

/// How many messages the events stream holds.
async fn stream_messages(url: &str) -> u64 {
    let client = async_nats::connect(url).await.expect("connect to NATS");
    let mut stream = async_nats::jetstream::new(client)
        .get_stream(EVENTS_STREAM)
        .await
        .expect("the events stream");
    stream.info().await.expect("stream info").state.messages
}

/// Waits until the outbox has nothing left to deliver.
async fn until_drained(outbox: &Path, events: u64) {
    let mut watchdog = Watchdog::new();
    loop {
        let left = pending(outbox).await as u64;
        if left == 0 {
            return;
        }
        watchdog.observe(events.saturating_sub(left), || {
            format!("the outbox never drained: {left} entries left")
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the outbox has sent its `events` and the ledger applied them, checks that each
/// was applied once and that the stream holds each once, and returns the dispatchers' log.
async fn delivered_once(
    outbox: &Path,
    ledger: &Path,
    log: &Path,
    url: &str,
    events: u64,
) -> Vec<Line> {
    until_drained(outbox, events).await;
    let (rows, distinct) = until_applied(ledger, events).await;
    let lines = read_log(log);
    assert_eq!(
        (rows, distinct),
        (events, events),
        "applied once each; the log:\n{}",
        render(&lines)
    );
    assert_eq!(
        stream_messages(url).await,
        events,
        "the stream holds each event once"
    );
    lines
}

/// The process's state letter in /proc (`T`: stopped).
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_led_dispatchers_hand_over_on_sigkill_and_lose_or_double_nothing() {
    if no_nats_server("three_led_dispatchers_hand_over_on_sigkill_and_lose_or_double_nothing") {
        return;
    }
    const KILLS: u64 = 3;
    const CHUNK: u64 = 1_500;
    const EVENTS: u64 = CHUNK * (KILLS + 1);
    let server = NatsServer::start().await.expect("nats-server");
    let url = server.url();
    let dir = tempfile::tempdir().expect("temp dir");
    let (outbox, ledger, log) = (
        path(dir.path(), "shop.db"),
        path(dir.path(), "ledger.db"),
        path(dir.path(), "tenures.log"),
    );
    let outbox_arg = outbox.to_string_lossy().into_owned();
    drop(
        SqliteOutbox::open(&outbox)
            .await
            .expect("create the outbox"),
    );

    let _consumer = worker(&["consume", &ledger.to_string_lossy(), &url, "2000"]);
    let mut dispatchers: Vec<Child> = (0..3)
        .map(|_| led_dispatcher(&outbox, &url, &log, 0))
        .collect();
    let mut producers = Vec::new();
    let mut handovers = Vec::new();
    for round in 0..=KILLS {
        let round_start = now_ns();
        let range = (round * CHUNK, (round + 1) * CHUNK);
        producers.push(worker(&[
            "produce",
            &outbox_arg,
            &range.0.to_string(),
            &range.1.to_string(),
        ]));
        if round == KILLS {
            break;
        }
        let alive: HashSet<u32> = dispatchers.iter().filter_map(Child::id).collect();
        // The leader, once it publishes this round's events.
        let leader = wait_in_log(&log, STALL, "a publish by a live leader", |lines| {
            let lead = lines.iter().rev().find(|line| line.what == LEAD)?;
            let publishing = lines.iter().any(|line| {
                line.what == PUBLISH && line.pid == lead.pid && line.ns > lead.ns.max(round_start)
            });
            (alive.contains(&lead.pid) && publishing).then_some(lead.pid)
        })
        .await;
        // Somewhere in the middle of dispatching.
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..300))).await;
        let index = dispatchers
            .iter()
            .position(|child| child.id() == Some(leader))
            .expect("the leader is one of the dispatchers");
        let mut killed = dispatchers.swap_remove(index);
        killed.start_kill().expect("SIGKILL the leader");
        killed.wait().await.expect("reap the leader");
        let killed_at = now_ns();
        dispatchers.push(led_dispatcher(&outbox, &url, &log, 0));
        let led_at_kill = read_log(&log)
            .into_iter()
            .rev()
            .find(|line| line.what == LEAD && line.ns < killed_at)
            .map(|line| line.pid);
        if led_at_kill != Some(leader) {
            // It had lost the role on its own (stalled past its lease) before the kill: the
            // handover already happened, and was checked by the log's order.
            continue;
        }
        let within = TTL + TTL / 4 + TAKEOVER_SLACK;
        let taken_over_at = wait_in_log(&log, within, "a takeover", |lines| {
            lines
                .iter()
                .find(|line| line.what == LEAD && line.ns > killed_at)
                .map(|line| line.ns)
        })
        .await;
        handovers.push(Duration::from_nanos(
            u64::try_from(taken_over_at - killed_at).unwrap_or(u64::MAX),
        ));
    }
    for producer in producers {
        let produced = producer.wait_with_output().await.expect("a producer ran");
        assert!(produced.status.success(), "a producer failed");
    }

    let lines = delivered_once(&outbox, &ledger, &log, &url, EVENTS).await;
    assert_one_publisher_at_a_time(&lines);
    let tenures = lines.iter().filter(|line| line.what == LEAD).count();
    assert!(
        tenures > usize::try_from(KILLS).unwrap_or(0),
        "{}",
        render(&lines)
    );
    eprintln!(
        "{EVENTS} events applied once each across {KILLS} SIGKILLs of the leader; takeovers after \
         {handovers:?} (TTL {TTL:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_led_dispatcher_paused_past_its_lease_publishes_nothing_after_resuming() {
    if no_nats_server("a_led_dispatcher_paused_past_its_lease_publishes_nothing_after_resuming") {
        return;
    }
    const EVENTS: u64 = 2_000;
    /// Inside the first batch: entries stay unsettled when it pauses.
    const PAUSE_AT: u64 = 100;
    let server = NatsServer::start().await.expect("nats-server");
    let url = server.url();
    let dir = tempfile::tempdir().expect("temp dir");
    let (outbox, ledger, log) = (
        path(dir.path(), "shop.db"),
        path(dir.path(), "ledger.db"),
        path(dir.path(), "tenures.log"),
    );
    let produced = worker(&[
        "produce",
        &outbox.to_string_lossy(),
        "0",
        &EVENTS.to_string(),
    ])
    .wait()
    .await
    .expect("the producer ran");
    assert!(produced.success(), "the producer failed");
    let _consumer = worker(&["consume", &ledger.to_string_lossy(), &url, "2000"]);

    // The one that pauses leads first: started alone.
    let first = led_dispatcher(&outbox, &url, &log, PAUSE_AT);
    let paused = first.id().expect("a running dispatcher");
    wait_in_log(&log, STALL, "the first tenure", |lines| {
        lines
            .iter()
            .any(|line| line.what == LEAD && line.pid == paused)
            .then_some(())
    })
    .await;
    let _others: Vec<Child> = (0..2)
        .map(|_| led_dispatcher(&outbox, &url, &log, 0))
        .collect();
    let paused_at = wait_in_log(&log, STALL, "the pause", |lines| {
        lines
            .iter()
            .find(|line| line.what == PAUSE && line.pid == paused)
            .map(|line| line.ns)
    })
    .await;
    // Bounded so that a dispatcher that never stops fails the test instead of hanging it.
    tokio::time::timeout(STALL, async {
        while process_state(paused) != Some('T') {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the dispatcher never stopped");
    // Another leads and publishes: it has raised the fence past the paused one's token.
    let within = TTL + TTL / 4 + TAKEOVER_SLACK;
    let successor = wait_in_log(&log, within, "a takeover", |lines| {
        lines
            .iter()
            .find(|line| line.what == LEAD && line.ns > paused_at && line.pid != paused)
            .map(|line| (line.pid, line.ns))
    })
    .await;
    wait_in_log(&log, STALL, "a publish by the successor", |lines| {
        lines
            .iter()
            .any(|line| line.what == PUBLISH && line.pid == successor.0 && line.ns > successor.1)
            .then_some(())
    })
    .await;
    // Taken first: the resumed process may log before `kill` returns.
    let resumed_at = now_ns();
    signal(paused, "-CONT");
    let stopped = wait_in_log(&log, STALL, "the resumed dispatcher stopping", |lines| {
        lines
            .iter()
            .find(|line| line.what == STOPPED && line.pid == paused && line.ns > resumed_at)
            .cloned()
    })
    .await;
    assert!(
        stopped.detail.contains("fenced at lease token"),
        "the resumed dispatcher's settle was refused by the fence: {stopped:?}"
    );

    // The publish it was inside when paused went out after it resumed: the broker dropped it
    // as a duplicate of the successor's (`delivered_once` checks the stream holds each once).
    let lines = delivered_once(&outbox, &ledger, &log, &url, EVENTS).await;
    let after_pause: Vec<&Line> = lines
        .iter()
        .filter(|line| line.pid == paused && line.ns > paused_at)
        .take_while(|line| line.what != LEAD)
        .filter(|line| line.what == PUBLISH)
        .collect();
    assert!(
        after_pause.is_empty(),
        "the paused dispatcher published {} entries after resuming; the log:\n{}",
        after_pause.len(),
        render(&lines)
    );
    assert_one_publisher_at_a_time(&lines);
}
