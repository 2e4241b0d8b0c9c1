//! [`SqliteIdempotencyStore`]: idempotency records in a SQLite file, so deduplication survives a
//! restart; and [`Database`], the connection plumbing every catga SQLite store shares.
//!
//! SQLite calls block, so none runs on the async executor: each store owns a dedicated thread
//! that holds its connection and runs the operations sent to it one at a time. Claims run in
//! `BEGIN IMMEDIATE` transactions, which makes them atomic even between two processes that open
//! the same file.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::oneshot;

use super::store::{BoxFuture, Claim, IdempotencyStore};
use crate::{Error, Result};

/// How long a connection waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The tables one store owns, and the version of their layout.
#[derive(Debug)]
pub(crate) struct Schema {
    /// Name recorded in `catga_schema`; one row per store kind, so stores can share a file.
    pub(crate) component: &'static str,
    /// Layout version; bumped whenever the DDL changes.
    pub(crate) version: i64,
    /// Statements creating the tables of this version.
    pub(crate) ddl: &'static str,
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
        let path: Arc<Path> = Arc::from(path);
        let (jobs, queue) = mpsc::channel::<Job>();
        let (opened, open_result) = oneshot::channel();
        let thread_path = Arc::clone(&path);
        std::thread::Builder::new()
            .name(format!("catga-sqlite-{}", schema.component))
            .spawn(move || {
                let mut conn = match open_connection(&thread_path, schema) {
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

    /// Run `work` with the connection on the database's thread.
    pub(crate) async fn run<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = reply.send(work(conn));
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
}

fn open_connection(path: &Path, schema: &Schema) -> Result<Connection> {
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
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(context)?;
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
    let found = create_schema(&mut conn, schema).map_err(context)?;
    if found != schema.version {
        return Err(Error::storage(format!(
            "SQLite database {} holds `{}` schema version {found}, but this catga understands \
             only version {}; open it with the catga version that wrote it, or point the store \
             at a new file",
            path.display(),
            schema.component,
            schema.version
        )));
    }
    Ok(conn)
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

static IDEMPOTENCY_SCHEMA: Schema = Schema {
    component: "idempotency",
    version: 1,
    ddl: "CREATE TABLE catga_idempotency (
              key TEXT PRIMARY KEY NOT NULL,
              state TEXT NOT NULL CHECK (state IN ('in_progress', 'completed')),
              response BLOB,
              claimed_at_ms INTEGER NOT NULL,
              completed_at_ms INTEGER
          );
          CREATE INDEX catga_idempotency_completed_at
              ON catga_idempotency (completed_at_ms) WHERE state = 'completed';",
};

/// Idempotency records in a SQLite file on disk; they survive closing and reopening the store.
///
/// Several stores (in one process or several) may open the same file: claims stay atomic.
#[derive(Debug, Clone)]
pub struct SqliteIdempotencyStore {
    db: Database,
}

impl SqliteIdempotencyStore {
    /// Open the database at `path`, creating the file and its tables if needed.
    ///
    /// Fails with a storage error naming the file when it cannot be opened, is not a SQLite
    /// database, or was written by an incompatible catga version.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let db = Database::open(path.as_ref(), &IDEMPOTENCY_SCHEMA).await?;
        Ok(SqliteIdempotencyStore { db })
    }

    /// The file this store lives in.
    pub fn path(&self) -> PathBuf {
        self.db.path().to_path_buf()
    }

    /// Delete completed records older than `age`; returns how many were removed.
    ///
    /// In-progress claims are kept whatever their age: they expire through their lease.
    pub async fn purge_completed(&self, age: Duration) -> Result<usize> {
        let cutoff = now_millis()?.saturating_sub(millis(age));
        self.db
            .run(move |conn| {
                let removed = conn.execute(
                    "DELETE FROM catga_idempotency
                     WHERE state = 'completed' AND completed_at_ms <= ?1",
                    [cutoff],
                )?;
                Ok(removed)
            })
            .await
    }
}

fn claim(conn: &mut Connection, key: &str, lease: Duration) -> Result<Claim> {
    let now = now_millis()?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existing: Option<(String, Option<Vec<u8>>, i64)> = tx
        .query_row(
            "SELECT state, response, claimed_at_ms FROM catga_idempotency WHERE key = ?1",
            [key],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let claim = match existing {
        Some((state, response, _)) if state == "completed" => {
            Claim::Completed(response.unwrap_or_default())
        }
        Some((_, _, claimed_at)) if now.saturating_sub(claimed_at) < millis(lease) => {
            Claim::InProgress
        }
        _ => {
            tx.execute(
                "INSERT INTO catga_idempotency (key, state, response, claimed_at_ms)
                 VALUES (?1, 'in_progress', NULL, ?2)
                 ON CONFLICT (key) DO UPDATE SET claimed_at_ms = excluded.claimed_at_ms",
                params![key, now],
            )?;
            Claim::Acquired
        }
    };
    tx.commit()?;
    Ok(claim)
}

impl IdempotencyStore for SqliteIdempotencyStore {
    fn try_claim<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<Claim>> {
        let key = key.to_owned();
        Box::pin(self.db.run(move |conn| claim(conn, &key, lease)))
    }

    fn complete<'a>(&'a self, key: &'a str, response: &'a [u8]) -> BoxFuture<'a, Result<()>> {
        let key = key.to_owned();
        let response = response.to_vec();
        Box::pin(self.db.run(move |conn| {
            let now = now_millis()?;
            // The first recorded response stands: a completed row is never overwritten.
            conn.execute(
                "INSERT INTO catga_idempotency
                     (key, state, response, claimed_at_ms, completed_at_ms)
                 VALUES (?1, 'completed', ?2, ?3, ?3)
                 ON CONFLICT (key) DO UPDATE
                     SET state = 'completed', response = excluded.response,
                         completed_at_ms = excluded.completed_at_ms
                     WHERE state = 'in_progress'",
                params![key, response, now],
            )?;
            Ok(())
        }))
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        let key = key.to_owned();
        Box::pin(self.db.run(move |conn| {
            conn.execute(
                "DELETE FROM catga_idempotency WHERE key = ?1 AND state = 'in_progress'",
                [key],
            )?;
            Ok(())
        }))
    }
}
