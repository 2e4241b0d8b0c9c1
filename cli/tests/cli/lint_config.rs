//! Configuration errors stop the run with exit 2 naming the file and line; suppression comments
//! silence one line or one file, and an allow that silences nothing is reported.

use crate::support::{BLOCKING_SLEEP, MANIFEST, codes, lint_json, project, run, write};

#[test]
fn unknown_key_in_catga_toml_exits_2_naming_file_and_line() {
    let dir = project(&[
        ("src/lib.rs", BLOCKING_SLEEP),
        (
            "catga.toml",
            "fail_on = \"error\"\nselekt = [\"CATGA005\"]\n",
        ),
    ]);
    let (code, stdout, stderr) = run(dir.path(), &["lint", "src"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("catga.toml:2:"), "{stderr}");
    assert!(stderr.contains("selekt"), "{stderr}");
    assert_eq!(
        stderr.matches("error:").count(),
        1,
        "printed once: {stderr}"
    );
}

#[test]
fn unknown_code_in_cargo_metadata_exits_2_naming_file_and_line() {
    let dir = project(&[("src/lib.rs", BLOCKING_SLEEP)]);
    let manifest = MANIFEST.replace(
        "[workspace]\n",
        "[package.metadata.catga]\nignore = [\"CATGA999\"]\n\n[workspace]\n",
    );
    write(dir.path(), "Cargo.toml", &manifest);
    let text = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
    let line = text
        .lines()
        .position(|line| line.contains("CATGA999"))
        .unwrap()
        + 1;
    let (code, _, stderr) = run(dir.path(), &["lint", "src"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&format!("Cargo.toml:{line}:")), "{stderr}");
    assert!(stderr.contains("CATGA999"), "{stderr}");
}

#[test]
fn config_severity_override_changes_the_reported_severity() {
    let dir = project(&[
        ("src/lib.rs", BLOCKING_SLEEP),
        ("catga.toml", "[severity]\nCATGA005 = \"error\"\n"),
    ]);
    let (_, report) = lint_json(dir.path(), &["src"]);
    assert_eq!(report["diagnostics"][0]["severity"], "error");
}

#[test]
fn allow_comment_on_the_line_before_silences_that_line() {
    let source = BLOCKING_SLEEP.replace(
        "    std::thread::sleep",
        "    // catga-allow(CATGA005): startup only, before serving\n    std::thread::sleep",
    );
    let dir = project(&[("src/lib.rs", &source)]);
    let (code, report) = lint_json(dir.path(), &["src"]);
    assert_eq!(
        (code, codes(&report)),
        (0, Vec::<String>::new()),
        "{report:#}"
    );
}

#[test]
fn allow_comment_at_the_end_of_the_line_silences_it() {
    let source = BLOCKING_SLEEP.replace(
        "from_millis(5));",
        "from_millis(5)); // catga-allow(CATGA005): startup only",
    );
    let dir = project(&[("src/lib.rs", &source)]);
    assert_eq!(
        codes(&lint_json(dir.path(), &["src"]).1),
        Vec::<String>::new()
    );
}

#[test]
fn allow_file_comment_silences_the_code_in_the_whole_file() {
    let source = format!("// catga-allow-file(CATGA005)\n{BLOCKING_SLEEP}");
    let dir = project(&[("src/lib.rs", &source)]);
    assert_eq!(
        codes(&lint_json(dir.path(), &["src"]).1),
        Vec::<String>::new()
    );
}

#[test]
fn allow_comment_for_another_code_does_not_silence_and_is_reported_unused() {
    let source = BLOCKING_SLEEP.replace(
        "    std::thread::sleep",
        "    // catga-allow(CATGA012): wrong code\n    std::thread::sleep",
    );
    let dir = project(&[("src/lib.rs", &source)]);
    let (code, report) = lint_json(dir.path(), &["src"]);
    assert_eq!(code, 1);
    assert_eq!(codes(&report), ["CATGA100", "CATGA005"], "{report:#}");
    assert_eq!(report["diagnostics"][0]["severity"], "info");
}
