//! [`SqliteInbox`]: the ids of the messages a consumer has processed, in SQLite, so a message the
//! broker delivers again (after a crash, a lost acknowledgement, a republished outbox entry)
//! does not run its handlers twice.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use crate::Result;
use crate::sqlite::{Database, Schema, millis, now_millis};

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
#[derive(Debug, Clone)]
pub struct SqliteInbox {
    db: Database,
}

impl SqliteInbox {
    /// Opens the inbox at `path`, creating the file and its table if needed. The file may be
    /// shared with catga's other SQLite stores.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let db = Database::open(path.as_ref(), &INBOX_SCHEMA).await?;
        Ok(SqliteInbox { db })
    }

    /// The file the inbox lives in.
    pub fn path(&self) -> PathBuf {
        self.db.path().to_path_buf()
    }

    /// Whether `consumer` has processed message `id`.
    pub async fn seen(&self, consumer: &str, id: &str) -> Result<bool> {
        let (consumer, id) = (consumer.to_string(), id.to_string());
        self.db
            .run(move |conn| {
                let found = conn
                    .query_row(
                        "SELECT 1 FROM catga_inbox WHERE consumer = ?1 AND message_id = ?2",
                        params![consumer, id],
                        |_| Ok(()),
                    )
                    .optional()?;
                Ok(found.is_some())
            })
            .await
    }

    /// Records that `consumer` processed message `id`; `false` when it was already recorded.
    pub async fn record(&self, consumer: &str, id: &str) -> Result<bool> {
        let (consumer, id) = (consumer.to_string(), id.to_string());
        self.db
            .run(move |conn| {
                let inserted = conn.execute(
                    "INSERT OR IGNORE INTO catga_inbox (consumer, message_id, processed_at_ms)
                     VALUES (?1, ?2, ?3)",
                    params![consumer, id, now_millis()?],
                )?;
                Ok(inserted == 1)
            })
            .await
    }

    /// Runs `work` and records message `id` for `consumer` in one transaction, unless the id is
    /// recorded already: then `work` does not run and the result is `None`. An error from
    /// `work` rolls both back.
    pub async fn process<T, F>(&self, consumer: &str, id: &str, work: F) -> Result<Option<T>>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let (consumer, id) = (consumer.to_string(), id.to_string());
        self.db
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let inserted = tx.execute(
                    "INSERT OR IGNORE INTO catga_inbox (consumer, message_id, processed_at_ms)
                     VALUES (?1, ?2, ?3)",
                    params![consumer, id, now_millis()?],
                )?;
                if inserted == 0 {
                    return Ok(None);
                }
                let value = work(&tx)?;
                tx.commit()?;
                Ok(Some(value))
            })
            .await
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
        let work = |tx: &Transaction<'_>| -> Result<i64> {
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
            |_: &Transaction<'_>| -> Result<()> { Err(crate::Error::unavailable("down")) };
        assert!(inbox.process("c", "m1", failing).await.is_err());
        assert!(!inbox.seen("c", "m1").await.expect("seen"));
        assert_eq!(
            inbox.purge_older_than(Duration::ZERO).await.expect("purge"),
            0
        );
    }
}
