//! catga-axum: commands and queries as axum routes, one line each.
//!
//! ```no_run
//! use axum::Router;
//! use catga::prelude::*;
//! use catga_axum::MessageRoutes;
//!
//! #[derive(Debug, Clone, Serialize, Deserialize, Command)]
//! #[command(response = u64, idempotent)]
//! struct PlaceOrder {
//!     #[idempotency_key]
//!     request_id: String,
//!     amount_cents: u64,
//! }
//!
//! #[derive(Debug, Clone, Serialize, Deserialize, Query)]
//! #[query(response = Option<u64>)]
//! struct GetOrder {
//!     id: u64,
//! }
//!
//! struct PlaceOrderHandler;
//!
//! impl Handler<PlaceOrder> for PlaceOrderHandler {
//!     async fn handle(&self, order: PlaceOrder, _ctx: &Context) -> catga::Result<u64> {
//!         Ok(order.amount_cents)
//!     }
//! }
//!
//! struct GetOrderHandler;
//!
//! impl Handler<GetOrder> for GetOrderHandler {
//!     async fn handle(&self, query: GetOrder, _ctx: &Context) -> catga::Result<Option<u64>> {
//!         Ok(Some(query.id))
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let mediator = Mediator::builder()
//!         .handler(PlaceOrderHandler)
//!         .handler(GetOrderHandler)
//!         .build()?;
//!     let app = Router::new()
//!         .command::<PlaceOrder>("/orders")
//!         .query::<GetOrder>("/orders/{id}")
//!         .with_state(mediator);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! A command is `POST`ed as a JSON body; a query is a `GET` whose path parameters and query
//! string, together, are the query's fields. The response is the handler's response as JSON
//! (200); a failure is an RFC 9457 `application/problem+json` body ([`Problem`]) with the
//! status [`status_of`] gives the error's kind. Bad input (a body that is not JSON or is too
//! large, a value of the wrong type, a failed `Validate`) is a 4xx and never reaches a handler.
//!
//! The headers a request may carry, each flowing into the message's context:
//!
//! - [`CORRELATION_ID`] (`X-Correlation-Id`): the conversation, a catga message id (16 hex
//!   digits); every response carries it back, a new one when the request had none.
//! - `traceparent` and `tracestate` (W3C): the trace the handler and the messages it sends join
//!   (`catga::telemetry::current()`).
//! - [`REQUEST_TIMEOUT`] (`Request-Timeout`): seconds the caller waits; the handler's context
//!   has that deadline, and the request is answered 504 when it passes.
//! - [`IDEMPOTENCY_KEY`] (`Idempotency-Key`): checked against an idempotent command's own key.
//!
//! The guide is `docs/http.md`.

mod caller;
mod decode;
mod problem;
mod route;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use catga::{Command, Mediator, Query};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use problem::{PROBLEM_JSON, Problem, status_of};

/// The header carrying the conversation's correlation id, a catga message id in hex, both ways.
pub const CORRELATION_ID: &str = "x-correlation-id";

/// The header carrying how many seconds the caller waits (`30`, `2.5`), counted from when the
/// request arrived: relative, so the client's and the server's clocks need not agree.
pub const REQUEST_TIMEOUT: &str = "request-timeout";

/// The header carrying the idempotency key of the IETF HTTP API draft (quoted or not).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Routes for catga messages on an axum [`Router`] whose state holds a [`Mediator`] (the
/// mediator itself, or any state it can be taken from with [`FromRef`]).
///
/// One path may carry a command and a query (`POST` and `GET`); registering the same message
/// kind twice on one path panics, as axum does for any overlapping route.
pub trait MessageRoutes: Sized {
    /// `POST path`: the JSON body is the command `C`; the response is `C::Response` as JSON.
    #[track_caller]
    fn command<C>(self, path: &str) -> Self
    where
        C: Command + DeserializeOwned,
        C::Response: Serialize;

    /// `GET path`: the path parameters and the query string are the query `Q`
    /// (`/orders/{id}` gives `GetOrder { id }`); the response is `Q::Response` as JSON.
    #[track_caller]
    fn query<Q>(self, path: &str) -> Self
    where
        Q: Query + DeserializeOwned,
        Q::Response: Serialize;
}

impl<S> MessageRoutes for Router<S>
where
    S: Clone + Send + Sync + 'static,
    Mediator: FromRef<S>,
{
    fn command<C>(self, path: &str) -> Self
    where
        C: Command + DeserializeOwned,
        C::Response: Serialize,
    {
        self.route(path, post(route::command_route::<C>))
    }

    fn query<Q>(self, path: &str) -> Self
    where
        Q: Query + DeserializeOwned,
        Q::Response: Serialize,
    {
        self.route(path, get(route::query_route::<Q>))
    }
}
