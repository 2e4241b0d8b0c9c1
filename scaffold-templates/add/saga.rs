//! The `{{Type}}` saga (its state, and its steps with their compensations) and the
//! `Start{{Type}}` command that runs it.

use std::sync::Arc;

use catga::prelude::*;
use catga::saga::MemorySagaStore;

/// What the steps need and record. Saved after every step: keep it small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct {{Type}}State {
    pub id: String,
    pub reserved: bool,
    pub dispatched: bool,
}

impl {{Type}}State {
    /// The state of an instance that has not run a step yet.
    pub fn new(id: impl Into<String>) -> Self {
        {{Type}}State {
            id: id.into(),
            reserved: false,
            dispatched: false,
        }
    }
}

/// The steps, in order. When one fails, the completed ones before it are compensated in
/// reverse order; a failing step must leave nothing behind itself.
#[derive(Debug, Default)]
pub struct {{Type}};

impl Saga for {{Type}} {
    type State = {{Type}}State;
    const NAME: &'static str = "{{module}}";
    const STEPS: &'static [&'static str] = &["reserve", "dispatch"];

    async fn execute(
        &self,
        step: usize,
        state: &mut {{Type}}State,
        _ctx: &Context,
    ) -> catga::Result<()> {
        // Each step calls what it changes, keyed by `state.id` so a retried step is harmless.
        match step {
            0 => state.reserved = true,
            1 => state.dispatched = true,
            _ => return Err(Error::internal(format!("{} has no step {step}", Self::NAME))),
        }
        Ok(())
    }

    async fn compensate(
        &self,
        step: usize,
        state: &mut {{Type}}State,
        _ctx: &Context,
    ) -> catga::Result<()> {
        match step {
            0 => state.reserved = false,
            1 => state.dispatched = false,
            _ => {}
        }
        Ok(())
    }
}

/// Runs the `{{Type}}` instance `id` and answers its final state; sent again with the same
/// `id`, answers that instance's outcome without running it again.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = {{Type}}State)]
pub struct Start{{Type}} {
    pub id: String,
}

/// Handles [`Start{{Type}}`] with a saga runner. The instance runs on a task of its own
/// (`run_detached`), so a caller that stops waiting does not leave it half-way. Its in-memory
/// store forgets instances on restart; use `catga_sqlite::SqliteSagaStore`, and
/// `resume_pending` with `mediator.context()` at start-up, for sagas that must resume.
#[derive(Debug)]
pub struct Start{{Type}}Handler {
    runner: SagaRunner,
    saga: Arc<{{Type}}>,
}

impl Default for Start{{Type}}Handler {
    fn default() -> Self {
        Start{{Type}}Handler {
            runner: SagaRunner::new(MemorySagaStore::new()),
            saga: Arc::new({{Type}}),
        }
    }
}

impl Handler<Start{{Type}}> for Start{{Type}}Handler {
    async fn handle(
        &self,
        command: Start{{Type}},
        ctx: &Context,
    ) -> catga::Result<{{Type}}State> {
        let state = {{Type}}State::new(command.id.clone());
        self.runner
            .run_detached(Arc::clone(&self.saga), &command.id, state, ctx)
            .await
    }
}
