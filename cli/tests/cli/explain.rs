//! `catga explain CODE` prints a rule's documentation; an unknown code exits 2.

use crate::support::run;

#[test]
fn explain_prints_the_docs_of_every_rule_by_code_and_name() {
    let dir = tempfile::tempdir().unwrap();
    for rule in catga_lints::rules() {
        for query in [
            rule.code.to_string(),
            rule.code.to_lowercase(),
            rule.name.to_uppercase(),
        ] {
            let (code, stdout, stderr) = run(dir.path(), &["explain", &query]);
            assert_eq!(code, 0, "{query}: {stderr}");
            assert!(
                stdout.starts_with(&format!("# {}: {}\n", rule.code, rule.name)),
                "{stdout}"
            );
            assert!(stdout.contains(rule.docs.trim()), "{query}");
            assert!(stdout.contains("## What it does"), "{query}");
        }
    }
}

#[test]
fn explain_unknown_code_exits_2_and_suggests_the_nearest() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["explain", "CATGA0055"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with("error: unknown rule `CATGA0055`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `CATGA005`"), "{stderr}");

    let (code, _, stderr) = run(dir.path(), &["explain", "no-such-rule-at-all-anywhere"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("CATGA005") && stderr.contains("CATGA012"),
        "lists the rules: {stderr}"
    );
}
