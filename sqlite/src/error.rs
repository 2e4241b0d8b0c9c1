//! The error of SQLite work done inside catga's transactions: `?` takes SQLite's errors and
//! catga's alike, and the work's caller gets a [`catga::Error`].

use std::fmt;

/// `Result` with this crate's [`Error`]: what the closures of a unit of work
/// ([`UnitOfWork::commit`](crate::UnitOfWork::commit)) and of a projection
/// ([`SqliteProjections::projection`](crate::SqliteProjections::projection)) return.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failure of SQLite work: SQLite's (a [`catga::ErrorKind::Storage`] error naming it) or
/// catga's, as it was. It exists because the runtime no longer knows SQLite, so
/// `catga::Error` cannot convert from `rusqlite::Error` itself; this type converts from both
/// and into [`catga::Error`], so `?` works on either inside the work and on the outcome after.
///
/// ```
/// use catga_sqlite::Result;
///
/// fn balance(tx: &rusqlite::Transaction<'_>, account: &str) -> Result<i64> {
///     let cents: i64 = tx.query_row(
///         "SELECT cents FROM balances WHERE account = ?1",
///         [account],
///         |row| row.get(0),
///     )?;
///     if cents < 0 {
///         return Err(catga::Error::conflict(format!("{account} is overdrawn")).into());
///     }
///     Ok(cents)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Error(catga::Error);

impl Error {
    /// The catga error this is.
    pub fn into_catga(self) -> catga::Error {
        self.0
    }

    /// What went wrong.
    pub fn kind(&self) -> catga::ErrorKind {
        self.0.kind()
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error(catga::Error::storage(format!("sqlite: {e}")).with_source(e))
    }
}

impl From<catga::Error> for Error {
    fn from(e: catga::Error) -> Self {
        Error(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error(e.into())
    }
}

impl From<Error> for catga::Error {
    fn from(e: Error) -> Self {
        e.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
