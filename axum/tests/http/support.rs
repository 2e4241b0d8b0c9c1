//! The service every test talks to: a few messages and handlers that count their calls and
//! report what their context saw, behind catga-axum's routes on a loopback port.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use catga::prelude::*;
use catga_axum::MessageRoutes;
use reqwest::header::CONTENT_TYPE;

/// The body limit of the test service, small so an oversized body is cheap to send.
pub(crate) const BODY_LIMIT: usize = 1024;

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = Placed, idempotent)]
pub(crate) struct PlaceOrder {
    #[idempotency_key]
    pub(crate) request_id: String,
    pub(crate) amount_cents: u64,
}

impl Validate for PlaceOrder {
    fn validate(&self) -> catga::Result<()> {
        if self.amount_cents == 0 {
            return Err(catga::Error::invalid_field(
                "amount_cents",
                "must be greater than zero",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Placed {
    pub(crate) order_number: usize,
    pub(crate) amount_cents: u64,
}

/// Fails with the error kind it names: every kind's answer, from a real handler.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = ())]
pub(crate) struct Fail {
    pub(crate) kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Query)]
#[query(response = Order)]
pub(crate) struct GetOrder {
    pub(crate) id: u64,
    #[serde(default)]
    pub(crate) lines: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Order {
    pub(crate) id: u64,
    pub(crate) lines: bool,
}

/// A query without fields: a unit struct.
#[derive(Debug, Clone, Serialize, Deserialize, Query)]
#[query(response = usize)]
pub(crate) struct CountCalls;

/// What the handler's context and the task's trace context say.
#[derive(Debug, Clone, Serialize, Deserialize, Query)]
#[query(response = Seen)]
pub(crate) struct Inspect {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Seen {
    pub(crate) correlation_id: String,
    pub(crate) deadline_in_ms: Option<u128>,
    pub(crate) trace_id: Option<String>,
}

/// Sleeps far longer than any test waits: only a deadline ends it.
#[derive(Debug, Clone, Serialize, Deserialize, Query)]
#[query(response = ())]
pub(crate) struct Stall {}

/// Every handler of the test service, counting the calls that reached it.
#[derive(Default)]
pub(crate) struct Handlers {
    calls: AtomicUsize,
}

impl Handlers {
    fn called(&self) -> usize {
        self.calls.fetch_add(1, Ordering::SeqCst) + 1
    }
}

pub(crate) struct OrdersHandler(Arc<Handlers>);

impl Handler<PlaceOrder> for OrdersHandler {
    async fn handle(&self, order: PlaceOrder, _ctx: &Context) -> catga::Result<Placed> {
        Ok(Placed {
            order_number: self.0.called(),
            amount_cents: order.amount_cents,
        })
    }
}

impl Handler<Fail> for OrdersHandler {
    async fn handle(&self, fail: Fail, _ctx: &Context) -> catga::Result<()> {
        self.0.called();
        let kind = ErrorKind::from_name(&fail.kind).expect("a catga error kind");
        Err(catga::Error::new(kind, format!("failed as asked: {kind}")))
    }
}

impl Handler<GetOrder> for OrdersHandler {
    async fn handle(&self, query: GetOrder, _ctx: &Context) -> catga::Result<Order> {
        self.0.called();
        Ok(Order {
            id: query.id,
            lines: query.lines,
        })
    }
}

impl Handler<CountCalls> for OrdersHandler {
    async fn handle(&self, _query: CountCalls, _ctx: &Context) -> catga::Result<usize> {
        Ok(self.0.called())
    }
}

impl Handler<Inspect> for OrdersHandler {
    async fn handle(&self, _query: Inspect, ctx: &Context) -> catga::Result<Seen> {
        self.0.called();
        Ok(Seen {
            correlation_id: ctx.correlation_id().to_string(),
            deadline_in_ms: ctx.deadline().map(|deadline| {
                deadline
                    .saturating_duration_since(tokio::time::Instant::now())
                    .as_millis()
            }),
            trace_id: catga::telemetry::current().map(|trace| trace.trace_id_hex()),
        })
    }
}

impl Handler<Stall> for OrdersHandler {
    async fn handle(&self, _query: Stall, _ctx: &Context) -> catga::Result<()> {
        self.0.called();
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(())
    }
}

/// A running test service and a client for it.
pub(crate) struct Service {
    base: String,
    handlers: Arc<Handlers>,
    client: reqwest::Client,
}

/// One HTTP answer, read whole.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) body: serde_json::Value,
}

impl Service {
    /// The service on a free loopback port, serving until the test's runtime ends.
    pub(crate) async fn start() -> Service {
        let handlers = Arc::new(Handlers::default());
        let mediator = Mediator::builder()
            .handler::<PlaceOrder, _>(OrdersHandler(Arc::clone(&handlers)))
            .handler::<Fail, _>(OrdersHandler(Arc::clone(&handlers)))
            .handler::<GetOrder, _>(OrdersHandler(Arc::clone(&handlers)))
            .handler::<CountCalls, _>(OrdersHandler(Arc::clone(&handlers)))
            .handler::<Inspect, _>(OrdersHandler(Arc::clone(&handlers)))
            .handler::<Stall, _>(OrdersHandler(Arc::clone(&handlers)))
            .build()
            .expect("the test mediator builds");
        let app = Router::new()
            .command::<PlaceOrder>("/orders")
            .query::<GetOrder>("/orders/{id}")
            .command::<Fail>("/fail")
            .query::<CountCalls>("/calls")
            .query::<Inspect>("/inspect")
            .query::<Stall>("/stall")
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(mediator);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("bound"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Service {
            base,
            handlers,
            client: reqwest::Client::new(),
        }
    }

    /// How many handler calls the service has seen.
    pub(crate) fn handler_calls(&self) -> usize {
        self.handlers.calls.load(Ordering::SeqCst)
    }

    /// `POST path` with a JSON `body` and the extra `headers`.
    pub(crate) async fn post(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
        let mut headers = headers.to_vec();
        headers.push((CONTENT_TYPE.as_str(), "application/json"));
        self.post_raw(path, body.to_string(), &headers).await
    }

    /// `POST path` with exactly these headers (no content type unless given).
    pub(crate) async fn post_raw(
        &self,
        path: &str,
        body: String,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.post(format!("{}{path}", self.base)).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send().await.expect("the service answers")).await
    }

    /// `GET path` with the extra `headers`.
    pub(crate) async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.client.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send().await.expect("the service answers")).await
    }
}

async fn read(response: reqwest::Response) -> Answer {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().expect("ASCII").to_string())
    };
    let status = response.status().as_u16();
    let content_type = header("content-type");
    let correlation_id = header("x-correlation-id");
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("a JSON body, got {text:?}: {error}"));
    Answer {
        status,
        content_type,
        correlation_id,
        body,
    }
}

impl Answer {
    /// Asserts this is an RFC 9457 problem of `status` and `kind`, and returns its body.
    pub(crate) fn problem(&self, status: u16, kind: &str) -> &serde_json::Value {
        assert_eq!(self.status, status, "{:#}", self.body);
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json")
        );
        assert_eq!(self.body["type"], "about:blank");
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string(), "{:#}", self.body);
        assert!(self.body["detail"].is_string(), "{:#}", self.body);
        assert_eq!(self.body["kind"], kind, "{:#}", self.body);
        &self.body
    }
}
