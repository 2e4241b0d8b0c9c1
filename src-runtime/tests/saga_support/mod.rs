//! A scripted three-step order saga for the saga tests: it logs every step and compensation it
//! runs, and fails, panics or hangs (to simulate a crash) where a test tells it to.

#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};

use catga::saga::{Saga, SagaRunner, SagaStore};
use catga::{Context, Error, MessageId, Result};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

pub const STEPS: &[&str] = &["reserve_stock", "charge_card", "ship_order"];

/// The saga state: `standing` counts the steps currently in effect, so each step can check that
/// the state saved by the steps before it reached it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderState {
    pub order_id: String,
    pub standing: usize,
}

impl OrderState {
    pub fn new(order_id: &str) -> Self {
        OrderState {
            order_id: order_id.to_owned(),
            standing: 0,
        }
    }
}

/// Where a scripted saga fails, panics or hangs. `Execute(i)` is step `i`, `Compensate(i)` its
/// compensation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Execute(usize),
    Compensate(usize),
}

#[derive(Debug, Default)]
pub struct OrderSaga {
    pub log: Arc<Mutex<Vec<String>>>,
    pub fail: Vec<At>,
    pub panic: Option<At>,
    /// Hang at this point after notifying `reached`, until `release` is notified (forever if
    /// it never is), so a test can kill the run there, or let another run overtake it.
    pub hang: Option<At>,
    pub reached: Arc<Notify>,
    pub release: Arc<Notify>,
}

impl OrderSaga {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn failing_at(at: &[At]) -> Self {
        OrderSaga {
            fail: at.to_vec(),
            ..Self::default()
        }
    }

    pub fn panicking_at(at: At) -> Self {
        OrderSaga {
            panic: Some(at),
            ..Self::default()
        }
    }

    pub fn hanging_at(at: At) -> Self {
        OrderSaga {
            hang: Some(at),
            ..Self::default()
        }
    }

    /// What ran, in order: `execute:<step>` and `compensate:<step>`.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    async fn run(&self, at: At, state: &OrderState) -> Result<()> {
        let (verb, step) = match at {
            At::Execute(step) => ("execute", step),
            At::Compensate(step) => ("compensate", step),
        };
        self.log
            .lock()
            .unwrap()
            .push(format!("{verb}:{}", STEPS[step]));
        let expected_standing = match at {
            At::Execute(step) => step,
            At::Compensate(step) => step + 1,
        };
        if state.standing != expected_standing {
            return Err(Error::internal(format!(
                "{verb} {step} saw {} standing steps, expected {expected_standing}",
                state.standing
            )));
        }
        if self.hang == Some(at) {
            self.reached.notify_one();
            self.release.notified().await;
        }
        if self.panic == Some(at) {
            panic!("{verb} {step} blew up");
        }
        if self.fail.contains(&at) {
            return Err(Error::unavailable(format!("{} is down", STEPS[step])));
        }
        Ok(())
    }
}

impl Saga for OrderSaga {
    type State = OrderState;
    const NAME: &'static str = "order";
    const STEPS: &'static [&'static str] = STEPS;

    async fn execute(&self, step: usize, state: &mut OrderState, _ctx: &Context) -> Result<()> {
        self.run(At::Execute(step), state).await?;
        state.standing += 1;
        Ok(())
    }

    async fn compensate(&self, step: usize, state: &mut OrderState, _ctx: &Context) -> Result<()> {
        self.run(At::Compensate(step), state).await?;
        state.standing -= 1;
        Ok(())
    }
}

pub fn ctx() -> Context {
    Context::new(MessageId(7))
}

pub fn log_of(entries: &[&str]) -> Vec<String> {
    entries.iter().map(|entry| (*entry).to_owned()).collect()
}

/// Start instance `id` of `saga` in a task, wait until it reaches the saga's hang point, and kill
/// the task there, as if the process died mid-step.
pub async fn start_and_kill(store: Arc<dyn SagaStore>, saga: OrderSaga, id: &str) {
    let reached = Arc::clone(&saga.reached);
    let id = id.to_owned();
    let run = tokio::spawn(async move {
        let runner = SagaRunner::with_shared_store(store);
        runner.start(&saga, &id, OrderState::new(&id), &ctx()).await
    });
    reached.notified().await;
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
}
