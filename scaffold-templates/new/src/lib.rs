//! {{package}}: a service built on catga.
//!
//! Each feature is one module, a vertical slice holding a message and its handler. [`mediator`]
//! wires the handlers and the behaviors around them; `src/main.rs`, the tests and the benches all
//! build the service through it. `catga add command|query|event|saga NAME` adds a slice and
//! registers its handler here.

pub mod create_task;
pub mod get_task;
pub mod task_completed;
pub mod tasks;

use std::sync::Arc;

use catga::prelude::*;

pub use tasks::{Task, TaskId, Tasks};

/// Builds the service: every handler, sharing one task store, behind the behaviors.
pub fn mediator() -> catga::Result<Mediator> {
    let tasks = Arc::new(Tasks::default());
    Mediator::builder()
        .handler(create_task::CreateTaskHandler::new(Arc::clone(&tasks)))
        .handler(get_task::GetTaskHandler::new(Arc::clone(&tasks)))
        .event_handler(task_completed::MarkTaskDone::new(tasks))
        // Counts each message and times it, by type and outcome: `catga_messages_handled_total`
        // and `catga_message_handling_seconds` when a metrics exporter (catga-ops) is installed.
        .behavior(Metrics::new())
        // Runs each message's `Validate` impl before its handler.
        .behavior(Validation)
        .build()
}
