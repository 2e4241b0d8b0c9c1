//! The SQLite stores, the reader of a service's own tables, and the extension traits that put
//! SQLite work into catga's transactions (`ctx.commit(|tx| ..)`,
//! `Routes::projection(|event, tx| ..)`), in one import: `use catga_sqlite::prelude::*;`,
//! beside `use catga::prelude::*;`.

pub use crate::{
    OutboxDispatcher, SqliteIdempotencyStore, SqliteInbox, SqliteOutbox, SqliteProjections,
    SqliteReader, SqliteSagaStore, UnitOfWork,
};
