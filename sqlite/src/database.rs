//! The SQLite plumbing every catga store shares: a connection owned by a dedicated thread, a
//! versioned schema per store kind, and timestamps that survive restarts.
//!
//! SQLite calls block, so none runs on the async executor: each [`Database`] owns a thread that
//! holds its connection and runs the operations sent to it one at a time.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use tokio::sync::oneshot;

use catga::{Error, Result};

/// How long a connection waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Pages the write-ahead log may hold before a commit checkpoints it into the database file
/// (32 MiB at SQLite's 4 KiB pages).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 8192;

/// The tables one store owns, and the version of their layout.
#[derive(Debug)]
pub(crate) struct Schema {
    /// Name recorded in `catga_schema`; one row per store kind, so stores can share a file.
    pub(crate) component: &'static str,
    /// Layout version; bumped whenever the DDL changes.
    pub(crate) version: i64,
    /// Statements creating the tables of this version.
    pub(crate) ddl: &'static str,
    /// Statements bringing a file up to this version: `upgrades[i]` takes version `i + 1` to
    /// `i + 2`, so a file written by an older catga opens in a newer one.
    pub(crate) upgrades: &'static [&'static str],
}

/// One operation for the connection thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A SQLite connection owned by a dedicated thread; cloning shares the thread. The thread closes
/// the connection and exits when the last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Database {
    jobs: mpsc::Sender<Job>,
    path: Arc<Path>,
}

impl Database {
    /// Open (or create) the file at `path` in WAL mode and create or check `schema`.
    pub(crate) async fn open(path: &Path, schema: &'static Schema) -> Result<Self> {
        Database::open_all(path, &[schema]).await
    }

    /// Open (or create) the file at `path` in WAL mode and create or check every one of
    /// `schemas`: stores that must write in one transaction share one database.
    pub(crate) async fn open_all(path: &Path, schemas: &[&'static Schema]) -> Result<Self> {
        Database::start(path, schemas[0].component, schemas).await
    }

    /// Open (or create) the file at `path` in WAL mode, with no store's schema: for a
    /// service's own tables ([`SqliteReader`](crate::SqliteReader)). `name` names the thread.
    pub(crate) async fn open_plain(path: &Path, name: &str) -> Result<Self> {
        Database::start(path, name, &[]).await
    }

    async fn start(path: &Path, name: &str, schemas: &[&'static Schema]) -> Result<Self> {
        let schemas = schemas.to_vec();
        let path: Arc<Path> = Arc::from(path);
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened, open_result) = oneshot::channel();
        let thread_path = Arc::clone(&path);
        std::thread::Builder::new()
            .name(format!("catga-sqlite-{name}"))
            .spawn(move || {
                let mut conn = match open_connection(&thread_path, &schemas) {
                    Ok(conn) => conn,
                    Err(e) => {
                        let _ = opened.send(Err(e));
                        return;
                    }
                };
                let _ = opened.send(Ok(()));
                while let Ok(job) = queue.recv() {
                    // A panicking job drops its reply channel, which its caller reports as an
                    // error; the transaction it held rolled back on unwind, so serving goes on.
                    let _ = catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
                }
            })
            .map_err(|e| {
                Error::internal(format!("cannot start the SQLite thread: {e}")).with_source(e)
            })?;
        let stopped = || Error::internal(format!("SQLite thread for {} stopped", path.display()));
        open_result.await.map_err(|_| stopped())??;
        Ok(Database { jobs, path })
    }

    /// The file this database lives in.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Run `work` with the connection on the database's thread. `work` returns this crate's
    /// [`Result`](crate::Result), so `?` takes rusqlite's errors; the caller gets catga's.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&mut Connection) -> crate::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = reply.send(work(conn).map_err(Error::from));
        });
        let stopped = || {
            Error::internal(format!(
                "SQLite operation on {} did not finish: the connection thread stopped or the \
                 operation panicked",
                self.path.display()
            ))
        };
        self.jobs.send(job).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Queues `work` for the connection thread without waiting for it; `work` reports its
    /// outcome itself. `false` when the thread is gone: `work` was dropped unrun.
    pub(crate) fn submit(&self, work: impl FnOnce(&mut Connection) + Send + 'static) -> bool {
        self.jobs.send(Box::new(work)).is_ok()
    }
}

/// Operations that share transactions (group commit): an operation that arrives while the
/// connection is busy waits in the queue, and the next job runs everything queued in one
/// transaction (`commit` decides how, and answers each operation).
#[derive(Debug)]
pub(crate) struct Batch<Op> {
    pending: Arc<Mutex<Vec<Op>>>,
}

impl<Op> Clone for Batch<Op> {
    fn clone(&self) -> Self {
        Batch {
            pending: Arc::clone(&self.pending),
        }
    }
}

impl<Op: Send + 'static> Batch<Op> {
    pub(crate) fn new() -> Self {
        Batch {
            pending: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Queues `op` on `db`, starting a job if none is queued. When the connection thread is
    /// gone the queue is dropped, and with it the operations' answers, which their callers
    /// see as closed.
    pub(crate) fn push(&self, db: &Database, op: Op, commit: fn(&mut Connection, Vec<Op>)) {
        let first = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending.push(op);
            pending.len() == 1
        };
        if !first {
            return;
        }
        let pending = Arc::clone(&self.pending);
        let submitted = db.submit(move |conn| {
            let ops = std::mem::take(&mut *pending.lock().unwrap_or_else(PoisonError::into_inner));
            commit(conn, ops);
        });
        if !submitted {
            self.pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
    }
}

fn open_connection(path: &Path, schemas: &[&'static Schema]) -> Result<Connection> {
    let context = |e: rusqlite::Error| {
        Error::storage(format!(
            "cannot open SQLite database {}: {e}; check that the directory exists and is \
             writable and that the file is a SQLite database",
            path.display()
        ))
        .with_source(e)
    };
    let mut conn = Connection::open(path).map_err(context)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(context)?;
    let mode = use_wal(&conn).map_err(context)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::storage(format!(
            "SQLite database {} cannot use write-ahead logging (journal mode is `{mode}`); \
             use a file on a local disk",
            path.display()
        )));
    }
    // With WAL, NORMAL loses no committed transaction on a process crash, only on power loss.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(context)?;
    // Checkpoint every WAL_AUTOCHECKPOINT_PAGES rather than SQLite's 1000: the stores rewrite
    // the same few pages (the newest leaves of their tables) in every commit, and a checkpoint
    // copies each page once however often it changed, so a longer WAL copies less per commit.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
        .map_err(context)?;
    for schema in schemas {
        let found = create_schema(&mut conn, schema).map_err(context)?;
        if found != schema.version {
            return Err(Error::storage(format!(
                "SQLite database {} holds `{}` schema version {found}, but this catga \
                 understands only version {}; open it with the catga version that wrote it, or \
                 point the store at a new file",
                path.display(),
                schema.component,
                schema.version
            )));
        }
    }
    Ok(conn)
}

/// Puts the file in write-ahead-log mode and returns the journal mode it ends in. WAL is a
/// property of the file, so only the first open of a new file converts it. The conversion needs
/// the file to itself and SQLite does not wait for that (the busy handler does not run for it),
/// so processes that start together and open one new file would fail with "database is
/// locked": an open that finds the file busy looks again, until [`BUSY_TIMEOUT`].
fn use_wal(conn: &Connection) -> rusqlite::Result<String> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        let mode = conn
            .query_row("PRAGMA journal_mode", [], |row| row.get::<_, String>(0))
            .and_then(|mode| {
                if mode.eq_ignore_ascii_case("wal") {
                    Ok(mode)
                } else {
                    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
                }
            });
        match mode {
            Err(rusqlite::Error::SqliteFailure(error, _))
                if matches!(
                    error.code,
                    ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            mode => return mode,
        }
    }
}

/// Create `schema`'s tables unless the file already has them; returns the version on file.
fn create_schema(conn: &mut Connection, schema: &Schema) -> rusqlite::Result<i64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS catga_schema (
             component TEXT PRIMARY KEY NOT NULL,
             version INTEGER NOT NULL
         );",
    )?;
    let found: Option<i64> = tx
        .query_row(
            "SELECT version FROM catga_schema WHERE component = ?1",
            [schema.component],
            |row| row.get(0),
        )
        .optional()?;
    let version = match found {
        Some(found) if found < schema.version => {
            let from = usize::try_from(found - 1).unwrap_or(usize::MAX);
            let Some(steps) = schema.upgrades.get(from..) else {
                // Older than any upgrade this catga knows: reported as a version mismatch.
                tx.commit()?;
                return Ok(found);
            };
            for step in steps {
                tx.execute_batch(step)?;
            }
            let reached = found + i64::try_from(steps.len()).unwrap_or(0);
            tx.execute(
                "UPDATE catga_schema SET version = ?2 WHERE component = ?1",
                params![schema.component, reached],
            )?;
            reached
        }
        Some(version) => version,
        None => {
            tx.execute_batch(schema.ddl)?;
            tx.execute(
                "INSERT INTO catga_schema (component, version) VALUES (?1, ?2)",
                params![schema.component, schema.version],
            )?;
            schema.version
        }
    };
    tx.commit()?;
    Ok(version)
}

/// Milliseconds since the Unix epoch: timestamps that stay meaningful across restarts.
pub(crate) fn now_millis() -> Result<i64> {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| Error::internal(format!("system clock is before 1970: {e}")))?;
    Ok(millis(since_epoch))
}

/// `duration` in whole milliseconds, saturating at `i64::MAX`.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::sync::Barrier;

    use super::*;

    static PROBE_SCHEMA: Schema = Schema {
        component: "probe",
        version: 1,
        ddl: "CREATE TABLE probe (id INTEGER PRIMARY KEY);",
        upgrades: &[],
    };

    /// Processes that start together (a service and its dispatcher, the members of a group)
    /// open one new file at once; each open must wait for the others, not fail.
    #[test]
    fn many_connections_opening_one_new_file_at_once_all_open_it() {
        const OPENERS: usize = 16;
        for round in 0..20 {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join(format!("shared-{round}.db"));
            let start = Arc::new(Barrier::new(OPENERS));
            let openers: Vec<_> = (0..OPENERS)
                .map(|_| {
                    let (path, start) = (path.clone(), Arc::clone(&start));
                    std::thread::spawn(move || {
                        start.wait();
                        open_connection(&path, &[&PROBE_SCHEMA]).map(drop)
                    })
                })
                .collect();
            for opener in openers {
                let opened = opener.join().expect("the opener does not panic");
                assert!(opened.is_ok(), "round {round}: {:?}", opened.err());
            }
        }
    }
}
