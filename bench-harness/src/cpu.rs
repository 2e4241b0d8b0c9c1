//! What contention does not change: the CPU time the process spent, and how long its threads
//! waited for a core.
//!
//! Wall time per operation doubles when another process takes the core; CPU time per operation
//! does not, since the clock only runs while the process's threads run. The process clock
//! (`CLOCK_PROCESS_CPUTIME_ID`, the sum of every thread's own clock) is read rather than the
//! measuring thread's alone, because an operation's work is not always on that thread: a
//! channel actor answers on a tokio worker, the SQLite stores on their connection's thread,
//! and closed-loop tasks run on all the workers.
//!
//! The run-queue wait (Linux's `/proc/self/task/*/schedstat`, second field) is the time the
//! process's threads were ready to run but had no core: zero on an idle machine, and the
//! measure of how much a sample's wall time was the machine's rather than the code's.

use std::time::Duration;

/// The CPU time all threads of this process have used so far; `None` where the clock is
/// missing (it exists on Linux, macOS and the BSDs).
pub(crate) fn process_cpu_time() -> Option<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through the pointer, which points to a
    // live, properly aligned `timespec` owned by this frame; it reads nothing else.
    #[allow(unsafe_code)]
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    if status != 0 {
        return None;
    }
    let secs = u64::try_from(now.tv_sec).ok()?;
    let nanos = u32::try_from(now.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

/// How long the threads of this process have waited on a run queue, summed; `None` where the
/// kernel does not say (not Linux, or no schedstat).
pub(crate) fn run_queue_wait() -> Option<Duration> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut total = 0u64;
    let mut any = false;
    for task in tasks.flatten() {
        // A thread may end between the listing and the read: it then waits no more.
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        if let Some(wait) = parse_schedstat_wait(&text) {
            total = total.saturating_add(wait);
            any = true;
        }
    }
    any.then(|| Duration::from_nanos(total))
}

/// The run-queue wait, in nanoseconds, of a `schedstat` line: `on_cpu_ns wait_ns timeslices`.
fn parse_schedstat_wait(text: &str) -> Option<u64> {
    text.split_whitespace().nth(1)?.parse().ok()
}

/// The process's CPU time and run-queue wait at one moment, to subtract from a later one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clocks {
    cpu: Option<Duration>,
    wait: Option<Duration>,
}

/// What the process used between two [`Clocks`] readings.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Used {
    pub(crate) cpu: Option<Duration>,
    pub(crate) wait: Option<Duration>,
}

impl Clocks {
    /// The clocks at the start of a measurement: the wait (a few file reads) first, so their
    /// cost is not in the CPU time measured from here.
    pub(crate) fn start() -> Clocks {
        let wait = run_queue_wait();
        Clocks {
            cpu: process_cpu_time(),
            wait,
        }
    }

    /// The clocks at the end of a measurement: the CPU time first, for the same reason.
    pub(crate) fn end() -> Clocks {
        let cpu = process_cpu_time();
        Clocks {
            cpu,
            wait: run_queue_wait(),
        }
    }

    /// What was used since `self`. The wait can shrink when a thread that waited ended, so a
    /// negative difference reads as none.
    pub(crate) fn since(self, earlier: Clocks) -> Used {
        let diff = |later: Option<Duration>, earlier: Option<Duration>| {
            Some(later?.saturating_sub(earlier?))
        };
        Used {
            cpu: diff(self.cpu, earlier.cpu),
            wait: diff(self.wait, earlier.wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_clock_advances_with_work() {
        let Some(start) = process_cpu_time() else {
            return;
        };
        let mut x = 1u64;
        let began = std::time::Instant::now();
        while began.elapsed() < Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(process_cpu_time().expect("read before") > start);
    }

    #[test]
    fn schedstat_lines_give_the_wait() {
        assert_eq!(parse_schedstat_wait("123 456 7\n"), Some(456));
        assert_eq!(parse_schedstat_wait("123"), None);
        assert_eq!(parse_schedstat_wait("a b c"), None);
    }

    #[test]
    fn a_wait_that_shrinks_reads_as_none() {
        let earlier = Clocks {
            cpu: Some(Duration::from_millis(5)),
            wait: Some(Duration::from_millis(9)),
        };
        let later = Clocks {
            cpu: Some(Duration::from_millis(8)),
            wait: Some(Duration::from_millis(4)),
        };
        let used = later.since(earlier);
        assert_eq!(used.cpu, Some(Duration::from_millis(3)));
        assert_eq!(used.wait, Some(Duration::ZERO));
        let unknown = Clocks {
            cpu: None,
            wait: None,
        };
        assert_eq!(unknown.since(earlier), Used::default());
    }
}
