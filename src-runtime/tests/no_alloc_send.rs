//! A send through a mediator without behaviors allocates nothing once warmed up.
//!
//! This test binary installs a counting global allocator. It counts on the test's own thread
//! only: the test harness's other threads allocate when they please (printing, timing a slow
//! test on a loaded machine), and those are not the send's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use catga::prelude::*;

struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread's allocations count; const-initialized, so reading it allocates
    /// nothing.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

#[allow(unsafe_code)]
// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees carry over; counting has no effect on memory.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded verbatim; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through `alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[derive(Debug, Clone, Command)]
#[command(response = u64)]
struct Increment {
    by: u64,
}

struct IncrementHandler;
impl Handler<Increment> for IncrementHandler {
    async fn handle(&self, cmd: Increment, ctx: &Context) -> catga::Result<u64> {
        Ok(cmd.by + (ctx.message_id().0 & 1))
    }
}

#[derive(Debug, Clone, Command)]
#[command(response = u64)]
struct SumRows {
    seed: u64,
}

/// Holds a 512-byte buffer across an await, as a database call holds its rows.
struct SumRowsHandler;
impl Handler<SumRows> for SumRowsHandler {
    async fn handle(&self, query: SumRows, _ctx: &Context) -> catga::Result<u64> {
        let rows = [query.seed; 64];
        tokio::task::yield_now().await;
        Ok(std::hint::black_box(&rows).iter().sum())
    }
}

#[test]
fn send_without_behaviors_allocates_nothing_after_warm_up() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mediator = Mediator::builder()
        .handler(IncrementHandler)
        .handler(SumRowsHandler)
        .build()
        .unwrap();
    // A current-thread runtime polls every send on this thread.
    COUNTED.with(|counted| counted.set(true));
    runtime.block_on(async {
        for _ in 0..100 {
            mediator.send(Increment { by: 1 }).await.unwrap();
            mediator.send(SumRows { seed: 1 }).await.unwrap();
        }
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        let mut total = 0;
        for by in 0..10_000 {
            total += mediator.send(Increment { by }).await.unwrap();
        }
        let allocations = ALLOCATIONS.load(Ordering::SeqCst) - before;
        assert!(total >= 49_995_000);
        assert_eq!(allocations, 0, "{allocations} allocations in 10000 sends");

        // A handler future of 512 bytes and more, suspended once, still fits inline.
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        for seed in 0..1_000 {
            assert_eq!(mediator.send(SumRows { seed }).await.unwrap(), seed * 64);
        }
        let allocations = ALLOCATIONS.load(Ordering::SeqCst) - before;
        assert_eq!(
            allocations, 0,
            "{allocations} allocations in 1000 sends of SumRows"
        );
    });
}
