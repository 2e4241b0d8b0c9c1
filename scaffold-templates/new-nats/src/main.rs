//! Runs {{package}}. With `CATGA_NATS_URL` set (e.g. `nats://127.0.0.1:4222`), it serves other
//! services over NATS JetStream until stopped; without it, it runs a command, a query and an
//! event through its mediator once and prints the results.

use std::sync::Arc;

use catga::prelude::*;
use catga::transport::SqliteInbox;
use catga_nats::{NatsOptions, NatsTransport};

use {{crate}}::create_task::CreateTask;
use {{crate}}::get_task::GetTask;
use {{crate}}::task_completed::TaskCompleted;

#[tokio::main]
async fn main() -> catga::Result<()> {
    let mediator = {{crate}}::mediator()?;
    match std::env::var("CATGA_NATS_URL") {
        Ok(url) => serve(&url, mediator).await,
        Err(_) => demo(mediator).await,
    }
}

/// Serves the service over NATS until the process is stopped.
async fn serve(url: &str, mediator: Mediator) -> catga::Result<()> {
    let transport = Arc::new(NatsTransport::connect(url, NatsOptions::default()).await?);
    let inbox = SqliteInbox::open("{{package}}-inbox.db").await?;
    println!("{{package}} serves on {url}");
    {{crate}}::transport::serve(transport, mediator, inbox).await
}

/// The in-process tour: a command, a query and an event.
async fn demo(mediator: Mediator) -> catga::Result<()> {
    let create = CreateTask {
        request_id: "req-1".into(),
        title: "Read the catga guide".into(),
    };
    let id = mediator.send(create).await?;
    println!("CreateTask    -> created task {id}");

    let task = mediator.send(GetTask { id }).await?;
    println!("GetTask       -> {:?}, done: {}", task.title, task.done);

    mediator.publish(TaskCompleted { id }).await?;
    let task = mediator.send(GetTask { id }).await?;
    println!("TaskCompleted -> {:?}, done: {}", task.title, task.done);
    Ok(())
}
