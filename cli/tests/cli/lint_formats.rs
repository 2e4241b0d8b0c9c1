//! `--format human|json|sarif|github`: each parsed and checked against its documented shape.

use crate::support::{BLOCKING_SLEEP, SYNC_READ, lint_json, project, run};
use serde_json::Value;

fn two_findings() -> tempfile::TempDir {
    project(&[
        ("src/lib.rs", "pub mod io;\npub mod sleep;\n"),
        ("src/sleep.rs", BLOCKING_SLEEP),
        ("src/io.rs", SYNC_READ),
    ])
}

#[test]
fn json_has_the_documented_shape() {
    let dir = two_findings();
    let (code, report) = lint_json(dir.path(), &["src"]);
    assert_eq!(code, 1);
    assert_eq!(report["version"], 1);
    assert_eq!(report["files_scanned"], 3);
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 2, "{report:#}");
    let keys = [
        "code",
        "name",
        "severity",
        "message",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "help",
        "fix",
    ];
    for diagnostic in diagnostics {
        let object = diagnostic.as_object().unwrap();
        assert_eq!(
            object.len(),
            keys.len(),
            "unexpected keys in {diagnostic:#}"
        );
        for key in keys {
            assert!(object.contains_key(key), "{key} missing in {diagnostic:#}");
        }
    }
    // Sorted by path: src/io.rs before src/sleep.rs.
    let io = &diagnostics[0];
    assert_eq!(
        (io["code"].as_str(), io["name"].as_str()),
        (Some("CATGA012"), Some("sync-io-in-async"))
    );
    assert_eq!(
        (
            io["path"].as_str(),
            io["line"].as_u64(),
            io["column"].as_u64()
        ),
        (Some("src/io.rs"), Some(2), Some(5))
    );
    assert_eq!(io["severity"], "error");
    let sleep = &diagnostics[1];
    assert_eq!(
        (sleep["code"].as_str(), sleep["path"].as_str()),
        (Some("CATGA005"), Some("src/sleep.rs"))
    );
    assert_eq!(
        (sleep["line"].as_u64(), sleep["column"].as_u64()),
        (Some(4), Some(5))
    );
    assert_eq!(sleep["severity"], "warning");
    let fix = &sleep["fix"];
    assert_eq!(fix["applicability"], "safe");
    let edit = &fix["edits"][0];
    for key in ["line", "column", "end_line", "end_column"] {
        assert!(
            edit[key].as_u64().is_some_and(|n| n >= 1),
            "{key} in {fix:#}"
        );
    }
    assert!(
        edit["content"]
            .as_str()
            .unwrap()
            .contains("tokio::time::sleep"),
        "{fix:#}"
    );
    let summary = &report["summary"];
    assert_eq!(
        (
            summary["errors"].as_u64(),
            summary["warnings"].as_u64(),
            summary["infos"].as_u64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(summary["fixed"], 0);
}

#[test]
fn json_is_byte_identical_across_runs() {
    let dir = two_findings();
    let (_, first, _) = run(dir.path(), &["lint", "--format", "json", "src"]);
    let (_, second, _) = run(dir.path(), &["lint", "--format", "json", "src"]);
    let (_, uncached, _) = run(
        dir.path(),
        &["lint", "--format", "json", "--no-cache", "src"],
    );
    assert_eq!(first, second);
    assert_eq!(first, uncached);
}

#[test]
fn sarif_has_the_fields_code_scanning_requires() {
    let dir = two_findings();
    let (code, stdout, _) = run(dir.path(), &["lint", "--format", "sarif", "src"]);
    assert_eq!(code, 1);
    let log: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "catga");
    assert!(
        driver["informationUri"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert!(driver["version"].is_string());
    let rules = driver["rules"].as_array().unwrap();
    assert_eq!(rules.len(), catga_lints::rules().len());
    for rule in rules {
        for pointer in [
            "/id",
            "/name",
            "/shortDescription/text",
            "/fullDescription/text",
            "/help/markdown",
            "/defaultConfiguration/level",
        ] {
            assert!(
                rule.pointer(pointer).is_some_and(Value::is_string),
                "{pointer} in {rule:#}"
            );
        }
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        assert!(result["message"]["text"].is_string());
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("src/") && !uri.contains('\\'), "{uri}");
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        for key in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(
                location["region"][key].as_u64().is_some_and(|n| n >= 1),
                "{key}"
            );
        }
        assert!(
            result["fixes"][0]["artifactChanges"][0]["replacements"].is_array(),
            "{result:#}"
        );
    }
}

#[test]
fn github_prints_one_workflow_command_per_finding() {
    let dir = two_findings();
    let (code, stdout, _) = run(dir.path(), &["lint", "--format", "github", "src"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("::error file=src/io.rs,line=2,col=5,endLine=2,endColumn="),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains(",title=CATGA012 (sync-io-in-async)::"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("::warning file=src/sleep.rs,line=4,col=5,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].contains(",title=CATGA005 (blocking-call-in-async)::"),
        "{}",
        lines[1]
    );
}

#[test]
fn human_shows_snippet_label_help_and_summary_without_color_off_terminal() {
    let dir = project(&[("src/lib.rs", BLOCKING_SLEEP)]);
    let (code, stdout, _) = run(dir.path(), &["lint", "src"]);
    assert_eq!(code, 1);
    assert!(
        !stdout.contains('\u{1b}'),
        "colour codes off a terminal:\n{stdout}"
    );
    for expected in [
        "CATGA005 (blocking-call-in-async)",
        "src/lib.rs:4:5",
        "std::thread::sleep(Duration::from_millis(5));",
        "help:",
        "Found 1 problem (1 fixable with --fix).",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
}

#[test]
fn human_says_all_checks_passed_on_a_clean_tree() {
    let dir = project(&[("src/lib.rs", crate::support::CLEAN)]);
    let (code, stdout, _) = run(dir.path(), &["lint", "src"]);
    assert_eq!((code, stdout.trim()), (0, "All checks passed!"));
}

#[test]
fn json_and_sarif_paths_are_the_same_from_any_directory_of_the_project() {
    let dir = two_findings();
    let paths = |report: &Value| -> Vec<String> {
        report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .map(|diagnostic| diagnostic["path"].as_str().expect("path").to_string())
            .collect()
    };
    let (_, from_root) = lint_json(dir.path(), &[]);
    let (_, from_src) = lint_json(&dir.path().join("src"), &[]);
    assert!(!paths(&from_root).is_empty());
    assert_eq!(paths(&from_root), paths(&from_src));
    assert!(
        paths(&from_src).iter().all(|path| path.starts_with("src/")),
        "{from_src}"
    );
    let sarif_uris = |cwd: &std::path::Path| -> Vec<String> {
        let (_, stdout, _) = run(cwd, &["lint", "--format", "sarif"]);
        let log: Value = serde_json::from_str(&stdout).expect("SARIF is JSON");
        log["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|result| {
                result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .expect("uri")
                    .to_string()
            })
            .collect()
    };
    assert_eq!(sarif_uris(dir.path()), sarif_uris(&dir.path().join("src")));
}
