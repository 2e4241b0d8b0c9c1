//! Sagas: ordered steps with compensation, persisted through a [`SagaStore`].
//!
//! A [`Saga`] names its steps and says how to execute and compensate each one; a [`SagaRunner`]
//! runs an instance step by step, saves its state after every step, compensates the completed
//! steps in reverse order when one fails, and resumes instances that a restart interrupted.
//! The guide, `docs/sagas.md` (rendered as [`guide`]), has a complete example and states the
//! resume guarantee and its limits.

mod definition;
mod failure;
mod memory;
mod record;
mod runner;
mod store;

pub use crate::idempotency::BoxFuture;
pub use definition::Saga;
pub use failure::SagaFailure;
pub use memory::MemorySagaStore;
pub use record::{SagaRecord, SagaStatus, StepFailure};
pub use runner::{ResumedSaga, SagaRunner};
pub use store::{SagaStore, already_exists, moved_on, not_stored};

// `guide/sagas.md` links to `docs/sagas.md`: inside the crate, so the package has it.
#[doc = include_str!("../../guide/sagas.md")]
pub mod guide {}
