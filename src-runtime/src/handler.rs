//! Handler traits, and their type-erased forms the mediator stores.
//!
//! The erased forms return a [`StackFuture`]: the handler's future lives inline in the caller's
//! future (boxed only when it is larger than [`INLINE_FUTURE_BYTES`]), and a panic inside it
//! becomes an [`ErrorKind::Internal`](crate::ErrorKind::Internal) error.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use stackfuture::StackFuture;

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

/// Bytes of handler future kept inline in the mediator's future; larger futures are boxed.
pub const INLINE_FUTURE_BYTES: usize = 256;

/// The future of one erased handler call.
pub(crate) type HandlerFuture<'a, T> = StackFuture<'a, Result<T>, INLINE_FUTURE_BYTES>;

/// A [`Handler`] with its concrete type erased.
pub(crate) trait DynHandler<R: Request>: Send + Sync {
    fn call<'a>(&'a self, request: R, ctx: &'a Context) -> HandlerFuture<'a, R::Response>;
}

/// Adapts a [`Handler`] to [`DynHandler`], naming it in panic reports.
pub(crate) struct ErasedHandler<H>(pub(crate) H);

impl<R: Request, H: Handler<R>> DynHandler<R> for ErasedHandler<H> {
    fn call<'a>(&'a self, request: R, ctx: &'a Context) -> HandlerFuture<'a, R::Response> {
        // `map` rather than an `async` block: the block would store the request twice.
        StackFuture::from_or_box(
            AssertUnwindSafe(self.0.handle(request, ctx))
                .catch_unwind()
                .map(|outcome| {
                    outcome.unwrap_or_else(|panic| Err(panicked::<H>(R::NAME, panic.as_ref())))
                }),
        )
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
            AssertUnwindSafe(self.0.handle(event, ctx))
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
