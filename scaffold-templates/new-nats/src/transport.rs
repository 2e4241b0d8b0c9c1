//! {{package}} past one process: it answers other services' commands and queries, and applies
//! the events they publish, over a catga transport: NATS JetStream when deployed (see
//! `src/main.rs`), the in-memory one in tests.

use std::sync::Arc;

use catga::prelude::*;
use catga::transport::{EventConsumer, RequestServer, Routes, Transport};
use catga_sqlite::SqliteInbox;

use crate::create_task::CreateTask;
use crate::get_task::GetTask;
use crate::task_completed::TaskCompleted;

/// This service's name on the broker: its consumer group and its queue group, so each event
/// and each request reaches one of its instances.
pub const SERVICE: &str = "{{package}}";

/// The requests this service answers for others.
pub fn requests() -> Routes {
    Routes::new().request::<CreateTask>().request::<GetTask>()
}

/// The events it consumes from others.
pub fn events() -> Routes {
    Routes::new().event::<TaskCompleted>()
}

/// Serves [`requests`] and consumes [`events`] with `mediator` until the transport fails. The
/// inbox skips an event delivered again (after a crash or a lost acknowledgement).
pub async fn serve(
    transport: Arc<dyn Transport>,
    mediator: Mediator,
    inbox: SqliteInbox,
) -> catga::Result<()> {
    let consumer = EventConsumer::new(Arc::clone(&transport), SERVICE, events(), mediator.clone())
        .inbox(inbox);
    let server = RequestServer::new(transport, SERVICE, requests(), mediator);
    tokio::try_join!(consumer.run(), server.run()).map(|_| ())
}
