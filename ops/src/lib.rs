//! Operating a catga service: what leaves the process in a standard format.
//!
//! - [`Health`]: liveness and readiness checks, run by probes.
//! - [`OpsServer`]: `/metrics`, `/health/live` and `/health/ready` over HTTP, on the address in
//!   `CATGA_METRICS_ADDR` ([`http::addr_from_env`], default `127.0.0.1:9464`).
//! - [`Prometheus`] (feature `prometheus`, on by default): the `metrics` recorder that renders
//!   catga's metrics (`catga_messages_handled_total`, ...) in Prometheus' text format.
//! - [`otel`] (feature `otlp`): catga's spans exported over OTLP, configured by the standard
//!   `OTEL_*` environment variables, with the trace context in envelopes being OpenTelemetry's.
//!
//! ```no_run
//! # async fn run() -> catga::Result<()> {
//! use catga_ops::{Endpoints, Health, OpsServer, Prometheus};
//!
//! let health = Health::new();
//! let endpoints = Endpoints::new(health.clone()).prometheus(Prometheus::install()?);
//! let server = OpsServer::bind(catga_ops::http::addr_from_env()?, endpoints)
//!     .await
//!     .map_err(|error| catga::Error::unavailable(error.to_string()))?;
//! tokio::spawn(server.run());
//! # Ok(()) }
//! ```
//!
//! The metrics themselves come from the runtime (`catga::telemetry::metrics`, recorded when its
//! `metrics` feature is on, which the `prometheus` feature turns on); docs/operations.md lists
//! them with queries for each.

mod health;
pub mod http;
#[cfg(feature = "otlp")]
pub mod otel;
#[cfg(feature = "prometheus")]
mod prometheus;

pub use health::{CHECK_TIMEOUT, CheckReport, Health, Probe, Report};
pub use http::{Endpoints, OpsServer};
#[cfg(feature = "prometheus")]
pub use prometheus::{
    CONSUMER_LAG, OUTBOX_OLDEST_AGE, OUTBOX_PENDING, Prometheus, SECONDS_BUCKETS,
    watch_consumer_lag, watch_outbox,
};
