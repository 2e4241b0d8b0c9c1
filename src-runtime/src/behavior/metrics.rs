//! [`Metrics`]: started / succeeded / failed counters per message type, readable in process,
//! and (feature `metrics`) the handled count and duration histogram through the `metrics`
//! facade.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::pipeline::{AnyMessage, Behavior, Next, Reply};
use crate::{Context, Result};

/// Counts messages per type. Clones share the counters: keep one clone to read them.
///
/// With the crate's `metrics` feature, each handling is also recorded through the `metrics`
/// facade as [`catga_messages_handled_total`](crate::telemetry::metrics::HANDLED_TOTAL) and
/// [`catga_message_handling_seconds`](crate::telemetry::metrics::HANDLING_SECONDS), labelled
/// with the message type and the outcome (`ok` or the error's kind), for an exporter such as
/// `catga-ops`' Prometheus endpoint.
///
/// ```
/// use catga::prelude::*;
///
/// let metrics = Metrics::new();
/// let _mediator = Mediator::builder().behavior(metrics.clone()).build()?;
/// assert_eq!(metrics.counts("CreateOrder"), MessageCounts::default());
/// # Ok::<(), catga::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    counters: Arc<RwLock<HashMap<&'static str, Arc<Counters>>>>,
}

#[derive(Debug, Default)]
struct Counters {
    started: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
}

/// The counts of one message type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounts {
    /// Messages that entered the behavior.
    pub started: u64,
    /// Messages whose pipeline returned `Ok`.
    pub succeeded: u64,
    /// Messages whose pipeline returned an error.
    pub failed: u64,
}

impl Metrics {
    /// Empty counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counts of `message_type` (its [`Message::NAME`](crate::Message::NAME)); zeros if
    /// none was seen.
    pub fn counts(&self, message_type: &str) -> MessageCounts {
        let counters = self.counters.read().unwrap_or_else(PoisonError::into_inner);
        counters
            .get(message_type)
            .map_or_else(MessageCounts::default, |c| c.snapshot())
    }

    /// The counts of every message type seen so far, sorted by type name.
    pub fn snapshot(&self) -> Vec<(&'static str, MessageCounts)> {
        let counters = self.counters.read().unwrap_or_else(PoisonError::into_inner);
        let mut all: Vec<_> = counters
            .iter()
            .map(|(name, c)| (*name, c.snapshot()))
            .collect();
        all.sort_by_key(|(name, _)| *name);
        all
    }

    fn counters_for(&self, name: &'static str) -> Arc<Counters> {
        if let Some(counters) = self
            .counters
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return Arc::clone(counters);
        }
        let mut all = self
            .counters
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(all.entry(name).or_default())
    }
}

impl Counters {
    fn snapshot(&self) -> MessageCounts {
        MessageCounts {
            started: self.started.load(Ordering::Relaxed),
            succeeded: self.succeeded.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

impl Behavior for Metrics {
    async fn handle(
        &self,
        message: &dyn AnyMessage,
        ctx: Context,
        next: Next<'_>,
    ) -> Result<Reply> {
        let counters = self.counters_for(message.type_name());
        counters.started.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        let started = std::time::Instant::now();
        let result = next.run(ctx).await;
        #[cfg(feature = "metrics")]
        crate::telemetry::metrics::handled(
            message.type_name(),
            crate::telemetry::metrics::outcome(&result),
            started.elapsed(),
        );
        let outcome = if result.is_ok() {
            &counters.succeeded
        } else {
            &counters.failed
        };
        outcome.fetch_add(1, Ordering::Relaxed);
        result
    }
}
