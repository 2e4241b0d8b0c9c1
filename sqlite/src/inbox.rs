//! [`SqliteInbox`]: the ids of the messages a consumer has processed, in SQLite, so a message the
//! broker delivers again (after a crash, a lost acknowledgement, a republished outbox entry)
//! does not run its handlers twice: the runtime's [`Inbox`].

use std::any::Any;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use tokio::sync::oneshot;

use catga::transport::{BoxFuture, Inbox};
use catga::{Error, Result};

use crate::database::{Batch, Database, Schema, millis, now_millis};

static INBOX_SCHEMA: Schema = Schema {
    component: "inbox",
    version: 1,
    ddl: "CREATE TABLE catga_inbox (
              consumer TEXT NOT NULL,
              message_id TEXT NOT NULL,
              processed_at_ms INTEGER NOT NULL,
              PRIMARY KEY (consumer, message_id)
          ) WITHOUT ROWID;
          CREATE INDEX catga_inbox_processed_at ON catga_inbox (processed_at_ms);",
    upgrades: &[],
};

/// Processed message ids per consumer (group), in a SQLite file.
///
/// Two ways to use it:
/// - [`process`](SqliteInbox::process): the handler's own writes and the inbox record commit in
///   one transaction on this file, so the effects happen exactly once;
/// - [`seen`](SqliteInbox::seen) before and [`record`](SqliteInbox::record) after handlers that
///   write elsewhere: a crash between their effects and the record runs them again when the
///   message comes back (at least once), never twice for a recorded id.
///
/// Operations that arrive while the file is busy are committed together (group commit): one
/// transaction for all of them, each `process` in a savepoint of its own, so one's failure
/// rolls back only its own writes. Each still returns only once its outcome is committed.
#[derive(Debug, Clone)]
pub struct SqliteInbox {
    db: Database,
    /// Operations waiting for the next group commit.
    pending: Batch<Op>,
}

/// A `process` closure with its result type erased, so different ones share a batch.
type Work = Box<dyn FnOnce(&Transaction<'_>) -> crate::Result<Box<dyn Any + Send>> + Send>;

/// One inbox operation waiting for a group commit.
enum Op {
    Seen {
        consumer: String,
        id: String,
        reply: oneshot::Sender<Result<bool>>,
    },
    Record {
        consumer: String,
        id: String,
        reply: oneshot::Sender<Result<bool>>,
    },
    Process {
        consumer: String,
        id: String,
        work: Work,
        reply: oneshot::Sender<Result<Option<Box<dyn Any + Send>>>>,
    },
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (what, consumer, id) = match self {
            Op::Seen { consumer, id, .. } => ("seen", consumer, id),
            Op::Record { consumer, id, .. } => ("record", consumer, id),
            Op::Process { consumer, id, .. } => ("process", consumer, id),
        };
        write!(f, "{what}({consumer}, {id})")
    }
}

/// An answer held until the batch's transaction commits.
enum Answer {
    Flag(oneshot::Sender<Result<bool>>, bool),
    Value(
        oneshot::Sender<Result<Option<Box<dyn Any + Send>>>>,
        Option<Box<dyn Any + Send>>,
    ),
}

impl Answer {
    fn send(self) {
        match self {
            Answer::Flag(reply, flag) => {
                let _ = reply.send(Ok(flag));
            }
            Answer::Value(reply, value) => {
                let _ = reply.send(Ok(value));
            }
        }
    }

    fn fail(self, error: &Error) {
        match self {
            Answer::Flag(reply, _) => {
                let _ = reply.send(Err(error.clone()));
            }
            Answer::Value(reply, _) => {
                let _ = reply.send(Err(error.clone()));
            }
        }
    }
}

const INSERT: &str = "INSERT OR IGNORE INTO catga_inbox (consumer, message_id, processed_at_ms)
                      VALUES (?1, ?2, ?3)";

/// Runs `ops` in one transaction and answers each once it committed. Statements are prepared
/// once per connection (`prepare_cached`): parsing them again for every operation cost more
/// than running them (a failed `process`
/// answers at once: its savepoint is rolled back whatever happens to the rest).
fn commit_batch(conn: &mut rusqlite::Connection, ops: Vec<Op>) {
    let mut answers = Vec::with_capacity(ops.len());
    let outcome = (|| -> crate::Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = now_millis()?;
        for op in ops {
            match op {
                Op::Seen {
                    consumer,
                    id,
                    reply,
                } => {
                    let found = tx
                        .prepare_cached(
                            "SELECT 1 FROM catga_inbox WHERE consumer = ?1 AND message_id = ?2",
                        )?
                        .query_row(params![consumer, id], |_| Ok(()))
                        .optional()?;
                    answers.push(Answer::Flag(reply, found.is_some()));
                }
                Op::Record {
                    consumer,
                    id,
                    reply,
                } => {
                    let inserted = tx
                        .prepare_cached(INSERT)?
                        .execute(params![consumer, id, now])?;
                    answers.push(Answer::Flag(reply, inserted == 1));
                }
                Op::Process {
                    consumer,
                    id,
                    work,
                    reply,
                } => {
                    tx.execute_batch("SAVEPOINT catga_inbox_process")?;
                    let inserted = tx
                        .prepare_cached(INSERT)?
                        .execute(params![consumer, id, now])?;
                    if inserted == 0 {
                        tx.execute_batch("RELEASE catga_inbox_process")?;
                        answers.push(Answer::Value(reply, None));
                        continue;
                    }
                    match work(&tx) {
                        Ok(value) => {
                            tx.execute_batch("RELEASE catga_inbox_process")?;
                            answers.push(Answer::Value(reply, Some(value)));
                        }
                        Err(error) => {
                            tx.execute_batch(
                                "ROLLBACK TO catga_inbox_process; RELEASE catga_inbox_process",
                            )?;
                            let _ = reply.send(Err(error.into()));
                        }
                    }
                }
            }
        }
        tx.commit()?;
        Ok(())
    })();
    match outcome.map_err(Error::from) {
        Ok(()) => answers.into_iter().for_each(Answer::send),
        Err(error) => answers.into_iter().for_each(|answer| answer.fail(&error)),
    }
}

impl SqliteInbox {
    /// Opens the inbox at `path`, creating the file and its table if needed. The file may be
    /// shared with catga's other SQLite stores.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let db = Database::open(path.as_ref(), &INBOX_SCHEMA).await?;
        Ok(SqliteInbox {
            db,
            pending: Batch::new(),
        })
    }

    /// The file the inbox lives in.
    pub fn path(&self) -> PathBuf {
        self.db.path().to_path_buf()
    }

    /// Queues `op` for the next group commit.
    fn enqueue(&self, op: Op) {
        self.pending.push(&self.db, op, commit_batch);
    }

    /// Waits for the answer to an enqueued operation.
    async fn answer<T>(&self, answer: oneshot::Receiver<Result<T>>) -> Result<T> {
        answer.await.map_err(|_| {
            Error::internal(format!(
                "inbox operation on {} did not finish: the connection thread stopped or the \
                 operation panicked",
                self.db.path().display()
            ))
        })?
    }

    /// Whether `consumer` has processed message `id`.
    pub async fn seen(&self, consumer: &str, id: &str) -> Result<bool> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Op::Seen {
            consumer: consumer.to_string(),
            id: id.to_string(),
            reply,
        });
        self.answer(answer).await
    }

    /// Records that `consumer` processed message `id`; `false` when it was already recorded.
    pub async fn record(&self, consumer: &str, id: &str) -> Result<bool> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Op::Record {
            consumer: consumer.to_string(),
            id: id.to_string(),
            reply,
        });
        self.answer(answer).await
    }

    /// Runs `work` and records message `id` for `consumer` in one transaction, unless the id is
    /// recorded already: then `work` does not run and the result is `None`. An error from
    /// `work` rolls both back. `work` returns this crate's [`Result`](crate::Result), so `?`
    /// takes SQLite's errors and catga's.
    pub async fn process<T, F>(&self, consumer: &str, id: &str, work: F) -> Result<Option<T>>
    where
        F: FnOnce(&Transaction<'_>) -> crate::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Op::Process {
            consumer: consumer.to_string(),
            id: id.to_string(),
            work: Box::new(move |tx: &Transaction<'_>| {
                work(tx).map(|value| Box::new(value) as Box<dyn Any + Send>)
            }),
            reply,
        });
        match self.answer(answer).await? {
            None => Ok(None),
            Some(value) => value
                .downcast::<T>()
                .map(|value| Some(*value))
                .map_err(|_| Error::internal("inbox: a processed value changed its type")),
        }
    }

    /// Forgets ids processed more than `age` ago (longer than any redelivery can take); returns
    /// how many.
    pub async fn purge_older_than(&self, age: Duration) -> Result<usize> {
        let cutoff = now_millis()?.saturating_sub(millis(age));
        self.db
            .run(move |conn| {
                Ok(conn.execute(
                    "DELETE FROM catga_inbox WHERE processed_at_ms <= ?1",
                    [cutoff],
                )?)
            })
            .await
    }
}

impl Inbox for SqliteInbox {
    fn seen<'a>(&'a self, consumer: &'a str, id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(SqliteInbox::seen(self, consumer, id))
    }

    fn record<'a>(&'a self, consumer: &'a str, id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(SqliteInbox::record(self, consumer, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_survive_reopening_and_process_runs_once_per_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("inbox.db");
        let inbox = SqliteInbox::open(&path).await.expect("open");
        assert!(!inbox.seen("billing", "m1").await.expect("seen"));
        assert!(inbox.record("billing", "m1").await.expect("record"));
        assert!(!inbox.record("billing", "m1").await.expect("record again"));
        assert!(!inbox.seen("shipping", "m1").await.expect("other consumer"));
        drop(inbox);

        let inbox = SqliteInbox::open(&path).await.expect("reopen");
        assert!(inbox.seen("billing", "m1").await.expect("seen"));
        let work = |tx: &Transaction<'_>| -> crate::Result<i64> {
            tx.execute_batch("CREATE TABLE IF NOT EXISTS effects (n INTEGER)")?;
            tx.execute("INSERT INTO effects (n) VALUES (1)", [])?;
            Ok(tx.query_row("SELECT COUNT(*) FROM effects", [], |row| row.get(0))?)
        };
        assert_eq!(
            inbox.process("billing", "m2", work).await.expect("first"),
            Some(1)
        );
        assert_eq!(
            inbox.process("billing", "m2", work).await.expect("again"),
            None
        );
        assert_eq!(
            inbox.process("billing", "m3", work).await.expect("next"),
            Some(2)
        );
    }

    #[tokio::test]
    async fn failed_work_records_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let inbox = SqliteInbox::open(dir.path().join("inbox.db"))
            .await
            .expect("open");
        let failing =
            |_: &Transaction<'_>| -> crate::Result<()> { Err(Error::unavailable("down").into()) };
        assert!(inbox.process("c", "m1", failing).await.is_err());
        assert!(!inbox.seen("c", "m1").await.expect("seen"));
        assert_eq!(
            inbox.purge_older_than(Duration::ZERO).await.expect("purge"),
            0
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_operations_commit_together_and_a_failure_rolls_back_only_its_own() {
        let dir = tempfile::tempdir().expect("temp dir");
        let inbox = SqliteInbox::open(dir.path().join("inbox.db"))
            .await
            .expect("open");
        inbox
            .process("c", "setup", |tx: &Transaction<'_>| -> crate::Result<()> {
                tx.execute_batch("CREATE TABLE effects (n INTEGER NOT NULL)")?;
                Ok(())
            })
            .await
            .expect("setup");
        let tasks: Vec<_> = (0..200)
            .map(|n: i64| {
                let inbox = inbox.clone();
                tokio::spawn(async move {
                    match n % 4 {
                        0 => inbox
                            .process("c", &format!("m{n}"), move |tx: &Transaction<'_>| {
                                tx.execute("INSERT INTO effects (n) VALUES (?1)", [n])?;
                                if n % 8 == 0 {
                                    return Err(Error::unavailable("refused").into());
                                }
                                Ok(n)
                            })
                            .await
                            .map(|value| value.map_or(-1, |n| n)),
                        1 => inbox.record("c", &format!("m{n}")).await.map(i64::from),
                        2 => inbox.seen("c", "m1").await.map(i64::from),
                        _ => inbox
                            .process("c", &format!("m{n}"), move |_: &Transaction<'_>| Ok(n))
                            .await
                            .map(|value| value.map_or(-1, |n| n)),
                    }
                })
            })
            .collect();
        let mut failed = 0;
        for task in tasks {
            if task.await.expect("joins").is_err() {
                failed += 1;
            }
        }
        // Every eighth `process` refused: its own insert is gone, nobody else's.
        assert_eq!(failed, 25);
        let (effects, recorded) = inbox
            .db
            .run(|conn| {
                let effects: i64 =
                    conn.query_row("SELECT COUNT(*) FROM effects", [], |row| row.get(0))?;
                let recorded: i64 = conn.query_row(
                    "SELECT COUNT(*) FROM catga_inbox WHERE consumer = 'c'",
                    [],
                    |row| row.get(0),
                )?;
                Ok((effects, recorded))
            })
            .await
            .expect("counts");
        assert_eq!(
            effects, 25,
            "the 25 processes that succeeded wrote once each"
        );
        // setup + 25 + 50 records + 50 plain processes.
        assert_eq!(recorded, 1 + 25 + 50 + 50);
        for n in [8, 16] {
            assert!(!inbox.seen("c", &format!("m{n}")).await.expect("seen"));
        }
    }
}
