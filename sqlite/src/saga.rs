//! [`SqliteSagaStore`]: saga instances in a SQLite file, so a saga interrupted by a restart can
//! resume. Blocking SQLite work runs off the executor (see [`Database`]).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};

use catga::idempotency::BoxFuture;
use catga::saga::{
    SagaRecord, SagaStatus, SagaStore, StepFailure, already_exists, moved_on, not_stored,
};
use catga::transport::OutboxEntry;
use catga::{Error, ErrorKind, Result};

use crate::database::{Database, Schema, now_millis};
use crate::outbox::{OUTBOX_SCHEMA, SqliteOutbox, insert as outbox_insert};

static SAGA_SCHEMA: Schema = Schema {
    component: "saga",
    version: 2,
    // Version 2 adds `version`, the record's version that updates compare and set; last, where
    // the upgrade's ALTER TABLE puts it.
    ddl: "CREATE TABLE catga_sagas (
              saga TEXT NOT NULL,
              id TEXT NOT NULL,
              status TEXT NOT NULL,
              completed_steps INTEGER NOT NULL CHECK (completed_steps >= 0),
              state BLOB NOT NULL,
              failed_step INTEGER,
              failed_step_name TEXT,
              failure_kind TEXT,
              failure_message TEXT,
              compensation_step INTEGER,
              compensation_step_name TEXT,
              compensation_kind TEXT,
              compensation_message TEXT,
              created_at_ms INTEGER NOT NULL,
              updated_at_ms INTEGER NOT NULL,
              version INTEGER NOT NULL DEFAULT 0,
              PRIMARY KEY (saga, id)
          );
          CREATE INDEX catga_sagas_by_status ON catga_sagas (saga, status);",
    upgrades: &["ALTER TABLE catga_sagas ADD COLUMN version INTEGER NOT NULL DEFAULT 0;"],
};

const COLUMNS: &str = "saga, id, status, completed_steps, state, \
     failed_step, failed_step_name, failure_kind, failure_message, \
     compensation_step, compensation_step_name, compensation_kind, compensation_message, version";

/// Saga instances in a SQLite file on disk; they survive closing and reopening the store.
///
/// The file may be shared with a
/// [`SqliteIdempotencyStore`](crate::SqliteIdempotencyStore).
#[derive(Debug, Clone)]
pub struct SqliteSagaStore {
    db: Database,
    /// The outbox in the same file, when opened with one.
    outbox: Option<SqliteOutbox>,
}

impl SqliteSagaStore {
    /// Open the database at `path`, creating the file and its tables if needed.
    ///
    /// Fails with a storage error naming the file when it cannot be opened, is not a SQLite
    /// database, or was written by an incompatible catga version.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let db = Database::open(path.as_ref(), &SAGA_SCHEMA).await?;
        Ok(SqliteSagaStore { db, outbox: None })
    }

    /// Opens the store and a transactional outbox in the same file, on one connection: the
    /// events a step publishes are committed with the state saved after that step, and a failed
    /// step's events are dropped. Register the outbox with `.outbox(..)` on the mediator the
    /// steps publish through.
    pub async fn open_with_outbox(path: impl AsRef<Path>) -> Result<(Self, SqliteOutbox)> {
        let db = Database::open_all(path.as_ref(), &[&SAGA_SCHEMA, &OUTBOX_SCHEMA]).await?;
        let outbox = SqliteOutbox::on(db.clone());
        let store = SqliteSagaStore {
            db,
            outbox: Some(outbox.clone()),
        };
        Ok((store, outbox))
    }

    /// The file this store lives in.
    pub fn path(&self) -> PathBuf {
        self.db.path().to_path_buf()
    }
}

impl SagaStore for SqliteSagaStore {
    fn create<'a>(&'a self, record: &'a SagaRecord) -> BoxFuture<'a, Result<()>> {
        let record = record.clone();
        Box::pin(self.db.run(move |conn| insert(conn, &record)))
    }

    fn update<'a>(&'a self, record: &'a SagaRecord) -> BoxFuture<'a, Result<()>> {
        let record = record.clone();
        Box::pin(self.db.run(move |conn| update(conn, &record)))
    }

    fn keeps_outbox(&self) -> bool {
        self.outbox.is_some()
    }

    fn update_with_outbox<'a>(
        &'a self,
        record: &'a SagaRecord,
        outbox: &'a [OutboxEntry],
    ) -> Option<BoxFuture<'a, Result<()>>> {
        let sink = self.outbox.clone()?;
        let record = record.clone();
        let entries = outbox.to_vec();
        Some(Box::pin(async move {
            self.db
                .run(move |conn| {
                    let tx = conn.transaction()?;
                    update(&tx, &record)?;
                    outbox_insert(&tx, &entries)?;
                    tx.commit()?;
                    Ok(())
                })
                .await?;
            sink.wake();
            Ok(())
        }))
    }

    fn load<'a>(&'a self, saga: &'a str, id: &'a str) -> BoxFuture<'a, Result<Option<SagaRecord>>> {
        let (saga, id) = (saga.to_owned(), id.to_owned());
        Box::pin(self.db.run(move |conn| {
            let row = conn
                .query_row(
                    &format!("SELECT {COLUMNS} FROM catga_sagas WHERE saga = ?1 AND id = ?2"),
                    [&saga, &id],
                    StoredRow::read,
                )
                .optional()?;
            row.map(StoredRow::into_record).transpose()
        }))
    }

    fn pending<'a>(&'a self, saga: &'a str) -> BoxFuture<'a, Result<Vec<SagaRecord>>> {
        let saga = saga.to_owned();
        Box::pin(self.db.run(move |conn| {
            let mut statement = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM catga_sagas
                 WHERE saga = ?1 AND status IN ('running', 'compensating')
                 ORDER BY rowid"
            ))?;
            let rows = statement.query_map([&saga], StoredRow::read)?;
            rows.map(|row| row?.into_record()).collect()
        }))
    }
}

fn insert(conn: &Connection, record: &SagaRecord) -> crate::Result<()> {
    let sql = format!(
        "INSERT INTO catga_sagas ({COLUMNS}, created_at_ms, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15)"
    );
    match execute_with_record(conn, &sql, record)? {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => {
            Err(already_exists(&record.saga, &record.id).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Replaces the stored record when its version is the one `record` replaces (compare and set).
fn update(conn: &Connection, record: &SagaRecord) -> crate::Result<()> {
    let updated = execute_with_record(
        conn,
        "UPDATE catga_sagas SET
             status = ?3, completed_steps = ?4, state = ?5,
             failed_step = ?6, failed_step_name = ?7, failure_kind = ?8, failure_message = ?9,
             compensation_step = ?10, compensation_step_name = ?11, compensation_kind = ?12,
             compensation_message = ?13, version = ?14, updated_at_ms = ?15
         WHERE saga = ?1 AND id = ?2 AND version = ?14 - 1",
        record,
    )??;
    if updated == 1 {
        return Ok(());
    }
    let stored: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM catga_sagas WHERE saga = ?1 AND id = ?2)",
        [&record.saga, &record.id],
        |row| row.get(0),
    )?;
    Err(if stored {
        moved_on(&record.saga, &record.id)
    } else {
        not_stored(&record.saga, &record.id)
    }
    .into())
}

/// Runs `sql` with `record` bound as ?1..?14 (in `COLUMNS` order) and the current time as ?15.
///
/// The outer error is a record that cannot be stored; the inner one is SQLite's, left for the
/// caller to interpret (an insert turns a constraint violation into "already exists").
fn execute_with_record(
    conn: &Connection,
    sql: &str,
    record: &SagaRecord,
) -> Result<rusqlite::Result<usize>> {
    let now = now_millis()?;
    let (failed_step, failed_name, failure_kind, failure_message) = columns(&record.failure)?;
    let (comp_step, comp_name, comp_kind, comp_message) = columns(&record.compensation_failure)?;
    let version = i64::try_from(record.version).map_err(|_| {
        Error::storage(format!(
            "saga `{}` instance `{}` reached version {}, more than SQLite can store",
            record.saga, record.id, record.version
        ))
    })?;
    Ok(conn.execute(
        sql,
        params![
            record.saga,
            record.id,
            record.status.as_str(),
            to_column(record.completed_steps)?,
            record.state,
            failed_step,
            failed_name,
            failure_kind,
            failure_message,
            comp_step,
            comp_name,
            comp_kind,
            comp_message,
            version,
            now,
        ],
    ))
}

type FailureColumns<'a> = (
    Option<i64>,
    Option<&'a str>,
    Option<&'static str>,
    Option<&'a str>,
);

fn columns(failure: &Option<StepFailure>) -> Result<FailureColumns<'_>> {
    Ok(match failure {
        Some(f) => (
            Some(to_column(f.step)?),
            Some(f.name.as_str()),
            Some(f.kind.as_str()),
            Some(f.message.as_str()),
        ),
        None => (None, None, None, None),
    })
}

fn to_column(step: usize) -> Result<i64> {
    i64::try_from(step).map_err(|_| Error::storage(format!("step index {step} is too large")))
}

/// A row as SQLite returns it, before its text columns are checked.
struct StoredRow {
    saga: String,
    id: String,
    status: String,
    completed_steps: i64,
    state: Vec<u8>,
    failure: StoredFailure,
    compensation_failure: StoredFailure,
    version: i64,
}

type StoredFailure = (Option<i64>, Option<String>, Option<String>, Option<String>);

impl StoredRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<StoredRow> {
        Ok(StoredRow {
            saga: row.get(0)?,
            id: row.get(1)?,
            status: row.get(2)?,
            completed_steps: row.get(3)?,
            state: row.get(4)?,
            failure: (row.get(5)?, row.get(6)?, row.get(7)?, row.get(8)?),
            compensation_failure: (row.get(9)?, row.get(10)?, row.get(11)?, row.get(12)?),
            version: row.get(13)?,
        })
    }

    fn into_record(self) -> crate::Result<SagaRecord> {
        let corrupt = |what: String| {
            Error::storage(format!(
                "saga `{}` instance `{}` is stored with {what}; the row was written by another \
                 program or a newer catga",
                self.saga, self.id
            ))
        };
        let status = SagaStatus::from_name(&self.status)
            .ok_or_else(|| corrupt(format!("unknown status `{}`", self.status)))?;
        let completed_steps = usize::try_from(self.completed_steps)
            .map_err(|_| corrupt(format!("step count {}", self.completed_steps)))?;
        let failure = step_failure(self.failure)
            .map_err(|column| corrupt(format!("a failed step without its {column}")))?;
        let compensation_failure = step_failure(self.compensation_failure)
            .map_err(|column| corrupt(format!("a failed compensation without its {column}")))?;
        let version = u64::try_from(self.version)
            .map_err(|_| corrupt(format!("version {}", self.version)))?;
        Ok(SagaRecord {
            saga: self.saga,
            id: self.id,
            status,
            completed_steps,
            state: self.state,
            failure,
            compensation_failure,
            version,
        })
    }
}

/// Rebuild a [`StepFailure`] from its four columns; the error names a missing or bad column.
fn step_failure(stored: StoredFailure) -> Result<Option<StepFailure>, &'static str> {
    match stored {
        (None, None, None, None) => Ok(None),
        (Some(step), Some(name), Some(kind), Some(message)) => Ok(Some(StepFailure {
            step: usize::try_from(step).map_err(|_| "step index")?,
            name,
            kind: error_kind_named(&kind),
            message,
        })),
        (None, ..) => Err("step index"),
        (_, None, ..) => Err("step name"),
        (.., None, _) => Err("error kind"),
        (.., None) => Err("error message"),
    }
}

/// The [`ErrorKind`] stored as `name`; a name this build does not know (written by a newer
/// catga) reads as [`ErrorKind::Internal`], so the instance stays loadable.
fn error_kind_named(name: &str) -> ErrorKind {
    ErrorKind::from_name(name).unwrap_or(ErrorKind::Internal)
}
