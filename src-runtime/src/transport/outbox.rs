//! The transactional outbox: [`SqliteOutbox`] stores outgoing messages in SQLite, in the same
//! transaction as the state change that produced them when the store shares the file;
//! [`OutboxDispatcher`] publishes them to the transport and marks them delivered.
//!
//! Delivery is at least once: a dispatcher that crashes between publishing and marking
//! publishes again after a restart, and consumers drop the duplicate by envelope id (the
//! broker's duplicate window, then the inbox). Messages with the same ordering key are
//! published in the order they were stored: after a failed publish, the later messages of its
//! key wait for the next pass. Run one dispatcher per outbox file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Transaction, params};
use tokio::sync::Notify;

use super::{Envelope, Transport};
use crate::sqlite::{Database, Schema, millis, now_millis};
use crate::{Error, Result};

pub(crate) static OUTBOX_SCHEMA: Schema = Schema {
    component: "outbox",
    version: 1,
    ddl: "CREATE TABLE catga_outbox (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              message_id TEXT NOT NULL UNIQUE,
              subject TEXT NOT NULL,
              ordering_key TEXT,
              envelope BLOB NOT NULL,
              created_at_ms INTEGER NOT NULL,
              delivered_at_ms INTEGER,
              attempts INTEGER NOT NULL DEFAULT 0,
              last_error TEXT
          );
          CREATE INDEX catga_outbox_pending ON catga_outbox (seq) WHERE delivered_at_ms IS NULL;",
};

/// One message waiting in the outbox: where it goes and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// The subject to publish on.
    pub subject: String,
    /// The message.
    pub envelope: Envelope,
}

/// Outgoing messages in a SQLite file, until a dispatcher has delivered them.
#[derive(Debug, Clone)]
pub struct SqliteOutbox {
    db: Database,
    /// Wakes a dispatcher in this process when messages are stored.
    stored: Arc<Notify>,
}

impl SqliteOutbox {
    /// Opens the outbox at `path`, creating the file and its table if needed.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let db = Database::open(path.as_ref(), &OUTBOX_SCHEMA).await?;
        Ok(SqliteOutbox::on(db))
    }

    /// The outbox in `db`, which has its schema: for stores that write to it in their own
    /// transactions.
    pub(crate) fn on(db: Database) -> Self {
        SqliteOutbox {
            db,
            stored: Arc::new(Notify::new()),
        }
    }

    /// The file the outbox lives in.
    pub fn path(&self) -> PathBuf {
        self.db.path().to_path_buf()
    }

    /// Stores `entries` in one transaction of their own.
    pub async fn enqueue(&self, entries: Vec<OutboxEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.db
            .run(move |conn| {
                let tx = conn.transaction()?;
                insert(&tx, &entries)?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        self.stored.notify_one();
        Ok(())
    }

    /// Tells a dispatcher in this process that entries were stored by another store's
    /// transaction on this file.
    pub(crate) fn wake(&self) {
        self.stored.notify_one();
    }

    /// How many entries are not delivered yet.
    pub async fn pending(&self) -> Result<usize> {
        self.db
            .run(|conn| {
                let count: i64 = conn.query_row(
                    "SELECT COUNT(*) FROM catga_outbox WHERE delivered_at_ms IS NULL",
                    [],
                    |row| row.get(0),
                )?;
                Ok(usize::try_from(count).unwrap_or(0))
            })
            .await
    }

    /// Deletes entries delivered more than `age` ago; returns how many.
    pub async fn purge_delivered(&self, age: Duration) -> Result<usize> {
        let cutoff = now_millis()?.saturating_sub(millis(age));
        self.db
            .run(move |conn| {
                Ok(conn.execute(
                    "DELETE FROM catga_outbox
                     WHERE delivered_at_ms IS NOT NULL AND delivered_at_ms <= ?1",
                    [cutoff],
                )?)
            })
            .await
    }

    /// Up to `limit` undelivered entries, oldest first.
    async fn next_batch(&self, limit: usize) -> Result<Vec<(i64, OutboxEntry)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .run(move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT seq, subject, envelope FROM catga_outbox
                     WHERE delivered_at_ms IS NULL ORDER BY seq LIMIT ?1",
                )?;
                let rows = statement.query_map([limit], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                    ))
                })?;
                let mut batch = Vec::new();
                for row in rows {
                    let (seq, subject, bytes) = row?;
                    let envelope = Envelope::decode(&bytes).map_err(|error| {
                        Error::storage(format!(
                            "outbox entry {seq} in {} is not an envelope this catga reads: {error}",
                            conn.path().unwrap_or("the outbox")
                        ))
                    })?;
                    batch.push((seq, OutboxEntry { subject, envelope }));
                }
                Ok(batch)
            })
            .await
    }

    /// Marks `delivered` delivered, and records a failed attempt for each of `failed`.
    async fn settle(&self, delivered: Vec<i64>, failed: Vec<(i64, String)>) -> Result<()> {
        let now = now_millis()?;
        self.db
            .run(move |conn| {
                let tx = conn.transaction()?;
                for seq in &delivered {
                    tx.execute(
                        "UPDATE catga_outbox SET delivered_at_ms = ?1 WHERE seq = ?2",
                        params![now, seq],
                    )?;
                }
                for (seq, error) in &failed {
                    tx.execute(
                        "UPDATE catga_outbox SET attempts = attempts + 1, last_error = ?1
                         WHERE seq = ?2",
                        params![error, seq],
                    )?;
                }
                tx.commit()?;
                Ok(())
            })
            .await
    }
}

/// Stores `entries` inside `tx`: the caller's transaction commits them with its own writes.
/// An entry whose envelope id is already stored is skipped (a retried transaction).
pub(crate) fn insert(tx: &Transaction<'_>, entries: &[OutboxEntry]) -> Result<()> {
    if entries.is_empty() {
        // Also for a store whose file has no outbox table.
        return Ok(());
    }
    let now = now_millis()?;
    let mut statement = tx.prepare_cached(
        "INSERT OR IGNORE INTO catga_outbox
             (message_id, subject, ordering_key, envelope, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for entry in entries {
        statement.execute(params![
            entry.envelope.id,
            entry.subject,
            entry.envelope.key,
            entry.envelope.encode(),
            now
        ])?;
    }
    Ok(())
}

/// What one [`OutboxDispatcher::flush`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Entries published and marked delivered.
    pub delivered: usize,
    /// Entries whose publish failed, or that wait behind a failed entry of their key.
    pub waiting: usize,
}

/// Publishes an outbox's entries to a transport.
#[derive(Clone)]
pub struct OutboxDispatcher {
    outbox: SqliteOutbox,
    transport: Arc<dyn Transport>,
    batch: usize,
    idle_poll: Duration,
}

impl OutboxDispatcher {
    /// A dispatcher from `outbox` to `transport`.
    pub fn new(outbox: SqliteOutbox, transport: Arc<dyn Transport>) -> Self {
        OutboxDispatcher {
            outbox,
            transport,
            batch: 256,
            idle_poll: Duration::from_millis(200),
        }
    }

    /// How long to wait for new entries before looking again, when no store in this process
    /// announces them (another process writes the file): 200 ms by default.
    pub fn idle_poll(mut self, every: Duration) -> Self {
        self.idle_poll = every;
        self
    }

    /// Publishes everything pending now, in order, batch by batch; stops at the first batch in
    /// which nothing could be published (the transport is down).
    pub async fn flush(&self) -> Result<Flushed> {
        let mut total = Flushed::default();
        loop {
            let batch = self.outbox.next_batch(self.batch).await?;
            if batch.is_empty() {
                return Ok(total);
            }
            let full = batch.len() == self.batch;
            let pass = self.publish(batch).await?;
            total.delivered += pass.delivered;
            total.waiting += pass.waiting;
            if pass.delivered == 0 || !full || pass.waiting > 0 {
                return Ok(total);
            }
        }
    }

    async fn publish(&self, batch: Vec<(i64, OutboxEntry)>) -> Result<Flushed> {
        let mut delivered = Vec::new();
        let mut failed = Vec::new();
        let mut blocked_keys: HashSet<String> = HashSet::new();
        let mut waiting = 0;
        for (seq, entry) in batch {
            if let Some(key) = &entry.envelope.key
                && blocked_keys.contains(key)
            {
                waiting += 1;
                continue;
            }
            match self
                .transport
                .publish(&entry.subject, &entry.envelope)
                .await
            {
                Ok(()) => delivered.push(seq),
                Err(error) => {
                    waiting += 1;
                    if let Some(key) = entry.envelope.key {
                        blocked_keys.insert(key);
                    }
                    failed.push((seq, error.to_string()));
                }
            }
        }
        let pass = Flushed {
            delivered: delivered.len(),
            waiting,
        };
        self.outbox.settle(delivered, failed).await?;
        Ok(pass)
    }

    /// Flushes whenever entries are stored (or every idle poll), backing off while the
    /// transport is down. Returns only on a storage error.
    pub async fn run(self) -> Result<()> {
        let mut backoff = Duration::from_millis(50);
        loop {
            let stored = self.outbox.stored.notified();
            let flushed = self.flush().await?;
            if flushed.waiting > 0 {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
            backoff = Duration::from_millis(50);
            tokio::select! {
                () = stored => {}
                () = tokio::time::sleep(self.idle_poll) => {}
            }
        }
    }
}

impl std::fmt::Debug for OutboxDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxDispatcher")
            .field("outbox", &self.outbox)
            .field("batch", &self.batch)
            .field("idle_poll", &self.idle_poll)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::transport::{
        BoxFuture, ConsumerOptions, MemoryTransport, Requests, Subscription, event_subject,
    };
    use crate::{Context, MessageId};

    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, crate::Event)]
    struct Moved {
        step: u32,
    }

    fn entry(key: &str, step: u32) -> OutboxEntry {
        let envelope = Envelope::of(&Moved { step }, &Context::new(MessageId(1)))
            .expect("serializes")
            .with_key(key);
        OutboxEntry {
            subject: event_subject("Moved"),
            envelope,
        }
    }

    /// A memory transport whose publishes of the listed envelope ids fail once each.
    struct Flaky {
        inner: MemoryTransport,
        fail_once: Mutex<HashSet<String>>,
    }

    impl Transport for Flaky {
        fn publish<'a>(
            &'a self,
            subject: &'a str,
            envelope: &'a Envelope,
        ) -> BoxFuture<'a, Result<()>> {
            if self.fail_once.lock().expect("lock").remove(&envelope.id) {
                return Box::pin(async { Err(Error::unavailable("broker unreachable")) });
            }
            self.inner.publish(subject, envelope)
        }
        fn subscribe<'a>(
            &'a self,
            group: &'a str,
            subjects: &'a [String],
            options: &'a ConsumerOptions,
        ) -> BoxFuture<'a, Result<Box<dyn Subscription>>> {
            self.inner.subscribe(group, subjects, options)
        }
        fn request<'a>(
            &'a self,
            subject: &'a str,
            envelope: &'a Envelope,
            timeout: Duration,
        ) -> BoxFuture<'a, Result<Envelope>> {
            self.inner.request(subject, envelope, timeout)
        }
        fn serve<'a>(
            &'a self,
            group: &'a str,
            subjects: &'a [String],
        ) -> BoxFuture<'a, Result<Box<dyn Requests>>> {
            self.inner.serve(group, subjects)
        }
    }

    async fn received(transport: &MemoryTransport, count: usize) -> Vec<(String, u32)> {
        let mut subscription = transport
            .subscribe(
                "check",
                &[event_subject("Moved")],
                &ConsumerOptions::default(),
            )
            .await
            .expect("subscribe");
        let mut out = Vec::new();
        for _ in 0..count {
            let delivery: crate::transport::Delivery = subscription.next().await.expect("delivery");
            let step = delivery.envelope.message::<Moved>().expect("moved").step;
            out.push((delivery.envelope.key.clone().unwrap_or_default(), step));
            delivery.ack().await.expect("ack");
        }
        out
    }

    #[tokio::test]
    async fn entries_survive_reopening_and_are_delivered_once_marked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("outbox.db");
        let outbox = SqliteOutbox::open(&path).await.expect("open");
        outbox
            .enqueue(vec![entry("a", 1), entry("a", 2)])
            .await
            .expect("enqueue");
        drop(outbox);
        let outbox = SqliteOutbox::open(&path).await.expect("reopen");
        assert_eq!(outbox.pending().await.expect("pending"), 2);
        let transport = MemoryTransport::new();
        let dispatcher = OutboxDispatcher::new(outbox.clone(), Arc::new(transport.clone()));
        let flushed = dispatcher.flush().await.expect("flush");
        assert_eq!(
            flushed,
            Flushed {
                delivered: 2,
                waiting: 0
            }
        );
        assert_eq!(outbox.pending().await.expect("pending"), 0);
        assert_eq!(dispatcher.flush().await.expect("again"), Flushed::default());
        assert_eq!(
            received(&transport, 2).await,
            [("a".into(), 1), ("a".into(), 2)]
        );
        assert_eq!(
            outbox.purge_delivered(Duration::ZERO).await.expect("purge"),
            2
        );
    }

    #[tokio::test]
    async fn a_failed_publish_holds_back_its_key_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("open");
        let entries = vec![
            entry("a", 1),
            entry("a", 2),
            entry("b", 1),
            entry("a", 3),
            entry("b", 2),
        ];
        let failing = entries[0].envelope.id.clone();
        outbox.enqueue(entries).await.expect("enqueue");
        let memory = MemoryTransport::new();
        let flaky = Flaky {
            inner: memory.clone(),
            fail_once: Mutex::new(HashSet::from([failing])),
        };
        let dispatcher = OutboxDispatcher::new(outbox.clone(), Arc::new(flaky));
        assert_eq!(
            dispatcher.flush().await.expect("first"),
            Flushed {
                delivered: 2,
                waiting: 3
            }
        );
        assert_eq!(
            dispatcher.flush().await.expect("second"),
            Flushed {
                delivered: 3,
                waiting: 0
            }
        );
        let order = received(&memory, 5).await;
        let a: Vec<u32> = order
            .iter()
            .filter(|(k, _)| k == "a")
            .map(|(_, s)| *s)
            .collect();
        let b: Vec<u32> = order
            .iter()
            .filter(|(k, _)| k == "b")
            .map(|(_, s)| *s)
            .collect();
        assert_eq!((a, b), (vec![1, 2, 3], vec![1, 2]));
    }

    #[tokio::test]
    async fn run_delivers_what_is_stored_later() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("open");
        let transport = MemoryTransport::new();
        let running =
            tokio::spawn(OutboxDispatcher::new(outbox.clone(), Arc::new(transport.clone())).run());
        outbox.enqueue(vec![entry("k", 1)]).await.expect("enqueue");
        let got = tokio::time::timeout(Duration::from_secs(60), received(&transport, 1))
            .await
            .expect("delivered in time");
        assert_eq!(got, [("k".into(), 1)]);
        running.abort();
    }
}
