//! The runtime's idempotency store contract run against the SQLite store.

#[macro_use]
#[path = "../../src-runtime/tests/idempotency_contract/mod.rs"]
mod idempotency_contract;

use idempotency_contract::*;

store_contract!(sqlite, async {
    let dir = tempfile::tempdir().unwrap();
    let store = catga_sqlite::SqliteIdempotencyStore::open(dir.path().join("idem.db"))
        .await
        .unwrap();
    (store, dir)
});
