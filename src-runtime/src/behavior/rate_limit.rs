//! [`RateLimit`]: a token bucket that caps how many messages start per unit of time.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::pipeline::{AnyMessage, Behavior, Next, Reply};
use crate::{Context, Error, Result};

/// A token bucket: refills at `rate` tokens per `period`, holds at most `burst` tokens, and each
/// message takes one. When the bucket is empty the message is rejected with
/// [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) (retryable), or, with
/// [`wait`](RateLimit::wait), waits for its token.
///
/// One bucket is shared by every message type the behavior is installed for, and by its clones.
///
/// ```
/// use catga::prelude::*;
///
/// let limit = RateLimit::per_second(100).burst(20).wait();
/// assert_eq!(limit.capacity(), 20);
/// ```
#[derive(Debug, Clone)]
pub struct RateLimit {
    /// Time for one token to come back.
    interval: Duration,
    burst: u32,
    wait: bool,
    bucket: Arc<Mutex<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    /// Tokens left at `updated`; negative when waiters have reserved tokens not yet refilled.
    tokens: f64,
    updated: Option<Instant>,
}

impl RateLimit {
    /// `rate` messages per `period` (0 counts as 1), with a burst of `rate`.
    pub fn new(rate: u32, period: Duration) -> Self {
        let rate = rate.max(1);
        RateLimit {
            interval: period / rate,
            burst: rate,
            wait: false,
            bucket: Arc::new(Mutex::new(Bucket {
                tokens: f64::from(rate),
                updated: None,
            })),
        }
    }

    /// `rate` messages per second.
    pub fn per_second(rate: u32) -> Self {
        Self::new(rate, Duration::from_secs(1))
    }

    /// At most `burst` messages may start back to back after a quiet period (0 counts as 1).
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        bucket.tokens = f64::from(self.burst);
        drop(bucket);
        self
    }

    /// Waits for a token instead of rejecting the message.
    pub fn wait(mut self) -> Self {
        self.wait = true;
        self
    }

    /// The bucket's size (the burst).
    pub fn capacity(&self) -> u32 {
        self.burst
    }

    /// Takes a token; returns how long to wait for it when the bucket is empty. In reject mode
    /// an empty bucket gives nothing away.
    fn take(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let refilled = bucket.updated.map_or(0.0, |updated| {
            now.duration_since(updated).as_secs_f64()
                / self.interval.as_secs_f64().max(f64::MIN_POSITIVE)
        });
        bucket.tokens = (bucket.tokens + refilled).min(f64::from(self.burst));
        bucket.updated = Some(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return None;
        }
        let shortfall = 1.0 - bucket.tokens;
        if self.wait {
            bucket.tokens -= 1.0;
        }
        Some(self.interval.mul_f64(shortfall))
    }
}

impl Behavior for RateLimit {
    async fn handle(
        &self,
        message: &dyn AnyMessage,
        ctx: Context,
        next: Next<'_>,
    ) -> Result<Reply> {
        if let Some(pause) = self.take() {
            if !self.wait {
                return Err(Error::unavailable(format!(
                    "rate limit exceeded for `{}`; next token in {pause:?}",
                    message.type_name()
                )));
            }
            tokio::time::sleep(pause).await;
        }
        next.run(ctx).await
    }
}
