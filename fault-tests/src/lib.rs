//! The service the fault tests run in pieces, each piece a process the tests kill at will:
//! a producer whose handler publishes an exported event per command (stored in the outbox), a
//! dispatcher moving the outbox to NATS, and a consumer applying the events through a
//! projection into a SQLite table, in the inbox's transaction. `src/bin/catga-fault-worker.rs`
//! runs one piece; `tests/faults.rs` orchestrates them. [`led`] is the dispatcher run led, for
//! the handover tests.

pub mod led;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use catga::prelude::*;
use catga::transport::{ConsumerOptions, EventConsumer, Routes, Transport};
use catga_nats::{NatsOptions, NatsTransport};
use catga_sqlite::prelude::*;

/// The event that crosses the broker: the `n`-th deposit.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
pub struct Deposited {
    pub n: u64,
}

/// The command whose handler publishes [`Deposited`].
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = ())]
pub struct Deposit {
    pub n: u64,
}

struct DepositHandler;

impl Handler<Deposit> for DepositHandler {
    async fn handle(&self, command: Deposit, ctx: &Context) -> catga::Result<()> {
        ctx.publish(Deposited { n: command.n }).await
    }
}

/// The consumer group of the consuming service.
pub const GROUP: &str = "ledger";

/// A deposit the consumer refuses every time (retryable error), to be dead-lettered.
pub const POISON: u64 = u64::MAX;

/// Sends `Deposit { n }` for `n` in `range` through a mediator whose outbox is `db`: each
/// handler's event is stored in the outbox when the handler succeeds.
pub async fn produce(db: &Path, range: std::ops::Range<u64>) -> catga::Result<()> {
    let outbox = SqliteOutbox::open(db).await?;
    let mediator = Mediator::builder()
        .handler(DepositHandler)
        .outbox(outbox)
        .export_keyed::<Deposited, _>(|event| Some(format!("account-{}", event.n % 16)))
        .build()?;
    for n in range {
        mediator.send(Deposit { n }).await?;
    }
    Ok(())
}

/// Connects to NATS at `url`.
pub async fn connect(url: &str) -> catga::Result<Arc<dyn Transport>> {
    Ok(Arc::new(connect_nats(url).await?))
}

/// How long a worker keeps trying to reach the broker at start: several processes creating
/// the streams at once on a loaded machine may time out a few times.
const CONNECT_FOR: Duration = Duration::from_secs(60);

/// Connects to NATS at `url`, trying again while the broker is unavailable, for up to
/// [`CONNECT_FOR`].
pub async fn connect_nats(url: &str) -> catga::Result<NatsTransport> {
    retrying(|| NatsTransport::connect(url, NatsOptions::default())).await
}

/// Runs `attempt` until it succeeds, fails for good, or has been unavailable for
/// [`CONNECT_FOR`].
pub async fn retrying<T, F: Future<Output = catga::Result<T>>>(
    mut attempt: impl FnMut() -> F,
) -> catga::Result<T> {
    let started = std::time::Instant::now();
    loop {
        match attempt().await {
            Err(error) if error.is_retryable() && started.elapsed() < CONNECT_FOR => {
                eprintln!("catga-fault-worker: {error}; trying again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            outcome => return outcome,
        }
    }
}

/// Moves `db`'s outbox to the broker until killed.
pub async fn dispatch(db: &Path, url: &str) -> catga::Result<()> {
    let outbox = SqliteOutbox::open(db).await?;
    OutboxDispatcher::new(outbox, connect(url).await?)
        .idle_poll(Duration::from_millis(20))
        .run()
        .await
}

/// The consumer's options: a short `ack_wait`, so deliveries a killed member held come back
/// soon, and quick retries.
pub fn consumer_options(ack_wait: Duration) -> ConsumerOptions {
    ConsumerOptions {
        ack_wait,
        max_attempts: 3,
        backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        handling_deadline: None,
        ..ConsumerOptions::default()
    }
}

/// A connection to `db` that waits for the other processes' writes. It leaves the journal
/// mode alone: the catga store that shares the file puts it in WAL mode when it opens, waiting
/// for the other processes that open it at the same moment (a plain `PRAGMA journal_mode`
/// would fail instead of waiting).
fn open(db: impl AsRef<Path>) -> catga_sqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    Ok(conn)
}

/// Creates the table the projection writes: one row per application of a deposit, so a
/// duplicate shows as a second row.
pub fn create_ledger(db: &Path) -> catga_sqlite::Result<()> {
    let conn = open(db)?;
    conn.execute_batch("CREATE TABLE IF NOT EXISTS applied (n INTEGER NOT NULL);")?;
    Ok(())
}

/// Applies deposits into `db` (projection and inbox in one transaction) until killed.
pub async fn consume(db: &Path, url: &str, ack_wait: Duration) -> catga::Result<()> {
    let inbox = SqliteInbox::open(db).await?;
    create_ledger(db)?;
    let routes = Routes::new().projection(|event: &Deposited, tx| {
        if event.n == POISON {
            return Err(Error::unavailable("this deposit can never be applied").into());
        }
        tx.execute(
            "INSERT INTO applied (n) VALUES (?1)",
            [i64::try_from(event.n).unwrap_or(i64::MAX)],
        )?;
        Ok(())
    });
    let mediator = Mediator::builder().build()?;
    EventConsumer::new(connect(url).await?, GROUP, routes, mediator)
        .inbox(inbox)
        .options(consumer_options(ack_wait))
        .run()
        .await
}

/// `(rows, distinct deposits)` applied in `db`'s ledger so far.
pub fn applied(db: &Path) -> catga_sqlite::Result<(u64, u64)> {
    let conn = open(db)?;
    let exists: i64 = conn.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'applied'",
        [],
        |row| row.get(0),
    )?;
    if exists == 0 {
        return Ok((0, 0));
    }
    let (rows, distinct): (i64, i64) = conn.query_row(
        "SELECT COUNT(*), COUNT(DISTINCT n) FROM applied",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok((
        u64::try_from(rows).unwrap_or(0),
        u64::try_from(distinct).unwrap_or(0),
    ))
}

/// An idempotent charge whose handler is slower than the idempotency lease.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = String, idempotent)]
pub struct Charge {
    #[idempotency_key]
    pub payment: String,
}

/// Records each execution in `executions` of its file, takes `takes`, and answers with who
/// ran it.
struct ChargeHandler {
    db: std::path::PathBuf,
    takes: Duration,
}

impl Handler<Charge> for ChargeHandler {
    async fn handle(&self, charge: Charge, _ctx: &Context) -> catga::Result<String> {
        record_execution(&self.db, &charge.payment)?;
        tokio::time::sleep(self.takes).await;
        Ok(format!(
            "charged {} by process {}",
            charge.payment,
            std::process::id()
        ))
    }
}

/// Records one execution of `payment` by this process.
fn record_execution(db: &Path, payment: &str) -> catga_sqlite::Result<()> {
    open(db)?.execute(
        "INSERT INTO executions (payment, pid) VALUES (?1, ?2)",
        (payment, std::process::id()),
    )?;
    Ok(())
}

/// Sends `Charge { payment }` through a mediator whose idempotency store is `db`, with a
/// claim lease of `lease` and a handler that takes `takes`; returns the response.
pub async fn charge(
    db: &Path,
    payment: &str,
    lease: Duration,
    takes: Duration,
) -> catga::Result<String> {
    let idempotency = SqliteIdempotencyStore::open(db).await?;
    create_executions(db)?;
    let mediator = Mediator::builder()
        .handler(ChargeHandler {
            db: db.to_path_buf(),
            takes,
        })
        .idempotency_store(idempotency)
        .idempotency_lease(lease)
        .build()?;
    mediator
        .send(Charge {
            payment: payment.to_string(),
        })
        .await
}

/// Creates the table [`charge`]'s handler records its executions in.
pub fn create_executions(db: &Path) -> catga_sqlite::Result<()> {
    let conn = open(db)?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS executions (payment TEXT NOT NULL, pid INTEGER NOT NULL);",
    )?;
    Ok(())
}

/// How many times `payment` was charged in `db`.
pub fn executions(db: &Path, payment: &str) -> catga_sqlite::Result<u64> {
    let conn = open(db)?;
    let count: i64 = conn.query_row(
        "SELECT COUNT(*) FROM executions WHERE payment = ?1",
        [payment],
        |row| row.get(0),
    )?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// A plain (not idempotent) command whose handler exports [`Deposited`] and records the
/// transfer in a unit of work.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = ())]
pub struct Transfer {
    pub n: u64,
}

struct TransferHandler;

impl Handler<Transfer> for TransferHandler {
    async fn handle(&self, transfer: Transfer, ctx: &Context) -> catga::Result<()> {
        ctx.publish(Deposited { n: transfer.n }).await?;
        let n = i64::try_from(transfer.n).unwrap_or(i64::MAX);
        ctx.commit(move |tx| {
            tx.execute("INSERT INTO transfers (n) VALUES (?1)", [n])?;
            Ok(())
        })
        .await
    }
}

/// Sends `Transfer { n }` for `n` in `range` through a mediator whose outbox is `db`, starting
/// after the last transfer `db` records, as a service resuming from its own state would.
pub async fn transfer(db: &Path, range: std::ops::Range<u64>) -> catga::Result<()> {
    let outbox = SqliteOutbox::open(db).await?;
    create_transfers(db)?;
    let mediator = Mediator::builder()
        .handler(TransferHandler)
        .outbox(outbox)
        .export::<Deposited>()
        .build()?;
    let done = transfers(db)?;
    for n in range.start.max(done)..range.end {
        mediator.send(Transfer { n }).await?;
    }
    Ok(())
}

/// Creates the table [`transfer`]'s handler writes.
pub fn create_transfers(db: &Path) -> catga_sqlite::Result<()> {
    let conn = open(db)?;
    conn.execute_batch("CREATE TABLE IF NOT EXISTS transfers (n INTEGER NOT NULL);")?;
    Ok(())
}

/// How many transfers `db` records.
pub fn transfers(db: &Path) -> catga_sqlite::Result<u64> {
    let conn = open(db)?;
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM transfers", [], |row| row.get(0))?;
    Ok(u64::try_from(count).unwrap_or(0))
}
