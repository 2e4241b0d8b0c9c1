//! Exit codes: 0 nothing at or above the threshold, 1 something is, 2 the tool could not run.

use crate::support::{BLOCKING_SLEEP, CLEAN, SYNC_READ, project, run, write};

#[test]
fn clean_tree_exits_0() {
    let dir = project(&[("src/lib.rs", CLEAN)]);
    assert_eq!(run(dir.path(), &["lint", "src"]).0, 0);
}

#[test]
fn warning_exits_1_by_default() {
    let dir = project(&[("src/lib.rs", BLOCKING_SLEEP)]);
    assert_eq!(run(dir.path(), &["lint", "src"]).0, 1);
}

#[test]
fn fail_on_error_lets_warnings_pass_but_not_errors() {
    let dir = project(&[("src/lib.rs", BLOCKING_SLEEP)]);
    assert_eq!(run(dir.path(), &["lint", "--fail-on", "error", "src"]).0, 0);
    write(dir.path(), "src/io.rs", SYNC_READ);
    assert_eq!(run(dir.path(), &["lint", "--fail-on", "error", "src"]).0, 1);
}

#[test]
fn fail_on_info_fails_on_info_findings() {
    // An allow that silences nothing is an info finding (CATGA100).
    let dir = project(&[(
        "src/lib.rs",
        "// catga-allow(CATGA005): nothing here blocks\npub fn f() {}\n",
    )]);
    assert_eq!(run(dir.path(), &["lint", "src"]).0, 0);
    assert_eq!(run(dir.path(), &["lint", "--fail-on", "info", "src"]).0, 1);
}

#[test]
fn fail_on_from_config_applies_unless_the_flag_overrides_it() {
    let dir = project(&[
        ("src/lib.rs", BLOCKING_SLEEP),
        ("catga.toml", "fail_on = \"error\"\n"),
    ]);
    assert_eq!(run(dir.path(), &["lint", "src"]).0, 0);
    assert_eq!(
        run(dir.path(), &["lint", "--fail-on", "warning", "src"]).0,
        1
    );
}

#[test]
fn missing_path_exits_2_naming_it() {
    let dir = project(&[("src/lib.rs", CLEAN)]);
    let (code, stdout, stderr) = run(dir.path(), &["lint", "no/such/dir"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains("no/such/dir"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = project(&[("src/lib.rs", CLEAN)]);
    for args in [
        &["lint", "--format", "xml"][..],
        &["lint", "--fail-on", "fatal"],
        &["lint", "--unsafe-fixes"],
        &["lint", "--diff", "--format", "json"],
        &["lint", "--statistics", "--format", "sarif"],
        &["lint", "--no-such-flag"],
        &["frobnicate"],
    ] {
        let (code, _, stderr) = run(dir.path(), args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("error:"), "{args:?}: {stderr}");
    }
}

#[test]
fn unknown_code_in_select_or_ignore_exits_2() {
    let dir = project(&[("src/lib.rs", CLEAN)]);
    for flag in ["--select", "--ignore"] {
        let (code, _, stderr) = run(dir.path(), &["lint", flag, "CATGA999", "src"]);
        assert_eq!(code, 2, "{flag}: {stderr}");
        assert!(stderr.contains("CATGA999"), "{flag}: {stderr}");
    }
}

#[test]
fn a_file_syn_cannot_parse_is_reported_and_the_run_goes_on() {
    let dir = project(&[
        ("src/broken.rs", "fn broken( {\n"),
        ("src/lib.rs", BLOCKING_SLEEP),
    ]);
    let (code, report) = crate::support::lint_json(dir.path(), &["src"]);
    assert_eq!(code, 1);
    assert_eq!(crate::support::codes(&report), ["CATGA000", "CATGA005"]);
}

#[test]
fn without_paths_lints_the_package_around_the_current_directory() {
    let dir = project(&[("src/lib.rs", BLOCKING_SLEEP), ("tests/it.rs", SYNC_READ)]);
    let (code, report) = crate::support::lint_json(&dir.path().join("src"), &[]);
    assert_eq!(code, 1);
    // Both the lib and the integration test target are found; JSON paths are relative to the
    // project root, whichever directory the run started in.
    let found: Vec<(&str, &str)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["path"].as_str().unwrap(), d["code"].as_str().unwrap()))
        .collect();
    assert_eq!(found.len(), 2, "{report:#}");
    assert!(found.contains(&("src/lib.rs", "CATGA005")), "{found:?}");
    assert!(found.contains(&("tests/it.rs", "CATGA012")), "{found:?}");
}

#[test]
fn exit_zero_passes_with_findings_but_not_with_tool_errors() {
    let dir = project(&[("src/lib.rs", BLOCKING_SLEEP)]);
    let (code, stdout, _) = run(dir.path(), &["lint", "--exit-zero", "src"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("CATGA005"),
        "the findings are still printed: {stdout}"
    );
    assert_eq!(
        run(dir.path(), &["lint", "--exit-zero", "--diff", "src"]).0,
        0
    );
    assert_eq!(
        run(dir.path(), &["lint", "--exit-zero", "no/such/dir"]).0,
        2
    );
}
