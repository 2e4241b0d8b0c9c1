//! Calling the other services from the saga's steps, again while the answer is in doubt.
//!
//! Every command the steps send is idempotent by order, so asking again after a timeout, or
//! while the other service restarts, has the effect of asking once.

use std::time::Duration;

use catga::prelude::*;
use catga::transport::{Transport, send};
use serde::de::DeserializeOwned;
use tokio::time::Instant;

/// How long one attempt waits for the answer.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a call keeps asking while the other service does not answer: longer than a
/// restart of it or of the broker takes.
pub const IN_DOUBT_BUDGET: Duration = Duration::from_secs(30);

/// The longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// Sends `request` to the service serving it and returns the answer. While no answer comes
/// (a timeout, no instance serving, the broker unreachable), asks again for up to
/// [`IN_DOUBT_BUDGET`]; any other error is the answer.
pub async fn call<R>(
    transport: &dyn Transport,
    request: &R,
    ctx: &Context,
) -> catga::Result<R::Response>
where
    R: Request + Serialize,
    R::Response: DeserializeOwned,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        let attempt = ctx.clone().with_deadline(Instant::now() + ATTEMPT_TIMEOUT);
        match send(transport, request, &attempt).await {
            Err(error) if in_doubt(&error) && started.elapsed() < IN_DOUBT_BUDGET => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
            answer => return answer,
        }
    }
}

/// Whether `error` leaves open whether the request was handled.
pub fn in_doubt(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Timeout | ErrorKind::Unavailable | ErrorKind::NoHandler
    )
}
