//! The `json` format: the stable, versioned shape tools read (DESIGN.md, "Diagnostics, output and
//! exit codes").
//!
//! Keys come out in the documented order, diagnostics in (path, line, column, code) order, so two
//! runs over the same tree give the same bytes. Lines and columns are 1-based; columns count
//! characters; end positions point one past the last character.

use super::{Summary, applicability_str, in_output_order, slash_path};
use crate::diagnostic::{Diagnostic, Edit, Fix, Span};
use serde::Serialize;

/// The version of this shape; bumped only when a key is renamed or removed.
pub const FORMAT_VERSION: u32 = 1;

/// Renders one run as the JSON document, pretty-printed, ending with a newline.
///
/// `fixed` is the number of fixes applied (or, with `--diff`, that would be applied).
pub fn render(files_scanned: usize, diagnostics: &[Diagnostic], fixed: usize) -> String {
    let summary = Summary::of(diagnostics);
    let document = JsonReport {
        version: FORMAT_VERSION,
        files_scanned,
        diagnostics: in_output_order(diagnostics)
            .into_iter()
            .map(JsonDiagnostic::from)
            .collect(),
        summary: JsonSummary {
            errors: summary.errors,
            warnings: summary.warnings,
            infos: summary.infos,
            fixable: summary.fixable,
            fixed,
        },
    };
    let mut text = serde_json::to_string_pretty(&document)
        .expect("serializing plain structs of strings and integers cannot fail");
    text.push('\n');
    text
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    files_scanned: usize,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: JsonSummary,
}

/// Renders `--statistics` as a JSON array of `{code, name, count, fixable}`, most frequent first.
pub fn render_statistics(diagnostics: &[Diagnostic]) -> String {
    let rows: Vec<serde_json::Value> = super::statistics(diagnostics)
        .into_iter()
        .map(|row| {
            serde_json::json!({
                "code": row.code, "name": row.name, "count": row.count, "fixable": row.fixable,
            })
        })
        .collect();
    let mut text =
        serde_json::to_string_pretty(&rows).expect("serializing a serde_json::Value cannot fail");
    text.push('\n');
    text
}

#[derive(Serialize)]
struct JsonSummary {
    errors: usize,
    warnings: usize,
    infos: usize,
    fixable: usize,
    fixed: usize,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    name: &'a str,
    severity: &'static str,
    message: &'a str,
    path: String,
    #[serde(flatten)]
    range: JsonRange,
    help: Option<&'a str>,
    fix: Option<JsonFix<'a>>,
}

impl<'a> From<&'a Diagnostic> for JsonDiagnostic<'a> {
    fn from(diagnostic: &'a Diagnostic) -> Self {
        JsonDiagnostic {
            code: &diagnostic.code,
            name: &diagnostic.name,
            severity: diagnostic.severity.as_str(),
            message: &diagnostic.message,
            path: slash_path(&diagnostic.path),
            range: JsonRange::from(&diagnostic.span),
            help: diagnostic.help.as_deref(),
            fix: diagnostic.fix.as_ref().map(JsonFix::from),
        }
    }
}

#[derive(Serialize)]
struct JsonRange {
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
}

impl From<&Span> for JsonRange {
    fn from(span: &Span) -> Self {
        JsonRange {
            line: span.start_pos.line,
            column: span.start_pos.column,
            end_line: span.end_pos.line,
            end_column: span.end_pos.column,
        }
    }
}

#[derive(Serialize)]
struct JsonFix<'a> {
    applicability: &'static str,
    description: &'a str,
    edits: Vec<JsonEdit<'a>>,
}

impl<'a> From<&'a Fix> for JsonFix<'a> {
    fn from(fix: &'a Fix) -> Self {
        JsonFix {
            applicability: applicability_str(fix.applicability),
            description: &fix.description,
            edits: fix.edits.iter().map(JsonEdit::from).collect(),
        }
    }
}

#[derive(Serialize)]
struct JsonEdit<'a> {
    #[serde(flatten)]
    range: JsonRange,
    content: &'a str,
}

impl<'a> From<&'a Edit> for JsonEdit<'a> {
    fn from(edit: &'a Edit) -> Self {
        JsonEdit {
            range: JsonRange::from(&edit.span),
            content: &edit.content,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{blocking_sleep, sync_io};
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn json_has_the_documented_shape_and_key_order() {
        let text = render(12, &[blocking_sleep("src/orders.rs", 41)], 0);
        let expected = json!({
            "version": 1,
            "files_scanned": 12,
            "diagnostics": [{
                "code": "CATGA005", "name": "blocking-call-in-async", "severity": "warning",
                "message": "std::thread::sleep blocks the executor thread inside async fn `handle`",
                "path": "src/orders.rs", "line": 41, "column": 9, "end_line": 41, "end_column": 48,
                "help": "use tokio::time::sleep(..).await",
                "fix": { "applicability": "safe",
                         "description": "Replace with `tokio::time::sleep(..).await`",
                         "edits": [{ "line": 41, "column": 9, "end_line": 41, "end_column": 48,
                                     "content": "tokio::time::sleep(Duration::from_millis(5)).await" }] }
            }],
            "summary": { "errors": 0, "warnings": 1, "infos": 0, "fixable": 1, "fixed": 0 }
        });
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), expected);
        let keys = [
            "\"version\"",
            "\"files_scanned\"",
            "\"diagnostics\"",
            "\"code\"",
            "\"name\"",
            "\"severity\"",
            "\"message\"",
            "\"path\"",
            "\"line\"",
            "\"column\"",
            "\"end_line\"",
            "\"end_column\"",
            "\"help\"",
            "\"fix\"",
            "\"summary\"",
        ];
        let offsets: Vec<usize> = keys.iter().map(|key| text.find(key).unwrap()).collect();
        assert!(offsets.is_sorted(), "keys out of documented order: {text}");
    }

    #[test]
    fn json_writes_null_help_and_fix_when_absent() {
        let value: Value = serde_json::from_str(&render(1, &[sync_io("a.rs", 2)], 0)).unwrap();
        assert_eq!(value["diagnostics"][0]["help"], Value::Null);
        assert_eq!(value["diagnostics"][0]["fix"], Value::Null);
        assert_eq!(value["summary"]["errors"], 1);
        assert_eq!(value["summary"]["fixable"], 0);
    }

    #[test]
    fn json_is_byte_identical_whatever_the_input_order() {
        let forward = [
            blocking_sleep("a.rs", 1),
            sync_io("b/c.rs", 4),
            blocking_sleep("b/c.rs", 2),
        ];
        let mut backward = forward.clone();
        backward.reverse();
        assert_eq!(render(2, &forward, 3), render(2, &backward, 3));
    }

    #[test]
    fn json_reports_fixed_count_and_empty_runs() {
        let value: Value = serde_json::from_str(&render(0, &[], 5)).unwrap();
        assert_eq!(value["diagnostics"], json!([]));
        assert_eq!(value["summary"]["fixed"], 5);
    }
}
