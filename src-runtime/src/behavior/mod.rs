//! The behaviors that ship with catga, one module each. Install them with
//! [`MediatorBuilder::behavior`](crate::MediatorBuilder::behavior) (every message) or
//! [`MediatorBuilder::behavior_for`](crate::MediatorBuilder::behavior_for) (one message type).
//!
//! Idempotency is not listed here: the mediator installs it itself for every
//! [`Idempotent`](crate::Idempotent) command.

mod circuit_breaker;
mod concurrency;
mod metrics;
mod rate_limit;
mod retry;
mod timeout;
mod trace;
mod validation;

pub use circuit_breaker::{CircuitBreaker, CircuitState};
pub use concurrency::ConcurrencyLimit;
pub use metrics::{MessageCounts, Metrics};
pub use rate_limit::RateLimit;
pub use retry::Retry;
pub use timeout::Timeout;
pub use trace::Tracing;
pub use validation::Validation;
