//! `docs/rules.md` is generated from the rules' metadata: this test fails when the checked-in
//! file differs from what the code generates, and rewrites it when `UPDATE_DOCS=1` is set.

use catga_lints::rules_doc::{UPDATE_COMMAND, render};
use std::path::Path;

#[test]
fn checked_in_rules_md_matches_rule_metadata() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("lints/ has a parent");
    let path = workspace.join("docs/rules.md");
    let expected = render(catga_lints::rules());
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    if actual == expected {
        return;
    }
    let (line, (checked_in, generated)) = actual
        .lines()
        .chain(std::iter::repeat("<end of file>"))
        .zip(expected.lines().chain(std::iter::repeat("<end of file>")))
        .take(actual.lines().count().max(expected.lines().count()))
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(index, pair)| (index + 1, pair))
        .unwrap_or((0, ("(only line endings differ)", "")));
    panic!(
        "{} is out of date with the rules' metadata (first difference at line {line}):\n  \
         checked in: {checked_in}\n  generated:  {generated}\nregenerate it with `{UPDATE_COMMAND}`",
        path.display()
    );
}
