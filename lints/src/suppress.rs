//! Suppression comments, read from the source text (syn drops comments).
//!
//! - `// catga-allow(CATGA005): reason` at the end of a line silences that code on that line;
//!   on a line of its own it silences the next line that is not a comment.
//! - `// catga-allow-file(CATGA009)` among the file's leading lines (comments, blank lines, inner
//!   attributes) silences the code for the whole file.
//! - Several codes (or rule names) may be listed, comma-separated.
//!
//! An allow that silenced nothing, or names an unknown code, becomes a CATGA100 unused-allow
//! diagnostic, but only for rules that ran: an allow for a rule that is not enabled is not stale.

use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::source::SourceFile;
use serde::{Deserialize, Serialize};
use std::path::Path;

const LINE_MARKER: &str = "catga-allow(";
const FILE_MARKER: &str = "catga-allow-file(";

/// One code listed in one allow comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct AllowedCode {
    /// The canonical code, or the text as written when it names no rule.
    code: String,
    known: bool,
    used: bool,
}

/// One allow comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Allow {
    codes: Vec<AllowedCode>,
    /// The line it applies to; `None` for a file-wide allow.
    target_line: Option<u32>,
    /// Whether a file-wide allow appeared after the file's leading lines (and so applies nowhere).
    misplaced: bool,
    comment: Span,
}

/// Every allow comment of a file (kept with the file's result: the workspace pass applies them
/// to cross-file rules' diagnostics).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Allows {
    allows: Vec<Allow>,
}

impl Allows {
    /// Whether the file has no allow comment.
    pub(crate) fn is_empty(&self) -> bool {
        self.allows.is_empty()
    }

    /// Read the allow comments of `source`; `first_item` is the offset where the file's first
    /// item starts (file-wide allows must come before it).
    pub(crate) fn parse(source: &SourceFile, first_item: usize) -> Allows {
        if !source.text.contains("catga-allow") {
            return Allows::default();
        }
        let mut allows: Vec<Allow> = Vec::new();
        let mut pending_standalone: Vec<usize> = Vec::new();
        let text = &source.text;
        crate::scan::scan(text, |token| {
            let crate::scan::Token::LineComment { start, end } = token else {
                return true;
            };
            let comment = &text[start..end];
            let comment_span = source.span_of_bytes(start, start + comment.trim_end().len());
            let line = comment_span.start_pos.line;
            let line_start = text[..start].rfind('\n').map_or(0, |newline| newline + 1);
            let standalone = text[line_start..start].trim().is_empty();
            if let Some(codes) = codes_after(comment, FILE_MARKER) {
                allows.push(Allow {
                    codes,
                    target_line: None,
                    misplaced: start > first_item,
                    comment: comment_span,
                });
            } else if let Some(codes) = codes_after(comment, LINE_MARKER) {
                allows.push(Allow {
                    codes,
                    target_line: (!standalone).then_some(line),
                    misplaced: false,
                    comment: comment_span,
                });
                if standalone {
                    pending_standalone.push(allows.len() - 1);
                }
            }
            true
        });
        // A standalone allow applies to the next line that is not blank or only a comment.
        for index in pending_standalone {
            let after = allows[index].comment.start_pos.line;
            let target = ((after + 1)..=u32::try_from(source.line_count()).unwrap_or(u32::MAX))
                .find(|&line| {
                    let trimmed = source.line_text(line).trim();
                    !trimmed.is_empty() && !trimmed.starts_with("//")
                });
            match target {
                Some(line) => allows[index].target_line = Some(line),
                None => allows[index].misplaced = true,
            }
        }
        Allows { allows }
    }

    /// Drop the diagnostics an allow silences; then report unused allows as CATGA100 (with
    /// `unused_allow` its severity when that rule is enabled). `enabled` says which codes ran;
    /// `report_unknown`: report codes no rule has (the per-file pass does, so the workspace
    /// pass over the same comments does not say it a second time).
    pub(crate) fn apply(
        mut self,
        diagnostics: Vec<Diagnostic>,
        enabled: &dyn Fn(&str) -> bool,
        report_unknown: bool,
        unused_allow: Option<Severity>,
        path: &Path,
    ) -> Vec<Diagnostic> {
        if self.allows.is_empty() {
            return diagnostics;
        }
        let mut kept: Vec<Diagnostic> = diagnostics
            .into_iter()
            .filter(|diagnostic| !self.silence(diagnostic))
            .collect();
        let Some(severity) = unused_allow else {
            return kept;
        };
        let meta = crate::rules::UNUSED_ALLOW.meta;
        for allow in &self.allows {
            for code in &allow.codes {
                let message = if !code.known {
                    if !report_unknown {
                        continue;
                    }
                    format!("`catga-allow` names unknown rule `{}`", code.code)
                } else if code.used || !enabled(&code.code) {
                    continue;
                } else if allow.misplaced && allow.target_line.is_none() {
                    format!(
                        "`{}` allow applies to nothing here: `catga-allow-file` must be among the file's leading comments, and `catga-allow` must precede a line of code",
                        code.code
                    )
                } else {
                    format!("`catga-allow({})` silences no diagnostic", code.code)
                };
                kept.push(Diagnostic {
                    code: meta.code.to_string(),
                    name: meta.name.to_string(),
                    severity,
                    message,
                    path: path.to_path_buf(),
                    span: allow.comment,
                    help: Some(
                        "remove the comment, or move it to the line it is meant for".to_string(),
                    ),
                    fix: None,
                });
            }
        }
        kept
    }

    fn silence(&mut self, diagnostic: &Diagnostic) -> bool {
        let line = diagnostic.span.start_pos.line;
        for allow in &mut self.allows {
            let applies = match allow.target_line {
                Some(target) => target == line,
                None => !allow.misplaced,
            };
            if !applies {
                continue;
            }
            if let Some(code) = allow
                .codes
                .iter_mut()
                .find(|code| code.code == diagnostic.code)
            {
                code.used = true;
                return true;
            }
        }
        false
    }
}

/// The codes of `// catga-allow(A, B): reason` when `comment` holds `marker`.
fn codes_after(comment: &str, marker: &str) -> Option<Vec<AllowedCode>> {
    let body = comment
        .trim_start_matches('/')
        .trim_start_matches('!')
        .trim_start();
    let rest = body.strip_prefix(marker)?;
    let list = &rest[..rest.find(')')?];
    let codes = list
        .split(',')
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map(|written| match crate::rules::rule(written) {
            Some(meta) => AllowedCode {
                code: meta.code.to_string(),
                known: true,
                used: false,
            },
            None => AllowedCode {
                code: written.to_string(),
                known: false,
                used: false,
            },
        })
        .collect();
    Some(codes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Position;

    fn diagnostic_at(source: &SourceFile, code: &str, line: u32) -> Diagnostic {
        let position = Position { line, column: 1 };
        Diagnostic {
            code: code.to_string(),
            name: String::new(),
            severity: Severity::Warning,
            message: String::new(),
            path: source.path.clone(),
            span: Span {
                start: 0,
                end: 0,
                start_pos: position,
                end_pos: position,
            },
            help: None,
            fix: None,
        }
    }

    fn first_item(source: &SourceFile) -> usize {
        let file = syn::parse_file(&source.text).unwrap();
        file.items
            .first()
            .map_or(source.text.len(), |item| source.span_of(item).start)
    }

    fn remaining(text: &str, lines: &[(&str, u32)]) -> Vec<(String, u32)> {
        let source = SourceFile::new("a.rs", text);
        let diagnostics = lines
            .iter()
            .map(|(code, line)| diagnostic_at(&source, code, *line))
            .collect();
        Allows::parse(&source, first_item(&source))
            .apply(
                diagnostics,
                &|_| true,
                true,
                Some(Severity::Info),
                &source.path,
            )
            .into_iter()
            .map(|d| (d.code, d.span.start_pos.line))
            .collect()
    }

    #[test]
    fn allow_on_the_line_before_or_at_line_end_silences_that_code_only() {
        let text = "fn a() {\n    // catga-allow(CATGA005): test helper\n    x();\n    y(); // catga-allow(CATGA012)\n}\n";
        assert_eq!(
            remaining(text, &[("CATGA005", 3), ("CATGA012", 4), ("CATGA012", 3)]),
            [("CATGA012".to_string(), 3)]
        );
    }

    #[test]
    fn several_codes_and_rule_names_in_one_comment() {
        let text = "// lead\nfn a() {\n    // catga-allow(CATGA005, sync-io-in-async): both\n    x();\n}\n";
        assert!(remaining(text, &[("CATGA005", 4), ("CATGA012", 4)]).is_empty());
    }

    #[test]
    fn file_allow_in_leading_comments_silences_the_whole_file() {
        let text = "//! Module docs.\n// catga-allow-file(CATGA012)\n\nfn a() {}\nfn b() {}\n";
        assert!(remaining(text, &[("CATGA012", 4), ("CATGA012", 5)]).is_empty());
    }

    #[test]
    fn allow_that_silences_nothing_is_reported_as_unused() {
        let text = "fn a() {\n    // catga-allow(CATGA005)\n    x();\n}\n";
        assert_eq!(remaining(text, &[]), [("CATGA100".to_string(), 2)]);
    }

    #[test]
    fn file_allow_after_code_and_unknown_codes_are_reported() {
        let text =
            "fn a() {}\n// catga-allow-file(CATGA012)\n// catga-allow(CATGA999)\nfn b() {}\n";
        let got = remaining(text, &[("CATGA012", 4)]);
        assert!(got.contains(&("CATGA012".to_string(), 4)), "{got:?}");
        assert!(got.contains(&("CATGA100".to_string(), 2)), "{got:?}");
        assert!(got.contains(&("CATGA100".to_string(), 3)), "{got:?}");
    }

    #[test]
    fn allow_inside_a_multi_line_raw_string_is_not_a_comment() {
        let text =
            "const DOCS: &str = r#\"\n// catga-allow(CATGA005)\nfn x() {}\n\"#;\nfn a() {}\n";
        assert_eq!(
            remaining(text, &[("CATGA005", 3)]),
            [("CATGA005".to_string(), 3)]
        );
    }

    #[test]
    fn allow_inside_a_string_literal_is_not_a_comment() {
        let text = "fn a() { let s = \"// catga-allow(CATGA005)\"; x(); }\n";
        assert_eq!(
            remaining(text, &[("CATGA005", 1)]),
            [("CATGA005".to_string(), 1)]
        );
    }

    #[test]
    fn allows_for_rules_that_did_not_run_are_not_stale() {
        let source = SourceFile::new("a.rs", "// catga-allow(CATGA005)\nfn a() {}\n");
        let got = Allows::parse(&source, first_item(&source)).apply(
            Vec::new(),
            &|code| code != "CATGA005",
            true,
            Some(Severity::Info),
            &source.path,
        );
        assert!(got.is_empty());
    }
}
