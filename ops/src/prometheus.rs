//! Catga's metrics in Prometheus' text format: the `metrics` facade's recorder from
//! `metrics-exporter-prometheus`, with histogram buckets for the `_seconds` metrics, and the
//! gauges sampled from stores ([`watch_outbox`]).

use std::sync::OnceLock;
use std::time::Duration;

use std::sync::Arc;

use catga::transport::{Outbox, Transport};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The buckets of every `_seconds` histogram, from half a millisecond to half a minute.
pub const SECONDS_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Undelivered entries in an outbox (label `outbox`), sampled by [`watch_outbox`].
pub const OUTBOX_PENDING: &str = "catga_outbox_pending";

/// Seconds the oldest undelivered entry of an outbox has waited, 0 when none waits (label
/// `outbox`), sampled by [`watch_outbox`].
pub const OUTBOX_OLDEST_AGE: &str = "catga_outbox_oldest_age_seconds";

/// Messages stored and not yet delivered to a consumer group (labels `group`, `subject`),
/// sampled by [`watch_consumer_lag`].
pub const CONSUMER_LAG: &str = "catga_consumer_lag";

/// The process' Prometheus recorder: what `/metrics` renders.
#[derive(Debug, Clone)]
pub struct Prometheus {
    handle: PrometheusHandle,
}

static INSTALLED: OnceLock<Prometheus> = OnceLock::new();

impl Prometheus {
    /// Installs the Prometheus recorder as the process' `metrics` recorder (once: later calls
    /// return the same one) and describes catga's metrics to it. Fails when another recorder
    /// was installed first.
    pub fn install() -> catga::Result<Prometheus> {
        if let Some(installed) = INSTALLED.get() {
            return Ok(installed.clone());
        }
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), &SECONDS_BUCKETS)
            .and_then(PrometheusBuilder::install_recorder)
            .map_err(|error| {
                catga::Error::new(
                    catga::ErrorKind::Configuration,
                    format!("cannot install the Prometheus recorder: {error}"),
                )
            })?;
        catga::telemetry::metrics::describe();
        metrics::describe_gauge!(OUTBOX_PENDING, "Undelivered entries in an outbox");
        metrics::describe_gauge!(
            OUTBOX_OLDEST_AGE,
            metrics::Unit::Seconds,
            "How long the oldest undelivered outbox entry has waited"
        );
        metrics::describe_gauge!(
            CONSUMER_LAG,
            "Messages stored and not yet delivered to a consumer group"
        );
        Ok(INSTALLED.get_or_init(|| Prometheus { handle }).clone())
    }

    /// Every metric recorded so far, in Prometheus' text exposition format (0.0.4).
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }
}

/// Samples `outbox`'s undelivered entries into [`OUTBOX_PENDING`] and the wait of the oldest
/// into [`OUTBOX_OLDEST_AGE`] (label `outbox = name`) every `every`, until the task is
/// dropped. A sample that fails (the store cannot be read)
/// leaves the gauge as it was, and the readiness check
/// ([`Health::outbox`](crate::Health::outbox)) says why.
pub async fn watch_outbox(name: impl Into<String>, outbox: impl Outbox, every: Duration) {
    let name = name.into();
    let pending_gauge = metrics::gauge!(OUTBOX_PENDING, "outbox" => name.clone());
    let age_gauge = metrics::gauge!(OUTBOX_OLDEST_AGE, "outbox" => name);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match outbox.pending().await {
            // Precise up to 2^53 entries.
            Ok(pending) => pending_gauge.set(pending as f64),
            Err(error) => tracing::debug!(%error, "catga-ops: cannot sample the outbox"),
        }
        match outbox.oldest_pending_age().await {
            Ok(age) => age_gauge.set(age.unwrap_or_default().as_secs_f64()),
            Err(error) => tracing::debug!(%error, "catga-ops: cannot sample the outbox"),
        }
    }
}

/// Samples consumer group `group`'s lag on each of `subjects` ([`Transport::lag`]: NATS'
/// `num_pending`) into [`CONSUMER_LAG`] every `every`, until the task is dropped. A subject the
/// transport cannot tell about (the group has not subscribed yet) is skipped until it can.
pub async fn watch_consumer_lag(
    transport: Arc<dyn Transport>,
    group: impl Into<String>,
    subjects: Vec<String>,
    every: Duration,
) {
    let group = group.into();
    let gauges: Vec<(String, metrics::Gauge)> = subjects
        .into_iter()
        .map(|subject| {
            let gauge =
                metrics::gauge!(CONSUMER_LAG, "group" => group.clone(), "subject" => subject.clone());
            (subject, gauge)
        })
        .collect();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for (subject, gauge) in &gauges {
            match transport.lag(&group, subject).await {
                // Precise up to 2^53 messages.
                Ok(Some(lag)) => gauge.set(lag as f64),
                Ok(None) => {}
                Err(error) => {
                    tracing::debug!(%error, group, subject, "catga-ops: cannot read a consumer's lag");
                }
            }
        }
    }
}
