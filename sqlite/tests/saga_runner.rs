//! The runtime's saga runner suite over the SQLite store.

#[path = "../../src-runtime/tests/saga_support/mod.rs"]
mod saga_support;
#[macro_use]
#[path = "../../src-runtime/tests/saga_runner_suite/mod.rs"]
mod saga_runner_suite;

use saga_runner_suite::*;

saga_suite!(sqlite, async {
    let dir = tempfile::tempdir().unwrap();
    let store = catga_sqlite::SqliteSagaStore::open(dir.path().join("sagas.db"))
        .await
        .unwrap();
    (std::sync::Arc::new(store), dir)
});
