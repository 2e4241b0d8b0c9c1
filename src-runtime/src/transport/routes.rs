//! [`Routes`]: which message types a service takes from a transport, and how each one, decoded
//! from its envelope, reaches the service's mediator.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::{BoxFuture, Envelope, Projection, ReplyBody, command_subject, event_subject};
use crate::message::{Event, Request};
use crate::{Error, Mediator, MessageId, Result};

/// Publishes an event envelope to a mediator's handlers, which must finish by the deadline.
type Deliver =
    Arc<dyn Fn(Mediator, Envelope, Instant) -> BoxFuture<'static, Result<()>> + Send + Sync>;
/// How an event type's deliveries are applied.
#[derive(Clone)]
pub(crate) enum EventRoute {
    /// Published to the local mediator's handlers.
    Mediator(Deliver),
    /// Written by a projection inside the inbox's transaction.
    Projection(Arc<dyn Projection>),
}
type RequestRoute = Arc<dyn Fn(Mediator, Envelope) -> BoxFuture<'static, ReplyBody> + Send + Sync>;

/// The message types a service consumes (events) and serves (commands and queries) over a
/// transport.
///
/// ```
/// use catga::prelude::*;
/// use catga::transport::Routes;
///
/// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
/// pub struct OrderPlaced { pub order_id: u64 }
///
/// #[derive(Debug, Clone, Serialize, Deserialize, Command)]
/// #[command(response = u64)]
/// pub struct ReserveStock { pub order_id: u64 }
///
/// let routes = Routes::new().event::<OrderPlaced>().request::<ReserveStock>();
/// assert_eq!(routes.event_subjects(), ["catga.events.OrderPlaced"]);
/// assert_eq!(routes.request_subjects(), ["catga.commands.ReserveStock"]);
/// ```
#[derive(Clone, Default)]
pub struct Routes {
    events: BTreeMap<&'static str, EventRoute>,
    requests: BTreeMap<&'static str, RequestRoute>,
    /// Handling deadlines that differ from the consumer's default, by event type.
    deadlines: BTreeMap<&'static str, Duration>,
}

impl Routes {
    /// No routes yet.
    pub fn new() -> Routes {
        Routes::default()
    }

    /// Consume events of type `E`: each is published to the local mediator's handlers. With an
    /// inbox, a delivery recorded as processed is skipped; the handlers' own writes are not in
    /// the inbox's transaction, so a crash between them and the record runs them again (at
    /// least once). One route per type: a later `event` or `projection` of `E` replaces it.
    pub fn event<E: Event + DeserializeOwned>(mut self) -> Routes {
        let route = EventRoute::Mediator(Arc::new(
            |mediator: Mediator, envelope: Envelope, deadline: Instant| {
                Box::pin(async move {
                    let event: E = envelope.message()?;
                    let ctx = mediator
                        .arrived_context(correlation(&envelope))
                        .with_deadline(deadline);
                    mediator.publish_arrived(event, ctx).await
                })
            },
        ));
        self.events.insert(E::NAME, route);
        self
    }

    /// Consume events of type `E` through `projection`, which writes them in the transaction
    /// that records the delivery in the inbox, so its writes happen exactly once, whatever the
    /// redeliveries and crashes. The consumer needs an inbox of the kind the projection writes
    /// to. An error from the projection rolls the transaction back and counts as a failed
    /// delivery (retried, then dead-lettered). One route per type, as with
    /// [`event`](Routes::event).
    ///
    /// An inbox's crate builds on it: catga-sqlite's `Routes::projection(|event: &E, tx| ..)`
    /// (its `SqliteProjections` trait) routes to a closure over a SQLite transaction.
    pub fn inbox_projection<E: Event>(mut self, projection: impl Projection) -> Routes {
        self.events
            .insert(E::NAME, EventRoute::Projection(Arc::new(projection)));
        self
    }

    /// Serve requests (commands or queries) of type `R`: each is sent to the local mediator and
    /// its outcome, response or error kind, is the reply.
    pub fn request<R>(mut self) -> Routes
    where
        R: Request + DeserializeOwned,
        R::Response: Serialize,
    {
        let route: RequestRoute = Arc::new(|mediator: Mediator, envelope: Envelope| {
            Box::pin(async move {
                let outcome = async {
                    let request: R = envelope.message()?;
                    let ctx = mediator.arrived_context(correlation(&envelope));
                    mediator.send_with(request, ctx).await
                }
                .await;
                ReplyBody::of(&outcome)
            })
        });
        self.requests.insert(R::NAME, route);
        self
    }

    /// Give handling an event of type `E` at most `deadline`, instead of the consumer's
    /// [`handling_deadline`](super::ConsumerOptions::handling_deadline): for a type whose
    /// handlers are known to be slow (it must still be shorter than `ack_wait`), or fast. The
    /// handlers see it as their context's [`deadline`](crate::Context::deadline).
    ///
    /// A projection's closure runs to its end on the inbox's thread whatever the deadline (its
    /// transaction then commits or rolls back as usual); the deadline frees the member, not
    /// that thread.
    ///
    /// ```
    /// use std::time::Duration;
    /// use catga::prelude::*;
    /// use catga::transport::Routes;
    ///
    /// #[derive(Debug, Clone, Serialize, Deserialize, Event)]
    /// pub struct InvoiceRequested { pub order_id: u64 }
    ///
    /// let routes = Routes::new()
    ///     .event::<InvoiceRequested>()
    ///     .deadline::<InvoiceRequested>(Duration::from_secs(20));
    /// ```
    pub fn deadline<E: Event>(mut self, deadline: Duration) -> Routes {
        self.deadlines.insert(E::NAME, deadline);
        self
    }

    /// The deadlines set per event type.
    pub(crate) fn deadlines(&self) -> impl Iterator<Item = (&'static str, Duration)> + '_ {
        self.deadlines
            .iter()
            .map(|(name, deadline)| (*name, *deadline))
    }

    /// The handling deadline of events of type `type_name`, if its route sets one.
    pub(crate) fn deadline_of(&self, type_name: &str) -> Option<Duration> {
        self.deadlines.get(type_name).copied()
    }

    /// The subjects of the routed event types.
    pub fn event_subjects(&self) -> Vec<String> {
        self.events.keys().map(|name| event_subject(name)).collect()
    }

    /// The subjects of the routed request types.
    pub fn request_subjects(&self) -> Vec<String> {
        self.requests
            .keys()
            .map(|name| command_subject(name))
            .collect()
    }

    /// The route of an event envelope; an unrouted type is a validation error that names the
    /// routed ones.
    pub(crate) fn event_route(&self, envelope: &Envelope) -> Result<&EventRoute> {
        self.events
            .get(envelope.type_name.as_str())
            .ok_or_else(|| unknown(envelope, "event", self.events.keys()))
    }

    /// The `message_type` label of event type `type_name`: the routed type's own `'static`
    /// name, so that labelling each delivery copies no string; a copy only for a type that is
    /// not routed (it is dead-lettered).
    #[cfg(feature = "metrics")]
    pub(crate) fn metric_label(&self, type_name: &str) -> metrics::SharedString {
        match self.events.get_key_value(type_name) {
            Some((&name, _)) => metrics::SharedString::const_str(name),
            None => metrics::SharedString::from_owned(type_name.to_owned()),
        }
    }

    /// Whether any event type is routed to a projection (which needs an inbox).
    pub(crate) fn has_projections(&self) -> bool {
        self.events
            .values()
            .any(|route| matches!(route, EventRoute::Projection(_)))
    }

    /// Answers a request envelope with `mediator`.
    pub(crate) async fn answer(&self, mediator: &Mediator, envelope: Envelope) -> ReplyBody {
        match self.requests.get(envelope.type_name.as_str()) {
            Some(route) => route(mediator.clone(), envelope).await,
            None => ReplyBody::of(&Err::<(), _>(unknown(
                &envelope,
                "request",
                self.requests.keys(),
            ))),
        }
    }
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field("events", &self.events.keys().collect::<Vec<_>>())
            .field("requests", &self.requests.keys().collect::<Vec<_>>())
            .field("deadlines", &self.deadlines)
            .finish()
    }
}

/// The sender's correlation id, when it is one of catga's 64-bit hex ids.
fn correlation(envelope: &Envelope) -> Option<MessageId> {
    u64::from_str_radix(&envelope.correlation_id, 16)
        .ok()
        .map(MessageId)
}

/// The error for an envelope of a type the service does not route: `kind` is `event` or
/// `request`, as in the `Routes` method that would route it.
fn unknown<'a>(
    envelope: &Envelope,
    kind: &str,
    routed: impl Iterator<Item = &'a &'static str>,
) -> Error {
    let routed: Vec<&str> = routed.copied().collect();
    Error::validation(format!(
        "unknown {kind} type `{}` in envelope {}: this service routes {}; add \
         `.{kind}::<{}>()` to its Routes if it should handle it",
        envelope.type_name,
        envelope.id,
        if routed.is_empty() {
            "none".to_string()
        } else {
            routed.join(", ")
        },
        envelope.type_name
    ))
}
