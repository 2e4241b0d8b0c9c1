//! Runs {{package}} as a service until stopped (Ctrl-C): it answers commands and queries over
//! HTTP (`src/http.rs`) and over NATS JetStream, applies other services' events, and serves
//! its metrics and health (`src/ops.rs`). The tests run the same wiring over the in-memory
//! transport and a local port.
//!
//! | Variable | Default | What |
//! |---|---|---|
//! | `CATGA_HTTP_ADDR` | `127.0.0.1:8080` | the commands and queries over HTTP |
//! | `CATGA_NATS_URL` | `nats://127.0.0.1:4222` | the broker |
//! | `CATGA_METRICS_ADDR` | `127.0.0.1:9464` | `/metrics`, `/health/live`, `/health/ready` |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | unset | traces over OTLP (a build with `--features otlp`) |

use std::sync::Arc;

use catga::prelude::*;
use catga::transport::Transport;
use catga_nats::{NatsOptions, NatsTransport};
use catga_ops::Prometheus;
use catga_sqlite::SqliteInbox;
use {{crate}}::http;
use {{crate}}::ops::{self, Traces};

const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

#[tokio::main]
async fn main() -> catga::Result<()> {
    let traces = Traces::from_env()?;
    // Before the first message, so that every one is counted.
    let prometheus = Prometheus::install()?;
    let listener = http::bind().await?;
    let http_url = http::url(&listener)?;
    let url = std::env::var("CATGA_NATS_URL").unwrap_or_else(|_| DEFAULT_NATS_URL.to_string());
    let transport: Arc<dyn Transport> =
        Arc::new(NatsTransport::connect(&url, NatsOptions::default()).await?);
    let inbox = SqliteInbox::open("{{package}}-inbox.db").await?;
    let mediator = {{crate}}::mediator()?;
    let mut serving = tokio::task::JoinSet::new();
    let nats = serving.spawn({{crate}}::transport::serve(
        Arc::clone(&transport),
        mediator.clone(),
        inbox,
    ));
    let web = serving.spawn(http::serve(listener, mediator));
    let ops = ops::serve(
        prometheus,
        transport,
        vec![("nats consumer and server", nats), ("http server", web)],
    )
    .await?;
    println!("{{package}} serves on {url}");
    println!("{{package}} HTTP on {http_url} (POST /tasks, GET /tasks/ID)");
    println!("{{package}} operations on http://{ops} (/metrics, /health/live, /health/ready)");
    let outcome = tokio::select! {
        served = serving.join_next() => match served {
            Some(Ok(outcome)) => outcome,
            Some(Err(error)) => Err(Error::internal(format!("the service stopped: {error}"))),
            None => Ok(()),
        },
        stop = tokio::signal::ctrl_c() => stop
            .map_err(|error| Error::internal(format!("cannot wait for Ctrl-C: {error}"))),
    };
    traces.stop().await?;
    outcome
}
