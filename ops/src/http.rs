//! [`OpsServer`]: `/metrics`, `/health/live` and `/health/ready` over HTTP/1.1 (hyper).
//!
//! | Path | Answer |
//! |---|---|
//! | `GET /metrics` | `200`, Prometheus' text format (0.0.4); `404` without a recorder |
//! | `GET /health/live` | `200` when every liveness check passes, else `503`; a JSON [`Report`] |
//! | `GET /health/ready` | `200` when every readiness check passes, else `503`; a JSON [`Report`] |
//!
//! Anything else is `404` (an unknown path) or `405` (a method other than `GET` or `HEAD`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, ToSocketAddrs};

use crate::health::{Health, Report};

/// Where a service serves its operations endpoints unless told otherwise: Prometheus' port
/// for OpenTelemetry-style exporters, on loopback.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9464";

/// The environment variable that overrides [`DEFAULT_ADDR`].
pub const ADDR_ENV: &str = "CATGA_METRICS_ADDR";

/// The address in [`ADDR_ENV`], or [`DEFAULT_ADDR`]; a value that is not `host:port` with an
/// IP address is a configuration error naming it.
pub fn addr_from_env() -> catga::Result<SocketAddr> {
    let value = std::env::var(ADDR_ENV).unwrap_or_else(|_| DEFAULT_ADDR.to_string());
    value.parse().map_err(|error| {
        catga::Error::new(
            catga::ErrorKind::Configuration,
            format!("{ADDR_ENV}=`{value}` is not an address like {DEFAULT_ADDR}: {error}"),
        )
    })
}

/// What the endpoints answer from.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    health: Health,
    #[cfg(feature = "prometheus")]
    prometheus: Option<crate::Prometheus>,
}

impl Endpoints {
    /// The health endpoints for `health`'s checks; no `/metrics` yet.
    pub fn new(health: Health) -> Endpoints {
        Endpoints {
            health,
            #[cfg(feature = "prometheus")]
            prometheus: None,
        }
    }

    /// Serves `/metrics` from `prometheus`.
    #[cfg(feature = "prometheus")]
    pub fn prometheus(mut self, prometheus: crate::Prometheus) -> Endpoints {
        self.prometheus = Some(prometheus);
        self
    }

    async fn answer(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        }
        match request.uri().path() {
            "/metrics" => self.metrics(),
            "/health/live" => report(self.health.live().await),
            "/health/ready" => report(self.health.ready().await),
            _ => plain(
                StatusCode::NOT_FOUND,
                "not found: /metrics, /health/live, /health/ready\n",
            ),
        }
    }

    #[cfg(feature = "prometheus")]
    fn metrics(&self) -> Response<Full<Bytes>> {
        match &self.prometheus {
            Some(prometheus) => {
                let mut response = Response::new(Full::new(Bytes::from(prometheus.render())));
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                response
            }
            None => plain(
                StatusCode::NOT_FOUND,
                "no metrics recorder in this service\n",
            ),
        }
    }

    #[cfg(not(feature = "prometheus"))]
    fn metrics(&self) -> Response<Full<Bytes>> {
        plain(
            StatusCode::NOT_FOUND,
            "catga-ops was built without its `prometheus` feature\n",
        )
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn report(report: Report) -> Response<Full<Bytes>> {
    let status = if report.healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // Plain data with string keys: serializing it cannot fail.
    let body = serde_json::to_vec(&report).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The operations endpoints, bound and ready to serve.
#[derive(Debug)]
pub struct OpsServer {
    listener: TcpListener,
    endpoints: Arc<Endpoints>,
}

impl OpsServer {
    /// Binds `addr` (port 0 picks a free one; see [`local_addr`](OpsServer::local_addr)).
    pub async fn bind(
        addr: impl ToSocketAddrs,
        endpoints: Endpoints,
    ) -> std::io::Result<OpsServer> {
        Ok(OpsServer {
            listener: TcpListener::bind(addr).await?,
            endpoints: Arc::new(endpoints),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until the task is dropped; each connection in a task of its own. A connection
    /// that sends no complete request head within 10 s is closed.
    pub async fn run(self) {
        loop {
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(%error, "catga-ops: cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let endpoints = Arc::clone(&self.endpoints);
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let endpoints = Arc::clone(&endpoints);
                    async move { Ok::<_, Infallible>(endpoints.answer(request).await) }
                });
                let served = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                if let Err(error) = served {
                    tracing::debug!(%error, "catga-ops: a connection ended with an error");
                }
            });
        }
    }
}
