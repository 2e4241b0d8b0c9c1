//! The task store the handlers share: the state this service owns.
//!
//! It lives in memory; put a database behind the same methods for anything that must survive a
//! restart.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use catga::prelude::*;

/// A task's id, assigned by the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TaskId(pub u64);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: TaskId,
    pub title: String,
    pub done: bool,
}

/// Every task, by id.
#[derive(Debug, Default)]
pub struct Tasks {
    // A std mutex is right here: it is held for a map operation, never across an `.await`.
    tasks: Mutex<BTreeMap<TaskId, Task>>,
}

impl Tasks {
    /// Stores a new open task and returns its id.
    pub fn insert(&self, title: String) -> TaskId {
        let mut tasks = self.lock();
        let id = TaskId(tasks.last_key_value().map_or(1, |(last, _)| last.0 + 1));
        tasks.insert(
            id,
            Task {
                id,
                title,
                done: false,
            },
        );
        id
    }

    /// The task `id`, if it exists.
    pub fn get(&self, id: TaskId) -> Option<Task> {
        self.lock().get(&id).cloned()
    }

    /// Marks the task `id` done; `false` when there is no such task.
    pub fn complete(&self, id: TaskId) -> bool {
        match self.lock().get_mut(&id) {
            Some(task) => {
                task.done = true;
                true
            }
            None => false,
        }
    }

    /// How many tasks there are.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<TaskId, Task>> {
        // A panic elsewhere while holding the lock cannot leave the map half-updated: every
        // method changes it in one call, so the data is still consistent.
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
