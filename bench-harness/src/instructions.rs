//! Instructions per operation (`catga bench --instructions`): what a scenario's operation costs
//! in executed instructions, counted under valgrind's callgrind, the way gungraun (formerly
//! iai-callgrind) measures. The count does not depend on the machine's load or speed, so a
//! change of a few percent shows on the noisiest runner.
//!
//! The bench executable (the `catga` CLI for the built-in suite, a project's bench target for
//! its scenarios) is run under `valgrind --tool=callgrind --toggle-collect=*::catga_bench_counted_ops`:
//! callgrind counts only inside [`catga_bench_counted_ops`], which runs the scenario's
//! operations one after another on a current-thread tokio runtime, after a warm-up outside it.
//! Set-up, warm-up and teardown are not counted. Work an operation hands to another OS thread
//! (the SQLite stores' connection thread) is not counted either; tasks it spawns are, since
//! they run on the same thread.
//!
//! Scenarios with an open-loop rate wait for their schedule and for a broker, not for
//! instructions: they are not counted.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};

use tokio::runtime::Runtime;

use crate::scenario::{Scenario, Workload};

/// The function whose instructions callgrind counts (its name, as the glob matches it).
pub const COUNTED_FUNCTION: &str = "catga_bench_counted_ops";

/// The valgrind executable, from `CATGA_VALGRIND` or `PATH`.
pub fn valgrind() -> OsString {
    std::env::var_os("CATGA_VALGRIND").unwrap_or_else(|| OsString::from("valgrind"))
}

/// Checks that valgrind runs, before anything is measured.
pub fn check_valgrind() -> Result<(), String> {
    let valgrind = valgrind();
    match Command::new(&valgrind)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!(
            "`{} --version` failed ({}): `--instructions` counts instructions under valgrind's \
             callgrind; reinstall valgrind, or run without `--instructions`",
            valgrind.to_string_lossy(),
            output.status
        )),
        Err(error) => Err(format!(
            "cannot run `{}`: {error}; `--instructions` counts instructions under valgrind's \
             callgrind: install valgrind (`apt-get install valgrind`, `brew install valgrind`) \
             or set CATGA_VALGRIND to it, or run without `--instructions`",
            valgrind.to_string_lossy()
        )),
    }
}

/// How many operations to count for a scenario whose operation takes `mean_ns`: about 20 ms
/// of native time (a second or two under callgrind), between 256 and 8192, a multiple of 256
/// so that work done every 256th operation (the outbox's delivery) weighs the same in every
/// count.
pub fn ops_for(mean_ns: f64) -> u64 {
    let wanted = if mean_ns.is_finite() && mean_ns > 0.0 {
        (20e6 / mean_ns) as u64
    } else {
        256
    };
    wanted.clamp(256, 8192).div_ceil(256) * 256
}

/// Whether a scenario is counted: not an open loop.
pub fn is_counted(scenario_rate: Option<f64>) -> bool {
    scenario_rate.is_none()
}

/// Runs `program args` under callgrind, counting inside [`COUNTED_FUNCTION`], and returns the
/// instructions counted divided by `ops`. `scratch` holds callgrind's output file.
pub fn count_under_callgrind(
    program: &Path,
    args: &[OsString],
    dir: &Path,
    ops: u64,
    scratch: &Path,
) -> Result<f64, String> {
    let out = scratch.join("callgrind.out");
    let output = Command::new(valgrind())
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        // The function itself, not its closures: entering one would toggle counting off.
        // Legacy symbols demangle without the generic parameter, v0 ones with it.
        .arg(format!("--toggle-collect=*::{COUNTED_FUNCTION}"))
        .arg(format!("--toggle-collect=*::{COUNTED_FUNCTION}::<*>"))
        .arg(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run `{}`: {error}", valgrind().to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!(
            "`{} --tool=callgrind {}` failed ({}): {}",
            valgrind().to_string_lossy(),
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = std::fs::read_to_string(&out)
        .map_err(|error| format!("callgrind wrote no output `{}`: {error}", out.display()))?;
    let total = totals(&text).ok_or_else(|| {
        format!(
            "callgrind's output `{}` has no `totals:` line",
            out.display()
        )
    })?;
    if total == 0 {
        return Err(format!(
            "callgrind counted no instruction inside `{COUNTED_FUNCTION}`: the executable \
             `{}` did not run the counted operations (a bench target built without symbols?)",
            program.display()
        ));
    }
    Ok(total as f64 / ops as f64)
}

/// The instruction total of a callgrind output file (`totals: N`, or `summary: N`).
pub fn totals(text: &str) -> Option<u64> {
    text.lines()
        .filter_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .find_map(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// The child's side: sets `scenario` up on a current-thread runtime, warms it up with a
/// quarter of `ops` operations, runs `ops` operations inside [`catga_bench_counted_ops`], and
/// tears it down.
pub fn run_counted(scenario: &Scenario, ops: u64) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the tokio runtime: {error}"))?;
    let driver = runtime.block_on((scenario.setup())());
    let outcome = driver
        .count(&runtime, (ops / 4).max(1), false)
        .and_then(|()| driver.count(&runtime, ops, true));
    driver.teardown(&runtime);
    outcome.map_err(|error| format!("scenario `{}` failed: {error}", scenario.name()))
}

/// Runs `ops` operations of `workload` one after another; when `counted`, inside
/// [`catga_bench_counted_ops`].
pub(crate) fn run_ops<W: Workload>(
    runtime: &Runtime,
    workload: &W,
    ops: u64,
    counted: bool,
) -> catga::Result<()> {
    if counted {
        catga_bench_counted_ops(runtime, workload, ops)
    } else {
        runtime.block_on(async {
            for _ in 0..ops {
                workload.op().await?;
            }
            Ok(())
        })
    }
}

/// The operations callgrind counts: never inlined, so that it is a function of its own for
/// `--toggle-collect`.
#[inline(never)]
pub fn catga_bench_counted_ops<W: Workload>(
    runtime: &Runtime,
    workload: &W,
    ops: u64,
) -> catga::Result<()> {
    runtime.block_on(async {
        for _ in 0..ops {
            workload.op().await?;
        }
        Ok(())
    })
}

/// Where a counting child puts callgrind's output: a fresh temporary directory.
pub fn scratch_dir() -> Result<tempfile::TempDir, String> {
    tempfile::tempdir().map_err(|error| format!("cannot create a temporary directory: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callgrind_totals_are_read_from_the_output_file() {
        let text =
            "# callgrind format\nevents: Ir\nsummary: 18016\n\nfn=(1) x\n3 4\ntotals: 18016\n";
        assert_eq!(totals(text), Some(18016));
        assert_eq!(totals("events: Ir\n"), None);
    }

    #[test]
    fn counts_cover_about_20_ms_in_multiples_of_256() {
        assert_eq!(ops_for(10.0), 8192);
        assert_eq!(ops_for(40_000.0), 512);
        assert_eq!(ops_for(1e9), 256);
        assert_eq!(ops_for(f64::NAN), 256);
        assert_eq!(ops_for(20_000.0) % 256, 0);
    }
}
