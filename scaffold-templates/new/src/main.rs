//! Runs {{package}} once: a command, a query and an event through its mediator.

use {{crate}}::create_task::CreateTask;
use {{crate}}::get_task::GetTask;
use {{crate}}::task_completed::TaskCompleted;

#[tokio::main]
async fn main() -> catga::Result<()> {
    let mediator = {{crate}}::mediator()?;

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
