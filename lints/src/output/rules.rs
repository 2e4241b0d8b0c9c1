//! The rule table as `catga rules` prints it (text and JSON), one rule's documentation as
//! `catga explain` prints it, and the words every output uses for a rule's fix availability.

use super::applicability_str;
use crate::rule::{FixAvailability, RuleMeta};
use serde_json::json;

/// How a rule's fixes read in tables: its availability and every applicability it may emit,
/// `none`, `sometimes (safe)`, `sometimes (safe or unsafe)`, `always (unsafe)`.
pub fn fix_label(rule: &RuleMeta) -> String {
    if rule.fix == FixAvailability::None {
        return "none".to_string();
    }
    let applicabilities: Vec<&str> = rule
        .fix_applicabilities
        .iter()
        .map(|applicability| applicability_str(*applicability))
        .collect();
    format!("{} ({})", rule.fix.as_str(), applicabilities.join(" or "))
}

/// One rule's documentation as `catga explain` prints it (and the language server's hover
/// shows it): title, default severity and fixes, then the doc sections. Markdown.
pub fn explain(rule: &RuleMeta) -> String {
    format!(
        "# {}: {}\n\nDefault severity: {}. Fix: {}.\n\n{}\n",
        rule.code,
        rule.name,
        rule.severity,
        fix_label(rule),
        rule.docs.trim()
    )
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
        .map(|rule| fix_label(rule).len())
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
            fix_label(rule),
            rule.summary
        ));
    }
    out
}

/// A JSON array of `{code, name, severity, fix, fix_applicabilities, summary}`, in code order;
/// `fix` is `none`, `sometimes` or `always`, `fix_applicabilities` the applicabilities its fixes
/// may carry (`safe`, `unsafe`, `display-only`; empty for `none`).
pub fn render_json(rules: &[&RuleMeta]) -> String {
    let rows: Vec<serde_json::Value> = rules
        .iter()
        .map(|rule| {
            let applicabilities: Vec<&str> = rule
                .fix_applicabilities
                .iter()
                .map(|applicability| applicability_str(*applicability))
                .collect();
            json!({
                "code": rule.code,
                "name": rule.name,
                "severity": rule.severity.as_str(),
                "fix": rule.fix.as_str(),
                "fix_applicabilities": applicabilities,
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
        fix_applicabilities: &[],
        summary: "A file that does not parse",
        docs: "",
    };

    #[test]
    fn fix_label_names_availability_and_every_applicability() {
        assert_eq!(fix_label(&PARSE), "none");
        assert_eq!(fix_label(&SLEEP), "sometimes (safe)");
        static BOTH: RuleMeta = RuleMeta {
            fix: FixAvailability::Always,
            fix_applicabilities: &[Applicability::Safe, Applicability::Unsafe],
            ..PARSE
        };
        assert_eq!(fix_label(&BOTH), "always (safe or unsafe)");
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
        assert_eq!(rows[0]["fix_applicabilities"], serde_json::json!([]));
        assert_eq!(rows[1]["fix"], "sometimes");
        assert_eq!(rows[1]["fix_applicabilities"], serde_json::json!(["safe"]));
        assert_eq!(rows[1]["severity"], "warning");
    }
}
