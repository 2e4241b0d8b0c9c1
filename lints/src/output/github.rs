//! The `github` format: one GitHub Actions workflow command per diagnostic, so a CI step turns
//! findings into annotations on the pull request.
//!
//! `::warning file=src/a.rs,line=3,col=5,endLine=3,endColumn=20,title=CATGA005 (blocking-call-in-async)::message`
//!
//! Escaping follows the runner's rules: in the message `%`, `\r` and `\n` are percent-encoded; in
//! property values `:` and `,` are too. GitHub only honours columns for single-line ranges, so
//! `col`/`endColumn` are left out when a range spans lines.

use super::{in_output_order, slash_path};
use crate::diagnostic::{Diagnostic, Severity};
use std::fmt::Write;

/// Renders every diagnostic as one workflow-command line, in output order.
pub fn render(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for diagnostic in in_output_order(diagnostics) {
        render_one(&mut out, diagnostic);
    }
    out
}

fn render_one(out: &mut String, diagnostic: &Diagnostic) {
    let command = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let start = diagnostic.span.start_pos;
    let end = diagnostic.span.end_pos;
    let file = escape_property(&slash_path(&diagnostic.path));
    let _ = write!(out, "::{command} file={file},line={}", start.line);
    if start.line == end.line {
        let _ = write!(
            out,
            ",col={},endLine={},endColumn={}",
            start.column, end.line, end.column
        );
    } else {
        let _ = write!(out, ",endLine={}", end.line);
    }
    let title = escape_property(&format!("{} ({})", diagnostic.code, diagnostic.name));
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let _ = writeln!(out, ",title={title}::{}", escape_data(&message));
}

/// Escapes a workflow command's message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (file, title).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{blocking_sleep, span, sync_io};
    use super::*;

    #[test]
    fn github_line_carries_file_range_title_and_message() {
        let mut diagnostic = sync_io("src/net.rs", 7);
        diagnostic.message = "connect blocks".into();
        assert_eq!(
            render(&[diagnostic]),
            "::error file=src/net.rs,line=7,col=5,endLine=7,endColumn=30,\
             title=CATGA012 (sync-io-in-async)::connect blocks\n"
        );
    }

    #[test]
    fn github_maps_info_to_notice_and_appends_help() {
        let mut diagnostic = blocking_sleep("a.rs", 1);
        diagnostic.severity = Severity::Info;
        diagnostic.help = Some("use tokio".into());
        diagnostic.message = "sleeps".into();
        let line = render(&[diagnostic]);
        assert!(line.starts_with("::notice file=a.rs,"), "{line}");
        assert!(line.ends_with("::sleeps%0Ahelp: use tokio\n"), "{line}");
    }

    #[test]
    fn github_escapes_percent_newlines_and_property_separators() {
        let mut diagnostic = sync_io("dir,with:odd%name.rs", 1);
        diagnostic.message = "100% sure:\r\nreally, yes".into();
        let line = render(&[diagnostic]);
        assert!(line.contains("file=dir%2Cwith%3Aodd%25name.rs,"), "{line}");
        assert!(
            line.ends_with("::100%25 sure:%0D%0Areally, yes\n"),
            "{line}"
        );
        assert_eq!(line.matches('\n').count(), 1);
    }

    #[test]
    fn github_drops_columns_for_multi_line_ranges() {
        let mut diagnostic = sync_io("a.rs", 2);
        diagnostic.span.end_pos = span(4, 1, 3).end_pos;
        let line = render(&[diagnostic]);
        assert!(
            line.starts_with("::error file=a.rs,line=2,endLine=4,title="),
            "{line}"
        );
    }
}
