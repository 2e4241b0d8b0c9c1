//! Verdicts of a run against a saved baseline (`catga bench --compare BASELINE`).
//!
//! Scenarios are matched by name. For each scenario present in both reports, four metrics are
//! compared: `p50` and `p99` latency (lower is better), `throughput` (higher is better) and
//! `allocs` (heap allocations per operation, lower is better). The baseline and current figures
//! shown are the scenarios' summary figures; the verdicts come from the per-sample figures.
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
//! keeps only the regressions that show again ([`Comparison::confirm`]); the others are
//! reported as **unconfirmed**. The samples of one run share the machine's state of that
//! moment, so a shared machine that runs a fifth slower for a minute can push a whole run past
//! the threshold with a narrow interval; a second measurement rarely meets the same stretch,
//! and a real regression is in the code, so it shows both times.
//!
//! # Allocations
//!
//! Allocations per operation are exact counts, not timings, and are decided without the threshold
//! or the samples: `allocs` regressed when the current figure exceeds the baseline by more than
//! 0.01 (one allocation per hundred operations, which absorbs the rounding of a per-operation
//! mean), and improved when it is lower by more than 0.01.

use std::fmt;

use serde::Serialize;

use crate::report::{Env, Report, Sample, ScenarioReport};

/// The smallest difference in allocations per operation that counts as a change: one allocation
/// per hundred operations.
pub const ALLOCS_TOLERANCE: f64 = 0.01;

/// The fewest usable samples on each side for a timing verdict.
pub const MIN_SAMPLES: usize = 3;

/// How strict the comparison is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CompareOptions {
    /// The smallest relative change of a timing metric that can count as a regression or an
    /// improvement, as a fraction (0.10 is 10%).
    pub threshold: f64,
    /// The confidence of the intervals of the timing changes, as a fraction (0.99 is 99%).
    pub confidence: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            threshold: 0.10,
            confidence: 0.99,
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
    /// Heap allocations per operation; lower is better. Exact, not timed.
    Allocs,
}

impl Metric {
    /// Every metric, in the order comparisons list them.
    pub const ALL: [Metric; 4] = [Metric::P50, Metric::P99, Metric::Throughput, Metric::Allocs];

    /// The name used in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P99 => "p99",
            Metric::Throughput => "throughput",
            Metric::Allocs => "allocs",
        }
    }

    /// Whether a larger value is an improvement.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Throughput)
    }

    /// Whether the metric is a timing, decided from the samples against the noise.
    pub fn is_timing(self) -> bool {
        !matches!(self, Metric::Allocs)
    }

    fn summary(self, scenario: &ScenarioReport) -> f64 {
        match self {
            Metric::P50 => scenario.latency_ns.p50,
            Metric::P99 => scenario.latency_ns.p99,
            Metric::Throughput => scenario.throughput_ops_s,
            Metric::Allocs => scenario.allocs_per_op,
        }
    }

    fn sample(self, sample: &Sample) -> f64 {
        match self {
            Metric::P50 => sample.p50_ns,
            Metric::P99 => sample.p99_ns,
            Metric::Throughput => sample.throughput_ops_s,
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
        }
    }
}

impl fmt::Display for Verdict {
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
}

impl MetricComparison {
    /// Whether a timing metric lacked the samples for a verdict.
    pub fn too_few_samples(&self) -> bool {
        self.metric.is_timing() && self.interval.is_none()
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
    /// One entry per [`Metric`], in [`Metric::ALL`] order.
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

    /// The scenarios with a regressed metric: what to measure again to confirm them.
    pub fn regressed_scenarios(&self) -> Vec<String> {
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
                if metric.verdict == Verdict::Regressed && !reproduced {
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
            Some(base) => scenarios.push(compare_scenario(base, scenario, options)),
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

fn compare_scenario(
    baseline: &ScenarioReport,
    current: &ScenarioReport,
    options: &CompareOptions,
) -> ScenarioComparison {
    let metrics = Metric::ALL
        .iter()
        .map(|&metric| {
            if metric.is_timing() {
                compare_timing(metric, baseline, current, options)
            } else {
                compare_allocs(baseline, current)
            }
        })
        .collect();
    let mut metrics: Vec<MetricComparison> = metrics;
    if current.group == REFERENCE_GROUP {
        for metric in &mut metrics {
            if metric.verdict != Verdict::Unchanged {
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

fn compare_allocs(baseline: &ScenarioReport, current: &ScenarioReport) -> MetricComparison {
    let (base, cur) = (baseline.allocs_per_op, current.allocs_per_op);
    // The tiny slack keeps `1.01 - 1.00` (0.010000000000000009 in binary) from counting.
    let tolerance = ALLOCS_TOLERANCE + 1e-9;
    let verdict = if cur - base > tolerance {
        Verdict::Regressed
    } else if base - cur > tolerance {
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
    }
}

/// `current / baseline - 1`, when both are positive finite numbers.
fn relative(baseline: f64, current: f64) -> Option<f64> {
    let usable = |v: f64| v.is_finite() && v >= 0.0;
    (usable(baseline) && usable(current) && baseline > 0.0).then(|| current / baseline - 1.0)
}

fn compare_timing(
    metric: Metric,
    baseline: &ScenarioReport,
    current: &ScenarioReport,
    options: &CompareOptions,
) -> MetricComparison {
    let logs = |scenario: &ScenarioReport| -> Vec<f64> {
        scenario
            .samples
            .iter()
            .map(|sample| metric.sample(sample))
            .filter(|value| value.is_finite() && *value > 0.0)
            .map(f64::ln)
            .collect()
    };
    let (base_logs, cur_logs) = (logs(baseline), logs(current));
    let base_value = metric.summary(baseline);
    let cur_value = metric.summary(current);
    let samples = [base_logs.len(), cur_logs.len()];

    let estimate = shift_estimate(&base_logs, &cur_logs, options.confidence);
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
            ratio_to_floor: Some(4.1),
            rate_ops_s: None,
            samples: samples
                .iter()
                .map(|&(p50_ns, p99_ns, throughput_ops_s)| Sample {
                    ops: 1000,
                    throughput_ops_s,
                    p50_ns,
                    p99_ns,
                    allocs_per_op,
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
        let verdicts: Vec<_> = comparison.scenarios[0]
            .metrics
            .iter()
            .map(|m| m.verdict)
            .collect();
        assert_eq!(verdicts, [Regressed, Regressed, Unchanged, Unchanged]);
    }

    #[test]
    fn invalid_options_are_rejected() {
        let samples = vec![(100.0, 400.0, 1e6); 5];
        let r = report(vec![scenario("a", &samples, 0.0)]);
        for options in [
            CompareOptions {
                threshold: 0.0,
                confidence: 0.99,
            },
            CompareOptions {
                threshold: f64::NAN,
                confidence: 0.99,
            },
            CompareOptions {
                threshold: 0.1,
                confidence: 1.0,
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
