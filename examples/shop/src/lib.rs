//! The shop: an order platform in three services that talk over a catga transport (NATS
//! JetStream when deployed, the in-memory one in tests).
//!
//! - [`orders`] takes orders over HTTP and runs the place-order saga: reserve the stock, charge
//!   the payment, confirm; a failed step undoes the ones before it. Its events leave through an
//!   outbox, and its order view is a projection of them.
//! - [`inventory`] reserves and releases stock.
//! - [`payments`] charges and refunds.
//!
//! Each service keeps its state, catga's stores (idempotency records, sagas, outbox, inbox)
//! and its own tables (read by its queries through `catga_sqlite::SqliteReader`) in one SQLite
//! file. `src/bin/` runs each as a process.

pub mod in_process;
pub mod inventory;
pub mod orders;
pub mod payments;
pub mod process;
