//! Creating a task: the `CreateTask` command and its handler.

use std::sync::Arc;

use catga::prelude::*;

use crate::tasks::{TaskId, Tasks};

/// Creates an open task and answers its id.
///
/// Idempotent: sent again with the same `request_id`, it answers the first reply without
/// running the handler again, so a client may retry after a timeout without creating a
/// duplicate.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = TaskId, idempotent)]
pub struct CreateTask {
    /// Chosen by the client: one per task it means to create.
    #[idempotency_key]
    pub request_id: String,
    pub title: String,
}

impl Validate for CreateTask {
    fn validate(&self) -> catga::Result<()> {
        if self.title.trim().is_empty() {
            return Err(Error::validation("a task needs a title"));
        }
        Ok(())
    }
}

/// Handles [`CreateTask`] by storing the task.
#[derive(Debug)]
pub struct CreateTaskHandler {
    tasks: Arc<Tasks>,
}

impl CreateTaskHandler {
    pub fn new(tasks: Arc<Tasks>) -> Self {
        CreateTaskHandler { tasks }
    }
}

impl Handler<CreateTask> for CreateTaskHandler {
    async fn handle(&self, command: CreateTask, _ctx: &Context) -> catga::Result<TaskId> {
        Ok(self.tasks.insert(command.title))
    }
}
