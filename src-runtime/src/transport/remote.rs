//! Commands and queries across services: [`send`] asks the service that serves a request type
//! over the transport and waits for its reply within the caller's deadline; [`RequestServer`]
//! serves a service's request types from its mediator. The caller gets the error kinds a local
//! send returns (`NotFound`, `Validation`, `Conflict`, ...), plus `NoHandler` when no service
//! serves the type and `Timeout` when the reply does not come in time.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::{Envelope, ReplyBody, Routes, Transport, command_subject};
use crate::message::Request;
use crate::telemetry::{MessagingSpan, Operation};
use crate::{Context, Error, Mediator, Result};

/// How long a remote send waits when the caller's context has no deadline.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends `request` to the service serving `R` over `transport`, as a message caused by `ctx`'s,
/// and returns its response. Waits until `ctx`'s deadline, or [`DEFAULT_REQUEST_TIMEOUT`].
///
/// The wait is a `catga.send` span (`messaging.operation = "send"`), whose trace context the
/// request's headers carry: the server's `catga.serve` span is its child.
pub async fn send<R>(transport: &dyn Transport, request: &R, ctx: &Context) -> Result<R::Response>
where
    R: Request + Serialize,
    R::Response: DeserializeOwned,
{
    let timeout = match ctx.deadline() {
        Some(deadline) => deadline.saturating_duration_since(Instant::now()),
        None => DEFAULT_REQUEST_TIMEOUT,
    };
    if timeout.is_zero() {
        return Err(Error::timeout(format!(
            "the deadline passed before `{}` was sent",
            R::NAME
        )));
    }
    let subject = command_subject(R::NAME);
    let mut envelope = Envelope::unsent(request, ctx)?;
    let span = MessagingSpan::producer(
        Operation::Send,
        Some(transport.messaging_system()),
        &subject,
        &envelope,
    );
    span.context.inject(&mut envelope.headers);
    let reply = span
        .run(transport.request(&subject, &envelope, timeout))
        .await?;
    let body: ReplyBody = serde_json::from_value(reply.payload).map_err(|error| {
        Error::internal(format!(
            "the reply to `{}` is not a catga reply: {error}",
            R::NAME
        ))
    })?;
    body.into_result()
}

/// Serves `routes`' request types from a mediator, as a member of queue group `group`.
#[derive(Clone)]
pub struct RequestServer {
    transport: Arc<dyn Transport>,
    group: String,
    routes: Routes,
    mediator: Mediator,
}

impl RequestServer {
    /// A server in queue group `group` (usually the service's name).
    pub fn new(
        transport: Arc<dyn Transport>,
        group: impl Into<String>,
        routes: Routes,
        mediator: Mediator,
    ) -> Self {
        RequestServer {
            transport,
            group: group.into(),
            routes,
            mediator,
        }
    }

    /// Answers requests until the transport stops delivering them; each request is handled in
    /// its own task, so a slow handler does not hold up the others, inside a `catga.serve` span
    /// whose parent is the caller's `catga.send`.
    pub async fn run(self) -> Result<()> {
        let subjects = self.routes.request_subjects();
        let mut requests = self.transport.serve(&self.group, &subjects).await?;
        loop {
            let request = requests.next().await?;
            let routes = self.routes.clone();
            let mediator = self.mediator.clone();
            let group = self.group.clone();
            let system = self.transport.messaging_system();
            tokio::spawn(async move {
                let span = MessagingSpan::consumer(
                    Operation::Serve,
                    Some(system),
                    &command_subject(&request.envelope.type_name),
                    Some(&group),
                    &request.envelope,
                );
                let body = span
                    .run(routes.answer(&mediator, request.envelope.clone()))
                    .await;
                let sent = match request.envelope.reply(&body) {
                    Ok(reply) => request.reply(reply).await,
                    Err(error) => Err(error),
                };
                if let Err(error) = sent {
                    tracing::warn!(%error, "catga: cannot send a reply");
                }
            });
        }
    }
}

impl std::fmt::Debug for RequestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestServer")
            .field("group", &self.group)
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}
