//! Heap allocations per operation, from a counting global allocator.
//!
//! The binary that runs the harness installs [`CountingAllocator`] as its global allocator:
//! `catga` does, and so must a project's own bench target ([`crate::run`] refuses to run
//! without it). Counting is off until the runner switches it on around a measured sample, so
//! the rest of the program pays one relaxed load per allocation. `catga bench --profile` also
//! has it record each allocation's stack, in a pass of its own ([`alloc_sites`]).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::profile::alloc_sites;

/// This file, as the debug info names it: the allocation profile tells the counting
/// allocator's frames by it.
pub(crate) const SOURCE_FILE: &str = file!();

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting allocations (and reallocations) while counting is on.
///
/// ```ignore
/// #[global_allocator]
/// static ALLOCATOR: catga_bench::CountingAllocator = catga_bench::CountingAllocator;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

#[inline]
fn count(bytes: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        // While `--profile` records allocation sites, the recorder's own allocations (made
        // while it takes a stack) are neither recorded nor counted.
        if alloc_sites::is_recording() && !alloc_sites::record(bytes) {
            return;
        }
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

#[allow(unsafe_code)]
// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees carry over; counting touches only atomics, never the memory.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded verbatim; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarded verbatim; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` (through this allocator) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations and bytes counted so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Allocations {
    pub(crate) count: u64,
    pub(crate) bytes: u64,
}

impl Allocations {
    pub(crate) fn since(self, earlier: Allocations) -> Allocations {
        Allocations {
            count: self.count - earlier.count,
            bytes: self.bytes - earlier.bytes,
        }
    }
}

/// The counters now.
#[inline]
pub(crate) fn snapshot() -> Allocations {
    Allocations {
        count: ALLOCATIONS.load(Ordering::Relaxed),
        bytes: BYTES.load(Ordering::Relaxed),
    }
}

/// Switches counting on or off.
pub(crate) fn set_counting(on: bool) {
    COUNTING.store(on, Ordering::SeqCst);
}

/// Whether [`CountingAllocator`] is this program's global allocator: counts a test allocation.
pub(crate) fn installed() -> bool {
    let was = COUNTING.swap(true, Ordering::SeqCst);
    let before = snapshot();
    let probe = std::hint::black_box(Box::new(0u64));
    drop(probe);
    let counted = snapshot().since(before).count > 0;
    COUNTING.store(was, Ordering::SeqCst);
    counted
}
