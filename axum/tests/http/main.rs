//! catga-axum over real HTTP: a service on a loopback port, a real client, one test per
//! promise the crate makes.

mod context;
mod errors;
mod idempotency;
mod input;
mod state;
mod support;
