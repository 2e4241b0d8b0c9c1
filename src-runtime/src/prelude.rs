//! Everything a service needs, in one import: `use catga::prelude::*;`.

pub use serde::{Deserialize, Serialize};

pub use crate::behavior::{
    CircuitBreaker, CircuitState, ConcurrencyLimit, MessageCounts, Metrics, RateLimit, Retry,
    Timeout, Tracing, Validation,
};
pub use crate::handler::{EventHandler, Handler};
pub use crate::mediator::{Mediator, MediatorBuilder, PublishError};
pub use crate::message::{Command, Event, Idempotent, Message, Query, Request, Validate};
pub use crate::pipeline::{AnyMessage, Behavior, Next, Reply};
pub use crate::saga::{Saga, SagaRunner};
pub use crate::{Context, Error, ErrorKind, MessageId};
pub use catga_macros::{Command, Event, Query};
