//! A task was completed: the `TaskCompleted` event and the handler that records it.

use std::sync::Arc;

use catga::prelude::*;

use crate::tasks::{TaskId, Tasks};

/// The task `id` was done. Published by whoever completes work: a user interface, another
/// service, or a handler here with `ctx.publish(..)`.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
pub struct TaskCompleted {
    pub id: TaskId,
}

/// Marks the task done. Every `EventHandler<TaskCompleted>` registered runs on each publish.
#[derive(Debug)]
pub struct MarkTaskDone {
    tasks: Arc<Tasks>,
}

impl MarkTaskDone {
    pub fn new(tasks: Arc<Tasks>) -> Self {
        MarkTaskDone { tasks }
    }
}

impl EventHandler<TaskCompleted> for MarkTaskDone {
    async fn handle(&self, event: &TaskCompleted, _ctx: &Context) -> catga::Result<()> {
        if self.tasks.complete(event.id) {
            Ok(())
        } else {
            Err(Error::not_found(format!("no task {}", event.id)))
        }
    }
}
