//! Reading a task: the `GetTask` query and its handler.

use std::sync::Arc;

use catga::prelude::*;

use crate::tasks::{Task, TaskId, Tasks};

/// The task `id`; fails with `ErrorKind::NotFound` when there is none.
#[derive(Debug, Clone, Serialize, Deserialize, Query)]
#[query(response = Task)]
pub struct GetTask {
    pub id: TaskId,
}

/// Handles [`GetTask`] from the store.
#[derive(Debug)]
pub struct GetTaskHandler {
    tasks: Arc<Tasks>,
}

impl GetTaskHandler {
    pub fn new(tasks: Arc<Tasks>) -> Self {
        GetTaskHandler { tasks }
    }
}

impl Handler<GetTask> for GetTaskHandler {
    async fn handle(&self, query: GetTask, _ctx: &Context) -> catga::Result<Task> {
        self.tasks
            .get(query.id)
            .ok_or_else(|| Error::not_found(format!("no task {}", query.id)))
    }
}
