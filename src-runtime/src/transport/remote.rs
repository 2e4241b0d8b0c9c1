//! Commands and queries across services: [`send`] asks the service that serves a request type
//! over the transport and waits for its reply within the caller's deadline, [`send_retrying`]
//! asks again while the outcome is in doubt; [`RequestServer`] serves a service's request types
//! from its mediator. The caller gets the error kinds a local send returns (`NotFound`,
//! `Validation`, `Conflict`, ...), plus `NoHandler` when no service serves the type and
//! `Timeout` when the reply does not come in time.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::{Envelope, ReplyBody, Routes, Transport, command_subject};
use crate::behavior::Retry;
use crate::message::{MessageKind, Request};
use crate::telemetry::{MessagingSpan, Operation};
use crate::{Context, Error, ErrorKind, Mediator, Result};

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

/// Sends `request` like [`send`], and asks again, paced by `retry`, while the outcome is
/// [in doubt](in_doubt): no reply in time, the broker or the service unavailable, no instance
/// serving the type (one restarting, say). Any other error is the answer, returned at once.
///
/// The budget is `ctx`'s deadline and `retry`'s attempts, whichever ends first: no attempt
/// starts whose pause would end past the deadline, and each attempt waits at most until it (or
/// [`DEFAULT_REQUEST_TIMEOUT`] without one), or [`Retry::attempt_timeout`] when that is
/// shorter. The last attempt's error is returned. Each attempt is a `catga.send` span of its
/// own; each retry counts in `catga_retries_total` with `stage="remote"`.
///
/// Asking again is only safe when asking twice has the effect of asking once: queries, and
/// [`Idempotent`](crate::Idempotent) commands (deduplicated by the serving mediator). A command
/// that is not idempotent is refused with [`ErrorKind::Configuration`] before anything is
/// sent; send it once, with [`send`].
///
/// ```no_run
/// use std::time::Duration;
///
/// use catga::prelude::*;
/// use catga::transport::{Transport, send_retrying};
///
/// #[derive(Debug, Clone, Serialize, Deserialize, Command)]
/// #[command(response = u64, idempotent)]
/// struct Charge {
///     #[idempotency_key]
///     payment_id: String,
///     cents: u64,
/// }
///
/// async fn charge(transport: &dyn Transport, ctx: &Context) -> catga::Result<u64> {
///     // Each attempt waits 2 s at most; asking again stops 30 s from now.
///     let retry = Retry::exponential(u32::MAX)
///         .max_delay(Duration::from_secs(1))
///         .attempt_timeout(Duration::from_secs(2));
///     let budget = ctx.clone().with_deadline(tokio::time::Instant::now() + Duration::from_secs(30));
///     let charge = Charge { payment_id: "p-1".into(), cents: 1999 };
///     send_retrying(transport, &charge, &budget, &retry).await
/// }
/// ```
pub async fn send_retrying<R>(
    transport: &dyn Transport,
    request: &R,
    ctx: &Context,
    retry: &Retry,
) -> Result<R::Response>
where
    R: Request + Serialize,
    R::Response: DeserializeOwned,
{
    if R::KIND == MessageKind::Command && R::idempotency().is_none() {
        return Err(Error::new(
            ErrorKind::Configuration,
            format!(
                "`{}` is a command that is not idempotent, so asking again could apply it \
                 twice; make it idempotent (`#[command(idempotent)]` with an \
                 `#[idempotency_key]` field) or send it once with `catga::transport::send`",
                R::NAME
            ),
        ));
    }
    retry
        .run(ctx, R::NAME, "remote", in_doubt, |attempt| async move {
            send(transport, request, &attempt).await
        })
        .await
}

/// Whether a remote send that failed with `error` may have been handled, or may succeed if
/// asked again: no reply came in time ([`Timeout`](ErrorKind::Timeout)), the broker or the
/// service was [`Unavailable`](ErrorKind::Unavailable), or no instance served the type
/// ([`NoHandler`](ErrorKind::NoHandler): after [`send_retrying`], an earlier attempt may have
/// reached one). What `send_retrying` asks again on; a saga step whose request ends in doubt
/// undoes its possible effect before failing.
pub fn in_doubt(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Timeout | ErrorKind::Unavailable | ErrorKind::NoHandler
    )
}

/// Serves `routes`' request types from a mediator, as a member of queue group `group`.
#[derive(Debug, Clone)]
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
