//! What the three binaries share: their settings from the environment, the broker connection,
//! the operations endpoints (`/metrics`, `/health/live`, `/health/ready`), and how payments and
//! inventory serve their group.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use catga::transport::{EventConsumer, RequestServer, Routes, Transport};
use catga::{Error, Mediator};
use catga_nats::{NatsOptions, NatsTransport};
use catga_ops::{Endpoints, Health, OpsServer, Prometheus};
use catga_sqlite::SqliteInbox;

/// The broker, unless `CATGA_NATS_URL` names another.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

/// Serves `requests` and consumes `events` (deduplicated by `inbox`) as group `service`, both
/// through `mediator`, until the transport fails.
pub async fn serve_group(
    transport: Arc<dyn Transport>,
    service: &str,
    requests: Routes,
    events: Routes,
    mediator: Mediator,
    inbox: SqliteInbox,
) -> catga::Result<()> {
    let consumer =
        EventConsumer::new(Arc::clone(&transport), service, events, mediator.clone()).inbox(inbox);
    let server = RequestServer::new(transport, service, requests, mediator);
    tokio::try_join!(consumer.run(), server.run()).map(|_| ())
}

/// A service process's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `CATGA_NATS_URL`.
    pub nats_url: String,
    /// The service's SQLite file: `SHOP_DATA_DIR` (default `.`) / `<service>.db`.
    pub database: PathBuf,
    /// `/metrics` and health: `CATGA_METRICS_ADDR` (catga-ops' default, 127.0.0.1:9464).
    pub ops_addr: SocketAddr,
}

impl Settings {
    /// Reads the settings of `service` from the environment.
    pub fn from_env(service: &str) -> catga::Result<Settings> {
        let nats_url =
            std::env::var("CATGA_NATS_URL").unwrap_or_else(|_| DEFAULT_NATS_URL.to_string());
        let data_dir =
            std::env::var_os("SHOP_DATA_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
        Ok(Settings {
            nats_url,
            database: data_dir.join(format!("{service}.db")),
            ops_addr: catga_ops::http::addr_from_env()?,
        })
    }

    /// Connects to the broker.
    pub async fn connect(&self) -> catga::Result<Arc<dyn Transport>> {
        let transport = NatsTransport::connect(&self.nats_url, NatsOptions::default()).await?;
        Ok(Arc::new(transport))
    }
}

/// Serves `/metrics` and the health endpoints of `health` on `addr` until the process ends.
/// Installs the Prometheus recorder: call it before the first message is handled.
pub async fn serve_ops(addr: SocketAddr, health: Health) -> catga::Result<()> {
    let prometheus = Prometheus::install()?;
    let server = OpsServer::bind(addr, Endpoints::new(health).prometheus(prometheus))
        .await
        .map_err(|error| {
            Error::unavailable(format!("cannot serve /metrics on {addr}: {error}"))
                .with_source(error)
        })?;
    tokio::spawn(server.run());
    Ok(())
}

/// Binds a TCP listener, with the address in the error.
pub async fn listen(addr: &str) -> catga::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|error| {
        Error::unavailable(format!("cannot listen on {addr}: {error}")).with_source(error)
    })
}
