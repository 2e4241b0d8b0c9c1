//! The task slices, exercised through the mediator as callers use them.

use catga::prelude::*;

use {{crate}}::TaskId;
use {{crate}}::create_task::CreateTask;
use {{crate}}::get_task::GetTask;
use {{crate}}::task_completed::TaskCompleted;

fn create(request_id: &str, title: &str) -> CreateTask {
    CreateTask {
        request_id: request_id.into(),
        title: title.into(),
    }
}

#[tokio::test]
async fn a_created_task_can_be_read_back() -> catga::Result<()> {
    let mediator = {{crate}}::mediator()?;
    let id = mediator.send(create("req-1", "Write tests")).await?;
    let task = mediator.send(GetTask { id }).await?;
    assert_eq!(task.title, "Write tests");
    assert!(!task.done);
    Ok(())
}

#[tokio::test]
async fn a_retried_create_answers_the_first_id_and_creates_nothing() -> catga::Result<()> {
    let mediator = {{crate}}::mediator()?;
    let first = mediator.send(create("req-1", "Once")).await?;
    let retried = mediator.send(create("req-1", "Once")).await?;
    let other = mediator.send(create("req-2", "Twice")).await?;
    assert_eq!(retried, first);
    assert_ne!(other, first);
    Ok(())
}

#[tokio::test]
async fn a_task_without_a_title_is_refused() -> catga::Result<()> {
    let mediator = {{crate}}::mediator()?;
    let error = mediator.send(create("req-1", "  ")).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Validation);
    Ok(())
}

#[tokio::test]
async fn an_unknown_task_is_not_found() -> catga::Result<()> {
    let mediator = {{crate}}::mediator()?;
    let error = mediator.send(GetTask { id: TaskId(99) }).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    Ok(())
}

#[tokio::test]
async fn publishing_task_completed_marks_the_task_done() -> catga::Result<()> {
    let mediator = {{crate}}::mediator()?;
    let id = mediator.send(create("req-1", "Ship it")).await?;
    mediator.publish(TaskCompleted { id }).await?;
    assert!(mediator.send(GetTask { id }).await?.done);
    Ok(())
}

#[tokio::test]
async fn completing_an_unknown_task_fails() -> catga::Result<()> {
    let mediator = {{crate}}::mediator()?;
    let error = mediator
        .publish(TaskCompleted { id: TaskId(99) })
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    Ok(())
}
