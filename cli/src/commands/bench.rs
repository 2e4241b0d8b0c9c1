//! `catga bench`: run the benchmark scenarios, print their figures, save them, and compare
//! them with a saved baseline (exit 1 on a regression).
//!
//! The scenarios are catga's built-in suite, or, inside a project whose catga.toml names a
//! bench target (`[bench] target`), that target's (see [`suite`]).
//!
//! Everything that can be checked before the run is (`catga_bench::check`): a baseline that
//! cannot be used or cannot gate, an output path that cannot be written, a glob that selects
//! nothing, or a bad duration stops the command at once with exit 2, not after minutes of
//! measuring (or of building the project).

use std::path::PathBuf;
use std::time::Duration;

use catga_bench::compare::{self, CompareOptions, Comparison};
use catga_bench::profile::ScenarioProfile;
use catga_bench::profile::files::{self as profile_files, BaselineProfiles, Differential};
use catga_bench::project::ScenarioInfo;
use catga_bench::report::{Report, Tool};
use catga_bench::runner::FLOOR;
use catga_bench::target::BenchTarget;
use catga_bench::{RunOptions, check, hgrm, plot, render, rev};
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

    /// Compare with the project at another git revision: build it in a temporary worktree and
    /// measure both builds alternately, in paired rounds; exit 1 when a scenario regressed
    #[arg(long, value_name = "REV", conflicts_with_all = ["compare", "instructions", "builtin"])]
    pub(crate) compare_rev: Option<String>,

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

    /// Profile every scenario in a pass after the measured one, and write into DIR its CPU
    /// flamegraph (`NAME.svg`, its stacks in `NAME.folded`) and allocation sites
    /// (`NAME.alloc.txt`, `NAME.alloc.svg`); when comparing, a differential flamegraph
    /// (`NAME.diff.svg`) of each regressed scenario against the baseline's
    #[arg(long, value_name = "DIR")]
    pub(crate) profile: Option<PathBuf>,

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

    /// Also count each scenario's instructions per operation under valgrind's callgrind, and
    /// decide the comparison on them: exact whatever the machine's load
    #[arg(long)]
    pub(crate) instructions: bool,

    /// Internal: run NAME=OPS operations of a built-in scenario inside the function callgrind
    /// counts (what `--instructions` runs under valgrind)
    #[arg(long, value_name = "NAME=OPS", hide = true)]
    pub(crate) count_ops: Option<String>,
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
    if let Some(request) = &args.count_ops {
        suite::count_builtin(request)?;
        return Ok(Outcome::Clean);
    }
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
    if args.instructions {
        catga_bench::instructions::check_valgrind()?;
    }
    if let Some(path) = &args.save {
        check::output_file("--save", path)?;
    }
    if let Some(path) = &args.plot {
        check::output_file("--plot", path)?;
    }
    if let Some(path) = &args.hgrm {
        check::output_dir("--hgrm", path)?;
    }
    if let Some(path) = &args.profile {
        check::output_dir("--profile", path)?;
    }
    if let Some(rev) = &args.compare_rev {
        return compare_rev(args, rev, matcher.as_ref(), compare_options);
    }
    let suite = suite::open(args.builtin)?;
    let selected = with_references(suite.as_ref(), select(suite.as_ref(), matcher.as_ref())?);
    let mut options = RunOptions {
        duration: args.duration,
        warmup: args.warmup,
        samples: args.samples,
        rate: args.rate,
        quiet: args.quiet,
        batches: Default::default(),
    };
    if let (Some(baseline), Some(path)) = (&baseline, &args.compare) {
        let infos: Vec<ScenarioInfo> = selected.iter().map(|&s| s.clone()).collect();
        let planned = check::Planned {
            selected: &infos,
            samples: args.samples,
            rate: args.rate,
            confidence: compare_options.confidence,
            instructions: args.instructions,
        };
        check::baseline(baseline, path, &planned)?;
        // Timed in the baseline's batches, so that both histograms hold the same figure.
        options.batches = baseline.batches();
    }
    // Differential flamegraphs need the baseline's profiles; without them the comparison goes
    // on, and says so now rather than after measuring.
    let baseline_profiles = match (&args.profile, &baseline, &args.compare) {
        (Some(_), Some(baseline), Some(path)) => BaselineProfiles::find(baseline, path)
            .map_err(|warning| terminal::eprint(&format!("warning: {warning}\n")))
            .ok(),
        _ => None,
    };
    let names: Vec<String> = selected.iter().map(|s| s.name.clone()).collect();

    let tool = Tool {
        name: "catga".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let mut report = suite.measure(&names, &options, &tool)?;
    if args.instructions {
        count_instructions(&mut report, suite.as_ref(), args.quiet)?;
    }
    record_profiles_dir(args, &mut report);

    write_outputs(args, &report, baseline.as_ref())?;
    let mut comparison = baseline
        .as_ref()
        .map(|baseline| compare::compare(baseline, &report, &compare_options))
        .transpose()?;
    if let (Some(baseline), Some(comparison)) = (&baseline, &mut comparison)
        && !args.no_confirm
        // Only what a second measurement can confirm: instruction counts are exact.
        && !comparison.regressed_scenarios().is_empty()
    {
        confirm(
            comparison,
            baseline,
            &report,
            suite.as_ref(),
            &options,
            &tool,
            args.quiet,
        )?;
    }
    let outcome = print(args, &report, comparison.as_ref(), &compare_options)?;
    if let Some(dir) = &args.profile {
        let profiles = suite.profile(&names, &options)?;
        let regressed = comparison
            .as_ref()
            .map(Comparison::scenarios_regressed)
            .unwrap_or_default();
        let (differentials, warnings) = baseline_profiles
            .map(|baseline| baseline.differentials(&regressed))
            .unwrap_or_default();
        write_profiles(dir, &profiles, &differentials, warnings, args.quiet)?;
    }
    Ok(outcome)
}

/// With `--save` and `--profile`, the report records where its profiles are, so that a later
/// comparison with it can draw differential flamegraphs.
fn record_profiles_dir(args: &BenchArgs, report: &mut Report) {
    if let (Some(dir), Some(save)) = (&args.profile, &args.save) {
        report.profiles = Some(profile_files::recorded_dir(save, dir));
    }
}

/// `--profile DIR`: writes the profiles' files, and says what it wrote and what it could not.
fn write_profiles(
    dir: &std::path::Path,
    profiles: &[ScenarioProfile],
    differentials: &[Differential],
    mut warnings: Vec<String>,
    quiet: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let written = profile_files::write_dir(dir, profiles, differentials)?;
    warnings.extend(written.warnings.iter().cloned());
    for warning in warnings {
        terminal::eprint(&format!("warning: {warning}\n"));
    }
    if !quiet {
        terminal::eprint(&format!(
            "{}\n",
            profile_files::summary(dir, &written, profiles.len())
        ));
    }
    Ok(())
}

/// `--save`, `--hgrm` and `--plot`.
fn write_outputs(
    args: &BenchArgs,
    report: &Report,
    baseline: Option<&Report>,
) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(path) = &args.save {
        report.save(path)?;
    }
    if let Some(dir) = &args.hgrm {
        hgrm::write_dir(report, dir)?;
    }
    if let Some(path) = &args.plot {
        let svg = plot::plot_svg(report, baseline)?;
        catga_bench::atomic_write(path, svg.as_bytes())
            .map_err(|error| format!("cannot write the plot `{}`: {error}", path.display()))?;
    }
    Ok(())
}

/// Prints the run (and the comparison) in `--format`; exit 1 when something regressed.
fn print(
    args: &BenchArgs,
    report: &Report,
    comparison: Option<&Comparison>,
    compare_options: &CompareOptions,
) -> CommandResult {
    let text = match (args.format, comparison) {
        (BenchFormat::Human, None) => render::report_human(report),
        (BenchFormat::Human, Some(comparison)) => format!(
            "{}\n{}",
            render::report_human(report),
            render::comparison_human(comparison, compare_options)
        ),
        (BenchFormat::Markdown, None) => render::report_markdown(report),
        (BenchFormat::Markdown, Some(comparison)) => {
            render::comparison_markdown(comparison, compare_options)
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

/// `--compare-rev REV`: the project's bench target at REV, built in a temporary worktree (removed
/// whatever happens, Ctrl-C included), measured alternately with the working tree's in paired
/// rounds, and compared round by round.
fn compare_rev(
    args: &BenchArgs,
    rev: &str,
    matcher: Option<&GlobMatcher>,
    compare_options: CompareOptions,
) -> CommandResult {
    let interrupts = rev::Interrupts::catch();
    let (target, config, dir) = suite::project_target("--compare-rev")?;
    // A revision that is not there is found before anything is built.
    let worktree = rev::Worktree::add(&dir, rev)?;
    // A cargo killed by Ctrl-C fails the build; say it was Ctrl-C.
    let interrupted = |error: String| interrupts.check().err().unwrap_or(error);
    let current = BenchTarget::build(target, config, dir).map_err(interrupted)?;
    if !args.quiet {
        terminal::eprint(&format!(
            "Building `{rev}` ({}) in a temporary worktree\n",
            worktree.commit()
        ));
    }
    let baseline_target = BenchTarget::build_in(
        current.name().to_owned(),
        worktree.counterpart(current.config())?,
        worktree.counterpart(current.dir())?,
        Some(&rev::target_dir(current.target_dir())),
    )
    .map_err(interrupted)?;
    let selected = with_references(&current, select(&current, matcher)?);
    // Scenarios the revision lacks are listed as only in this run.
    let names: Vec<String> = selected
        .iter()
        .filter(|s| baseline_target.scenarios().iter().any(|b| b.name == s.name))
        .map(|s| s.name.clone())
        .collect();
    let options = RunOptions {
        duration: args.duration,
        warmup: args.warmup,
        samples: args.samples,
        rate: args.rate,
        quiet: args.quiet,
        batches: Default::default(),
    };
    let tool = Tool {
        name: "catga".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    };
    let (baseline, mut report) = rev::paired_rounds(
        &baseline_target,
        &current,
        &names,
        &options,
        &tool,
        &interrupts,
    )?;
    record_profiles_dir(args, &mut report);
    write_outputs(args, &report, Some(&baseline))?;
    let compare_options = CompareOptions {
        paired: true,
        ..compare_options
    };
    let comparison = compare::compare(&baseline, &report, &compare_options)?;
    let outcome = print(args, &report, Some(&comparison), &compare_options)?;
    if let Some(dir) = &args.profile {
        // REV's regressed scenarios are profiled too, while its worktree is still there: the
        // baseline of their differential flamegraphs.
        let regressed: Vec<String> = comparison
            .scenarios_regressed()
            .into_iter()
            .filter(|name| names.contains(name))
            .collect();
        let profiles = current.profile(&names, &options).map_err(interrupted)?;
        let baseline_profiles = if regressed.is_empty() {
            Vec::new()
        } else {
            baseline_target
                .profile(&regressed, &options)
                .map_err(interrupted)?
        };
        let differentials = profile_files::differentials_from(&baseline_profiles, &regressed);
        write_profiles(dir, &profiles, &differentials, Vec::new(), args.quiet)?;
    }
    drop(worktree);
    Ok(outcome)
}

/// Counts the instructions per operation of every scenario of `report` that is counted (not
/// an open loop), under callgrind.
fn count_instructions(
    report: &mut Report,
    suite: &dyn Suite,
    quiet: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    for scenario in &mut report.scenarios {
        if !catga_bench::instructions::is_counted(scenario.rate_ops_s) {
            continue;
        }
        let ops = catga_bench::instructions::ops_for(scenario.latency_ns.mean);
        if !quiet {
            terminal::eprint(&format!(
                "Counting the instructions of {} ({ops} operations under callgrind)\n",
                scenario.name
            ));
        }
        let per_op = suite
            .count_instructions(&scenario.name, ops)
            .map_err(|error| {
                format!(
                    "cannot count the instructions of `{}`: {error}",
                    scenario.name
                )
            })?;
        scenario.instructions_per_op = Some(per_op);
    }
    Ok(())
}

/// Measures the regressed scenarios again and keeps only the regressions that show in both
/// measurements' samples pooled.
fn confirm(
    comparison: &mut Comparison,
    baseline: &Report,
    first: &Report,
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
    // In the suite's order, and only names it has: a baseline's scenario may be gone. The
    // floor too, for the drift the verdicts may be relative to.
    let again: Vec<String> = suite
        .scenarios()
        .iter()
        .filter(|scenario| names.contains(&scenario.name) || scenario.name == FLOOR)
        .map(|scenario| scenario.name.clone())
        .collect();
    let second = suite.measure(&again, options, tool)?;
    // Both measurements' samples, pooled: a real regression shows in twice the samples, while
    // a slow stretch of one measurement is diluted by the other.
    let mut first_again = first.clone();
    first_again.scenarios.retain(|s| again.contains(&s.name));
    let pooled = Report::merge_runs(vec![first_again, second])?;
    comparison.confirm(&compare::compare(baseline, &pooled, &comparison.options)?);
    Ok(())
}

/// `selected`, with the references (group `baseline`) the glob left out put back, in the
/// suite's order: they are the floor every ratio is to, and the drift signal a comparison needs.
fn with_references<'a>(
    suite: &'a dyn Suite,
    selected: Vec<&'a ScenarioInfo>,
) -> Vec<&'a ScenarioInfo> {
    suite
        .scenarios()
        .iter()
        .filter(|scenario| {
            scenario.group == compare::REFERENCE_GROUP
                || selected.iter().any(|s| s.name == scenario.name)
        })
        .collect()
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
