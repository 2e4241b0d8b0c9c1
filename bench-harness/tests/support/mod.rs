//! What the runner's test binaries share: the counting allocator every run needs, one run at a
//! time (runs measure, so they must not share the two cores), and the report's tool.

use std::sync::{Mutex, MutexGuard};

use catga_bench::CountingAllocator;
use catga_bench::report::Tool;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the lock that keeps this binary's runs one at a time.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The tool a test report names.
#[allow(dead_code)] // Not every test binary makes reports.
pub(crate) fn tool() -> Tool {
    Tool {
        name: "catga".into(),
        version: "test".into(),
    }
}
