//! Sagas: ordered steps with compensation, persisted through a [`SagaStore`].
//!
//! A [`Saga`] names its steps and says how to execute and compensate each one; a [`SagaRunner`]
//! runs an instance step by step, saves its state after every step, compensates the completed
//! steps in reverse order when one fails, and resumes instances that a restart interrupted.
//! See `docs/sagas.md` for the guarantees and their limits.

mod definition;
mod memory;
mod record;
mod runner;
mod sqlite;
mod store;

pub use crate::idempotency::BoxFuture;
pub use definition::Saga;
pub use memory::MemorySagaStore;
pub use record::{SagaRecord, SagaStatus, StepFailure};
pub use runner::{ResumedSaga, SagaFailure, SagaRunner};
pub use sqlite::SqliteSagaStore;
pub use store::SagaStore;
