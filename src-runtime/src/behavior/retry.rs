//! [`Retry`]: runs the rest of the pipeline again after a retryable failure, with exponential
//! backoff and jitter.

use std::time::Duration;

use crate::pipeline::{AnyMessage, Behavior, Next, Reply};
use crate::{Context, Result};

/// Retries failures that [`Error::is_retryable`](crate::Error::is_retryable) (timeouts and
/// unavailable dependencies); any other error is returned at once.
///
/// The pause before retry `n` (counting from 0) is `base_delay * 2^n`, capped at `max_delay`,
/// then jittered to a random value between half and all of it, so that callers that failed
/// together do not retry together. No retry starts if its pause would end past the context's
/// deadline.
///
/// Options: [`exponential(max_attempts)`](Retry::exponential) (attempts including the first,
/// default delays 50 ms base and 5 s cap), [`base_delay`](Retry::base_delay),
/// [`max_delay`](Retry::max_delay), [`without_jitter`](Retry::without_jitter).
///
/// ```
/// use catga::prelude::*;
/// use std::time::Duration;
///
/// let retry = Retry::exponential(4)
///     .base_delay(Duration::from_millis(20))
///     .max_delay(Duration::from_secs(1));
/// assert_eq!(retry.max_attempts(), 4);
/// ```
#[derive(Debug, Clone)]
pub struct Retry {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    jitter: bool,
}

impl Retry {
    /// Up to `max_attempts` attempts in all (the first included; 0 counts as 1).
    pub fn exponential(max_attempts: u32) -> Self {
        Retry {
            max_attempts: max_attempts.max(1),
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
            jitter: true,
        }
    }

    /// The pause before the first retry; each later pause doubles it.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest pause between two attempts.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Pauses exactly `base_delay * 2^n` (capped), with no randomness.
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// Attempts in all, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The pause before retry `retry` (0 for the first retry).
    pub fn delay_before(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry);
        let full = self.base_delay.saturating_mul(factor).min(self.max_delay);
        if self.jitter {
            let half = full / 2;
            half + half.mul_f64(fastrand::f64())
        } else {
            full
        }
    }
}

impl Behavior for Retry {
    async fn handle(
        &self,
        message: &dyn AnyMessage,
        ctx: Context,
        next: Next<'_>,
    ) -> Result<Reply> {
        let mut attempt = 1;
        loop {
            let err = match next.run(ctx.clone()).await {
                Ok(reply) => return Ok(reply),
                Err(err) => err,
            };
            if !err.is_retryable() || attempt >= self.max_attempts {
                return Err(err);
            }
            let pause = self.delay_before(attempt - 1);
            let resume = tokio::time::Instant::now() + pause;
            if ctx.deadline().is_some_and(|deadline| resume >= deadline) {
                return Err(err);
            }
            tracing::debug!(
                message_type = message.type_name(),
                attempt,
                pause_ms = pause.as_millis() as u64,
                error = %err,
                "retrying"
            );
            crate::telemetry::metrics::retried(message.type_name(), "pipeline");
            tokio::time::sleep_until(resume).await;
            attempt += 1;
        }
    }
}
