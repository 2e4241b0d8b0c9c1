//! [`Validation`]: runs the message's [`Validate`](crate::Validate) impl before the handler.

use crate::pipeline::{AnyMessage, Behavior, Next, Reply};
use crate::{Context, Error, ErrorKind, Result};

/// Rejects a message whose [`Validate`](crate::Validate) impl fails, with an
/// [`ErrorKind::Validation`] error, before the handler (or any later behavior) runs. Messages
/// without a `Validate` impl pass through.
///
/// ```
/// use catga::prelude::*;
///
/// let mediator = Mediator::builder().behavior(Validation).build();
/// assert!(mediator.is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Validation;

impl Behavior for Validation {
    async fn handle(
        &self,
        message: &dyn AnyMessage,
        ctx: Context,
        next: Next<'_>,
    ) -> Result<Reply> {
        message.check_valid().map_err(|err| match err.kind() {
            ErrorKind::Validation => err,
            _ => Error::validation(format!(
                "`{}` is invalid: {}",
                message.type_name(),
                err.message()
            ))
            .with_source(err),
        })?;
        next.run(ctx).await
    }
}
