//! The analyzer's diagnostics as LSP diagnostics: range in the client's encoding, severity, the
//! rule code with a `codeDescription` link to its documentation, `source: "catga"`, and related
//! information for the other places a finding names (the other handler of a duplicate, where an
//! unhandled event is published).
//!
//! Cross-file rules name other places in their messages as `path:line` (paths as diagnostics
//! show them, [`catga_lints::workspace::place`]); each such place of a workspace file becomes a
//! related location.

use crate::document::{Document, Encoding};
use catga_lints::{Diagnostic, LiveWorkspace, Severity};
use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Url,
};
use std::path::{Path, PathBuf};

/// What LSP diagnostics name as their source.
pub(crate) const SOURCE: &str = "catga";

/// One analyzer diagnostic of `document` as an LSP diagnostic.
pub(crate) fn to_lsp(
    diagnostic: &Diagnostic,
    document: &Document,
    encoding: Encoding,
    live: &LiveWorkspace,
) -> lsp_types::Diagnostic {
    let rule = catga_lints::rule(&diagnostic.code);
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related = related_places(&diagnostic.message, live)
        .into_iter()
        .filter_map(|(path, line)| {
            let uri = Url::from_file_path(&path).ok()?;
            let text = live.text(&path)?;
            let range = Document::new(text, None).line_range(line, encoding);
            Some(DiagnosticRelatedInformation {
                location: Location::new(uri, range),
                message: related_label(&diagnostic.code).to_string(),
            })
        })
        .collect::<Vec<_>>();
    lsp_types::Diagnostic {
        range: document.range_of(diagnostic.span, encoding),
        severity: Some(severity(diagnostic.severity)),
        code: Some(NumberOrString::String(diagnostic.code.clone())),
        code_description: rule.and_then(|rule| {
            Some(CodeDescription {
                href: Url::parse(&catga_lints::rules_doc::help_uri(rule)).ok()?,
            })
        }),
        source: Some(SOURCE.to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

fn severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Info => DiagnosticSeverity::INFORMATION,
    }
}

/// What the place a finding names is, by rule.
fn related_label(code: &str) -> &'static str {
    match code {
        "CATGA003" => "the other handler of this message",
        "CATGA015" => "the event is published here",
        _ => "named by this finding",
    }
}

/// The `path:line` places of workspace files that `message` names, as (absolute path, line).
fn related_places(message: &str, live: &LiveWorkspace) -> Vec<(PathBuf, u32)> {
    let mut places = Vec::new();
    for (colon, _) in message.match_indices(':') {
        let digits: String = message[colon + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let Ok(line) = digits.parse::<u32>() else {
            continue;
        };
        let before = &message[..colon];
        let start = before
            .rfind(|c: char| c.is_whitespace() || matches!(c, '`' | '(' | ','))
            .map_or(0, |at| at + 1);
        let path = live.absolute_path(Path::new(&before[start..]));
        if live.contains(&path) && !places.contains(&(path.clone(), line)) {
            places.push((path, line));
        }
    }
    places
}
