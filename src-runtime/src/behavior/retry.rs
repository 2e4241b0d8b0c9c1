//! [`Retry`]: runs the rest of the pipeline again after a retryable failure, with exponential
//! backoff and jitter. The same policy paces remote sends asked again while their outcome is
//! in doubt ([`send_retrying`](crate::transport::send_retrying)).

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::pipeline::{AnyMessage, Behavior, Next, Reply};
use crate::{Context, Error, Result};

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
/// [`max_delay`](Retry::max_delay), [`without_jitter`](Retry::without_jitter),
/// [`attempt_timeout`](Retry::attempt_timeout) (none by default).
///
/// ```
/// use catga::prelude::*;
/// use std::time::Duration;
///
/// let retry = Retry::exponential(4)
///     .base_delay(Duration::from_millis(20))
///     .max_delay(Duration::from_secs(1))
///     .attempt_timeout(Duration::from_secs(2));
/// assert_eq!(retry.max_attempts(), 4);
/// ```
#[derive(Debug, Clone)]
pub struct Retry {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    jitter: bool,
    attempt_timeout: Option<Duration>,
}

impl Retry {
    /// Up to `max_attempts` attempts in all (the first included; 0 counts as 1).
    pub fn exponential(max_attempts: u32) -> Self {
        Retry {
            max_attempts: max_attempts.max(1),
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(5),
            jitter: true,
            attempt_timeout: None,
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

    /// How long one attempt may take: past it the attempt is dropped and fails with
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout), which is retried. Each attempt's
    /// context carries the earlier of this and the context's own deadline. Without it, an
    /// attempt may take until the context's deadline.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = Some(timeout);
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

    /// Runs `attempt` until it succeeds, fails with an error `retryable` refuses, has run
    /// `max_attempts` times, or the next pause would end past `ctx`'s deadline; returns the last
    /// outcome. Each attempt gets `ctx` bounded by the attempt timeout. `stage` labels the
    /// retries in the metrics (`pipeline`, `remote`).
    pub(crate) async fn run<T, F, Fut>(
        &self,
        ctx: &Context,
        message_type: &'static str,
        stage: &'static str,
        retryable: fn(&Error) -> bool,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut(Context) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempts = 1;
        loop {
            let err = match self.attempt(ctx, message_type, &mut attempt).await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            if !retryable(&err) || attempts >= self.max_attempts {
                return Err(err);
            }
            let pause = self.delay_before(attempts - 1);
            let resume = Instant::now() + pause;
            if ctx.deadline().is_some_and(|deadline| resume >= deadline) {
                return Err(err);
            }
            tracing::debug!(
                message_type,
                stage,
                attempt = attempts,
                pause_ms = pause.as_millis() as u64,
                error = %err,
                "retrying"
            );
            crate::telemetry::metrics::retried(message_type, stage);
            tokio::time::sleep_until(resume).await;
            attempts += 1;
        }
    }

    /// One attempt, dropped at the attempt timeout.
    async fn attempt<T, F, Fut>(
        &self,
        ctx: &Context,
        message_type: &str,
        attempt: &mut F,
    ) -> Result<T>
    where
        F: FnMut(Context) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let Some(timeout) = self.attempt_timeout else {
            return attempt(ctx.clone()).await;
        };
        let own_deadline = Instant::now() + timeout;
        let ctx = ctx.clone().with_deadline(own_deadline);
        let deadline = ctx.deadline().unwrap_or(own_deadline);
        match tokio::time::timeout_at(deadline, attempt(ctx)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::timeout(format!(
                "an attempt at `{message_type}` did not finish within its deadline \
                 ({timeout:?} attempt timeout)"
            ))),
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
        let message_type = message.type_name();
        self.run(&ctx, message_type, "pipeline", Error::is_retryable, |ctx| {
            next.run(ctx)
        })
        .await
    }
}
