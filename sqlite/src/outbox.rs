//! The transactional outbox: [`SqliteOutbox`] (the runtime's [`Outbox`]) stores outgoing
//! messages in SQLite, in the same transaction as the state change that produced them when the
//! store shares the file;
//! [`OutboxDispatcher`] publishes them to the transport and marks them delivered.
//!
//! Delivery is at least once: a dispatcher that crashes between publishing and marking
//! publishes again after a restart, and consumers drop the duplicate by envelope id (the
//! broker's duplicate window, then the inbox). Messages with the same ordering key are
//! published in the order they were stored, one at a time; different keys are published
//! concurrently. After a failed publish, the later messages of its key wait for the next pass.
//! A message the broker refuses (too large, invalid) rather than misses (unreachable) is
//! dead-lettered after `max_attempts` refusals: moved to `catga_outbox_dead` with the reason,
//! and its key's later messages go on without it. Run one dispatcher per outbox file, or run
//! it led ([`OutboxDispatcher::run_led`]) in every process sharing the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use rusqlite::{Transaction, TransactionBehavior, params};
use tokio::sync::{Notify, oneshot};

use catga::leadership::Lease;
use catga::transport::{BoxFuture, Envelope, Outbox, OutboxEntry, Transport};
use catga::{Error, Result};

use crate::database::{Batch, Database, Schema, millis, now_millis};

mod led;

/// The dead-letter table, written once for both a new file and an upgraded one (`concat!`,
/// which a static schema needs, takes only literals).
macro_rules! outbox_dead_ddl {
    () => {
        "CREATE TABLE catga_outbox_dead (
             seq INTEGER PRIMARY KEY,
             message_id TEXT NOT NULL UNIQUE,
             subject TEXT NOT NULL,
             ordering_key TEXT,
             envelope BLOB NOT NULL,
             created_at_ms INTEGER NOT NULL,
             dead_at_ms INTEGER NOT NULL,
             attempts INTEGER NOT NULL,
             last_error TEXT NOT NULL
         );"
    };
}

/// The fence of led dispatchers: the largest lease token a settle carried, one row.
macro_rules! outbox_fence_ddl {
    () => {
        "CREATE TABLE catga_outbox_fence (
             id INTEGER PRIMARY KEY CHECK (id = 0),
             token INTEGER NOT NULL
         );
         INSERT INTO catga_outbox_fence (id, token) VALUES (0, 0);"
    };
}

pub(crate) static OUTBOX_SCHEMA: Schema = Schema {
    component: "outbox",
    version: 3,
    // `attempts` counts the broker's refusals (version 1 counted every failure); version 3
    // adds the fence.
    ddl: concat!(
        "CREATE TABLE catga_outbox (
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
        outbox_dead_ddl!(),
        outbox_fence_ddl!()
    ),
    upgrades: &[
        concat!(
            "UPDATE catga_outbox SET attempts = 0 WHERE delivered_at_ms IS NULL;",
            outbox_dead_ddl!()
        ),
        outbox_fence_ddl!(),
    ],
};

/// Outgoing messages in a SQLite file, until a dispatcher has delivered them.
#[derive(Debug, Clone)]
pub struct SqliteOutbox {
    db: Database,
    /// `enqueue` calls waiting for the next group commit.
    queued: Batch<Enqueued>,
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
            queued: Batch::new(),
            stored: Arc::new(Notify::new()),
        }
    }

    /// The file the outbox lives in.
    pub fn path(&self) -> PathBuf {
        self.db.path().to_path_buf()
    }

    /// Stores `entries` together, in a transaction shared with the other `enqueue` calls
    /// waiting for the file (group commit); returns once they are committed.
    pub async fn enqueue(&self, entries: Vec<OutboxEntry>) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let (reply, stored) = oneshot::channel();
        self.queued.push(&self.db, (entries, reply), store_batch);
        stored.await.map_err(|_| {
            Error::internal(format!(
                "outbox write to {} did not finish: the connection thread stopped",
                self.db.path().display()
            ))
        })??;
        self.stored.notify_one();
        Ok(())
    }

    /// Runs `work` and stores `entries` in one transaction: both or neither.
    pub(crate) async fn commit_with<T, F>(&self, entries: Vec<OutboxEntry>, work: F) -> Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> crate::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let stored = !entries.is_empty();
        let value = self
            .db
            .run(move |conn| {
                // Immediate: `work` may read before it writes, and a deferred transaction that
                // does fails at once ("database is locked") when another connection to the file
                // (an inbox applying a projection) commits in between; taking the write lock
                // first waits for it instead, up to the busy timeout.
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let value = work(&tx)?;
                insert(&tx, &entries)?;
                tx.commit()?;
                Ok(value)
            })
            .await?;
        if stored {
            self.stored.notify_one();
        }
        Ok(value)
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

    /// How long the oldest undelivered entry has waited; `None` when nothing waits. An outbox
    /// whose oldest entry keeps ageing is stuck, however few entries it holds.
    pub async fn oldest_pending_age(&self) -> Result<Option<Duration>> {
        let now = now_millis()?;
        let oldest: Option<i64> = self
            .db
            .run(|conn| {
                Ok(conn.query_row(
                    "SELECT MIN(created_at_ms) FROM catga_outbox WHERE delivered_at_ms IS NULL",
                    [],
                    |row| row.get(0),
                )?)
            })
            .await?;
        Ok(oldest.map(|created| {
            Duration::from_millis(u64::try_from(now.saturating_sub(created)).unwrap_or(0))
        }))
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

    /// The entries dead-lettered so far, oldest first: what the broker refused, and why.
    pub async fn dead_letters(&self) -> Result<Vec<DeadOutboxEntry>> {
        self.db
            .run(|conn| {
                let mut statement = conn.prepare(
                    "SELECT seq, subject, envelope, attempts, last_error, dead_at_ms
                     FROM catga_outbox_dead ORDER BY seq",
                )?;
                let rows = statement.query_map([], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                        row.get::<_, u32>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, i64>(5)?,
                    ))
                })?;
                let mut dead = Vec::new();
                for row in rows {
                    let (seq, subject, bytes, attempts, error, dead_at_ms) = row?;
                    let envelope = stored_envelope(conn, seq, &bytes)?;
                    dead.push(DeadOutboxEntry {
                        entry: OutboxEntry { subject, envelope },
                        attempts,
                        error,
                        dead_at_ms,
                    });
                }
                Ok(dead)
            })
            .await
    }

    /// Up to `limit` undelivered entries, oldest first, with the refusals each has had.
    async fn next_batch(&self, limit: usize) -> Result<Vec<Pending>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .run(move |conn| {
                let mut statement = conn.prepare_cached(
                    "SELECT seq, subject, envelope, attempts FROM catga_outbox
                     WHERE delivered_at_ms IS NULL ORDER BY seq LIMIT ?1",
                )?;
                let rows = statement.query_map([limit], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                        row.get::<_, u32>(3)?,
                    ))
                })?;
                let mut batch = Vec::new();
                for row in rows {
                    let (seq, subject, bytes, refusals) = row?;
                    let envelope = stored_envelope(conn, seq, &bytes)?;
                    batch.push(Pending {
                        seq,
                        entry: OutboxEntry { subject, envelope },
                        refusals,
                    });
                }
                Ok(batch)
            })
            .await
    }

    /// Raises the fence to `token`: from then on, settles carrying a smaller token are refused.
    /// A [`Conflict`](catga::ErrorKind::Conflict) when the fence already holds a larger one (a
    /// later leader raised it).
    async fn raise_fence(&self, token: u64) -> Result<()> {
        self.db
            .run(move |conn| {
                let tx = conn.transaction()?;
                pass_fence(&tx, token)?;
                tx.commit()?;
                Ok(())
            })
            .await
    }

    /// The largest lease token a led dispatcher has settled with (0: none yet).
    pub async fn fence_token(&self) -> Result<u64> {
        self.db
            .run(|conn| {
                let token: i64 = conn.query_row(
                    "SELECT token FROM catga_outbox_fence WHERE id = 0",
                    [],
                    |row| row.get(0),
                )?;
                Ok(u64::try_from(token).unwrap_or(0))
            })
            .await
    }

    /// Records one pass: marks what was delivered, notes why the missed ones were, counts the
    /// refusals, and moves an entry refused `max_attempts` times to the dead-letter table.
    /// With a `fence` token, only if no settle has carried a larger one: a dispatcher that lost
    /// its lease to a later leader records nothing (a [`Conflict`](catga::ErrorKind::Conflict)).
    async fn settle(&self, pass: Pass, max_attempts: u32, fence: Option<u64>) -> Result<()> {
        let now = now_millis()?;
        self.db
            .run(move |conn| {
                let tx = conn.transaction()?;
                if let Some(token) = fence {
                    // Dropping `tx` on refusal rolls back.
                    pass_fence(&tx, token)?;
                }
                // Prepared once per connection: a pass settles up to a whole batch.
                let mut deliver = tx.prepare_cached(
                    "UPDATE catga_outbox SET delivered_at_ms = ?1 WHERE seq = ?2",
                )?;
                for seq in &pass.delivered {
                    deliver.execute(params![now, seq])?;
                }
                let mut miss =
                    tx.prepare_cached("UPDATE catga_outbox SET last_error = ?1 WHERE seq = ?2")?;
                for (seq, error) in &pass.missed {
                    miss.execute(params![error, seq])?;
                }
                let mut refuse = tx.prepare_cached(
                    "UPDATE catga_outbox SET attempts = ?1, last_error = ?2 WHERE seq = ?3",
                )?;
                let mut bury = tx.prepare_cached(
                    "INSERT INTO catga_outbox_dead (seq, message_id, subject, ordering_key,
                         envelope, created_at_ms, dead_at_ms, attempts, last_error)
                     SELECT seq, message_id, subject, ordering_key, envelope, created_at_ms,
                         ?2, ?3, ?4
                     FROM catga_outbox WHERE seq = ?1",
                )?;
                let mut remove = tx.prepare_cached("DELETE FROM catga_outbox WHERE seq = ?1")?;
                for (seq, refusals, error) in &pass.refused {
                    if *refusals < max_attempts {
                        refuse.execute(params![refusals, error, seq])?;
                        continue;
                    }
                    bury.execute(params![seq, now, refusals, error])?;
                    remove.execute([seq])?;
                }
                drop((deliver, miss, refuse, bury, remove));
                tx.commit()?;
                Ok(())
            })
            .await
    }
}

/// Raises the fence of the outbox in `tx` to `token`, or refuses a token smaller than it holds.
fn pass_fence(tx: &Transaction<'_>, token: u64) -> crate::Result<()> {
    let token = i64::try_from(token).unwrap_or(i64::MAX);
    let raised = tx.execute(
        "UPDATE catga_outbox_fence SET token = ?1 WHERE id = 0 AND token <= ?1",
        [token],
    )?;
    if raised == 1 {
        return Ok(());
    }
    let held: i64 = tx.query_row(
        "SELECT token FROM catga_outbox_fence WHERE id = 0",
        [],
        |row| row.get(0),
    )?;
    Err(Error::conflict(format!(
        "the outbox {} is fenced at lease token {held}: a dispatcher holding token {token} lost \
         its lease to a later leader, so it records nothing",
        tx.path().unwrap_or("file")
    ))
    .into())
}

/// The envelope stored at `seq`; one this catga cannot read is a storage error.
fn stored_envelope(conn: &rusqlite::Connection, seq: i64, bytes: &[u8]) -> Result<Envelope> {
    Envelope::decode(bytes).map_err(|error| {
        Error::storage(format!(
            "outbox entry {seq} in {} is not an envelope this catga reads: {error}",
            conn.path().unwrap_or("the outbox")
        ))
    })
}

/// An outbox entry the broker refused `attempts` times, kept with the last reason.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadOutboxEntry {
    /// The entry, as it was stored.
    pub entry: OutboxEntry,
    /// How many times the broker refused it.
    pub attempts: u32,
    /// The last refusal.
    pub error: String,
    /// When it was moved to the dead-letter table, in milliseconds since the Unix epoch.
    pub dead_at_ms: i64,
}

/// An undelivered entry as a pass reads it.
#[derive(Debug)]
struct Pending {
    seq: i64,
    entry: OutboxEntry,
    /// How many times the broker refused it so far.
    refusals: u32,
}

/// What one pass over a batch did, to be recorded in one transaction.
#[derive(Debug, Default)]
struct Pass {
    delivered: Vec<i64>,
    /// Failed for a reason that passes (the broker is unreachable): `(seq, error)`.
    missed: Vec<(i64, String)>,
    /// Refused by the broker: `(seq, refusals so far, error)`.
    refused: Vec<(i64, u32, String)>,
    /// Entries not tried: they follow a failed entry of their key.
    held: usize,
}

impl Pass {
    fn absorb(&mut self, mut lane: Pass) {
        self.delivered.append(&mut lane.delivered);
        self.missed.append(&mut lane.missed);
        self.refused.append(&mut lane.refused);
        self.held += lane.held;
    }
}

/// A group of `enqueue` calls: their entries, and where each hears it was committed.
type Enqueued = (Vec<OutboxEntry>, oneshot::Sender<Result<()>>);

/// Stores every call's entries in one transaction and answers each.
fn store_batch(conn: &mut rusqlite::Connection, calls: Vec<Enqueued>) {
    let stored = (|| -> crate::Result<()> {
        let tx = conn.transaction()?;
        for (entries, _) in &calls {
            insert(&tx, entries)?;
        }
        tx.commit()?;
        Ok(())
    })()
    .map_err(Error::from);
    for (_, reply) in calls {
        let _ = reply.send(stored.clone());
    }
}

/// Stores `entries` inside `tx`: the caller's transaction commits them with its own writes.
/// An entry whose envelope id is already stored is skipped (a retried transaction).
pub(crate) fn insert(tx: &Transaction<'_>, entries: &[OutboxEntry]) -> crate::Result<()> {
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

impl Outbox for SqliteOutbox {
    fn enqueue(&self, entries: Vec<OutboxEntry>) -> BoxFuture<'_, Result<()>> {
        Box::pin(SqliteOutbox::enqueue(self, entries))
    }

    fn pending(&self) -> BoxFuture<'_, Result<usize>> {
        Box::pin(SqliteOutbox::pending(self))
    }

    fn oldest_pending_age(&self) -> BoxFuture<'_, Result<Option<Duration>>> {
        Box::pin(SqliteOutbox::oldest_pending_age(self))
    }
}

/// What one [`OutboxDispatcher::flush`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flushed {
    /// Entries published and marked delivered.
    pub delivered: usize,
    /// Entries whose publish failed, or that wait behind a failed entry of their key.
    pub waiting: usize,
    /// Entries the broker refused `max_attempts` times, moved to the dead-letter table.
    pub dead_lettered: usize,
}

/// Publishes an outbox's entries to a transport.
#[derive(Debug, Clone)]
pub struct OutboxDispatcher {
    outbox: SqliteOutbox,
    transport: Arc<dyn Transport>,
    batch: usize,
    lanes: usize,
    max_attempts: u32,
    idle_poll: Duration,
    /// The role [`run_led`](Self::run_led) campaigns for; `None`: derived from the file name.
    role: Option<String>,
}

impl OutboxDispatcher {
    /// A dispatcher from `outbox` to `transport`.
    pub fn new(outbox: SqliteOutbox, transport: Arc<dyn Transport>) -> Self {
        OutboxDispatcher {
            outbox,
            transport,
            batch: 256,
            lanes: 128,
            max_attempts: 5,
            idle_poll: Duration::from_millis(200),
            role: None,
        }
    }

    /// How long to wait for new entries before looking again, when no store in this process
    /// announces them (another process writes the file): 200 ms by default.
    pub fn idle_poll(mut self, every: Duration) -> Self {
        self.idle_poll = every;
        self
    }

    /// How many ordering keys are published at once, each key's entries one after another
    /// (an entry without a key is a key of its own), so also how many publish acknowledgements
    /// are awaited at once: 128 by default, at least 1.
    pub fn concurrent_keys(mut self, lanes: usize) -> Self {
        self.lanes = lanes.max(1);
        self
    }

    /// How many times the broker may refuse an entry (too large, invalid; not unreachable)
    /// before it is moved to the dead-letter table and its key's later entries go on without
    /// it: 5 by default, at least 1.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Publishes everything pending now, in order per key, batch by batch; stops at the first
    /// batch in which nothing could be published (the transport is down).
    pub async fn flush(&self) -> Result<Flushed> {
        self.flush_under(None).await
    }

    /// [`flush`](Self::flush), under `lease` when given: the lease is checked before each
    /// batch and each publish, and each settle is fenced by its token (a lease that never
    /// lapses has no rival to fence off). A lost lease or a refused settle is a
    /// [`Conflict`](catga::ErrorKind::Conflict).
    async fn flush_under(&self, lease: Option<&Lease>) -> Result<Flushed> {
        let fence = lease
            .filter(|lease| lease.deadline().is_some())
            .map(Lease::token);
        let mut total = Flushed::default();
        loop {
            if let Some(lease) = lease {
                lease.check()?;
            }
            let batch = self.outbox.next_batch(self.batch).await?;
            if batch.is_empty() {
                return Ok(total);
            }
            let full = batch.len() == self.batch;
            let pass = self.publish(batch, lease).await;
            let delivered = pass.delivered.len();
            let dead_lettered = pass
                .refused
                .iter()
                .filter(|(_, refusals, _)| *refusals >= self.max_attempts)
                .count();
            let waiting = pass.missed.len() + pass.refused.len() - dead_lettered + pass.held;
            self.outbox.settle(pass, self.max_attempts, fence).await?;
            total.delivered += delivered;
            total.dead_lettered += dead_lettered;
            // Progress made and more may be stored: go on, even past entries that wait (the
            // next batch starts with them again).
            if full && delivered + dead_lettered > 0 {
                continue;
            }
            total.waiting = waiting;
            return Ok(total);
        }
    }

    /// Publishes `batch`: its keys concurrently, each key's entries in order, a key stopping
    /// at its first failure, and every key once `lease` is lost.
    async fn publish(&self, batch: Vec<Pending>, lease: Option<&Lease>) -> Pass {
        let mut lanes: Vec<Vec<Pending>> = Vec::new();
        let mut lane_of_key: HashMap<String, usize> = HashMap::new();
        for pending in batch {
            match pending.entry.envelope.key.clone() {
                Some(key) => {
                    let lane = *lane_of_key.entry(key).or_insert_with(|| {
                        lanes.push(Vec::new());
                        lanes.len() - 1
                    });
                    lanes[lane].push(pending);
                }
                None => lanes.push(vec![pending]),
            }
        }
        let mut pass = Pass::default();
        let mut lanes = futures_util::stream::iter(lanes)
            .map(|lane| self.publish_lane(lane, lease))
            .buffer_unordered(self.lanes);
        while let Some(lane) = lanes.next().await {
            pass.absorb(lane);
        }
        pass
    }

    /// Publishes one key's entries in order, stopping at the first failure or when `lease`
    /// is lost.
    async fn publish_lane(&self, lane: Vec<Pending>, lease: Option<&Lease>) -> Pass {
        let mut pass = Pass::default();
        let mut entries = lane.into_iter();
        for pending in entries.by_ref() {
            if lease.is_some_and(|lease| !lease.is_held()) {
                // Not sent: held with the rest.
                pass.held += 1;
                break;
            }
            let published = self
                .transport
                .publish(&pending.entry.subject, &pending.entry.envelope)
                .await;
            match published {
                Ok(()) => pass.delivered.push(pending.seq),
                Err(error) if error.is_retryable() => {
                    pass.missed.push((pending.seq, error.to_string()));
                    break;
                }
                Err(error) => {
                    let refusals = pending.refusals.saturating_add(1);
                    if refusals >= self.max_attempts {
                        tracing::warn!(
                            message_id = pending.entry.envelope.id,
                            subject = pending.entry.subject,
                            refusals,
                            %error,
                            "catga: the broker refused an outbox entry; dead-lettering it"
                        );
                    }
                    pass.refused
                        .push((pending.seq, refusals, error.to_string()));
                    break;
                }
            }
        }
        pass.held += entries.count();
        pass
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

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Mutex;

    use super::*;
    use catga::transport::{
        ConsumerOptions, Delivery, MemoryTransport, Requests, Subscription, event_subject,
    };
    use catga::{Context, MessageId};

    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, catga::Event)]
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
            let delivery: Delivery = subscription.next().await.expect("delivery");
            let step = delivery.envelope.message::<Moved>().expect("moved").step;
            out.push((delivery.envelope.key.clone().unwrap_or_default(), step));
            delivery.ack().await.expect("ack");
        }
        out
    }

    #[tokio::test]
    async fn a_unit_of_work_that_reads_first_waits_for_another_connections_write() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("outbox.db");
        let outbox = SqliteOutbox::open(&path).await.expect("open");
        let other = rusqlite::Connection::open(&path).expect("a second connection");
        other
            .busy_timeout(Duration::from_secs(10))
            .expect("timeout");
        other
            .execute_batch("CREATE TABLE stock (sku TEXT)")
            .expect("a table of the service's");
        let (write_now, writes) = std::sync::mpsc::channel::<()>();
        let writer = std::thread::spawn(move || {
            writes.recv().expect("told to write");
            other.execute("INSERT INTO stock VALUES ('b')", [])
        });
        let value = outbox
            .commit_with(vec![entry("a", 1)], move |tx| {
                let before: i64 =
                    tx.query_row("SELECT count(*) FROM stock", [], |row| row.get(0))?;
                // The other connection writes while this transaction has read: it must wait
                // for this one rather than make this one's write fail.
                write_now.send(()).expect("the writer listens");
                std::thread::sleep(Duration::from_millis(100));
                tx.execute("INSERT INTO stock VALUES ('a')", [])?;
                Ok(before)
            })
            .await
            .expect("the unit of work commits");
        assert_eq!(value, 0);
        assert_eq!(writer.join().expect("joins").expect("the other write"), 1);
        assert_eq!(outbox.pending().await.expect("pending"), 1);
    }

    #[tokio::test]
    async fn the_oldest_pending_age_is_none_when_nothing_waits() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("open");
        assert_eq!(outbox.oldest_pending_age().await.expect("age"), None);
        outbox.enqueue(vec![entry("a", 1)]).await.expect("enqueue");
        assert!(outbox.oldest_pending_age().await.expect("age").is_some());
        let transport = MemoryTransport::new();
        OutboxDispatcher::new(outbox.clone(), Arc::new(transport))
            .flush()
            .await
            .expect("flush");
        assert_eq!(outbox.oldest_pending_age().await.expect("age"), None);
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
                ..Flushed::default()
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
        let flaky = Hooked::new(
            &memory,
            Refusing {
                fail_once: Mutex::new(HashSet::from([failing])),
                ..Refusing::new()
            },
        );
        let dispatcher = OutboxDispatcher::new(outbox.clone(), Arc::new(flaky));
        assert_eq!(
            dispatcher.flush().await.expect("first"),
            Flushed {
                delivered: 2,
                waiting: 3,
                ..Flushed::default()
            }
        );
        assert_eq!(
            dispatcher.flush().await.expect("second"),
            Flushed {
                delivered: 3,
                ..Flushed::default()
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

    /// What a [`Hooked`] transport does as each publish is called, before the memory
    /// transport publishes: an error is the publish's outcome.
    trait BeforePublish: Send + Sync + 'static {
        fn before_publish<'a>(&'a self, envelope: &'a Envelope) -> BoxFuture<'a, Result<()>>;
    }

    /// A memory transport whose publishes go through `hook` first; subscribing, requests and
    /// serving go straight to the memory transport.
    struct Hooked<H> {
        inner: MemoryTransport,
        hook: H,
    }

    impl<H> Hooked<H> {
        fn new(inner: &MemoryTransport, hook: H) -> Self {
            Hooked {
                inner: inner.clone(),
                hook,
            }
        }
    }

    impl<H: BeforePublish> Transport for Hooked<H> {
        fn publish<'a>(
            &'a self,
            subject: &'a str,
            envelope: &'a Envelope,
        ) -> BoxFuture<'a, Result<()>> {
            let before = self.hook.before_publish(envelope);
            Box::pin(async move {
                before.await?;
                self.inner.publish(subject, envelope).await
            })
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

    /// Publishes that fail: of the envelope ids in `fail_once`, the first time, as an
    /// unreachable broker; of those in `refused`, every time, with `refusal`'s error. Every
    /// publish waits a random few yields, so keys finish out of order.
    struct Refusing {
        fail_once: Mutex<HashSet<String>>,
        refused: HashSet<String>,
        refusal: fn() -> Error,
    }

    impl Refusing {
        fn new() -> Self {
            Refusing {
                fail_once: Mutex::new(HashSet::new()),
                refused: HashSet::new(),
                refusal: || Error::validation("refused"),
            }
        }
    }

    impl BeforePublish for Refusing {
        fn before_publish<'a>(&'a self, envelope: &'a Envelope) -> BoxFuture<'a, Result<()>> {
            Box::pin(async move {
                for _ in 0..fastrand::u32(0..4) {
                    tokio::task::yield_now().await;
                }
                if self.fail_once.lock().expect("lock").remove(&envelope.id) {
                    return Err(Error::unavailable("broker unreachable"));
                }
                if self.refused.contains(&envelope.id) {
                    return Err((self.refusal)());
                }
                Ok(())
            })
        }
    }

    /// `count` entries over `keys` keys, key `k{i % keys}`, steps counting up per key.
    fn keyed_entries(count: u32, keys: u32) -> Vec<OutboxEntry> {
        (0..count)
            .map(|i| entry(&format!("k{}", i % keys), i / keys))
            .collect()
    }

    /// Each key's steps in the order they were received.
    fn steps_by_key(received: &[(String, u32)]) -> HashMap<String, Vec<u32>> {
        let mut by_key: HashMap<String, Vec<u32>> = HashMap::new();
        for (key, step) in received {
            by_key.entry(key.clone()).or_default().push(*step);
        }
        by_key
    }

    #[tokio::test]
    async fn keys_are_published_concurrently_each_in_its_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("open");
        outbox
            .enqueue(keyed_entries(600, 7))
            .await
            .expect("enqueue");
        let memory = MemoryTransport::new();
        let transport = Hooked::new(&memory, Refusing::new());
        let flushed = OutboxDispatcher::new(outbox.clone(), Arc::new(transport))
            .flush()
            .await
            .expect("flush");
        assert_eq!(flushed.delivered, 600, "{flushed:?}");
        for (key, steps) in steps_by_key(&received(&memory, 600).await) {
            assert!(steps.is_sorted(), "{key}: {steps:?}");
        }
    }

    #[tokio::test]
    async fn an_entry_the_broker_refuses_is_dead_lettered_and_its_key_goes_on() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("open");
        let entries = keyed_entries(600, 3);
        // Key k1's second entry: refused every time.
        let poison = entries[4].clone();
        assert_eq!((poison.envelope.key.as_deref(), 1), (Some("k1"), 4 / 3));
        outbox.enqueue(entries).await.expect("enqueue");
        let memory = MemoryTransport::new();
        let transport = Hooked::new(
            &memory,
            Refusing {
                refused: HashSet::from([poison.envelope.id.clone()]),
                refusal: || {
                    Error::validation("the envelope is larger than the server's max_payload")
                },
                ..Refusing::new()
            },
        );
        let dispatcher = OutboxDispatcher::new(outbox.clone(), Arc::new(transport)).max_attempts(3);
        let mut delivered = 0;
        let mut dead_lettered = 0;
        for _ in 0..10 {
            let flushed = dispatcher.flush().await.expect("flush");
            delivered += flushed.delivered;
            dead_lettered += flushed.dead_lettered;
            if flushed.waiting == 0 {
                break;
            }
        }
        assert_eq!((delivered, dead_lettered), (599, 1));
        assert_eq!(outbox.pending().await.expect("pending"), 0);
        let dead = outbox.dead_letters().await.expect("dead letters");
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].entry, poison);
        assert_eq!(dead[0].attempts, 3);
        assert!(dead[0].error.contains("max_payload"), "{}", dead[0].error);
        // The key went on without it, in order.
        let by_key = steps_by_key(&received(&memory, 599).await);
        let expected: Vec<u32> = (0..200).filter(|step| *step != 1).collect();
        assert_eq!(by_key["k1"], expected);
        assert_eq!(by_key["k0"], (0..200).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn an_unreachable_broker_never_dead_letters() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("open");
        let entries = keyed_entries(4, 2);
        let missed = entries[0].envelope.id.clone();
        outbox.enqueue(entries).await.expect("enqueue");
        let transport = Hooked::new(
            &MemoryTransport::new(),
            Refusing {
                refused: HashSet::from([missed]),
                refusal: || Error::unavailable("broker unreachable"),
                ..Refusing::new()
            },
        );
        let dispatcher = OutboxDispatcher::new(outbox.clone(), Arc::new(transport)).max_attempts(1);
        for _ in 0..5 {
            let flushed = dispatcher.flush().await.expect("flush");
            assert_eq!(flushed.dead_lettered, 0);
        }
        // k0's two entries wait; k1's were delivered.
        assert_eq!(outbox.pending().await.expect("pending"), 2);
        assert!(outbox.dead_letters().await.expect("dead").is_empty());
    }

    #[tokio::test]
    async fn an_outbox_file_of_version_1_is_upgraded_and_its_entries_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("outbox.db");
        {
            let conn = rusqlite::Connection::open(&path).expect("create");
            conn.execute_batch(
                "CREATE TABLE catga_schema (component TEXT PRIMARY KEY NOT NULL,
                                            version INTEGER NOT NULL);
                 INSERT INTO catga_schema VALUES ('outbox', 1);
                 CREATE TABLE catga_outbox (
                     seq INTEGER PRIMARY KEY AUTOINCREMENT,
                     message_id TEXT NOT NULL UNIQUE,
                     subject TEXT NOT NULL,
                     ordering_key TEXT,
                     envelope BLOB NOT NULL,
                     created_at_ms INTEGER NOT NULL,
                     delivered_at_ms INTEGER,
                     attempts INTEGER NOT NULL DEFAULT 0,
                     last_error TEXT
                 );",
            )
            .expect("a version 1 outbox");
            let old = entry("k", 1);
            conn.execute(
                "INSERT INTO catga_outbox (message_id, subject, ordering_key, envelope,
                     created_at_ms, attempts, last_error)
                 VALUES (?1, ?2, 'k', ?3, 0, 9, 'broker unreachable')",
                params![old.envelope.id, old.subject, old.envelope.encode()],
            )
            .expect("a pending entry, failed 9 times");
        }
        let outbox = SqliteOutbox::open(&path).await.expect("opens and upgrades");
        let memory = MemoryTransport::new();
        let flushed = OutboxDispatcher::new(outbox.clone(), Arc::new(memory.clone()))
            .max_attempts(1)
            .flush()
            .await
            .expect("flush");
        assert_eq!((flushed.delivered, flushed.dead_lettered), (1, 0));
        assert!(outbox.dead_letters().await.expect("dead").is_empty());
        drop(outbox);
        let conn = rusqlite::Connection::open(&path).expect("reopen");
        let version: i64 = conn
            .query_row(
                "SELECT version FROM catga_schema WHERE component = 'outbox'",
                [],
                |row| row.get(0),
            )
            .expect("version");
        assert_eq!(version, 3);
    }

    #[tokio::test]
    async fn a_settle_with_a_token_below_the_fence_is_refused_and_records_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("open");
        outbox.enqueue(keyed_entries(4, 2)).await.expect("enqueue");
        let batch = outbox.next_batch(10).await.expect("batch");
        let delivered = || Pass {
            delivered: batch.iter().map(|pending| pending.seq).collect(),
            ..Pass::default()
        };
        outbox
            .raise_fence(7)
            .await
            .expect("the first leader raises it");
        let error = outbox
            .settle(delivered(), 5, Some(6))
            .await
            .expect_err("an earlier leader's settle");
        assert_eq!(error.kind(), catga::ErrorKind::Conflict);
        assert!(
            error.message().contains("fenced at lease token 7"),
            "{error}"
        );
        assert_eq!(outbox.pending().await.expect("pending"), 4);
        assert_eq!(
            outbox.raise_fence(6).await.expect_err("lower").kind(),
            catga::ErrorKind::Conflict
        );
        outbox
            .settle(delivered(), 5, Some(7))
            .await
            .expect("the leader's own settle");
        assert_eq!(outbox.pending().await.expect("pending"), 0);
        assert_eq!(outbox.fence_token().await.expect("fence"), 7);
    }

    #[tokio::test]
    async fn a_dispatcher_whose_lease_is_lost_publishes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("open");
        outbox.enqueue(keyed_entries(6, 3)).await.expect("enqueue");
        let (lease, keeper) = Lease::renewed(
            "outbox.outbox",
            3,
            tokio::time::Instant::now() + Duration::from_secs(60),
        );
        keeper.depose("another candidate holds the role");
        let dispatcher = OutboxDispatcher::new(outbox.clone(), Arc::new(MemoryTransport::new()));
        let error = dispatcher
            .flush_under(Some(&lease))
            .await
            .expect_err("lost");
        assert_eq!(error.kind(), catga::ErrorKind::Conflict);
        assert_eq!(outbox.pending().await.expect("pending"), 6);
    }

    /// Deposes `keeper`'s lease as the first publish starts (and at any later one, which a
    /// deposed dispatcher should not make), and counts the publishes.
    struct DeposingOnFirstPublish {
        keeper: catga::leadership::LeaseKeeper,
        published: std::sync::atomic::AtomicUsize,
    }

    impl BeforePublish for DeposingOnFirstPublish {
        fn before_publish<'a>(&'a self, _envelope: &'a Envelope) -> BoxFuture<'a, Result<()>> {
            self.keeper.depose("another candidate holds the role");
            self.published
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn a_lease_lost_mid_batch_stops_every_key_and_settles_what_was_sent() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("open");
        outbox.enqueue(keyed_entries(40, 8)).await.expect("enqueue");
        let (lease, keeper) = Lease::renewed(
            "outbox.outbox",
            4,
            tokio::time::Instant::now() + Duration::from_secs(60),
        );
        let transport = Arc::new(Hooked::new(
            &MemoryTransport::new(),
            DeposingOnFirstPublish {
                keeper,
                published: std::sync::atomic::AtomicUsize::new(0),
            },
        ));
        let dispatcher = OutboxDispatcher::new(outbox.clone(), transport.clone());
        let flushed = dispatcher.flush_under(Some(&lease)).await.expect("settled");
        assert_eq!((flushed.delivered, flushed.waiting), (1, 39));
        assert_eq!(
            transport
                .hook
                .published
                .load(std::sync::atomic::Ordering::SeqCst),
            1
        );
        // No one raised the fence past this lease's token: what it sent is recorded.
        assert_eq!(outbox.pending().await.expect("pending"), 39);
        assert_eq!(outbox.fence_token().await.expect("fence"), 4);
    }

    #[tokio::test]
    async fn run_led_with_embedded_leadership_delivers_what_is_stored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("open");
        let transport = MemoryTransport::new();
        let running = tokio::spawn(
            OutboxDispatcher::new(outbox.clone(), Arc::new(transport.clone()))
                .run_led(Arc::new(catga::leadership::EmbeddedLeadership::new())),
        );
        outbox.enqueue(vec![entry("k", 1)]).await.expect("enqueue");
        let got = tokio::time::timeout(Duration::from_secs(60), received(&transport, 1))
            .await
            .expect("delivered in time");
        assert_eq!(got, [("k".into(), 1)]);
        // A lease that never lapses has no rival to fence off.
        assert_eq!(outbox.fence_token().await.expect("fence"), 0);
        running.abort();
    }

    #[tokio::test]
    async fn an_invalid_role_is_refused_before_campaigning() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("open");
        let error = OutboxDispatcher::new(outbox, Arc::new(MemoryTransport::new()))
            .leader_role("outbox shop")
            .run_led(Arc::new(catga::leadership::EmbeddedLeadership::new()))
            .await
            .expect_err("invalid role");
        assert_eq!(error.kind(), catga::ErrorKind::Configuration);
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
