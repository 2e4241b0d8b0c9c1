//! [`SendFuture`]: the future of one [`Mediator::send`](super::Mediator::send).
//!
//! Hand-written so that nothing large is ever moved: until its first poll it holds only the
//! request (the caller's `.await` moves those few bytes), and the first poll looks the handler
//! up and builds the handler's future in place, in this future's own slot, where it stays.

use std::future::Future;
use std::pin::Pin;
use std::task::{self, Poll};

use pin_project_lite::pin_project;
use stackfuture::StackFuture;

use super::{Mediator, entry::RequestEntry, find_entry, no_handler};
use crate::handler::HandlerSlot;
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
        // The running handler's future (inline), or the boxed pipeline.
        #[pin]
        running: HandlerSlot<'a, R::Response>,
    }
}

impl<'a, R: Request> SendFuture<'a, R> {
    #[inline]
    pub(crate) fn new(mediator: &'a Mediator, request: R, ctx: Option<Context>) -> Self {
        SendFuture {
            mediator,
            request: Some(request),
            ctx,
            running: None,
        }
    }
}

impl<R: Request> Future for SendFuture<'_, R> {
    type Output = Result<R::Response>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut running = this.running;
        if let Some(request) = this.request.take() {
            let inner = &*this.mediator.inner;
            let Some(entry) = find_entry::<RequestEntry<R>>(&inner.requests) else {
                return Poll::Ready(Err(no_handler::<R>()));
            };
            if let Some(handler) = entry.plain_handler() {
                return match this.ctx.take() {
                    None => handler.start_root(request, running, cx),
                    Some(ctx) => handler.start(request, ctx, running, cx),
                };
            }
            let ctx = this.ctx.take().unwrap_or_else(|| Context::root(inner.id));
            start_pipeline(this.mediator, entry, request, ctx, running.as_mut());
        }
        match running.as_pin_mut() {
            Some(future) => future.poll(cx),
            None => panic!("`SendFuture` polled after it completed"),
        }
    }
}

/// Puts the boxed pipeline of a request with behaviors or idempotency in `slot`.
///
/// Out of line: building the pipeline's future takes a large stack frame, which the send of a
/// plain request should not pay for.
#[inline(never)]
fn start_pipeline<'a, R: Request>(
    mediator: &'a Mediator,
    entry: &'a RequestEntry<R>,
    request: R,
    ctx: Context,
    mut slot: Pin<&mut HandlerSlot<'a, R::Response>>,
) {
    let future = entry.dispatch(request, ctx, &mediator.inner.idempotency);
    slot.set(Some(StackFuture::from(Box::pin(future))));
}
