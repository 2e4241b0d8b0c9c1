//! [`SqliteIdempotencyStore`]: idempotency records in a SQLite file, so deduplication survives a
//! restart.
//!
//! Operations run on the store's own connection thread ([`Database`]), never on the async
//! executor. Claims run in `BEGIN IMMEDIATE` transactions, which makes them atomic even between
//! two processes that open the same file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use catga::Result;
use catga::idempotency::{BoxFuture, Claim, Fence, IdempotencyStore, claim_lost};
use catga::transport::OutboxEntry;

use crate::database::{Database, Schema, millis, now_millis};
use crate::outbox::{OUTBOX_SCHEMA, SqliteOutbox};

static IDEMPOTENCY_SCHEMA: Schema = Schema {
    component: "idempotency",
    version: 2,
    // `claimed_at_ms`: when the claim was made or last renewed; `fence`: its holder's.
    ddl: "CREATE TABLE catga_idempotency (
              key TEXT PRIMARY KEY NOT NULL,
              state TEXT NOT NULL CHECK (state IN ('in_progress', 'completed')),
              response BLOB,
              claimed_at_ms INTEGER NOT NULL,
              completed_at_ms INTEGER,
              fence INTEGER NOT NULL DEFAULT 0
          );
          CREATE INDEX catga_idempotency_completed_at
              ON catga_idempotency (completed_at_ms) WHERE state = 'completed';",
    // Claims of version 1 have no fence: 0, which no holder has, so they run out their lease.
    upgrades: &["ALTER TABLE catga_idempotency ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;"],
};

/// Idempotency records in a SQLite file on disk; they survive closing and reopening the store.
///
/// Several stores (in one process or several) may open the same file: claims stay atomic.
#[derive(Debug, Clone)]
pub struct SqliteIdempotencyStore {
    db: Database,
    /// The outbox in the same file, when opened with one.
    outbox: Option<SqliteOutbox>,
}

impl SqliteIdempotencyStore {
    /// Open the database at `path`, creating the file and its tables if needed.
    ///
    /// Fails with a storage error naming the file when it cannot be opened, is not a SQLite
    /// database, or was written by an incompatible catga version.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let db = Database::open(path.as_ref(), &IDEMPOTENCY_SCHEMA).await?;
        Ok(SqliteIdempotencyStore { db, outbox: None })
    }

    /// Opens the store and a transactional outbox in the same file, on one connection: an
    /// idempotent command's record and the events it published are committed in one
    /// transaction. Register the store with `.idempotency_store(..)` and the outbox with
    /// `.outbox(..)` on the same mediator builder.
    pub async fn open_with_outbox(path: impl AsRef<Path>) -> Result<(Self, SqliteOutbox)> {
        let db = Database::open_all(path.as_ref(), &[&IDEMPOTENCY_SCHEMA, &OUTBOX_SCHEMA]).await?;
        let outbox = SqliteOutbox::on(db.clone());
        let store = SqliteIdempotencyStore {
            db,
            outbox: Some(outbox.clone()),
        };
        Ok((store, outbox))
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

/// A fence as the `fence` column keeps it ([`Fence::fresh`] stays within `i64`).
fn column(fence: Fence) -> i64 {
    i64::try_from(fence.0).unwrap_or(-1)
}

fn claim(conn: &mut Connection, key: &str, lease: Duration) -> crate::Result<Claim> {
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
            let fence = Fence::fresh();
            tx.execute(
                "INSERT INTO catga_idempotency (key, state, response, claimed_at_ms, fence)
                 VALUES (?1, 'in_progress', NULL, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE
                     SET claimed_at_ms = excluded.claimed_at_ms, fence = excluded.fence",
                params![key, now, column(fence)],
            )?;
            Claim::Acquired(fence)
        }
    };
    tx.commit()?;
    Ok(claim)
}

/// Moves the claim `fence` holds on `key` to now; whether it still held it.
fn renew(conn: &mut Connection, key: &str, fence: Fence) -> crate::Result<bool> {
    let now = now_millis()?;
    let renewed = conn.execute(
        "UPDATE catga_idempotency SET claimed_at_ms = ?1
         WHERE key = ?2 AND state = 'in_progress' AND fence = ?3",
        params![now, key, column(fence)],
    )?;
    Ok(renewed == 1)
}

/// Marks `key` completed with `response` and stores `outbox`, in one transaction, when `fence`
/// holds the claim; otherwise stores nothing and returns [`claim_lost`]'s error.
fn complete(
    conn: &mut Connection,
    key: &str,
    fence: Fence,
    response: &[u8],
    outbox: &[OutboxEntry],
) -> crate::Result<()> {
    let now = now_millis()?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let completed = tx.execute(
        "UPDATE catga_idempotency
         SET state = 'completed', response = ?1, completed_at_ms = ?2
         WHERE key = ?3 AND state = 'in_progress' AND fence = ?4",
        params![response, now, key, column(fence)],
    )?;
    if completed != 1 {
        // Dropping the transaction rolls it back: nothing of this execution is stored.
        return Err(claim_lost(key).into());
    }
    crate::outbox::insert(&tx, outbox)?;
    tx.commit()?;
    Ok(())
}

impl IdempotencyStore for SqliteIdempotencyStore {
    fn try_claim<'a>(&'a self, key: &'a str, lease: Duration) -> BoxFuture<'a, Result<Claim>> {
        let key = key.to_owned();
        Box::pin(self.db.run(move |conn| claim(conn, &key, lease)))
    }

    fn renew<'a>(
        &'a self,
        key: &'a str,
        fence: Fence,
        _lease: Duration,
    ) -> BoxFuture<'a, Result<bool>> {
        let key = key.to_owned();
        Box::pin(self.db.run(move |conn| renew(conn, &key, fence)))
    }

    fn complete<'a>(
        &'a self,
        key: &'a str,
        fence: Fence,
        response: &'a [u8],
    ) -> BoxFuture<'a, Result<()>> {
        let key = key.to_owned();
        let response = response.to_vec();
        Box::pin(
            self.db
                .run(move |conn| complete(conn, &key, fence, &response, &[])),
        )
    }

    fn complete_with_outbox<'a>(
        &'a self,
        key: &'a str,
        fence: Fence,
        response: &'a [u8],
        outbox: &'a [OutboxEntry],
    ) -> Option<BoxFuture<'a, Result<()>>> {
        let sink = self.outbox.clone()?;
        let key = key.to_owned();
        let response = response.to_vec();
        let entries = outbox.to_vec();
        Some(Box::pin(async move {
            self.db
                .run(move |conn| complete(conn, &key, fence, &response, &entries))
                .await?;
            sink.wake();
            Ok(())
        }))
    }

    fn release<'a>(&'a self, key: &'a str, fence: Fence) -> BoxFuture<'a, Result<()>> {
        let key = key.to_owned();
        Box::pin(self.db.run(move |conn| {
            conn.execute(
                "DELETE FROM catga_idempotency
                 WHERE key = ?1 AND state = 'in_progress' AND fence = ?2",
                params![key, column(fence)],
            )?;
            Ok(())
        }))
    }
}
