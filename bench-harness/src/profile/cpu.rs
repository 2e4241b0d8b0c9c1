//! CPU stacks, sampled with pprof-rs: `setitimer(ITIMER_PROF)` makes the kernel send the
//! process `SIGPROF` every [`SAMPLE_HZ`]th of a second of CPU time it uses (any thread's), and
//! the handler records the interrupted thread's stack. No root, no perf events: it works in a
//! container and on a CI runner. Time spent waiting (for a lock, a broker, the scheduler) is not
//! CPU time and is not sampled.

use pprof::{ProfilerGuard, ProfilerGuardBuilder};

use super::folded::{Folded, frame_name, without_tool_frames};

/// Samples per second of CPU time. Prime, so that it does not beat with work the program does
/// at a round period; the kernel checks CPU timers on its tick, so a kernel built with a
/// slower tick (250 Hz) delivers fewer.
pub const SAMPLE_HZ: i32 = 997;

/// Code the signal handler must not interrupt: libgcc's unwinder, which the handler itself
/// runs (interrupting it can deadlock), and the vDSO (the clock reads), which some kernels
/// ship without unwind tables. Samples landing there are dropped. libc stays sampled: malloc
/// and memcpy are much of what a message bus costs.
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "loongarch64"
))]
const BLOCKLIST: &[&str] = &["libgcc", "vdso"];

/// A running CPU profile of this process.
pub(crate) struct CpuProfiler(ProfilerGuard<'static>);

impl std::fmt::Debug for CpuProfiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuProfiler").finish_non_exhaustive()
    }
}

impl CpuProfiler {
    /// Starts sampling the whole process. One at a time per process.
    pub(crate) fn start() -> Result<CpuProfiler, String> {
        let builder = ProfilerGuardBuilder::default().frequency(SAMPLE_HZ);
        // pprof can tell where a sample landed on these only.
        #[cfg(any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64",
            target_arch = "loongarch64"
        ))]
        let builder = builder.blocklist(BLOCKLIST);
        builder
            .build()
            .map(CpuProfiler)
            .map_err(|error| format!("cannot start the CPU profiler: {error}"))
    }

    /// Stops sampling and folds the stacks sampled, named by their symbols. Thread names are
    /// left out: the main thread is named after the executable, whose name changes with every
    /// build of a bench target, and stacks must line up with a baseline's.
    pub(crate) fn finish(self) -> Result<Folded, String> {
        let report = self
            .0
            .report()
            .build()
            .map_err(|error| format!("cannot read the CPU profile: {error}"))?;
        drop(self);
        let mut folded = Folded::new();
        for (stack, count) in &report.data {
            // Innermost first, each frame's inlined functions innermost first too.
            let mut frames: Vec<String> = stack
                .frames
                .iter()
                .flat_map(|symbols| symbols.iter())
                .map(|symbol| frame_name(symbol.name.as_deref(), symbol.filename.as_deref()))
                .collect();
            without_tool_frames(&mut frames, is_profiler_frame);
            let count = u64::try_from(*count).unwrap_or(0);
            folded.add(frames.iter().rev().map(String::as_str), count);
        }
        Ok(folded)
    }
}

/// The signal handler's own frames, above the interrupted code: pprof's and the unwinder's,
/// and the kernel's signal trampoline.
fn is_profiler_frame(name: &str) -> bool {
    let path = name.trim_start_matches('<');
    [
        "pprof::",
        "backtrace::",
        "_Unwind_",
        "__restore_rt",
        "perf_signal_handler",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handlers_frames_are_the_profilers_and_the_programs_are_not() {
        for name in [
            "pprof::profiler::perf_signal_handler",
            "<backtrace::backtrace::Frame as pprof::backtrace::Frame>::ip",
            "_Unwind_Backtrace",
            "__restore_rt",
        ] {
            assert!(is_profiler_frame(name), "{name}");
        }
        for name in ["catga::mediator::Mediator::send", "malloc", "main"] {
            assert!(!is_profiler_frame(name), "{name}");
        }
    }
}
