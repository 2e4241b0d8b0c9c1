//! `--select`, `--ignore` and `--statistics`.

use crate::support::{BLOCKING_SLEEP, SYNC_READ, codes, lint_json, project, run};

fn both() -> tempfile::TempDir {
    project(&[("src/lib.rs", &format!("{BLOCKING_SLEEP}\n{SYNC_READ}"))])
}

#[test]
fn select_runs_only_the_named_rules() {
    let dir = both();
    assert_eq!(
        codes(&lint_json(dir.path(), &["--select", "CATGA012", "src"]).1),
        ["CATGA012"]
    );
    assert_eq!(
        codes(&lint_json(dir.path(), &["--select", "CATGA005,CATGA012", "src"]).1),
        ["CATGA005", "CATGA012"]
    );
}

#[test]
fn ignore_skips_the_named_rules() {
    let dir = both();
    assert_eq!(
        codes(&lint_json(dir.path(), &["--ignore", "CATGA012", "src"]).1),
        ["CATGA005"]
    );
    let (code, report) = lint_json(
        dir.path(),
        &["--ignore", "CATGA005", "--ignore", "CATGA012", "src"],
    );
    assert_eq!((code, codes(&report)), (0, Vec::<String>::new()));
}

#[test]
fn select_on_the_command_line_overrides_config() {
    let dir = both();
    crate::support::write(dir.path(), "catga.toml", "select = [\"CATGA005\"]\n");
    assert_eq!(codes(&lint_json(dir.path(), &["src"]).1), ["CATGA005"]);
    assert_eq!(
        codes(&lint_json(dir.path(), &["--select", "CATGA012", "src"]).1),
        ["CATGA012"]
    );
}

#[test]
fn statistics_count_findings_per_rule() {
    let source = format!(
        "{BLOCKING_SLEEP}\npub async fn again() {{\n    std::thread::sleep(std::time::Duration::ZERO);\n}}\n\n{SYNC_READ}"
    );
    let dir = project(&[("src/lib.rs", &source)]);
    let (code, stdout, _) = run(dir.path(), &["lint", "--statistics", "src"]);
    assert_eq!(code, 1);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["2", "CATGA005", "[*]", "blocking-call-in-async"],
            vec!["1", "CATGA012", "[*]", "sync-io-in-async"]
        ],
        "{stdout}"
    );

    let (_, stdout, _) = run(
        dir.path(),
        &["lint", "--statistics", "--format", "json", "src"],
    );
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows[0]["code"], "CATGA005");
    assert_eq!(rows[0]["count"], 2);
    assert_eq!(rows[1]["count"], 1);
}

#[test]
fn ignore_on_the_command_line_adds_to_config() {
    let dir = both();
    crate::support::write(dir.path(), "catga.toml", "ignore = [\"CATGA012\"]\n");
    assert_eq!(codes(&lint_json(dir.path(), &["src"]).1), ["CATGA005"]);
    let (code, report) = lint_json(dir.path(), &["--ignore", "CATGA005", "src"]);
    assert_eq!((code, codes(&report)), (0, Vec::<String>::new()));
}
