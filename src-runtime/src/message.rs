//! The message traits: what commands, queries and events are, plus the two opt-in capabilities
//! a message can have, [`Validate`] and [`Idempotent`].
//!
//! The derives (`#[derive(Command)]`, `#[derive(Query)]`, `#[derive(Event)]`) implement these
//! traits and wire the opt-ins automatically; hand-written impls override the hook methods.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Result;

/// Whether a message is a command, a query or an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Asks for a change; handled by exactly one [`Handler`](crate::Handler).
    Command,
    /// Asks for data without changing state; handled by exactly one handler.
    Query,
    /// Reports something that happened; handled by any number of
    /// [`EventHandler`](crate::EventHandler)s.
    Event,
}

impl MessageKind {
    /// `"command"`, `"query"` or `"event"`.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Command => "command",
            MessageKind::Query => "query",
            MessageKind::Event => "event",
        }
    }
}

/// Anything the mediator carries.
///
/// Messages are plain data: cloneable (a retried message is sent again) and shareable between
/// threads.
pub trait Message: Clone + Send + Sync + 'static {
    /// The type's name, used in errors, spans and metrics (`"CreateOrder"`).
    const NAME: &'static str;
    /// Command, query or event.
    const KIND: MessageKind;

    /// Runs the message's [`Validate`] impl, or accepts it when there is none.
    ///
    /// The derives implement this for you; a hand-written impl of a message that implements
    /// [`Validate`] overrides it with `Validate::validate(self)`.
    fn validate_hook(&self) -> Result<()> {
        Ok(())
    }
}

/// A message that expects one response from one handler: a [`Command`] or a [`Query`].
pub trait Request: Message {
    /// What the handler returns.
    type Response: Send + 'static;

    /// How to deduplicate this request, when it is [`Idempotent`].
    ///
    /// The derives implement this for you; a hand-written impl of an [`Idempotent`] command
    /// overrides it with `Some(IdempotencyHooks::of())`.
    fn idempotency() -> Option<IdempotencyHooks<Self>> {
        None
    }
}

/// A request that changes state.
pub trait Command: Request {}

/// A request that reads state.
pub trait Query: Request {}

/// A fact that handlers react to; delivered to every registered
/// [`EventHandler`](crate::EventHandler).
pub trait Event: Message {}

/// A check a message runs on itself before any handler sees it; enforced by the
/// [`Validation`](crate::behavior::Validation) behavior.
///
/// ```
/// use catga::prelude::*;
///
/// #[derive(Debug, Clone, Command)]
/// struct Deposit { amount_cents: u64 }
///
/// impl Validate for Deposit {
///     fn validate(&self) -> catga::Result<()> {
///         if self.amount_cents == 0 {
///             return Err(catga::Error::validation("amount_cents must be positive"));
///         }
///         Ok(())
///     }
/// }
///
/// assert!(Deposit { amount_cents: 0 }.validate_hook().is_err());
/// ```
pub trait Validate {
    /// `Ok(())` when the message may be handled; an [`ErrorKind::Validation`] error otherwise.
    ///
    /// [`ErrorKind::Validation`]: crate::ErrorKind::Validation
    fn validate(&self) -> Result<()>;
}

/// A command that is deduplicated by a key: sending it again with the same key returns the
/// first execution's response instead of running the handler again.
///
/// `#[command(idempotent)]` with one `#[idempotency_key]` field derives this; implement it by
/// hand to build the key from several fields.
///
/// ```
/// use catga::prelude::*;
///
/// #[derive(Debug, Clone, Command)]
/// #[command(response = u64)]
/// struct Transfer { from: String, to: String, request: u32 }
///
/// impl Idempotent for Transfer {
///     fn idempotency_key(&self) -> String {
///         format!("{}->{}#{}", self.from, self.to, self.request)
///     }
/// }
///
/// assert!(<Transfer as catga::Request>::idempotency().is_some());
/// ```
///
/// `#[command(idempotent)]` without a key field does not compile ("needs exactly one field
/// marked `#[idempotency_key]`"), and neither do two key fields:
///
/// ```compile_fail
/// use catga::prelude::*;
///
/// #[derive(Debug, Clone, Command)]
/// #[command(idempotent)]
/// struct Charge { payment_id: String }
/// ```
///
/// ```compile_fail
/// use catga::prelude::*;
///
/// #[derive(Debug, Clone, Command)]
/// #[command(idempotent)]
/// struct Charge { #[idempotency_key] a: String, #[idempotency_key] b: String }
/// ```
pub trait Idempotent: Command<Response: Serialize + DeserializeOwned> {
    /// The key that identifies one logical execution of this command.
    fn idempotency_key(&self) -> String;
}

/// What the idempotency behavior needs from an [`Idempotent`] request, as plain functions so it
/// can be used without an `Idempotent` bound.
pub struct IdempotencyHooks<R: Request> {
    pub(crate) key: fn(&R) -> String,
    pub(crate) encode: fn(&R::Response) -> Result<Vec<u8>>,
    pub(crate) decode: fn(&[u8]) -> Result<R::Response>,
}

impl<R: Idempotent> IdempotencyHooks<R> {
    /// The hooks of an [`Idempotent`] command: its key, and its response through serde_json.
    pub fn of() -> Self {
        IdempotencyHooks {
            key: R::idempotency_key,
            encode: |response| Ok(serde_json::to_vec(response)?),
            decode: |bytes| Ok(serde_json::from_slice(bytes)?),
        }
    }
}

impl<R: Request> IdempotencyHooks<R> {
    /// The idempotency key of `request` (what [`Idempotent::idempotency_key`] returns): for an
    /// entry point that checks a key its caller gave against the command's own.
    pub fn key_of(&self, request: &R) -> String {
        (self.key)(request)
    }
}

impl<R: Request> Clone for IdempotencyHooks<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R: Request> Copy for IdempotencyHooks<R> {}

impl<R: Request> std::fmt::Debug for IdempotencyHooks<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdempotencyHooks<{}>", R::NAME)
    }
}
