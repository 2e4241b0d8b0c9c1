//! catga: a CQRS runtime for Rust.
//!
//! Commands, queries and events; one [`Handler`] per request type and any number of
//! [`EventHandler`]s per event; a [`Mediator`] that dispatches them through a pipeline of
//! behaviors; idempotent commands; sagas with compensation.
//!
//! Start with [`prelude`] and the guide in `docs/runtime.md` (rendered as [`guide`]).

// Lets the derives' `::catga::..` paths resolve inside this crate too (unit tests, doc tests).
#[allow(unused_extern_crates)]
extern crate self as catga;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod behavior;
mod context;
mod error;
mod future_slot;
mod handler;
pub mod idempotency;
mod invalid_field;
pub mod leadership;
mod mediator;
mod message;
mod pipeline;
pub mod prelude;
pub mod saga;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transport;

pub use catga_macros::{Command, Event, Query, handler};
pub use context::{Context, MessageId};
pub use error::{Error, ErrorKind, Result};
pub use future_slot::INLINE_FUTURE_BYTES;
pub use handler::{EventHandler, Handler};
pub use invalid_field::InvalidField;
pub use mediator::{
    AutoRegistration, DEFAULT_IDEMPOTENCY_LEASE, HandlerFailure, Mediator, MediatorBuilder, Origin,
    PublishError,
};
pub use message::{
    Command, Event, IdempotencyHooks, Idempotent, Message, MessageKind, Query, Request, Validate,
};
pub use pipeline::{AnyMessage, Behavior, Next, Reply};

// `guide/runtime.md` links to `docs/runtime.md`: inside the crate, so the package has it.
#[doc = include_str!("../guide/runtime.md")]
pub mod guide {}
