//! The `human` format: one miette report per diagnostic (source snippet, a label at the span, the
//! help line, the code and rule name), then a one-line summary in ruff's style. Whether to
//! colour is the caller's to decide (the CLI asks the terminal).

use super::{Summary, statistics as count_per_rule};
use crate::diagnostic::{Diagnostic, Severity};
use crate::live::FindingsDiff;
use crate::run::{AppliedFix, LintReport};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Every diagnostic as a miette report, then the summary line.
pub fn report(report: &LintReport, root: &Path, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_links(false);
    let mut sources = SourceCache::new(root);
    let mut out = String::new();
    for diagnostic in &report.diagnostics {
        render_one(&handler, &mut sources, diagnostic, &mut out);
        out.push('\n');
    }
    out.push_str(&summary_line(&report.diagnostics, report.fixed));
    out.push('\n');
    out
}

fn render_one(
    handler: &GraphicalReportHandler,
    sources: &mut SourceCache<'_>,
    diagnostic: &Diagnostic,
    out: &mut String,
) {
    let mut report = MietteDiagnostic::new(diagnostic.message.clone())
        .with_code(format!("{} ({})", diagnostic.code, diagnostic.name))
        .with_severity(match diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        });
    if let Some(help) = &diagnostic.help {
        report = report.with_help(help.clone());
    }
    let span = diagnostic.span;
    let source = sources.get(&diagnostic.path).filter(|text| {
        span.start <= span.end
            && span.end <= text.len()
            && text.is_char_boundary(span.start)
            && text.is_char_boundary(span.end)
    });
    let rendered = match source {
        Some(text) => {
            let label = diagnostic.fix.as_ref().map(|fix| match fix.applicability {
                crate::diagnostic::Applicability::DisplayOnly => {
                    format!("Suggestion (never applied by --fix): {}", fix.description)
                }
                _ => fix.description.clone(),
            });
            let report =
                report.with_label(LabeledSpan::new(label, span.start, span.end - span.start));
            let named = NamedSource::new(diagnostic.path.display().to_string(), text);
            let report = miette::Report::new(report).with_source_code(named);
            handler.render_report(out, report.as_ref())
        }
        // The file is gone, unreadable or not UTF-8 (a parse error says so): name the place.
        None => {
            let position = span.start_pos;
            let report = report.with_url(format!(
                "{}:{}:{}",
                diagnostic.path.display(),
                position.line,
                position.column
            ));
            handler.render_report(out, &report)
        }
    };
    if rendered.is_err() {
        out.push_str(&format!(
            "{}:{}:{}: {} {}: {}\n",
            diagnostic.path.display(),
            span.start_pos.line,
            span.start_pos.column,
            diagnostic.severity,
            diagnostic.code,
            diagnostic.message
        ));
    }
}

/// `--show-fixes`: every fix applied (`would_apply`: with `--diff`, that would be), one a line.
pub fn applied_fixes(applied: &[AppliedFix], would_apply: bool) -> String {
    let verb = if would_apply { "Would fix" } else { "Fixed" };
    let mut out = match applied.len() {
        0 => return format!("{verb} nothing.\n"),
        1 => format!("{verb} 1 problem:\n"),
        count => format!("{verb} {count} problems:\n"),
    };
    for fix in applied {
        out.push_str(&format!(
            "  {}:{} {} {}\n",
            fix.path.display(),
            fix.line,
            fix.code,
            fix.description
        ));
    }
    out
}

/// What `catga lint --watch` prints after a change: each new finding as a report, each fixed
/// one on a line (`Fixed: path:line:column CODE message`), then the summary line of all the
/// findings there are now (`total`).
pub fn watch_update(diff: &FindingsDiff, total: &[Diagnostic], root: &Path, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_links(false);
    let mut sources = SourceCache::new(root);
    let mut out = String::new();
    for diagnostic in &diff.new {
        render_one(&handler, &mut sources, diagnostic, &mut out);
        out.push('\n');
    }
    for diagnostic in &diff.fixed {
        out.push_str(&format!(
            "Fixed: {}:{}:{} {} {}\n",
            diagnostic.path.display(),
            diagnostic.span.start_pos.line,
            diagnostic.span.start_pos.column,
            diagnostic.code,
            diagnostic.message
        ));
    }
    out.push_str(&format!(
        "{} new, {} fixed. {}\n",
        diff.new.len(),
        diff.fixed.len(),
        summary_line(total, 0)
    ));
    out
}

/// "All checks passed!", or "Found 3 problems (2 fixable with --fix)." as ruff words it.
pub fn summary_line(diagnostics: &[Diagnostic], fixed: usize) -> String {
    let summary = Summary::of(diagnostics);
    let remaining = summary.total();
    if remaining == 0 && fixed == 0 {
        return "All checks passed!".to_string();
    }
    let mut line = format!("Found {}", problems(remaining + fixed));
    if fixed > 0 {
        line.push_str(&format!(" ({fixed} fixed, {remaining} remaining)"));
    } else if summary.fixable > 0 && summary.unsafe_fixable > 0 {
        line.push_str(&format!(
            " ({} fixable with --fix; {} more with --fix --unsafe-fixes)",
            summary.fixable, summary.unsafe_fixable
        ));
    } else if summary.fixable > 0 {
        line.push_str(&format!(" ({} fixable with --fix)", summary.fixable));
    } else if summary.unsafe_fixable > 0 {
        line.push_str(&format!(
            " ({} fixable with --fix --unsafe-fixes)",
            summary.unsafe_fixable
        ));
    }
    line.push('.');
    line
}

/// The stderr line after `--diff`: what would be fixed and what would remain.
pub fn diff_summary(report: &LintReport) -> String {
    match (report.fixed, report.diagnostics.len()) {
        (0, 0) => "No fixes to apply; all checks passed!\n".to_string(),
        (0, remaining) => format!("No fixes to apply; {} remaining.\n", problems(remaining)),
        (fixed, remaining) => {
            format!("Would fix {} ({remaining} remaining).\n", problems(fixed))
        }
    }
}

/// `--statistics`: one row per rule, most frequent first; `[*]` marks rules with safe fixes.
pub fn statistics(diagnostics: &[Diagnostic]) -> String {
    let rows = count_per_rule(diagnostics);
    if rows.is_empty() {
        return "All checks passed!\n".to_string();
    }
    let width = rows
        .iter()
        .map(|row| row.count.to_string().len())
        .max()
        .unwrap_or(1);
    let mut out = String::new();
    for row in rows {
        let mark = if row.fixable > 0 { "[*]" } else { "[ ]" };
        out.push_str(&format!(
            "{:>width$}\t{}\t{mark} {}\n",
            row.count, row.code, row.name
        ));
    }
    out
}

fn problems(count: usize) -> String {
    if count == 1 {
        "1 problem".to_string()
    } else {
        format!("{count} problems")
    }
}

/// File texts for snippets, each read once, keyed by the path diagnostics carry.
struct SourceCache<'a> {
    root: &'a Path,
    texts: HashMap<PathBuf, Option<Arc<String>>>,
}

impl<'a> SourceCache<'a> {
    fn new(root: &'a Path) -> Self {
        SourceCache {
            root,
            texts: HashMap::new(),
        }
    }

    /// The text the engine's byte offsets refer to: the file without a leading byte-order mark.
    fn get(&mut self, path: &Path) -> Option<Arc<String>> {
        let root = self.root;
        self.texts
            .entry(path.to_path_buf())
            .or_insert_with(|| {
                let text = std::fs::read_to_string(root.join(path)).ok()?;
                Some(Arc::new(match text.strip_prefix('\u{feff}') {
                    Some(rest) => rest.to_string(),
                    None => text,
                }))
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Applicability, Fix, Position, Span};

    fn diagnostic(severity: Severity, fix: Option<Applicability>) -> Diagnostic {
        let span = Span {
            start: 0,
            end: 1,
            start_pos: Position { line: 1, column: 1 },
            end_pos: Position { line: 1, column: 2 },
        };
        Diagnostic {
            code: "CATGA005".into(),
            name: "blocking-call-in-async".into(),
            severity,
            message: "m".into(),
            path: "a.rs".into(),
            span,
            help: None,
            fix: fix.map(|applicability| Fix {
                applicability,
                description: "d".into(),
                edits: Vec::new(),
            }),
        }
    }

    #[test]
    fn summary_says_all_checks_passed_when_nothing_remains_or_was_fixed() {
        assert_eq!(summary_line(&[], 0), "All checks passed!");
    }

    #[test]
    fn summary_counts_fixable_and_unsafe_fixable_problems() {
        let diagnostics = [
            diagnostic(Severity::Warning, Some(Applicability::Safe)),
            diagnostic(Severity::Error, Some(Applicability::Unsafe)),
            diagnostic(Severity::Info, None),
        ];
        assert_eq!(
            summary_line(&diagnostics, 0),
            "Found 3 problems (1 fixable with --fix; 1 more with --fix --unsafe-fixes)."
        );
        assert_eq!(summary_line(&diagnostics[2..], 0), "Found 1 problem.");
    }

    #[test]
    fn summary_reports_fixed_and_remaining_after_fix() {
        let diagnostics = [diagnostic(Severity::Warning, None)];
        assert_eq!(
            summary_line(&diagnostics, 2),
            "Found 3 problems (2 fixed, 1 remaining)."
        );
    }

    #[test]
    fn human_report_shows_snippet_label_code_and_help_without_color() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.rs"), "\u{feff}fn main() {}\n").unwrap();
        let mut finding = diagnostic(Severity::Warning, Some(Applicability::Safe));
        finding.span = Span {
            start: 3,
            end: 7,
            ..finding.span
        };
        finding.help = Some("do better".into());
        let report = LintReport {
            files_scanned: 1,
            diagnostics: vec![finding],
            ..LintReport::default()
        };
        let text = super::report(&report, dir.path(), false);
        assert!(!text.contains('\u{1b}'), "colour escape in {text}");
        for expected in [
            "CATGA005 (blocking-call-in-async)",
            "fn main() {}",
            "a.rs:1:",
            "do better",
            "Found 1 problem (1 fixable with --fix).",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }
}
