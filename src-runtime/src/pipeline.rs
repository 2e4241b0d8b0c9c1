//! The behavior pipeline: the [`Behavior`] trait and what a behavior sees of a message
//! ([`AnyMessage`]), of the rest of the pipeline ([`Next`]) and of the response ([`Reply`]).
//!
//! Behaviors apply to any message type, so they see messages and responses type-erased. A
//! message with no behaviors skips the pipeline entirely (no allocation); with behaviors, each
//! stage costs one boxed future.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::message::{Message, MessageKind};
use crate::{Context, Error, Result};

/// Cross-cutting logic around handlers: validation, retry, timeouts, limits, tracing, ...
///
/// A behavior receives the message, its context (which it may change, e.g. set a deadline) and
/// the rest of the pipeline; it calls [`Next::run`] zero (reject), one or several (retry) times.
/// Behaviors registered first run outermost.
///
/// ```
/// use catga::prelude::*;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// /// Counts messages that reach it.
/// #[derive(Default)]
/// struct Count(AtomicUsize);
///
/// impl Behavior for Count {
///     async fn handle(&self, _message: &dyn AnyMessage, ctx: Context, next: Next<'_>) -> catga::Result<Reply> {
///         self.0.fetch_add(1, Ordering::Relaxed);
///         next.run(ctx).await
///     }
/// }
/// ```
pub trait Behavior: Send + Sync + 'static {
    /// Handles one message: do something before and/or after `next.run(ctx)`, or instead of it.
    fn handle(
        &self,
        message: &dyn AnyMessage,
        ctx: Context,
        next: Next<'_>,
    ) -> impl Future<Output = Result<Reply>> + Send;
}

/// A shared behavior, e.g. a [`CircuitBreaker`](crate::behavior::CircuitBreaker) whose state
/// the caller keeps reading.
impl<B: Behavior> Behavior for Arc<B> {
    fn handle(
        &self,
        message: &dyn AnyMessage,
        ctx: Context,
        next: Next<'_>,
    ) -> impl Future<Output = Result<Reply>> + Send {
        (**self).handle(message, ctx, next)
    }
}

/// A message seen through the pipeline: its name, kind and validation, without its type.
pub trait AnyMessage: Send + Sync {
    /// The message type's [`Message::NAME`].
    fn type_name(&self) -> &'static str;
    /// Command, query or event.
    fn kind(&self) -> MessageKind;
    /// Runs the message's [`Validate`](crate::Validate) impl, if it has one.
    fn check_valid(&self) -> Result<()>;
    /// The message itself, for a behavior written for particular types.
    fn as_any(&self) -> &dyn Any;
}

impl<M: Message> AnyMessage for M {
    fn type_name(&self) -> &'static str {
        M::NAME
    }

    fn kind(&self) -> MessageKind {
        M::KIND
    }

    fn check_valid(&self) -> Result<()> {
        self.validate_hook()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A handler's response with its type erased, as it travels back through the pipeline.
pub struct Reply(Box<dyn Any + Send>);

impl Reply {
    /// Wraps a response.
    pub fn new<T: Send + 'static>(response: T) -> Self {
        Reply(Box::new(response))
    }

    /// The response, if it is a `T`.
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }

    /// Unwraps the response; an [`ErrorKind::Internal`](crate::ErrorKind::Internal) error when a
    /// behavior replaced it with a value of another type.
    pub fn downcast<T: 'static>(self) -> Result<T> {
        self.0.downcast::<T>().map(|boxed| *boxed).map_err(|_| {
            Error::internal(format!(
                "a behavior returned a reply of the wrong type; expected `{}`",
                std::any::type_name::<T>()
            ))
        })
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reply(..)")
    }
}

/// The rest of the pipeline after the current behavior, ending in the handler.
///
/// `Next` is `Copy`: a retrying behavior runs it again for each attempt.
#[derive(Clone, Copy)]
pub struct Next<'a> {
    chain: &'a [Arc<dyn DynBehavior>],
    message: &'a dyn AnyMessage,
    terminal: &'a dyn Terminal,
}

impl<'a> Next<'a> {
    pub(crate) fn new(
        chain: &'a [Arc<dyn DynBehavior>],
        message: &'a dyn AnyMessage,
        terminal: &'a dyn Terminal,
    ) -> Self {
        Next {
            chain,
            message,
            terminal,
        }
    }

    /// Runs the remaining behaviors and the handler with `ctx`.
    pub fn run(self, ctx: Context) -> BoxFuture<'a, Result<Reply>> {
        match self.chain.split_first() {
            Some((first, rest)) => first.call(
                self.message,
                ctx,
                Next {
                    chain: rest,
                    ..self
                },
            ),
            None => self.terminal.call(ctx),
        }
    }
}

impl fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next")
            .field("message", &self.message.type_name())
            .field("remaining_behaviors", &self.chain.len())
            .finish()
    }
}

/// The end of the pipeline: calls the handler (with a fresh copy of the message).
pub(crate) trait Terminal: Sync {
    fn call(&self, ctx: Context) -> BoxFuture<'_, Result<Reply>>;
}

/// A [`Behavior`] behind a pointer, so one pipeline can hold behaviors of different types.
pub(crate) trait DynBehavior: Send + Sync {
    fn call<'a>(
        &'a self,
        message: &'a dyn AnyMessage,
        ctx: Context,
        next: Next<'a>,
    ) -> BoxFuture<'a, Result<Reply>>;
}

impl<B: Behavior> DynBehavior for B {
    fn call<'a>(
        &'a self,
        message: &'a dyn AnyMessage,
        ctx: Context,
        next: Next<'a>,
    ) -> BoxFuture<'a, Result<Reply>> {
        Box::pin(self.handle(message, ctx, next))
    }
}
