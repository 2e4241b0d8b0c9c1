//! `catga lint --add-allow`: a `// catga-allow(CODE): TODO reason` comment above every line with
//! a finding, so a team can adopt the analyzer on a large codebase in one commit and fix the
//! findings over time (ruff's `--add-noqa`). The placeholder reason is there to be replaced.
//!
//! Each comment goes on its own line, with the indentation of the line it silences. A file
//! whose tokens would change (a finding on a line that starts inside a multi-line string) is
//! left as it is, with a note; files that do not parse get no comments.

use crate::diagnostic::Diagnostic;
use crate::error::LintError;
use crate::run::{LintOptions, lint};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The reason written into every added comment.
pub const REASON_PLACEHOLDER: &str = "TODO reason";

/// What `--add-allow` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddAllowReport {
    /// Comments added.
    pub added: usize,
    /// Files changed.
    pub files: usize,
    /// Files left alone, and why.
    pub notes: Vec<String>,
}

/// Lint as `options` say (fixes off), then add an allow comment above every line with a finding
/// and write the changed files atomically.
pub fn add_allows(options: &LintOptions) -> Result<AddAllowReport, LintError> {
    let report = lint(&LintOptions {
        fix: crate::FixMode::Off,
        diff: false,
        ..options.clone()
    })?;
    let mut by_file: BTreeMap<PathBuf, BTreeMap<u32, BTreeSet<String>>> = BTreeMap::new();
    let unparsed: BTreeSet<&PathBuf> = report
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.code == crate::rules::PARSE_ERROR.meta.code)
        .map(|diagnostic| &diagnostic.path)
        .collect();
    for diagnostic in report
        .diagnostics
        .iter()
        .filter(|diagnostic| allowable(diagnostic))
    {
        if unparsed.contains(&diagnostic.path) {
            continue;
        }
        by_file
            .entry(diagnostic.path.clone())
            .or_default()
            .entry(diagnostic.span.start_pos.line)
            .or_default()
            .insert(diagnostic.code.clone());
    }
    let mut out = AddAllowReport {
        notes: report.notes,
        ..AddAllowReport::default()
    };
    for (display, lines) in by_file {
        let path = options.root.join(&display);
        let text = std::fs::read_to_string(&path).map_err(|source| LintError::Io {
            path: path.clone(),
            source,
        })?;
        let Some(commented) = with_allows(&text, &lines) else {
            out.notes.push(format!(
                "{}: no allow comments added: a finding starts on a line inside a multi-line literal or comment",
                display.display()
            ));
            continue;
        };
        crate::fix::write_atomically(&path, commented.as_bytes()).map_err(|message| {
            LintError::Io {
                path: path.clone(),
                source: std::io::Error::other(message),
            }
        })?;
        out.added += lines.len();
        out.files += 1;
    }
    Ok(out)
}

/// Findings an allow comment can silence: not parse errors, not unused allows.
fn allowable(diagnostic: &Diagnostic) -> bool {
    diagnostic.code != crate::rules::PARSE_ERROR.meta.code
        && diagnostic.code != crate::rules::UNUSED_ALLOW.meta.code
}

/// The comment line `--add-allow` writes for `codes`, indented with `indent`, line break
/// included.
pub(crate) fn allow_comment(indent: &str, codes: &[&str]) -> String {
    format!(
        "{indent}// catga-allow({}): {REASON_PLACEHOLDER}\n",
        codes.join(", ")
    )
}

/// `text` with a comment above each of `lines` (1-based) naming its codes; `None` when the
/// comments would change the file's tokens.
pub(crate) fn with_allows(text: &str, lines: &BTreeMap<u32, BTreeSet<String>>) -> Option<String> {
    let mut out = String::with_capacity(text.len() + lines.len() * 48);
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = u32::try_from(index + 1).ok()?;
        if let Some(codes) = lines.get(&number) {
            let indent: String = line
                .chars()
                .take_while(|c| c.is_whitespace() && *c != '\n')
                .collect();
            let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
            out.push_str(&allow_comment(&indent, &codes));
        }
        out.push_str(line);
    }
    let before: proc_macro2::TokenStream = text.parse().ok()?;
    let after: proc_macro2::TokenStream = out.parse().ok()?;
    let same = before.to_string() == after.to_string();
    proc_macro2::extra::invalidate_current_thread_spans();
    same.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(entries: &[(u32, &[&str])]) -> BTreeMap<u32, BTreeSet<String>> {
        entries
            .iter()
            .map(|(line, codes)| (*line, codes.iter().map(|code| code.to_string()).collect()))
            .collect()
    }

    #[test]
    fn comments_go_above_the_line_with_its_indentation_and_every_code() {
        let text = "async fn f() {\n    std::thread::sleep(d);\n}\n";
        let got = with_allows(text, &lines(&[(2, &["CATGA012", "CATGA005"])])).unwrap();
        assert_eq!(
            got,
            "async fn f() {\n    // catga-allow(CATGA005, CATGA012): TODO reason\n    std::thread::sleep(d);\n}\n"
        );
    }

    #[test]
    fn a_line_inside_a_multi_line_string_gets_no_comment() {
        let text = "fn f() {\n    let s = \"first\nsecond\"; g();\n}\n";
        assert_eq!(with_allows(text, &lines(&[(3, &["CATGA005"])])), None);
    }
}
