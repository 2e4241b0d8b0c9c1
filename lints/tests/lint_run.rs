//! `lint` end to end on scratch projects: the fix loop, `diff`, read-only files, the cache,
//! suppression, config errors and discovery through cargo metadata.

use catga_lints::{FixMode, LintError, LintOptions, LintReport, Severity, lint};
use std::path::{Path, PathBuf};

const BLOCKING: &str = "use std::thread;\nuse std::time::Duration;\n\npub async fn handle() {\n    thread::sleep(Duration::from_millis(1));\n    std::fs::read_to_string(\"x\").ok();\n}\n";

/// A scratch package depending on tokio (never resolved) with `src/lib.rs` = `text`.
fn project(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("scratch dir");
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[dependencies]\ntokio = { version = \"1\", features = [\"fs\", \"time\"] }\n\n[workspace]\n",
    )
    .expect("manifest");
    std::fs::create_dir(dir.path().join("src")).expect("src");
    let file = dir.path().join("src/lib.rs");
    std::fs::write(&file, text).expect("lib.rs");
    (dir, file)
}

fn run(root: &Path, fix: FixMode, diff: bool, cache: bool) -> LintReport {
    let options = LintOptions {
        root: root.to_path_buf(),
        fix,
        diff,
        cache,
        ..LintOptions::default()
    };
    lint(&options).unwrap_or_else(|error| panic!("lint failed: {error}"))
}

fn codes(report: &LintReport) -> Vec<(String, u32)> {
    report
        .diagnostics
        .iter()
        .map(|d| (d.code.clone(), d.span.start_pos.line))
        .collect()
}

#[test]
fn workspace_is_discovered_through_cargo_metadata_with_relative_paths() {
    let (dir, _) = project(BLOCKING);
    let report = run(dir.path(), FixMode::Off, false, false);
    assert_eq!(report.files_scanned, 1);
    assert_eq!(
        codes(&report),
        [("CATGA005".to_string(), 5), ("CATGA012".to_string(), 6)]
    );
    assert_eq!(report.diagnostics[0].path, Path::new("src/lib.rs"));
    assert_eq!(
        report.diagnostics[0].message,
        "std::thread::sleep blocks the executor thread inside async fn `handle`"
    );
}

#[test]
fn fix_rewrites_and_a_second_fix_run_finds_nothing_to_fix() {
    let (dir, file) = project(BLOCKING);
    let report = run(dir.path(), FixMode::Safe, false, false);
    assert_eq!(report.fixed, 2);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let fixed = std::fs::read_to_string(&file).unwrap();
    assert!(
        fixed.contains("tokio::time::sleep(Duration::from_millis(1)).await;"),
        "{fixed}"
    );
    assert!(
        fixed.contains("tokio::fs::read_to_string(\"x\").await.ok();"),
        "{fixed}"
    );
    let again = run(dir.path(), FixMode::Safe, false, false);
    assert_eq!(again.fixed, 0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), fixed);
}

#[test]
fn fixes_need_a_tokio_dependency() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catga.toml"), "").unwrap();
    let file = dir.path().join("loose.rs");
    std::fs::write(&file, BLOCKING).unwrap();
    let options = LintOptions {
        root: dir.path().to_path_buf(),
        paths: vec![file.clone()],
        fix: FixMode::Unsafe,
        ..LintOptions::default()
    };
    let report = lint(&options).unwrap();
    assert_eq!(report.fixed, 0);
    assert_eq!(report.diagnostics.len(), 2);
    assert!(report.diagnostics.iter().all(|d| d.fix.is_none()));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), BLOCKING);
}

#[test]
fn diff_returns_a_unified_diff_and_writes_nothing() {
    let (dir, file) = project(BLOCKING);
    let report = run(dir.path(), FixMode::Safe, true, false);
    assert_eq!(report.fixed, 2);
    assert_eq!(report.diffs.len(), 1);
    let diff = &report.diffs[0];
    assert_eq!(diff.path, Path::new("src/lib.rs"));
    assert!(
        diff.text
            .contains("-    thread::sleep(Duration::from_millis(1));"),
        "{}",
        diff.text
    );
    assert!(
        diff.text
            .contains("+    tokio::time::sleep(Duration::from_millis(1)).await;"),
        "{}",
        diff.text
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), BLOCKING);
}

#[test]
fn read_only_file_is_left_intact_with_a_note() {
    let (dir, file) = project(BLOCKING);
    let mut permissions = std::fs::metadata(&file).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&file, permissions).unwrap();
    let report = run(dir.path(), FixMode::Safe, false, false);
    assert_eq!(report.fixed, 0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), BLOCKING);
    assert_eq!(
        report.diagnostics.len(),
        2,
        "the unfixed diagnostics remain"
    );
    assert!(
        report.notes.iter().any(|note| note.contains("read-only")),
        "{:?}",
        report.notes
    );
}

#[test]
fn fixed_file_keeps_its_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, file) = project(BLOCKING);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    run(dir.path(), FixMode::Safe, false, false);
    assert_ne!(std::fs::read_to_string(&file).unwrap(), BLOCKING);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o640
    );
}

#[test]
fn warm_run_takes_results_from_the_cache_and_an_edit_invalidates_them() {
    let (dir, file) = project(BLOCKING);
    let cold = run(dir.path(), FixMode::Off, false, true);
    let cache_file = cold.cache_file.clone().expect("the cache is on");
    assert!(
        cache_file.starts_with(dir.path()) || std::env::var_os("CARGO_TARGET_DIR").is_some(),
        "the cache lives in the project's target directory: {}",
        cache_file.display()
    );
    // Prove the warm run reads the cache: doctor the cached message and see it come back.
    let cached = std::fs::read_to_string(&cache_file).unwrap();
    let doctored = cached.replace("blocks the executor thread", "CACHED");
    std::fs::write(&cache_file, &doctored).unwrap();
    let warm = run(dir.path(), FixMode::Off, false, true);
    assert_eq!(codes(&warm), codes(&cold));
    assert!(
        warm.diagnostics[0].message.contains("CACHED"),
        "{}",
        warm.diagnostics[0].message
    );
    // Any edit changes the key: the file is linted again.
    std::fs::write(&file, format!("{BLOCKING}\n")).unwrap();
    let edited = run(dir.path(), FixMode::Off, false, true);
    assert!(!edited.diagnostics[0].message.contains("CACHED"));
    // A corrupt cache file is ignored.
    std::fs::write(&cache_file, b"\0garbage").unwrap();
    assert_eq!(
        codes(&run(dir.path(), FixMode::Off, false, true)),
        codes(&cold)
    );
}

#[test]
fn suppression_comments_silence_and_stale_ones_are_reported() {
    let text = "use std::thread;\nuse std::time::Duration;\n\npub async fn handle() {\n    // catga-allow(CATGA005): measured, harmless here\n    thread::sleep(Duration::from_millis(1));\n    // catga-allow(CATGA012)\n    let x = 1;\n}\n";
    let (dir, _) = project(text);
    let report = run(dir.path(), FixMode::Off, false, false);
    assert_eq!(codes(&report), [("CATGA100".to_string(), 7)]);
}

#[test]
fn config_errors_and_unknown_codes_stop_the_run() {
    let (dir, _) = project(BLOCKING);
    std::fs::write(
        dir.path().join("catga.toml"),
        "select = [\"CATGA005\"]\nfail_on = \"sometimes\"\n",
    )
    .unwrap();
    match lint(&LintOptions {
        root: dir.path().to_path_buf(),
        ..LintOptions::default()
    }) {
        Err(LintError::Config {
            line,
            column,
            message,
            ..
        }) => {
            assert_eq!((line, column), (2, 11));
            assert!(message.contains("error, warning, info"), "{message}");
        }
        other => panic!("expected a config error, got {other:?}"),
    }
    std::fs::write(dir.path().join("catga.toml"), "").unwrap();
    let options = LintOptions {
        root: dir.path().to_path_buf(),
        ignore: vec!["CATGA404".into()],
        ..LintOptions::default()
    };
    assert!(matches!(lint(&options), Err(LintError::UnknownCode { .. })));
    let options = LintOptions {
        root: dir.path().to_path_buf(),
        paths: vec!["missing.rs".into()],
        ..LintOptions::default()
    };
    assert!(matches!(lint(&options), Err(LintError::MissingPath { .. })));
}

#[test]
fn select_severity_and_fail_on_come_from_config() {
    let (dir, _) = project(BLOCKING);
    std::fs::write(
        dir.path().join("catga.toml"),
        "select = [\"CATGA005\"]\nseverity = { CATGA005 = \"error\" }\nfail_on = \"info\"\n",
    )
    .unwrap();
    let report = run(dir.path(), FixMode::Off, false, false);
    assert_eq!(codes(&report), [("CATGA005".to_string(), 5)]);
    assert_eq!(report.diagnostics[0].severity, catga_lints::Severity::Error);
    assert_eq!(report.fail_on, Some(catga_lints::Severity::Info));
}

#[test]
fn an_unknown_code_in_an_allow_is_reported_once() {
    let (dir, _file) = project("// catga-allow(CATGA999): no such rule\npub fn f() {}\n");
    let report = run(dir.path(), FixMode::Off, false, false);
    let unknown: Vec<&str> = report
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.message.contains("unknown rule"))
        .map(|diagnostic| diagnostic.message.as_str())
        .collect();
    assert_eq!(unknown, ["`catga-allow` names unknown rule `CATGA999`"]);
}

#[test]
fn add_allow_silences_every_finding_with_a_placeholder_reason_and_a_second_run_is_clean() {
    let (dir, file) = project(BLOCKING);
    let added = catga_lints::add_allows(&LintOptions {
        root: dir.path().to_path_buf(),
        cache: false,
        ..LintOptions::default()
    })
    .unwrap_or_else(|error| panic!("add_allows failed: {error}"));
    assert_eq!((added.added, added.files), (2, 1), "{added:?}");
    let text = std::fs::read_to_string(&file).expect("read back");
    assert!(
        text.contains("    // catga-allow(CATGA005): TODO reason\n    thread::sleep("),
        "{text}"
    );
    assert!(
        text.contains("    // catga-allow(CATGA012): TODO reason\n    std::fs::read_to_string("),
        "{text}"
    );
    let again = run(dir.path(), FixMode::Off, false, false);
    assert!(again.diagnostics.is_empty(), "{:?}", again.diagnostics);
}

#[test]
fn test_code_findings_get_the_configured_test_severity() {
    let text = "pub async fn serve() {\n    std::thread::sleep(std::time::Duration::from_millis(1));\n}\n\n#[cfg(test)]\nmod tests {\n    #[tokio::test]\n    async fn waits() {\n        std::thread::sleep(std::time::Duration::from_millis(1));\n        let m = std::sync::Mutex::new(1);\n        let g = m.lock().unwrap();\n        tokio::task::yield_now().await;\n        drop(g);\n    }\n}\n";
    let (dir, _file) = project(text);
    let severities = |report: &LintReport| -> Vec<(String, u32, Severity)> {
        report
            .diagnostics
            .iter()
            .map(|d| (d.code.clone(), d.span.start_pos.line, d.severity))
            .collect()
    };
    let report = run(dir.path(), FixMode::Off, false, false);
    assert_eq!(
        severities(&report),
        [
            ("CATGA005".to_string(), 2, Severity::Warning),
            ("CATGA005".to_string(), 9, Severity::Info),
            ("CATGA007".to_string(), 11, Severity::Info),
        ]
    );
    std::fs::write(dir.path().join("catga.toml"), "test_severity = \"error\"\n").expect("config");
    let report = run(dir.path(), FixMode::Off, false, false);
    assert!(
        report
            .diagnostics
            .iter()
            .all(|d| d.severity == Severity::Warning),
        "{:?}",
        severities(&report)
    );
}

#[test]
fn progress_is_told_of_every_file_checked_and_every_file_fixed() {
    let (dir, _file) = project(BLOCKING);
    std::fs::write(dir.path().join("src/other.rs"), "pub fn quiet() {}\n").expect("other.rs");
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = events.clone();
    let options = LintOptions {
        root: dir.path().to_path_buf(),
        fix: FixMode::Safe,
        progress: Some(catga_lints::Progress(std::sync::Arc::new(
            move |phase, done, total| {
                sink.lock().expect("events lock").push((phase, done, total));
            },
        ))),
        ..LintOptions::default()
    };
    lint(&options).unwrap_or_else(|error| panic!("lint failed: {error}"));
    let events = events.lock().expect("events lock").clone();
    use catga_lints::Phase::{Checking, Fixing};
    assert_eq!(events.first(), Some(&(Checking, 0, 2)), "{events:?}");
    assert!(events.contains(&(Checking, 2, 2)), "{events:?}");
    assert!(events.contains(&(Fixing, 1, 1)), "{events:?}");
}
