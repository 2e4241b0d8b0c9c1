//! Where allocations come from: while recording is on, [`crate::CountingAllocator`] takes the
//! stack of every allocation it counts and adds it to a table of distinct stacks, with the
//! allocations and bytes made there. It runs in a pass of its own (taking a stack costs
//! microseconds), never while anything is measured or CPU-profiled.
//!
//! The recorder runs inside the global allocator, so it must not allocate, and must not take
//! a lock that an allocation could be waiting on:
//!
//! - the table is allocated before recording starts, with room for [`MAX_STACKS`] distinct
//!   stacks of up to [`MAX_FRAMES`] return addresses each; a stack that finds the table full
//!   is counted as unplaced, never stored, and a deeper one keeps its innermost frames. Memory
//!   is bounded (about 2 MiB) whatever the program does;
//! - an allocation made while this thread records another (the unwinder's own, if any) is
//!   neither recorded nor counted: a thread-local flag says so;
//! - the stack is taken before the table's lock is, and nothing under that lock allocates.
//!
//! Names are looked up after recording stops ([`resolve`]), once per distinct address.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use super::allocations::{AllocationProfile, AllocationStack, Tally};
use super::folded::{UNKNOWN_FRAME, frame_name, is_without_path, without_tool_frames};

/// Return addresses kept per stack: the innermost ones.
pub(crate) const MAX_FRAMES: usize = 64;

/// Slots in the table; it is filled to three quarters at most, so a probe always ends.
const SLOTS: usize = 4096;

/// Distinct stacks the table holds.
pub(crate) const MAX_STACKS: usize = SLOTS / 4 * 3;

/// The frame put at the root of a stack deeper than [`MAX_FRAMES`].
pub(crate) const TRUNCATED_FRAME: &str = "[outer frames not recorded]";

static RECORDING: AtomicBool = AtomicBool::new(false);

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

thread_local! {
    /// Whether this thread is recording an allocation now. Const-initialised and without a
    /// destructor, so reading it never allocates and works while the thread exits.
    static RECORDING_HERE: Cell<bool> = const { Cell::new(false) };
}

#[derive(Clone, Copy)]
struct Slot {
    /// 0: empty.
    hash: u64,
    depth: usize,
    truncated: bool,
    frames: [usize; MAX_FRAMES],
    tally: Tally,
}

const EMPTY: Slot = Slot {
    hash: 0,
    depth: 0,
    truncated: false,
    frames: [0; MAX_FRAMES],
    tally: Tally { count: 0, bytes: 0 },
};

/// Distinct stacks in open addressing, allocated once before recording starts.
struct Table {
    slots: Vec<Slot>,
    stacks: usize,
    unplaced: Tally,
}

impl Table {
    fn new() -> Table {
        Table {
            slots: vec![EMPTY; SLOTS],
            stacks: 0,
            unplaced: Tally::default(),
        }
    }

    /// Adds one allocation of `bytes` at `frames`. Never allocates.
    fn add(&mut self, frames: &[usize], truncated: bool, bytes: u64) {
        let hash = stack_hash(frames, truncated);
        let mut index = hash as usize % SLOTS;
        loop {
            let slot = &mut self.slots[index];
            if slot.hash == 0 {
                if self.stacks == MAX_STACKS {
                    self.unplaced.add(bytes);
                    return;
                }
                slot.hash = hash;
                slot.depth = frames.len();
                slot.truncated = truncated;
                slot.frames[..frames.len()].copy_from_slice(frames);
                slot.tally.add(bytes);
                self.stacks += 1;
                return;
            }
            if slot.hash == hash
                && slot.truncated == truncated
                && slot.frames[..slot.depth] == *frames
            {
                slot.tally.add(bytes);
                return;
            }
            index = (index + 1) % SLOTS;
        }
    }
}

/// FNV-1a over the addresses; never 0, which marks an empty slot.
fn stack_hash(frames: &[usize], truncated: bool) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &frame in frames {
        hash ^= frame as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash ^ u64::from(truncated)) | 1
}

/// Whether allocation sites are being recorded: the allocator asks before [`record`].
#[inline]
pub(crate) fn is_recording() -> bool {
    RECORDING.load(Ordering::Relaxed)
}

/// Records one allocation of `bytes` at the calling stack. Returns false when the allocation
/// is the recorder's own (made while this thread records another): the allocator then does
/// not count it either.
pub(crate) fn record(bytes: usize) -> bool {
    let Ok(nested) = RECORDING_HERE.try_with(|here| here.replace(true)) else {
        return true;
    };
    if nested {
        return false;
    }
    let mut frames = [0usize; MAX_FRAMES];
    let mut depth = 0;
    let mut truncated = false;
    backtrace::trace(|frame| {
        if depth == MAX_FRAMES {
            truncated = true;
            return false;
        }
        frames[depth] = frame.ip() as usize;
        depth += 1;
        true
    });
    let mut table = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(table) = table.as_mut() {
        table.add(&frames[..depth], truncated, bytes as u64);
    }
    drop(table);
    RECORDING_HERE.with(|here| here.set(false));
    true
}

/// What recording collected: distinct stacks as return addresses, innermost first.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    stacks: Vec<(Vec<usize>, bool, Tally)>,
    unplaced: Tally,
}

/// Starts recording into a new, empty table (allocated here, before recording is on).
pub(crate) fn start() {
    let table = Table::new();
    *TABLE.lock().unwrap_or_else(PoisonError::into_inner) = Some(table);
    RECORDING.store(true, Ordering::SeqCst);
}

/// Stops recording and returns what the table holds.
pub(crate) fn stop() -> Recorded {
    RECORDING.store(false, Ordering::SeqCst);
    let table = TABLE.lock().unwrap_or_else(PoisonError::into_inner).take();
    let Some(table) = table else {
        return Recorded::default();
    };
    Recorded {
        stacks: table
            .slots
            .iter()
            .filter(|slot| slot.hash != 0)
            .map(|slot| {
                (
                    slot.frames[..slot.depth].to_vec(),
                    slot.truncated,
                    slot.tally,
                )
            })
            .collect(),
        unplaced: table.unplaced,
    }
}

/// Names the recorded stacks (outermost frame first, the recorder's own frames cut off), for
/// `ops` operations.
pub(crate) fn resolve(recorded: Recorded, ops: u64) -> AllocationProfile {
    let mut names: HashMap<usize, Vec<String>> = HashMap::new();
    let mut stacks = Vec::with_capacity(recorded.stacks.len());
    for (addresses, truncated, tally) in recorded.stacks {
        let mut frames: Vec<String> = Vec::with_capacity(addresses.len() + 1);
        for address in addresses {
            frames.extend(
                names
                    .entry(address)
                    .or_insert_with(|| symbols_at(address))
                    .iter()
                    .cloned(),
            );
        }
        without_tool_frames(&mut frames, is_recorder_frame);
        if truncated {
            frames.push(TRUNCATED_FRAME.to_owned());
        }
        frames.reverse();
        stacks.push(AllocationStack {
            frames,
            count: tally.count,
            bytes: tally.bytes,
        });
    }
    AllocationProfile::new(ops, stacks, recorded.unplaced)
}

/// The functions at a return address, innermost (inlined) first.
fn symbols_at(address: usize) -> Vec<String> {
    let mut names = Vec::new();
    backtrace::resolve(address as *mut std::ffi::c_void, |symbol| {
        let file = symbol.filename();
        let name = frame_name(symbol.name().as_ref().map(|name| name.as_bytes()), file);
        names.push(match file {
            // With line tables only, the recorder's inlined functions carry no path: give
            // them this module's, so they are cut like the rest of the recorder.
            Some(file)
                if is_without_path(&name)
                    && RECORDER_SOURCES.iter().any(|own| file.ends_with(own)) =>
            {
                format!("{RECORDER_MODULE}{name}")
            }
            _ => name,
        });
    });
    if names.is_empty() {
        names.push(UNKNOWN_FRAME.to_owned());
    }
    names
}

/// The source files of the recorder: the counting allocator's and this module's.
const RECORDER_SOURCES: [&str; 2] = [crate::alloc::SOURCE_FILE, file!()];
/// The path given to the recorder's frames that are named without one.
const RECORDER_MODULE: &str = "catga_bench::profile::alloc_sites::";

/// The frames between an allocation and the code that asked for it that are the recorder's
/// and the global allocator's: the unwinder, this module, the counting allocator and the
/// `__rust_alloc` shims.
fn is_recorder_frame(name: &str) -> bool {
    let path = name.trim_start_matches('<');
    [
        "backtrace::",
        "_Unwind_",
        "catga_bench::profile::alloc_sites::",
        "catga_bench::alloc::",
        "__rust_alloc",
        "__rust_realloc",
        "__rust_alloc_zeroed",
        "__rustc::__rust_",
        "__rg_",
        "__rdl_",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_sums_allocations_per_stack_and_counts_the_overflow_as_unplaced() {
        let mut table = Table::new();
        table.add(&[1, 2, 3], false, 16);
        table.add(&[1, 2, 3], false, 32);
        table.add(&[1, 2, 3], true, 8);
        table.add(&[1, 2], false, 8);
        assert_eq!(table.stacks, 3);
        let slot = table
            .slots
            .iter()
            .find(|slot| slot.hash != 0 && slot.depth == 3 && !slot.truncated)
            .unwrap();
        assert_eq!(
            slot.tally,
            Tally {
                count: 2,
                bytes: 48
            }
        );
        for address in 0..MAX_STACKS {
            table.add(&[address + 100], false, 1);
        }
        assert_eq!(table.stacks, MAX_STACKS);
        assert_eq!(table.unplaced, Tally { count: 3, bytes: 3 });
    }

    #[test]
    fn the_recorders_frames_are_told_from_the_programs() {
        for name in [
            "backtrace::backtrace::trace_unsynchronized",
            "catga_bench::profile::alloc_sites::record",
            "catga_bench::alloc::count",
            "<catga_bench::alloc::CountingAllocator as core::alloc::global::GlobalAlloc>::alloc",
            "__rust_alloc",
            "__rustc::__rust_alloc_zeroed",
            "__rdl_alloc",
        ] {
            assert!(is_recorder_frame(name), "{name}");
        }
        for name in [
            "alloc::raw_vec::RawVec<T,A>::grow_one",
            "catga::mediator::Mediator::send",
            "catga_bench::profile::run",
        ] {
            assert!(!is_recorder_frame(name), "{name}");
        }
    }
}
