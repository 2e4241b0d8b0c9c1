//! The saga runner's behaviour (`saga_runner_suite/`) over the in-memory store.

mod saga_support;
#[macro_use]
mod saga_runner_suite;

use saga_runner_suite::*;

saga_suite!(memory, async {
    (std::sync::Arc::new(catga::saga::MemorySagaStore::new()), ())
});
