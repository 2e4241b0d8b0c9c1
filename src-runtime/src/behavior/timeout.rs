//! [`Timeout`]: bounds how long the rest of the pipeline may take.

use std::time::Duration;

use crate::pipeline::{AnyMessage, Behavior, Next, Reply};
use crate::{Context, Error, Result};

/// Fails with [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when the rest of the pipeline
/// does not finish within the duration, and drops (cancels) it.
///
/// It also sets the context's [deadline](Context::deadline) (keeping an earlier one), so the
/// handler and the messages it sends can see how long they have.
///
/// ```
/// use catga::prelude::*;
/// use std::time::Duration;
///
/// let timeout = Timeout::after(Duration::from_secs(2));
/// assert_eq!(timeout.duration(), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Timeout {
    duration: Duration,
}

impl Timeout {
    /// A timeout of `duration` per message.
    pub fn after(duration: Duration) -> Self {
        Timeout { duration }
    }

    /// The configured duration.
    pub fn duration(&self) -> Duration {
        self.duration
    }
}

impl Behavior for Timeout {
    async fn handle(
        &self,
        message: &dyn AnyMessage,
        ctx: Context,
        next: Next<'_>,
    ) -> Result<Reply> {
        let own_deadline = tokio::time::Instant::now() + self.duration;
        let ctx = ctx.with_deadline(own_deadline);
        let deadline = ctx.deadline().unwrap_or(own_deadline);
        match tokio::time::timeout_at(deadline, next.run(ctx)).await {
            Ok(result) => result,
            Err(_) => Err(Error::timeout(format!(
                "`{}` did not finish within its deadline ({:?} timeout)",
                message.type_name(),
                self.duration
            ))),
        }
    }
}
