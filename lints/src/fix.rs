//! The fix loop: apply non-overlapping fixes of the allowed applicability, check the result
//! parses (a fix that breaks parsing is dropped and reported), re-lint it (a round whose text
//! the engine cannot check again is dropped and reported), repeat until nothing is left to fix
//! or [`MAX_ROUNDS`] is reached; then drop the imports the fixes left unused
//! ([`crate::imports`]), kept only when that text parses and re-lints too. Display-only fixes
//! are never applied. Also atomic writes and unified diffs.

use crate::check::{CheckEnv, FileResult, check_source};
use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix};
use crate::source::SourceFile;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// Rounds of fix, re-parse, re-lint before giving up on convergence.
pub(crate) const MAX_ROUNDS: usize = 10;

/// Which fixes to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FixMode {
    /// None: report only.
    #[default]
    Off,
    /// Safe fixes (`--fix`).
    Safe,
    /// Safe and unsafe fixes (`--fix --unsafe-fixes`).
    Unsafe,
}

impl FixMode {
    fn allows(self, applicability: Applicability) -> bool {
        match self {
            FixMode::Off => false,
            FixMode::Safe => applicability == Applicability::Safe,
            FixMode::Unsafe => applicability != Applicability::DisplayOnly,
        }
    }
}

/// Whether `result` holds a fix `mode` would apply.
pub(crate) fn has_applicable_fix(result: &FileResult, mode: FixMode) -> bool {
    result.parsed && any_applicable(&result.diagnostics, mode)
}

/// Whether one of `diagnostics` has a fix `mode` would apply.
pub(crate) fn any_applicable(diagnostics: &[Diagnostic], mode: FixMode) -> bool {
    diagnostics.iter().any(|diagnostic| {
        diagnostic
            .fix
            .as_ref()
            .is_some_and(|fix| mode.allows(fix.applicability))
    })
}

/// The outcome of fixing one file.
#[derive(Debug)]
pub(crate) struct FixOutcome {
    /// The text after fixing (without byte-order mark; see `SourceFile::had_bom`).
    pub(crate) source: SourceFile,
    /// Fixes applied.
    pub(crate) applied: usize,
    /// Each fix applied: its code, the line its first edit was on when applied, its description.
    pub(crate) applied_fixes: Vec<(String, u32, String)>,
    /// The lint result of the final text.
    pub(crate) result: FileResult,
    /// Dropped fixes, non-convergence.
    pub(crate) notes: Vec<String>,
}

/// Run the fix loop on `source`, whose lint result is `initial`.
pub(crate) fn fix_source(
    source: SourceFile,
    initial: FileResult,
    mode: FixMode,
    env: CheckEnv<'_>,
) -> FixOutcome {
    let original = source.text.clone();
    let mut outcome = FixOutcome {
        source,
        applied: 0,
        applied_fixes: Vec::new(),
        result: initial,
        notes: Vec::new(),
    };
    let mut rejected: HashSet<String> = HashSet::new();
    for round in 0..MAX_ROUNDS {
        let owned: Vec<(String, Fix)> = outcome
            .result
            .diagnostics
            .iter()
            .filter_map(|diagnostic| {
                diagnostic
                    .fix
                    .clone()
                    .map(|fix| (diagnostic.code.clone(), fix))
            })
            .filter(|(code, fix)| {
                mode.allows(fix.applicability)
                    && !rejected.contains(&fix_identity(code, fix, &outcome.source))
            })
            .collect();
        let candidates: Vec<(&str, &Fix)> = owned
            .iter()
            .map(|(code, fix)| (code.as_str(), fix))
            .collect();
        let selected = select_non_overlapping(&candidates, &outcome.source.text);
        if selected.is_empty() {
            break;
        }
        let mut accepted: Vec<(&str, &Fix)> = Vec::new();
        let all: Vec<&Fix> = selected.iter().map(|(_, fix)| *fix).collect();
        match apply(&outcome.source.text, &all).filter(|text| parses(text)) {
            Some(_) => accepted = selected.clone(),
            None => {
                for (code, fix) in &selected {
                    if apply(&outcome.source.text, &[fix]).is_some_and(|text| parses(&text)) {
                        accepted.push((code, fix));
                    } else {
                        let line = fix.edits.first().map_or(0, |edit| edit.span.start_pos.line);
                        outcome.notes.push(format!(
                            "{}:{line}: dropped the {code} fix \"{}\": the result did not parse",
                            outcome.source.path.display(),
                            fix.description
                        ));
                        rejected.insert(fix_identity(code, fix, &outcome.source));
                    }
                }
                if !apply(&outcome.source.text, &fixes_of(&accepted))
                    .is_some_and(|text| parses(&text))
                {
                    accepted.truncate(1);
                }
            }
        }
        let Some(text) = apply(&outcome.source.text, &fixes_of(&accepted)) else {
            continue;
        };
        if accepted.is_empty() {
            continue;
        }
        let mut next = SourceFile::new(outcome.source.path.clone(), text);
        next.had_bom = outcome.source.had_bom;
        let relinted = check_source(&next, env);
        // The fixed text is kept only when the engine checks it again in full; otherwise this
        // round's fixes are dropped and the text of the round before stays.
        if !relinted.parsed {
            for (code, fix) in &selected {
                rejected.insert(fix_identity(code, fix, &outcome.source));
            }
            outcome.notes.push(format!(
                "{}: dropped {} fix(es): the fixed file could not be checked again",
                outcome.source.path.display(),
                accepted.len()
            ));
            continue;
        }
        outcome.result = relinted;
        outcome.source = next;
        outcome.applied += accepted.len();
        outcome
            .applied_fixes
            .extend(accepted.iter().map(|(code, fix)| {
                let line = fix.edits.first().map_or(0, |edit| edit.span.start_pos.line);
                (code.to_string(), line, fix.description.clone())
            }));
        if round + 1 == MAX_ROUNDS && has_applicable_fix(&outcome.result, mode) {
            outcome.notes.push(format!(
                "{}: fixes did not converge after {MAX_ROUNDS} rounds; the file is left as of the last round",
                outcome.source.path.display()
            ));
        }
    }
    without_imports_made_unused(&original, outcome, env)
}

/// `outcome` with the imports its fixes left unused removed, and its result re-linted.
fn without_imports_made_unused(
    original: &str,
    mut outcome: FixOutcome,
    env: CheckEnv<'_>,
) -> FixOutcome {
    if outcome.applied == 0 {
        return outcome;
    }
    let pruned = crate::imports::prune(original, &outcome.source.text);
    if pruned == outcome.source.text {
        return outcome;
    }
    if !parses(&pruned) {
        return outcome;
    }
    let mut next = SourceFile::new(outcome.source.path.clone(), pruned);
    next.had_bom = outcome.source.had_bom;
    let relinted = check_source(&next, env);
    if relinted.parsed {
        outcome.result = relinted;
        outcome.source = next;
    }
    outcome
}

/// A fix's identity across rounds: its code, the text it replaces and the replacements.
fn fix_identity(code: &str, fix: &Fix, source: &SourceFile) -> String {
    let mut identity = code.to_string();
    for edit in &fix.edits {
        identity.push('\0');
        identity.push_str(source.text_of(edit.span));
        identity.push('\0');
        identity.push_str(&edit.content);
    }
    identity
}

fn overlaps(a: &Edit, b: &Edit) -> bool {
    (a.span.start < b.span.end && b.span.start < a.span.end) || a.span.start == b.span.start
}

/// Fixes in order of their first edit, skipping any that overlaps one already chosen (or whose
/// own edits overlap or do not fit the text).
fn select_non_overlapping<'f>(
    candidates: &[(&'f str, &'f Fix)],
    text: &str,
) -> Vec<(&'f str, &'f Fix)> {
    let mut ordered = candidates.to_vec();
    ordered.sort_by_key(|(_, fix)| fix.edits.first().map_or(0, |edit| edit.span.start));
    let mut chosen_edits: Vec<&Edit> = Vec::new();
    let mut chosen = Vec::new();
    for (code, fix) in ordered {
        let valid = !fix.edits.is_empty()
            && fix.edits.iter().all(|edit| {
                edit.span.start <= edit.span.end
                    && text.is_char_boundary(edit.span.start)
                    && text.is_char_boundary(edit.span.end)
                    && edit.span.end <= text.len()
            })
            && fix
                .edits
                .iter()
                .enumerate()
                .all(|(i, a)| fix.edits[i + 1..].iter().all(|b| !overlaps(a, b)));
        if valid
            && fix
                .edits
                .iter()
                .all(|edit| chosen_edits.iter().all(|other| !overlaps(edit, other)))
        {
            chosen_edits.extend(&fix.edits);
            chosen.push((code, fix));
        }
    }
    chosen
}

fn fixes_of<'f>(coded: &[(&str, &'f Fix)]) -> Vec<&'f Fix> {
    coded.iter().map(|(_, fix)| *fix).collect()
}

/// Apply the edits of `fixes` (already known not to overlap); `None` if an edit does not fit.
fn apply(text: &str, fixes: &[&Fix]) -> Option<String> {
    crate::diagnostic::apply_edits(text, fixes.iter().flat_map(|fix| fix.edits.iter()))
}

fn parses(text: &str) -> bool {
    let ok = crate::check::too_deep_at(text).is_none() && syn::parse_file(text).is_ok();
    proc_macro2::extra::invalidate_current_thread_spans();
    ok
}

/// The file's bytes as they should be written (byte-order mark restored).
pub(crate) fn file_bytes(source: &SourceFile) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(source.text.len() + 3);
    if source.had_bom {
        bytes.extend_from_slice("\u{feff}".as_bytes());
    }
    bytes.extend_from_slice(source.text.as_bytes());
    bytes
}

/// Replace `path` with `bytes` atomically (temp file in the same directory, then rename),
/// keeping its permissions. A read-only file is refused and left intact.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let metadata =
        std::fs::metadata(path).map_err(|error| format!("{}: {error}", path.display()))?;
    if metadata.permissions().readonly() {
        return Err(format!(
            "{}: the file is read-only; fixes were not written and the file is unchanged",
            path.display()
        ));
    }
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let failed = |error: &dyn std::fmt::Display| {
        format!(
            "{}: could not write the fixed file ({error}); the file is unchanged",
            path.display()
        )
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|error| failed(&error))?;
    temp.write_all(bytes).map_err(|error| failed(&error))?;
    temp.as_file().sync_all().map_err(|error| failed(&error))?;
    std::fs::set_permissions(temp.path(), metadata.permissions())
        .map_err(|error| failed(&error))?;
    temp.persist(path).map_err(|error| failed(&error.error))?;
    Ok(())
}

/// A unified diff from `old` to `new`, labelled with `path`.
pub(crate) fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    let label = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{label}"), &format!("b/{label}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::RuleSet;
    use crate::config::Settings;
    use crate::diagnostic::{Diagnostic, Severity};

    fn diagnostic_with(source: &SourceFile, fix: Fix) -> Diagnostic {
        let span = fix.edits[0].span;
        Diagnostic {
            code: "CATGA005".into(),
            name: "blocking-call-in-async".into(),
            severity: Severity::Warning,
            message: "test".into(),
            path: source.path.clone(),
            span,
            help: None,
            fix: Some(fix),
        }
    }

    fn run_fixes(text: &str, fixes: impl Fn(&SourceFile) -> Vec<Fix>) -> FixOutcome {
        let source = SourceFile::new("a.rs", text);
        let diagnostics = fixes(&source)
            .into_iter()
            .map(|fix| diagnostic_with(&source, fix))
            .collect();
        let initial = FileResult {
            diagnostics,
            parsed: true,
            ..FileResult::default()
        };
        let settings = Settings::default();
        let rules = RuleSet::new(&settings, &[], &[]).unwrap();
        let env = CheckEnv {
            settings: &settings,
            rules: &rules,
            dependencies: None,
            test_target: false,
            module: "crate",
        };
        fix_source(source, initial, FixMode::Unsafe, env)
    }

    #[test]
    fn fix_whose_result_does_not_parse_is_dropped_with_a_note() {
        let text = "fn main() {}\nfn other() {}\n";
        let outcome = run_fixes(text, |source| {
            let brace = text.find('}').unwrap();
            let rename = text.find("other").unwrap();
            vec![
                Fix::safe(
                    "Break the file",
                    vec![Edit::delete(source.span_of_bytes(brace, brace + 1))],
                ),
                Fix::safe(
                    "Rename",
                    vec![Edit::replace(
                        source.span_of_bytes(rename, rename + 5),
                        "renamed",
                    )],
                ),
            ]
        });
        assert_eq!(outcome.source.text, "fn main() {}\nfn renamed() {}\n");
        assert_eq!(outcome.applied, 1);
        assert_eq!(outcome.notes.len(), 1, "{:?}", outcome.notes);
        assert!(
            outcome.notes[0].contains("\"Break the file\": the result did not parse"),
            "{}",
            outcome.notes[0]
        );
    }

    #[test]
    fn overlapping_fixes_keep_the_first_and_drop_the_other() {
        let text = "fn main() { let value = 1; }\n";
        let outcome = run_fixes(text, |source| {
            let at = text.find("value").unwrap();
            vec![
                Fix::safe(
                    "First",
                    vec![Edit::replace(source.span_of_bytes(at, at + 5), "first")],
                ),
                Fix::safe(
                    "Second",
                    vec![Edit::replace(source.span_of_bytes(at + 1, at + 3), "xx")],
                ),
                Fix::safe(
                    "Insert at the same point",
                    vec![Edit::insert_before(source.span_of_bytes(at, at), "_")],
                ),
            ]
        });
        assert_eq!(outcome.source.text, "fn main() { let first = 1; }\n");
        assert_eq!(outcome.applied, 1);
    }

    #[test]
    fn safe_mode_leaves_unsafe_fixes_alone() {
        assert!(FixMode::Safe.allows(Applicability::Safe));
        assert!(!FixMode::Safe.allows(Applicability::Unsafe));
        assert!(FixMode::Unsafe.allows(Applicability::Unsafe));
        assert!(!FixMode::Off.allows(Applicability::Safe));
        assert!(!FixMode::Unsafe.allows(Applicability::DisplayOnly));
    }
}
