//! What the mediator keeps per message type: the handler(s), the behavior chain, and the typed
//! dispatch code, monomorphised per message type.

use std::any::TypeId;
use std::sync::Arc;

use futures_util::future::{BoxFuture, Either};

use super::publish::{HandlerFailure, PublishError};
use crate::handler::{DynEventHandler, DynHandler, EventHandlerFuture};
use crate::idempotency::IdempotencyBehavior;
use crate::message::{Event, IdempotencyHooks, Request};
use crate::pipeline::{DynBehavior, Next, Reply, Terminal};
use crate::{Context, Result};

/// A registry entry of any message type: a [`RequestEntry`] or an [`EventEntry`].
pub(crate) trait ErasedEntry: Send + Sync + 'static {
    /// Installs the behaviors that apply to this message type, outermost first.
    fn set_chain(&mut self, chain: Vec<Arc<dyn DynBehavior>>);
}

/// A boxed [`ErasedEntry`] with its concrete type recorded beside it.
///
/// A send's lookup then compares two type ids instead of calling `Any::type_id` through the
/// vtable: one indirect call fewer on every send.
pub(crate) struct AnyEntry {
    /// The type `entry` was boxed as; fixed at construction, like `entry` itself.
    concrete: TypeId,
    entry: Box<dyn ErasedEntry>,
}

// The one `unsafe` of the registry: two downcasts whose type check is the `concrete` field.
#[allow(unsafe_code)]
impl AnyEntry {
    pub(crate) fn new<T: ErasedEntry>(entry: T) -> Self {
        AnyEntry {
            concrete: TypeId::of::<T>(),
            entry: Box::new(entry),
        }
    }

    /// The entry as a `T`, if it is one.
    #[inline]
    pub(crate) fn downcast_ref<T: ErasedEntry>(&self) -> Option<&T> {
        if self.concrete != TypeId::of::<T>() {
            return None;
        }
        let entry: *const dyn ErasedEntry = &*self.entry;
        // SAFETY: `concrete` is `TypeId::of` the type `new` boxed into `entry`, and neither
        // field is ever replaced (`set_chain` mutates the entry in place). So `entry` points
        // at a live `T`, borrowed for as long as `self`.
        Some(unsafe { &*entry.cast::<T>() })
    }

    /// The entry as a `T`, if it is one.
    pub(crate) fn downcast_mut<T: ErasedEntry>(&mut self) -> Option<&mut T> {
        if self.concrete != TypeId::of::<T>() {
            return None;
        }
        let entry: *mut dyn ErasedEntry = &mut *self.entry;
        // SAFETY: as in `downcast_ref`, and the borrow is unique because `self` is.
        Some(unsafe { &mut *entry.cast::<T>() })
    }

    pub(crate) fn set_chain(&mut self, chain: Vec<Arc<dyn DynBehavior>>) {
        self.entry.set_chain(chain);
    }
}

/// The handler of request type `R` and how to run it.
pub(crate) struct RequestEntry<R: Request> {
    handler: Box<dyn DynHandler<R>>,
    pub(crate) handler_name: &'static str,
    chain: Vec<Arc<dyn DynBehavior>>,
    idempotency: Option<IdempotencyHooks<R>>,
}

impl<R: Request> ErasedEntry for RequestEntry<R> {
    fn set_chain(&mut self, chain: Vec<Arc<dyn DynBehavior>>) {
        self.chain = chain;
    }
}

impl<R: Request> RequestEntry<R> {
    pub(crate) fn new(handler: Box<dyn DynHandler<R>>, handler_name: &'static str) -> Self {
        RequestEntry {
            handler,
            handler_name,
            chain: Vec::new(),
            idempotency: R::idempotency(),
        }
    }

    /// The handler, when the request needs nothing else (no behaviors, not idempotent): the
    /// caller then awaits the handler's inline future directly.
    pub(crate) fn plain_handler(&self) -> Option<&dyn DynHandler<R>> {
        (self.idempotency.is_none() && self.chain.is_empty()).then_some(&*self.handler)
    }

    /// Runs the request through the pipeline; the idempotency behavior, when the request is
    /// idempotent, sits innermost (so every behavior sees duplicates too, and validation rejects
    /// before a key is claimed).
    pub(crate) async fn dispatch(
        &self,
        request: R,
        ctx: Context,
        idempotency: &IdempotencyBehavior,
    ) -> Result<R::Response> {
        if self.chain.is_empty() {
            return self.run_handler(request, ctx, idempotency).await;
        }
        let terminal = RequestTerminal {
            request: &request,
            entry: self,
            idempotency,
        };
        Next::new(&self.chain, &request, &terminal)
            .run(ctx)
            .await?
            .downcast()
    }

    /// The handler call, deduplicated when the request is idempotent.
    async fn run_handler(
        &self,
        request: R,
        ctx: Context,
        idempotency: &IdempotencyBehavior,
    ) -> Result<R::Response> {
        match self.idempotency {
            None => self.handler.call_boxed(request, ctx).await,
            Some(hooks) => {
                let execute = move |request| self.handler.call_boxed(request, ctx);
                idempotency.run(request, hooks, execute).await
            }
        }
    }
}

/// End of a request's pipeline: calls the handler with a copy of the request.
struct RequestTerminal<'a, R: Request> {
    request: &'a R,
    entry: &'a RequestEntry<R>,
    idempotency: &'a IdempotencyBehavior,
}

impl<R: Request> Terminal for RequestTerminal<'_, R> {
    fn call(&self, ctx: Context) -> BoxFuture<'_, Result<Reply>> {
        let request = self.request.clone();
        if self.entry.idempotency.is_none() {
            return self.entry.handler.call_reply(request, ctx);
        }
        Box::pin(async move {
            self.entry
                .run_handler(request, ctx, self.idempotency)
                .await
                .map(Reply::new)
        })
    }
}

/// The event handlers of event type `E`.
pub(crate) struct EventEntry<E: Event> {
    handlers: Vec<Box<dyn DynEventHandler<E>>>,
    chain: Vec<Arc<dyn DynBehavior>>,
}

impl<E: Event> ErasedEntry for EventEntry<E> {
    fn set_chain(&mut self, chain: Vec<Arc<dyn DynBehavior>>) {
        self.chain = chain;
    }
}

impl<E: Event> EventEntry<E> {
    pub(crate) fn new() -> Self {
        EventEntry {
            handlers: Vec::new(),
            chain: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, handler: Box<dyn DynEventHandler<E>>) {
        self.handlers.push(handler);
    }

    /// Runs every handler, one after another in registration order; all run even when some
    /// fail, and every failure is reported in one [`PublishError`].
    ///
    /// Sequential on purpose: it needs no allocation, and a publish to N handlers costs N
    /// handler calls. A handler that must not hold the others up can spawn its slow work.
    pub(crate) async fn publish(&self, event: &E, ctx: Context) -> Result<()> {
        let mut failures = Vec::new();
        for handler in &self.handlers {
            if let Err(error) = self.run_one(&**handler, event, &ctx).await {
                failures.push(HandlerFailure {
                    handler: handler.name(),
                    error,
                });
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(PublishError::new(E::NAME, failures).into())
        }
    }

    fn run_one<'a>(
        &'a self,
        handler: &'a dyn DynEventHandler<E>,
        event: &'a E,
        ctx: &'a Context,
    ) -> Either<EventHandlerFuture<'a>, BoxFuture<'a, Result<()>>> {
        if self.chain.is_empty() {
            return Either::Left(handler.call(event, ctx));
        }
        Either::Right(Box::pin(async move {
            let terminal = EventTerminal { event, handler };
            Next::new(&self.chain, event, &terminal)
                .run(ctx.clone())
                .await?
                .downcast()
        }))
    }
}

/// End of an event handler's pipeline.
struct EventTerminal<'a, E: Event> {
    event: &'a E,
    handler: &'a dyn DynEventHandler<E>,
}

impl<E: Event> Terminal for EventTerminal<'_, E> {
    fn call(&self, ctx: Context) -> BoxFuture<'_, Result<Reply>> {
        Box::pin(async move { self.handler.call(self.event, &ctx).await.map(Reply::new) })
    }
}
