//! [`Origin`]: what a caller outside any handler brings with a request (an HTTP request's
//! correlation id and deadline, say), and [`Mediator::send_from`], which sends in it.

use std::future::Future;

use tokio::time::Instant;

use super::Mediator;
use crate::message::Request;
use crate::{MessageId, Result};

/// Where a request sent from outside any handler comes from: the conversation it continues and
/// when its caller stops waiting.
///
/// The default is what [`Mediator::send`] does: a new conversation, no deadline.
///
/// ```
/// use std::time::Duration;
///
/// use catga::prelude::*;
/// use catga::Origin;
///
/// #[derive(Debug, Clone, Query)]
/// #[query(response = (MessageId, bool))]
/// struct WhoAmI;
///
/// struct WhoAmIHandler;
/// impl Handler<WhoAmI> for WhoAmIHandler {
///     async fn handle(&self, _query: WhoAmI, ctx: &Context) -> catga::Result<(MessageId, bool)> {
///         Ok((ctx.correlation_id(), ctx.deadline().is_some()))
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let mediator = Mediator::builder().handler(WhoAmIHandler).build()?;
/// let origin = Origin::new()
///     .correlation_id(MessageId(0x2a))
///     .deadline(tokio::time::Instant::now() + Duration::from_secs(2));
/// assert_eq!(mediator.send_from(WhoAmI, origin).await?, (MessageId(0x2a), true));
/// # Ok::<(), catga::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Origin {
    correlation_id: Option<MessageId>,
    deadline: Option<Instant>,
}

impl Origin {
    /// A new conversation without a deadline.
    pub fn new() -> Origin {
        Origin::default()
    }

    /// The request continues conversation `correlation_id` (the caller's, from a header).
    pub fn correlation_id(mut self, correlation_id: MessageId) -> Origin {
        self.correlation_id = Some(correlation_id);
        self
    }

    /// The caller stops waiting at `deadline`: the handler's context carries it (behaviors may
    /// set an earlier one, never a later one).
    pub fn deadline(mut self, deadline: Instant) -> Origin {
        self.deadline = Some(deadline);
        self
    }
}

impl Mediator {
    /// Sends `request` like [`send`](Mediator::send), in the conversation and with the deadline
    /// `origin` gives: for an entry point (an HTTP route, a scheduler) whose caller already has
    /// a correlation id or a deadline.
    pub fn send_from<R: Request>(
        &self,
        request: R,
        origin: Origin,
    ) -> impl Future<Output = Result<R::Response>> + Send + '_ {
        let mut ctx = self.arrived_context(origin.correlation_id);
        if let Some(deadline) = origin.deadline {
            ctx = ctx.with_deadline(deadline);
        }
        self.send_with(request, ctx)
    }
}
