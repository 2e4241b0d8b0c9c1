//! `catga lint`: run the analyzer over the workspace or the given paths, print the findings in
//! the chosen format, and exit 1 when anything at or above the failure threshold remains.

use crate::{CommandResult, Outcome, terminal};
use catga_lints::output::human;
use catga_lints::{FixMode, LintOptions, LintReport, Severity, output, rules};
use clap::{ArgGroup, Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("apply").args(["fix", "diff"]).multiple(true)))]
pub(crate) struct LintArgs {
    /// Files or directories to lint [default: the cargo workspace or package around the current
    /// directory]
    pub(crate) paths: Vec<PathBuf>,

    /// Apply safe fixes and write the files
    #[arg(long)]
    pub(crate) fix: bool,

    /// Also apply unsafe fixes (their rewrite may change behaviour); needs --fix or --diff
    #[arg(long, requires = "apply")]
    pub(crate) unsafe_fixes: bool,

    /// Print the fixes as unified diffs and write nothing (exit 1 when there is a diff, 0 when
    /// nothing would change, whatever findings remain)
    #[arg(long)]
    pub(crate) diff: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human, value_name = "FORMAT")]
    pub(crate) format: Format,

    /// Only run these rules (comma-separated codes or names; overrides `select` in config)
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub(crate) select: Vec<String>,

    /// Skip these rules (comma-separated codes or names; added to `ignore` in config)
    #[arg(long, value_delimiter = ',', value_name = "CODES")]
    pub(crate) ignore: Vec<String>,

    /// Exit 1 when a finding of this severity or above remains [default: `fail_on` from config,
    /// else warning]
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub(crate) fail_on: Option<FailOn>,

    /// Print the number of findings per rule instead of the findings
    #[arg(long)]
    pub(crate) statistics: bool,

    /// Add a `// catga-allow(CODE): TODO reason` comment above every line with a finding, and
    /// write the files (adopt the analyzer on a large codebase in one commit)
    #[arg(long, conflicts_with_all = ["fix", "diff", "unsafe_fixes", "statistics"])]
    pub(crate) add_allow: bool,

    /// With --fix or --diff, list every fix applied (or that would be): file, line, rule and
    /// what it did
    #[arg(long, requires = "apply")]
    pub(crate) show_fixes: bool,

    /// Exit 0 even when findings remain or a fix would change a file (2 still means the tool
    /// could not run)
    #[arg(long)]
    pub(crate) exit_zero: bool,

    /// Parse every file again instead of reusing cached results
    #[arg(long)]
    pub(crate) no_cache: bool,

    /// Lint, then keep watching the files and print only what changes (new findings, fixed
    /// findings) after each save, until Ctrl-C
    #[arg(long, conflicts_with_all = ["fix", "diff", "unsafe_fixes", "statistics", "add_allow", "show_fixes", "exit_zero", "fail_on"])]
    pub(crate) watch: bool,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Reports with source snippets, then a summary line
    Human,
    /// The stable, versioned JSON document tools read
    Json,
    /// SARIF 2.1.0, for GitHub code scanning
    Sarif,
    /// GitHub Actions workflow commands (annotations)
    Github,
    /// Cargo's JSON messages, for rust-analyzer's `check.overrideCommand`
    Cargo,
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FailOn {
    Error,
    Warning,
    Info,
}

impl From<FailOn> for Severity {
    fn from(fail_on: FailOn) -> Severity {
        match fail_on {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
        }
    }
}

impl LintArgs {
    /// A combination of flags clap cannot express, as a usage error message.
    pub(crate) fn conflict(&self) -> Option<&'static str> {
        if self.diff && self.format != Format::Human {
            return Some("--diff prints unified diffs; it cannot be combined with --format");
        }
        if self.statistics && matches!(self.format, Format::Sarif | Format::Github | Format::Cargo)
        {
            return Some("--statistics works with --format human or json");
        }
        if self.watch && self.format != Format::Human {
            return Some(
                "--watch prints findings as they change; it cannot be combined with --format",
            );
        }
        None
    }

    fn options(&self) -> std::io::Result<LintOptions> {
        let fix = match (self.fix || self.diff, self.unsafe_fixes) {
            (false, _) => FixMode::Off,
            (true, false) => FixMode::Safe,
            (true, true) => FixMode::Unsafe,
        };
        Ok(LintOptions {
            root: std::env::current_dir()?,
            paths: self.paths.clone(),
            select: self.select.clone(),
            ignore: self.ignore.clone(),
            fix,
            diff: self.diff,
            cache: !self.no_cache,
            progress: None,
        })
    }
}

/// A progress bar on stderr, when stderr is a terminal (never in CI logs or pipes), and the
/// callback that moves it.
fn progress_bar() -> Option<(indicatif::ProgressBar, catga_lints::Progress)> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar =
        indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{prefix:>8} [{bar:30}] {pos}/{len} files {elapsed}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let handle = bar.clone();
    let progress = catga_lints::Progress(std::sync::Arc::new(move |phase, done, total| {
        handle.set_prefix(match phase {
            catga_lints::Phase::Checking => "Checking",
            catga_lints::Phase::Fixing => "Fixing",
        });
        handle.set_length(total as u64);
        handle.set_position(done as u64);
    }));
    Some((bar, progress))
}

pub(crate) fn run(args: &LintArgs) -> CommandResult {
    let mut options = args
        .options()
        .map_err(|error| format!("cannot read the current directory: {error}"))?;
    if args.watch {
        return watch(&options);
    }
    let bar = progress_bar().map(|(bar, progress)| {
        options.progress = Some(progress);
        bar
    });
    let result = run_with(args, &options, bar.as_ref());
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

/// The run itself; the progress bar, if any, is cleared before anything is printed.
fn run_with(
    args: &LintArgs,
    options: &catga_lints::LintOptions,
    bar: Option<&indicatif::ProgressBar>,
) -> CommandResult {
    let clear = || {
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    };
    if args.add_allow {
        let added = catga_lints::add_allows(options);
        clear();
        let added = added?;
        for note in &added.notes {
            terminal::eprint(&format!("warning: {note}\n"));
        }
        terminal::eprint(&format!(
            "Added {} `catga-allow` comment{} in {} file{}; replace each `TODO reason` with why the finding is fine.\n",
            added.added,
            if added.added == 1 { "" } else { "s" },
            added.files,
            if added.files == 1 { "" } else { "s" },
        ));
        return Ok(Outcome::Clean);
    }
    let report = catga_lints::lint(options);
    clear();
    let report = report?;
    for note in &report.notes {
        terminal::eprint(&format!("warning: {note}\n"));
    }
    let text = if args.diff {
        report.diffs.iter().map(|diff| diff.text.as_str()).collect()
    } else if args.statistics {
        match args.format {
            Format::Json => output::json::render_statistics(&report.diagnostics),
            _ => human::statistics(&report.diagnostics),
        }
    } else {
        // Tools read paths from the project root, whichever directory the run started in.
        let from_project =
            || output::relative_to(&report.diagnostics, &report.root, &report.project_root);
        match args.format {
            Format::Human => human::report(&report, &options.root, terminal::stdout_color()),
            Format::Json => {
                output::json::render(report.files_scanned, &from_project(), report.fixed)
            }
            Format::Sarif => output::sarif::render(&from_project(), rules(), &report.project_root),
            Format::Github => output::github::render(&from_project()),
            Format::Cargo => output::cargo::render(
                &from_project(),
                &report.project_root,
                &output::cargo::Packages::load(&report.project_root),
                outcome(args, &report) == Outcome::Clean,
            ),
        }
    };
    terminal::print(&text)?;
    if args.show_fixes {
        terminal::eprint(&human::applied_fixes(&report.applied, args.diff));
    }
    if args.diff {
        terminal::eprint(&human::diff_summary(&report));
    }
    Ok(outcome(args, &report))
}

/// `--watch`: open the workspace (a bad path or configuration fails here, before watching),
/// print its findings, then, per burst of file changes, what changed. Runs until interrupted.
fn watch(options: &LintOptions) -> CommandResult {
    use notify_debouncer_mini::notify::RecursiveMode;
    let mut live = catga_lints::LiveWorkspace::open(options)?;
    let color = terminal::stdout_color();
    let report = LintReport {
        files_scanned: live.file_count(),
        diagnostics: live.all_diagnostics(),
        ..LintReport::default()
    };
    terminal::print(&human::report(&report, &options.root, color))?;
    let (events, changes) = std::sync::mpsc::channel();
    // Saves come as bursts of events (write, rename, metadata): one re-lint per burst.
    let mut debouncer =
        notify_debouncer_mini::new_debouncer(std::time::Duration::from_millis(200), events)
            .map_err(|error| format!("cannot watch files: {error}"))?;
    let watched = live.project_root();
    debouncer
        .watcher()
        .watch(&watched, RecursiveMode::Recursive)
        .map_err(|error| format!("cannot watch {}: {error}", watched.display()))?;
    terminal::eprint(&format!(
        "Watching {} for changes (Ctrl-C to stop).\n",
        watched.display()
    ));
    for burst in changes {
        let paths: Vec<PathBuf> = match burst {
            Ok(events) => events.into_iter().map(|event| event.path).collect(),
            Err(error) => {
                terminal::eprint(&format!("warning: file watching: {error}\n"));
                continue;
            }
        };
        match live.apply_changes(&paths) {
            Ok(diff) if diff.is_empty() => {}
            Ok(diff) => terminal::print(&human::watch_update(
                &diff,
                &live.all_diagnostics(),
                &options.root,
                color,
            ))?,
            // A configuration saved half-written: say so, keep the last good one, keep going.
            Err(error) => terminal::print_error(&error),
        }
    }
    Ok(Outcome::Clean)
}

/// Exit 1 when a finding at or above the threshold remains; with `--diff`, exactly when a file
/// would change (so CI can insist that fixes are applied, whatever findings have no fix).
fn outcome(args: &LintArgs, report: &LintReport) -> Outcome {
    if args.exit_zero {
        return Outcome::Clean;
    }
    if args.diff {
        return if report.diffs.is_empty() {
            Outcome::Clean
        } else {
            Outcome::Findings
        };
    }
    let threshold = args
        .fail_on
        .map(Severity::from)
        .or(report.fail_on)
        .unwrap_or(Severity::Warning);
    let failing = report
        .diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity >= threshold);
    if failing {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}
