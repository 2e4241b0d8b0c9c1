//! The [`Mediator`]: routes requests to their handler and events to their event handlers,
//! through the behaviors configured for them.

mod builder;
mod entry;
mod export;
mod origin;
mod publish;
mod send;
mod type_map;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};

use std::future::Future;

use futures_util::future::join_all;

pub use builder::{AutoRegistration, DEFAULT_IDEMPOTENCY_LEASE, MediatorBuilder};
use entry::{AnyEntry, ErasedEntry, EventEntry, RequestEntry};
pub use origin::Origin;
pub use publish::{HandlerFailure, PublishError};
use send::SendFuture;
use type_map::TypeMap;

use crate::idempotency::IdempotencyBehavior;
use crate::message::{Event, Request};
use crate::transport::{Outbox, OutboxEntry, capture};
use crate::{Context, Error, ErrorKind, MessageId, Result};
use export::Exports;

/// Identifies a live mediator, so that a [`Context`] can reach it without holding a reference
/// count (which would cost two atomic operations per send).
pub(crate) type MediatorId = u32;

/// Dispatches commands and queries to their one [`Handler`](crate::Handler) and events to every
/// [`EventHandler`](crate::EventHandler), through the configured behaviors.
///
/// Cheap to clone (one `Arc`), `Send + Sync`: share one mediator across tasks.
///
/// ```
/// use catga::prelude::*;
///
/// #[derive(Debug, Clone, Command)]
/// #[command(response = u32)]
/// struct Add { a: u32, b: u32 }
///
/// struct AddHandler;
/// impl Handler<Add> for AddHandler {
///     async fn handle(&self, cmd: Add, _ctx: &Context) -> catga::Result<u32> {
///         Ok(cmd.a + cmd.b)
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let mediator = Mediator::builder()
///     .handler(AddHandler)
///     .behavior(Retry::exponential(3))
///     .build()?;
/// assert_eq!(mediator.send(Add { a: 2, b: 3 }).await?, 5);
/// # Ok::<(), catga::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Mediator {
    inner: Arc<Inner>,
}

struct Inner {
    id: MediatorId,
    requests: TypeMap<AnyEntry>,
    events: TypeMap<AnyEntry>,
    idempotency: IdempotencyBehavior,
    outbox: Option<Arc<dyn Outbox>>,
    exports: Exports,
}

impl Mediator {
    /// Starts configuring a mediator.
    pub fn builder() -> MediatorBuilder {
        MediatorBuilder::new()
    }

    /// Sends a command or query to its handler and returns the handler's response.
    ///
    /// Fails with [`ErrorKind::NoHandler`] when no handler is registered for `R`, and with
    /// [`ErrorKind::Internal`] when the handler panics. Without behaviors, a send allocates
    /// nothing: the handler's future is built inside the returned future when it fits
    /// [`INLINE_FUTURE_BYTES`](crate::INLINE_FUTURE_BYTES).
    #[inline]
    pub fn send<R: Request>(
        &self,
        request: R,
    ) -> impl Future<Output = Result<R::Response>> + Send + '_ {
        SendFuture::new(self, request, None)
    }

    /// Sends every request concurrently; the results come back in the order of the requests.
    pub async fn send_batch<R, I>(&self, requests: I) -> Vec<Result<R::Response>>
    where
        R: Request,
        I: IntoIterator<Item = R>,
    {
        join_all(requests.into_iter().map(|request| self.send(request))).await
    }

    /// Delivers an event to every event handler registered for it, one after another in
    /// registration order.
    ///
    /// Every handler runs even when some fail; the error then carries each failure (read them
    /// with [`PublishError::of`]). Publishing an event nobody handles succeeds.
    pub async fn publish<E: Event>(&self, event: E) -> Result<()> {
        self.publish_with(event, Context::root(self.inner.id)).await
    }

    /// Sends `request` as a consequence of the message `ctx` belongs to.
    pub(crate) fn send_with<R: Request>(
        &self,
        request: R,
        ctx: Context,
    ) -> impl Future<Output = Result<R::Response>> + Send + '_ {
        SendFuture::new(self, request, Some(ctx))
    }

    /// Publishes to this mediator's handlers only, never to the outbox: for events that arrived
    /// over a transport (exporting them again would echo them back).
    pub(crate) async fn publish_arrived<E: Event>(&self, event: E, ctx: Context) -> Result<()> {
        match find_entry::<EventEntry<E>>(&self.inner.events) {
            Some(entry) => entry.publish(&event, ctx).await,
            None => Ok(()),
        }
    }

    pub(crate) async fn publish_with<E: Event>(&self, event: E, ctx: Context) -> Result<()> {
        if !self.inner.exports.is_empty() {
            // Boxed, so the outbox's future is not part of every publish's state.
            Box::pin(self.export(&event, &ctx)).await?;
        }
        match find_entry::<EventEntry<E>>(&self.inner.events) {
            Some(entry) => entry.publish(&event, ctx).await,
            None => Ok(()),
        }
    }

    /// Hands an exported event to the outbox: inside a handler it waits for the handling to
    /// succeed; outside any, it is stored now.
    async fn export<E: Event>(&self, event: &E, ctx: &Context) -> Result<()> {
        let Some(entry) = self.inner.exports.entry(event, ctx) else {
            return Ok(());
        };
        if let (Some(entry), Some(outbox)) = (capture::push(entry?), &self.inner.outbox) {
            outbox.enqueue(vec![entry]).await?;
        }
        Ok(())
    }

    /// Runs `commit` with this mediator's outbox, which must be an `O`, and the exported events
    /// captured so far; they go back to the handling when it fails (see
    /// [`Context::unit_of_work`]).
    pub(crate) async fn unit_of_work<O, T, F, Fut>(&self, commit: F) -> Result<T>
    where
        O: Outbox + Clone,
        F: FnOnce(O, Vec<OutboxEntry>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let wanted = std::any::type_name::<O>();
        let Some(outbox) = &self.inner.outbox else {
            return Err(Error::new(
                ErrorKind::Configuration,
                format!(
                    "this unit of work runs on the mediator's outbox, a `{wanted}`, and this \
                     mediator has none: build it with `.outbox(..)`"
                ),
            ));
        };
        let Some(outbox) = (&**outbox as &dyn Any).downcast_ref::<O>() else {
            return Err(Error::new(
                ErrorKind::Configuration,
                format!(
                    "this unit of work runs on a `{wanted}` outbox, and this mediator's outbox \
                     ({outbox:?}) is of another kind: give the mediator that outbox, or commit \
                     through the unit of work of its own kind"
                ),
            ));
        };
        let captured = capture::take();
        match commit(outbox.clone(), captured.clone()).await {
            Ok(value) => Ok(value),
            Err(error) => {
                // Not stored: they stay with the handling, stored if it succeeds after all.
                capture::hand_up(captured);
                Err(error)
            }
        }
    }

    /// A context attached to this mediator, for work the process starts itself rather than a
    /// message it handles: recovery at start-up ([`SagaRunner::resume_pending`]), a scheduled
    /// job. It starts a new conversation and has no causation id and no deadline (set one with
    /// [`Context::with_deadline`]); messages sent or published through it
    /// ([`Context::send`], [`Context::publish`]) go through this mediator's handlers and
    /// outbox, as consequences of it.
    ///
    /// It names the mediator without keeping it alive: once every clone of the mediator is
    /// dropped, its sends fail with [`ErrorKind::Configuration`].
    ///
    /// [`SagaRunner::resume_pending`]: crate::saga::SagaRunner::resume_pending
    ///
    /// ```
    /// use catga::prelude::*;
    ///
    /// #[derive(Debug, Clone, Command)]
    /// #[command(response = Option<MessageId>)]
    /// struct Sweep;
    ///
    /// struct SweepHandler;
    /// impl Handler<Sweep> for SweepHandler {
    ///     async fn handle(&self, _cmd: Sweep, ctx: &Context) -> catga::Result<Option<MessageId>> {
    ///         Ok(ctx.causation_id())
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let mediator = Mediator::builder().handler(SweepHandler).build()?;
    /// let job = mediator.context();
    /// assert_eq!(job.causation_id(), None);
    /// assert_eq!(job.send(Sweep).await?, Some(job.message_id()));
    /// # Ok::<(), catga::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn context(&self) -> Context {
        Context::root(self.inner.id)
    }

    /// The context for a message that arrived over a transport in conversation
    /// `correlation_id`.
    pub(crate) fn arrived_context(&self, correlation_id: Option<MessageId>) -> Context {
        Context::arrived(self.inner.id, correlation_id)
    }

    /// Whether a handler is registered for request type `R`.
    pub fn handles<R: Request>(&self) -> bool {
        self.inner.requests.contains_key(&TypeId::of::<R>())
    }
}

impl fmt::Debug for Mediator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mediator")
            .field("request_types", &self.inner.requests.len())
            .field("event_types", &self.inner.events.len())
            .finish()
    }
}

/// The error for a request type nobody handles.
fn no_handler<R: Request>() -> Error {
    Error::new(
        ErrorKind::NoHandler,
        format!(
            "no handler is registered for `{}` ({}); register one with \
             `Mediator::builder().handler(..)` or `#[catga::handler]`",
            R::NAME,
            std::any::type_name::<R>()
        ),
    )
}

/// The entry of type `T` in `map`, keyed by its message type.
#[inline]
fn find_entry<T: EntryOf + ErasedEntry>(map: &TypeMap<AnyEntry>) -> Option<&T> {
    map.get(&TypeId::of::<T::Message>())?.downcast_ref::<T>()
}

/// Links an entry type to the message type it is keyed by.
trait EntryOf {
    type Message: 'static;
}

impl<R: Request> EntryOf for RequestEntry<R> {
    type Message = R;
}

impl<E: Event> EntryOf for EventEntry<E> {
    type Message = E;
}

/// Live mediators by id, for [`Context::send`] and [`Context::publish`].
static LIVE: RwLock<Option<HashMap<MediatorId, Weak<Inner>>>> = RwLock::new(None);

fn register_live(inner: &Arc<Inner>) {
    let mut live = LIVE.write().unwrap_or_else(PoisonError::into_inner);
    live.get_or_insert_with(HashMap::new)
        .insert(inner.id, Arc::downgrade(inner));
}

/// The live mediator with id `id`, if it has not been dropped.
pub(crate) fn lookup(id: MediatorId) -> Option<Mediator> {
    let live = LIVE.read().unwrap_or_else(PoisonError::into_inner);
    let inner = live.as_ref()?.get(&id)?.upgrade()?;
    Some(Mediator { inner })
}

impl Drop for Inner {
    fn drop(&mut self) {
        let mut live = LIVE.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(map) = live.as_mut() {
            map.remove(&self.id);
        }
    }
}

fn next_mediator_id() -> MediatorId {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
