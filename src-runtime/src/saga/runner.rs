//! [`SagaRunner`]: drives saga instances forward, compensates them when a step fails, and
//! resumes the ones a restart interrupted; runs an instance on a task of its own when its
//! caller may stop waiting. Recovery in a group of processes is in `runner/recovery.rs`.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::watch;
use tracing::Instrument;

use super::definition::Saga;
use super::failure::SagaFailure;
use super::record::{SagaRecord, SagaStatus, StepFailure};
use super::store::SagaStore;
use crate::leadership::Lease;
use crate::telemetry::metrics;
use crate::transport::{OutboxEntry, capture};
use crate::{Context, Error, ErrorKind, Result};

mod recovery;

/// Runs saga instances, saving each one's state and progress to a [`SagaStore`] after every
/// step and every compensation.
///
/// Each save is checked against the version the runner loaded ([`SagaStore::update`]): when
/// two runners drive one instance, the one whose save comes second finds it overtaken and stops
/// (a [`Conflict`](ErrorKind::Conflict)), leaving the instance to the other. In a group of
/// processes, [`recover_led`](SagaRunner::recover_led) elects the one that resumes.
#[derive(Clone)]
pub struct SagaRunner {
    store: Arc<dyn SagaStore>,
    /// The instances this runner and its clones drive on tasks of their own.
    detached: Arc<Detached>,
    /// How often [`recover_led`](SagaRunner::recover_led) looks for stale instances.
    sweep_every: Duration,
    /// How long an instance goes unsaved before the recovery leader resumes it.
    stale_after: Duration,
}

/// The instances [`SagaRunner::run_detached`] drives, by saga name and instance id; each is
/// watched by the runs that joined it, and woken when its task ends.
type Detached = Mutex<HashMap<(&'static str, String), watch::Receiver<()>>>;

impl fmt::Debug for SagaRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SagaRunner").finish_non_exhaustive()
    }
}

/// The outcome of resuming one instance in [`SagaRunner::resume_pending`].
#[derive(Debug)]
pub struct ResumedSaga<T> {
    /// The instance id.
    pub id: String,
    /// The final state, or the error that ended the instance (see [`SagaFailure`]).
    pub result: Result<T>,
}

impl SagaRunner {
    /// A runner saving to `store`.
    pub fn new(store: impl SagaStore) -> Self {
        SagaRunner::with_shared_store(Arc::new(store))
    }

    /// A runner saving to a store shared with other code (for example, to inspect instances).
    pub fn with_shared_store(store: Arc<dyn SagaStore>) -> Self {
        SagaRunner {
            store,
            detached: Arc::default(),
            sweep_every: recovery::SWEEP_EVERY,
            stale_after: recovery::STALE_AFTER,
        }
    }

    /// Start instance `id` of `saga` with `state` and run it to the end.
    ///
    /// Returns the final state when every step ran. When a step fails, the completed steps are
    /// compensated in reverse order and the error (kind of the step's error) carries a
    /// [`SagaFailure`] saying which step failed and whether compensation succeeded. An existing
    /// instance `id` is a [`ErrorKind::Conflict`], and so is an instance another runner saved
    /// while this one drove it (this runner stops, see [`SagaStore::update`]); storage failures
    /// are returned as they happen, leaving the instance to
    /// [`resume_pending`](SagaRunner::resume_pending).
    pub async fn start<S: Saga>(
        &self,
        saga: &S,
        id: &str,
        state: S::State,
        ctx: &Context,
    ) -> Result<S::State> {
        let record = new_record::<S>(id, &state)?;
        self.store.create(&record).await?;
        self.drive(saga, record, state, ctx).await
    }

    /// Runs instance `id` of `saga` to its end on a task of its own, so that it reaches a final
    /// status even when the caller stops waiting (its future is dropped: a closed HTTP
    /// connection, a deadline), and returns its outcome as [`start`](SagaRunner::start) does.
    ///
    /// An instance `id` that exists is carried on instead of refused, because a caller that
    /// stopped waiting may ask again: one this runner (or a clone) is driving now is joined,
    /// and the outcome returned when its run ends; a stored one is [resumed](SagaRunner::resume)
    /// (a finished one returns its outcome without running anything). The stored state wins
    /// over `state` then, so give each instance id to one request: a business key such as the
    /// order id.
    ///
    /// The task runs in `ctx`'s conversation and trace (the caller's span and
    /// [`telemetry::current`](crate::telemetry::current)), without `ctx`'s deadline: that is
    /// when the caller stops waiting, and the instance runs on past it, so bound each step's
    /// own waits inside the step. Nor do the steps' events wait for the caller's handling to
    /// succeed: a store that keeps an outbox commits them with each step, as always; otherwise
    /// they reach the mediator's outbox as they are published. A panic of the runner's task is
    /// an [`ErrorKind::Internal`] error (a panicking step is compensated like any failed
    /// step).
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use catga::saga::{MemorySagaStore, Saga, SagaRunner};
    /// use catga::{Context, MessageId, Result};
    ///
    /// struct Greet;
    /// impl Saga for Greet {
    ///     type State = String;
    ///     const NAME: &'static str = "greet";
    ///     const STEPS: &'static [&'static str] = &["greet"];
    ///     async fn execute(&self, _: usize, name: &mut String, _: &Context) -> Result<()> {
    ///         name.insert_str(0, "hello, ");
    ///         Ok(())
    ///     }
    ///     async fn compensate(&self, _: usize, _: &mut String, _: &Context) -> Result<()> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let runner = SagaRunner::new(MemorySagaStore::new());
    /// let saga = Arc::new(Greet);
    /// let ctx = Context::new(MessageId(1));
    /// let greeted = runner.run_detached(Arc::clone(&saga), "g-1", "ada".into(), &ctx).await?;
    /// assert_eq!(greeted, "hello, ada");
    /// // Asked again: the instance's outcome, without running it again.
    /// let again = runner.run_detached(saga, "g-1", "bob".into(), &ctx).await?;
    /// assert_eq!(again, "hello, ada");
    /// # Ok::<(), catga::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn run_detached<S: Saga>(
        &self,
        saga: Arc<S>,
        id: &str,
        state: S::State,
        ctx: &Context,
    ) -> Result<S::State> {
        let key = (S::NAME, id.to_owned());
        let driving = loop {
            let mut running = {
                let mut detached = self.detached.lock().unwrap_or_else(PoisonError::into_inner);
                match detached.get(&key) {
                    Some(running) => running.clone(),
                    None => {
                        let (ended, running) = watch::channel(());
                        detached.insert(key.clone(), running);
                        break Driving {
                            detached: Arc::clone(&self.detached),
                            key,
                            _ended: ended,
                        };
                    }
                }
            };
            // Another run drives the instance: wait for its task to end (its sender drops),
            // then look again; the outcome is stored by then, and this run resumes it.
            let _ = running.changed().await;
        };
        let runner = self.clone();
        let instance = id.to_owned();
        let ctx = ctx.clone().without_deadline();
        let run = async move {
            // Dropped when the task ends, even by a panic: joined runs look again then.
            let _driving = driving;
            runner
                .start_or_resume(saga.as_ref(), &instance, state, &ctx)
                .await
        }
        .instrument(tracing::Span::current());
        let task = match crate::telemetry::current() {
            Some(trace) => tokio::spawn(crate::telemetry::in_context(trace, run)),
            None => tokio::spawn(run),
        };
        task.await.unwrap_or_else(|stopped| {
            let why = if stopped.is_panic() {
                format!("panicked: {}", panic_message(stopped.into_panic().as_ref()))
            } else {
                "was cancelled (the runtime is shutting down)".to_string()
            };
            Err(Error::internal(format!(
                "the task running saga `{}` instance `{id}` {why}; the instance stays stored \
                 where it stopped, for resume",
                S::NAME
            )))
        })
    }

    /// Starts instance `id`, or resumes it when it exists.
    async fn start_or_resume<S: Saga>(
        &self,
        saga: &S,
        id: &str,
        state: S::State,
        ctx: &Context,
    ) -> Result<S::State> {
        let record = new_record::<S>(id, &state)?;
        match self.store.create(&record).await {
            Ok(()) => self.drive(saga, record, state, ctx).await,
            Err(error) if error.kind() == ErrorKind::Conflict => self.resume(saga, id, ctx).await,
            Err(error) => Err(error),
        }
    }

    /// Continue instance `id` of `saga` from where its stored record stands.
    ///
    /// A running instance executes its remaining steps (re-executing the one that was
    /// interrupted, if any); a compensating one compensates its remaining steps; an instance
    /// whose compensation failed retries that compensation. A completed instance returns its
    /// state and a compensated one its failure, without running anything. An unknown id is
    /// [`ErrorKind::NotFound`]; an instance another runner saves while this one drives it is a
    /// [`ErrorKind::Conflict`], and this runner stops driving it.
    pub async fn resume<S: Saga>(&self, saga: &S, id: &str, ctx: &Context) -> Result<S::State> {
        let Some(mut record) = self.store.load(S::NAME, id).await? else {
            return Err(Error::not_found(format!(
                "saga `{}` has no stored instance `{id}`",
                S::NAME
            )));
        };
        if record.status == SagaStatus::CompensationFailed {
            record.status = SagaStatus::Compensating;
            record.compensation_failure = None;
        }
        let state = decode::<S>(&record)?;
        self.drive(saga, record, state, ctx).await
    }

    /// Resume every running or compensating instance of `saga`, oldest first, one after the
    /// other; call it once at start-up, after a restart, with a context attached to the
    /// service's mediator ([`Mediator::context`](crate::Mediator::context)) so that the steps
    /// can send and publish.
    ///
    /// Fails only when the store cannot list the instances; each instance's own outcome is in
    /// its [`ResumedSaga`].
    pub async fn resume_pending<S: Saga>(
        &self,
        saga: &S,
        ctx: &Context,
    ) -> Result<Vec<ResumedSaga<S::State>>> {
        self.resume_pending_under(saga, ctx, None).await
    }

    async fn resume_pending_under<S: Saga>(
        &self,
        saga: &S,
        ctx: &Context,
        lease: Option<&Lease>,
    ) -> Result<Vec<ResumedSaga<S::State>>> {
        let pending = self.store.pending(S::NAME).await?;
        self.resume_each(saga, ctx, pending, lease).await
    }

    /// Resumes `records` one after the other, checking `lease` (if any) before each.
    async fn resume_each<S: Saga>(
        &self,
        saga: &S,
        ctx: &Context,
        records: Vec<SagaRecord>,
        lease: Option<&Lease>,
    ) -> Result<Vec<ResumedSaga<S::State>>> {
        let mut resumed = Vec::with_capacity(records.len());
        for record in records {
            if let Some(lease) = lease {
                lease.check()?;
            }
            let id = record.id.clone();
            let result = match decode::<S>(&record) {
                Ok(state) => self.drive(saga, record, state, ctx).await,
                Err(e) => Err(e),
            };
            resumed.push(ResumedSaga { id, result });
        }
        Ok(resumed)
    }

    /// Run `record` from its stored position to a final status, in a span naming the instance.
    async fn drive<S: Saga>(
        &self,
        saga: &S,
        record: SagaRecord,
        state: S::State,
        ctx: &Context,
    ) -> Result<S::State> {
        let span = tracing::info_span!("saga", saga = S::NAME, id = %record.id);
        self.run_to_end(saga, record, state, ctx)
            .instrument(span)
            .await
    }

    /// Execute or compensate step after step, saving state and progress after each one. A
    /// save refused because another runner saved the instance since ends the run there.
    async fn run_to_end<S: Saga>(
        &self,
        saga: &S,
        mut record: SagaRecord,
        mut state: S::State,
        ctx: &Context,
    ) -> Result<S::State> {
        let steps = S::STEPS;
        if record.completed_steps > steps.len() {
            return Err(Error::new(
                ErrorKind::Configuration,
                format!(
                    "saga `{}` instance `{}` is stored after step {} but the saga defines {} \
                     steps; steps were removed since the instance started, restore them to \
                     finish it",
                    S::NAME,
                    record.id,
                    record.completed_steps,
                    steps.len()
                ),
            ));
        }
        loop {
            match record.status {
                SagaStatus::Completed => return Ok(state),
                SagaStatus::Compensated | SagaStatus::CompensationFailed => {
                    return Err(SagaFailure::from_record(&record).into_error());
                }
                SagaStatus::Running if record.completed_steps == steps.len() => {
                    record.status = SagaStatus::Completed;
                    self.save::<S>(&mut record, Vec::new()).await?;
                }
                SagaStatus::Running => {
                    let step = record.completed_steps;
                    tracing::debug!(step = steps[step], "executing step");
                    let (outcome, published) = self
                        .collecting(guarded(saga.execute(step, &mut state, ctx), steps[step]))
                        .await;
                    metrics::saga_step_ran(S::NAME, steps[step], false, metrics::outcome(&outcome));
                    match outcome {
                        Ok(()) => record.completed_steps += 1,
                        Err(e) => {
                            tracing::warn!(step = steps[step], error = %e, "step failed");
                            record.status = SagaStatus::Compensating;
                            record.failure = Some(StepFailure::new(step, steps[step], &e));
                        }
                    }
                    record.state = encode::<S>(&record.id, &state)?;
                    self.save::<S>(&mut record, published).await?;
                }
                SagaStatus::Compensating if record.completed_steps == 0 => {
                    record.status = SagaStatus::Compensated;
                    self.save::<S>(&mut record, Vec::new()).await?;
                }
                SagaStatus::Compensating => {
                    let step = record.completed_steps - 1;
                    tracing::debug!(step = steps[step], "compensating step");
                    let (outcome, published) = self
                        .collecting(guarded(saga.compensate(step, &mut state, ctx), steps[step]))
                        .await;
                    metrics::saga_step_ran(S::NAME, steps[step], true, metrics::outcome(&outcome));
                    match outcome {
                        Ok(()) => record.completed_steps = step,
                        Err(e) => {
                            tracing::error!(step = steps[step], error = %e, "compensation failed");
                            record.status = SagaStatus::CompensationFailed;
                            record.compensation_failure =
                                Some(StepFailure::new(step, steps[step], &e));
                        }
                    }
                    record.state = encode::<S>(&record.id, &state)?;
                    self.save::<S>(&mut record, published).await?;
                }
            }
        }
    }
}

impl SagaRunner {
    /// Runs a step or compensation; with a store that keeps an outbox, also returns the events
    /// it published (only when it succeeded: a failed step's events did not happen).
    async fn collecting(
        &self,
        step: impl Future<Output = Result<()>>,
    ) -> (Result<()>, Vec<OutboxEntry>) {
        if !self.store.keeps_outbox() {
            return (step.await, Vec::new());
        }
        let (outcome, published) = capture::scope(step).await;
        let published = if outcome.is_ok() {
            published
        } else {
            Vec::new()
        };
        (outcome, published)
    }

    /// Saves `record` as its next version, with the events its step published in the same
    /// transaction. A version the store refuses (another runner saved the instance since this
    /// one loaded it) is the runner's [`overtaken`] error.
    async fn save<S: Saga>(
        &self,
        record: &mut SagaRecord,
        published: Vec<OutboxEntry>,
    ) -> Result<()> {
        record.version += 1;
        let saved = if published.is_empty() {
            self.store.update(record).await
        } else {
            match self.store.update_with_outbox(record, &published) {
                Some(both) => both.await,
                None => Err(Error::internal(
                    "a saga store that keeps an outbox declined the step's events",
                )),
            }
        };
        saved.map_err(|error| match error.kind() {
            ErrorKind::Conflict => overtaken::<S>(&record.id, error),
            _ => error,
        })
    }
}

/// The claim of one [`SagaRunner::run_detached`] on its instance: while it lives, other runs of
/// the instance wait for it; dropped (the run's task ended), it leaves the map first, then wakes
/// them by dropping the sender.
struct Driving {
    detached: Arc<Detached>,
    key: (&'static str, String),
    _ended: watch::Sender<()>,
}

impl Drop for Driving {
    fn drop(&mut self) {
        self.detached
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
    }
}

/// The record of a new instance `id` of `S` holding `state`.
fn new_record<S: Saga>(id: &str, state: &S::State) -> Result<SagaRecord> {
    if id.is_empty() {
        return Err(Error::validation(format!(
            "saga `{}` needs a non-empty instance id",
            S::NAME
        )));
    }
    Ok(SagaRecord::new(S::NAME, id, encode::<S>(id, state)?))
}

/// The error that ends a run whose save `refused` (another runner saved the instance since):
/// that runner drives the instance now, so this one runs nothing more, compensations included.
fn overtaken<S: Saga>(id: &str, refused: Error) -> Error {
    tracing::warn!(error = %refused, "another runner drives the instance now; stopped driving it");
    Error::conflict(format!(
        "saga `{}` instance `{id}` is driven by another runner now (it saved the instance since \
         this runner loaded it), so this runner stopped without running further steps or \
         compensations; the instance's outcome is what that runner stores",
        S::NAME
    ))
    .with_source(refused)
}

/// Await a step or compensation, turning a panic into an internal error so that it is handled
/// like any failure (compensated) instead of unwinding through the runner.
async fn guarded(future: impl Future<Output = Result<()>>, step: &str) -> Result<()> {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => Err(Error::internal(format!(
            "saga step `{step}` panicked: {}",
            panic_message(panic.as_ref())
        ))),
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(message) = panic.downcast_ref::<&'static str>() {
        message
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message
    } else {
        "non-string panic payload"
    }
}

fn encode<S: Saga>(id: &str, state: &S::State) -> Result<Vec<u8>> {
    serde_json::to_vec(state).map_err(|e| {
        Error::storage(format!(
            "cannot serialize the state of saga `{}` instance `{id}`: {e}",
            S::NAME
        ))
        .with_source(e)
    })
}

fn decode<S: Saga>(record: &SagaRecord) -> Result<S::State> {
    serde_json::from_slice(&record.state).map_err(|e| {
        Error::storage(format!(
            "cannot read the stored state of saga `{}` instance `{}`: {e}; the state type \
             changed incompatibly since the instance was saved",
            S::NAME,
            record.id
        ))
        .with_source(e)
    })
}
