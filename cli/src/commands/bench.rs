//! `catga bench`: run the benchmark scenarios, print their figures, save them, and compare
//! them with a saved baseline (exit 1 on a regression).
//!
//! The scenarios are catga's built-in suite, or, inside a project whose catga.toml names a
//! bench target (`[bench] target`), that target's (see [`suite`]).
//!
//! Everything that can be checked before the run is: a baseline that cannot be used, a glob
//! that selects nothing, or a bad duration stops the command at once with exit 2, not after
//! minutes of measuring (or of building the project).

use std::path::PathBuf;
use std::time::Duration;

use catga_bench::compare::{self, CompareOptions, Comparison};
use catga_bench::project::ScenarioInfo;
use catga_bench::report::{Report, Tool};
use catga_bench::{RunOptions, hgrm, plot, render};
use clap::{Args, ValueEnum};
use globset::{Glob, GlobMatcher};

use crate::{CommandResult, Outcome, terminal};

mod suite;

use suite::Suite;

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Run only the scenarios whose name matches this glob (e.g. `send_*`)
    #[arg(long, value_name = "GLOB")]
    pub(crate) scenario: Option<String>,

    /// Measured time per scenario, over all its samples (e.g. `5s`, `500ms`)
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "TIME")]
    pub(crate) duration: Duration,

    /// Unmeasured warm-up per scenario
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "TIME")]
    pub(crate) warmup: Duration,

    /// Independent measured slices per scenario; the comparison weighs changes against their
    /// spread
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) samples: u32,

    /// Issue operations at this many per second (open loop, latencies corrected for
    /// coordinated omission) instead of back to back; applies to one-in-flight scenarios
    #[arg(long, value_parser = parse_rate, value_name = "OPS_PER_SEC")]
    pub(crate) rate: Option<f64>,

    /// Save the report (versioned JSON) to FILE
    #[arg(long, value_name = "FILE")]
    pub(crate) save: Option<PathBuf>,

    /// Compare with a saved report; exit 1 when a scenario regressed
    #[arg(long, value_name = "BASELINE")]
    pub(crate) compare: Option<PathBuf>,

    /// Smallest change that counts as a regression or an improvement (e.g. `10%`)
    #[arg(long, default_value = "10%", value_name = "PERCENT")]
    pub(crate) threshold: String,

    /// Output format
    #[arg(long, value_enum, default_value_t = BenchFormat::Human, value_name = "FORMAT")]
    pub(crate) format: BenchFormat,

    /// Write one HdrHistogram percentile-distribution file (`.hgrm`) per scenario into DIR
    #[arg(long, value_name = "DIR")]
    pub(crate) hgrm: Option<PathBuf>,

    /// Draw latency by percentile (against the baseline when comparing) into an SVG file
    #[arg(long, value_name = "FILE.svg")]
    pub(crate) plot: Option<PathBuf>,

    /// Report every regression of the run, without measuring the regressed scenarios again to
    /// confirm them
    #[arg(long)]
    pub(crate) no_confirm: bool,

    /// List the scenarios and exit
    #[arg(long)]
    pub(crate) list: bool,

    /// Run catga's built-in scenarios even inside a project whose catga.toml names a bench
    /// target
    #[arg(long)]
    pub(crate) builtin: bool,

    /// No progress bars
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

/// `catga bench --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BenchFormat {
    /// Aligned tables
    Human,
    /// The report (and the comparison, when comparing) as JSON
    Json,
    /// Tables for a pull-request comment
    Markdown,
}

pub(crate) fn run(args: &BenchArgs) -> CommandResult {
    let matcher = args.scenario.as_deref().map(compile_glob).transpose()?;
    if args.list {
        let suite = suite::open(args.builtin)?;
        let names: String = select(suite.as_ref(), matcher.as_ref())?
            .iter()
            .map(|s| format!("{:<24} {}\n", s.name, s.group))
            .collect();
        terminal::print(&names)?;
        // On stderr: stdout stays one scenario a line, for scripts.
        if let Some(note) = suite.absent_note() {
            terminal::eprint(&format!("note: {note}\n"));
        }
        return Ok(Outcome::Clean);
    }
    // What can be checked without measuring (or building a project) is, first.
    let threshold = compare::parse_threshold(&args.threshold)
        .map_err(|message| format!("invalid `--threshold {}`: {message}", args.threshold))?;
    let compare_options = CompareOptions {
        threshold,
        ..CompareOptions::default()
    };
    let baseline = args.compare.as_deref().map(Report::load).transpose()?;
    let suite = suite::open(args.builtin)?;
    let names: Vec<String> = select(suite.as_ref(), matcher.as_ref())?
        .into_iter()
        .map(|scenario| scenario.name.clone())
        .collect();

    let options = RunOptions {
        duration: args.duration,
        warmup: args.warmup,
        samples: args.samples,
        rate: args.rate,
        quiet: args.quiet,
    };
    let tool = Tool {
        name: "catga".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let report = suite.measure(&names, &options, &tool)?;

    if let Some(path) = &args.save {
        report.save(path)?;
    }
    if let Some(dir) = &args.hgrm {
        hgrm::write_dir(&report, dir)?;
    }
    if let Some(path) = &args.plot {
        let svg = plot::plot_svg(&report, baseline.as_ref())?;
        catga_bench::atomic_write(path, svg.as_bytes())
            .map_err(|error| format!("cannot write the plot `{}`: {error}", path.display()))?;
    }

    let mut comparison = baseline
        .as_ref()
        .map(|baseline| compare::compare(baseline, &report, &compare_options))
        .transpose()?;
    if let (Some(baseline), Some(comparison)) = (&baseline, &mut comparison)
        && !args.no_confirm
        && comparison.has_regressions()
    {
        confirm(
            comparison,
            baseline,
            suite.as_ref(),
            &options,
            &tool,
            args.quiet,
        )?;
    }
    let text = match (args.format, &comparison) {
        (BenchFormat::Human, None) => render::report_human(&report),
        (BenchFormat::Human, Some(comparison)) => format!(
            "{}\n{}",
            render::report_human(&report),
            render::comparison_human(comparison, &compare_options)
        ),
        (BenchFormat::Markdown, None) => render::report_markdown(&report),
        (BenchFormat::Markdown, Some(comparison)) => {
            render::comparison_markdown(comparison, &compare_options)
        }
        (BenchFormat::Json, None) => report.to_json() + "\n",
        (BenchFormat::Json, Some(comparison)) => {
            let both = serde_json::json!({ "report": report, "comparison": comparison });
            serde_json::to_string_pretty(&both)? + "\n"
        }
    };
    terminal::print(&text)?;
    Ok(match comparison {
        Some(comparison) if comparison.has_regressions() => Outcome::Findings,
        _ => Outcome::Clean,
    })
}

/// Measures the regressed scenarios again and keeps only the regressions that show twice.
fn confirm(
    comparison: &mut Comparison,
    baseline: &Report,
    suite: &dyn Suite,
    options: &RunOptions,
    tool: &Tool,
    quiet: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let names = comparison.regressed_scenarios();
    if !quiet {
        terminal::eprint(&format!(
            "Measuring again to confirm the regressions of: {}\n",
            names.join(", ")
        ));
    }
    // In the suite's order, and only names it has: a baseline's scenario may be gone.
    let again: Vec<String> = suite
        .scenarios()
        .iter()
        .filter(|scenario| names.contains(&scenario.name))
        .map(|scenario| scenario.name.clone())
        .collect();
    let second = suite.measure(&again, options, tool)?;
    comparison.confirm(&compare::compare(baseline, &second, &comparison.options)?);
    Ok(())
}

/// `--scenario GLOB`, compiled.
fn compile_glob(pattern: &str) -> Result<GlobMatcher, String> {
    Glob::new(pattern)
        .map(|glob| glob.compile_matcher())
        .map_err(|error| format!("invalid `--scenario {pattern}`: {error}"))
}

/// The scenarios of `suite` that `matcher` selects (all without one); selecting none is an
/// error that lists them (and says how to add the ones the suite left out).
fn select<'a>(
    suite: &'a dyn Suite,
    matcher: Option<&GlobMatcher>,
) -> Result<Vec<&'a ScenarioInfo>, String> {
    let scenarios = suite.scenarios();
    let Some(matcher) = matcher else {
        return Ok(scenarios.iter().collect());
    };
    let selected: Vec<&ScenarioInfo> = scenarios
        .iter()
        .filter(|scenario| matcher.is_match(&scenario.name))
        .collect();
    if selected.is_empty() {
        let listing: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
        let note = suite
            .absent_note()
            .map(|note| format!("\nnote: {note}"))
            .unwrap_or_default();
        return Err(format!(
            "no scenario matches `--scenario {}`; the scenarios are: {}{note}",
            matcher.glob(),
            listing.join(", ")
        ));
    }
    Ok(selected)
}

/// `--rate`: checked here too, so a project's bench target is not built for a run that cannot
/// start.
fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "`--rate` must be a positive number of operations per second, not {text}"
        )),
    }
}

/// A duration such as `5s`, `500ms`, `1.5s`, `2m` or `100us`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write it like `5s` or `500ms`"))?;
    if unit.is_empty() {
        return Err(format!(
            "`{text}` has no unit; write `{text}s` or `{text}ms`"
        ));
    }
    let scale = match unit {
        "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "m" | "min" => 60.0,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit `{unit}`; use `us`, `ms`, `s` or `m`"
            ));
        }
    };
    let seconds = value * scale;
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(format!("`{text}` must be longer than zero"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_positive_numbers() {
        assert_eq!(parse_rate("2500"), Ok(2500.0));
        assert_eq!(parse_rate("0.5"), Ok(0.5));
        for bad in ["0", "-1", "fast", "inf", "NaN"] {
            assert!(parse_rate(bad).unwrap_err().contains("positive"), "{bad}");
        }
    }

    #[test]
    fn parses_durations_with_units() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("100us"), Ok(Duration::from_micros(100)));
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("5h").unwrap_err().contains("unknown unit"));
        assert!(
            parse_duration("0s")
                .unwrap_err()
                .contains("longer than zero")
        );
        assert!(
            parse_duration("fast")
                .unwrap_err()
                .contains("not a duration")
        );
    }
}
