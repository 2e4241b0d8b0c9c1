//! The per-message context handed to every handler, behavior and saga step: ids, deadline, and
//! a way back into the mediator for messages sent from inside a handler.

use std::cell::Cell;
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::time::Instant;

use crate::mediator::{self, MediatorId};
use crate::message::{Event, Request};
use crate::{Error, Result};

/// Identifies one message. Ids are unique within a process run and random across runs: the
/// high 64 bits are chosen at random once per process, the low 64 bits count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u128);

impl MessageId {
    /// A fresh id. Costs a thread-local counter bump, no clock read and no randomness.
    pub fn next() -> Self {
        /// How many ids a thread takes from the global counter at once.
        const BLOCK: u64 = 1024;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        static PROCESS: OnceLock<u64> = OnceLock::new();
        thread_local! {
            /// The next id of this thread's block and the end of the block.
            static BLOCK_STATE: Cell<(u128, u128)> = const { Cell::new((0, 0)) };
        }
        BLOCK_STATE.with(|state| {
            let (mut next, mut end) = state.get();
            if next == end {
                let high = u128::from(*PROCESS.get_or_init(|| fastrand::u64(..))) << 64;
                let start = COUNTER.fetch_add(BLOCK, Ordering::Relaxed);
                next = high | u128::from(start);
                end = next + u128::from(BLOCK);
            }
            state.set((next + 1, end));
            MessageId(next)
        })
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// What a handler knows about the message it is handling: its id, the conversation it belongs
/// to, how long it may take, and the mediator it came through.
///
/// Messages sent with [`Context::send`] or [`Context::publish`] carry this message's
/// correlation id, have this message's id as their causation id, and inherit the deadline.
///
/// ```
/// use catga::prelude::*;
///
/// #[derive(Debug, Clone, Event)]
/// struct Pinged;
///
/// #[derive(Debug, Clone, Command)]
/// struct Ping;
///
/// struct PingHandler;
/// impl Handler<Ping> for PingHandler {
///     async fn handle(&self, _cmd: Ping, ctx: &Context) -> catga::Result<()> {
///         assert_eq!(ctx.causation_id(), None); // sent from outside any handler
///         ctx.publish(Pinged).await
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mediator = Mediator::builder().handler(PingHandler).build()?;
/// mediator.send(Ping).await?;
/// # Ok::<(), catga::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    message_id: PackedId,
    correlation_id: PackedId,
    causation_id: Option<PackedId>,
    deadline: Option<Instant>,
    mediator: Option<MediatorId>,
}

/// A [`MessageId`] as two `u64` halves. A `u128` field would make `Context` 16-byte aligned,
/// and a handler future holding a 16-byte aligned value does not fit the mediator's 8-byte
/// aligned inline future storage (it would be boxed on every send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PackedId([u64; 2]);

impl From<MessageId> for PackedId {
    fn from(id: MessageId) -> Self {
        PackedId([(id.0 >> 64) as u64, id.0 as u64])
    }
}

impl From<PackedId> for MessageId {
    fn from(id: PackedId) -> Self {
        MessageId((u128::from(id.0[0]) << 64) | u128::from(id.0[1]))
    }
}

impl Context {
    /// A context for a message that starts a new conversation, attached to no mediator (so
    /// [`send`](Context::send) and [`publish`](Context::publish) fail). Useful to call a
    /// handler directly in a test.
    pub fn new(message_id: MessageId) -> Self {
        Context {
            message_id: message_id.into(),
            correlation_id: message_id.into(),
            causation_id: None,
            deadline: None,
            mediator: None,
        }
    }

    /// The context of a message sent from outside any handler through mediator `mediator`.
    pub(crate) fn root(mediator: MediatorId) -> Self {
        let mut ctx = Context::new(MessageId::next());
        ctx.mediator = Some(mediator);
        ctx
    }

    /// The context of a message caused by the one this context belongs to.
    pub fn child(&self) -> Self {
        Context {
            message_id: MessageId::next().into(),
            correlation_id: self.correlation_id,
            causation_id: Some(self.message_id),
            deadline: self.deadline,
            mediator: self.mediator,
        }
    }

    /// This message's id.
    pub fn message_id(&self) -> MessageId {
        self.message_id.into()
    }

    /// The id shared by every message in one conversation.
    pub fn correlation_id(&self) -> MessageId {
        self.correlation_id.into()
    }

    /// The id of the message whose handling caused this one, if any.
    pub fn causation_id(&self) -> Option<MessageId> {
        self.causation_id.map(MessageId::from)
    }

    /// When the caller stops waiting, if a deadline was set (by the
    /// [`Timeout`](crate::behavior::Timeout) behavior or [`with_deadline`](Context::with_deadline)).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// This context with the deadline moved to `deadline`, unless it already had an earlier one.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(
            self.deadline
                .map_or(deadline, |current| current.min(deadline)),
        );
        self
    }

    /// Sends `request` through the mediator that delivered this message, as a consequence of it.
    pub async fn send<R: Request>(&self, request: R) -> Result<R::Response> {
        let mediator = self.attached_mediator()?;
        mediator.send_with(request, self.child()).await
    }

    /// Publishes `event` through the mediator that delivered this message, as a consequence of
    /// it.
    pub async fn publish<E: Event>(&self, event: E) -> Result<()> {
        let mediator = self.attached_mediator()?;
        mediator.publish_with(event, self.child()).await
    }

    fn attached_mediator(&self) -> Result<crate::Mediator> {
        let id = self.mediator.ok_or_else(|| {
            Error::new(
                crate::ErrorKind::Configuration,
                "this context is not attached to a mediator (it was built with Context::new); \
                 send the message through Mediator::send to get one",
            )
        })?;
        mediator::lookup(id).ok_or_else(|| {
            Error::new(
                crate::ErrorKind::Configuration,
                "the mediator that delivered this message has been dropped",
            )
        })
    }
}
