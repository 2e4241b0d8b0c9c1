//! [`FutureSlot`]: room inside a future for one future of a type known only to the code that
//! starts it, built in place and polled there.
//!
//! This is how a send awaits a type-erased handler without boxing: the erased call
//! ([`DynHandler::start`](crate::handler::DynHandler::start)) knows the handler's future type,
//! writes the future into the slot the caller's future owns, and polls it once right there,
//! statically. A handler that finishes on its first poll (most do) is dropped in place again
//! and the slot never holds anything; only a future that returns `Pending` leaves its poll and
//! drop functions behind for later polls. Against building a `StackFuture` and polling it
//! through its vtable, this took a send from 17 to 14 ns, and from 32 to 24 ns in the host's
//! slow periods (`examples/dispatch_rounds.rs`).
#![allow(unsafe_code)]

use std::future::Future;
use std::marker::{PhantomData, PhantomPinned};
use std::mem::{self, MaybeUninit};
use std::pin::Pin;
use std::ptr;
use std::task::{self, Poll};

/// Bytes of future kept inline in the future [`Mediator::send`](crate::Mediator::send)
/// returns; larger futures are boxed (one allocation per send).
///
/// The budget covers the message's [`Context`](crate::Context) (48 bytes), the request and the
/// handler's own future, so a handler future of about 560 bytes (a database call) stays
/// inline. A large budget costs no copying: the send future is moved only before its first
/// poll, and the handler's future is built in place. What it costs is room: every send future
/// takes this many bytes in the caller's future, however small its handler. Measured by the
/// `send` group of `benches/dispatch.rs` (see `docs/runtime.md`).
pub const INLINE_FUTURE_BYTES: usize = 640;

/// The alignment the slot's storage guarantees; a future needing more is boxed.
const SLOT_ALIGN: usize = mem::align_of::<u64>();

/// Words rather than bytes, for the alignment.
type Storage = [MaybeUninit<u64>; INLINE_FUTURE_BYTES / SLOT_ALIGN];

/// How to poll and drop the future a slot holds, for one concrete future type.
struct SlotVTable<T> {
    poll: unsafe fn(*mut u8, &mut task::Context<'_>) -> Poll<T>,
    drop: unsafe fn(*mut u8),
}

// Not derived: a derive would require `T: Copy`, and only the function pointers are copied.
impl<T> Clone for SlotVTable<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SlotVTable<T> {}

/// Room for one future with output `T` that lives no longer than `'a`.
///
/// Must be pinned before [`start`](FutureSlot::start): the future in it is polled in place.
// `repr(C)` with the storage last: in the default layout LLVM merged the `running: None` store
// with the uninitialised storage into one 648-byte memset on every send.
#[repr(C)]
pub(crate) struct FutureSlot<'a, T> {
    /// Set exactly while `storage` holds a live future (inline, or a `Pin<Box<_>>` to one),
    /// of the type this table was made for.
    running: Option<SlotVTable<T>>,
    /// The future may borrow for `'a`; it must not be moved once polled; and the slot is `Send`
    /// only because [`start`](FutureSlot::start) takes only `Send` futures (see below).
    _marker: PhantomData<(&'a (), *mut ())>,
    _pinned: PhantomPinned,
    storage: Storage,
}

// SAFETY: the only value a slot ever owns is a future passed to `start`, which requires
// `F: Send`; everything else in it is plain bytes and function pointers.
unsafe impl<T> Send for FutureSlot<'_, T> {}

impl<'a, T> FutureSlot<'a, T> {
    /// An empty slot.
    #[inline]
    pub(crate) fn new() -> Self {
        FutureSlot {
            running: None,
            _marker: PhantomData,
            _pinned: PhantomPinned,
            storage: [MaybeUninit::uninit(); INLINE_FUTURE_BYTES / SLOT_ALIGN],
        }
    }

    /// Places `future` in the slot and polls it once. A future that is `Ready` at once is
    /// dropped again and leaves the slot empty; one that is `Pending` stays for
    /// [`poll`](FutureSlot::poll). A future larger than [`INLINE_FUTURE_BYTES`] is boxed.
    ///
    /// Whatever the slot held before is dropped first.
    // Always inlined, like `start_inline`: the future is then written straight into the slot,
    // and its unused (uninitialised) bytes are not copied.
    #[inline(always)]
    pub(crate) fn start<F>(self: Pin<&mut Self>, future: F, cx: &mut task::Context<'_>) -> Poll<T>
    where
        F: Future<Output = T> + Send + 'a,
    {
        if fits::<F>() {
            self.start_inline(future, cx)
        } else {
            self.start_inline(Box::pin(future), cx)
        }
    }

    #[inline(always)]
    fn start_inline<F>(mut self: Pin<&mut Self>, future: F, cx: &mut task::Context<'_>) -> Poll<T>
    where
        F: Future<Output = T> + Send + 'a,
    {
        // Constant for each `F`, so free; `start` boxes the futures that do not fit.
        assert!(fits::<F>(), "a future too large for its slot");
        self.as_mut().clear();
        // SAFETY: the slot is pinned, so its storage never moves; we only write through the
        // pointer and never move out of `this`.
        let this = unsafe { self.get_unchecked_mut() };
        let place = (&raw mut this.storage).cast::<F>();
        // SAFETY: `fits::<F>()` holds, so `place` is valid and aligned for an `F`; the slot was
        // just cleared, so nothing live is overwritten.
        unsafe { place.write(future) };
        // Should the first poll panic, the future is dropped on the way out: `running` is not
        // set yet, so the slot's own drop would not.
        let unwinding = DropOnUnwind(place);
        // SAFETY: `place` holds the `F` just written; it is pinned because the slot is, and
        // it is dropped in place, never moved. `F: 'a` outlives the slot, which holds `'a`.
        let poll = unsafe { Pin::new_unchecked(&mut *place) }.poll(cx);
        mem::forget(unwinding);
        match poll {
            Poll::Ready(output) => {
                // SAFETY: the `F` at `place` is live and is not used again; `running` is
                // still `None`, so nothing else will drop it.
                unsafe { ptr::drop_in_place(place) };
                Poll::Ready(output)
            }
            Poll::Pending => {
                this.running = Some(SlotVTable {
                    poll: poll_raw::<F, T>,
                    drop: drop_raw::<F>,
                });
                Poll::Pending
            }
        }
    }

    /// Polls the future [`start`](FutureSlot::start) left running; drops it once it is ready.
    ///
    /// # Panics
    /// When the slot is empty: the future already completed or was never started.
    #[inline]
    pub(crate) fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<T> {
        // SAFETY: only fields are accessed; the storage is not moved.
        let this = unsafe { self.get_unchecked_mut() };
        let Some(vtable) = this.running else {
            panic!("a catga send future was polled after it completed");
        };
        let place = (&raw mut this.storage).cast::<u8>();
        // SAFETY: `running` is set, so `place` holds a live future of the type `vtable` was
        // made for, pinned since `start`.
        let poll = unsafe { (vtable.poll)(place, cx) };
        if poll.is_ready() {
            this.running = None;
            // SAFETY: as above; `running` is cleared first, so a panic in the drop cannot lead
            // to a second drop.
            unsafe { (vtable.drop)(place) };
        }
        poll
    }

    /// Drops the running future, if any.
    #[inline]
    fn clear(self: Pin<&mut Self>) {
        // SAFETY: only fields are accessed; the storage is not moved.
        let this = unsafe { self.get_unchecked_mut() };
        if let Some(vtable) = this.running.take() {
            // SAFETY: `running` was set, so the storage holds a live future of `vtable`'s type;
            // it is no longer marked running, so it is dropped once.
            unsafe { (vtable.drop)((&raw mut this.storage).cast::<u8>()) };
        }
    }
}

impl<T> Drop for FutureSlot<'_, T> {
    fn drop(&mut self) {
        // SAFETY: `drop` is the last use of the slot, which was pinned if it ever held a future
        // (`start` takes `Pin<&mut Self>`), so treating it as pinned here is sound.
        unsafe { Pin::new_unchecked(self) }.clear();
    }
}

/// Drops the future at its pointer when dropped itself: armed across a first poll, and
/// forgotten once it returns.
struct DropOnUnwind<F>(*mut F);

impl<F> Drop for DropOnUnwind<F> {
    fn drop(&mut self) {
        // SAFETY: only reached while a first poll unwinds; the future at the pointer is live,
        // not marked running, and not used again.
        unsafe { ptr::drop_in_place(self.0) }
    }
}

/// Whether an `F` fits the slot's storage inline.
const fn fits<F>() -> bool {
    mem::size_of::<F>() <= INLINE_FUTURE_BYTES && mem::align_of::<F>() <= SLOT_ALIGN
}

/// # Safety
/// `place` must hold a live, pinned `F`.
unsafe fn poll_raw<F: Future<Output = T>, T>(
    place: *mut u8,
    cx: &mut task::Context<'_>,
) -> Poll<T> {
    // SAFETY: the caller guarantees a live, pinned `F` at `place`.
    unsafe { Pin::new_unchecked(&mut *place.cast::<F>()) }.poll(cx)
}

/// # Safety
/// `place` must hold a live `F`, which is not used afterwards.
unsafe fn drop_raw<F>(place: *mut u8) {
    // SAFETY: the caller guarantees a live `F` at `place` that is not used again.
    unsafe { ptr::drop_in_place(place.cast::<F>()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Waker;

    /// Counts drops, to check every future is dropped exactly once.
    struct DropCounter(Arc<AtomicUsize>);
    impl Drop for DropCounter {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Pending `n` times, then ready with `value`; holds a drop counter and `pad` bytes.
    async fn pending_then<const PAD: usize>(n: usize, value: u32, drops: Arc<AtomicUsize>) -> u32 {
        let _counter = DropCounter(drops);
        let pad = [7u8; PAD];
        for _ in 0..n {
            let mut yielded = false;
            std::future::poll_fn(|cx| {
                if yielded {
                    Poll::Ready(())
                } else {
                    yielded = true;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
            })
            .await;
        }
        value + u32::from(std::hint::black_box(pad)[PAD - 1])
    }

    fn run<const PAD: usize>(pending: usize) -> (Vec<Poll<u32>>, usize) {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut cx = task::Context::from_waker(Waker::noop());
        let mut slot = Box::pin(FutureSlot::<u32>::new());
        let mut polls = vec![
            slot.as_mut()
                .start(pending_then::<PAD>(pending, 1, drops.clone()), &mut cx),
        ];
        while polls.last().is_some_and(Poll::is_pending) {
            polls.push(slot.as_mut().poll(&mut cx));
        }
        (polls, drops.load(Ordering::SeqCst))
    }

    #[test]
    fn ready_at_once_is_dropped_at_once() {
        let (polls, drops) = run::<8>(0);
        assert_eq!(polls, [Poll::Ready(8)]);
        assert_eq!(drops, 1);
    }

    #[test]
    fn pending_future_is_polled_in_place_until_ready() {
        let (polls, drops) = run::<8>(3);
        assert_eq!(polls.len(), 4);
        assert_eq!(polls[3], Poll::Ready(8));
        assert_eq!(drops, 1);
    }

    #[test]
    fn oversized_future_is_boxed_and_still_works() {
        let (polls, drops) = run::<{ INLINE_FUTURE_BYTES * 2 }>(2);
        assert_eq!(polls.last(), Some(&Poll::Ready(8)));
        assert_eq!(drops, 1);
    }

    #[test]
    fn dropping_a_pending_slot_drops_its_future_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut cx = task::Context::from_waker(Waker::noop());
        let mut slot = Box::pin(FutureSlot::<u32>::new());
        assert!(
            slot.as_mut()
                .start(pending_then::<8>(5, 1, drops.clone()), &mut cx)
                .is_pending()
        );
        drop(slot);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn restarting_drops_the_previous_future() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut cx = task::Context::from_waker(Waker::noop());
        let mut slot = Box::pin(FutureSlot::<u32>::new());
        assert!(
            slot.as_mut()
                .start(pending_then::<8>(5, 1, drops.clone()), &mut cx)
                .is_pending()
        );
        assert!(
            slot.as_mut()
                .start(pending_then::<8>(0, 2, drops.clone()), &mut cx)
                .is_ready()
        );
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_first_poll_that_panics_drops_its_future() {
        let drops = Arc::new(AtomicUsize::new(0));
        let counter = DropCounter(drops.clone());
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut cx = task::Context::from_waker(Waker::noop());
            let mut slot = Box::pin(FutureSlot::<u32>::new());
            let _ = slot.as_mut().start(
                async move {
                    let _counter = counter;
                    panic!("first poll");
                },
                &mut cx,
            );
        }));
        assert!(outcome.is_err());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    #[should_panic(expected = "polled after it completed")]
    fn polling_an_empty_slot_panics() {
        let mut cx = task::Context::from_waker(Waker::noop());
        let mut slot = Box::pin(FutureSlot::<u32>::new());
        let _ = slot.as_mut().poll(&mut cx);
    }
}
