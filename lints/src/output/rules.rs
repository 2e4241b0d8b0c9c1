//! The rule table as `catga rules` prints it (text and JSON), and the words every output uses for
//! a rule's fix availability.

use super::applicability_str;
use crate::rule::{FixAvailability, RuleMeta};
use serde_json::json;

/// How a rule's fix availability reads in tables: `none`, `sometimes (safe)`, `always (unsafe)`.
pub fn fix_label(fix: FixAvailability) -> String {
    match fix {
        FixAvailability::None => "none".to_string(),
        FixAvailability::Sometimes(applicability) => {
            format!("sometimes ({})", applicability_str(applicability))
        }
        FixAvailability::Always(applicability) => {
            format!("always ({})", applicability_str(applicability))
        }
    }
}

/// One aligned row per rule: code, name, default severity, fix availability, summary.
pub fn render_text(rules: &[&RuleMeta]) -> String {
    let name_width = rules
        .iter()
        .map(|rule| rule.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let fix_width = rules
        .iter()
        .map(|rule| fix_label(rule.fix).len())
        .max()
        .unwrap_or(3)
        .max(3);
    let mut out = format!(
        "{:<8}  {:<name_width$}  {:<8}  {:<fix_width$}  SUMMARY\n",
        "CODE", "NAME", "SEVERITY", "FIX"
    );
    for rule in rules {
        out.push_str(&format!(
            "{:<8}  {:<name_width$}  {:<8}  {:<fix_width$}  {}\n",
            rule.code,
            rule.name,
            rule.severity.as_str(),
            fix_label(rule.fix),
            rule.summary
        ));
    }
    out
}

/// A JSON array of `{code, name, severity, fix, fix_applicability, summary}`, in code order;
/// `fix` is `none`, `sometimes` or `always`, `fix_applicability` `safe`, `unsafe` or null.
pub fn render_json(rules: &[&RuleMeta]) -> String {
    let rows: Vec<serde_json::Value> = rules
        .iter()
        .map(|rule| {
            let (fix, applicability) = match rule.fix {
                FixAvailability::None => ("none", None),
                FixAvailability::Sometimes(applicability) => ("sometimes", Some(applicability)),
                FixAvailability::Always(applicability) => ("always", Some(applicability)),
            };
            json!({
                "code": rule.code,
                "name": rule.name,
                "severity": rule.severity.as_str(),
                "fix": fix,
                "fix_applicability": applicability.map(applicability_str),
                "summary": rule.summary,
            })
        })
        .collect();
    let mut text =
        serde_json::to_string_pretty(&rows).expect("serializing a serde_json::Value cannot fail");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::super::test_support::SLEEP;
    use super::*;
    use crate::diagnostic::{Applicability, Severity};

    static PARSE: RuleMeta = RuleMeta {
        code: "CATGA000",
        name: "parse-error",
        severity: Severity::Error,
        fix: FixAvailability::None,
        summary: "A file that does not parse",
        docs: "",
    };

    #[test]
    fn fix_label_names_availability_and_applicability() {
        assert_eq!(fix_label(FixAvailability::None), "none");
        assert_eq!(
            fix_label(FixAvailability::Always(Applicability::Unsafe)),
            "always (unsafe)"
        );
    }

    #[test]
    fn rule_table_has_one_aligned_row_per_rule() {
        let text = render_text(&[&PARSE, &SLEEP]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("CATGA000  parse-error             error     none"));
        assert!(lines[2].contains("blocking-call-in-async  warning   sometimes (safe)"));
        let summary_column = lines[0].find("SUMMARY").unwrap();
        assert_eq!(lines[2].find("Blocking call"), Some(summary_column));
    }

    #[test]
    fn rule_json_lists_fix_and_applicability_separately() {
        let rows: serde_json::Value =
            serde_json::from_str(&render_json(&[&PARSE, &SLEEP])).unwrap();
        assert_eq!(rows[0]["fix"], "none");
        assert_eq!(rows[0]["fix_applicability"], serde_json::Value::Null);
        assert_eq!(rows[1]["fix"], "sometimes");
        assert_eq!(rows[1]["fix_applicability"], "safe");
        assert_eq!(rows[1]["severity"], "warning");
    }
}
