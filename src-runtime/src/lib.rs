//! catga: a CQRS runtime for Rust.
//!
//! Commands, queries and events; one [`Handler`] per request type and any number of
//! [`EventHandler`]s per event; a [`Mediator`] that dispatches them through a pipeline of
//! behaviors; idempotent commands; sagas with compensation.

mod context;
mod error;
pub mod idempotency;
pub mod saga;

pub use context::{Context, MessageId};
pub use error::{Error, ErrorKind, Result};
