//! {{package}} over HTTP (catga-axum): its commands and queries as routes, each request sent
//! through the mediator. `src/main.rs` serves them on `CATGA_HTTP_ADDR`, by default
//! `127.0.0.1:8080`; `tests/http.rs` drives them over a real connection. A message added with
//! `catga add` gets its route here: `.command::<ShipOrder>("/orders/ship")`.
//!
//! Bad input (not JSON, a wrong field, a failed `Validate`) is a 4xx with an RFC 9457 problem
//! body, and never reaches a handler: https://github.com/catga-rs/catga/blob/main/docs/http.md

use std::net::SocketAddr;

use axum::Router;
use catga::prelude::*;
use catga_axum::MessageRoutes;
use tokio::net::TcpListener;

use crate::create_task::CreateTask;
use crate::get_task::GetTask;

/// The environment variable holding the address to serve on.
pub const ADDR_ENV: &str = "CATGA_HTTP_ADDR";

/// Where the routes are served unless [`ADDR_ENV`] says otherwise: loopback only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// `POST /tasks` with a `CreateTask` as its JSON body answers the new task's id; `GET
/// /tasks/{id}` answers the task.
pub fn router(mediator: Mediator) -> Router {
    Router::new()
        .command::<CreateTask>("/tasks")
        .query::<GetTask>("/tasks/{id}")
        .with_state(mediator)
}

/// A listener on the address in [`ADDR_ENV`], or on [`DEFAULT_ADDR`].
pub async fn bind() -> catga::Result<TcpListener> {
    let value = std::env::var(ADDR_ENV).unwrap_or_else(|_| DEFAULT_ADDR.to_string());
    let addr: SocketAddr = value.parse().map_err(|error| {
        Error::new(
            ErrorKind::Configuration,
            format!("{ADDR_ENV}=`{value}` is not an address like {DEFAULT_ADDR}: {error}"),
        )
    })?;
    TcpListener::bind(addr)
        .await
        .map_err(|error| Error::unavailable(format!("cannot serve HTTP on {addr}: {error}")))
}

/// Serves [`router`] on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, mediator: Mediator) -> catga::Result<()> {
    axum::serve(listener, router(mediator))
        .await
        .map_err(|error| Error::unavailable(format!("the HTTP server stopped: {error}")))
}

/// The address `listener` serves on, as a URL.
pub fn url(listener: &TcpListener) -> catga::Result<String> {
    listener
        .local_addr()
        .map(|addr| format!("http://{addr}"))
        .map_err(|error| Error::unavailable(format!("the HTTP listener has no address: {error}")))
}
