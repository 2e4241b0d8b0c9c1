//! [`SqliteProjections`]: `Routes::projection(|event, tx| ..)`, a consumed event's writes in the
//! [`SqliteInbox`]'s transaction, so they happen exactly once.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use catga::transport::{BoxFuture, Envelope, Handled, Inbox, Projection, Routes};
use catga::{Error, ErrorKind, Event, Result};
use rusqlite::Transaction;
use serde::de::DeserializeOwned;

use crate::SqliteInbox;

/// Routes events into state kept in a [`SqliteInbox`]'s file. Implemented for [`Routes`]; in
/// the [`prelude`](crate::prelude).
pub trait SqliteProjections {
    /// Consume events of type `E` into state kept in the inbox's SQLite file: `project` runs in
    /// the transaction that records the delivery in the inbox, so its writes happen exactly
    /// once, whatever the redeliveries and crashes. The consumer needs a [`SqliteInbox`]. An
    /// error from `project` rolls the transaction back and counts as a failed delivery
    /// (retried, then dead-lettered). `project` returns this crate's
    /// [`Result`](crate::Result): `?` takes SQLite's errors and catga's.
    ///
    /// ```
    /// use catga::prelude::*;
    /// use catga::transport::Routes;
    /// use catga_sqlite::prelude::*;
    ///
    /// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    /// pub struct Deposited { pub account: String, pub cents: i64 }
    ///
    /// let routes = Routes::new().projection(|event: &Deposited, tx| {
    ///     tx.execute(
    ///         "INSERT INTO balances (account, cents) VALUES (?1, ?2)
    ///          ON CONFLICT (account) DO UPDATE SET cents = cents + excluded.cents",
    ///         (&event.account, event.cents),
    ///     )?;
    ///     Ok(())
    /// });
    /// assert_eq!(routes.event_subjects(), ["catga.events.Deposited"]);
    /// ```
    fn projection<E, F>(self, project: F) -> Self
    where
        E: Event + DeserializeOwned,
        F: Fn(&E, &Transaction<'_>) -> crate::Result<()> + Send + Sync + 'static;
}

impl SqliteProjections for Routes {
    fn projection<E, F>(self, project: F) -> Routes
    where
        E: Event + DeserializeOwned,
        F: Fn(&E, &Transaction<'_>) -> crate::Result<()> + Send + Sync + 'static,
    {
        self.inbox_projection::<E>(SqliteProjection {
            project: Arc::new(project),
            event: PhantomData,
        })
    }
}

/// A projection closure of events of type `E`, applied in a [`SqliteInbox`]'s transaction.
struct SqliteProjection<E, F> {
    /// Shared with each application, which runs on the inbox's thread.
    project: Arc<F>,
    event: PhantomData<fn(&E)>,
}

impl<E, F> Projection for SqliteProjection<E, F>
where
    E: Event + DeserializeOwned,
    F: Fn(&E, &Transaction<'_>) -> crate::Result<()> + Send + Sync + 'static,
{
    fn apply<'a>(
        &'a self,
        inbox: &'a dyn Inbox,
        consumer: &'a str,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<Handled>> {
        Box::pin(async move {
            let Some(inbox) = (inbox as &dyn Any).downcast_ref::<SqliteInbox>() else {
                return Err(Error::new(
                    ErrorKind::Configuration,
                    format!(
                        "the projection of `{}` writes in a SqliteInbox's transaction, and the \
                         consumer's inbox ({inbox:?}) is of another kind: give the consumer \
                         `.inbox(SqliteInbox::open(..))`",
                        E::NAME
                    ),
                ));
            };
            let project = Arc::clone(&self.project);
            let owned = envelope.clone();
            let applied = inbox
                .process(consumer, &envelope.id, move |tx| {
                    project(&owned.message::<E>()?, tx)
                })
                .await?;
            Ok(match applied {
                Some(()) => Handled::Applied,
                None => Handled::Duplicate,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use catga::{Context, MessageId};

    use super::*;

    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize, catga::Event)]
    struct Deposited {
        cents: i64,
    }

    /// An inbox of another kind than SQLite's: it has seen nothing.
    #[derive(Debug)]
    struct ForgetfulInbox;

    impl Inbox for ForgetfulInbox {
        fn seen<'a>(&'a self, _consumer: &'a str, _id: &'a str) -> BoxFuture<'a, Result<bool>> {
            Box::pin(async { Ok(false) })
        }
        fn record<'a>(&'a self, _consumer: &'a str, _id: &'a str) -> BoxFuture<'a, Result<bool>> {
            Box::pin(async { Ok(true) })
        }
    }

    #[tokio::test]
    async fn a_projection_given_an_inbox_of_another_kind_is_a_configuration_error() {
        let projection = SqliteProjection {
            project: Arc::new(|_: &Deposited, _: &Transaction<'_>| -> crate::Result<()> {
                panic!("must not run without its inbox's transaction")
            }),
            event: PhantomData,
        };
        let envelope =
            Envelope::of(&Deposited { cents: 5 }, &Context::new(MessageId(1))).expect("serializes");
        let error = projection
            .apply(&ForgetfulInbox, "billing", &envelope)
            .await
            .expect_err("not a SqliteInbox");
        assert_eq!(error.kind(), ErrorKind::Configuration);
        assert!(error.message().contains("ForgetfulInbox"), "{error}");
    }
}
