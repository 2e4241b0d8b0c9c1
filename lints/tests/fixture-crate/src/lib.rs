//! Every fixture's near-misses (`good.rs`) and fixed output (`bad.fixed.rs`), compiled against
//! the catga runtime with `-D warnings` (each fixture file allows what its snippets need).
//! `lints/tests/fixtures_compile.rs` checks that every fixture directory is listed here.
//!
//! A fixed file is code a service runs: every future in it must be `Send`, so a handler can be
//! spawned on a multi-thread runtime (`clippy::future_not_send` checks every `async fn` and
//! `-> impl Future`; catga's `Handler` and `EventHandler` require it of handlers). A fix that
//! leaves a guard alive across an `.await` (`drop(guard)` does) fails here.

#[path = "../../fixtures/catga005"]
pub mod catga005 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga006"]
pub mod catga006 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga007"]
pub mod catga007 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga009"]
pub mod catga009 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga012"]
pub mod catga012 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga010"]
pub mod catga010 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga001"]
pub mod catga001 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga003"]
pub mod catga003 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga015"]
pub mod catga015 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga002"]
pub mod catga002 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga004"]
pub mod catga004 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga008"]
pub mod catga008 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga011"]
pub mod catga011 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga013"]
pub mod catga013 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga014"]
pub mod catga014 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

#[path = "../../fixtures/catga016"]
pub mod catga016 {
    pub mod good;
    #[path = "bad.fixed.rs"]
    #[deny(clippy::future_not_send)]
    pub mod fixed;
}

/// The fixed CATGA007 handler, spawned as a service spawns a `send`: compiles only when the
/// handler's future is `Send`.
pub fn spawn_reserve(
    mediator: std::sync::Arc<catga::Mediator>,
) -> tokio::task::JoinHandle<catga::Result<u64>> {
    tokio::spawn(async move {
        mediator
            .send(catga007::fixed::reserve::Reserve(1))
            .await
    })
}
