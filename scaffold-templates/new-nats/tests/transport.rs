//! The service as other services see it, over the in-memory transport (the same routes and
//! consumer run over NATS in production): a remote command and query, and an event published
//! by someone else.

use std::sync::Arc;
use std::time::Duration;

use catga::prelude::*;
use catga::transport::{Envelope, MemoryTransport, Transport, event_subject, send};
use catga_sqlite::SqliteInbox;

use {{crate}}::create_task::CreateTask;
use {{crate}}::get_task::GetTask;
use {{crate}}::task_completed::TaskCompleted;

#[tokio::test]
async fn other_services_create_read_and_complete_tasks() -> catga::Result<()> {
    let dir = tempfile::tempdir().map_err(|error| Error::internal(error.to_string()))?;
    let inbox = SqliteInbox::open(dir.path().join("inbox.db")).await?;
    let transport: Arc<dyn Transport> = Arc::new(MemoryTransport::new());
    let serving = tokio::spawn({{crate}}::transport::serve(
        Arc::clone(&transport),
        {{crate}}::mediator()?,
        inbox,
    ));
    let caller = Context::new(MessageId::next());

    let create = CreateTask {
        request_id: "req-1".into(),
        title: "Answer over the broker".into(),
    };
    let id = eventually(|| send(transport.as_ref(), &create, &caller)).await?;
    let open = send(transport.as_ref(), &GetTask { id }, &caller).await?;
    assert!(!open.done);

    let completed = Envelope::of(&TaskCompleted { id }, &caller)?;
    transport
        .publish(&event_subject("TaskCompleted"), &completed)
        .await?;
    let done = eventually(|| async {
        let task = send(transport.as_ref(), &GetTask { id }, &caller).await?;
        if task.done {
            Ok(task)
        } else {
            Err(Error::unavailable("not applied yet"))
        }
    })
    .await?;
    assert_eq!(done.title, "Answer over the broker");
    serving.abort();
    Ok(())
}

/// Retries `attempt` for up to 5 s while it fails because the service is not serving yet
/// (`NoHandler`) or the event is not applied yet (`Unavailable`).
async fn eventually<T, F, Fut>(attempt: F) -> catga::Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = catga::Result<T>>,
{
    let mut waited = Duration::ZERO;
    loop {
        match attempt().await {
            Err(error)
                if matches!(error.kind(), ErrorKind::NoHandler | ErrorKind::Unavailable)
                    && waited < Duration::from_secs(5) =>
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
                waited += Duration::from_millis(10);
            }
            other => return other,
        }
    }
}
