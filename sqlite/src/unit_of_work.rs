//! [`UnitOfWork`]: `ctx.commit(|tx| ..)`, a handler's own SQLite writes and the events it
//! published, in one transaction on the outbox's file.

use std::future::Future;

use catga::Context;
use rusqlite::Transaction;

use crate::SqliteOutbox;

/// A unit of work on the mediator's [`SqliteOutbox`]: the handler's writes and its events
/// stored together or not at all. Implemented for [`Context`]; in the
/// [`prelude`](crate::prelude).
pub trait UnitOfWork {
    /// Runs `work` in one SQLite transaction on the mediator's outbox file, together with the
    /// exported events this handling has published so far, so the handler's own writes and its
    /// events are stored together or not at all, and a crash loses neither without the other.
    /// For commands that are not idempotent (an idempotent one's events already commit with
    /// its record). Events published after it are stored when the handling succeeds, as usual.
    /// An error from `work` rolls everything back, and the events stay with the handling.
    ///
    /// Keep the handler's state in the outbox's file, so `work` can write it. `work` returns
    /// this crate's [`Result`](crate::Result): `?` takes SQLite's errors and catga's.
    ///
    /// Fails with [`catga::ErrorKind::Configuration`] when the mediator's outbox is not a
    /// [`SqliteOutbox`] (or it has none), and for a context attached to no mediator.
    ///
    /// ```no_run
    /// use catga::prelude::*;
    /// use catga_sqlite::prelude::*;
    ///
    /// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    /// pub struct Moved { pub amount: i64 }
    ///
    /// #[derive(Debug, Clone, Serialize, Deserialize, Command)]
    /// #[command(response = ())]
    /// pub struct Move { pub amount: i64 }
    ///
    /// struct MoveHandler;
    ///
    /// impl Handler<Move> for MoveHandler {
    ///     async fn handle(&self, command: Move, ctx: &Context) -> catga::Result<()> {
    ///         ctx.publish(Moved { amount: command.amount }).await?;
    ///         ctx.commit(move |tx| {
    ///             tx.execute("UPDATE account SET cents = cents - ?1", [command.amount])?;
    ///             Ok(())
    ///         })
    ///         .await
    ///     }
    /// }
    ///
    /// # async fn start() -> catga::Result<()> {
    /// let mediator = Mediator::builder()
    ///     .handler(MoveHandler)
    ///     .outbox(SqliteOutbox::open("shop.db").await?)
    ///     .export::<Moved>()
    ///     .build()?;
    /// mediator.send(Move { amount: 250 }).await?;
    /// # Ok(())
    /// # }
    /// ```
    fn commit<T, F>(&self, work: F) -> impl Future<Output = catga::Result<T>> + Send
    where
        F: FnOnce(&Transaction<'_>) -> crate::Result<T> + Send + 'static,
        T: Send + 'static;
}

impl UnitOfWork for Context {
    fn commit<T, F>(&self, work: F) -> impl Future<Output = catga::Result<T>> + Send
    where
        F: FnOnce(&Transaction<'_>) -> crate::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        self.unit_of_work(move |outbox: SqliteOutbox, events| async move {
            outbox.commit_with(events, work).await
        })
    }
}
