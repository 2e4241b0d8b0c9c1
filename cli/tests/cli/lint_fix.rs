//! `--fix` rewrites files and a second run finds nothing fixable; `--diff` writes nothing; a
//! read-only file is left intact.

use crate::support::{BLOCKING_SLEEP, SYNC_READ, lint_json, project, run};

fn read(dir: &tempfile::TempDir, path: &str) -> String {
    std::fs::read_to_string(dir.path().join(path)).unwrap()
}

#[test]
fn diff_prints_unified_diffs_and_writes_nothing() {
    let dir = project(&[("src/lib.rs", BLOCKING_SLEEP), ("src/io.rs", SYNC_READ)]);
    let (code, stdout, stderr) = run(dir.path(), &["lint", "--diff", "src"]);
    assert_eq!(code, 1, "a diff means something would change: {stderr}");
    assert!(
        stdout.contains("-    std::thread::sleep(Duration::from_millis(5));"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+    tokio::time::sleep(Duration::from_millis(5)).await;"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+    tokio::fs::read_to_string(\"config.toml\").await"),
        "{stdout}"
    );
    assert!(
        stdout.contains("lib.rs") && stdout.contains("io.rs"),
        "{stdout}"
    );
    assert!(stderr.contains("Would fix 2 problems"), "{stderr}");
    assert_eq!(read(&dir, "src/lib.rs"), BLOCKING_SLEEP);
    assert_eq!(read(&dir, "src/io.rs"), SYNC_READ);
}

#[test]
fn diff_exits_0_when_findings_remain_but_nothing_is_fixable() {
    // A guard read after the `.await`: CATGA007 reports it, and no fix can scope it.
    let held = "pub async fn held(m: &std::sync::Mutex<u64>) -> u64 {\n    \
        let g = m.lock().unwrap();\n    tokio::task::yield_now().await;\n    *g\n}\n";
    let dir = project(&[("src/lib.rs", held)]);
    assert_eq!(
        run(dir.path(), &["lint", "src"]).0,
        1,
        "the finding remains"
    );
    let (code, stdout, stderr) = run(dir.path(), &["lint", "--diff", "src"]);
    assert_eq!(code, 0, "nothing would change: {stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(read(&dir, "src/lib.rs"), held);
}

#[test]
fn fix_rewrites_files_and_a_second_run_finds_nothing_fixable() {
    let dir = project(&[("src/lib.rs", BLOCKING_SLEEP), ("src/io.rs", SYNC_READ)]);
    let (code, stdout, stderr) = run(dir.path(), &["lint", "--fix", "src"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("Found 2 problems (2 fixed, 0 remaining)."),
        "{stdout}"
    );
    let fixed = read(&dir, "src/lib.rs");
    assert!(
        fixed.contains("tokio::time::sleep(Duration::from_millis(5)).await;"),
        "{fixed}"
    );
    assert!(syn_parses(&fixed));
    assert!(read(&dir, "src/io.rs").contains("tokio::fs::read_to_string(\"config.toml\").await"));

    let (code, report) = lint_json(dir.path(), &["src"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["summary"]["fixable"], 0);
    let (_, stdout, _) = run(dir.path(), &["lint", "--fix", "src"]);
    assert_eq!(stdout.trim(), "All checks passed!");
}

#[test]
fn fix_on_a_read_only_file_fails_cleanly_and_leaves_it_intact() {
    use std::os::unix::fs::PermissionsExt;
    let dir = project(&[("src/lib.rs", BLOCKING_SLEEP)]);
    let path = dir.path().join("src/lib.rs");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let (code, _, stderr) = run(dir.path(), &["lint", "--fix", "src"]);
    assert_ne!(code, 0, "the finding remains, so the run fails: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("src/lib.rs"),
        "the unwritable file is named: {stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), BLOCKING_SLEEP);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o444);
}

/// Whether the text is a Rust file: the fixed output must stay valid code.
fn syn_parses(text: &str) -> bool {
    // The binary is the only place syn runs here; a clean re-lint (no CATGA000) proves it parses.
    let dir = project(&[("src/lib.rs", text)]);
    let (_, report) = lint_json(dir.path(), &["src"]);
    !crate::support::codes(&report)
        .iter()
        .any(|code| code == "CATGA000")
}

#[test]
fn add_allow_writes_allow_comments_and_the_next_run_exits_0() {
    let dir = project(&[("src/lib.rs", BLOCKING_SLEEP), ("src/io.rs", SYNC_READ)]);
    let (code, _, stderr) = run(dir.path(), &["lint", "--add-allow", "src"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("Added 2 `catga-allow` comments in 2 files"),
        "{stderr}"
    );
    assert!(
        read(&dir, "src/lib.rs").contains("    // catga-allow(CATGA005): TODO reason\n"),
        "{}",
        read(&dir, "src/lib.rs")
    );
    assert_eq!(run(dir.path(), &["lint", "src"]).0, 0);
    let (code, _, stderr) = run(dir.path(), &["lint", "--add-allow", "--fix", "src"]);
    assert_eq!(code, 2, "--add-allow and --fix conflict: {stderr}");
}

#[test]
fn show_fixes_lists_every_fix_applied_with_its_place_and_rule() {
    let dir = project(&[("src/lib.rs", BLOCKING_SLEEP), ("src/io.rs", SYNC_READ)]);
    let (code, _, stderr) = run(dir.path(), &["lint", "--fix", "--show-fixes", "src"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Fixed 2 problems:"), "{stderr}");
    assert!(
        stderr.contains("io.rs:2 CATGA012 Replace with `tokio::fs::read_to_string(..).await`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("lib.rs:4 CATGA005 Replace with `tokio::time::sleep(..).await`"),
        "{stderr}"
    );
    let (code, _, stderr) = run(dir.path(), &["lint", "--show-fixes", "src"]);
    assert_eq!(code, 2, "--show-fixes needs --fix or --diff: {stderr}");
}
