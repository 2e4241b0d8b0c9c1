//! `catga rules` lists every rule, in text and JSON.

use crate::support::run;

#[test]
fn rules_lists_every_rule_with_severity_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(dir.path(), &["rules"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        catga_lints::rules().len() + 1,
        "a header, then one line per rule"
    );
    for (line, rule) in lines[1..].iter().zip(catga_lints::rules()) {
        assert!(line.starts_with(rule.code), "{line}");
        assert!(
            line.contains(rule.name) && line.contains(rule.severity.as_str()),
            "{line}"
        );
    }
    assert!(stdout.contains("CATGA000") && stdout.contains("CATGA100"));
    for number in 1..=15 {
        let code = format!("CATGA{number:03}");
        assert!(
            lines.iter().any(|line| line.starts_with(&code)),
            "{code} missing:\n{stdout}"
        );
    }
}

#[test]
fn rules_json_has_one_object_per_rule() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(dir.path(), &["rules", "--format", "json"]);
    assert_eq!(code, 0);
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), catga_lints::rules().len());
    for (row, rule) in rows.iter().zip(catga_lints::rules()) {
        assert_eq!(row["code"], rule.code);
        assert_eq!(row["name"], rule.name);
        assert!(["none", "sometimes", "always"].contains(&row["fix"].as_str().unwrap()));
        assert_eq!(
            row["fix_applicabilities"].as_array().map(Vec::len),
            Some(rule.fix_applicabilities.len()),
            "{row}"
        );
    }
    let blocking = &rows[5];
    assert_eq!(blocking["code"], "CATGA005");
    assert_eq!(
        blocking["fix_applicabilities"],
        serde_json::json!(["safe", "unsafe"])
    );
}

#[test]
fn rules_table_labels_rules_that_emit_safe_and_unsafe_fixes_with_both() {
    let dir = tempfile::tempdir().unwrap();
    let (_, stdout, _) = run(dir.path(), &["rules"]);
    for code in ["CATGA005", "CATGA010"] {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(code))
            .unwrap_or_else(|| panic!("{code} missing:\n{stdout}"));
        assert!(line.contains("sometimes (safe or unsafe)"), "{line}");
    }
    let (_, explained, _) = run(dir.path(), &["explain", "CATGA005"]);
    assert!(
        explained.contains("Fix: sometimes (safe or unsafe)."),
        "{explained}"
    );
}
