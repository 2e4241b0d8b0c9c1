//! Generates `docs/rules.md` from the rules' own metadata, so the reference cannot drift from the
//! code: `catga explain CODE` and the website read the same text. `tests/rules_doc.rs` fails when
//! the checked-in file differs and rewrites it with `UPDATE_DOCS=1`.

use crate::output::rules::fix_label;
use crate::rule::RuleMeta;

/// The command that regenerates the file, named in its header and in the test's failure.
pub const UPDATE_COMMAND: &str = "UPDATE_DOCS=1 cargo test -p catga-lints --test rules_doc";

/// The whole of `docs/rules.md` for `rules`: an index table, then one section per rule.
pub fn render(rules: &[&RuleMeta]) -> String {
    let mut out = format!(
        "<!-- Generated from the rules' metadata by `{UPDATE_COMMAND}`; do not edit. -->\n\n\
         # Lint rules\n\n\
         Every rule `catga lint` runs, in code order. `catga rules` prints this table and \
         `catga explain CODE` prints a rule's section. Severities are defaults: a project can \
         change them in its configuration (see [lint.md](lint.md)). Fixes marked *safe* are \
         applied by `--fix`; *unsafe* ones need `--unsafe-fixes`; *display-only* ones are \
         suggestions, shown and never applied. A rule whose fixes differ by site lists every \
         kind it may emit.\n\n\
         | Code | Name | Severity | Fix | Summary |\n|---|---|---|---|---|\n"
    );
    for rule in rules {
        out.push_str(&format!(
            "| [{}](#{}) | `{}` | {} | {} | {} |\n",
            rule.code,
            anchor(rule),
            rule.name,
            rule.severity,
            fix_label(rule),
            rule.summary.replace('|', "\\|")
        ));
    }
    for rule in rules {
        out.push_str(&format!(
            "\n## {}: {}\n\nDefault severity: **{}**. Fix: {}.\n\n{}\n",
            rule.code,
            rule.name,
            rule.severity,
            fix_label(rule),
            demote_headings(rule.docs.trim())
        ));
    }
    out
}

/// Where a rule's section of docs/rules.md is published, for SARIF's `helpUri`.
pub fn help_uri(rule: &RuleMeta) -> String {
    format!(
        "{}/blob/main/docs/rules.md#{}",
        crate::output::sarif::INFORMATION_URI,
        anchor(rule)
    )
}

/// GitHub's anchor for the heading `## CATGA005: blocking-call-in-async`.
fn anchor(rule: &RuleMeta) -> String {
    format!("{}-{}", rule.code.to_lowercase(), rule.name)
}

/// Moves every markdown heading one level down (outside code fences), so a rule's `## Example`
/// sits under the rule's own `##` heading.
fn demote_headings(docs: &str) -> String {
    let mut in_fence = false;
    let mut out = String::with_capacity(docs.len() + 16);
    for line in docs.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if !in_fence && line.starts_with('#') {
            out.push('#');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Applicability, Severity};
    use crate::rule::FixAvailability;

    static RULE: RuleMeta = RuleMeta {
        code: "CATGA005",
        name: "blocking-call-in-async",
        severity: Severity::Warning,
        fix: FixAvailability::Sometimes,
        fix_applicabilities: &[Applicability::Safe],
        summary: "Blocking call | in async code",
        docs: "## What it does\nFinds it.\n\n## Example\n```rust\n# use std::thread;\n```\n",
    };

    #[test]
    fn rules_doc_links_each_table_row_to_its_section() {
        let text = render(&[&RULE]);
        assert!(text.contains(
            "| [CATGA005](#catga005-blocking-call-in-async) | `blocking-call-in-async` | warning \
             | sometimes (safe) | Blocking call \\| in async code |"
        ));
        assert!(text.contains("\n## CATGA005: blocking-call-in-async\n"));
    }

    #[test]
    fn rules_doc_demotes_rule_headings_but_not_code_lines() {
        let text = render(&[&RULE]);
        assert!(text.contains("\n### What it does\n"));
        assert!(text.contains("\n### Example\n"));
        assert!(text.contains("\n# use std::thread;\n"), "{text}");
    }
}
