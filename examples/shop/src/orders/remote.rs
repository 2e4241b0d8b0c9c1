//! Calling the other services from the saga's steps, again while the answer is in doubt: the
//! shop's policy for `catga::transport::send_retrying`.
//!
//! Every command the steps send is idempotent by order, so asking again after a timeout, or
//! while the other service restarts, has the effect of asking once.

use std::time::Duration;

use catga::prelude::*;
use catga::transport::{Transport, send_retrying};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

/// How long one attempt waits for the answer.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a call keeps asking while the other service does not answer: longer than a
/// restart of it or of the broker takes.
pub const IN_DOUBT_BUDGET: Duration = Duration::from_secs(30);

/// The longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// Sends `request` to the service serving it and returns the answer. While the outcome is in
/// doubt (`catga::transport::in_doubt`: a timeout, no instance serving, the broker
/// unreachable), asks again for up to [`IN_DOUBT_BUDGET`]; any other error is the answer.
pub async fn call<R>(
    transport: &dyn Transport,
    request: &R,
    ctx: &Context,
) -> catga::Result<R::Response>
where
    R: Request + Serialize,
    R::Response: DeserializeOwned,
{
    let retry = Retry::exponential(u32::MAX)
        .max_delay(MAX_PAUSE)
        .attempt_timeout(ATTEMPT_TIMEOUT);
    let budget = ctx.clone().with_deadline(Instant::now() + IN_DOUBT_BUDGET);
    send_retrying(transport, request, &budget, &retry).await
}
