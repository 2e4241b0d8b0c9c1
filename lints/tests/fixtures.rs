//! Fixture tests: every directory under `tests/fixtures/` is one rule's fixture (`catga005/` is
//! CATGA005) with
//! - `bad.rs`: every line where a diagnostic must start ends with `//~ CODE [CODE ...]`; the
//!   diagnostics of the run must be exactly those (missing and unexpected both fail). The run
//!   selects the fixture's rule and every code the annotations name, nothing else;
//! - `good.rs`: near-misses; no diagnostic of the fixture's rule;
//! - `bad.fixed.rs`: `bad.rs` after `--fix --unsafe-fixes`, compared byte for byte
//!   (`UPDATE_FIXTURES=1 cargo test -p catga-lints --test fixtures` rewrites it); re-linting it
//!   must leave nothing fixable (display-only suggestions aside), and it must parse;
//! - in all three, every fix carries an applicability its rule's metadata declares;
//! - optionally `catga.toml`, the configuration the fixture runs with.
//!
//! `FIXTURES=catga005,catga012` limits a run (and an `UPDATE_FIXTURES` rewrite) to those.
//!
//! Each fixture is linted inside a scratch crate whose manifest depends on tokio, so fixes that
//! need tokio are offered.

use catga_lints::{Applicability, FixAvailability, FixMode, LintOptions, LintReport, lint};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A scratch crate holding one fixture file as `src/<name>`, with the fixture's config.
struct Scratch {
    dir: tempfile::TempDir,
    file: PathBuf,
}

impl Scratch {
    fn new(fixture: &Path, name: &str, text: &str) -> Scratch {
        let dir = tempfile::tempdir().expect("create a scratch directory");
        let root = dir.path();
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"fixture\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\ntokio = { version = \"1\", features = [\"fs\", \"time\"] }\n\n[workspace]\n",
        )
        .expect("write the scratch manifest");
        let config = std::fs::read_to_string(fixture.join("catga.toml")).unwrap_or_default();
        std::fs::write(root.join("catga.toml"), config).expect("write the scratch config");
        std::fs::create_dir(root.join("src")).expect("create src/");
        let file = root.join("src").join(name);
        std::fs::write(&file, text).expect("write the fixture file");
        Scratch { dir, file }
    }

    /// Lint with only the `select`ed rules, so another rule's findings (a handler that no
    /// builder registers, an event without handlers) neither pass nor fail this fixture.
    fn lint(&self, fix: FixMode, select: &[String]) -> LintReport {
        let options = LintOptions {
            root: self.dir.path().to_path_buf(),
            paths: vec![self.file.clone()],
            select: select.to_vec(),
            fix,
            cache: false,
            ..LintOptions::default()
        };
        lint(&options).unwrap_or_else(|error| panic!("lint failed: {error}"))
    }
}

/// `(line, code)` pairs the `//~` annotations of `text` expect, with their counts.
fn expected_annotations(text: &str) -> BTreeMap<(u32, String), usize> {
    let mut expected = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let Some((_, codes)) = line.split_once("//~") else {
            continue;
        };
        for code in codes.split_whitespace() {
            *expected
                .entry((
                    u32::try_from(index + 1).unwrap_or(u32::MAX),
                    code.to_string(),
                ))
                .or_insert(0) += 1;
        }
    }
    expected
}

fn describe(report: &LintReport) -> BTreeMap<(u32, String), Vec<String>> {
    let mut found: BTreeMap<(u32, String), Vec<String>> = BTreeMap::new();
    for diagnostic in &report.diagnostics {
        found
            .entry((diagnostic.span.start_pos.line, diagnostic.code.clone()))
            .or_default()
            .push(format!(
                "{}:{}: {}",
                diagnostic.span.start_pos.line,
                diagnostic.span.start_pos.column,
                diagnostic.message
            ));
    }
    found
}

/// The rules a run of `bad.rs` selects: the fixture's own and every code its annotations name.
fn selected_codes(code: &str, text: &str) -> Vec<String> {
    let mut codes: Vec<String> = expected_annotations(text)
        .into_keys()
        .map(|(_, annotated)| annotated)
        .chain([code.to_string()])
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

/// Every fix in `report` carries an applicability its rule's metadata declares, a rule that
/// declares no fix emits none, and a rule whose fix is `Always` available fixes every finding:
/// so `catga rules`, `catga explain`, docs/rules.md and SARIF tell the truth about fixes.
fn check_declared_fixes(file: &str, report: &LintReport) -> Result<(), String> {
    let mut problems = String::new();
    for diagnostic in &report.diagnostics {
        let Some(meta) = catga_lints::rule(&diagnostic.code) else {
            let _ = writeln!(problems, "  {file}: unknown code {}", diagnostic.code);
            continue;
        };
        let line = diagnostic.span.start_pos.line;
        match &diagnostic.fix {
            Some(fix) if !meta.fix_applicabilities.contains(&fix.applicability) => {
                let _ = writeln!(
                    problems,
                    "  {file}:{line}: {} emitted a {:?} fix \"{}\", but its metadata declares {:?} {:?}",
                    diagnostic.code,
                    fix.applicability,
                    fix.description,
                    meta.fix,
                    meta.fix_applicabilities
                );
            }
            None if meta.fix == FixAvailability::Always => {
                let _ = writeln!(
                    problems,
                    "  {file}:{line}: {} declares a fix always available, but emitted none",
                    diagnostic.code
                );
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("fixes their rules do not declare:\n{problems}"))
    }
}

/// Compare annotations with diagnostics; the error lists every difference.
fn check_bad(fixture: &Path, code: &str, text: &str) -> Result<(), String> {
    let report =
        Scratch::new(fixture, "bad.rs", text).lint(FixMode::Off, &selected_codes(code, text));
    check_declared_fixes("bad.rs", &report)?;
    let expected = expected_annotations(text);
    if expected.is_empty() {
        return Err("bad.rs has no `//~ CODE` annotations".to_string());
    }
    let found = describe(&report);
    let mut problems = String::new();
    for (key, count) in &expected {
        let got = found.get(key).map_or(0, Vec::len);
        if got < *count {
            let _ = writeln!(
                problems,
                "  missing: line {} expects {} x{}, found {got}",
                key.0, key.1, count
            );
        }
    }
    for (key, messages) in &found {
        let want = expected.get(key).copied().unwrap_or(0);
        if messages.len() > want {
            let _ = writeln!(
                problems,
                "  unexpected {} at {}",
                key.1,
                messages.join(" | ")
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("bad.rs:\n{problems}"))
    }
}

fn check_good(fixture: &Path, code: &str, text: &str) -> Result<(), String> {
    let report = Scratch::new(fixture, "good.rs", text).lint(FixMode::Off, &[code.to_string()]);
    check_declared_fixes("good.rs", &report)?;
    let unexpected: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.code == code || diagnostic.code == "CATGA000")
        .map(|diagnostic| {
            format!(
                "  {}:{}: {} {}",
                diagnostic.span.start_pos.line,
                diagnostic.span.start_pos.column,
                diagnostic.code,
                diagnostic.message
            )
        })
        .collect();
    if unexpected.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "good.rs must not trigger {code}:\n{}",
            unexpected.join("\n")
        ))
    }
}

fn check_fixed(fixture: &Path, code: &str, text: &str) -> Result<(), String> {
    let select = selected_codes(code, text);
    let scratch = Scratch::new(fixture, "bad.rs", text);
    let report = scratch.lint(FixMode::Unsafe, &select);
    if !report.notes.is_empty() {
        return Err(format!(
            "fixing bad.rs left notes:\n  {}",
            report.notes.join("\n  ")
        ));
    }
    let fixed = std::fs::read_to_string(&scratch.file)
        .map_err(|error| format!("read fixed bad.rs: {error}"))?;
    let snapshot = fixture.join("bad.fixed.rs");
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(&snapshot, &fixed)
            .map_err(|error| format!("write {}: {error}", snapshot.display()))?;
    } else {
        let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
        if expected != fixed {
            let diff = similar::TextDiff::from_lines(&expected, &fixed)
                .unified_diff()
                .header("bad.fixed.rs", "fixed bad.rs")
                .to_string();
            return Err(format!(
                "bad.fixed.rs differs from the fixed bad.rs (UPDATE_FIXTURES=1 to accept):\n{diff}"
            ));
        }
    }
    syn::parse_file(&fixed).map_err(|error| format!("the fixed bad.rs does not parse: {error}"))?;
    let again = Scratch::new(fixture, "bad.rs", &fixed).lint(FixMode::Off, &select);
    check_declared_fixes("bad.fixed.rs", &again)?;
    let fixable: Vec<String> = again
        .diagnostics
        .iter()
        .filter(|diagnostic| {
            diagnostic
                .fix
                .as_ref()
                .is_some_and(|fix| fix.applicability != Applicability::DisplayOnly)
                || diagnostic.code == "CATGA000"
        })
        .map(|diagnostic| {
            format!(
                "  {}:{} {} {}",
                diagnostic.span.start_pos.line,
                diagnostic.span.start_pos.column,
                diagnostic.code,
                diagnostic.message
            )
        })
        .collect();
    if fixable.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "after fixing, still fixable:\n{}",
            fixable.join("\n")
        ))
    }
}

#[test]
fn every_fixture_matches_its_annotations_near_misses_and_fixed_snapshot() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("read tests/fixtures")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no fixtures found");
    if let Ok(only) = std::env::var("FIXTURES") {
        let wanted: Vec<&str> = only.split(',').map(str::trim).collect();
        dirs.retain(|dir| {
            dir.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| wanted.contains(&name))
        });
    }
    let mut failures = String::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        let code = name.to_uppercase();
        if catga_lints::rule(&code).is_none() {
            let _ = writeln!(failures, "{name}: no rule has code {code}");
            continue;
        }
        let read = |file: &str| {
            std::fs::read_to_string(dir.join(file)).map_err(|error| format!("{file}: {error}"))
        };
        let results = [
            read("bad.rs").and_then(|text| check_bad(dir, &code, &text)),
            read("good.rs").and_then(|text| check_good(dir, &code, &text)),
            read("bad.rs").and_then(|text| check_fixed(dir, &code, &text)),
        ];
        for error in results.into_iter().filter_map(Result::err) {
            let _ = writeln!(failures, "[{name}] {error}");
        }
    }
    assert!(failures.is_empty(), "fixture failures:\n{failures}");
}

#[test]
fn annotations_list_one_or_more_codes_per_line() {
    let expected = expected_annotations("a(); //~ CATGA005\nb();\nc(); //~ CATGA005 CATGA012\n");
    let keys: Vec<(u32, &str)> = expected
        .keys()
        .map(|(line, code)| (*line, code.as_str()))
        .collect();
    assert_eq!(keys, [(1, "CATGA005"), (3, "CATGA005"), (3, "CATGA012")]);
}

/// The diagnostics of a run as a reviewer reads them: place, code, severity, message, help and
/// fix, one finding after another.
fn rendered(report: &LintReport) -> String {
    let mut out = String::new();
    for diagnostic in &report.diagnostics {
        let _ = writeln!(
            out,
            "{}:{} {} {}\n  {}",
            diagnostic.span.start_pos.line,
            diagnostic.span.start_pos.column,
            diagnostic.code,
            diagnostic.severity,
            diagnostic.message
        );
        if let Some(help) = &diagnostic.help {
            let _ = writeln!(out, "  help: {help}");
        }
        if let Some(fix) = &diagnostic.fix {
            let _ = writeln!(
                out,
                "  fix ({}): {}",
                catga_lints::output::applicability_str(fix.applicability),
                fix.description
            );
        }
    }
    out
}

/// Every fixture's findings on `bad.rs`, as rendered, are pinned by an insta snapshot
/// (`tests/snapshots/fixtures__<fixture>.snap`; review changes with `cargo insta review`, or
/// accept them with `INSTA_UPDATE=always`), as clippy pins its `.stderr` files.
#[test]
fn every_fixture_pins_its_rendered_messages() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("read tests/fixtures")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    for dir in &dirs {
        let name = dir
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default()
            .to_string();
        let text = std::fs::read_to_string(dir.join("bad.rs")).expect("read bad.rs");
        let code = name.to_uppercase();
        let report =
            Scratch::new(dir, "bad.rs", &text).lint(FixMode::Off, &selected_codes(&code, &text));
        insta::assert_snapshot!(name, rendered(&report));
    }
}
