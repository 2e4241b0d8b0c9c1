//! [`ConcurrencyLimit`]: caps how many messages run at once.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::pipeline::{AnyMessage, Behavior, Next, Reply};
use crate::{Context, Result};

/// Lets at most `max` messages through this behavior at once; the others wait their turn
/// (in arrival order). One limit is shared by every message type the behavior is installed
/// for; use [`behavior_for`](crate::MediatorBuilder::behavior_for) for a per-type limit.
///
/// ```
/// use catga::prelude::*;
///
/// let limit = ConcurrencyLimit::new(16);
/// assert_eq!(limit.available(), 16);
/// ```
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit {
    permits: Arc<Semaphore>,
}

impl ConcurrencyLimit {
    /// At most `max` at once (0 counts as 1).
    pub fn new(max: usize) -> Self {
        ConcurrencyLimit {
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }

    /// How many more messages could start right now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

impl Behavior for ConcurrencyLimit {
    async fn handle(
        &self,
        message: &dyn AnyMessage,
        ctx: Context,
        next: Next<'_>,
    ) -> Result<Reply> {
        let _permit = self.permits.acquire().await.map_err(|_| {
            crate::Error::internal(format!(
                "the concurrency limit guarding `{}` was closed",
                message.type_name()
            ))
        })?;
        next.run(ctx).await
    }
}
