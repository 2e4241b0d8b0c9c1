//! Idempotent commands: deduplicated by key through an [`IdempotencyStore`].

mod behavior;
mod memory;
mod store;

pub(crate) use behavior::IdempotencyBehavior;
pub use memory::MemoryIdempotencyStore;
pub use store::{BoxFuture, Claim, Fence, IdempotencyStore, claim_lost};
