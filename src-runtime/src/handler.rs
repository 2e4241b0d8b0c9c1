//! Handler traits, and their type-erased forms the mediator stores.
//!
//! A send builds the handler's future in place, in a [`FutureSlot`] inside the send future
//! (boxed only when it is larger than [`INLINE_FUTURE_BYTES`](crate::INLINE_FUTURE_BYTES));
//! the pipeline, which allocates anyway, boxes it at its exact size. Either way a panic inside
//! it becomes an [`ErrorKind::Internal`](crate::ErrorKind::Internal) error.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{self, Poll};

use futures_util::future::BoxFuture;
use pin_project_lite::pin_project;
use stackfuture::StackFuture;

use crate::future_slot::FutureSlot;
use crate::mediator::MediatorId;
use crate::message::{Event, Message, Request};
use crate::pipeline::Reply;
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

/// Bytes of event handler future kept inline in a publish; larger ones are boxed. Smaller than
/// [`INLINE_FUTURE_BYTES`](crate::INLINE_FUTURE_BYTES): a publish moves each handler's future once, so a large budget
/// would cost a copy per handler.
const EVENT_INLINE_FUTURE_BYTES: usize = 112;

/// The future of one erased event handler call.
pub(crate) type EventHandlerFuture<'a> = StackFuture<'a, Result<()>, EVENT_INLINE_FUTURE_BYTES>;

/// A [`Handler`] with its concrete type erased.
pub(crate) trait DynHandler<R: Request>: Send + Sync {
    /// The future of `request`, boxed at its exact size. For the pipeline, which allocates
    /// anyway.
    fn call_boxed(&self, request: R, ctx: Context) -> BoxFuture<'_, Result<R::Response>>;

    /// Like [`call_boxed`](DynHandler::call_boxed), with the response as the [`Reply`] the
    /// pipeline's last stage returns (one box, not two).
    fn call_reply(&self, request: R, ctx: Context) -> BoxFuture<'_, Result<Reply>>;

    /// Builds the future of `request` in `slot` and polls it once: the first poll of a send
    /// from inside a handler, whose context is `ctx`.
    ///
    /// One call with the concrete handler type known, so the future is written where it stays
    /// and its first poll is a static call.
    fn start<'a>(
        &'a self,
        request: R,
        ctx: Context,
        slot: Pin<&mut FutureSlot<'a, Result<R::Response>>>,
        cx: &mut task::Context<'_>,
    ) -> Poll<Result<R::Response>>;

    /// Like [`start`](DynHandler::start) for a message sent from outside any handler: its
    /// context is built inside the future, where it stays, rather than copied in.
    fn start_root<'a>(
        &'a self,
        request: R,
        slot: Pin<&mut FutureSlot<'a, Result<R::Response>>>,
        cx: &mut task::Context<'_>,
    ) -> Poll<Result<R::Response>>;
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

    /// The handler's own future, with a panic turned into an error.
    #[inline]
    fn catch_panic<'a, R: Request>(
        &'a self,
        request: R,
        ctx: &'a Context,
    ) -> CatchPanic<impl Future<Output = Result<R::Response>> + Send + 'a, H, R>
    where
        H: Handler<R>,
    {
        CatchPanic::new(self.handler.handle(request, ctx))
    }
}

impl<R: Request, H: Handler<R>> DynHandler<R> for ErasedHandler<H> {
    fn call_boxed(&self, request: R, ctx: Context) -> BoxFuture<'_, Result<R::Response>> {
        Box::pin(async move { self.catch_panic(request, &ctx).await })
    }

    fn call_reply(&self, request: R, ctx: Context) -> BoxFuture<'_, Result<Reply>> {
        Box::pin(async move { self.catch_panic(request, &ctx).await.map(Reply::new) })
    }

    fn start<'a>(
        &'a self,
        request: R,
        ctx: Context,
        slot: Pin<&mut FutureSlot<'a, Result<R::Response>>>,
        cx: &mut task::Context<'_>,
    ) -> Poll<Result<R::Response>> {
        slot.start(async move { self.catch_panic(request, &ctx).await }, cx)
    }

    fn start_root<'a>(
        &'a self,
        request: R,
        slot: Pin<&mut FutureSlot<'a, Result<R::Response>>>,
        cx: &mut task::Context<'_>,
    ) -> Poll<Result<R::Response>> {
        let future = async move {
            let ctx = Context::root(self.mediator);
            self.catch_panic(request, &ctx).await
        };
        slot.start(future, cx)
    }
}

pin_project! {
    /// The future of handler `H` handling message `M`, with a panic turned into an
    /// [`ErrorKind::Internal`](crate::ErrorKind::Internal) error.
    ///
    /// Hand-written rather than `catch_unwind().map(..)`, whose two layers the compiler did not
    /// inline: the closure call and the moves of the nested result cost more than the handler.
    struct CatchPanic<F, H, M> {
        #[pin]
        future: F,
        _names: PhantomData<fn() -> (H, M)>,
    }
}

impl<F, H, M> CatchPanic<F, H, M> {
    #[inline]
    fn new(future: F) -> Self {
        CatchPanic {
            future,
            _names: PhantomData,
        }
    }
}

impl<T, F, H, M> Future for CatchPanic<F, H, M>
where
    F: Future<Output = Result<T>>,
    M: Message,
{
    type Output = Result<T>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Result<T>> {
        let future = self.project().future;
        // A future that panicked is never polled again: the caller gets `Ready` here.
        panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx)))
            .unwrap_or_else(|payload| Poll::Ready(Err(panicked::<H>(M::NAME, payload.as_ref()))))
    }
}

/// An [`EventHandler`] with its concrete type erased.
pub(crate) trait DynEventHandler<E: Event>: Send + Sync {
    fn call<'a>(&'a self, event: &'a E, ctx: &'a Context) -> EventHandlerFuture<'a>;
    fn name(&self) -> &'static str;
}

impl<E: Event, H: EventHandler<E>> DynEventHandler<E> for ErasedHandler<H> {
    fn call<'a>(&'a self, event: &'a E, ctx: &'a Context) -> EventHandlerFuture<'a> {
        StackFuture::from_or_box(CatchPanic::<_, H, E>::new(self.handler.handle(event, ctx)))
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
