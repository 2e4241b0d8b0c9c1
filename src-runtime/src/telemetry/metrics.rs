//! The metrics catga records, through the [`metrics`](https://docs.rs/metrics) facade when the
//! crate's `metrics` feature is on (without it, every function here does nothing and the
//! facade is not a dependency). A recorder installed by the application (`catga-ops` installs
//! the Prometheus one) receives them; without one the facade drops them.
//!
//! | Name | Kind | Labels | Recorded by |
//! |---|---|---|---|
//! | [`HANDLED_TOTAL`] | counter | `message_type`, `outcome` | the [`Metrics`](crate::behavior::Metrics) behavior |
//! | [`HANDLING_SECONDS`] | histogram | `message_type`, `outcome` | the [`Metrics`](crate::behavior::Metrics) behavior |
//! | [`RETRIES_TOTAL`] | counter | `message_type`, `stage` | the [`Retry`](crate::behavior::Retry) behavior (`stage="pipeline"`), [`EventConsumer`](crate::transport::EventConsumer) (`stage="consumer"`), [`send_retrying`](crate::transport::send_retrying) (`stage="remote"`) |
//! | [`DEAD_LETTERS_TOTAL`] | counter | `message_type`, `group` | [`EventConsumer`](crate::transport::EventConsumer) |
//! | [`DELIVERIES_TOTAL`] | counter | `message_type`, `group`, `outcome` | [`EventConsumer`](crate::transport::EventConsumer): `applied`, `duplicate`, `retried`, `dead_lettered` |
//! | [`IDEMPOTENT_HITS_TOTAL`] | counter | `message_type`, `source` | the idempotency behavior: a duplicate answered from the store (`stored`) or from the execution in flight (`in_flight`) |
//! | [`SAGA_STEPS_TOTAL`] | counter | `saga`, `step`, `outcome` | the [`SagaRunner`](crate::saga::SagaRunner), once per step it runs |
//! | [`SAGA_COMPENSATIONS_TOTAL`] | counter | `saga`, `step`, `outcome` | the [`SagaRunner`](crate::saga::SagaRunner), once per compensation it runs |
//!
//! `outcome` is `ok` or the error's kind ([`ErrorKind::as_str`](crate::ErrorKind::as_str)),
//! so the label has a few values, never an error message.

#![cfg_attr(not(feature = "metrics"), allow(unused_variables))]

/// Messages handled, by type and outcome.
pub const HANDLED_TOTAL: &str = "catga_messages_handled_total";
/// How long handling took, in seconds, by type and outcome.
pub const HANDLING_SECONDS: &str = "catga_message_handling_seconds";
/// Attempts after a failure, by type and stage (`pipeline`, `consumer` or `remote`).
pub const RETRIES_TOTAL: &str = "catga_retries_total";
/// Messages a consumer group gave up on, by type and group.
pub const DEAD_LETTERS_TOTAL: &str = "catga_dead_letters_total";
/// Deliveries a consumer group settled, by type, group and outcome.
pub const DELIVERIES_TOTAL: &str = "catga_consumer_deliveries_total";
/// Duplicate idempotent commands answered without running, by type and source.
pub const IDEMPOTENT_HITS_TOTAL: &str = "catga_idempotent_hits_total";
/// Saga steps run, by saga, step and outcome.
pub const SAGA_STEPS_TOTAL: &str = "catga_saga_steps_total";
/// Saga compensations run, by saga, step and outcome.
pub const SAGA_COMPENSATIONS_TOTAL: &str = "catga_saga_compensations_total";

/// Describes every metric above to the installed recorder (units and help text), so an
/// exporter can print them; call it once after installing the recorder.
pub fn describe() {
    #[cfg(feature = "metrics")]
    {
        use metrics::{Unit, describe_counter, describe_histogram};
        describe_counter!(HANDLED_TOTAL, "Messages handled, by type and outcome");
        describe_histogram!(
            HANDLING_SECONDS,
            Unit::Seconds,
            "How long handling a message took, by type and outcome"
        );
        describe_counter!(RETRIES_TOTAL, "Attempts after a failure, by type and stage");
        describe_counter!(
            DEAD_LETTERS_TOTAL,
            "Messages a consumer group gave up on, by type and group"
        );
        describe_counter!(
            DELIVERIES_TOTAL,
            "Deliveries a consumer group settled, by type, group and outcome"
        );
        describe_counter!(
            IDEMPOTENT_HITS_TOTAL,
            "Duplicate idempotent commands answered without running, by type and source"
        );
        describe_counter!(
            SAGA_STEPS_TOTAL,
            "Saga steps run, by saga, step and outcome"
        );
        describe_counter!(
            SAGA_COMPENSATIONS_TOTAL,
            "Saga compensations run, by saga, step and outcome"
        );
    }
}

/// The `outcome` label of `result`: `ok` or its error's kind.
#[inline]
pub(crate) fn outcome<T>(result: &crate::Result<T>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(error) => error.kind().as_str(),
    }
}

/// One handling of `message_type` ended with `outcome` after `elapsed`.
#[cfg(feature = "metrics")]
#[inline]
pub(crate) fn handled(
    message_type: &'static str,
    outcome: &'static str,
    elapsed: std::time::Duration,
) {
    let labels = [("message_type", message_type), ("outcome", outcome)];
    metrics::counter!(HANDLED_TOTAL, &labels).increment(1);
    metrics::histogram!(HANDLING_SECONDS, &labels).record(elapsed.as_secs_f64());
}

/// `message_type` is attempted again after a failure, by `stage`.
#[inline]
pub(crate) fn retried(message_type: &'static str, stage: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(RETRIES_TOTAL, "message_type" => message_type, "stage" => stage).increment(1);
}

/// Consumer group `group` settled a delivery of `message_type` as `outcome`. The labels are
/// shared strings, not copies: this runs for every delivery.
#[cfg(feature = "metrics")]
#[inline]
pub(crate) fn delivered(
    message_type: metrics::SharedString,
    group: &std::sync::Arc<str>,
    outcome: &'static str,
) {
    let group = metrics::SharedString::from_shared(std::sync::Arc::clone(group));
    match outcome {
        "dead_lettered" => metrics::counter!(
            DEAD_LETTERS_TOTAL,
            "message_type" => message_type.clone(),
            "group" => group.clone(),
        )
        .increment(1),
        "retried" => metrics::counter!(
            RETRIES_TOTAL,
            "message_type" => message_type.clone(),
            "stage" => "consumer",
        )
        .increment(1),
        _ => {}
    }
    metrics::counter!(
        DELIVERIES_TOTAL,
        "message_type" => message_type,
        "group" => group,
        "outcome" => outcome,
    )
    .increment(1);
}

/// A duplicate of idempotent `message_type` was answered from `source`.
#[inline]
pub(crate) fn idempotent_hit(message_type: &'static str, source: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(IDEMPOTENT_HITS_TOTAL, "message_type" => message_type, "source" => source)
        .increment(1);
}

/// Saga `saga` ran step `step` (a compensation of it when `compensation`), ending with
/// `outcome`.
#[inline]
pub(crate) fn saga_step_ran(
    saga: &'static str,
    step: &'static str,
    compensation: bool,
    outcome: &'static str,
) {
    #[cfg(feature = "metrics")]
    {
        let name = if compensation {
            SAGA_COMPENSATIONS_TOTAL
        } else {
            SAGA_STEPS_TOTAL
        };
        metrics::counter!(name, "saga" => saga, "step" => step, "outcome" => outcome).increment(1);
    }
}
