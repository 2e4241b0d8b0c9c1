//! catga-bench: runs benchmark scenarios against the catga runtime and reference baselines,
//! records HDR latency histograms, saves versioned reports and compares them with a baseline.
//!
//! The pieces, in the order a run uses them: [`scenario`] (what to measure), [`runner`] (how:
//! warm-up, samples, batching, concurrency, open-loop rates, allocation counting), [`report`]
//! (the saved JSON), [`compare`] (verdicts against a baseline), and the outputs: [`render`]
//! (human, JSON, markdown), [`hgrm`] (HdrHistogram percentile files) and [`plot`] (SVG).
//! [`profile`] explains a verdict: CPU flamegraphs and allocation sites, in a pass after the
//! measured one.
//! [`project`] is the `main` of a project's own bench target, and [`target`] the other side:
//! what `catga bench` does to build that target, list its scenarios and measure them.

mod alloc;
pub mod builtin;
pub mod check;
pub mod compare;
mod cpu;
mod env;
pub mod hgrm;
pub mod instructions;
pub mod plot;
pub mod profile;
mod progress;
pub mod project;
pub mod render;
pub mod report;
pub mod rev;
pub mod runner;
pub mod scenario;
pub mod target;

pub use alloc::CountingAllocator;
pub use report::Report;
pub use runner::{RunError, RunOptions, run};
pub use scenario::{Floor, Group, Scenario, Workload};

use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file in the same directory, renamed into place:
/// a reader, or a run that fails halfway, sees the old file or the new one, never a mix. The file
/// gets the permissions any new file gets here (`0666` less the umask), not the temporary
/// file's private `0600`.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".catga-bench-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Passed to open(2), which takes the umask off, as for any file a program creates.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut file = builder.tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn written_files_get_the_permissions_of_a_new_file_not_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let reference = dir.path().join("reference");
        std::fs::write(&reference, b"x").unwrap();
        let expected = std::fs::metadata(&reference).unwrap().permissions().mode() & 0o777;
        let path = dir.path().join("report.json");
        super::atomic_write(&path, b"{}").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, expected, "{mode:o} vs {expected:o}");
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
    }
}
