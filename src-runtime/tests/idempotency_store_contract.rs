//! The idempotency store contract (`idempotency_contract/`) run against the in-memory store.

#[macro_use]
mod idempotency_contract;

use idempotency_contract::*;

store_contract!(memory, async {
    (catga::idempotency::MemoryIdempotencyStore::new(), ())
});
