//! Lint one file's text: decode, parse, walk with every enabled rule, apply suppressions.
//! Never panics: text that is not UTF-8 or not Rust becomes one CATGA000 diagnostic.

use crate::config::Settings;
use crate::context::{HookTable, walk_file};
use crate::diagnostic::{Diagnostic, Severity};
use crate::error::LintError;
use crate::facts::FileFacts;
use crate::rule::{FileEnv, Rule};
use crate::source::SourceFile;
use crate::suppress::Allows;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

/// The rules a run uses, with their configured severities.
#[derive(Debug)]
pub(crate) struct RuleSet {
    hooks: HookTable,
    enabled: BTreeSet<&'static str>,
    parse_error: Option<Severity>,
    unused_allow: Option<Severity>,
}

impl RuleSet {
    /// Apply config `select`/`ignore`/`severity`, then the command line's: `--select` replaces
    /// the config's selection and wins over its `ignore`; `--ignore` removes codes. CATGA000
    /// parse-error is on unless ignored explicitly.
    pub(crate) fn new(
        settings: &Settings,
        select: &[String],
        ignore: &[String],
    ) -> Result<RuleSet, LintError> {
        let cli_codes =
            |codes: &[String], origin: &str| -> Result<BTreeSet<&'static str>, LintError> {
                codes
                    .iter()
                    .map(|code| {
                        crate::rules::rule(code)
                            .map(|meta| meta.code)
                            .ok_or_else(|| LintError::UnknownCode {
                                code: code.clone(),
                                origin: origin.to_string(),
                            })
                    })
                    .collect()
            };
        let cli_select = cli_codes(select, "--select")?;
        let cli_ignore = cli_codes(ignore, "--ignore")?;
        let all = || {
            crate::rules::RULES
                .iter()
                .map(|rule| rule.meta.code)
                .collect::<BTreeSet<_>>()
        };
        let mut enabled: BTreeSet<&'static str> = if !cli_select.is_empty() {
            cli_select.clone()
        } else if let Some(config_select) = &settings.select {
            all()
                .into_iter()
                .filter(|code| config_select.iter().any(|selected| selected == code))
                .collect()
        } else {
            all()
        };
        // A file nothing could check is always worth knowing about: parse errors are reported
        // whatever the selection, unless ignored explicitly.
        enabled.insert(crate::rules::PARSE_ERROR.meta.code);
        enabled.retain(|code| {
            !cli_ignore.contains(code)
                && (cli_select.contains(code)
                    || !settings.ignore.iter().any(|ignored| ignored == code))
        });
        let severity_of = |rule: &Rule| {
            settings
                .severity
                .get(rule.meta.code)
                .copied()
                .unwrap_or(rule.meta.severity)
        };
        let rules: Vec<(&'static Rule, Severity)> = crate::rules::RULES
            .iter()
            .copied()
            .filter(|rule| enabled.contains(rule.meta.code))
            .map(|rule| (rule, severity_of(rule)))
            .collect();
        let engine_severity =
            |rule: &Rule| enabled.contains(rule.meta.code).then(|| severity_of(rule));
        Ok(RuleSet {
            hooks: HookTable::new(&rules),
            parse_error: engine_severity(&crate::rules::PARSE_ERROR),
            unused_allow: engine_severity(&crate::rules::UNUSED_ALLOW),
            enabled,
        })
    }

    /// Whether the rule with this code runs.
    pub(crate) fn is_enabled(&self, code: &str) -> bool {
        self.enabled.contains(code)
    }

    /// The enabled cross-file rules, with their severities.
    pub(crate) fn workspace_rules(&self) -> &[(&'static Rule, Severity)] {
        &self.hooks.workspace
    }

    /// Whether the rule with this code runs in the per-file pass (enabled, not cross-file).
    fn runs_per_file(&self, code: &str) -> bool {
        self.is_enabled(code)
            && !self
                .hooks
                .workspace
                .iter()
                .any(|(rule, _)| rule.meta.code == code)
    }

    /// The severity of CATGA100 unused-allow, when enabled.
    pub(crate) fn unused_allow(&self) -> Option<Severity> {
        self.unused_allow
    }

    /// The enabled codes, for cache keys.
    pub(crate) fn enabled_codes(&self) -> &BTreeSet<&'static str> {
        &self.enabled
    }
}

/// What linting one file produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileResult {
    /// Sorted by line, column, code.
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) facts: FileFacts,
    /// The file's suppression comments, for the cross-file rules' diagnostics.
    pub(crate) allows: Allows,
    /// Whether the text was UTF-8 and parsed (a file that did not is never rewritten).
    pub(crate) parsed: bool,
}

/// Everything one file's check needs besides its text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckEnv<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) rules: &'a RuleSet,
    pub(crate) dependencies: Option<&'a BTreeSet<String>>,
    pub(crate) test_target: bool,
    /// The module the file is (`shop::orders`).
    pub(crate) module: &'a str,
}

/// Lint raw bytes; returns the decoded source (when UTF-8) and the result.
pub(crate) fn check_bytes(
    bytes: Vec<u8>,
    display: &Path,
    env: CheckEnv<'_>,
) -> (Option<SourceFile>, FileResult) {
    match String::from_utf8(bytes) {
        Ok(text) => {
            let source = SourceFile::new(display, text);
            let result = check_source(&source, env);
            (Some(source), result)
        }
        Err(error) => {
            let valid_up_to = error.utf8_error().valid_up_to();
            let lossy = SourceFile::new(
                display,
                String::from_utf8_lossy(error.as_bytes()).into_owned(),
            );
            let at = lossy.span_of_bytes(valid_up_to, valid_up_to);
            let mut diagnostics = Vec::new();
            if let Some(severity) = env.rules.parse_error {
                diagnostics.push(parse_error(
                    &lossy,
                    at,
                    severity,
                    format!("file is not valid UTF-8 (invalid byte at offset {valid_up_to})"),
                    "save the file as UTF-8, or exclude it with `exclude` in catga.toml",
                ));
            }
            (
                None,
                FileResult {
                    diagnostics,
                    facts: FileFacts::default(),
                    allows: Allows::default(),
                    parsed: false,
                },
            )
        }
    }
}

/// Deepest bracket nesting the parser is given; deeper files get CATGA000 instead of risking
/// the parser's recursion overflowing the stack.
const MAX_NESTING: usize = 256;

/// The offset of the first bracket nested deeper than [`MAX_NESTING`] (literals and comments
/// skipped).
pub(crate) fn too_deep_at(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut too_deep = None;
    crate::scan::scan(text, |token| {
        match token {
            crate::scan::Token::Open(offset) => {
                depth += 1;
                if depth > MAX_NESTING {
                    too_deep = Some(offset);
                    return false;
                }
            }
            crate::scan::Token::Close(_) => depth = depth.saturating_sub(1),
            crate::scan::Token::LineComment { .. } => {}
        }
        true
    });
    too_deep
}

/// Lint decoded text.
pub(crate) fn check_source(source: &SourceFile, env: CheckEnv<'_>) -> FileResult {
    if let Some(offset) = too_deep_at(&source.text) {
        let mut diagnostics = Vec::new();
        if let Some(severity) = env.rules.parse_error {
            let at = source.span_of_bytes(offset, offset);
            diagnostics.push(parse_error(source, at, severity, format!("brackets nest deeper than {MAX_NESTING} levels here; the file is not analyzed"), "split the expression, or exclude the file (generated code?) with `exclude` in catga.toml"));
        }
        return FileResult {
            diagnostics,
            facts: FileFacts::default(),
            allows: Allows::default(),
            parsed: false,
        };
    }
    let result = match syn::parse_file(&source.text) {
        Ok(file) => {
            let file_env = FileEnv {
                source,
                settings: env.settings,
                dependencies: env.dependencies,
                test_file: env.test_target,
                module: env.module,
            };
            let (diagnostics, facts) = walk_file(&file, &file_env, &env.rules.hooks);
            // File-wide allows must come before the first item (its attributes included).
            let first_item = file
                .items
                .first()
                .map_or(source.text.len(), |item| source.span_of(item).start);
            drop(file);
            let allows = Allows::parse(source, first_item);
            // Allows of cross-file codes are judged in the workspace pass, where those run.
            let enabled = |code: &str| env.rules.runs_per_file(code);
            let diagnostics = allows.clone().apply(
                diagnostics,
                &enabled,
                true,
                env.rules.unused_allow,
                &source.path,
            );
            FileResult {
                diagnostics,
                facts,
                allows,
                parsed: true,
            }
        }
        Err(error) => {
            let mut diagnostics = Vec::new();
            if let Some(severity) = env.rules.parse_error {
                let at = source.span_from(error.span()).start;
                let (at, what) = match lex_error(&source.text, at, &error) {
                    Some((at, what)) => (at, what),
                    None => (at, error.to_string()),
                };
                let at = source.span_of_bytes(at, at);
                diagnostics.push(parse_error(
                    source,
                    at,
                    severity,
                    format!("could not parse this file as Rust: {what}"),
                    "fix the syntax error; no other rule checked this file",
                ));
            }
            FileResult {
                diagnostics,
                facts: FileFacts::default(),
                allows: Allows::default(),
                parsed: false,
            }
        }
    };
    // Spans of this file are no longer needed: free proc-macro2's per-thread source map, which
    // otherwise grows with every file parsed on this thread.
    proc_macro2::extra::invalidate_current_thread_spans();
    let mut result = result;
    result.diagnostics.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.message.cmp(&b.message))
    });
    result
}

/// For an error of syn's tokenizer ("cannot parse string into token stream", at `at`): where
/// the problem is and what it is, in rustc's words.
fn lex_error(text: &str, at: usize, error: &syn::Error) -> Option<(usize, String)> {
    if !error
        .to_string()
        .contains("cannot parse string into token stream")
    {
        return None;
    }
    // Delimiters first: an unclosed or mismatched one is found from the start of the file.
    let mut open: Vec<usize> = Vec::new();
    let mut found = None;
    crate::scan::scan(text, |token| {
        match token {
            crate::scan::Token::Open(offset) => open.push(offset),
            crate::scan::Token::Close(offset) => {
                let closer = text.as_bytes()[offset];
                let matches = open.pop().is_some_and(|opener| {
                    matches!(
                        (text.as_bytes()[opener], closer),
                        (b'(', b')') | (b'[', b']') | (b'{', b'}')
                    )
                });
                if !matches {
                    found = Some((
                        offset,
                        format!("mismatched closing delimiter: `{}`", closer as char),
                    ));
                    return false;
                }
            }
            crate::scan::Token::LineComment { .. } => {}
        }
        true
    });
    let rest = text.get(at..)?;
    let what = if rest.starts_with("/*") {
        "unterminated block comment".to_string()
    } else if rest.starts_with('"') || rest.starts_with("r\"") || rest.starts_with("r#") {
        "unterminated double quote string".to_string()
    } else if rest.starts_with("b\"") || rest.starts_with("br") {
        "unterminated double quote byte string".to_string()
    } else if rest.starts_with('\'') {
        "unterminated character literal".to_string()
    } else if let Some(found) = found {
        return Some(found);
    } else if let Some(&innermost) = open.last() {
        return Some((
            innermost,
            "this file contains an unclosed delimiter".to_string(),
        ));
    } else {
        let token = rest.chars().next()?;
        if token.is_ascii() {
            format!("unknown start of token: {token}")
        } else {
            format!("unknown start of token: \\u{{{:x}}}", u32::from(token))
        }
    };
    Some((at, what))
}

fn parse_error(
    source: &SourceFile,
    span: crate::diagnostic::Span,
    severity: Severity,
    message: String,
    help: &str,
) -> Diagnostic {
    let meta = crate::rules::PARSE_ERROR.meta;
    Diagnostic {
        code: meta.code.to_string(),
        name: meta.name.to_string(),
        severity,
        message,
        path: source.path.clone(),
        span,
        help: Some(help.to_string()),
        fix: None,
    }
}

/// Lint `text` with every rule and default settings, as a crate depending on `dependencies`
/// (for rule unit tests).
#[cfg(test)]
pub(crate) fn diagnostics_for_test(text: &str, dependencies: &[&str]) -> Vec<Diagnostic> {
    let settings = Settings::default();
    let rules = RuleSet::new(&settings, &[], &[]).expect("default rules");
    let dependencies: BTreeSet<String> = dependencies.iter().map(|name| name.to_string()).collect();
    let env = CheckEnv {
        settings: &settings,
        rules: &rules,
        dependencies: Some(&dependencies),
        test_target: false,
        module: "crate",
    };
    check_source(&SourceFile::new("test.rs", text), env).diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &[u8]) -> FileResult {
        let settings = Settings::default();
        let rules = RuleSet::new(&settings, &[], &[]).unwrap();
        check_bytes(
            text.to_vec(),
            Path::new("a.rs"),
            CheckEnv {
                settings: &settings,
                rules: &rules,
                dependencies: None,
                test_target: false,
                module: "crate",
            },
        )
        .1
    }

    #[test]
    fn unparseable_file_gives_one_parse_error_at_the_failure() {
        let result = check(b"fn ok() {}\nfn broken( {\n");
        assert!(!result.parsed);
        assert_eq!(result.diagnostics.len(), 1);
        assert_eq!(result.diagnostics[0].code, "CATGA000");
        assert_eq!(result.diagnostics[0].span.start_pos.line, 2);
    }

    #[test]
    fn tokenizer_errors_are_worded_as_rustc_words_them_at_their_line() {
        let message = |text: &str| {
            let result = check(text.as_bytes());
            let diagnostic = &result.diagnostics[0];
            (
                diagnostic.span.start_pos.line,
                diagnostic
                    .message
                    .trim_start_matches("could not parse this file as Rust: ")
                    .to_string(),
            )
        };
        assert_eq!(
            message("fn a() {}\nfn b() { let s = \"abc; }\n"),
            (2, "unterminated double quote string".to_string())
        );
        assert_eq!(
            message("fn a() {}\n/* open\nfn b() {}\n"),
            (2, "unterminated block comment".to_string())
        );
        assert_eq!(
            message("fn a() {}\nfn b() {\n    (1, 2]\n}\n"),
            (3, "mismatched closing delimiter: `]`".to_string())
        );
        assert_eq!(
            message("fn a() {}\nfn b() {\n"),
            (2, "this file contains an unclosed delimiter".to_string())
        );
        assert_eq!(
            message("fn a() {}\nfn b() { let x = 1 \u{a7} 2; }\n"),
            (2, "unknown start of token: \\u{a7}".to_string())
        );
    }

    #[test]
    fn non_utf8_file_gives_a_parse_error_naming_the_offset() {
        let result = check(b"fn a() {}\n\xff\xfe");
        assert_eq!(result.diagnostics.len(), 1);
        assert!(
            result.diagnostics[0].message.contains("offset 10"),
            "{}",
            result.diagnostics[0].message
        );
        assert_eq!(result.diagnostics[0].span.start_pos.line, 2);
    }

    #[test]
    fn absurdly_deep_nesting_is_a_parse_error_not_a_stack_overflow() {
        let result = check(
            format!(
                "fn f() {{ {}1{} }}",
                "(".repeat(100_000),
                ")".repeat(100_000)
            )
            .as_bytes(),
        );
        assert_eq!(result.diagnostics.len(), 1);
        assert!(
            result.diagnostics[0].message.contains("nest deeper"),
            "{}",
            result.diagnostics[0].message
        );
        let fine = check(b"fn f() { let s = \"((((\"; let c = '('; }");
        assert!(fine.parsed);
    }

    #[test]
    fn empty_file_lints_clean() {
        let result = check(b"");
        assert!(result.parsed && result.diagnostics.is_empty());
    }

    #[test]
    fn command_line_select_wins_over_config_ignore_and_ignore_removes() {
        let settings = Settings {
            ignore: vec!["CATGA005".into()],
            ..Settings::default()
        };
        assert!(
            !RuleSet::new(&settings, &[], &[])
                .unwrap()
                .is_enabled("CATGA005")
        );
        assert!(
            RuleSet::new(&settings, &["CATGA005".into()], &[])
                .unwrap()
                .is_enabled("CATGA005")
        );
        assert!(
            !RuleSet::new(&Settings::default(), &[], &["catga012".into()])
                .unwrap()
                .is_enabled("CATGA012")
        );
        let only_005 = RuleSet::new(&Settings::default(), &["CATGA005".into()], &[]).unwrap();
        assert!(only_005.is_enabled("CATGA000") && !only_005.is_enabled("CATGA012"));
        assert!(
            !RuleSet::new(&Settings::default(), &[], &["CATGA000".into()])
                .unwrap()
                .is_enabled("CATGA000")
        );
        let error = RuleSet::new(&Settings::default(), &["CATGA999".into()], &[]).unwrap_err();
        assert!(error.to_string().contains("--select"), "{error}");
    }
}
