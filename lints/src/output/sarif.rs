//! The `sarif` format: SARIF 2.1.0 as GitHub code scanning accepts it.
//!
//! One run whose driver lists every rule (id, name, descriptions, markdown help, default level),
//! and one result per diagnostic with a relative `%SRCROOT%` location and, where the rule has
//! one, the fix as SARIF replacements. Columns count Unicode code points (`columnKind`), matching
//! the positions every other format reports; end columns point one past the last character, as
//! SARIF's `endColumn` does.

use super::{in_output_order, slash_path};
use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::rule::RuleMeta;
use serde_json::{Value, json};

/// The SARIF schema the output conforms to.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where users learn about the tool and its rules.
pub const INFORMATION_URI: &str = "https://github.com/catga-rs/catga";

/// Renders one run as a SARIF log, pretty-printed, ending with a newline.
///
/// `rules` is the full rule table (`catga_lints::rules()`): every rule is described, whether or not
/// it fired, and `ruleIndex` points into it.
pub fn render(diagnostics: &[Diagnostic], rules: &[&RuleMeta]) -> String {
    let results: Vec<Value> = in_output_order(diagnostics)
        .into_iter()
        .map(|diagnostic| result(diagnostic, rules))
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "catga",
                "informationUri": INFORMATION_URI,
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|rule| descriptor(rule)).collect::<Vec<_>>(),
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text =
        serde_json::to_string_pretty(&log).expect("serializing a serde_json::Value cannot fail");
    text.push('\n');
    text
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn descriptor(rule: &RuleMeta) -> Value {
    let what_it_does = section(rule.docs, "What it does").unwrap_or(rule.summary);
    json!({
        "id": rule.code,
        "name": rule.name,
        "shortDescription": { "text": rule.summary },
        "fullDescription": { "text": what_it_does },
        "help": { "text": rule.docs, "markdown": rule.docs },
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": { "tags": ["catga", rule.name] },
    })
}

fn result(diagnostic: &Diagnostic, rules: &[&RuleMeta]) -> Value {
    let mut text = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    let uri = uri(diagnostic);
    let mut result = json!({
        "ruleId": diagnostic.code,
        "level": level(diagnostic.severity),
        "message": { "text": text },
        "locations": [{ "physicalLocation": {
            "artifactLocation": { "uri": uri, "uriBaseId": "%SRCROOT%" },
            "region": region(&diagnostic.span),
        }}],
    });
    if let Some(index) = rules.iter().position(|rule| rule.code == diagnostic.code) {
        result["ruleIndex"] = json!(index);
    }
    if let Some(fix) = &diagnostic.fix {
        let replacements: Vec<Value> = fix
            .edits
            .iter()
            .map(|edit| {
                json!({
                    "deletedRegion": region(&edit.span),
                    "insertedContent": { "text": edit.content },
                })
            })
            .collect();
        result["fixes"] = json!([{
            "description": { "text": fix.description },
            "artifactChanges": [{
                "artifactLocation": { "uri": uri, "uriBaseId": "%SRCROOT%" },
                "replacements": replacements,
            }],
        }]);
    }
    result
}

fn region(span: &Span) -> Value {
    json!({
        "startLine": span.start_pos.line,
        "startColumn": span.start_pos.column,
        "endLine": span.end_pos.line,
        "endColumn": span.end_pos.column,
    })
}

/// The diagnostic's path as a relative URI reference: forward slashes, percent-encoded.
fn uri(diagnostic: &Diagnostic) -> String {
    let path = slash_path(&diagnostic.path);
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The body of the markdown section `## {title}` in a rule's docs, trimmed.
fn section<'a>(docs: &'a str, title: &str) -> Option<&'a str> {
    let heading = format!("## {title}");
    let start = docs.find(&heading)? + heading.len();
    let rest = &docs[start..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    let body = rest[..end].trim();
    (!body.is_empty()).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{SLEEP, blocking_sleep, sync_io};
    use super::*;
    use crate::rule::FixAvailability;

    static IO: RuleMeta = RuleMeta {
        code: "CATGA012",
        name: "sync-io-in-async",
        severity: Severity::Error,
        fix: FixAvailability::None,
        summary: "Synchronous I/O in async code",
        docs: "## What it does\nFinds sync I/O.\n",
    };

    fn rendered(diagnostics: &[Diagnostic]) -> Value {
        serde_json::from_str(&render(diagnostics, &[&SLEEP, &IO])).unwrap()
    }

    #[test]
    fn sarif_driver_describes_every_rule() {
        let log = rendered(&[]);
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["$schema"], SCHEMA);
        let driver = &log["runs"][0]["tool"]["driver"];
        assert_eq!(driver["name"], "catga");
        assert_eq!(driver["informationUri"], INFORMATION_URI);
        let rules = driver["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0]["id"], "CATGA005");
        assert_eq!(rules[0]["fullDescription"]["text"], "Finds blocking calls.");
        assert_eq!(rules[0]["help"]["markdown"], SLEEP.docs);
        assert_eq!(rules[1]["defaultConfiguration"]["level"], "error");
        assert_eq!(log["runs"][0]["results"], json!([]));
    }

    #[test]
    fn sarif_result_points_at_rule_and_relative_region() {
        let log = rendered(&[sync_io("src/my net.rs", 3)]);
        let result = &log["runs"][0]["results"][0];
        assert_eq!(result["ruleId"], "CATGA012");
        assert_eq!(result["ruleIndex"], 1);
        assert_eq!(result["level"], "error");
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], "src/my%20net.rs");
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert_eq!(
            location["region"],
            json!({ "startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 30 })
        );
        assert!(result.get("fixes").is_none());
    }

    #[test]
    fn sarif_carries_fixes_as_replacements_and_info_as_note() {
        let mut diagnostic = blocking_sleep("a.rs", 2);
        diagnostic.severity = Severity::Info;
        let log = rendered(&[diagnostic]);
        let result = &log["runs"][0]["results"][0];
        assert_eq!(result["level"], "note");
        let change = &result["fixes"][0]["artifactChanges"][0];
        assert_eq!(change["artifactLocation"]["uri"], "a.rs");
        assert_eq!(change["replacements"][0]["deletedRegion"]["startColumn"], 9);
        assert_eq!(
            change["replacements"][0]["insertedContent"]["text"],
            "tokio::time::sleep(Duration::from_millis(5)).await"
        );
    }
}
