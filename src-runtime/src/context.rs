//! The per-message context handed to every handler, behavior and saga step: ids, deadline, and
//! a way back into the mediator for messages sent from inside a handler.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::time::Instant;

use crate::mediator::{self, MediatorId};
use crate::message::{Event, Request};
use crate::transport::{Outbox, OutboxEntry};
use crate::{Error, Result};

/// Identifies one message. Ids are unique within a process run (a counter) and random across
/// runs (the counter starts at a random point chosen once per process).
///
/// 64 bits keep [`Context`] small enough for the mediator to store a handler's future inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u64);

impl MessageId {
    /// A fresh id. Costs a thread-local counter bump, no clock read and no randomness.
    #[inline]
    pub fn next() -> Self {
        /// How many ids a thread takes from the global counter at once.
        const BLOCK: u64 = 1024;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        static PROCESS_START: OnceLock<u64> = OnceLock::new();
        thread_local! {
            /// How many ids of this thread's block are left, and the next one.
            static BLOCK_STATE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        BLOCK_STATE.with(|state| {
            let (mut left, mut next) = state.get();
            if left == 0 {
                let start = *PROCESS_START.get_or_init(|| fastrand::u64(..));
                next = start.wrapping_add(COUNTER.fetch_add(BLOCK, Ordering::Relaxed));
                left = BLOCK;
            }
            state.set((left - 1, next.wrapping_add(1)));
            MessageId(next)
        })
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
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
    message_id: MessageId,
    correlation_id: MessageId,
    /// The causation id, meaningful when `caused` is set (an `Option` would add 8 bytes, and a
    /// small context keeps handler futures inline).
    causation_id: MessageId,
    caused: bool,
    deadline: Option<Instant>,
    /// The mediator that delivered the message; [`DETACHED`] for none.
    mediator: MediatorId,
}

/// The `mediator` of a context that belongs to no mediator (live mediators count from 1).
const DETACHED: MediatorId = 0;

impl Context {
    /// A context for a message that starts a new conversation, attached to no mediator (so
    /// [`send`](Context::send) and [`publish`](Context::publish) fail). Useful to call a
    /// handler directly in a test; for work a process starts itself, take
    /// [`Mediator::context`](crate::Mediator::context), which is attached.
    #[inline]
    pub fn new(message_id: MessageId) -> Self {
        Context {
            message_id,
            correlation_id: message_id,
            causation_id: message_id,
            caused: false,
            deadline: None,
            mediator: DETACHED,
        }
    }

    /// The context of a message sent from outside any handler through mediator `mediator`.
    #[inline]
    pub(crate) fn root(mediator: MediatorId) -> Self {
        let mut ctx = Context::new(MessageId::next());
        ctx.mediator = mediator;
        ctx
    }

    /// The context of a message that arrived over a transport: a fresh id in this process, in
    /// the conversation `correlation_id` (when the sender's id is one of ours), delivered by
    /// mediator `mediator`.
    pub(crate) fn arrived(mediator: MediatorId, correlation_id: Option<MessageId>) -> Self {
        let mut ctx = Context::root(mediator);
        if let Some(correlation_id) = correlation_id {
            ctx.correlation_id = correlation_id;
        }
        ctx
    }

    /// The context of a message caused by the one this context belongs to.
    pub fn child(&self) -> Self {
        Context {
            message_id: MessageId::next(),
            correlation_id: self.correlation_id,
            causation_id: self.message_id,
            caused: true,
            deadline: self.deadline,
            mediator: self.mediator,
        }
    }

    /// This message's id.
    pub fn message_id(&self) -> MessageId {
        self.message_id
    }

    /// The id shared by every message in one conversation.
    pub fn correlation_id(&self) -> MessageId {
        self.correlation_id
    }

    /// The id of the message whose handling caused this one, if any.
    pub fn causation_id(&self) -> Option<MessageId> {
        self.caused.then_some(self.causation_id)
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

    /// This context without a deadline: for work that goes on after its caller stops waiting
    /// (a detached saga run).
    pub(crate) fn without_deadline(mut self) -> Self {
        self.deadline = None;
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

    /// The hook an outbox's crate builds its unit of work on (catga-sqlite's
    /// `ctx.commit(|tx| ..)`, through its `UnitOfWork` trait): runs `commit` with the
    /// mediator's outbox, which must be an `O`, and the exported events this handling has
    /// published so far. `commit` stores those events together with the handler's own writes,
    /// in one transaction, or neither: so a command that is not idempotent loses neither
    /// without the other in a crash (an idempotent one's events already commit with its
    /// record). When `commit` fails, the events go back to the handling, stored if it succeeds
    /// after all. Events published after it are stored when the handling succeeds, as usual.
    ///
    /// Fails with [`ErrorKind::Configuration`](crate::ErrorKind::Configuration) when the
    /// mediator has no outbox or one of another kind than `O`.
    pub async fn unit_of_work<O, T, F, Fut>(&self, commit: F) -> Result<T>
    where
        O: Outbox + Clone,
        F: FnOnce(O, Vec<OutboxEntry>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.attached_mediator()?.unit_of_work(commit).await
    }

    fn attached_mediator(&self) -> Result<crate::Mediator> {
        if self.mediator == DETACHED {
            return Err(Error::new(
                crate::ErrorKind::Configuration,
                "this context is not attached to a mediator (it was built with Context::new); \
                 take one from Mediator::context, or send the message through Mediator::send",
            ));
        }
        mediator::lookup(self.mediator).ok_or_else(|| {
            Error::new(
                crate::ErrorKind::Configuration,
                "the mediator that delivered this message has been dropped",
            )
        })
    }
}
