//! The `sarif` format: SARIF 2.1.0 as GitHub code scanning accepts it.
//!
//! One run whose driver lists every rule (id, name, descriptions within GitHub's 1024 characters,
//! markdown help, `helpUri`, default level), and one result per diagnostic with a location
//! relative to `%SRCROOT%` (declared in `originalUriBaseIds`: the directory the run started in,
//! or the nearest directory above it that holds every file reported), a `partialFingerprints`
//! entry that survives unrelated edits, and, where the rule has one, the fix as SARIF
//! replacements. Columns count Unicode code points (`columnKind`), matching
//! the positions every other format reports; end columns point one past the last character, as
//! SARIF's `endColumn` does.

use super::{in_output_order, slash_path};
use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::rule::RuleMeta;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The SARIF schema the output conforms to.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where users learn about the tool and its rules.
pub const INFORMATION_URI: &str = "https://github.com/catga-rs/catga";

/// GitHub code scanning's limit on a rule's descriptions.
pub const MAX_DESCRIPTION: usize = 1024;

/// The key of the fingerprint each result carries in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "catgaFinding/v1";

/// Renders one run as a SARIF log, pretty-printed, ending with a newline.
///
/// `rules` is the full rule table (`catga_lints::rules()`): every rule is described, whether or not
/// it fired, and `ruleIndex` points into it. `root` is the directory the run started in, which
/// relative diagnostic paths are relative to.
pub fn render(diagnostics: &[Diagnostic], rules: &[&RuleMeta], root: &Path) -> String {
    let ordered = in_output_order(diagnostics);
    let absolute: Vec<PathBuf> = ordered
        .iter()
        .map(|diagnostic| root.join(&diagnostic.path))
        .collect();
    let base = common_base(root, &absolute);
    let mut seen: HashMap<u64, usize> = HashMap::new();
    let results: Vec<Value> = ordered
        .into_iter()
        .zip(&absolute)
        .map(|(diagnostic, path)| {
            let uri = uri(path.strip_prefix(&base).unwrap_or(path));
            let mut result = result(diagnostic, rules, &uri);
            // Equal findings in one file are told apart by their order.
            let key = fingerprint(diagnostic, &uri);
            let occurrence = seen.entry(key).or_insert(0);
            *occurrence += 1;
            result["partialFingerprints"] =
                json!({ FINGERPRINT_KEY: format!("{key:016x}:{occurrence}") });
            result
        })
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
            "originalUriBaseIds": { "%SRCROOT%": { "uri": directory_uri(&base) } },
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
        "shortDescription": { "text": within_limit(rule.summary) },
        "fullDescription": { "text": within_limit(what_it_does) },
        "helpUri": crate::rules_doc::help_uri(rule),
        "help": { "text": rule.docs, "markdown": rule.docs },
        "defaultConfiguration": { "level": level(rule.severity) },
        "properties": { "tags": ["catga", rule.name], "fix": super::rules::fix_label(rule) },
    })
}

fn result(diagnostic: &Diagnostic, rules: &[&RuleMeta], uri: &str) -> Value {
    let mut text = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
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

/// A path as a URI reference: forward slashes, percent-encoded.
fn uri(path: &Path) -> String {
    let path = slash_path(path);
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

/// An absolute directory as a `file:` URI ending in `/`, as `originalUriBaseIds` wants it.
fn directory_uri(dir: &Path) -> String {
    let mut text = uri(dir);
    if !text.starts_with('/') {
        // A Windows drive path (`C:/work`).
        text.insert(0, '/');
    }
    if !text.ends_with('/') {
        text.push('/');
    }
    format!("file://{text}")
}

/// `root`, or the nearest directory above it that holds every path of `files` (a file linted
/// outside the directory the run started in), so every location is relative to it.
fn common_base(root: &Path, files: &[PathBuf]) -> PathBuf {
    let mut base = root.to_path_buf();
    for file in files {
        while !file.starts_with(&base) {
            if !base.pop() {
                return PathBuf::from("/");
            }
        }
    }
    base
}

/// A finding's identity across runs: its rule, file and message without the numbers in it
/// (line numbers in messages move with unrelated edits).
fn fingerprint(diagnostic: &Diagnostic, uri: &str) -> u64 {
    let message: String = diagnostic
        .message
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect();
    xxhash_rust::xxh3::xxh3_64(format!("{}\0{uri}\0{message}", diagnostic.code).as_bytes())
}

/// `text` cut to [`MAX_DESCRIPTION`] characters, at the end of a sentence or line when one is
/// near, with an ellipsis.
fn within_limit(text: &str) -> String {
    if text.chars().count() <= MAX_DESCRIPTION {
        return text.to_string();
    }
    let cut: String = text.chars().take(MAX_DESCRIPTION - 1).collect();
    let end = cut
        .rfind(". ")
        .map(|at| at + 1)
        .or_else(|| cut.rfind('\n'))
        .filter(|at| *at > MAX_DESCRIPTION / 2)
        .unwrap_or(cut.len());
    format!("{}…", cut[..end].trim_end())
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
        fix_applicabilities: &[],
        summary: "Synchronous I/O in async code",
        docs: "## What it does\nFinds sync I/O.\n",
    };

    fn rendered(diagnostics: &[Diagnostic]) -> Value {
        serde_json::from_str(&render(
            diagnostics,
            &[&SLEEP, &IO],
            Path::new("/work/shop"),
        ))
        .unwrap()
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
        assert_eq!(rules[0]["properties"]["fix"], "sometimes (safe)");
        assert_eq!(rules[1]["properties"]["fix"], "none");
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

    #[test]
    fn sarif_declares_the_source_root_and_widens_it_for_files_outside_it() {
        let log = rendered(&[sync_io("src/a.rs", 1)]);
        assert_eq!(
            log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"],
            "file:///work/shop/"
        );
        let outside = sync_io("/work/lib/src/b.rs", 1);
        let log = rendered(&[sync_io("src/a.rs", 1), outside]);
        assert_eq!(
            log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"],
            "file:///work/"
        );
        let uris: Vec<&str> = log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|result| {
                result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(uris, ["lib/src/b.rs", "shop/src/a.rs"]);
    }

    #[test]
    fn sarif_fingerprints_ignore_line_moves_and_tell_equal_findings_apart() {
        let fingerprint = |log: &Value, index: usize| {
            log["runs"][0]["results"][index]["partialFingerprints"][FINGERPRINT_KEY].clone()
        };
        let before = rendered(&[sync_io("src/a.rs", 3)]);
        let moved = rendered(&[sync_io("src/a.rs", 40)]);
        assert_eq!(fingerprint(&before, 0), fingerprint(&moved, 0));
        let twice = rendered(&[sync_io("src/a.rs", 3), sync_io("src/a.rs", 9)]);
        assert_ne!(fingerprint(&twice, 0), fingerprint(&twice, 1));
        let other_file = rendered(&[sync_io("src/b.rs", 3)]);
        assert_ne!(fingerprint(&before, 0), fingerprint(&other_file, 0));
    }

    #[test]
    fn every_rule_descriptor_fits_github_limits_and_links_its_docs() {
        let log: Value =
            serde_json::from_str(&render(&[], crate::rules::rules(), Path::new("/w"))).unwrap();
        for rule in log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
        {
            for field in ["shortDescription", "fullDescription"] {
                let text = rule[field]["text"].as_str().unwrap();
                assert!(
                    text.chars().count() <= MAX_DESCRIPTION,
                    "{}: {field}",
                    rule["id"]
                );
            }
            assert!(
                rule["helpUri"]
                    .as_str()
                    .unwrap()
                    .contains("docs/rules.md#catga"),
                "{}",
                rule["helpUri"]
            );
        }
        let long = "word ".repeat(400);
        let cut = within_limit(&long);
        assert!(cut.chars().count() <= MAX_DESCRIPTION && cut.ends_with('…'));
    }
}
