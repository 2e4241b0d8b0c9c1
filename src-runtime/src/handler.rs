//! Handler traits, and their type-erased forms the mediator stores.
//!
//! The erased forms return a [`StackFuture`]: the handler's future lives inline in the caller's
//! future (boxed only when it is larger than [`INLINE_FUTURE_BYTES`]), and a panic inside it
//! becomes an [`ErrorKind::Internal`](crate::ErrorKind::Internal) error.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use stackfuture::StackFuture;

use crate::mediator::MediatorId;
use crate::message::{Event, Request};
use crate::{Context, Error, Result};

/// Handles one request type. Exactly one handler is registered per request type.
///
/// Implementors write `async fn handle`; the mediator stores the future inline, so no call is
/// boxed.
///
/// ```
/// use catga::prelude::*;
///
/// #[derive(Debug, Clone, Query)]
/// #[query(response = u64)]
/// struct Square(u64);
///
/// struct SquareHandler;
/// impl Handler<Square> for SquareHandler {
///     async fn handle(&self, query: Square, _ctx: &Context) -> catga::Result<u64> {
///         Ok(query.0 * query.0)
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mediator = Mediator::builder().handler(SquareHandler).build()?;
/// assert_eq!(mediator.send(Square(7)).await?, 49);
/// # Ok::<(), catga::Error>(())
/// # }).unwrap();
/// ```
pub trait Handler<R: Request>: Send + Sync + 'static {
    /// Handles `request`; `ctx` carries its ids and deadline.
    fn handle(&self, request: R, ctx: &Context)
    -> impl Future<Output = Result<R::Response>> + Send;
}

/// Reacts to one event type. Any number of event handlers may be registered per event type;
/// [`Mediator::publish`](crate::Mediator::publish) runs all of them.
///
/// ```
/// use catga::prelude::*;
///
/// #[derive(Debug, Clone, Event)]
/// struct UserSignedUp { email: String }
///
/// struct SendWelcome;
/// impl EventHandler<UserSignedUp> for SendWelcome {
///     async fn handle(&self, event: &UserSignedUp, _ctx: &Context) -> catga::Result<()> {
///         assert!(event.email.contains('@'));
///         Ok(())
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mediator = Mediator::builder().event_handler(SendWelcome).build()?;
/// mediator.publish(UserSignedUp { email: "a@example.com".into() }).await?;
/// # Ok::<(), catga::Error>(())
/// # }).unwrap();
/// ```
pub trait EventHandler<E: Event>: Send + Sync + 'static {
    /// Reacts to `event`.
    fn handle(&self, event: &E, ctx: &Context) -> impl Future<Output = Result<()>> + Send;
}

/// Bytes of handler future kept inline in the future [`Mediator::send`](crate::Mediator::send)
/// returns; larger futures are boxed (one allocation per send).
///
/// The budget covers the message's [`Context`] (48 bytes), the request and the handler's own
/// future. It is small on purpose: the send future is moved at least once by every caller, and
/// moves of more than 128 bytes become `memcpy` calls that cost more than the dispatch itself.
pub const INLINE_FUTURE_BYTES: usize = 112;

/// The future of one erased handler call.
pub(crate) type HandlerFuture<'a, T> = StackFuture<'a, Result<T>, INLINE_FUTURE_BYTES>;

/// A [`Handler`] with its concrete type erased.
pub(crate) trait DynHandler<R: Request>: Send + Sync {
    /// The future owns `ctx`, so the caller's future is just this one (no self-borrow).
    fn call(&self, request: R, ctx: Context) -> HandlerFuture<'_, R::Response>;

    /// Like [`call`](DynHandler::call) for a message sent from outside any handler: the
    /// context is built inside the future, where it stays, rather than built by the caller and
    /// copied in (a copy that stalls on store forwarding and dominated the cost of a send).
    fn call_root(&self, request: R) -> HandlerFuture<'_, R::Response>;
}

/// Adapts a [`Handler`] to [`DynHandler`], naming it in panic reports.
pub(crate) struct ErasedHandler<H> {
    handler: H,
    /// The mediator the handler is registered in, for the contexts of messages sent to it.
    mediator: MediatorId,
}

impl<H> ErasedHandler<H> {
    pub(crate) fn new(handler: H, mediator: MediatorId) -> Self {
        ErasedHandler { handler, mediator }
    }
}

impl<R: Request, H: Handler<R>> DynHandler<R> for ErasedHandler<H> {
    fn call(&self, request: R, ctx: Context) -> HandlerFuture<'_, R::Response> {
        StackFuture::from_or_box(async move { self.handle_caught(request, &ctx).await })
    }

    fn call_root(&self, request: R) -> HandlerFuture<'_, R::Response> {
        StackFuture::from_or_box(async move {
            let ctx = Context::root(self.mediator);
            self.handle_caught(request, &ctx).await
        })
    }
}

impl<H> ErasedHandler<H> {
    /// Runs the handler, turning a panic into an [`ErrorKind::Internal`](crate::ErrorKind::Internal) error.
    ///
    /// A combinator rather than an `async fn`, which would store `request` once more.
    fn handle_caught<'a, R: Request>(
        &'a self,
        request: R,
        ctx: &'a Context,
    ) -> impl Future<Output = Result<R::Response>> + Send + 'a
    where
        H: Handler<R>,
    {
        AssertUnwindSafe(self.handler.handle(request, ctx))
            .catch_unwind()
            .map(|outcome| {
                outcome.unwrap_or_else(|panic| Err(panicked::<H>(R::NAME, panic.as_ref())))
            })
    }
}

/// An [`EventHandler`] with its concrete type erased.
pub(crate) trait DynEventHandler<E: Event>: Send + Sync {
    fn call<'a>(&'a self, event: &'a E, ctx: &'a Context) -> HandlerFuture<'a, ()>;
    fn name(&self) -> &'static str;
}

impl<E: Event, H: EventHandler<E>> DynEventHandler<E> for ErasedHandler<H> {
    fn call<'a>(&'a self, event: &'a E, ctx: &'a Context) -> HandlerFuture<'a, ()> {
        StackFuture::from_or_box(
            AssertUnwindSafe(self.handler.handle(event, ctx))
                .catch_unwind()
                .map(|outcome| {
                    outcome.unwrap_or_else(|panic| Err(panicked::<H>(E::NAME, panic.as_ref())))
                }),
        )
    }

    fn name(&self) -> &'static str {
        std::any::type_name::<H>()
    }
}

/// The error a panicking handler turns into.
fn panicked<H>(message: &str, payload: &(dyn Any + Send)) -> Error {
    let reason = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string panic payload");
    Error::internal(format!(
        "handler `{}` panicked while handling `{message}`: {reason}",
        std::any::type_name::<H>()
    ))
}
