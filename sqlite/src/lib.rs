//! catga-sqlite: the SQLite stores of the catga CQRS runtime, each behind a trait the runtime
//! defines, so the runtime itself knows nothing of SQLite.
//!
//! | Store | Runtime trait | What it keeps |
//! |---|---|---|
//! | [`SqliteIdempotencyStore`] | [`catga::idempotency::IdempotencyStore`] | idempotent commands' claims and responses, across restarts |
//! | [`SqliteSagaStore`] | [`catga::saga::SagaStore`] | saga instances, so an interrupted saga resumes |
//! | [`SqliteOutbox`] (delivered by [`OutboxDispatcher`]) | [`catga::transport::Outbox`] | exported events until the transport has them |
//! | [`SqliteInbox`] | [`catga::transport::Inbox`] | the ids a consumer group has processed |
//!
//! Two extensions put SQLite work into catga's transactions: [`UnitOfWork::commit`]
//! (`ctx.commit(|tx| ..)`), a handler's own writes and its events in the outbox's transaction,
//! and [`SqliteProjections::projection`] (`Routes::projection(|event, tx| ..)`), a consumed
//! event's writes in the inbox's. Their closures return this crate's [`Result`], whose
//! [`Error`] takes both SQLite's errors and catga's with `?`. Import both with
//! `use catga_sqlite::prelude::*;`.
//!
//! The read side of those writes is [`SqliteReader`]: it creates a service's own tables in its
//! file and runs its query handlers' reads.
//!
//! Every store runs its SQLite calls on a thread of its own, never on the async executor; stores
//! can share one file.

mod database;
mod error;
mod idempotency;
mod inbox;
mod outbox;
pub mod prelude;
mod projection;
mod reader;
mod saga;
mod unit_of_work;

pub use error::{Error, Result};
pub use idempotency::SqliteIdempotencyStore;
pub use inbox::SqliteInbox;
pub use outbox::{DeadOutboxEntry, Flushed, OutboxDispatcher, SqliteOutbox};
pub use projection::SqliteProjections;
pub use reader::SqliteReader;
pub use saga::SqliteSagaStore;
pub use unit_of_work::UnitOfWork;
