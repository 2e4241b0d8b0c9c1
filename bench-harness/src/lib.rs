//! catga-bench: runs benchmark scenarios against the catga runtime and reference baselines,
//! records HDR latency histograms, saves versioned reports and compares them with a baseline.
//!
//! The pieces, in the order a run uses them: [`scenario`] (what to measure), [`runner`] (how:
//! warm-up, samples, batching, concurrency, open-loop rates, allocation counting), [`report`]
//! (the saved JSON), [`compare`] (verdicts against a baseline), and the outputs: [`render`]
//! (human, JSON, markdown), [`hgrm`] (HdrHistogram percentile files) and [`plot`] (SVG).
//! [`project`] is the `main` of a project's own bench target, which `catga bench` builds and
//! runs inside that project.

mod alloc;
pub mod builtin;
pub mod compare;
mod env;
pub mod hgrm;
pub mod plot;
mod progress;
pub mod project;
pub mod render;
pub mod report;
pub mod runner;
pub mod scenario;

pub use alloc::CountingAllocator;
pub use report::Report;
pub use runner::{RunError, RunOptions, run};
pub use scenario::{Group, Scenario, Workload};

use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same directory, renamed into place:
/// a reader, or a run that fails halfway, sees the old file or the new one, never a mix.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}
