//! Helpers every fault test uses: worker processes killed on drop, and bounded waits that
//! watch progress, never speed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use catga_fault_tests::applied;
use catga_sqlite::prelude::*;
use tokio::process::{Child, Command};

/// True, after one line saying so, when nats-server is not installed: the test then returns.
/// With `CATGA_REQUIRE_NATS=1` (CI) a missing server fails the test instead.
pub(crate) fn no_nats_server(test: &str) -> bool {
    catga_nats::testing::skip_without_nats_server(test).expect("nats-server is required")
}

/// A worker process, killed (SIGKILL) when dropped.
pub(crate) fn worker(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_catga-fault-worker"))
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start catga-fault-worker")
}

pub(crate) fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// How long a run may go without progress before the test calls it stuck. Only progress
/// is watched, never speed: a loaded machine is slow, not stuck.
pub(crate) const STALL: Duration = Duration::from_secs(60);

/// Fails the test when `progress` has not grown for [`STALL`].
pub(crate) struct Watchdog {
    best: u64,
    since: Instant,
}

impl Watchdog {
    pub(crate) fn new() -> Self {
        Self {
            best: 0,
            since: Instant::now(),
        }
    }

    pub(crate) fn observe(&mut self, progress: u64, what: impl FnOnce() -> String) {
        if progress > self.best {
            self.best = progress;
            self.since = Instant::now();
        }
        assert!(
            self.since.elapsed() < STALL,
            "{} (no progress for {STALL:?})",
            what()
        );
    }
}

/// Waits until the ledger has at least `expected` distinct deposits.
pub(crate) async fn until_at_least(db: &Path, expected: u64) -> (u64, u64) {
    let mut watchdog = Watchdog::new();
    loop {
        let (rows, distinct) = applied(db).expect("read the ledger");
        if distinct >= expected {
            return (rows, distinct);
        }
        watchdog.observe(distinct, || {
            format!("only {distinct} of {expected} deposits applied ({rows} rows)")
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the ledger has `expected` distinct deposits, then gives a duplicate, if one
/// is coming, the chance to show.
pub(crate) async fn until_applied(db: &Path, expected: u64) -> (u64, u64) {
    until_at_least(db, expected).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    applied(db).expect("read the ledger")
}

pub(crate) async fn pending(outbox: &Path) -> usize {
    SqliteOutbox::open(outbox)
        .await
        .expect("open the outbox")
        .pending()
        .await
        .expect("count pending")
}
