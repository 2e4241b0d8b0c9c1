//! The [`Saga`] trait: what a user implements to describe one long-running process.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Context, Result};

/// A process of ordered steps, each undone by a compensation when a later step fails.
///
/// The runner calls [`execute`](Saga::execute) for step `0, 1, 2, ...` in order, saving
/// [`State`](Saga::State) after each one. When step `k` fails, it calls
/// [`compensate`](Saga::compensate) for `k - 1, ..., 0`; the failed step itself is not
/// compensated, so a step that fails must leave nothing behind (or undo its own partial work
/// before returning the error).
///
/// **Steps and compensations must be idempotent.** A step interrupted mid-way by a crash is run
/// again when the saga resumes, and so is an interrupted compensation: running one twice must
/// have the effect of running it once (use the saga id as an idempotency key downstream).
///
/// ```
/// use catga::saga::Saga;
/// use catga::{Context, Error, Result};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Clone, Serialize, Deserialize)]
/// pub struct TransferState {
///     pub amount_cents: u64,
///     pub withdrawn: bool,
/// }
///
/// pub struct Transfer;
///
/// impl Saga for Transfer {
///     type State = TransferState;
///     const NAME: &'static str = "transfer";
///     const STEPS: &'static [&'static str] = &["withdraw", "deposit"];
///
///     async fn execute(&self, step: usize, s: &mut TransferState, _: &Context) -> Result<()> {
///         match step {
///             0 => s.withdrawn = true,
///             1 => {}
///             _ => return Err(Error::internal(format!("transfer has no step {step}"))),
///         }
///         Ok(())
///     }
///
///     async fn compensate(&self, step: usize, s: &mut TransferState, _: &Context) -> Result<()> {
///         if step == 0 {
///             s.withdrawn = false;
///         }
///         Ok(())
///     }
/// }
/// ```
pub trait Saga: Send + Sync + 'static {
    /// Everything the steps need and produce; saved (as JSON) after every step.
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// Stable name stored with every instance, used to find the saga again on resume.
    /// Changing it orphans the instances stored under the old name.
    const NAME: &'static str;

    /// The steps' names, in order. Steps may be appended in a new release; removing or
    /// reordering them breaks instances stored mid-run.
    const STEPS: &'static [&'static str];

    /// Run step `step` (an index into [`STEPS`](Saga::STEPS)), updating `state`.
    fn execute(
        &self,
        step: usize,
        state: &mut Self::State,
        ctx: &Context,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Undo step `step`, which completed earlier, updating `state`.
    fn compensate(
        &self,
        step: usize,
        state: &mut Self::State,
        ctx: &Context,
    ) -> impl Future<Output = Result<()>> + Send;
}
