//! The saved report: a versioned, self-describing JSON document (`catga bench --save FILE`)
//! in the shape `DESIGN.md` fixes. Keys may be added in later versions; none is renamed.
//!
//! Latencies are nanoseconds as floating-point numbers, because batched operations cost a few
//! nanoseconds and whole nanoseconds would round their ratios away. Each scenario also keeps its
//! full HDR histogram (V2 + DEFLATE, base64: the format HdrHistogram's own tools read), whose
//! values are picoseconds ([`HISTOGRAM_UNIT`]), so percentiles can be recomputed and runs merged.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// The report format version this build writes.
///
/// Version 2 added each sample's CPU time and run-queue wait (`cpu_ns_per_op`, `wait_share`),
/// each scenario's `cpu_ns_per_op` and `instructions_per_op`; a version 1 report reads as one
/// without them.
pub const REPORT_VERSION: u32 = 2;

/// The report format versions this build reads.
pub const READABLE_VERSIONS: [u32; 2] = [1, 2];

/// The unit of the values recorded in every histogram: picoseconds.
pub const HISTOGRAM_UNIT: &str = "ps";

/// Picoseconds per nanosecond: histogram values divided by this are nanoseconds.
pub const PS_PER_NS: f64 = 1000.0;

/// One run of the harness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_VERSION`] when written by this build.
    pub version: u32,
    pub tool: Tool,
    pub env: Env,
    pub config: RunConfig,
    /// What timing one operation costs (two clock reads), measured at the start of the run.
    pub timer_overhead_ns: f64,
    pub scenarios: Vec<ScenarioReport>,
    /// Where `--profile` wrote this run's profiles, relative to the report's directory when
    /// inside it: a later `--compare` with `--profile` draws its differential flamegraphs
    /// against the stacks there (`crate::profile::files`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiles: Option<String>,
}

/// The program that wrote the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

/// Where the report was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Env {
    pub cpu: String,
    pub cores: usize,
    pub os: String,
    pub rustc: String,
    /// The commit of the working tree, when it is a git repository.
    pub git_sha: Option<String>,
    /// RFC 3339, UTC.
    pub timestamp: String,
}

/// How the run was configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Measured time per scenario, over all its samples.
    pub duration_ms: u64,
    /// Unmeasured time per scenario before its first sample.
    pub warmup_ms: u64,
    /// Independent measured slices per scenario.
    pub samples: u32,
    /// The open-loop arrival rate, for runs with `--rate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_ops_s: Option<f64>,
}

/// The figures of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    pub name: String,
    /// `runtime`, `baseline` or `project`.
    pub group: String,
    /// Operations in flight at once.
    pub concurrency: u32,
    /// Operations timed together as one measurement (1: each operation timed alone). A batched
    /// scenario's histogram holds per-operation means of each batch.
    pub batch: u32,
    /// Operations measured, over all samples.
    pub ops: u64,
    /// Measured wall time, over all samples.
    pub elapsed_ns: u64,
    pub throughput_ops_s: f64,
    pub latency_ns: Latency,
    /// Heap allocations per operation (counting allocator), and the bytes they asked for.
    pub allocs_per_op: f64,
    pub bytes_per_op: f64,
    /// CPU time of the process per operation, over all samples: what contention does not
    /// change. Absent in version 1 reports and where the clock is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ns_per_op: Option<f64>,
    /// Instructions per operation counted under callgrind (`--instructions`, version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions_per_op: Option<f64>,
    /// p50 latency over the p50 of `direct_call` in the same run; absent without that baseline.
    /// For a scenario with a [`throughput_floor`](Self::throughput_floor), that floor's
    /// throughput over this one's; with a [`p99_floor`](Self::p99_floor), this one's p99 over
    /// that floor's.
    pub ratio_to_floor: Option<f64>,
    /// The scenario of the same run whose throughput is this one's floor (version 2; absent:
    /// `direct_call`'s latency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_floor: Option<String>,
    /// The scenario of the same run, at the same rate, whose p99 latency is this one's floor
    /// (version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_floor: Option<String>,
    /// The open-loop arrival rate; absent for closed-loop scenarios. Latencies of an open-loop
    /// scenario are corrected for coordinated omission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_ops_s: Option<f64>,
    pub samples: Vec<Sample>,
    /// The latency histogram of all samples: HdrHistogram V2 + DEFLATE, base64, values in
    /// [`HISTOGRAM_UNIT`].
    pub histogram: String,
}

/// Latency percentiles, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    pub stdev: f64,
}

/// One independent measured slice of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub ops: u64,
    pub throughput_ops_s: f64,
    pub p50_ns: f64,
    pub p99_ns: f64,
    pub allocs_per_op: f64,
    /// CPU time of the process per operation in this sample (version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_ns_per_op: Option<f64>,
    /// Time the process's threads waited for a core, per second of the sample's wall time
    /// (version 2; Linux): 0 on an idle machine; how much of the wall time was the machine's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_share: Option<f64>,
}

impl Latency {
    /// The summary of a histogram whose values are picoseconds.
    pub fn of(histogram: &Histogram<u64>) -> Latency {
        let ns = |ps: u64| ps as f64 / PS_PER_NS;
        Latency {
            min: ns(histogram.min()),
            p50: ns(histogram.value_at_quantile(0.50)),
            p90: ns(histogram.value_at_quantile(0.90)),
            p99: ns(histogram.value_at_quantile(0.99)),
            p999: ns(histogram.value_at_quantile(0.999)),
            max: ns(histogram.max()),
            mean: histogram.mean() / PS_PER_NS,
            stdev: histogram.stdev() / PS_PER_NS,
        }
    }
}

/// Encodes a histogram as the report stores it.
pub fn encode_histogram(histogram: &Histogram<u64>) -> String {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(histogram, &mut bytes)
        .expect("serializing a histogram into memory cannot fail");
    BASE64.encode(bytes)
}

/// Decodes a histogram stored by [`encode_histogram`].
pub fn decode_histogram(encoded: &str) -> Result<Histogram<u64>, String> {
    let bytes = BASE64
        .decode(encoded.trim())
        .map_err(|error| format!("not base64: {error}"))?;
    Deserializer::new()
        .deserialize(&mut io::Cursor::new(bytes))
        .map_err(|error| format!("not an HdrHistogram V2 histogram: {error:?}"))
}

impl ScenarioReport {
    /// This scenario's histogram, decoded.
    pub fn decode_histogram(&self) -> Result<Histogram<u64>, String> {
        decode_histogram(&self.histogram)
    }
}

/// Why a report file could not be used. Each names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file does not exist or cannot be read.
    #[error(
        "cannot read the report `{}`: {source}; save one with `catga bench --save {}`",
        path.display(),
        path.display()
    )]
    Read { path: PathBuf, source: io::Error },
    /// The file is not JSON, or not a report.
    #[error(
        "`{}` is not a catga bench report: {message}; save a new one with \
         `catga bench --save {}`",
        path.display(),
        path.display()
    )]
    Parse { path: PathBuf, message: String },
    /// The file is a report of another format version.
    #[error(
        "`{}` is a version {found} report, and this catga reads versions 1 to {REPORT_VERSION}; \
         save a new baseline with this catga: `catga bench --save {}`",
        path.display(),
        path.display()
    )]
    Version { path: PathBuf, found: u32 },
    /// The path is a directory.
    #[error(
        "`{}` is a directory, not a report{listing}; pass the JSON file that \
         `catga bench --save FILE` wrote",
        path.display()
    )]
    Directory {
        path: PathBuf,

        /// `: it holds a.json, b.json` when the directory holds JSON files.
        listing: String,
    },
    /// The report could not be written.
    #[error("cannot write the report `{}`: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

impl Report {
    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }

    /// Parses a report, checking its version before anything else so that a report of another
    /// version gets a version error rather than a confusing missing-key one.
    pub fn from_json(path: &Path, text: &str) -> Result<Report, ReportError> {
        let parse = |message: String| ReportError::Parse {
            path: path.to_path_buf(),
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|error| parse(error.to_string()))?;
        let version = value
            .get("version")
            .ok_or_else(|| parse("it has no `version` key".to_owned()))?;
        let version = version
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| parse(format!("its `version` is {version}, not a number")))?;
        if !READABLE_VERSIONS.contains(&version) {
            return Err(ReportError::Version {
                path: path.to_path_buf(),
                found: version,
            });
        }
        serde_json::from_value(value).map_err(|error| parse(error.to_string()))
    }

    /// Reads and parses the report at `path`.
    pub fn load(path: &Path) -> Result<Report, ReportError> {
        if path.is_dir() {
            return Err(ReportError::Directory {
                path: path.to_path_buf(),
                listing: json_files_in(path),
            });
        }
        let text = fs::read_to_string(path).map_err(|source| ReportError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Report::from_json(path, &text)
    }

    /// Writes the report to `path` atomically: a reader sees the old file or the new one.
    pub fn save(&self, path: &Path) -> Result<(), ReportError> {
        crate::atomic_write(path, self.to_json().as_bytes()).map_err(|source| ReportError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Each scenario's batch, by name: what a run to compare with this report times its
    /// operations in ([`RunOptions::batches`](crate::RunOptions::batches)).
    pub fn batches(&self) -> std::collections::BTreeMap<String, u32> {
        self.scenarios
            .iter()
            .map(|scenario| (scenario.name.clone(), scenario.batch))
            .collect()
    }

    /// Runs of the same scenarios as one report: each scenario's samples in run order, its
    /// histogram the sum of the runs', its figures recomputed from the sums; the configuration
    /// is the first run's, with the samples counted. Every run must have the first's scenarios.
    pub fn merge_runs(runs: Vec<Report>) -> Result<Report, String> {
        let mut runs = runs.into_iter();
        let mut merged = runs.next().ok_or("no run to merge")?;
        let mut histograms = merged
            .scenarios
            .iter()
            .map(|s| decode_histogram(&s.histogram))
            .collect::<Result<Vec<Histogram<u64>>, String>>()?;
        for run in runs {
            for (scenario, histogram) in merged.scenarios.iter_mut().zip(&mut histograms) {
                let other = run
                    .scenario(&scenario.name)
                    .ok_or_else(|| format!("a run did not measure `{}`", scenario.name))?;
                histogram
                    .add(decode_histogram(&other.histogram)?)
                    .map_err(|error| {
                        format!(
                            "cannot merge the histograms of `{}`: {error:?}",
                            scenario.name
                        )
                    })?;
                add(scenario, other);
            }
        }
        for (scenario, histogram) in merged.scenarios.iter_mut().zip(&histograms) {
            scenario.latency_ns = Latency::of(histogram);
            scenario.histogram = encode_histogram(histogram);
        }
        set_ratios_to_floor(&mut merged.scenarios);
        merged.config.samples = merged
            .scenarios
            .first()
            .map_or(0, |s| s.samples.len() as u32);
        Ok(merged)
    }

    /// The scenario named `name`.
    pub fn scenario(&self, name: &str) -> Option<&ScenarioReport> {
        self.scenarios.iter().find(|scenario| scenario.name == name)
    }
}

/// Sets every scenario's `x floor`: its p50 over `direct_call`'s, or, for one with a
/// throughput floor, that floor's throughput over its own, or, for one with a p99 floor, its
/// p99 over the floor's. Absent when the floor was not run.
pub(crate) fn set_ratios_to_floor(scenarios: &mut [ScenarioReport]) {
    let find = |name: &str| scenarios.iter().find(|scenario| scenario.name == name);
    let latency_floor = find(crate::runner::FLOOR).map(|floor| floor.latency_ns.p50);
    let ratios: Vec<Option<f64>> = scenarios
        .iter()
        .map(|scenario| {
            if let Some(floor) = &scenario.throughput_floor {
                find(floor)
                    .filter(|_| scenario.throughput_ops_s > 0.0)
                    .map(|floor| floor.throughput_ops_s / scenario.throughput_ops_s)
            } else if let Some(floor) = &scenario.p99_floor {
                find(floor)
                    .filter(|floor| floor.latency_ns.p99 > 0.0)
                    .map(|floor| scenario.latency_ns.p99 / floor.latency_ns.p99)
            } else {
                latency_floor.map(|floor| scenario.latency_ns.p50 / floor)
            }
        })
        .collect();
    for (scenario, ratio) in scenarios.iter_mut().zip(ratios) {
        scenario.ratio_to_floor = ratio;
    }
}

/// Adds `other`'s measurement of the same scenario to `into`.
fn add(into: &mut ScenarioReport, other: &ScenarioReport) {
    let ops = into.ops + other.ops;
    let weighted = |a: f64, b: f64| {
        if ops == 0 {
            0.0
        } else {
            (a * into.ops as f64 + b * other.ops as f64) / ops as f64
        }
    };
    into.allocs_per_op = weighted(into.allocs_per_op, other.allocs_per_op);
    into.bytes_per_op = weighted(into.bytes_per_op, other.bytes_per_op);
    into.cpu_ns_per_op = into
        .cpu_ns_per_op
        .zip(other.cpu_ns_per_op)
        .map(|(a, b)| weighted(a, b));
    into.elapsed_ns += other.elapsed_ns;
    into.ops = ops;
    into.throughput_ops_s = ops as f64 / (into.elapsed_ns as f64 / 1e9);
    into.samples.extend(other.samples.iter().copied());
}

/// `: it holds a.json, b.json` for the JSON files in `dir` (sorted, at most five), or nothing.
fn json_files_in(dir: &Path) -> String {
    let mut names: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    match names.len() {
        0 => String::new(),
        n if n > 5 => format!(
            ": it holds {}, and {} more JSON files",
            names[..5].join(", "),
            n - 5
        ),
        _ => format!(": it holds {}", names.join(", ")),
    }
}

/// Reports and scenarios for the crate's tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// Where the test reports were "measured".
    pub(crate) fn env() -> Env {
        Env {
            cpu: "Test CPU @ 2.20GHz".to_owned(),
            cores: 2,
            os: "linux".to_owned(),
            rustc: "1.95.0".to_owned(),
            git_sha: Some("abc1234".to_owned()),
            timestamp: "2026-11-22T21:00:00Z".to_owned(),
        }
    }

    /// A report of `scenarios` with the default run configuration.
    pub(crate) fn report(scenarios: Vec<ScenarioReport>) -> Report {
        Report {
            version: REPORT_VERSION,
            tool: Tool {
                name: "catga".to_owned(),
                version: "0.1.0".to_owned(),
            },
            env: env(),
            config: RunConfig {
                duration_ms: 5000,
                warmup_ms: 1000,
                samples: 10,
                rate_ops_s: None,
            },
            timer_overhead_ns: 45.5,
            scenarios,
            profiles: None,
        }
    }

    /// A histogram of `values`, in picoseconds.
    pub(crate) fn histogram(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut histogram =
            Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds");
        for value in values {
            histogram.record(value).expect("in range");
        }
        histogram
    }

    /// A one-in-flight scenario whose figures all come from `histogram` (picoseconds).
    pub(crate) fn histogram_scenario(name: &str, histogram: &Histogram<u64>) -> ScenarioReport {
        ScenarioReport {
            name: name.to_owned(),
            group: "runtime".to_owned(),
            concurrency: 1,
            batch: 1,
            ops: histogram.len(),
            elapsed_ns: 1,
            throughput_ops_s: 1.0,
            latency_ns: Latency::of(histogram),
            allocs_per_op: 0.0,
            bytes_per_op: 0.0,
            cpu_ns_per_op: None,
            instructions_per_op: None,
            ratio_to_floor: None,
            throughput_floor: None,
            p99_floor: None,
            rate_ops_s: None,
            samples: Vec::new(),
            histogram: encode_histogram(histogram),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_merge_into_one_report_with_every_sample_in_order() {
        use crate::compare::tests::scenario;
        use fixtures::report;
        let run = |p50: f64| report(vec![scenario("s", &[(p50, 2.0 * p50, 1e6)], 1.0)]);
        let merged = Report::merge_runs(vec![run(100.0), run(110.0), run(90.0)]).unwrap();
        let s = merged.scenario("s").unwrap();
        let p50s: Vec<f64> = s.samples.iter().map(|sample| sample.p50_ns).collect();
        assert_eq!(p50s, [100.0, 110.0, 90.0]);
        assert_eq!(s.ops, 3000);
        assert_eq!(s.allocs_per_op, 1.0);
        assert_eq!(merged.config.samples, 3);
        let histogram = s.decode_histogram().unwrap();
        assert_eq!(
            histogram.len(),
            0,
            "the fixtures' histograms are empty, and so is their sum"
        );
        let missing = report(vec![]);
        let error = Report::merge_runs(vec![run(1.0), missing]).unwrap_err();
        assert!(error.contains("did not measure `s`"), "{error}");
    }

    #[test]
    fn a_version_1_report_reads_as_one_without_cpu_time() {
        let mut scenario = fixtures::histogram_scenario("a", &fixtures::histogram([1000, 2000]));
        scenario.samples.push(Sample {
            ops: 2,
            throughput_ops_s: 1.0,
            p50_ns: 1.0,
            p99_ns: 2.0,
            allocs_per_op: 0.0,
            cpu_ns_per_op: None,
            wait_share: None,
        });
        let mut report = fixtures::report(vec![scenario]);
        report.version = 1;
        let json = report.to_json();
        assert!(!json.contains("cpu_ns_per_op") && !json.contains("wait_share"));
        let read = Report::from_json(Path::new("old.json"), &json).unwrap();
        assert_eq!(read, report);
    }

    #[test]
    fn an_unknown_version_is_refused_saying_to_save_a_new_baseline() {
        let mut report = fixtures::report(vec![]);
        report.version = REPORT_VERSION + 1;
        let error = Report::from_json(Path::new("new.json"), &report.to_json()).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, ReportError::Version { .. }));
        assert!(message.contains("catga bench --save new.json"), "{message}");
    }

    #[test]
    fn a_directory_as_a_report_is_named_as_one_with_the_reports_in_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("baseline.json"), "{}").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "").unwrap();
        let message = Report::load(dir.path()).unwrap_err().to_string();
        assert!(
            message.contains("is a directory, not a report: it holds baseline.json;"),
            "{message}"
        );
        assert!(!message.contains("--save {}"), "{message}");
    }
}
