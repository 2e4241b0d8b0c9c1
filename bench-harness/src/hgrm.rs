//! HdrHistogram percentile-distribution files (`catga bench --hgrm DIR`): the text that Java's
//! `AbstractHistogram.outputPercentileDistribution` prints, byte for byte, so the HdrHistogram
//! plotter (hdrhistogram.github.io/HdrHistogram/plotFiles.html) and other `.hgrm` tools read it.
//!
//! The report's histograms record picoseconds; [`write_dir`] scales them by [`PS_PER_NS`], so
//! the Value column reads as nanoseconds. Nothing says so in the file: the plotter expects the
//! header as the first line.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

use crate::report::{PS_PER_NS, Report};

/// Percentile reporting ticks per half distance to 100%: what Java's tools and the plotter use.
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// Why the `.hgrm` files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum HgrmError {
    /// The output directory could not be created.
    #[error("cannot create the directory `{}` for the .hgrm files: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the file system said.
        source: io::Error,
    },
    /// A scenario's histogram is not a valid encoded histogram.
    #[error(
        "the histogram of scenario `{scenario}` cannot be decoded ({message}); \
         the report is damaged, run the benchmark again"
    )]
    Decode {
        /// The scenario's name.
        scenario: String,
        /// What is wrong with the histogram.
        message: String,
    },
    /// Two scenario names map to the same file name once sanitized.
    #[error(
        "scenarios `{first}` and `{second}` would both be written to `{file}`; \
         rename one of them (names are made of a-z, 0-9 and _)"
    )]
    NameClash {
        /// The scenario seen first.
        first: String,
        /// The scenario seen second.
        second: String,
        /// The file name both map to.
        file: String,
    },
    /// A file could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        source: io::Error,
    },
}

/// The percentile distribution of `histogram` in the `.hgrm` text format, with values divided by
/// `value_scale` (Java's `outputValueUnitScalingRatio`) and 5 ticks per half distance.
///
/// Matches Java's output: the values are the highest equivalent value of each step, printed with
/// as many decimals as the histogram has significant digits; the percentile column is the
/// iteration level, not the exact quantile of the value; the last row (100%) has no
/// `1/(1-Percentile)` column. An empty histogram gives the header and the footer only.
pub fn percentile_distribution(histogram: &Histogram<u64>, value_scale: f64) -> String {
    let decimals = usize::from(histogram.sigfig());
    let value = |v: f64| java_fixed(v, decimals);
    let mut out = String::new();
    // `write!` into a String cannot fail; the results are ignored for that reason.
    let _ = write!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    for step in percentile_steps(histogram, TICKS_PER_HALF_DISTANCE) {
        let fraction = step.level / 100.0;
        let shown = value(step.value as f64 / value_scale);
        if step.level == 100.0 {
            let _ = writeln!(
                out,
                "{shown:>12} {:>2} {:>10}",
                java_fixed(fraction, 12),
                step.total_count
            );
        } else {
            let _ = writeln!(
                out,
                "{shown:>12} {:>2} {:>10} {:>14}",
                java_fixed(fraction, 12),
                step.total_count,
                java_fixed(1.0 / (1.0 - fraction), 2)
            );
        }
    }
    let (mean, stdev) = java_mean_stdev(histogram);
    // Java's getMaxValue is 0 for an empty histogram.
    let max = if histogram.is_empty() {
        0
    } else {
        histogram.max()
    };
    let _ = writeln!(
        out,
        "#[Mean    = {:>12}, StdDeviation   = {:>12}]",
        value(mean / value_scale),
        value(stdev / value_scale)
    );
    let _ = writeln!(
        out,
        "#[Max     = {:>12}, Total count    = {:>12}]",
        value(max as f64 / value_scale),
        histogram.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        histogram.buckets(),
        sub_bucket_count(histogram.sigfig())
    );
    out
}

/// Writes one `<scenario>.hgrm` per scenario of `report` into `dir` (created if missing), values
/// in nanoseconds, and returns the paths written, in the report's scenario order.
///
/// Every histogram is decoded before the first file is written, so a damaged report leaves the
/// directory as it was. Each file is written atomically.
pub fn write_dir(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, HgrmError> {
    let mut files = Vec::with_capacity(report.scenarios.len());
    let mut owners: HashMap<String, &str> = HashMap::new();
    for scenario in &report.scenarios {
        let histogram = scenario
            .decode_histogram()
            .map_err(|message| HgrmError::Decode {
                scenario: scenario.name.clone(),
                message,
            })?;
        let file = format!("{}.hgrm", sanitize(&scenario.name));
        if let Some(first) = owners.insert(file.clone(), &scenario.name) {
            return Err(HgrmError::NameClash {
                first: first.to_owned(),
                second: scenario.name.clone(),
                file,
            });
        }
        files.push((
            dir.join(file),
            percentile_distribution(&histogram, PS_PER_NS),
        ));
    }
    fs::create_dir_all(dir).map_err(|source| HgrmError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::with_capacity(files.len());
    for (path, text) in files {
        crate::atomic_write(&path, text.as_bytes()).map_err(|source| HgrmError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// A scenario name as a file stem: `[a-z0-9_]` kept, anything else `_`, so a name can never
/// climb out of the directory or hide the file.
pub(crate) fn sanitize(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' => c,
            _ => '_',
        })
        .collect();
    if stem.is_empty() {
        "_".to_owned()
    } else {
        stem
    }
}

/// One row of the distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Step {
    /// The highest value equivalent to the bucket the step stopped at.
    value: u64,
    /// The percentile level iterated to, in 0..=100.
    level: f64,
    /// Values recorded up to and including this bucket.
    total_count: u64,
}

/// Java's `PercentileIterator`, step for step. The Rust crate's `iter_quantiles` walks the same
/// levels but in quantiles (0..1) with `log2`, and `0.1 + 0.2` style rounding then decides some
/// `>=` comparisons differently (a bucket at exactly 30% is not "reached" at level
/// 0.30000000000000004), so its rows can differ from Java's at exact boundaries. Doing Java's
/// arithmetic in percent keeps the files identical to what Java prints.
fn percentile_steps(histogram: &Histogram<u64>, ticks_per_half_distance: u32) -> Vec<Step> {
    let total = histogram.len();
    let mut steps = Vec::new();
    if total == 0 {
        return steps;
    }
    let mut level = 0.0_f64;
    let mut running = 0_u64;
    for bucket in histogram.iter_recorded() {
        running = running.saturating_add(bucket.count_at_value());
        let value = bucket.value_iterated_to();
        let percentile = (100.0 * running as f64) / total as f64;
        while percentile >= level {
            if level < 100.0 {
                steps.push(Step {
                    value,
                    level,
                    total_count: running,
                });
            }
            if running >= total {
                // Java's `hasNext` adds one last step to 100% once every value is counted, and
                // skips the levels between.
                steps.push(Step {
                    value,
                    level: 100.0,
                    total_count: running,
                });
                return steps;
            }
            level = next_level(level, ticks_per_half_distance);
        }
    }
    steps
}

/// Java's `PercentileIterator.incrementIterationLevel`: fixed-size ticks within each half of
/// the remaining distance to 100%.
fn next_level(level: f64, ticks_per_half_distance: u32) -> f64 {
    let halvings = ((100.0 / (100.0 - level)).ln() / 2.0_f64.ln()) as i32;
    let ticks = f64::from(ticks_per_half_distance) * 2.0_f64.powi(halvings.saturating_add(1));
    let next = level + 100.0 / ticks;
    // Java would loop forever once the tick no longer changes the level (beyond ~10^15
    // values); jump to 100% instead, as the Rust crate does.
    if next == level { 100.0 } else { next }
}

/// Java's `getMean` and `getStdDeviation`, in the same order of operations (the Rust crate
/// divides each term by the count, which rounds differently).
fn java_mean_stdev(histogram: &Histogram<u64>) -> (f64, f64) {
    let total = histogram.len();
    if total == 0 {
        return (0.0, 0.0);
    }
    let mut sum = 0.0_f64;
    for bucket in histogram.iter_recorded() {
        let median = histogram.median_equivalent(bucket.value_iterated_to()) as f64;
        sum += median * bucket.count_at_value() as f64;
    }
    let mean = sum / total as f64;
    let mut deviations = 0.0_f64;
    for bucket in histogram.iter_recorded() {
        let deviation = histogram.median_equivalent(bucket.value_iterated_to()) as f64 - mean;
        deviations += deviation * deviation * bucket.count_since_last_iteration() as f64;
    }
    (mean, (deviations / total as f64).sqrt())
}

/// Java's `subBucketCount`: the power of two that gives unit resolution up to
/// `2 * 10^sigfig`. (The Rust crate keeps it private.)
fn sub_bucket_count(sigfig: u8) -> u64 {
    (2 * 10_u64.pow(u32::from(sigfig))).next_power_of_two()
}

/// `value` printed like Java's `%.{decimals}f`: Java rounds the shortest decimal that
/// round-trips (what `Double.toString` shows) half up, where Rust's `{:.N}` rounds the exact
/// binary value; the two differ on ties such as 0.125 at two decimals.
fn java_fixed(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            "NaN".to_owned()
        } else if value > 0.0 {
            "Infinity".to_owned()
        } else {
            "-Infinity".to_owned()
        };
    }
    let negative = value.is_sign_negative();
    // `{:e}` prints the shortest round-trip digits: `d.ddd e exp`.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|d| d - b'0')
        .collect();
    // The decimal point sits after `point` digits (negative: leading zeros first).
    let mut point = exponent + 1;
    let decimals_i = i64::try_from(decimals).unwrap_or(i64::MAX);
    let keep = point.saturating_add(decimals_i);
    if keep < 0 {
        digits.clear();
    } else if let Ok(keep) = usize::try_from(keep)
        && keep < digits.len()
    {
        let round_up = digits[keep] >= 5;
        digits.truncate(keep);
        if round_up {
            let mut i = digits.len();
            loop {
                if i == 0 {
                    digits.insert(0, 1);
                    point += 1;
                    break;
                }
                i -= 1;
                if digits[i] == 9 {
                    digits[i] = 0;
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
    }
    let digit_at = |position: i64| -> char {
        usize::try_from(position)
            .ok()
            .and_then(|p| digits.get(p))
            .map_or('0', |d| char::from(b'0' + d))
    };
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if point <= 0 {
        out.push('0');
    } else {
        (0..point).for_each(|p| out.push(digit_at(p)));
    }
    if decimals > 0 {
        out.push('.');
        (point..point + decimals_i).for_each(|p| out.push(digit_at(p)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of a file: (value, percentile, total count, 1/(1-p) if present).
    fn rows(text: &str) -> Vec<(f64, f64, u64, Option<f64>)> {
        text.lines()
            .skip(2)
            .take_while(|line| !line.starts_with('#'))
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                (
                    fields[0].parse().expect("value"),
                    fields[1].parse().expect("percentile"),
                    fields[2].parse().expect("count"),
                    fields.get(3).map(|f| f.parse().expect("inverse")),
                )
            })
            .collect()
    }

    use crate::report::fixtures::histogram;

    #[test]
    fn matches_the_java_output_for_a_known_histogram() {
        // The expected text of a port of Java's test data (values 100, 200, 250, 600,
        // scaling ratio 1).
        let expected = "       Value     Percentile TotalCount 1/(1-Percentile)

     100.000 0.000000000000          1           1.00
     100.000 0.100000000000          1           1.11
     100.000 0.200000000000          1           1.25
     200.000 0.300000000000          2           1.43
     200.000 0.400000000000          2           1.67
     200.000 0.500000000000          2           2.00
     250.000 0.550000000000          3           2.22
     250.000 0.600000000000          3           2.50
     250.000 0.650000000000          3           2.86
     250.000 0.700000000000          3           3.33
     250.000 0.750000000000          3           4.00
     600.000 0.775000000000          4           4.44
     600.000 1.000000000000          4
#[Mean    =      287.500, StdDeviation   =      188.331]
#[Max     =      600.000, Total count    =            4]
#[Buckets =           32, SubBuckets     =         2048]
";
        let text = percentile_distribution(&histogram([100, 200, 250, 600]), 1.0);
        assert_eq!(text, expected);
    }

    #[test]
    fn rows_have_java_column_widths() {
        let text = percentile_distribution(&histogram(1..=10_000), PS_PER_NS);
        assert!(text.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)\n\n"));
        let lines: Vec<&str> = text
            .lines()
            .skip(2)
            .filter(|l| !l.starts_with('#'))
            .collect();
        let (last, body) = lines.split_last().expect("rows");
        for line in body {
            // %12.3f, space, %2.12f (14 wide), space, %10d, space, %14.2f.
            assert_eq!(line.len(), 12 + 1 + 14 + 1 + 10 + 1 + 14, "{line:?}");
            assert_eq!(&line[13..15], "0.", "{line:?}");
            assert_eq!(line[13..27].split('.').nth(1).map(str::len), Some(12));
            assert_eq!(line[12..13], *" ");
        }
        assert_eq!(last.len(), 12 + 1 + 14 + 1 + 10, "{last:?}");
        assert_eq!(
            *last, "      10.007 1.000000000000      10000",
            "highest equivalent value of 10000 ps, in ns"
        );
        // First row: the lowest value, level 0, one value counted.
        assert_eq!(
            lines[0],
            "       0.001 0.000000000000          1           1.00"
        );
    }

    #[test]
    fn footer_is_exact() {
        let h = histogram(1..=10_000);
        let text = percentile_distribution(&h, PS_PER_NS);
        let footer: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(
            footer,
            [
                // Bucket medians sit half a picosecond above the values above 2048 ps.
                "#[Mean    =        5.001, StdDeviation   =        2.887]",
                "#[Max     =       10.007, Total count    =        10000]",
                "#[Buckets =           32, SubBuckets     =         2048]",
            ]
        );
        assert!(text.ends_with("2048]\n"));
    }

    #[test]
    fn percentiles_counts_and_values_never_decrease() {
        let h = histogram((1..=5_000).map(|v| v * v % 1_000_003 + 1));
        let rows = rows(&percentile_distribution(&h, PS_PER_NS));
        assert!(rows.len() > 20);
        for pair in rows.windows(2) {
            assert!(pair[0].0 <= pair[1].0, "{pair:?}");
            assert!(pair[0].1 <= pair[1].1, "{pair:?}");
            assert!(pair[0].2 <= pair[1].2, "{pair:?}");
        }
        let last = rows.last().expect("rows");
        assert_eq!((last.1, last.2, last.3), (1.0, 5_000, None));
        assert!(rows[..rows.len() - 1].iter().all(|row| row.3.is_some()));
        assert_eq!(last.0, h.max() as f64 / PS_PER_NS);
    }

    #[test]
    fn empty_histogram_has_header_and_footer_only() {
        let text = percentile_distribution(&histogram([]), PS_PER_NS);
        assert_eq!(
            text,
            "       Value     Percentile TotalCount 1/(1-Percentile)\n\n\
             #[Mean    =        0.000, StdDeviation   =        0.000]\n\
             #[Max     =        0.000, Total count    =            0]\n\
             #[Buckets =           32, SubBuckets     =         2048]\n"
        );
    }

    #[test]
    fn single_value_gives_first_and_last_rows() {
        let text = percentile_distribution(&histogram([1_500]), PS_PER_NS);
        assert_eq!(
            rows(&text),
            [(1.5, 0.0, 1, Some(1.0)), (1.5, 1.0, 1, None)],
            "{text}"
        );
    }

    #[test]
    fn round_trip_rows_agree_with_value_at_quantile() {
        let h = histogram((1..=100_000).map(|v| (v * 7_919) % 2_000_000 + 100));
        let rows = rows(&percentile_distribution(&h, PS_PER_NS));
        for target in [0.5, 0.99] {
            // Levels step by fixed ticks, so "the p99 row" is the first at or above 99%
            // (99.0625% with 5 ticks per half distance).
            let row = rows
                .iter()
                .find(|row| row.1 >= target)
                .expect("a row at or above this level");
            assert!(row.1 - target < 0.002, "{row:?}");
            // The row's value is the highest equivalent of the bucket where the count first
            // reaches the level, which is what value_at_quantile returns.
            assert_eq!(
                row.0,
                h.value_at_quantile(row.1) as f64 / PS_PER_NS,
                "{target}"
            );
            assert!(row.2 as f64 >= row.1 * h.len() as f64);
        }
    }

    #[test]
    fn steps_match_the_crates_iterator_away_from_exact_boundaries() {
        // Levels whose quantile is not an exact binary fraction make `>=` differ between Java's
        // percent arithmetic and the crate's quantile arithmetic only at exact boundaries;
        // here (an odd count) no bucket ends exactly on a level.
        let h = histogram((1..=9_999).map(|v| v * 3));
        let ours = percentile_steps(&h, 5);
        let theirs: Vec<(u64, f64)> = h
            .iter_quantiles(5)
            .map(|v| (v.value_iterated_to(), v.quantile_iterated_to()))
            .collect();
        assert_eq!(ours.len(), theirs.len());
        for (step, (value, quantile)) in ours.iter().zip(&theirs) {
            assert_eq!(step.value, *value);
            assert!((step.level / 100.0 - quantile).abs() < 1e-9);
        }
    }

    #[test]
    fn exact_boundaries_are_reached_as_in_java() {
        // 3 of 10 values is exactly 30%: Java's level 10 + 10 + 10 is reached at value 3; the
        // crate's 0.1 + 0.1 + 0.1 = 0.30000000000000004 is not, and it reports value 4.
        let h = histogram(1..=10);
        let rows = rows(&percentile_distribution(&h, 1.0));
        assert_eq!(rows[3], (3.0, 0.3, 3, Some(1.43)));
        assert_eq!(rows[7], (6.0, 0.6, 6, Some(2.5)));
        let crate_value = h
            .iter_quantiles(5)
            .nth(3)
            .map(|v| v.value_iterated_to())
            .expect("a fourth step");
        assert_eq!(crate_value, 4);
    }

    #[test]
    fn java_fixed_rounds_like_java() {
        assert_eq!(java_fixed(0.125, 2), "0.13");
        assert_eq!(java_fixed(2.675, 2), "2.68");
        assert_eq!(java_fixed(1.0005, 3), "1.001");
        assert_eq!(java_fixed(9.9996, 3), "10.000");
        assert_eq!(java_fixed(0.0004, 3), "0.000");
        assert_eq!(java_fixed(0.0005, 3), "0.001");
        assert_eq!(java_fixed(0.00004, 3), "0.000");
        assert_eq!(java_fixed(123_456_789.0, 0), "123456789");
        assert_eq!(java_fixed(0.0, 3), "0.000");
        assert_eq!(java_fixed(1e21, 1), "1000000000000000000000.0");
        assert_eq!(java_fixed(1.0 / 3.0, 12), "0.333333333333");
        assert_eq!(java_fixed(f64::INFINITY, 2), "Infinity");
    }

    #[test]
    fn sub_buckets_follow_java() {
        assert_eq!(sub_bucket_count(0), 2);
        assert_eq!(sub_bucket_count(1), 32);
        assert_eq!(sub_bucket_count(2), 256);
        assert_eq!(sub_bucket_count(3), 2048);
        assert_eq!(sub_bucket_count(5), 262_144);
    }

    #[test]
    fn sanitizes_names() {
        assert_eq!(sanitize("send_command"), "send_command");
        assert_eq!(sanitize("../a b/C"), "___a_b__");
        assert_eq!(sanitize(""), "_");
    }

    mod files {
        use super::*;
        use crate::report::fixtures::{histogram_scenario as scenario, report};

        #[test]
        fn writes_one_file_per_scenario_in_ns() {
            let dir = tempfile::tempdir().expect("temp dir");
            let out = dir.path().join("nested").join("hgrm");
            let h = histogram(1..=1_000);
            let report = report(vec![scenario("send_command", &h), scenario("a/b", &h)]);
            let written = write_dir(&report, &out).expect("written");
            assert_eq!(
                written,
                [out.join("send_command.hgrm"), out.join("a_b.hgrm")]
            );
            let text = fs::read_to_string(&written[0]).expect("readable");
            // The histogram survives the report's encoding, so the file is the direct output.
            assert_eq!(text, percentile_distribution(&h, PS_PER_NS));
            assert!(text.contains("       1.000 1.000000000000       1000\n"));
        }

        #[test]
        fn undecodable_histogram_names_the_scenario_and_writes_nothing() {
            let dir = tempfile::tempdir().expect("temp dir");
            let out = dir.path().join("hgrm");
            let mut broken = scenario("broken_one", &histogram([1]));
            broken.histogram = "not a histogram!".to_owned();
            let report = report(vec![scenario("fine", &histogram([1])), broken]);
            let error = write_dir(&report, &out).expect_err("must fail");
            assert!(error.to_string().contains("`broken_one`"), "{error}");
            assert!(!out.exists());
        }

        #[test]
        fn clashing_names_are_an_error() {
            let dir = tempfile::tempdir().expect("temp dir");
            let h = histogram([1]);
            let report = report(vec![scenario("a-b", &h), scenario("a.b", &h)]);
            let error = write_dir(&report, dir.path()).expect_err("must fail");
            assert!(matches!(error, HgrmError::NameClash { .. }), "{error}");
        }
    }
}
