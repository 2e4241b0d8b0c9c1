//! How scenarios are measured.
//!
//! 1. Every selected scenario is set up, then warmed up for `warmup`; the warm-up also measures
//!    what one operation costs. An operation shorter than 20 times the timer overhead is timed
//!    in batches (the smallest power of two that makes the two clock reads under 5% of the
//!    measurement), and its histogram holds the per-operation mean of each batch.
//! 2. Samples are interleaved: sample 1 of every scenario, then sample 2 of every scenario, and
//!    so on, each preceded by a short re-warm. A slow stretch of a shared machine then spreads
//!    over all scenarios' samples instead of shifting one scenario's figures, and the spread
//!    of the samples is the noise the comparison weighs a change against.
//! 3. A sample runs for `duration / samples` and at least [`MIN_OPS_PER_SAMPLE`] operations:
//!    back to back with one in flight; closed loop with N tasks on the multi-threaded runtime,
//!    each running batches and yielding between them; or open loop at a fixed rate, never
//!    batched, with up to the scenario's concurrency in flight (wrk2's model), each latency
//!    counted from when its operation was due (so a stall is charged to every operation it
//!    delayed: no coordinated omission).
//! 4. Allocations are counted only inside samples, and so is the process's CPU time and its
//!    threads' wait for a core (see [`crate::cpu`]): the figures contention does not change,
//!    and the measure of how much it did.
//! 5. At the end, finished or failed, every workload that was set up is torn down
//!    ([`Workload::teardown`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::runtime::Runtime;

use crate::alloc::{self, Allocations};
use crate::cpu::{Clocks, Used};
use crate::report::{
    Latency, PS_PER_NS, Report, RunConfig, Sample, ScenarioReport, Tool, encode_histogram,
};
use crate::scenario::{Floor, Scenario, Workload};
use crate::{env, progress::Progress};

/// Operations a sample runs at least, however long they take.
pub const MIN_OPS_PER_SAMPLE: u64 = 20;

/// The name of the floor every runtime figure is a ratio to.
pub const FLOOR: &str = "direct_call";

/// Timing one operation must cost under 1/20 of it; shorter operations are batched.
const TIMER_SHARE: f64 = 20.0;

/// The largest batch.
const MAX_BATCH: u32 = 4096;

/// Highest latency a histogram records: one hour, in picoseconds. Longer ones are clamped.
const MAX_LATENCY_PS: u64 = 3_600 * 1_000_000_000_000;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Measured time per scenario, over all its samples.
    pub duration: Duration,
    /// Unmeasured time per scenario before its first sample.
    pub warmup: Duration,
    /// Independent measured slices per scenario.
    pub samples: u32,
    /// Open-loop rate for scenarios with one operation in flight and no rate of their own.
    pub rate: Option<f64>,
    /// No progress bars.
    pub quiet: bool,
    /// The batch of the named scenarios, instead of the one the warm-up calibrates: a
    /// comparison passes its baseline's, so that both runs' histograms hold the same kind of
    /// figure (the p99 of batch means of 64 is not the p99 of batch means of 128).
    pub batches: BTreeMap<String, u32>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            duration: Duration::from_secs(5),
            warmup: Duration::from_secs(1),
            samples: 10,
            rate: None,
            quiet: false,
            batches: BTreeMap::new(),
        }
    }
}

/// Why a run stopped.
#[derive(Debug)]
pub enum RunError {
    /// A scenario's operation failed.
    Operation {
        scenario: String,
        error: catga::Error,
    },
    /// The options make no run (zero samples, a rate of zero, ...).
    Options(String),
    /// The tokio runtime could not start.
    Runtime(std::io::Error),
    /// The profiler could not start or be read (`--profile`).
    Profile(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Operation { scenario, error } => {
                write!(f, "scenario `{scenario}` failed: {error}")
            }
            RunError::Options(message) => f.write_str(message),
            RunError::Runtime(error) => write!(f, "cannot start the tokio runtime: {error}"),
            RunError::Profile(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for RunError {}

/// What one sample measured.
pub(crate) struct SampleResult {
    pub(crate) ops: u64,
    pub(crate) elapsed: Duration,
    histogram: Histogram<u64>,
    allocations: Allocations,
    used: Used,
}

/// How one sample runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SamplePlan {
    duration: Duration,
    batch: u32,
    concurrency: u32,
    rate: Option<f64>,
}

impl SamplePlan {
    /// How `scenario`'s samples run under `options`, for an operation the warm-up measured at
    /// `op_ns`: its batch (the one `options` names for it, else calibrated), its concurrency,
    /// and its open-loop rate (its own, else `--rate` when it has one in flight). Each sample
    /// runs for `options.duration / options.samples`.
    pub(crate) fn for_scenario(
        scenario: &Scenario,
        options: &RunOptions,
        op_ns: f64,
        timer_overhead_ns: f64,
    ) -> SamplePlan {
        let rate = scenario
            .target_rate()
            .or(options.rate.filter(|_| scenario.in_flight() == 1));
        SamplePlan {
            duration: options.duration / options.samples.max(1),
            // Open-loop operations are due one at a time, so they are never batched.
            batch: if rate.is_none() {
                options
                    .batches
                    .get(scenario.name())
                    .copied()
                    .unwrap_or_else(|| batch_for(op_ns, timer_overhead_ns))
                    .clamp(1, MAX_BATCH)
            } else {
                1
            },
            concurrency: scenario.in_flight(),
            rate,
        }
    }

    /// The same plan, each sample running for `duration`.
    pub(crate) fn lasting(self, duration: Duration) -> SamplePlan {
        SamplePlan { duration, ..self }
    }
}

/// A scenario's workload behind an object-safe face; every loop inside is monomorphised for
/// the workload, so the harness adds no call or allocation per operation.
pub(crate) trait Driver: Send + Sync {
    /// Runs operations back to back for `duration`; returns their count and time.
    fn warm(&self, runtime: &Runtime, duration: Duration) -> catga::Result<(u64, Duration)>;
    fn sample(&self, runtime: &Runtime, plan: SamplePlan) -> catga::Result<SampleResult>;
    fn between_samples(&self);
    /// Runs `ops` operations one after another, inside the function callgrind counts when
    /// `counted` ([`crate::instructions`]).
    fn count(&self, runtime: &Runtime, ops: u64, counted: bool) -> catga::Result<()>;
    /// Runs the workload's teardown on `runtime`.
    fn teardown(&self, runtime: &Runtime);
}

/// Wraps a workload for the runner.
pub(crate) fn driver<W: Workload>(workload: W) -> impl Driver {
    WorkloadDriver {
        workload: Arc::new(workload),
    }
}

struct WorkloadDriver<W> {
    workload: Arc<W>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_PS, 3).expect("fixed, valid bounds")
}

fn picos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().saturating_mul(1000)).unwrap_or(u64::MAX)
}

fn record(histogram: &mut Histogram<u64>, value_ps: u64, count: u64) {
    histogram.saturating_record_n(value_ps.clamp(1, MAX_LATENCY_PS), count);
}

impl<W: Workload> Driver for WorkloadDriver<W> {
    fn warm(&self, runtime: &Runtime, duration: Duration) -> catga::Result<(u64, Duration)> {
        let workload = &*self.workload;
        runtime.block_on(async {
            let start = Instant::now();
            let mut ops = 0u64;
            let mut chunk = 1u64;
            // Growing chunks: a slow operation is not run far past the deadline, and a fast
            // one does not read the clock every time.
            while start.elapsed() < duration || ops < MIN_OPS_PER_SAMPLE {
                for _ in 0..chunk {
                    workload.op().await?;
                }
                ops += chunk;
                chunk = (chunk * 2).min(1024);
            }
            Ok((ops, start.elapsed()))
        })
    }

    fn sample(&self, runtime: &Runtime, plan: SamplePlan) -> catga::Result<SampleResult> {
        match (plan.concurrency, plan.rate) {
            (concurrency, Some(rate)) => self.open_loop(runtime, plan.duration, rate, concurrency),
            (1, None) => self.back_to_back(runtime, plan.duration, plan.batch),
            (concurrency, None) => {
                self.closed_loop(runtime, plan.duration, concurrency, plan.batch)
            }
        }
    }

    fn between_samples(&self) {
        self.workload.between_samples();
    }

    fn count(&self, runtime: &Runtime, ops: u64, counted: bool) -> catga::Result<()> {
        crate::instructions::run_ops(runtime, &*self.workload, ops, counted)
    }

    fn teardown(&self, runtime: &Runtime) {
        runtime.block_on(self.workload.teardown());
    }
}

impl<W: Workload> WorkloadDriver<W> {
    fn back_to_back(
        &self,
        runtime: &Runtime,
        duration: Duration,
        batch: u32,
    ) -> catga::Result<SampleResult> {
        let workload = &*self.workload;
        let mut histogram = histogram();
        runtime.block_on(async {
            let batch = u64::from(batch);
            let mut ops = 0;
            let clocks = Clocks::start();
            let before = alloc::snapshot();
            alloc::set_counting(true);
            let start = Instant::now();
            let deadline = start + duration;
            let outcome = loop {
                let began = Instant::now();
                let mut failed = None;
                for _ in 0..batch {
                    if let Err(error) = workload.op().await {
                        failed = Some(error);
                        break;
                    }
                }
                let ended = Instant::now();
                if let Some(error) = failed {
                    break Err(error);
                }
                ops += batch;
                record(&mut histogram, picos(ended - began) / batch, batch);
                if ended >= deadline && ops >= MIN_OPS_PER_SAMPLE {
                    break Ok(ended - start);
                }
            };
            finish_sample(outcome, ops, histogram, before, clocks)
        })
    }

    /// Issues operations on a fixed schedule, the `i`-th due at `start + i / rate`, with up to
    /// `in_flight` of them running at once (wrk2's model: `in_flight` connections sharing one
    /// schedule). Each of `in_flight` tasks takes the next due time, waits for it if it is
    /// ahead, runs the operation and records its latency from the due time. When every task is
    /// busy, due operations start late and are charged for the wait: the schedule is offered
    /// whatever the operations' latency, up to the bound, and no stall is hidden.
    fn open_loop(
        &self,
        runtime: &Runtime,
        duration: Duration,
        rate: f64,
        in_flight: u32,
    ) -> catga::Result<SampleResult> {
        let shared = Arc::new(OpenLoop {
            interval: Duration::from_secs_f64(1.0 / rate),
            duration,
            start: std::sync::OnceLock::new(),
            go: tokio::sync::Notify::new(),
            next: AtomicU64::new(0),
            ops: AtomicU64::new(0),
            last_end: std::sync::Mutex::new(None),
            histogram: std::sync::Mutex::new(histogram()),
        });
        let tasks: Vec<_> = (0..in_flight)
            .map(|_| {
                let workload = Arc::clone(&self.workload);
                let shared = Arc::clone(&shared);
                runtime.spawn(async move { open_loop_task(&*workload, &shared).await })
            })
            .collect();
        let clocks = Clocks::start();
        let before = alloc::snapshot();
        alloc::set_counting(true);
        let start = *shared.start.get_or_init(Instant::now);
        shared.go.notify_waiters();
        let outcome = runtime.block_on(join_all(tasks));
        alloc::set_counting(false);
        let allocations = alloc::snapshot().since(before);
        let used = Clocks::end().since(clocks);
        outcome?;
        let ended = shared
            .last_end
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or(start);
        let histogram = std::mem::replace(
            &mut *shared.histogram.lock().unwrap_or_else(|p| p.into_inner()),
            Histogram::new(1).expect("valid"),
        );
        Ok(SampleResult {
            ops: shared.ops.load(Ordering::SeqCst),
            elapsed: ended - start,
            histogram,
            allocations,
            used,
        })
    }

    fn closed_loop(
        &self,
        runtime: &Runtime,
        duration: Duration,
        concurrency: u32,
        batch: u32,
    ) -> catga::Result<SampleResult> {
        let shared = Arc::new(ClosedLoop {
            go: tokio::sync::Notify::new(),
            started: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            ops: AtomicU64::new(0),
            histogram: std::sync::Mutex::new(histogram()),
        });
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| {
                let workload = Arc::clone(&self.workload);
                let shared = Arc::clone(&shared);
                runtime.spawn(async move { closed_loop_task(&*workload, &shared, batch).await })
            })
            .collect();
        let clocks = Clocks::start();
        let before = alloc::snapshot();
        alloc::set_counting(true);
        let start = Instant::now();
        shared.started.store(true, Ordering::SeqCst);
        shared.go.notify_waiters();
        // This thread is not one of the runtime's workers, so it waits without holding any
        // task up; and the workers may be too busy to drive a runtime timer.
        std::thread::sleep(duration);
        // A task ends before `stop` only when its operation failed: then the minimum will
        // not come, and the failure is the sample's outcome.
        while shared.ops.load(Ordering::Relaxed) < MIN_OPS_PER_SAMPLE
            && !tasks.iter().any(|task| task.is_finished())
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        shared.stop.store(true, Ordering::SeqCst);
        let outcome = runtime.block_on(join_all(tasks));
        let elapsed = start.elapsed();
        alloc::set_counting(false);
        let used = Clocks::end().since(clocks);
        outcome?;
        let histogram = std::mem::replace(
            &mut *shared.histogram.lock().unwrap_or_else(|p| p.into_inner()),
            Histogram::new(1).expect("valid"),
        );
        Ok(SampleResult {
            ops: shared.ops.load(Ordering::SeqCst),
            elapsed,
            histogram,
            allocations: alloc::snapshot().since(before),
            used,
        })
    }
}

/// Ends a back-to-back or open-loop sample: stops counting allocations, packs the figures.
fn finish_sample(
    outcome: catga::Result<Duration>,
    ops: u64,
    histogram: Histogram<u64>,
    before: Allocations,
    clocks: Clocks,
) -> catga::Result<SampleResult> {
    alloc::set_counting(false);
    let allocations = alloc::snapshot().since(before);
    Ok(SampleResult {
        ops,
        elapsed: outcome?,
        histogram,
        allocations,
        used: Clocks::end().since(clocks),
    })
}

/// Waits for every task of a sample; the error of the last one that failed, if any.
async fn join_all(tasks: Vec<tokio::task::JoinHandle<catga::Result<()>>>) -> catga::Result<()> {
    let mut outcome = Ok(());
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => outcome = Err(error),
            Err(join) => {
                outcome = Err(catga::Error::internal(format!(
                    "an operation panicked: {join}"
                )));
            }
        }
    }
    outcome
}

/// What the tasks of an open-loop sample share: the schedule and what they measured.
struct OpenLoop {
    interval: Duration,
    duration: Duration,
    /// When the first operation is due; set once, before the tasks are told to go.
    start: std::sync::OnceLock<Instant>,
    go: tokio::sync::Notify,
    /// The index of the next operation to issue.
    next: AtomicU64,
    ops: AtomicU64,
    /// When the last operation to finish finished.
    last_end: std::sync::Mutex<Option<Instant>>,
    histogram: std::sync::Mutex<Histogram<u64>>,
}

/// One of the `in_flight` tasks of an open-loop sample: takes the next due operation until
/// the schedule's end (and at least [`MIN_OPS_PER_SAMPLE`] operations), runs it, and records
/// its latency from when it was due.
async fn open_loop_task<W: Workload>(workload: &W, shared: &OpenLoop) -> catga::Result<()> {
    let notified = shared.go.notified();
    let start = match shared.start.get() {
        Some(start) => *start,
        None => {
            notified.await;
            *shared
                .start
                .get()
                .expect("set before the tasks are told to go")
        }
    };
    let mut buffer = [0u64; TASK_BUFFER];
    let mut buffered = 0;
    let mut last_end = None;
    let flush = |buffer: &[u64], last_end: Option<Instant>| {
        let mut histogram = shared.histogram.lock().unwrap_or_else(|p| p.into_inner());
        for &value in buffer {
            record(&mut histogram, value, 1);
        }
        drop(histogram);
        shared.ops.fetch_add(buffer.len() as u64, Ordering::Relaxed);
        if let Some(end) = last_end {
            let mut last = shared.last_end.lock().unwrap_or_else(|p| p.into_inner());
            *last = Some(last.map_or(end, |known: Instant| known.max(end)));
        }
    };
    loop {
        let index = shared.next.fetch_add(1, Ordering::Relaxed);
        let offset = shared.interval.mul_f64(index as f64);
        if offset >= shared.duration && index >= MIN_OPS_PER_SAMPLE {
            break;
        }
        let due = start + offset;
        let now = Instant::now();
        if due > now {
            wait_until(due, now).await;
        }
        workload.op().await?;
        let ended = Instant::now();
        // From when the operation was due, not when it started: a stall delays every
        // operation behind it, and each of them is charged for it.
        buffer[buffered] = picos(ended - due);
        buffered += 1;
        last_end = Some(ended);
        if buffered == TASK_BUFFER {
            flush(&buffer, last_end);
            buffered = 0;
        }
    }
    flush(&buffer[..buffered], last_end);
    Ok(())
}

/// What the tasks of a closed-loop sample share.
struct ClosedLoop {
    go: tokio::sync::Notify,
    started: AtomicBool,
    stop: AtomicBool,
    ops: AtomicU64,
    histogram: std::sync::Mutex<Histogram<u64>>,
}

/// Latencies a task keeps before adding them to the shared histogram under its lock.
const TASK_BUFFER: usize = 64;

/// One of the tasks of a closed-loop sample: runs batches of operations until told to stop.
async fn closed_loop_task<W: Workload>(
    workload: &W,
    shared: &ClosedLoop,
    batch: u32,
) -> catga::Result<()> {
    let notified = shared.go.notified();
    if !shared.started.load(Ordering::SeqCst) {
        notified.await;
    }
    let batch = u64::from(batch);
    let mut buffer = [0u64; TASK_BUFFER];
    let mut buffered = 0;
    let flush = |buffer: &[u64]| {
        let mut histogram = shared.histogram.lock().unwrap_or_else(|p| p.into_inner());
        for &value in buffer {
            record(&mut histogram, value, batch);
        }
    };
    while !shared.stop.load(Ordering::Relaxed) {
        let began = Instant::now();
        for _ in 0..batch {
            workload.op().await?;
        }
        // Counted per batch, not per flush: the sample waits for a minimum of operations, and
        // with many tasks in flight no task may have filled its buffer yet.
        shared.ops.fetch_add(batch, Ordering::Relaxed);
        buffer[buffered] = picos(began.elapsed()) / batch;
        buffered += 1;
        if buffered == TASK_BUFFER {
            flush(&buffer);
            buffered = 0;
        }
        // Back to the scheduler between batches, as a client's next request would be: an
        // operation that never suspends would otherwise keep its worker to itself, and the
        // other tasks would not be in flight at all.
        tokio::task::yield_now().await;
    }
    flush(&buffer[..buffered]);
    Ok(())
}

/// Waits until `due`: sleeps through most of a long wait, then yields until the moment, since
/// the timer wheel's millisecond resolution is too coarse for high rates.
async fn wait_until(due: Instant, now: Instant) {
    if due - now > Duration::from_millis(2) {
        tokio::time::sleep_until((due - Duration::from_millis(1)).into()).await;
    }
    while Instant::now() < due {
        tokio::task::yield_now().await;
    }
}

/// What two clock reads cost, in nanoseconds: the price of timing one operation alone.
pub fn timer_overhead_ns() -> f64 {
    const READS: u32 = 200_000;
    let mut best = f64::INFINITY;
    // The best of a few rounds: the overhead is a property of the clock, not of a busy moment.
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..READS {
            let began = Instant::now();
            std::hint::black_box(began.elapsed());
        }
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(READS));
    }
    best
}

/// The batch for an operation costing `op_ns`: 1, or the smallest power of two that makes the
/// timer overhead at most 1/[`TIMER_SHARE`] of a measurement.
pub(crate) fn batch_for(op_ns: f64, timer_overhead_ns: f64) -> u32 {
    let wanted = TIMER_SHARE * timer_overhead_ns / op_ns.max(0.001);
    if wanted <= 1.0 {
        return 1;
    }
    (wanted.ceil() as u32).next_power_of_two().min(MAX_BATCH)
}

/// Refuses options that make no run, and a program without the counting allocator (whose
/// allocation figures would be zeros, not measurements).
pub(crate) fn check_options(options: &RunOptions) -> Result<(), RunError> {
    if options.samples == 0 {
        return Err(RunError::Options("`--samples` must be at least 1".into()));
    }
    if let Some(rate) = options
        .rate
        .filter(|rate| !(rate.is_finite() && *rate > 0.0))
    {
        return Err(RunError::Options(format!(
            "`--rate` must be a positive number of operations per second, not {rate}"
        )));
    }
    if !alloc::installed() {
        return Err(RunError::Options(
            "allocation counts need `catga_bench::CountingAllocator` as the global allocator: \
             add `#[global_allocator] static ALLOCATOR: catga_bench::CountingAllocator = \
             catga_bench::CountingAllocator;` to the bench binary"
                .into(),
        ));
    }
    Ok(())
}

/// Runs `scenarios` and returns the report.
pub fn run(scenarios: &[Scenario], options: &RunOptions, tool: Tool) -> Result<Report, RunError> {
    check_options(options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let timer_overhead_ns = timer_overhead_ns();
    let progress = Progress::new(scenarios, options);

    let mut drivers = Vec::with_capacity(scenarios.len());
    let measured = measure(
        &runtime,
        scenarios,
        options,
        timer_overhead_ns,
        &progress,
        &mut drivers,
    );
    // Every workload that was set up is torn down, also when a scenario failed.
    for driver in &drivers {
        driver.teardown(&runtime);
    }
    let measured = measured?;
    progress.finish();

    let mut reports: Vec<ScenarioReport> = scenarios
        .iter()
        .zip(&measured)
        .map(|(scenario, (plan, results))| summarize(scenario, plan, results))
        .collect();
    crate::report::set_ratios_to_floor(&mut reports);
    Ok(Report {
        version: crate::report::REPORT_VERSION,
        tool,
        env: env::detect(),
        config: RunConfig {
            duration_ms: options.duration.as_millis() as u64,
            warmup_ms: options.warmup.as_millis() as u64,
            samples: options.samples,
            rate_ops_s: options.rate,
        },
        timer_overhead_ns,
        scenarios: reports,
        profiles: None,
    })
}

/// Sets up, warms up and measures every scenario: how each one's samples ran and what they
/// measured, in the scenarios' order. Each driver set up goes into `drivers` at once, so the
/// caller tears it down whatever happens next.
fn measure(
    runtime: &Runtime,
    scenarios: &[Scenario],
    options: &RunOptions,
    timer_overhead_ns: f64,
    progress: &Progress,
    drivers: &mut Vec<Box<dyn Driver>>,
) -> Result<Vec<(SamplePlan, Vec<SampleResult>)>, RunError> {
    let mut measured = Vec::with_capacity(scenarios.len());
    for scenario in scenarios {
        progress.set_message(scenario.name(), "warming up");
        let driver = runtime.block_on((scenario.setup())());
        let warmed = driver.warm(runtime, options.warmup);
        drivers.push(driver);
        let (ops, took) = warmed.map_err(|error| failed(scenario, error))?;
        let op_ns = took.as_nanos() as f64 / ops as f64;
        let plan = SamplePlan::for_scenario(scenario, options, op_ns, timer_overhead_ns);
        measured.push((plan, Vec::new()));
    }

    let rewarm = (options.warmup / 10).min(Duration::from_millis(50));
    for sample in 0..options.samples {
        for ((scenario, driver), (plan, results)) in
            scenarios.iter().zip(drivers.iter()).zip(&mut measured)
        {
            if sample > 0 {
                driver.between_samples();
            }
            driver
                .warm(runtime, rewarm)
                .and_then(|_| driver.sample(runtime, *plan))
                .map(|result| results.push(result))
                .map_err(|error| failed(scenario, error))?;
            progress.sample_done(scenario.name());
        }
    }
    Ok(measured)
}

pub(crate) fn failed(scenario: &Scenario, error: catga::Error) -> RunError {
    RunError::Operation {
        scenario: scenario.name().to_owned(),
        error,
    }
}

/// One scenario's figures from its samples.
fn summarize(scenario: &Scenario, plan: &SamplePlan, results: &[SampleResult]) -> ScenarioReport {
    let mut merged = histogram();
    let mut ops = 0;
    let mut elapsed = Duration::ZERO;
    let mut allocations = Allocations::default();
    let mut cpu = Some(Duration::ZERO);
    let samples = results
        .iter()
        .map(|result| {
            merged
                .add(&result.histogram)
                .expect("histograms with the same bounds add");
            ops += result.ops;
            elapsed += result.elapsed;
            allocations.count += result.allocations.count;
            allocations.bytes += result.allocations.bytes;
            cpu = cpu.zip(result.used.cpu).map(|(total, used)| total + used);
            let elapsed_s = result.elapsed.as_secs_f64();
            Sample {
                ops: result.ops,
                throughput_ops_s: result.ops as f64 / result.elapsed.as_secs_f64(),
                p50_ns: result.histogram.value_at_quantile(0.5) as f64 / PS_PER_NS,
                p99_ns: result.histogram.value_at_quantile(0.99) as f64 / PS_PER_NS,
                allocs_per_op: per_op(result.allocations.count, result.ops),
                cpu_ns_per_op: result
                    .used
                    .cpu
                    .map(|cpu| cpu.as_nanos() as f64 / result.ops.max(1) as f64),
                wait_share: result
                    .used
                    .wait
                    .filter(|_| elapsed_s > 0.0)
                    .map(|wait| wait.as_secs_f64() / elapsed_s),
            }
        })
        .collect();
    ScenarioReport {
        name: scenario.name().to_owned(),
        group: scenario.group().as_str().to_owned(),
        concurrency: plan.concurrency,
        batch: plan.batch,
        ops,
        elapsed_ns: u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
        throughput_ops_s: ops as f64 / elapsed.as_secs_f64(),
        latency_ns: Latency::of(&merged),
        allocs_per_op: per_op(allocations.count, ops),
        bytes_per_op: per_op(allocations.bytes, ops),
        cpu_ns_per_op: cpu
            .filter(|_| ops > 0)
            .map(|cpu| cpu.as_nanos() as f64 / ops as f64),
        instructions_per_op: None,
        ratio_to_floor: None,
        throughput_floor: match scenario.floor() {
            Some(Floor::Throughput(floor)) => Some(floor.to_owned()),
            _ => None,
        },
        p99_floor: match scenario.floor() {
            Some(Floor::P99(floor)) => Some(floor.to_owned()),
            _ => None,
        },
        rate_ops_s: plan.rate,
        samples,
        histogram: encode_histogram(&merged),
    }
}

fn per_op(total: u64, ops: u64) -> f64 {
    if ops == 0 {
        0.0
    } else {
        total as f64 / ops as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_only_operations_close_to_the_timer_cost() {
        assert_eq!(batch_for(5.0, 25.0), 128);
        assert_eq!(batch_for(400.0, 25.0), 2);
        assert_eq!(batch_for(600.0, 25.0), 1);
        assert_eq!(batch_for(0.0, 25.0), MAX_BATCH);
    }
}
