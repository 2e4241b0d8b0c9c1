//! The spans around messages that cross a transport, named and attributed as OpenTelemetry's
//! messaging semantic conventions say, with the trace context each one continues.

use std::future::Future;

use tracing::Instrument as _;
use tracing::field::Empty;

use super::{CURRENT, TraceContext, bridge, current};
use crate::transport::Envelope;

/// What a messaging span does (`messaging.operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// A message is made and stored to go later (an exported event into the outbox).
    Create,
    /// A message goes to the broker (the outbox dispatcher, a dead letter).
    Publish,
    /// A request goes to a remote service, whose reply is awaited.
    Send,
    /// A consumer handles an event.
    Process,
    /// A server handles a request.
    Serve,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Publish => "publish",
            Operation::Send => "send",
            Operation::Process | Operation::Serve => "process",
        }
    }
}

/// One span, with the trace context it stands for.
macro_rules! messaging_span {
    ($name:literal, $kind:literal, $operation:expr, $system:expr, $destination:expr, $group:expr, $envelope:expr) => {
        tracing::info_span!(
            $name,
            otel.name = %format_args!("{} {}", $operation.name(), $destination),
            otel.kind = $kind,
            messaging.system = $system,
            messaging.operation = $operation.name(),
            messaging.destination.name = $destination,
            messaging.message.id = $envelope.id.as_str(),
            messaging.message.conversation_id = $envelope.correlation_id.as_str(),
            messaging.consumer.group.name = $group,
            message_type = $envelope.type_name.as_str(),
            trace_id = Empty,
            span_id = Empty,
            parent_span_id = Empty,
        )
    };
}

/// A messaging span and the trace context of the span itself: what a message it produces
/// carries, and what the work inside it continues.
#[derive(Debug)]
pub(crate) struct MessagingSpan {
    pub(crate) span: tracing::Span,
    pub(crate) context: TraceContext,
}

impl MessagingSpan {
    /// A span producing `envelope` (`Create`, `Send`, or `Publish` of a message made here),
    /// in the trace of the message being handled, or a new trace.
    pub(crate) fn producer(
        operation: Operation,
        system: Option<&str>,
        destination: &str,
        envelope: &Envelope,
    ) -> MessagingSpan {
        let span = new_span(operation, system, destination, None, envelope);
        let parent = current();
        MessagingSpan::settle(span, parent, false)
    }

    /// A span handling `envelope` (`Process`, `Serve`), or sending one made elsewhere
    /// (`Publish` by a dispatcher): its parent is the context in the envelope's headers.
    pub(crate) fn consumer(
        operation: Operation,
        system: Option<&str>,
        destination: &str,
        group: Option<&str>,
        envelope: &Envelope,
    ) -> MessagingSpan {
        let span = new_span(operation, system, destination, group, envelope);
        let parent = TraceContext::from_headers(&envelope.headers);
        MessagingSpan::settle(span, parent, true)
    }

    /// Gives `span` its ids: the bridge's when it knows the span, else a child of `parent`
    /// (or a new trace). `remote` parents are set through the bridge.
    fn settle(span: tracing::Span, parent: Option<TraceContext>, remote: bool) -> MessagingSpan {
        let bridged = bridge().and_then(|bridge| {
            if remote && let Some(parent) = &parent {
                bridge.set_parent(&span, parent);
            }
            bridge.context_of(&span)
        });
        let context = bridged.unwrap_or_else(|| {
            parent
                .as_ref()
                .map_or_else(TraceContext::new_root, TraceContext::child)
        });
        if !span.is_disabled() {
            span.record("trace_id", context.trace_id_hex());
            span.record("span_id", context.span_id_hex());
            if let Some(parent) = &parent
                && parent.trace_id == context.trace_id
            {
                span.record("parent_span_id", parent.span_id_hex());
            }
        }
        MessagingSpan { span, context }
    }

    /// Runs `future` inside the span, with the span's context as the one the messages it
    /// produces continue.
    pub(crate) fn run<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(self.context, future.instrument(self.span))
    }
}

fn new_span(
    operation: Operation,
    system: Option<&str>,
    destination: &str,
    group: Option<&str>,
    envelope: &Envelope,
) -> tracing::Span {
    match operation {
        Operation::Create => messaging_span!(
            "catga.create",
            "producer",
            operation,
            system,
            destination,
            group,
            envelope
        ),
        Operation::Publish => messaging_span!(
            "catga.publish",
            "producer",
            operation,
            system,
            destination,
            group,
            envelope
        ),
        Operation::Send => messaging_span!(
            "catga.send",
            "client",
            operation,
            system,
            destination,
            group,
            envelope
        ),
        Operation::Process => messaging_span!(
            "catga.process",
            "consumer",
            operation,
            system,
            destination,
            group,
            envelope
        ),
        Operation::Serve => messaging_span!(
            "catga.serve",
            "server",
            operation,
            system,
            destination,
            group,
            envelope
        ),
    }
}

/// The span a transport publishes `envelope` in (`catga.publish`, `messaging.operation =
/// "publish"`): a child of the context in its headers, that is of the span that made it. The
/// headers are not changed, so a consumer's span is a child of the message's producer either
/// way. `system` is the transport's `messaging.system` (`"nats"`).
pub fn publish_span(system: &str, subject: &str, envelope: &Envelope) -> tracing::Span {
    MessagingSpan::consumer(Operation::Publish, Some(system), subject, None, envelope).span
}
