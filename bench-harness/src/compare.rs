//! Verdicts of a run against a saved baseline (`catga bench --compare BASELINE`).
//!
//! Scenarios are matched by name. For each scenario present in both reports, these metrics are
//! compared: `p50` and `p99` latency (lower is better), `throughput` (higher is better), `cpu`
//! (CPU time of the process per operation, lower is better; when both reports have it),
//! `instructions` (per operation, counted under callgrind, lower is better; when both reports
//! have it, it decides: see [`crate::instructions`]) and `allocs` (heap allocations per
//! operation, lower is better). The baseline and current figures shown are the scenarios'
//! summary figures; the verdicts come from the per-sample figures.
//!
//! # Which measurement decides
//!
//! Every metric says what decided its verdict ([`Basis`]), chosen per scenario from what the
//! two runs recorded, so that a verdict measures the code and not the machine:
//!
//! - **Contention.** Each sample records how long the process's threads waited for a core
//!   (`wait_share`, per second of wall time). When the median sample of either run waited more
//!   than a quarter of the threshold (so the machine alone could move a wall figure by that
//!   much), wall time is *contended*: `p50`, `p99` and `throughput` are shown but do not decide
//!   ([`Verdict::Informational`]), and `cpu` decides instead, for scenarios whose time is CPU
//!   time (CPU time plus wait at least half the wall time in both runs: not a round trip to a
//!   broker). CPU time does not grow when another process takes the core. Uncontended, wall
//!   time decides and `cpu` is informational, so one change is not judged twice.
//! - **Drift.** When the floor's (`direct_call`, measured in both runs) wall p50 moved past the
//!   threshold and the noise, the machine ran at another speed; the other scenarios' wall
//!   figures are then divided, sample by sample, by the floor's sample of the same round
//!   (samples are interleaved, so sample `i` of every scenario ran at about the same moment):
//!   [`Basis::WallPerFloor`]. CPU time is not divided so: contention moves a 2 ns call's CPU
//!   time (its cache lines, a shared core) in other proportions than a microsecond operation's.
//!   Measured under a CPU hog, the floor's CPU time rose 13% in a run where a scenario's rose
//!   10% from a real slowdown; divided by the floor, that slowdown read +0.3%.
//! - **Settings.** Scenarios run with another concurrency or open-loop rate than the baseline's
//!   are not comparable on any timing; with another batch, their latency percentiles are not
//!   (they are percentiles of batch means): those metrics are informational, with the reason.
//!   `catga bench --compare` runs with the baseline's batches, so this only happens with
//!   reports made otherwise.
//! - **Open loop.** An open-loop scenario's throughput is its rate: informational.
//!
//! # How a timing verdict is decided
//!
//! `p50`, `p99` and `throughput` are decided from the independent samples of each run, never from
//! a bare percentage of the two summary figures:
//!
//! 1. Each sample's value is replaced by its natural logarithm, so that a shift between the two
//!    runs is a ratio (a 30% slowdown is the same shift at 10 ns and at 10 ms). Samples whose value
//!    is not a positive number carry no timing information and are left out.
//! 2. The shift is estimated with the Hodges-Lehmann estimator: the median of all `n × m`
//!    pairwise differences `current_i − baseline_j`. It is the median of how much slower or faster
//!    every current sample is than every baseline sample, so a few outlying samples (a slow
//!    stretch on a shared machine) move it little.
//! 3. Its distribution-free confidence interval (at `confidence`, 99% by default) runs from the
//!    `k`-th smallest to the `k`-th largest pairwise difference, where `k` comes from the normal
//!    approximation of the Mann-Whitney `U` distribution with continuity correction:
//!    `k = floor(n·m/2 + 1/2 − z·sqrt(n·m·(n+m+1)/12))`, `z` the two-sided normal quantile of the
//!    confidence. `k` is at most `ceil(n·m/2)`, so the low end is never above the high end.
//! 4. The change is reported as `exp(shift) − 1` (`+0.12` is 12% more), and the interval likewise.
//! 5. A metric **regressed** when the change is worse than the threshold (latency more than
//!    `threshold` higher, throughput more than `threshold` lower) *and* the whole interval lies on
//!    the worse side of the threshold, so also of zero: at the chosen confidence the change is
//!    worse than the threshold, not merely the estimate. It **improved** in the symmetric case
//!    (better than `−threshold`, with the whole interval beyond it); otherwise it is
//!    **unchanged**. A large change the noise cannot confirm is unchanged, and so is a confirmed
//!    change smaller than the threshold. Asking only that the estimate pass the threshold and the
//!    interval exclude zero is not enough for runs without false alarms: with samples jittered by
//!    ±10% and a 10% threshold, the estimate alone crosses the threshold about once in 4000
//!    comparisons of two runs of the same build, and a report compares dozens of metrics. With
//!    the whole interval required past the threshold (10 samples a side), none of 50,000 such
//!    comparisons regressed, while a 30% latency increase under the same noise regressed in
//!    99.9% of them.
//! 6. With fewer than 3 usable samples on either side there is no estimate of the noise, and
//!    when `k < 1` even the full range of the differences is not an interval at the chosen
//!    confidence (at 99%: fewer than 6 samples on each side, or 3 against fewer than 14). Either
//!    way the metric has no interval and is always unchanged ("too few samples"): clamping `k` to
//!    1 instead would claim 99% from data that cannot give it, and with 4 samples against 4 it
//!    reports pure noise as a change about once in 35 comparisons.
//!
//! # References
//!
//! Scenarios of the `baseline` group (the direct call, the boxed `dyn` call, the channel actor)
//! are reference implementations: the same code in both runs. When one of them moves past the
//! threshold and the noise, its verdict is **drifted**, not regressed or improved: the machine
//! ran at another speed, the comparison does not fail on it, and the summary says so, since the
//! other scenarios ran on the same machine.
//!
//! # Confirmation
//!
//! `catga bench --compare` measures the scenarios with a regressed metric a second time and
//! keeps only the regressions that show again, in both measurements' samples pooled
//! ([`Comparison::confirm`] with the comparison of the pooled report); the others are
//! reported as **unconfirmed**. The samples of one run share the machine's state of that
//! moment, so a shared machine that runs a fifth slower for a minute can push a whole run past
//! the threshold with a narrow interval; a second measurement rarely meets the same stretch,
//! and a real regression is in the code, so it shows both times.
//!
//! # Allocations
//!
//! Allocations per operation are counts, not timings, and are decided without the threshold:
//! the tolerance is 0.01 per operation (one allocation per hundred operations, which absorbs
//! the rounding of a per-operation mean). Code that allocates the same way every time gives
//! every sample the same count: `allocs` regressed when the current figure exceeds the
//! baseline's by more than the tolerance. A scenario whose count varies between samples
//! (SQLite's allocations do) is weighed against that spread as timings are against theirs:
//! the Hodges-Lehmann shift of the per-sample counts (as differences, not ratios: zero is a
//! count) must lie past the tolerance with its whole confidence interval.

use std::fmt;

use serde::Serialize;

use crate::report::{Env, Report, Sample, ScenarioReport};

/// The smallest difference in allocations per operation that counts as a change: one allocation
/// per hundred operations.
pub const ALLOCS_TOLERANCE: f64 = 0.01;

/// The fewest usable samples on each side for a timing verdict.
pub const MIN_SAMPLES: usize = 3;

/// Whether `baseline` samples against `current` ones can give a timing verdict at
/// `confidence` (module documentation, 6).
pub fn can_decide(baseline: usize, current: usize, confidence: f64) -> bool {
    baseline >= MIN_SAMPLES
        && current >= MIN_SAMPLES
        && mann_whitney_k(baseline, current, confidence).is_some()
}

/// How strict the comparison is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CompareOptions {
    /// The smallest relative change of a timing metric that can count as a regression or an
    /// improvement, as a fraction (0.10 is 10%).
    pub threshold: f64,
    /// The confidence of the intervals of the timing changes, as a fraction (0.99 is 99%).
    pub confidence: f64,
    /// Sample `i` of the baseline and of the current run were measured together (alternate
    /// rounds of `--compare-rev`): a timing's change is then estimated from the per-round
    /// ratios (the Hodges-Lehmann estimate of their logarithms, the median of the Walsh
    /// averages, with the Wilcoxon signed-rank interval), which a machine's slow minute,
    /// shared by both figures of a round, does not move.
    pub paired: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            threshold: 0.10,
            confidence: 0.99,
            paired: false,
        }
    }
}

/// Parses the `--threshold` argument into a fraction.
///
/// The grammar is `N%` or a bare `N`, both meaning N percent (`10%` and `10` are 0.10), where `N`
/// is a plain decimal number (`7.5`) with `0 < N < 1000`. A bare number below 1 is rejected,
/// because `0.1` reads as a fraction (10%) as easily as a percentage (0.1%).
pub fn parse_threshold(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let (number, has_percent) = match trimmed.strip_suffix('%') {
        Some(number) => (number.trim_end(), true),
        None => (trimmed, false),
    };
    let usage = "write a percentage such as `10%` or `10`";
    if number.starts_with('-') {
        return Err(format!(
            "the threshold `{text}` is negative; it is the smallest change that counts, {usage}"
        ));
    }
    let is_decimal = !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.chars().filter(|&c| c == '.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit());
    let value = match number.parse::<f64>() {
        Ok(value) if is_decimal => value,
        _ => return Err(format!("the threshold `{text}` is not a number; {usage}")),
    };
    if value == 0.0 {
        return Err(format!(
            "the threshold `{text}` is zero, which would report every bit of noise; {usage}"
        ));
    }
    if value >= 1000.0 {
        return Err(format!(
            "the threshold `{text}` is 1000% or more, which no change reaches; {usage}"
        ));
    }
    if !has_percent && value < 1.0 {
        return Err(format!(
            "the threshold `{text}` is ambiguous: write `{number}%` for {number} percent, or \
             `{}%` if you meant a fraction",
            format_percent_plain(value)
        ));
    }
    Ok(value / 100.0)
}

/// `0.1` as `10`, `0.075` as `7.5`: a fraction as a percentage without needless digits.
pub(crate) fn format_percent_plain(fraction: f64) -> String {
    let text = format!("{:.4}", fraction * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_owned()
}

/// Why two reports could not be compared.
#[derive(Debug, Clone, PartialEq)]
pub enum CompareError {
    /// The reports have no scenario name in common. Both lists of names are kept for the message.
    NoSharedScenario {
        baseline: Vec<String>,
        current: Vec<String>,
    },
    /// An option is out of range.
    InvalidOption {
        /// `threshold` or `confidence`.
        name: &'static str,
        value: f64,
        /// The range the option must lie in.
        expected: &'static str,
    },
}

impl fmt::Display for CompareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompareError::NoSharedScenario { baseline, current } => {
                let list = |names: &[String]| {
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                };
                write!(
                    f,
                    "the baseline and this run have no scenario in common, so nothing can be \
                     compared (baseline: {}; this run: {}); run the same scenarios as the \
                     baseline (check `--scenario`), or save a new baseline with \
                     `catga bench --save FILE`",
                    list(baseline),
                    list(current)
                )
            }
            CompareError::InvalidOption {
                name,
                value,
                expected,
            } => write!(
                f,
                "the comparison {name} {value} is invalid: it must be {expected}"
            ),
        }
    }
}

impl std::error::Error for CompareError {}

/// A compared figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Median latency; lower is better.
    P50,
    /// 99th percentile latency; lower is better.
    P99,
    /// Operations per second; higher is better.
    Throughput,
    /// CPU time of the process per operation; lower is better.
    Cpu,
    /// Instructions per operation, counted under callgrind; lower is better.
    Instructions,
    /// Heap allocations per operation; lower is better. Counted, not timed.
    Allocs,
}

impl Metric {
    /// Every metric, in the order comparisons list them.
    pub const ALL: [Metric; 6] = [
        Metric::P50,
        Metric::P99,
        Metric::Throughput,
        Metric::Cpu,
        Metric::Instructions,
        Metric::Allocs,
    ];

    /// The name used in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P99 => "p99",
            Metric::Throughput => "throughput",
            Metric::Cpu => "cpu",
            Metric::Instructions => "instructions",
            Metric::Allocs => "allocs",
        }
    }

    /// Whether a larger value is an improvement.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Throughput)
    }

    /// Whether the metric is a timing, decided from the samples against the noise.
    pub fn is_timing(self) -> bool {
        !matches!(self, Metric::Allocs | Metric::Instructions)
    }

    fn summary(self, scenario: &ScenarioReport) -> f64 {
        match self {
            Metric::P50 => scenario.latency_ns.p50,
            Metric::P99 => scenario.latency_ns.p99,
            Metric::Throughput => scenario.throughput_ops_s,
            Metric::Cpu => scenario.cpu_ns_per_op.unwrap_or(f64::NAN),
            Metric::Instructions => scenario.instructions_per_op.unwrap_or(f64::NAN),
            Metric::Allocs => scenario.allocs_per_op,
        }
    }

    /// The sample's figure; NaN (left out as unusable) where the sample lacks it.
    fn sample(self, sample: &Sample) -> f64 {
        match self {
            Metric::P50 => sample.p50_ns,
            Metric::P99 => sample.p99_ns,
            Metric::Throughput => sample.throughput_ops_s,
            Metric::Cpu => sample.cpu_ns_per_op.unwrap_or(f64::NAN),
            // One count per scenario, not per sample.
            Metric::Instructions => f64::NAN,
            Metric::Allocs => sample.allocs_per_op,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The outcome for one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Better by more than the threshold, beyond the noise.
    Improved,
    /// Worse by more than the threshold, beyond the noise.
    Regressed,
    /// Neither.
    Unchanged,
    /// A reference implementation (group `baseline`) moved by more than the threshold, beyond
    /// the noise. References are the same code in both runs, so this is the machine running at
    /// another speed, never a regression: it does not fail the comparison, and it says how far
    /// to trust the other verdicts.
    Drifted,
    /// Regressed in the run, but not when the scenario was measured again
    /// ([`Comparison::confirm`]): the machine's noise, not the code. Does not fail the comparison.
    Unconfirmed,
    /// Shown, but not a verdict: on these two runs the figure measures the machine or the
    /// settings rather than the code (the metric's `note` says why).
    Informational,
}

impl Verdict {
    /// The name used in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::Unchanged => "unchanged",
            Verdict::Drifted => "drifted",
            Verdict::Unconfirmed => "unconfirmed",
            Verdict::Informational => "informational",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What decided a metric's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The samples' wall-clock figures.
    Wall,
    /// The samples' wall-clock figures over the floor's of the same round: the floor drifted.
    WallPerFloor,
    /// The samples' CPU time per operation: wall time was contended.
    Cpu,
    /// Counted allocations, with a tolerance from the samples' own spread.
    Count,
    /// Instructions counted under callgrind (`--instructions`): exact, whatever the load.
    Instructions,
    /// Nothing: the metric is informational.
    None,
}

impl Basis {
    /// The name used in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Basis::Wall => "wall",
            Basis::WallPerFloor => "wall/floor",
            Basis::Cpu => "cpu",
            Basis::Count => "count",
            Basis::Instructions => "instructions",
            Basis::None => "-",
        }
    }
}

impl fmt::Display for Basis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A confidence interval of a relative change, as fractions (`-0.02` to `+0.05`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// One metric of one scenario, baseline against current.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricComparison {
    pub metric: Metric,
    /// The baseline's summary figure (nanoseconds, operations per second or allocations per
    /// operation).
    pub baseline: f64,
    /// This run's summary figure, in the same unit.
    pub current: f64,
    /// The relative change as a fraction (`0.12` is 12% more): for timings `exp(shift) - 1` of
    /// the Hodges-Lehmann shift of the samples (the ratio of the summary figures when a side has
    /// no usable sample); for allocations `current / baseline - 1`. `None` when it is undefined
    /// (a zero or missing figure).
    pub change: Option<f64>,
    /// The confidence interval of `change`; `None` for allocations (exact) and for timings with
    /// too few usable samples (fewer than [`MIN_SAMPLES`] on a side, or too few for the
    /// confidence).
    pub interval: Option<Interval>,
    /// Usable samples in the baseline and in this run.
    pub samples: [usize; 2],
    pub verdict: Verdict,
    /// What decided the verdict ([`Basis::None`] for an informational metric).
    pub decided_by: Basis,
    /// Why the metric is informational, or decided on another basis than wall time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl MetricComparison {
    /// Whether a timing metric lacked the samples for a verdict.
    pub fn too_few_samples(&self) -> bool {
        self.metric.is_timing() && self.interval.is_none() && self.verdict != Verdict::Informational
    }

    /// The absolute difference of the summary figures, `current - baseline`.
    pub fn difference(&self) -> f64 {
        self.current - self.baseline
    }
}

/// One scenario present in both reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioComparison {
    pub name: String,
    /// One entry per [`Metric`], in [`Metric::ALL`] order; no `cpu` when a report lacks CPU
    /// time.
    pub metrics: Vec<MetricComparison>,
}

/// A run compared with a baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The options the verdicts were decided with.
    pub options: CompareOptions,
    /// Where each run was measured: comparing runs of different machines compares the machines.
    pub baseline_env: Env,
    pub current_env: Env,
    /// Scenarios present in both, in this run's order.
    pub scenarios: Vec<ScenarioComparison>,
    /// Scenarios of the baseline that this run did not measure.
    pub only_in_baseline: Vec<String>,
    /// Scenarios of this run that the baseline lacks.
    pub only_in_current: Vec<String>,
}

impl Comparison {
    /// Every (scenario name, metric) whose verdict is `verdict`, in table order.
    pub fn with_verdict(
        &self,
        verdict: Verdict,
    ) -> impl Iterator<Item = (&str, &MetricComparison)> + '_ {
        self.scenarios.iter().flat_map(move |scenario| {
            scenario
                .metrics
                .iter()
                .filter(move |metric| metric.verdict == verdict)
                .map(move |metric| (scenario.name.as_str(), metric))
        })
    }

    /// Every regressed (scenario name, metric), in table order.
    pub fn regressions(&self) -> impl Iterator<Item = (&str, &MetricComparison)> + '_ {
        self.with_verdict(Verdict::Regressed)
    }

    /// Whether anything regressed (the CLI exits 1 then).
    pub fn has_regressions(&self) -> bool {
        self.regressions().next().is_some()
    }

    /// The scenarios with a regressed metric that a second measurement can confirm: what to
    /// measure again. Instruction counts are exact and need no confirmation.
    pub fn regressed_scenarios(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (name, _) in self
            .regressions()
            .filter(|(_, metric)| metric.decided_by != Basis::Instructions)
        {
            if !names.iter().any(|known| known == name) {
                names.push(name.to_owned());
            }
        }
        names
    }

    /// Every scenario with a regressed metric, whatever decided it, in table order: what
    /// `--profile` draws a differential flamegraph of.
    pub fn scenarios_regressed(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (name, _) in self.regressions() {
            if !names.iter().any(|known| known == name) {
                names.push(name.to_owned());
            }
        }
        names
    }

    /// Keeps a regression only where `again`, a comparison of the same baseline with a second
    /// measurement of the regressed scenarios, regressed too; the others become
    /// [`Verdict::Unconfirmed`]. A slow stretch of a shared machine rarely covers both
    /// measurements, while a real regression shows in both.
    pub fn confirm(&mut self, again: &Comparison) {
        for scenario in &mut self.scenarios {
            let second = again.scenarios.iter().find(|s| s.name == scenario.name);
            for metric in &mut scenario.metrics {
                let reproduced = second.is_some_and(|second| {
                    second
                        .metrics
                        .iter()
                        .any(|m| m.metric == metric.metric && m.verdict == Verdict::Regressed)
                });
                let exact = metric.decided_by == Basis::Instructions;
                if metric.verdict == Verdict::Regressed && !reproduced && !exact {
                    metric.verdict = Verdict::Unconfirmed;
                }
            }
        }
    }
}

/// Compares `current` with `baseline`; see the module documentation for how verdicts are made.
pub fn compare(
    baseline: &Report,
    current: &Report,
    options: &CompareOptions,
) -> Result<Comparison, CompareError> {
    if !(options.threshold.is_finite() && options.threshold > 0.0) {
        return Err(CompareError::InvalidOption {
            name: "threshold",
            value: options.threshold,
            expected: "a positive fraction such as 0.10",
        });
    }
    if !(options.confidence > 0.0 && options.confidence < 1.0) {
        return Err(CompareError::InvalidOption {
            name: "confidence",
            value: options.confidence,
            expected: "a fraction between 0 and 1 exclusive, such as 0.99",
        });
    }

    let floor = Floor::of(baseline, current, options);
    let mut scenarios = Vec::new();
    let mut only_in_current = Vec::new();
    for scenario in &current.scenarios {
        // A report repeating a name is malformed; like `Report::scenario`, the first one counts.
        if scenarios
            .iter()
            .any(|done: &ScenarioComparison| done.name == scenario.name)
            || only_in_current.contains(&scenario.name)
        {
            continue;
        }
        match baseline.scenario(&scenario.name) {
            Some(base) => scenarios.push(compare_scenario(base, scenario, options, floor.as_ref())),
            None => only_in_current.push(scenario.name.clone()),
        }
    }
    let mut only_in_baseline: Vec<String> = Vec::new();
    for scenario in &baseline.scenarios {
        if current.scenario(&scenario.name).is_none() && !only_in_baseline.contains(&scenario.name)
        {
            only_in_baseline.push(scenario.name.clone());
        }
    }

    if scenarios.is_empty() {
        return Err(CompareError::NoSharedScenario {
            baseline: baseline.scenarios.iter().map(|s| s.name.clone()).collect(),
            current: current.scenarios.iter().map(|s| s.name.clone()).collect(),
        });
    }
    Ok(Comparison {
        options: *options,
        baseline_env: baseline.env.clone(),
        current_env: current.env.clone(),
        scenarios,
        only_in_baseline,
        only_in_current,
    })
}

/// The floor (`direct_call`) of both runs, and whether it drifted on each basis.
struct Floor<'a> {
    baseline: &'a ScenarioReport,
    current: &'a ScenarioReport,
    /// Its wall p50 moved past the threshold and the noise.
    wall_drifted: bool,
}

impl<'a> Floor<'a> {
    fn of(baseline: &'a Report, current: &'a Report, options: &CompareOptions) -> Option<Self> {
        let (base, cur) = (baseline.scenario(FLOOR)?, current.scenario(FLOOR)?);
        let [b, c] = [base, cur].map(|run| sample_values(run, Metric::P50));
        let raw = timing(Metric::P50, &b, &c, [base, cur], options, Basis::Wall, None);
        Some(Floor {
            baseline: base,
            current: cur,
            wall_drifted: matches!(raw.verdict, Verdict::Regressed | Verdict::Improved),
        })
    }

    /// `values` (one run's samples of `metric`) over the floor's figure of the same round, on
    /// the same basis: the floor's p50 for latencies, its throughput for throughput. Paired by
    /// index when both have every sample, else over the floor's median.
    fn relative(&self, run: Run, metric: Metric, values: &[f64]) -> Vec<f64> {
        let floor_metric = match metric {
            Metric::P99 => Metric::P50,
            other => other,
        };
        let floor = match run {
            Run::Baseline => self.baseline,
            Run::Current => self.current,
        };
        let floor_values: Vec<f64> = floor
            .samples
            .iter()
            .map(|sample| floor_metric.sample(sample))
            .collect();
        let median = median(floor_values.iter().copied().filter(|v| usable(*v)));
        values
            .iter()
            .enumerate()
            .map(|(i, value)| {
                let by = if floor_values.len() == values.len() {
                    floor_values[i]
                } else {
                    median.unwrap_or(f64::NAN)
                };
                value / by
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
enum Run {
    Baseline,
    Current,
}

/// The name of the floor: see [`crate::runner::FLOOR`].
const FLOOR: &str = crate::runner::FLOOR;

/// What the two runs of one scenario allow: which metric can decide, and why not.
struct Conditions {
    /// Why no timing can be compared (another concurrency or rate), if so.
    settings: Option<String>,
    /// Why latency percentiles cannot be compared (another batch), if so.
    batch: Option<String>,
    /// Why wall time is contended, if it is.
    contended: Option<String>,
    /// Why CPU time cannot stand for the scenario's time, if it cannot.
    cpu_unusable: Option<String>,
    concurrency: u32,
    open_loop: bool,
}

impl Conditions {
    fn of(base: &ScenarioReport, cur: &ScenarioReport, options: &CompareOptions) -> Conditions {
        let settings = if base.concurrency != cur.concurrency {
            Some(format!(
                "run with {} in flight, the baseline with {}: not the same measurement",
                cur.concurrency, base.concurrency
            ))
        } else if base.rate_ops_s != cur.rate_ops_s {
            let rate = |rate: Option<f64>| match rate {
                Some(rate) => format!("an open loop at {rate} ops/s"),
                None => "back to back".to_owned(),
            };
            Some(format!(
                "run as {}, the baseline as {}: not the same measurement",
                rate(cur.rate_ops_s),
                rate(base.rate_ops_s)
            ))
        } else {
            None
        };
        let batch = (base.batch != cur.batch).then(|| {
            format!(
                "timed in batches of {}, the baseline in batches of {}: percentiles of \
                 different batch means",
                cur.batch, base.batch
            )
        });
        let wait = |run: &ScenarioReport| median(run.samples.iter().filter_map(|s| s.wait_share));
        let contended = match (wait(base), wait(cur)) {
            (Some(b), Some(c)) if b.max(c) > options.threshold / 4.0 => Some(format!(
                "wall time contended: the threads waited for a core {:.0}% of it (baseline \
                 {:.0}%)",
                c * 100.0,
                b * 100.0
            )),
            _ => None,
        };
        let cpu_unusable = if sample_values(base, Metric::Cpu).len() < MIN_SAMPLES
            || sample_values(cur, Metric::Cpu).len() < MIN_SAMPLES
        {
            Some("no CPU time per sample in both reports (version 1, or no process clock)".into())
        } else if !(cpu_bound(base) && cpu_bound(cur)) {
            Some(
                "mostly waiting, not computing (CPU time and the wait for a core under half \
                 the wall time): CPU time is not its latency"
                    .into(),
            )
        } else {
            None
        };
        Conditions {
            settings,
            batch,
            contended,
            cpu_unusable,
            concurrency: cur.concurrency,
            open_loop: cur.rate_ops_s.is_some(),
        }
    }

    /// Whether CPU time decides instead of wall time.
    fn cpu_decides(&self) -> bool {
        self.contended.is_some() && self.cpu_unusable.is_none() && !self.open_loop
    }

    /// Why `metric` cannot decide on these runs, if it cannot.
    fn informational(&self, metric: Metric) -> Option<String> {
        if let Some(settings) = &self.settings {
            return Some(settings.clone());
        }
        match metric {
            Metric::Allocs | Metric::Instructions => None,
            Metric::Cpu if self.open_loop => Some(
                "an open loop waits for its schedule, and its CPU time includes the wait".into(),
            ),
            Metric::Cpu => match (&self.contended, &self.cpu_unusable) {
                (_, Some(unusable)) => Some(unusable.clone()),
                (None, None) => Some("wall time is not contended, so it decides".into()),
                (Some(_), None) => None,
            },
            Metric::P50 | Metric::P99 | Metric::Throughput => {
                if metric == Metric::Throughput && self.open_loop {
                    return Some("an open loop's throughput is its rate".into());
                }
                if metric != Metric::Throughput
                    && let Some(batch) = &self.batch
                {
                    return Some(batch.clone());
                }
                match &self.contended {
                    Some(contended) if self.cpu_decides() => {
                        Some(format!("{contended}; cpu decides"))
                    }
                    Some(contended) if metric == Metric::Throughput && self.concurrency > 1 => {
                        Some(contended.clone())
                    }
                    _ => None,
                }
            }
        }
    }
}

/// Whether the scenario's wall time is its CPU time (or the wait for a core): CPU time and
/// wait at least half the wall time in the median sample. A round trip to a broker is not.
fn cpu_bound(run: &ScenarioReport) -> bool {
    let busy = run.samples.iter().filter_map(|sample| {
        let cpu_s = sample.cpu_ns_per_op? * sample.ops as f64 / 1e9;
        let wall_s = sample.ops as f64 / sample.throughput_ops_s;
        (wall_s > 0.0).then(|| cpu_s / wall_s + sample.wait_share.unwrap_or(0.0))
    });
    median(busy).is_some_and(|busy| busy >= 0.5)
}

fn usable(value: f64) -> bool {
    value.is_finite() && value > 0.0
}

/// The median of `values`, `None` when there are none.
fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// One run's per-sample figures of `metric`, unusable ones (not positive, missing) left out.
fn sample_values(run: &ScenarioReport, metric: Metric) -> Vec<f64> {
    run.samples
        .iter()
        .map(|sample| metric.sample(sample))
        .filter(|value| usable(*value))
        .collect()
}

fn compare_scenario(
    baseline: &ScenarioReport,
    current: &ScenarioReport,
    options: &CompareOptions,
    floor: Option<&Floor<'_>>,
) -> ScenarioComparison {
    let conditions = Conditions::of(baseline, current, options);
    let reference = current.group == REFERENCE_GROUP;
    // Reports without CPU time (version 1) get no `cpu` row at all rather than an empty one.
    let has_cpu = |run: &ScenarioReport| !sample_values(run, Metric::Cpu).is_empty();
    let with_cpu = has_cpu(baseline) && has_cpu(current);
    let with_instructions =
        baseline.instructions_per_op.is_some() && current.instructions_per_op.is_some();
    let mut metrics: Vec<MetricComparison> = Metric::ALL
        .iter()
        .filter(|&&metric| metric != Metric::Cpu || with_cpu)
        .filter(|&&metric| metric != Metric::Instructions || with_instructions)
        .map(|&metric| {
            // Counted one operation at a time, instructions do not depend on the run's
            // settings or the machine's load: given, they decide.
            if metric == Metric::Instructions {
                return compare_instructions(baseline, current, options);
            }
            if with_instructions && metric.is_timing() {
                return informational(
                    metric,
                    [baseline, current],
                    "instructions decide (`--instructions`)".into(),
                );
            }
            if let Some(note) = conditions.informational(metric) {
                return informational(metric, [baseline, current], note);
            }
            if metric == Metric::Allocs {
                return compare_allocs(baseline, current, options);
            }
            let on_cpu = metric == Metric::Cpu;
            let drifted = floor.filter(|floor| !reference && !on_cpu && floor.wall_drifted);
            let raw = |run: &ScenarioReport| -> Vec<f64> {
                run.samples.iter().map(|s| metric.sample(s)).collect()
            };
            let (base_values, cur_values, basis, note) = match drifted {
                Some(floor) => (
                    floor.relative(Run::Baseline, metric, &raw(baseline)),
                    floor.relative(Run::Current, metric, &raw(current)),
                    Basis::WallPerFloor,
                    Some(format!(
                        "the floor `{FLOOR}` drifted: figures relative to it, round by round"
                    )),
                ),
                None => (
                    raw(baseline),
                    raw(current),
                    if on_cpu { Basis::Cpu } else { Basis::Wall },
                    None,
                ),
            };
            // Pairs only hold while every sample of both runs is there, in the same order.
            let aligned = base_values.len() == cur_values.len()
                && base_values.iter().chain(&cur_values).all(|v| usable(*v));
            let options = CompareOptions {
                paired: options.paired && aligned,
                ..*options
            };
            let usable_only = |values: Vec<f64>| {
                values
                    .into_iter()
                    .filter(|v| usable(*v))
                    .collect::<Vec<_>>()
            };
            timing(
                metric,
                &usable_only(base_values),
                &usable_only(cur_values),
                [baseline, current],
                &options,
                basis,
                note,
            )
        })
        .collect();
    if reference {
        for metric in &mut metrics {
            if matches!(metric.verdict, Verdict::Regressed | Verdict::Improved) {
                metric.verdict = Verdict::Drifted;
            }
        }
    }
    ScenarioComparison {
        name: current.name.clone(),
        metrics,
    }
}

/// The group of the reference implementations, whose changes are the machine's.
pub const REFERENCE_GROUP: &str = "baseline";

/// A metric shown without a verdict, and why.
fn informational(metric: Metric, runs: [&ScenarioReport; 2], note: String) -> MetricComparison {
    let [base, cur] = runs.map(|run| metric.summary(run));
    MetricComparison {
        metric,
        baseline: base,
        current: cur,
        change: relative(base, cur),
        interval: None,
        samples: runs.map(|run| sample_values(run, metric).len()),
        verdict: Verdict::Informational,
        decided_by: Basis::None,
        note: Some(note),
    }
}

fn compare_allocs(
    baseline: &ScenarioReport,
    current: &ScenarioReport,
    options: &CompareOptions,
) -> MetricComparison {
    let (base, cur) = (baseline.allocs_per_op, current.allocs_per_op);
    let per_sample = |run: &ScenarioReport| -> Vec<f64> {
        run.samples
            .iter()
            .map(|s| s.allocs_per_op)
            .filter(|v| v.is_finite() && *v >= 0.0)
            .collect()
    };
    let (base_samples, cur_samples) = (per_sample(baseline), per_sample(current));
    let varies = |values: &[f64]| values.windows(2).any(|pair| pair[0] != pair[1]);
    // The tiny slack keeps `1.01 - 1.00` (0.010000000000000009 in binary) from counting.
    let tolerance = ALLOCS_TOLERANCE + 1e-9;
    // Counts that vary from sample to sample (SQLite's do) are weighed against their own
    // spread, like timings but in allocations: the whole interval of the shift past the
    // tolerance. Counts that never vary are exact: the difference of the means decides.
    let interval = (varies(&base_samples) || varies(&cur_samples))
        .then(|| shift_estimate(&base_samples, &cur_samples, options.confidence))
        .flatten()
        .and_then(|estimate| estimate.interval);
    let (worse_low, worse_high) = interval.unwrap_or((cur - base, cur - base));
    let verdict = if worse_low > tolerance {
        Verdict::Regressed
    } else if worse_high < -tolerance {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    };
    MetricComparison {
        metric: Metric::Allocs,
        baseline: base,
        current: cur,
        change: relative(base, cur),
        interval: None,
        samples: [baseline.samples.len(), current.samples.len()],
        verdict,
        decided_by: Basis::Count,
        // Worth a note only where the spread is wider than the tolerance.
        note: interval
            .filter(|(low, high)| high - low > ALLOCS_TOLERANCE)
            .map(|(low, high)| {
                format!(
                    "counts vary between samples: {}% interval of the change {:+.2} to {:+.2}/op",
                    format_percent_plain(options.confidence),
                    low,
                    high
                )
            }),
    }
}

/// Instructions per operation: exact counts, so the change itself decides, against the
/// threshold (there is no noise to weigh it against).
fn compare_instructions(
    baseline: &ScenarioReport,
    current: &ScenarioReport,
    options: &CompareOptions,
) -> MetricComparison {
    let [base, cur] = [baseline, current].map(|run| Metric::Instructions.summary(run));
    let change = relative(base, cur);
    let verdict = match change {
        Some(change) if change > options.threshold => Verdict::Regressed,
        Some(change) if change < -options.threshold => Verdict::Improved,
        _ => Verdict::Unchanged,
    };
    MetricComparison {
        metric: Metric::Instructions,
        baseline: base,
        current: cur,
        change,
        interval: None,
        samples: [1, 1],
        verdict,
        decided_by: Basis::Instructions,
        note: None,
    }
}

/// `current / baseline - 1`, when both are positive finite numbers.
fn relative(baseline: f64, current: f64) -> Option<f64> {
    let usable = |v: f64| v.is_finite() && v >= 0.0;
    (usable(baseline) && usable(current) && baseline > 0.0).then(|| current / baseline - 1.0)
}

/// The verdict of a timing metric from the two runs' per-sample values (usable ones only, on
/// `basis`); the figures shown are the runs' summary figures.
fn timing(
    metric: Metric,
    base_values: &[f64],
    cur_values: &[f64],
    runs: [&ScenarioReport; 2],
    options: &CompareOptions,
    basis: Basis,
    note: Option<String>,
) -> MetricComparison {
    let base_logs: Vec<f64> = base_values.iter().map(|v| v.ln()).collect();
    let cur_logs: Vec<f64> = cur_values.iter().map(|v| v.ln()).collect();
    let [base_value, cur_value] = runs.map(|run| metric.summary(run));
    let samples = [base_logs.len(), cur_logs.len()];

    let estimate = if options.paired {
        let differences: Vec<f64> = cur_logs
            .iter()
            .zip(&base_logs)
            .map(|(c, b)| c - b)
            .collect();
        paired_estimate(&differences, options.confidence)
    } else {
        shift_estimate(&base_logs, &cur_logs, options.confidence)
    };
    let change = match &estimate {
        Some(estimate) => Some(estimate.shift.exp_m1()),
        None => relative(base_value, cur_value),
    };
    let interval = estimate
        .as_ref()
        .and_then(|estimate| estimate.interval)
        .filter(|_| samples[0] >= MIN_SAMPLES && samples[1] >= MIN_SAMPLES)
        .map(|(low, high)| Interval {
            low: low.exp_m1(),
            high: high.exp_m1(),
        });

    let verdict = match (change, interval) {
        (Some(change), Some(interval)) => {
            // In "worse" terms: positive is worse, whichever way the metric improves.
            let (worse_change, worse_low, worse_high) = if metric.higher_is_better() {
                (-change, -interval.high, -interval.low)
            } else {
                (change, interval.low, interval.high)
            };
            // The interval, not only the estimate, must clear the threshold (module docs, 5).
            if worse_change > options.threshold && worse_low > options.threshold {
                Verdict::Regressed
            } else if worse_change < -options.threshold && worse_high < -options.threshold {
                Verdict::Improved
            } else {
                Verdict::Unchanged
            }
        }
        _ => Verdict::Unchanged,
    };
    MetricComparison {
        metric,
        baseline: base_value,
        current: cur_value,
        change,
        interval,
        samples,
        verdict,
        decided_by: basis,
        note,
    }
}

/// The Hodges-Lehmann shift of `current` over `baseline` and its Mann-Whitney interval.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ShiftEstimate {
    shift: f64,
    /// `None` when the samples are too few for the confidence.
    interval: Option<(f64, f64)>,
}

/// The median of all pairwise differences `current_i - baseline_j`, and the interval from the
/// `k`-th smallest to the `k`-th largest of them (see the module documentation). `None` when a
/// side is empty.
fn shift_estimate(baseline: &[f64], current: &[f64], confidence: f64) -> Option<ShiftEstimate> {
    if baseline.is_empty() || current.is_empty() {
        return None;
    }
    let mut differences: Vec<f64> = current
        .iter()
        .flat_map(|c| baseline.iter().map(move |b| c - b))
        .collect();
    differences.sort_by(f64::total_cmp);
    let count = differences.len();
    let shift = if count % 2 == 1 {
        differences[count / 2]
    } else {
        (differences[count / 2 - 1] + differences[count / 2]) / 2.0
    };
    let interval = mann_whitney_k(baseline.len(), current.len(), confidence)
        .map(|k| (differences[k - 1], differences[count - k]));
    Some(ShiftEstimate { shift, interval })
}

/// The Hodges-Lehmann estimate of the centre of paired `differences` (the median of their
/// Walsh averages `(d_i + d_j) / 2`, `i <= j`) and its Wilcoxon signed-rank interval, from the
/// normal approximation with continuity correction: the `k`-th smallest to the `k`-th largest
/// Walsh average, `k = floor(n(n+1)/4 + 1/2 - z·sqrt(n(n+1)(2n+1)/24))`. `None` when empty.
fn paired_estimate(differences: &[f64], confidence: f64) -> Option<ShiftEstimate> {
    if differences.is_empty() {
        return None;
    }
    let mut walsh: Vec<f64> = differences
        .iter()
        .enumerate()
        .flat_map(|(i, a)| differences[i..].iter().map(move |b| (a + b) / 2.0))
        .collect();
    walsh.sort_by(f64::total_cmp);
    let count = walsh.len();
    let shift = if count % 2 == 1 {
        walsh[count / 2]
    } else {
        (walsh[count / 2 - 1] + walsh[count / 2]) / 2.0
    };
    let n = differences.len() as f64;
    let z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    let sd = (n * (n + 1.0) * (2.0 * n + 1.0) / 24.0).sqrt();
    let k = (n * (n + 1.0) / 4.0 + 0.5 - z * sd).floor();
    let interval = (k >= 1.0).then(|| {
        let k = (k as usize).min(count.div_ceil(2));
        (walsh[k - 1], walsh[count - k])
    });
    Some(ShiftEstimate { shift, interval })
}

/// The rank `k` (1-based) of the interval's ends among the `n·m` ordered differences, from the
/// normal approximation of the Mann-Whitney `U` distribution with continuity correction, at most
/// `ceil(n·m/2)` so that the low end is not above the high end. `None` when `k < 1`: the samples
/// are too few for the confidence.
fn mann_whitney_k(n: usize, m: usize, confidence: f64) -> Option<usize> {
    let (nf, mf) = (n as f64, m as f64);
    let nm = nf * mf;
    let z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    let sd = (nm * (nf + mf + 1.0) / 12.0).sqrt();
    let k = (nm / 2.0 + 0.5 - z * sd).floor();
    let most = (n * m).div_ceil(2);
    // `k <= n·m / 2 + 0.5`, so the cast keeps its value.
    (k >= 1.0).then(|| (k as usize).min(most))
}

/// The standard normal quantile function (Acklam's rational approximation, relative error below
/// 1.2e-9), for `p` in `(0, 1)`.
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    pub(crate) use crate::report::fixtures::report;
    use crate::report::{Latency, encode_histogram};
    use hdrhistogram::Histogram;

    /// A small deterministic generator (SplitMix64), so noise tests are reproducible.
    pub(crate) struct Rng(u64);

    impl Rng {
        pub(crate) fn new(seed: u64) -> Rng {
            Rng(seed)
        }

        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in `[0, 1)`.
        pub(crate) fn unit(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Uniform in `[-1, 1)`.
        pub(crate) fn symmetric(&mut self) -> f64 {
            self.unit() * 2.0 - 1.0
        }
    }

    /// The per-sample figures of one synthetic sample: p50, p99, throughput.
    pub(crate) type Figures = (f64, f64, f64);

    /// A scenario with the given samples; its summary figures are the medians of the samples.
    pub(crate) fn scenario(name: &str, samples: &[Figures], allocs_per_op: f64) -> ScenarioReport {
        let median = |pick: fn(&Figures) -> f64| {
            let mut values: Vec<f64> = samples.iter().map(pick).collect();
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied().unwrap_or(0.0)
        };
        let p50 = median(|f| f.0);
        let p99 = median(|f| f.1);
        let histogram = Histogram::<u64>::new(3).expect("3 significant figures are valid");
        ScenarioReport {
            name: name.to_owned(),
            group: "runtime".to_owned(),
            concurrency: 1,
            batch: 1,
            ops: 1000 * samples.len() as u64,
            elapsed_ns: 1_000_000,
            throughput_ops_s: median(|f| f.2),
            latency_ns: Latency {
                min: p50 * 0.8,
                p50,
                p90: p50 * 1.2,
                p99,
                p999: p99 * 2.0,
                max: p99 * 10.0,
                mean: p50 * 1.1,
                stdev: p50 * 0.2,
            },
            allocs_per_op,
            bytes_per_op: allocs_per_op * 64.0,
            cpu_ns_per_op: None,
            instructions_per_op: None,
            ratio_to_floor: Some(4.1),
            throughput_floor: None,
            p99_floor: None,
            rate_ops_s: None,
            samples: samples
                .iter()
                .map(|&(p50_ns, p99_ns, throughput_ops_s)| Sample {
                    ops: 1000,
                    throughput_ops_s,
                    p50_ns,
                    p99_ns,
                    allocs_per_op,
                    cpu_ns_per_op: None,
                    wait_share: None,
                })
                .collect(),
            histogram: encode_histogram(&histogram),
        }
    }

    /// `n` samples around p50 = 100 ns, p99 = 400 ns, 1M ops/s, each figure scaled by
    /// `latency_factor` (throughput divided by it) and jittered by up to `±jitter`.
    fn noisy(rng: &mut Rng, n: usize, latency_factor: f64, jitter: f64) -> Vec<Figures> {
        (0..n)
            .map(|_| {
                let mut j = || 1.0 + jitter * rng.symmetric();
                (
                    100.0 * latency_factor * j(),
                    400.0 * latency_factor * j(),
                    1e6 / latency_factor * j(),
                )
            })
            .collect()
    }

    fn one(base: Vec<Figures>, cur: Vec<Figures>) -> ScenarioComparison {
        let baseline = report(vec![scenario("s", &base, 1.0)]);
        let current = report(vec![scenario("s", &cur, 1.0)]);
        let comparison =
            compare(&baseline, &current, &CompareOptions::default()).expect("one shared scenario");
        comparison.scenarios.into_iter().next().expect("one shared")
    }

    /// The verdicts of p50, p99, throughput and allocs: these reports have no CPU time, so no
    /// `cpu` metric.
    fn verdicts(scenario: &ScenarioComparison) -> Vec<Verdict> {
        scenario.metrics.iter().map(|m| m.verdict).collect()
    }

    use Verdict::{Improved, Regressed, Unchanged};

    #[test]
    fn normal_quantiles() {
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-5);
        assert!((normal_quantile(0.995) - 2.575_829).abs() < 1e-5);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        assert!((normal_quantile(0.001) + 3.090_232).abs() < 1e-5);
    }

    #[test]
    fn mann_whitney_rank() {
        // Exact tables give 17 for 10 vs 10 at 99%; the approximation is one step wider.
        assert_eq!(mann_whitney_k(10, 10, 0.99), Some(16));
        assert_eq!(mann_whitney_k(10, 10, 0.95), Some(24));
        assert_eq!(mann_whitney_k(6, 6, 0.99), Some(2));
        assert_eq!(mann_whitney_k(3, 19, 0.99), Some(2));
        // Too few samples for 99%.
        assert_eq!(mann_whitney_k(5, 5, 0.99), None);
        assert_eq!(mann_whitney_k(3, 3, 0.99), None);
        assert_eq!(mann_whitney_k(3, 13, 0.99), None);
        assert_eq!(mann_whitney_k(3, 14, 0.99), Some(1));
        assert_eq!(mann_whitney_k(3, 3, 0.80), Some(2));
        // A very low confidence stays below the middle.
        assert_eq!(mann_whitney_k(3, 3, 0.01), Some(4));
        assert_eq!(mann_whitney_k(1, 1, 0.000_001), None);
    }

    #[test]
    fn hodges_lehmann_is_the_median_of_differences() {
        let estimate = shift_estimate(&[0.0, 1.0], &[2.0, 4.0], 0.5).expect("non-empty");
        // Differences: 2, 1, 4, 3 -> median 2.5; k = 1 -> interval [1, 4].
        assert_eq!(estimate.shift, 2.5);
        assert_eq!(estimate.interval, Some((1.0, 4.0)));
        let estimate = shift_estimate(&[0.0, 1.0], &[2.0, 4.0], 0.99).expect("non-empty");
        assert_eq!(estimate.interval, None);
        assert_eq!(shift_estimate(&[], &[1.0], 0.99), None);
    }

    #[test]
    fn a_regression_that_does_not_show_again_is_unconfirmed() {
        let mut rng = Rng::new(11);
        let base = report(vec![
            scenario("a", &noisy(&mut rng, 10, 1.0, 0.05), 1.0),
            scenario("b", &noisy(&mut rng, 10, 1.0, 0.05), 1.0),
        ]);
        let slow = report(vec![
            scenario("a", &noisy(&mut rng, 10, 1.5, 0.05), 1.0),
            scenario("b", &noisy(&mut rng, 10, 1.5, 0.05), 1.0),
        ]);
        let options = CompareOptions::default();
        let mut comparison = compare(&base, &slow, &options).expect("shared scenarios");
        assert_eq!(comparison.regressed_scenarios(), ["a", "b"]);
        // Measured again: `a` is still slow (a real regression), `b` is back to normal.
        let again = report(vec![
            scenario("a", &noisy(&mut rng, 10, 1.5, 0.05), 1.0),
            scenario("b", &noisy(&mut rng, 10, 1.0, 0.05), 1.0),
        ]);
        comparison.confirm(&compare(&base, &again, &options).expect("shared scenarios"));
        let regressed: Vec<&str> = comparison.regressions().map(|(name, _)| name).collect();
        assert_eq!(regressed, ["a", "a", "a"]);
        assert_eq!(comparison.with_verdict(Verdict::Unconfirmed).count(), 3);
        assert!(comparison.has_regressions());
    }

    #[test]
    fn a_shifted_reference_drifts_and_fails_nothing() {
        let mut rng = Rng::new(7);
        let mut base = scenario("boxed_dyn", &noisy(&mut rng, 10, 1.0, 0.05), 1.0);
        let mut cur = scenario("boxed_dyn", &noisy(&mut rng, 10, 1.6, 0.05), 1.0);
        base.group = REFERENCE_GROUP.to_owned();
        cur.group = REFERENCE_GROUP.to_owned();
        let comparison = compare(
            &report(vec![base]),
            &report(vec![cur]),
            &CompareOptions::default(),
        )
        .expect("one shared scenario");
        let drifted: Vec<_> = comparison.with_verdict(Verdict::Drifted).collect();
        assert_eq!(drifted.len(), 3, "p50, p99 and throughput moved");
        assert!(drifted.iter().all(|(_, m)| m.decided_by == Basis::Wall));
        assert!(!comparison.has_regressions());
        let text = crate::render::comparison_human(&comparison, &CompareOptions::default());
        assert!(text.contains("Reference implementations drifted"), "{text}");
    }

    #[test]
    fn identical_runs_are_unchanged() {
        let mut rng = Rng::new(1);
        let samples = noisy(&mut rng, 10, 1.0, 0.1);
        let result = one(samples.clone(), samples);
        assert_eq!(verdicts(&result), [Unchanged; 4]);
        let p50 = &result.metrics[0];
        assert_eq!(p50.change, Some(0.0));
        let interval = p50.interval.expect("10 samples each");
        assert!(interval.low < 0.0 && interval.high > 0.0);
        assert_eq!(p50.samples, [10, 10]);
    }

    #[test]
    fn constant_identical_runs_are_unchanged() {
        let samples = vec![(100.0, 400.0, 1e6); 10];
        let result = one(samples.clone(), samples);
        assert_eq!(verdicts(&result), [Unchanged; 4]);
        let interval = result.metrics[0].interval.expect("10 samples each");
        assert_eq!((interval.low, interval.high), (0.0, 0.0));
    }

    #[test]
    fn pure_noise_never_regresses() {
        let mut rng = Rng::new(42);
        for trial in 0..2000 {
            let n = 3 + trial % 28;
            let base = noisy(&mut rng, n, 1.0, 0.1);
            let cur = noisy(&mut rng, n, 1.0, 0.1);
            let result = one(base, cur);
            assert_eq!(
                verdicts(&result),
                [Unchanged; 4],
                "trial {trial}: {result:?}"
            );
        }
    }

    #[test]
    fn slow_stretches_of_a_shared_machine_do_not_regress() {
        // Up to 4 consecutive samples of 10 in either run 1.5x slower, as on a busy VM.
        let mut rng = Rng::new(7);
        for trial in 0..2000 {
            let mut runs = [noisy(&mut rng, 10, 1.0, 0.1), noisy(&mut rng, 10, 1.0, 0.1)];
            for run in &mut runs {
                let len = (rng.unit() * 5.0) as usize;
                let start = (rng.unit() * (11 - len) as f64) as usize;
                for sample in &mut run[start..start + len] {
                    *sample = (sample.0 * 1.5, sample.1 * 1.5, sample.2 / 1.5);
                }
            }
            let [base, cur] = runs;
            let result = one(base, cur);
            assert_eq!(
                verdicts(&result),
                [Unchanged; 4],
                "trial {trial}: {result:?}"
            );
        }
    }

    #[test]
    fn a_30_percent_slowdown_regresses() {
        let mut rng = Rng::new(3);
        for trial in 0..500 {
            let base = noisy(&mut rng, 10, 1.0, 0.1);
            let cur = noisy(&mut rng, 10, 1.3, 0.1);
            let result = one(base, cur);
            assert_eq!(
                verdicts(&result),
                [Regressed, Regressed, Regressed, Unchanged],
                "trial {trial}: {result:?}"
            );
            let p50 = &result.metrics[0];
            let change = p50.change.expect("samples on both sides");
            assert!((0.15..0.45).contains(&change), "{change}");
            let throughput = &result.metrics[2];
            let interval = throughput.interval.expect("10 samples each");
            assert!(interval.high < 0.0);
        }
    }

    #[test]
    fn a_30_percent_lower_latency_improves() {
        let mut rng = Rng::new(4);
        for trial in 0..500 {
            let base = noisy(&mut rng, 10, 1.0, 0.1);
            let cur = noisy(&mut rng, 10, 0.7, 0.1);
            let result = one(base, cur);
            assert_eq!(
                verdicts(&result),
                [Improved, Improved, Improved, Unchanged],
                "trial {trial}: {result:?}"
            );
        }
    }

    #[test]
    fn a_significant_shift_below_the_threshold_is_unchanged() {
        let mut rng = Rng::new(5);
        let base = noisy(&mut rng, 10, 1.0, 0.01);
        let cur = noisy(&mut rng, 10, 1.05, 0.01);
        let result = one(base, cur);
        let p50 = &result.metrics[0];
        let interval = p50.interval.expect("10 samples each");
        assert!(interval.low > 0.0, "the shift is beyond the noise");
        assert_eq!(verdicts(&result), [Unchanged; 4]);
    }

    #[test]
    fn a_big_shift_drowned_in_noise_is_unchanged() {
        let spread = [0.5, 2.0, 0.7, 1.6, 0.9, 1.3, 0.6, 1.9, 1.0, 0.8];
        let base: Vec<Figures> = spread
            .iter()
            .map(|f| (100.0 * f, 400.0 * f, 1e6 / f))
            .collect();
        let cur: Vec<Figures> = spread
            .iter()
            .rev()
            .map(|f| (140.0 * f, 560.0 * f, 1e6 / 1.4 / f))
            .collect();
        let result = one(base, cur);
        let p50 = &result.metrics[0];
        assert!(p50.change.expect("samples") > 0.3);
        assert_eq!(verdicts(&result), [Unchanged; 4]);
    }

    #[test]
    fn allocations_are_exact() {
        let samples = vec![(100.0, 400.0, 1e6); 10];
        let check = |base: f64, cur: f64| {
            let baseline = report(vec![scenario("s", &samples, base)]);
            let current = report(vec![scenario("s", &samples, cur)]);
            let comparison = compare(&baseline, &current, &CompareOptions::default())
                .expect("one shared scenario");
            comparison.scenarios[0].metrics[3].clone()
        };
        assert_eq!(check(2.0, 3.0).verdict, Regressed);
        assert_eq!(check(0.0, 1.0).verdict, Regressed);
        assert_eq!(check(0.0, 1.0).change, None);
        assert_eq!(check(2.0, 2.001).verdict, Unchanged);
        assert_eq!(check(1.0, 1.01).verdict, Unchanged);
        assert_eq!(check(1.0, 1.02).verdict, Regressed);
        assert_eq!(check(3.0, 2.0).verdict, Improved);
        let change = check(3.0, 2.0).change.expect("positive baseline");
        assert!((change + 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(check(3.0, 2.0).interval, None);
    }

    #[test]
    fn allocations_ignore_the_threshold() {
        let samples = vec![(100.0, 400.0, 1e6); 10];
        let baseline = report(vec![scenario("s", &samples, 100.0)]);
        let current = report(vec![scenario("s", &samples, 101.0)]);
        let options = CompareOptions {
            threshold: 5.0,
            ..CompareOptions::default()
        };
        let comparison = compare(&baseline, &current, &options).expect("shared");
        assert!(comparison.has_regressions());
        let regressions: Vec<_> = comparison
            .regressions()
            .map(|(name, m)| (name, m.metric))
            .collect();
        assert_eq!(regressions, [("s", Metric::Allocs)]);
    }

    #[test]
    fn missing_scenarios_are_listed() {
        let samples = vec![(100.0, 400.0, 1e6); 5];
        let baseline = report(vec![
            scenario("gone", &samples, 0.0),
            scenario("both", &samples, 0.0),
        ]);
        let current = report(vec![
            scenario("both", &samples, 0.0),
            scenario("new", &samples, 0.0),
        ]);
        let comparison =
            compare(&baseline, &current, &CompareOptions::default()).expect("one shared");
        assert_eq!(comparison.scenarios.len(), 1);
        assert_eq!(comparison.scenarios[0].name, "both");
        assert_eq!(comparison.only_in_baseline, ["gone"]);
        assert_eq!(comparison.only_in_current, ["new"]);
        assert!(!comparison.has_regressions());
    }

    #[test]
    fn no_shared_scenario_is_an_error() {
        let samples = vec![(100.0, 400.0, 1e6); 5];
        let baseline = report(vec![scenario("a", &samples, 0.0)]);
        let current = report(vec![
            scenario("b", &samples, 0.0),
            scenario("c", &samples, 0.0),
        ]);
        let error =
            compare(&baseline, &current, &CompareOptions::default()).expect_err("nothing shared");
        assert_eq!(
            error,
            CompareError::NoSharedScenario {
                baseline: vec!["a".to_owned()],
                current: vec!["b".to_owned(), "c".to_owned()],
            }
        );
        let message = error.to_string();
        assert!(message.contains("baseline: a; this run: b, c"), "{message}");
        assert!(message.contains("catga bench --save"), "{message}");
        let empty = compare(&report(vec![]), &current, &CompareOptions::default())
            .expect_err("nothing shared");
        assert!(empty.to_string().contains("baseline: none"), "{empty}");
    }

    #[test]
    fn too_few_samples_give_no_timing_verdict() {
        let base = vec![(100.0, 400.0, 1e6); 2];
        let cur = vec![(200.0, 800.0, 5e5); 10];
        let result = one(base, cur);
        assert_eq!(verdicts(&result), [Unchanged; 4]);
        for metric in &result.metrics[..3] {
            assert!(metric.too_few_samples());
            assert_eq!(metric.interval, None);
            assert_eq!(metric.samples, [2, 10]);
        }
        assert!((result.metrics[0].change.expect("samples") - 1.0).abs() < 1e-12);
        // Unusable (zero) samples do not count.
        let base = vec![(100.0, 400.0, 0.0); 10];
        let cur = vec![(100.0, 400.0, 1e6); 10];
        let result = one(base, cur);
        assert_eq!(result.metrics[2].samples, [0, 10]);
        assert!(result.metrics[2].too_few_samples());
        assert_eq!(result.metrics[2].change, None);
    }

    #[test]
    fn few_samples_decide_only_at_a_confidence_they_support() {
        let base = vec![(100.0, 400.0, 1e6), (101.0, 401.0, 1e6), (99.0, 399.0, 1e6)];
        let cur = vec![
            (150.0, 600.0, 1e6),
            (151.0, 601.0, 1e6),
            (149.0, 599.0, 1e6),
        ];
        let result = one(base.clone(), cur.clone());
        assert_eq!(verdicts(&result), [Unchanged; 4]);
        assert!(result.metrics[0].too_few_samples());
        let options = CompareOptions {
            confidence: 0.8,
            ..CompareOptions::default()
        };
        let baseline = report(vec![scenario("s", &base, 1.0)]);
        let current = report(vec![scenario("s", &cur, 1.0)]);
        let comparison = compare(&baseline, &current, &options).expect("shared");
        assert_eq!(
            verdicts(&comparison.scenarios[0]),
            [Regressed, Regressed, Unchanged, Unchanged]
        );
    }

    #[test]
    fn invalid_options_are_rejected() {
        let samples = vec![(100.0, 400.0, 1e6); 5];
        let r = report(vec![scenario("a", &samples, 0.0)]);
        for options in [
            CompareOptions {
                threshold: 0.0,
                ..CompareOptions::default()
            },
            CompareOptions {
                threshold: f64::NAN,
                ..CompareOptions::default()
            },
            CompareOptions {
                confidence: 1.0,
                ..CompareOptions::default()
            },
        ] {
            assert!(matches!(
                compare(&r, &r, &options),
                Err(CompareError::InvalidOption { .. })
            ));
        }
    }

    #[test]
    fn comparison_serializes() {
        let samples = vec![(100.0, 400.0, 1e6); 5];
        let r = report(vec![scenario("a", &samples, 0.0)]);
        let comparison = compare(&r, &r, &CompareOptions::default()).expect("shared");
        let json = serde_json::to_value(&comparison).expect("serializes");
        assert_eq!(json["scenarios"][0]["metrics"][0]["metric"], "p50");
        assert_eq!(json["scenarios"][0]["metrics"][0]["verdict"], "unchanged");
        assert_eq!(json["options"]["threshold"], 0.1);
    }

    /// A scenario whose samples each took `wall` ns per operation of wall time (p50 = wall,
    /// p99 = 4 × wall, one in flight), `cpu` ns of CPU time, and waited for a core `wait` of
    /// the time.
    fn timed(name: &str, samples: &[(f64, f64, f64)]) -> ScenarioReport {
        let figures: Vec<Figures> = samples
            .iter()
            .map(|&(wall, _, _)| (wall, 4.0 * wall, 1e9 / wall))
            .collect();
        let mut timed = scenario(name, &figures, 0.0);
        for (sample, &(_, cpu, wait)) in timed.samples.iter_mut().zip(samples) {
            sample.cpu_ns_per_op = Some(cpu);
            sample.wait_share = Some(wait);
        }
        timed.cpu_ns_per_op = Some(samples.iter().map(|s| s.1).sum::<f64>() / samples.len() as f64);
        timed
    }

    /// `n` samples of `wall` ns (jittered by `wall_jitter`), `cpu` ns (by 2%), waiting `wait`.
    fn timed_samples(
        rng: &mut Rng,
        n: usize,
        wall: f64,
        wall_jitter: f64,
        cpu: f64,
        wait: f64,
    ) -> Vec<(f64, f64, f64)> {
        (0..n)
            .map(|_| {
                (
                    wall * (1.0 + wall_jitter * rng.symmetric()),
                    cpu * (1.0 + 0.02 * rng.symmetric()),
                    wait,
                )
            })
            .collect()
    }

    fn metric<'a>(comparison: &'a Comparison, name: &str, metric: Metric) -> &'a MetricComparison {
        comparison
            .scenarios
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.metrics.iter().find(|m| m.metric == metric))
            .unwrap_or_else(|| panic!("{name} {metric}"))
    }

    #[test]
    fn on_a_contended_machine_cpu_time_decides_and_wall_time_is_informational() {
        let mut rng = Rng::new(21);
        // The baseline on a quiet machine; this run loses the core half the time, so wall time
        // doubles and swings; the code got 15% slower in CPU time.
        let base = timed("s", &timed_samples(&mut rng, 10, 100.0, 0.05, 95.0, 0.0));
        let cur = timed("s", &timed_samples(&mut rng, 10, 230.0, 0.4, 109.0, 0.5));
        let comparison = compare(
            &report(vec![base]),
            &report(vec![cur]),
            &CompareOptions::default(),
        )
        .unwrap();
        let cpu = metric(&comparison, "s", Metric::Cpu);
        assert_eq!((cpu.verdict, cpu.decided_by), (Regressed, Basis::Cpu));
        for wall in [Metric::P50, Metric::P99, Metric::Throughput] {
            let wall = metric(&comparison, "s", wall);
            assert_eq!(wall.verdict, Verdict::Informational, "{wall:?}");
            assert!(
                wall.note.as_deref().unwrap().contains("contended"),
                "{wall:?}"
            );
        }
        assert_eq!(comparison.regressed_scenarios(), ["s"]);
    }

    #[test]
    fn contention_alone_fails_nothing() {
        let mut rng = Rng::new(22);
        for trial in 0..200 {
            let base = timed("s", &timed_samples(&mut rng, 10, 100.0, 0.05, 95.0, 0.0));
            let cur = timed("s", &timed_samples(&mut rng, 10, 200.0, 0.5, 95.0, 0.6));
            let comparison = compare(
                &report(vec![base]),
                &report(vec![cur]),
                &CompareOptions::default(),
            )
            .unwrap();
            assert!(
                !comparison.has_regressions(),
                "trial {trial}: {comparison:?}"
            );
        }
    }

    #[test]
    fn uncontended_wall_time_decides_and_cpu_is_informational() {
        let mut rng = Rng::new(23);
        let base = timed("s", &timed_samples(&mut rng, 10, 100.0, 0.02, 95.0, 0.0));
        let cur = timed("s", &timed_samples(&mut rng, 10, 130.0, 0.02, 95.0, 0.001));
        let comparison = compare(
            &report(vec![base]),
            &report(vec![cur]),
            &CompareOptions::default(),
        )
        .unwrap();
        let p50 = metric(&comparison, "s", Metric::P50);
        assert_eq!((p50.verdict, p50.decided_by), (Regressed, Basis::Wall));
        assert_eq!(
            metric(&comparison, "s", Metric::Cpu).verdict,
            Verdict::Informational
        );
    }

    #[test]
    fn a_scenario_that_mostly_waits_is_decided_on_wall_time_even_when_contended() {
        let mut rng = Rng::new(24);
        // A broker round trip: 100 µs of wall time, 10 µs of it CPU.
        let base = timed(
            "s",
            &timed_samples(&mut rng, 10, 100_000.0, 0.02, 10_000.0, 0.0),
        );
        let cur = timed(
            "s",
            &timed_samples(&mut rng, 10, 150_000.0, 0.02, 10_000.0, 0.1),
        );
        let comparison = compare(
            &report(vec![base]),
            &report(vec![cur]),
            &CompareOptions::default(),
        )
        .unwrap();
        let p50 = metric(&comparison, "s", Metric::P50);
        assert_eq!((p50.verdict, p50.decided_by), (Regressed, Basis::Wall));
        let cpu = metric(&comparison, "s", Metric::Cpu);
        assert_eq!(cpu.verdict, Verdict::Informational);
        assert!(cpu.note.as_deref().unwrap().contains("waiting"), "{cpu:?}");
    }

    #[test]
    fn when_the_floor_drifted_figures_are_relative_to_it() {
        let mut rng = Rng::new(25);
        let floor = |rng: &mut Rng, wall: f64| {
            let mut floor = timed(FLOOR, &timed_samples(rng, 10, wall, 0.02, wall, 0.0));
            floor.group = REFERENCE_GROUP.to_owned();
            floor
        };
        // The machine ran 30% slower for this run: every figure, the floor's too, is 1.3x;
        // `slower` also got 30% slower in its code.
        let base = report(vec![
            floor(&mut rng, 10.0),
            timed("same", &timed_samples(&mut rng, 10, 100.0, 0.02, 95.0, 0.0)),
            timed(
                "slower",
                &timed_samples(&mut rng, 10, 100.0, 0.02, 95.0, 0.0),
            ),
        ]);
        let cur = report(vec![
            floor(&mut rng, 13.0),
            timed(
                "same",
                &timed_samples(&mut rng, 10, 130.0, 0.02, 123.0, 0.0),
            ),
            timed(
                "slower",
                &timed_samples(&mut rng, 10, 169.0, 0.02, 160.0, 0.0),
            ),
        ]);
        let comparison = compare(&base, &cur, &CompareOptions::default()).unwrap();
        let same = metric(&comparison, "same", Metric::P50);
        assert_eq!(
            (same.verdict, same.decided_by),
            (Unchanged, Basis::WallPerFloor)
        );
        let slower = metric(&comparison, "slower", Metric::P50);
        assert_eq!(
            (slower.verdict, slower.decided_by),
            (Regressed, Basis::WallPerFloor)
        );
        assert_eq!(comparison.regressed_scenarios(), ["slower"]);
        let floor = metric(&comparison, FLOOR, Metric::P50);
        assert_eq!(
            (floor.verdict, floor.decided_by),
            (Verdict::Drifted, Basis::Wall)
        );
    }

    #[test]
    fn other_settings_make_timings_informational_and_say_why() {
        let samples = noisy(&mut Rng::new(26), 10, 1.0, 0.05);
        let base = scenario("s", &samples, 0.0);
        let mut batched = scenario("s", &noisy(&mut Rng::new(27), 10, 2.0, 0.05), 0.0);
        batched.batch = 64;
        let comparison = compare(
            &report(vec![base.clone()]),
            &report(vec![batched]),
            &CompareOptions::default(),
        )
        .unwrap();
        for latency in [Metric::P50, Metric::P99] {
            let latency = metric(&comparison, "s", latency);
            assert_eq!(latency.verdict, Verdict::Informational);
            assert!(latency.note.as_deref().unwrap().contains("batches of 64"));
        }
        assert_eq!(
            metric(&comparison, "s", Metric::Throughput).verdict,
            Regressed
        );

        let mut concurrent = base.clone();
        concurrent.concurrency = 10;
        let comparison = compare(
            &report(vec![base.clone()]),
            &report(vec![concurrent]),
            &CompareOptions::default(),
        )
        .unwrap();
        let timings = comparison.scenarios[0]
            .metrics
            .iter()
            .filter(|m| m.metric.is_timing());
        for timing in timings {
            assert_eq!(timing.verdict, Verdict::Informational);
            assert!(timing.note.as_deref().unwrap().contains("10 in flight"));
        }

        let mut open = base.clone();
        open.rate_ops_s = Some(1000.0);
        let mut open_now = scenario("s", &noisy(&mut Rng::new(28), 10, 1.0, 0.05), 0.0);
        open_now.rate_ops_s = Some(1000.0);
        let comparison = compare(
            &report(vec![open]),
            &report(vec![open_now]),
            &CompareOptions::default(),
        )
        .unwrap();
        let throughput = metric(&comparison, "s", Metric::Throughput);
        assert_eq!(throughput.verdict, Verdict::Informational);
        assert!(throughput.note.as_deref().unwrap().contains("rate"));
    }

    #[test]
    fn allocations_that_vary_between_samples_are_weighed_against_their_spread() {
        let samples = vec![(100.0, 400.0, 1e6); 10];
        let mut rng = Rng::new(29);
        // SQLite-like: every sample between 23.0 and 23.4 allocations per operation.
        let mut varying = |mean: f64| {
            let mut scenario = scenario("s", &samples, mean);
            for sample in &mut scenario.samples {
                sample.allocs_per_op = mean + 0.2 * rng.symmetric();
            }
            scenario
        };
        let same = compare(
            &report(vec![varying(23.2)]),
            &report(vec![varying(23.28)]),
            &CompareOptions::default(),
        )
        .unwrap();
        let allocs = metric(&same, "s", Metric::Allocs);
        assert_eq!(
            (allocs.verdict, allocs.decided_by),
            (Unchanged, Basis::Count)
        );
        assert!(
            allocs.note.as_deref().unwrap().contains("interval"),
            "{allocs:?}"
        );
        // One more allocation per operation is past any such spread.
        let more = compare(
            &report(vec![varying(23.2)]),
            &report(vec![varying(24.2)]),
            &CompareOptions::default(),
        )
        .unwrap();
        assert_eq!(metric(&more, "s", Metric::Allocs).verdict, Regressed);
    }

    #[test]
    fn given_instructions_decide_exactly_and_timings_are_informational() {
        let mut rng = Rng::new(30);
        let counted = |rng: &mut Rng, latency: f64, instructions: f64| {
            let mut s = scenario("s", &noisy(rng, 10, latency, 0.05), 0.0);
            s.instructions_per_op = Some(instructions);
            s
        };
        let options = CompareOptions {
            threshold: 0.02,
            ..CompareOptions::default()
        };
        // Wall time 50% worse (the machine), instructions 3% more (the code).
        let comparison = compare(
            &report(vec![counted(&mut rng, 1.0, 1000.0)]),
            &report(vec![counted(&mut rng, 1.5, 1030.0)]),
            &options,
        )
        .unwrap();
        let instructions = metric(&comparison, "s", Metric::Instructions);
        assert_eq!(
            (instructions.verdict, instructions.decided_by),
            (Regressed, Basis::Instructions)
        );
        for timing in [Metric::P50, Metric::P99, Metric::Throughput] {
            assert_eq!(
                metric(&comparison, "s", timing).verdict,
                Verdict::Informational
            );
        }
        assert!(
            comparison.regressed_scenarios().is_empty(),
            "exact counts need no second measurement"
        );
        let mut confirmed = comparison.clone();
        confirmed.confirm(&comparison_without_regressions());
        assert!(
            confirmed.has_regressions(),
            "and are not unconfirmed by one"
        );
        let same = compare(
            &report(vec![counted(&mut rng, 1.0, 1000.0)]),
            &report(vec![counted(&mut rng, 1.5, 1010.0)]),
            &options,
        )
        .unwrap();
        assert!(!same.has_regressions());
    }

    fn comparison_without_regressions() -> Comparison {
        let samples = vec![(100.0, 400.0, 1e6); 10];
        let r = report(vec![scenario("s", &samples, 0.0)]);
        compare(&r, &r, &CompareOptions::default()).unwrap()
    }

    #[test]
    fn paired_rounds_see_a_small_change_through_a_drifting_machine() {
        let mut rng = Rng::new(31);
        // Ten rounds; the machine's speed swings by up to ±30% from round to round, the same
        // for both builds of a round; the current build is 4% slower.
        let (mut base, mut cur) = (Vec::new(), Vec::new());
        for _ in 0..10 {
            let machine = 1.0 + 0.3 * rng.symmetric();
            let jitter = |rng: &mut Rng| 1.0 + 0.005 * rng.symmetric();
            let b = 100.0 * machine * jitter(&mut rng);
            let c = 104.0 * machine * jitter(&mut rng);
            base.push((b, 4.0 * b, 1e9 / b));
            cur.push((c, 4.0 * c, 1e9 / c));
        }
        let baseline = report(vec![scenario("s", &base, 0.0)]);
        let current = report(vec![scenario("s", &cur, 0.0)]);
        let options = CompareOptions {
            threshold: 0.02,
            ..CompareOptions::default()
        };
        let unpaired = compare(&baseline, &current, &options).unwrap();
        assert_eq!(
            metric(&unpaired, "s", Metric::P50).verdict,
            Unchanged,
            "lost in the swings"
        );
        let paired = CompareOptions {
            paired: true,
            ..options
        };
        let comparison = compare(&baseline, &current, &paired).unwrap();
        let p50 = metric(&comparison, "s", Metric::P50);
        assert_eq!(p50.verdict, Regressed, "{p50:?}");
        let change = p50.change.unwrap();
        assert!((0.03..0.05).contains(&change), "{change}");
    }

    #[test]
    fn thresholds_parse() {
        assert_eq!(parse_threshold("10%"), Ok(0.10));
        assert_eq!(parse_threshold("10"), Ok(0.10));
        assert_eq!(parse_threshold(" 7.5 % "), Ok(0.075));
        assert_eq!(parse_threshold("0.5%"), Ok(0.005));
        assert_eq!(parse_threshold("1"), Ok(0.01));
        assert_eq!(parse_threshold("999.9%"), Ok(9.999));
        for bad in [
            "", "%", "-5%", "0", "0%", "abc", "1e1", "inf", "NaN", "1.2.3", "1000%",
        ] {
            assert!(parse_threshold(bad).is_err(), "{bad}");
        }
        let ambiguous = parse_threshold("0.1").expect_err("ambiguous");
        assert!(
            ambiguous.contains("`0.1%`") && ambiguous.contains("`10%`"),
            "{ambiguous}"
        );
        assert!(
            parse_threshold("-5")
                .expect_err("negative")
                .contains("negative")
        );
    }
}
