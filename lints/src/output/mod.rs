//! Renderings of lint results: `human` for people (miette reports), `json` for tools, `sarif`
//! for code scanning, `github` for workflow annotations, `cargo` for whatever reads cargo's JSON
//! messages (rust-analyzer).
//!
//! Each formatter is a pure function from diagnostics to text, so it can be tested without a
//! process and gives the same bytes for the same input.

pub mod cargo;
pub mod github;
pub mod human;
pub mod json;
pub mod rules;
pub mod sarif;

use crate::diagnostic::{Applicability, Diagnostic, Severity};
use std::path::Path;

/// Counts over a set of diagnostics, as every format's summary reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Diagnostics with severity `error`.
    pub errors: usize,
    /// Diagnostics with severity `warning`.
    pub warnings: usize,
    /// Diagnostics with severity `info`.
    pub infos: usize,
    /// Diagnostics carrying a safe fix: what `--fix` would apply.
    pub fixable: usize,
    /// Diagnostics carrying an unsafe fix: what `--unsafe-fixes` would add.
    pub unsafe_fixable: usize,
}

impl Summary {
    /// Counts `diagnostics` by severity and by fix applicability.
    pub fn of(diagnostics: &[Diagnostic]) -> Self {
        let mut summary = Summary::default();
        for diagnostic in diagnostics {
            match diagnostic.severity {
                Severity::Error => summary.errors += 1,
                Severity::Warning => summary.warnings += 1,
                Severity::Info => summary.infos += 1,
            }
            match diagnostic.fix.as_ref().map(|fix| fix.applicability) {
                Some(Applicability::Safe) => summary.fixable += 1,
                Some(Applicability::Unsafe) => summary.unsafe_fixable += 1,
                Some(Applicability::DisplayOnly) | None => {}
            }
        }
        summary
    }

    /// All diagnostics counted.
    pub fn total(&self) -> usize {
        self.errors + self.warnings + self.infos
    }
}

/// How often one rule fired, for `--statistics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCount {
    /// The rule code, `CATGA005`.
    pub code: String,
    /// The rule name, `blocking-call-in-async`.
    pub name: String,
    /// Diagnostics of this rule.
    pub count: usize,
    /// How many of them carry a safe fix.
    pub fixable: usize,
}

/// Diagnostics counted per rule, most frequent first (ties by code).
pub fn statistics(diagnostics: &[Diagnostic]) -> Vec<RuleCount> {
    let mut counts: Vec<RuleCount> = Vec::new();
    for diagnostic in diagnostics {
        let index = match counts
            .iter()
            .position(|count| count.code == diagnostic.code)
        {
            Some(index) => index,
            None => {
                counts.push(RuleCount {
                    code: diagnostic.code.clone(),
                    name: diagnostic.name.clone(),
                    count: 0,
                    fixable: 0,
                });
                counts.len() - 1
            }
        };
        counts[index].count += 1;
        if diagnostic
            .fix
            .as_ref()
            .is_some_and(|fix| fix.applicability == Applicability::Safe)
        {
            counts[index].fixable += 1;
        }
    }
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    counts
}

/// The lowercase name of an applicability, as every output format writes it.
pub fn applicability_str(applicability: Applicability) -> &'static str {
    match applicability {
        Applicability::Safe => "safe",
        Applicability::Unsafe => "unsafe",
        Applicability::DisplayOnly => "display-only",
    }
}

/// `diagnostics` with their paths (relative to `root`, or absolute) made relative to `base` where
/// they lie below it: machine-read formats name files from the project root
/// ([`crate::LintReport::project_root`]), so their paths do not depend on where a run started.
pub fn relative_to(diagnostics: &[Diagnostic], root: &Path, base: &Path) -> Vec<Diagnostic> {
    diagnostics
        .iter()
        .map(|diagnostic| {
            let absolute = root.join(&diagnostic.path);
            let path = absolute
                .strip_prefix(base)
                .map(Path::to_path_buf)
                .unwrap_or(absolute);
            Diagnostic {
                path,
                ..diagnostic.clone()
            }
        })
        .collect()
}

/// A path as every output format writes it: components joined by `/` on every platform.
pub fn slash_path(path: &Path) -> String {
    let mut out = String::new();
    for component in path.components() {
        let part = component.as_os_str().to_string_lossy();
        if !out.is_empty() && !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(&part);
    }
    out
}

/// The diagnostics in output order (path, line, column, code), whatever order they came in.
fn in_output_order(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    sorted
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Diagnostics for the formatter tests.

    use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Position, Severity, Span};
    use crate::rule::{FixAvailability, RuleMeta};

    /// CATGA005's metadata, shortened: what the rule listings and SARIF's rule table read.
    pub(crate) static SLEEP: RuleMeta = RuleMeta {
        code: "CATGA005",
        name: "blocking-call-in-async",
        severity: Severity::Warning,
        fix: FixAvailability::Sometimes,
        fix_applicabilities: &[Applicability::Safe],
        summary: "Blocking call in async code",
        docs: "## What it does\nFinds blocking calls.\n\n## Why is this bad?\nThey stall.\n",
    };

    /// A span on one line, `start..end` in 1-based character columns (ASCII, so bytes agree).
    pub(crate) fn span(line: u32, start: u32, end: u32) -> Span {
        let line_start = (line as usize - 1) * 100;
        Span {
            start: line_start + start as usize - 1,
            end: line_start + end as usize - 1,
            start_pos: Position {
                line,
                column: start,
            },
            end_pos: Position { line, column: end },
        }
    }

    /// A CATGA005 report at `path:line` with a safe fix.
    pub(crate) fn blocking_sleep(path: &str, line: u32) -> Diagnostic {
        let span = span(line, 9, 48);
        Diagnostic {
            code: "CATGA005".into(),
            name: "blocking-call-in-async".into(),
            severity: Severity::Warning,
            message: "std::thread::sleep blocks the executor thread inside async fn `handle`"
                .into(),
            path: path.into(),
            span,
            help: Some("use tokio::time::sleep(..).await".into()),
            fix: Some(Fix {
                applicability: Applicability::Safe,
                description: "Replace with `tokio::time::sleep(..).await`".into(),
                edits: vec![Edit {
                    span,
                    content: "tokio::time::sleep(Duration::from_millis(5)).await".into(),
                }],
            }),
        }
    }

    /// A CATGA012 report at `path:line` without a fix.
    pub(crate) fn sync_io(path: &str, line: u32) -> Diagnostic {
        Diagnostic {
            code: "CATGA012".into(),
            name: "sync-io-in-async".into(),
            severity: Severity::Error,
            message: "std::net::TcpStream::connect blocks inside async fn `run`".into(),
            path: path.into(),
            span: span(line, 5, 30),
            help: None,
            fix: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{blocking_sleep, sync_io};
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn paths_are_made_relative_to_the_project_root_when_below_it() {
        let diagnostics = [sync_io("lib.rs", 1), sync_io("/elsewhere/x.rs", 2)];
        let rebased = relative_to(
            &diagnostics,
            Path::new("/work/shop/src"),
            Path::new("/work/shop"),
        );
        let paths: Vec<PathBuf> = rebased.into_iter().map(|d| d.path).collect();
        assert_eq!(
            paths,
            [
                PathBuf::from("src/lib.rs"),
                PathBuf::from("/elsewhere/x.rs")
            ]
        );
    }

    #[test]
    fn summary_counts_severities_and_safe_fixes_separately() {
        let mut unsafe_fix = blocking_sleep("a.rs", 3);
        if let Some(fix) = unsafe_fix.fix.as_mut() {
            fix.applicability = Applicability::Unsafe;
        }
        let diagnostics = [blocking_sleep("a.rs", 1), sync_io("a.rs", 2), unsafe_fix];
        let summary = Summary::of(&diagnostics);
        assert_eq!(
            summary,
            Summary {
                errors: 1,
                warnings: 2,
                infos: 0,
                fixable: 1,
                unsafe_fixable: 1
            }
        );
        assert_eq!(summary.total(), 3);
    }

    #[test]
    fn statistics_count_per_rule_most_frequent_first() {
        let diagnostics = [
            sync_io("a.rs", 1),
            blocking_sleep("a.rs", 2),
            blocking_sleep("b.rs", 3),
        ];
        let counts = statistics(&diagnostics);
        assert_eq!(counts.len(), 2);
        assert_eq!(
            (counts[0].code.as_str(), counts[0].count, counts[0].fixable),
            ("CATGA005", 2, 2)
        );
        assert_eq!(
            (counts[1].code.as_str(), counts[1].count, counts[1].fixable),
            ("CATGA012", 1, 0)
        );
    }

    #[test]
    fn slash_path_joins_components_with_forward_slashes() {
        let path: PathBuf = ["src", "handlers", "orders.rs"].iter().collect();
        assert_eq!(slash_path(&path), "src/handlers/orders.rs");
        assert_eq!(slash_path(Path::new("./lib.rs")), "./lib.rs");
    }

    #[test]
    fn output_order_is_path_line_column_code() {
        let diagnostics = [
            sync_io("b.rs", 1),
            blocking_sleep("a.rs", 7),
            sync_io("a.rs", 7),
            blocking_sleep("a.rs", 2),
        ];
        let order: Vec<(String, u32, &str)> = in_output_order(&diagnostics)
            .iter()
            .map(|d| (slash_path(&d.path), d.span.start_pos.line, d.code.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("a.rs".to_string(), 2, "CATGA005"),
                ("a.rs".to_string(), 7, "CATGA012"),
                ("a.rs".to_string(), 7, "CATGA005"),
                ("b.rs".to_string(), 1, "CATGA012"),
            ]
        );
    }
}
