//! Profiles (`catga bench --profile DIR`): where each scenario spends its CPU time and where it
//! allocates, to explain a verdict.
//!
//! Profiling happens in a pass of its own, after the measured run, in the process that runs the
//! scenarios (the `catga` CLI for the built-in suite, a project's bench target through the
//! protocol's `profile` command), so no measured figure is taken under a profiler. Per scenario
//! ([`run`]):
//!
//! 1. set up and warm up as the run does, with the run's batch, concurrency and rate;
//! 2. one sample lasting `--duration` with the CPU profiler on ([`cpu`]): stacks sampled on
//!    CPU time, folded ([`folded`]);
//! 3. one sample lasting a fifth of that (at most [`MAX_ALLOCATION_TIME`]) with the counting
//!    allocator recording the stack of every allocation ([`alloc_sites`]): allocations and
//!    bytes by stack ([`allocations`]);
//! 4. teardown.
//!
//! The process that asked renders the results ([`files`]): a flamegraph per scenario, the
//! folded stacks it was drawn from (kept for later comparisons), the allocation sites as a
//! table and as a flamegraph of bytes, and, when comparing, a differential flamegraph of each
//! regressed scenario against the baseline's stacks ([`flamegraph`]).

pub(crate) mod alloc_sites;
pub mod allocations;
pub mod cpu;
pub mod files;
pub mod flamegraph;
pub mod folded;

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::runtime::Runtime;

use crate::runner::{self, Driver, RunError, RunOptions, SamplePlan};
use crate::scenario::Scenario;

use allocations::AllocationProfile;
use cpu::CpuProfiler;
use folded::Folded;

/// The longest allocation-recording sample: taking a stack per allocation is slow, and the
/// sites of a thousand operations are those of a million.
pub const MAX_ALLOCATION_TIME: Duration = Duration::from_secs(1);

/// One scenario's profiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioProfile {
    pub name: String,
    pub cpu: CpuStacks,
    pub allocations: AllocationProfile,
}

/// The CPU stacks of a sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuStacks {
    /// Samples per second of CPU time asked for ([`cpu::SAMPLE_HZ`]).
    pub sample_hz: i32,
    /// Operations the sample ran.
    pub ops: u64,
    /// Wall time of the sample.
    pub elapsed_ns: u64,
    pub stacks: Folded,
}

/// How long the allocation-recording sample of a run lasting `duration` per scenario runs.
pub fn allocation_time(duration: Duration) -> Duration {
    (duration / 5).min(MAX_ALLOCATION_TIME)
}

/// Profiles each of `scenarios`, one after another, as `options` would measure them (its
/// `duration` is the CPU sample's; `samples` is not used). Needs [`crate::CountingAllocator`],
/// as a run does.
pub fn run(scenarios: &[Scenario], options: &RunOptions) -> Result<Vec<ScenarioProfile>, RunError> {
    runner::check_options(options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let timer_overhead_ns = runner::timer_overhead_ns();
    let mut profiles = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        if !options.quiet {
            let _ = writeln!(
                std::io::stderr(),
                "Profiling {}: CPU stacks for {:?}, then allocation sites for {:?}",
                scenario.name(),
                options.duration,
                allocation_time(options.duration)
            );
        }
        let driver = runtime.block_on((scenario.setup())());
        let profiled = profile_one(&runtime, scenario, &*driver, options, timer_overhead_ns);
        driver.teardown(&runtime);
        profiles.push(profiled?);
    }
    Ok(profiles)
}

fn profile_one(
    runtime: &Runtime,
    scenario: &Scenario,
    driver: &dyn Driver,
    options: &RunOptions,
    timer_overhead_ns: f64,
) -> Result<ScenarioProfile, RunError> {
    let failed = |error| runner::failed(scenario, error);
    let (ops, took) = driver.warm(runtime, options.warmup).map_err(failed)?;
    let op_ns = took.as_nanos() as f64 / ops.max(1) as f64;
    let plan = SamplePlan::for_scenario(scenario, options, op_ns, timer_overhead_ns);

    let profiler = CpuProfiler::start().map_err(RunError::Profile)?;
    let sampled = driver.sample(runtime, plan.lasting(options.duration));
    let stacks = profiler.finish();
    let sampled = sampled.map_err(failed)?;
    let cpu = CpuStacks {
        sample_hz: cpu::SAMPLE_HZ,
        ops: sampled.ops,
        elapsed_ns: u64::try_from(sampled.elapsed.as_nanos()).unwrap_or(u64::MAX),
        stacks: stacks.map_err(RunError::Profile)?,
    };

    driver.between_samples();
    alloc_sites::start();
    let sampled = driver.sample(runtime, plan.lasting(allocation_time(options.duration)));
    let recorded = alloc_sites::stop();
    let ops = sampled.map_err(failed)?.ops;
    Ok(ScenarioProfile {
        name: scenario.name().to_owned(),
        cpu,
        allocations: alloc_sites::resolve(recorded, ops),
    })
}

/// Writes `profiles` to `path` as JSON, atomically: how a bench target hands them to `catga`.
pub fn save(profiles: &[ScenarioProfile], path: &Path) -> Result<(), String> {
    let json = serde_json::to_string(profiles).expect("profiles always serialize");
    crate::atomic_write(path, json.as_bytes())
        .map_err(|error| format!("cannot write the profiles `{}`: {error}", path.display()))
}

/// Reads what [`save`] wrote.
pub fn load(path: &Path) -> Result<Vec<ScenarioProfile>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the profiles `{}`: {error}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|error| format!("`{}` holds no profiles: {error}", path.display()))
}
