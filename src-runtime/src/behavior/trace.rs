//! [`Tracing`]: one `tracing` span per message, with its type and ids, and an event for its
//! outcome.

use tracing::Instrument;

use crate::pipeline::{AnyMessage, Behavior, Next, Reply};
use crate::{Context, Result};

/// Runs the rest of the pipeline inside an `INFO` span named `catga.message` with the fields
/// `message_type`, `message_kind`, `message_id`, `correlation_id` and `causation_id`, and logs
/// the outcome: `DEBUG` on success, `WARN` with the error kind on failure.
///
/// Install it first (outermost) so retries and timeouts happen inside the span.
///
/// ```
/// use catga::prelude::*;
///
/// let mediator = Mediator::builder().behavior(Tracing).build();
/// assert!(mediator.is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Tracing;

impl Behavior for Tracing {
    async fn handle(
        &self,
        message: &dyn AnyMessage,
        ctx: Context,
        next: Next<'_>,
    ) -> Result<Reply> {
        let span = tracing::info_span!(
            "catga.message",
            message_type = message.type_name(),
            message_kind = message.kind().as_str(),
            message_id = %ctx.message_id(),
            correlation_id = %ctx.correlation_id(),
            causation_id = ctx.causation_id().map(tracing::field::display),
        );
        let result = next.run(ctx).instrument(span.clone()).await;
        let _entered = span.enter();
        match &result {
            Ok(_) => tracing::debug!("handled"),
            Err(err) => tracing::warn!(error_kind = err.kind().as_str(), error = %err, "failed"),
        }
        result
    }
}
