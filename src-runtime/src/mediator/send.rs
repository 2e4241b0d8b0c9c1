//! [`SendFuture`]: the future of one [`Mediator::send`](super::Mediator::send).
//!
//! Hand-written so that nothing large is ever moved: until its first poll it holds only the
//! request (the caller's `.await` moves those few bytes), and the first poll looks the handler
//! up and builds the handler's future in place, in this future's own slot, where it stays.

use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use pin_project_lite::pin_project;

use super::{Mediator, entry::RequestEntry, find_entry, no_handler};
use crate::future_slot::FutureSlot;
use crate::message::Request;
use crate::{Context, Result};

pin_project! {
    /// Sends a request when first polled; resolves to the handler's response.
    pub(crate) struct SendFuture<'a, R: Request> {
        mediator: &'a Mediator,
        // The request, until the first poll.
        request: Option<R>,
        // Its context; `None` for a message from outside any handler.
        ctx: Option<Context>,
        // The running handler's future, or the pipeline's.
        #[pin]
        running: FutureSlot<'a, Result<R::Response>>,
    }
}

impl<'a, R: Request> SendFuture<'a, R> {
    #[inline]
    pub(crate) fn new(mediator: &'a Mediator, request: R, ctx: Option<Context>) -> Self {
        SendFuture {
            mediator,
            request: Some(request),
            ctx,
            running: FutureSlot::new(),
        }
    }
}

impl<R: Request> Future for SendFuture<'_, R> {
    type Output = Result<R::Response>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Some(request) = this.request.take() else {
            return this.running.poll(cx);
        };
        let inner = &*this.mediator.inner;
        let Some(entry) = find_entry::<RequestEntry<R>>(&inner.requests) else {
            return Poll::Ready(Err(no_handler::<R>()));
        };
        match entry.plain_handler() {
            Some(handler) => match this.ctx.take() {
                None => handler.start_root(request, this.running, cx),
                Some(ctx) => handler.start(request, ctx, this.running, cx),
            },
            None => {
                let ctx = this.ctx.take().unwrap_or_else(|| Context::root(inner.id));
                start_pipeline(this.mediator, entry, request, ctx, this.running, cx)
            }
        }
    }
}

/// Starts the pipeline of a request with behaviors or idempotency in `slot`.
///
/// Out of line: building the pipeline's future takes a large stack frame, which the send of a
/// plain request should not pay for.
#[inline(never)]
fn start_pipeline<'a, R: Request>(
    mediator: &'a Mediator,
    entry: &'a RequestEntry<R>,
    request: R,
    ctx: Context,
    slot: Pin<&mut FutureSlot<'a, Result<R::Response>>>,
    cx: &mut task::Context<'_>,
) -> Poll<Result<R::Response>> {
    slot.start(
        entry.dispatch(request, ctx, &mediator.inner.idempotency),
        cx,
    )
}
