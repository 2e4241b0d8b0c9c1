//! A service's own tables in its SQLite file: created at start-up, read by its query handlers.
//!
//! Writes go through catga's transactions instead (`ctx.commit` in command handlers, projections
//! in consumers), so they commit together with the idempotency record, the outbox entries or
//! the inbox record; this is the read side.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use catga::Error;
use rusqlite::Connection;

/// How long a read waits for a writer's lock on the file.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection for reading a service's tables; cloning shares it.
#[derive(Debug, Clone)]
pub struct Tables {
    path: PathBuf,
    // SQLite calls block: they run on the blocking pool, one at a time on this connection.
    reader: Arc<Mutex<Connection>>,
}

impl Tables {
    /// Opens the file at `path` (creating it) and runs `ddl`, which creates the service's tables
    /// if they do not exist.
    pub async fn open(path: impl AsRef<Path>, ddl: &'static str) -> catga::Result<Tables> {
        let path = path.as_ref().to_path_buf();
        let opened = path.clone();
        let reader = blocking(move || {
            let connection = Connection::open(&opened)?;
            connection.busy_timeout(BUSY_TIMEOUT)?;
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.execute_batch(ddl)?;
            Ok(connection)
        })
        .await
        .map_err(|error| in_file(error, &path))?;
        Ok(Tables {
            path,
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    /// The file the tables live in (the service's SQLite file).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `read` on the connection, off the async executor.
    pub async fn read<T, F>(&self, read: F) -> catga::Result<T>
    where
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let reader = Arc::clone(&self.reader);
        blocking(move || {
            // A panic while reading leaves nothing half-written: reads change nothing.
            let connection = reader.lock().unwrap_or_else(PoisonError::into_inner);
            read(&connection)
        })
        .await
        .map_err(|error| in_file(error, &self.path))
    }
}

async fn blocking<T, F>(work: F) -> Result<T, ReadError>
where
    F: FnOnce() -> rusqlite::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(ReadError::Sqlite),
        Err(join) => Err(ReadError::Panicked(join.to_string())),
    }
}

#[derive(Debug)]
enum ReadError {
    Sqlite(rusqlite::Error),
    Panicked(String),
}

fn in_file(error: ReadError, path: &Path) -> Error {
    match error {
        ReadError::Sqlite(error) => {
            Error::storage(format!("{}: {error}", path.display())).with_source(error)
        }
        ReadError::Panicked(reason) => {
            Error::internal(format!("reading {}: {reason}", path.display()))
        }
    }
}
