//! `catga lint`: run the analyzer over the workspace or the given paths, print the findings in
//! the chosen format, and exit 1 when anything at or above the failure threshold remains.

use crate::{CommandResult, Outcome, human, terminal};
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

    /// Print the fixes as unified diffs and write nothing (exit 1 when there is a diff)
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

    /// Parse every file again instead of reusing cached results
    #[arg(long)]
    pub(crate) no_cache: bool,
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
        if self.statistics && matches!(self.format, Format::Sarif | Format::Github) {
            return Some("--statistics works with --format human or json");
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
        })
    }
}

pub(crate) fn run(args: &LintArgs) -> CommandResult {
    let options = args
        .options()
        .map_err(|error| format!("cannot read the current directory: {error}"))?;
    let report = catga_lints::lint(&options)?;
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
        match args.format {
            Format::Human => human::report(&report, &options.root, terminal::stdout_color()),
            Format::Json => {
                output::json::render(report.files_scanned, &report.diagnostics, report.fixed)
            }
            Format::Sarif => output::sarif::render(&report.diagnostics, rules()),
            Format::Github => output::github::render(&report.diagnostics),
        }
    };
    terminal::print(&text)?;
    if args.diff {
        terminal::eprint(&human::diff_summary(&report));
    }
    Ok(outcome(args, &report))
}

/// Exit 1 when a finding at or above the threshold remains, or, with `--diff`, when a file would
/// change (so CI can insist that fixes are applied).
fn outcome(args: &LintArgs, report: &LintReport) -> Outcome {
    let threshold = args
        .fail_on
        .map(Severity::from)
        .or(report.fail_on)
        .unwrap_or(Severity::Warning);
    let failing = report
        .diagnostics
        .iter()
        .any(|diagnostic| diagnostic.severity >= threshold);
    if failing || (args.diff && !report.diffs.is_empty()) {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}
