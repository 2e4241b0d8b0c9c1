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

/// The report format version this build writes and reads.
pub const REPORT_VERSION: u32 = 1;

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
    /// p50 latency over the p50 of `direct_call` in the same run; absent without that baseline.
    pub ratio_to_floor: Option<f64>,
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
        "`{}` is a version {found} report, and this catga reads version {REPORT_VERSION}; \
         save a new baseline with `catga bench --save {}`",
        path.display(),
        path.display()
    )]
    Version { path: PathBuf, found: u32 },
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
        if version != REPORT_VERSION {
            return Err(ReportError::Version {
                path: path.to_path_buf(),
                found: version,
            });
        }
        serde_json::from_value(value).map_err(|error| parse(error.to_string()))
    }

    /// Reads and parses the report at `path`.
    pub fn load(path: &Path) -> Result<Report, ReportError> {
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

    /// The scenario named `name`.
    pub fn scenario(&self, name: &str) -> Option<&ScenarioReport> {
        self.scenarios.iter().find(|scenario| scenario.name == name)
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
            ratio_to_floor: None,
            rate_ops_s: None,
            samples: Vec::new(),
            histogram: encode_histogram(histogram),
        }
    }
}
