//! {{package}}'s benchmark scenarios: `catga bench` measures them beside catga's reference
//! baselines (the direct call is the floor every ratio is taken to), and
//! `catga bench --compare baseline.json` tells a regression from noise.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use catga::prelude::*;
use catga_bench::{Group, Scenario, Workload};

use {{crate}}::TaskId;
use {{crate}}::create_task::CreateTask;
use {{crate}}::get_task::GetTask;
use {{crate}}::task_completed::TaskCompleted;

/// Counts allocations, for the report's allocations per operation.
#[global_allocator]
static ALLOCATOR: catga_bench::CountingAllocator = catga_bench::CountingAllocator;

fn main() -> std::process::ExitCode {
    catga_bench::project::main(scenarios())
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new("create_task", Group::Project, || async {
            CreateTasks::new()
        }),
        Scenario::new("get_task", Group::Project, || async {
            let (mediator, id) = service_with_one_task().await;
            GetOneTask(mediator, id)
        }),
        Scenario::new("publish_task_completed", Group::Project, || async {
            let (mediator, id) = service_with_one_task().await;
            CompleteOneTask(mediator, id)
        }),
    ]
}

/// A fresh service for each workload; building it can only fail on a wiring mistake.
fn service() -> Mediator {
    match {{crate}}::mediator() {
        Ok(mediator) => mediator,
        Err(error) => panic!("the service does not build: {error}"),
    }
}

/// Creates a new task per operation (each with its own request id, so idempotency stores a
/// record every time). Between samples a fresh service replaces the grown one.
struct CreateTasks {
    mediator: RwLock<Mediator>,
    next_request: AtomicU64,
}

impl CreateTasks {
    fn new() -> Self {
        CreateTasks {
            mediator: RwLock::new(service()),
            next_request: AtomicU64::new(0),
        }
    }
}

impl Workload for CreateTasks {
    async fn op(&self) -> catga::Result<()> {
        let mediator = self
            .mediator
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let request = self.next_request.fetch_add(1, Ordering::Relaxed);
        let command = CreateTask {
            request_id: format!("bench-{request}"),
            title: "benchmark".into(),
        };
        mediator.send(command).await.map(drop)
    }

    fn between_samples(&self) {
        *self
            .mediator
            .write()
            .unwrap_or_else(PoisonError::into_inner) = service();
    }
}

/// A fresh service holding one task, for the scenarios that read or complete it.
async fn service_with_one_task() -> (Mediator, TaskId) {
    let mediator = service();
    let command = CreateTask {
        request_id: "bench".into(),
        title: "benchmark".into(),
    };
    match mediator.send(command).await {
        Ok(id) => (mediator, id),
        Err(error) => panic!("the bench setup cannot create its task: {error}"),
    }
}

/// Reads the one task.
struct GetOneTask(Mediator, TaskId);

impl Workload for GetOneTask {
    async fn op(&self) -> catga::Result<()> {
        self.0.send(GetTask { id: self.1 }).await.map(drop)
    }
}

/// Publishes the one task's completion (to its one event handler).
struct CompleteOneTask(Mediator, TaskId);

impl Workload for CompleteOneTask {
    async fn op(&self) -> catga::Result<()> {
        self.0.publish(TaskCompleted { id: self.1 }).await
    }
}
