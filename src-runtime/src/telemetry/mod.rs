//! Telemetry that crosses the broker: W3C trace context in the envelope's headers, spans that
//! follow OpenTelemetry's messaging conventions, and (feature `metrics`) counters and
//! histograms through the [`metrics`](https://docs.rs/metrics) facade.
//!
//! This module needs no OpenTelemetry crate. A trace's ids travel as the W3C `traceparent` and
//! `tracestate` headers of every [`Envelope`](crate::transport::Envelope) made by
//! [`Envelope::of`](crate::transport::Envelope::of) and remote
//! [`send`](crate::transport::send), and the consumer ([`EventConsumer`] or
//! [`RequestServer`]) handles each message inside a span whose parent is the producer's:
//!
//! - Without anything installed, catga keeps the ids itself: each messaging span records
//!   `trace_id`, `span_id` and `parent_span_id` as plain `tracing` fields, and the consuming
//!   handler's context (a task-local) is the parent of whatever it publishes in turn.
//! - With a [`TraceBridge`] installed (`catga-ops` installs one for OpenTelemetry), the ids are
//!   OpenTelemetry's: the bridge reads a span's context and sets a span's remote parent.
//!
//! [`EventConsumer`]: crate::transport::EventConsumer
//! [`RequestServer`]: crate::transport::RequestServer

pub mod metrics;
mod spans;
#[cfg(feature = "testing")]
pub mod testing;
mod trace_context;

use std::sync::OnceLock;

pub use spans::publish_span;
pub use trace_context::{TRACEPARENT, TRACESTATE, TraceContext};

pub(crate) use spans::{MessagingSpan, Operation};

tokio::task_local! {
    /// The trace context of the message being handled, when catga keeps the ids itself.
    static CURRENT: TraceContext;
}

/// Connects catga's spans to a tracing system that keeps its own trace ids (OpenTelemetry,
/// through `tracing-opentelemetry`). Installed once per process with [`set_bridge`].
pub trait TraceBridge: Send + Sync + 'static {
    /// The trace context of `span` (its trace id and its own span id), or `None` when the
    /// tracing system does not know the span (it is disabled, say).
    fn context_of(&self, span: &tracing::Span) -> Option<TraceContext>;

    /// Makes the remote `parent` (read from an envelope's headers) the parent of `span`, which
    /// was just created and not entered yet.
    fn set_parent(&self, span: &tracing::Span, parent: &TraceContext);
}

static BRIDGE: OnceLock<Box<dyn TraceBridge>> = OnceLock::new();

/// Installs the process' [`TraceBridge`]. The first call wins: a later one returns its bridge
/// back as the error.
pub fn set_bridge(bridge: Box<dyn TraceBridge>) -> Result<(), Box<dyn TraceBridge>> {
    BRIDGE.set(bridge)
}

/// The installed bridge, if any.
pub(crate) fn bridge() -> Option<&'static dyn TraceBridge> {
    BRIDGE.get().map(|bridge| &**bridge)
}

/// The trace context messages produced here join: the current span's (through the bridge),
/// else the one of the message this task is handling, else none.
pub fn current() -> Option<TraceContext> {
    if let Some(bridge) = bridge()
        && let Some(context) = bridge.context_of(&tracing::Span::current())
    {
        return Some(context);
    }
    CURRENT.try_with(TraceContext::clone).ok()
}

/// Runs `future` with `context` as the trace context that messages it produces join (when no
/// bridge supplies one from the current span). For an entry point (an HTTP request carrying a
/// `traceparent`, say) that wants catga's messages in its trace.
pub async fn in_context<F: Future>(context: TraceContext, future: F) -> F::Output {
    CURRENT.scope(context, future).await
}

impl std::fmt::Debug for dyn TraceBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TraceBridge")
    }
}
