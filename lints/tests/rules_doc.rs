//! `docs/rules.md` is generated from the rules' metadata: this test fails when the checked-in
//! file differs from what the code generates, and rewrites it when `UPDATE_DOCS=1` is set.

use catga_lints::rules_doc::{UPDATE_COMMAND, render};
use std::path::PathBuf;

#[test]
fn checked_in_rules_md_matches_rule_metadata() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
    let expected = render(catga_lints::rules());
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is out of date with the rules' metadata; regenerate it with `{UPDATE_COMMAND}`",
        path.display()
    );
}
