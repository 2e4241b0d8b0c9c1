//! Operating {{package}} (catga-ops): its metrics and health over HTTP, and its traces.
//!
//! - `/metrics` (Prometheus' text format), `/health/live` and `/health/ready` on
//!   `CATGA_METRICS_ADDR`, by default `127.0.0.1:9464`. Ready while the broker is reachable and
//!   the service's tasks run.
//! - Traces over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, in a build with the `otlp`
//!   feature (`cargo build --features otlp`; off by default, see README.md).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use catga::prelude::*;
use catga::transport::Transport;
use catga_ops::{Endpoints, Health, OpsServer, Prometheus};
use tokio::task::AbortHandle;

use crate::transport::{SERVICE, events};

/// How often the consumer's lag is sampled into `catga_consumer_lag`.
const LAG_EVERY: Duration = Duration::from_secs(5);

/// The variables that turn OTLP export on: the endpoint for every signal, or the one for traces.
const OTLP_ENDPOINT_ENVS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// Serves `/metrics` from `prometheus` and the health endpoints on `CATGA_METRICS_ADDR`, in a
/// task of their own, and samples the consumer's lag. Ready while `transport`'s broker is
/// reachable and every task in `tasks` runs. Returns the address they listen on.
pub async fn serve(
    prometheus: Prometheus,
    transport: Arc<dyn Transport>,
    tasks: Vec<(&str, AbortHandle)>,
) -> catga::Result<SocketAddr> {
    let health = Health::new();
    health.transport("nats", Arc::clone(&transport));
    for (name, task) in tasks {
        health.task(name, task);
    }
    tokio::spawn(catga_ops::watch_consumer_lag(
        transport,
        SERVICE,
        events().event_subjects(),
        LAG_EVERY,
    ));
    let addr = catga_ops::http::addr_from_env()?;
    let unavailable = |error: std::io::Error| {
        Error::unavailable(format!(
            "cannot serve /metrics and /health on {addr}: {error}"
        ))
    };
    let server = OpsServer::bind(addr, Endpoints::new(health).prometheus(prometheus))
        .await
        .map_err(unavailable)?;
    let bound = server.local_addr().map_err(unavailable)?;
    tokio::spawn(server.run());
    Ok(bound)
}

/// The OTLP trace exporter, when an endpoint is configured and the build can export.
#[derive(Debug)]
pub struct Traces {
    #[cfg(feature = "otlp")]
    otlp: Option<catga_ops::otel::Otlp>,
}

impl Traces {
    /// Exports the service's spans to the endpoint in `OTEL_EXPORTER_OTLP_ENDPOINT` (and the
    /// other standard `OTEL_*` variables), when it is set.
    #[cfg(feature = "otlp")]
    pub fn from_env() -> catga::Result<Traces> {
        use tracing_subscriber::prelude::*;

        let otlp = configured_endpoint()
            .map(|_| catga_ops::otel::Otlp::from_env(SERVICE))
            .transpose()?;
        if let Some(otlp) = &otlp {
            tracing_subscriber::registry()
                .with(otlp.layer())
                .try_init()
                .map_err(|error| {
                    Error::new(
                        ErrorKind::Configuration,
                        format!("cannot install the trace exporter: {error}"),
                    )
                })?;
        }
        Ok(Traces { otlp })
    }

    /// Without the `otlp` feature nothing is exported: says so when an endpoint is set, with
    /// the command that builds the exporter in.
    #[cfg(not(feature = "otlp"))]
    pub fn from_env() -> catga::Result<Traces> {
        if let Some(name) = configured_endpoint() {
            eprintln!(
                "warning: {name} is set, but this build of {{package}} has no OTLP exporter, so \
                 no traces are exported; build it with `cargo build --release --features otlp` \
                 (or run `cargo run --features otlp`)"
            );
        }
        Ok(Traces {})
    }

    /// Sends the spans still batched, waiting for the export off the async workers.
    pub async fn stop(self) -> catga::Result<()> {
        #[cfg(feature = "otlp")]
        if let Some(otlp) = self.otlp {
            return tokio::task::spawn_blocking(move || otlp.shutdown())
                .await
                .map_err(|error| Error::internal(format!("the trace flush failed: {error}")))?;
        }
        Ok(())
    }
}

/// The first of [`OTLP_ENDPOINT_ENVS`] that is set, if any.
fn configured_endpoint() -> Option<&'static str> {
    OTLP_ENDPOINT_ENVS
        .into_iter()
        .find(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()))
}
