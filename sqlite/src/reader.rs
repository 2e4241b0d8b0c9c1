//! [`SqliteReader`]: the read side of a service's own tables in its SQLite file, for its query
//! handlers.
//!
//! Writes to those tables go through catga's transactions instead (`ctx.commit` in command
//! handlers, projections in consumers), so that they commit with the idempotency record, the
//! outbox entries or the inbox record that make them happen once; the reader only reads.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::database::Database;

/// A read-only connection to a service's own tables in its SQLite file (the file its catga
/// stores use too), for query handlers. Its SQLite calls run on a thread of its own, as the
/// stores' do, never on the async executor, one at a time; cloning shares the connection.
///
/// [`open`](SqliteReader::open) creates the tables; after that the connection refuses writes
/// (SQLite's `query_only`), so that every write goes through a transaction that makes it
/// happen once: [`UnitOfWork::commit`](crate::UnitOfWork::commit) or a
/// [projection](crate::SqliteProjections::projection). It sees what they commit as soon as
/// they do.
///
/// ```no_run
/// use catga::prelude::*;
/// use catga_sqlite::SqliteReader;
/// use rusqlite::OptionalExtension;
///
/// const TABLES: &str = "CREATE TABLE IF NOT EXISTS balances (
///     account TEXT PRIMARY KEY NOT NULL,
///     cents INTEGER NOT NULL
/// );";
///
/// #[derive(Debug, Clone, Serialize, Deserialize, Query)]
/// #[query(response = i64)]
/// struct GetBalance { account: String }
///
/// struct GetBalanceHandler { reader: SqliteReader }
///
/// impl Handler<GetBalance> for GetBalanceHandler {
///     async fn handle(&self, query: GetBalance, _ctx: &Context) -> catga::Result<i64> {
///         let account = query.account.clone();
///         let cents = self.reader.read(move |db| {
///             let cents = db
///                 .query_row("SELECT cents FROM balances WHERE account = ?1", [&account], |row| {
///                     row.get(0)
///                 })
///                 .optional()?;
///             Ok(cents)
///         });
///         cents.await?.ok_or_else(|| Error::not_found(format!("no account {}", query.account)))
///     }
/// }
///
/// # async fn start() -> catga::Result<()> {
/// let reader = SqliteReader::open("bank.db", TABLES).await?;
/// let mediator = Mediator::builder().handler(GetBalanceHandler { reader }).build()?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteReader {
    db: Database,
}

impl SqliteReader {
    /// Opens the SQLite file at `path` (creating it) and runs `tables`, the statements that
    /// create the service's tables when they do not exist (`CREATE TABLE IF NOT EXISTS ..`, and
    /// rows a fresh file starts with). A file that cannot be opened, or statements that fail,
    /// are an [`ErrorKind::Storage`](catga::ErrorKind::Storage) error naming the file.
    pub async fn open(path: impl AsRef<Path>, tables: &str) -> catga::Result<SqliteReader> {
        let db = Database::open_plain(path.as_ref(), "reader").await?;
        let tables = tables.to_owned();
        db.run(move |conn| {
            conn.execute_batch(&tables)?;
            // From here on this connection only reads.
            conn.pragma_update(None, "query_only", true)?;
            Ok(())
        })
        .await
        .map_err(|error| in_file(error, "cannot create the tables in", db.path()))?;
        Ok(SqliteReader { db })
    }

    /// The file the tables live in.
    pub fn path(&self) -> PathBuf {
        self.db.path().to_path_buf()
    }

    /// Runs `read` on the connection, on its thread. `read` returns this crate's
    /// [`Result`](crate::Result), so `?` takes SQLite's errors and catga's; a SQLite error
    /// comes back as an [`ErrorKind::Storage`](catga::ErrorKind::Storage) error naming the
    /// file, and a panic in `read` as an [`ErrorKind::Internal`](catga::ErrorKind::Internal)
    /// one (the connection serves the next read as before).
    pub async fn read<T, F>(&self, read: F) -> catga::Result<T>
    where
        F: FnOnce(&Connection) -> crate::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.db
            .run(move |conn| read(conn))
            .await
            .map_err(|error| in_file(error, "reading", self.db.path()))
    }
}

/// `error` with the file named, when it is SQLite's (a storage error): the other kinds are the
/// closure's own answers (`NotFound`, ...) or already name the file.
fn in_file(error: catga::Error, doing: &str, path: &Path) -> catga::Error {
    if error.kind() != catga::ErrorKind::Storage
        || error.message().contains(&*path.to_string_lossy())
    {
        return error;
    }
    catga::Error::storage(format!("{doing} {}: {}", path.display(), error.message()))
        .with_source(error)
}

#[cfg(test)]
mod tests {
    use catga::ErrorKind;
    use rusqlite::OptionalExtension;

    use super::*;

    const TABLES: &str = "CREATE TABLE IF NOT EXISTS notes (
        id INTEGER PRIMARY KEY NOT NULL,
        text TEXT NOT NULL
    );";

    async fn note(reader: &SqliteReader, id: i64) -> catga::Result<Option<String>> {
        reader
            .read(move |db| {
                let text = db
                    .query_row("SELECT text FROM notes WHERE id = ?1", [id], |row| {
                        row.get(0)
                    })
                    .optional()?;
                Ok(text)
            })
            .await
    }

    #[tokio::test]
    async fn reads_see_what_another_connection_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("service.db");
        let reader = SqliteReader::open(&path, TABLES).await.unwrap();
        assert_eq!(note(&reader, 1).await.unwrap(), None);

        let writer = Connection::open(&path).unwrap();
        writer
            .execute("INSERT INTO notes (id, text) VALUES (1, 'written')", [])
            .unwrap();
        assert_eq!(note(&reader, 1).await.unwrap().as_deref(), Some("written"));
    }

    #[tokio::test]
    async fn a_panicking_read_is_an_internal_error_and_the_next_read_works() {
        let dir = tempfile::tempdir().unwrap();
        let reader = SqliteReader::open(dir.path().join("service.db"), TABLES)
            .await
            .unwrap();
        let error = reader
            .read(|_db| -> crate::Result<()> { panic!("the read blew up") })
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Internal, "{error}");
        assert!(error.message().contains("service.db"), "{error}");
        assert_eq!(note(&reader, 1).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_file_that_cannot_be_opened_is_a_storage_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("service.db");
        let error = SqliteReader::open(&path, TABLES).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Storage, "{error}");
        assert!(
            error.message().contains(&*path.to_string_lossy()),
            "{error}"
        );
    }

    #[tokio::test]
    async fn sql_errors_name_the_file_and_writes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("service.db");
        let bad_tables = SqliteReader::open(&path, "CREATE TABLE broken (")
            .await
            .unwrap_err();
        assert_eq!(bad_tables.kind(), ErrorKind::Storage, "{bad_tables}");
        assert!(
            bad_tables.message().contains("cannot create the tables in"),
            "{bad_tables}"
        );

        let reader = SqliteReader::open(&path, TABLES).await.unwrap();
        let write = reader
            .read(|db| Ok(db.execute("INSERT INTO notes (id, text) VALUES (2, 'x')", [])?))
            .await
            .unwrap_err();
        assert_eq!(write.kind(), ErrorKind::Storage, "{write}");
        assert!(write.message().contains("service.db"), "{write}");
        assert_eq!(note(&reader, 2).await.unwrap(), None);
    }
}
