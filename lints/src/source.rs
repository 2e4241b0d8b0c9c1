//! One source file's text and the mapping between its three coordinate systems: byte offsets
//! (for edits), 1-based line / 1-based character column (for people), and proc-macro2's
//! `LineColumn` (1-based line, 0-based character column) that syn spans carry.

use crate::diagnostic::{Position, Span};
use std::path::{Path, PathBuf};
use syn::spanned::Spanned;

/// A file's text (without a leading byte-order mark) and its line index.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path diagnostics show: relative to the run's root when the file lies below it.
    pub path: PathBuf,
    /// The text, without a leading UTF-8 byte-order mark.
    pub text: String,
    /// Whether the file on disk starts with a byte-order mark (kept when the file is rewritten).
    pub had_bom: bool,
    index: LineIndex,
}

impl SourceFile {
    /// Index `text` (a leading byte-order mark is stripped and remembered).
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> SourceFile {
        let mut text = text.into();
        let had_bom = text.starts_with('\u{feff}');
        if had_bom {
            text.drain(..'\u{feff}'.len_utf8());
        }
        let index = LineIndex::new(&text);
        SourceFile {
            path: path.into(),
            text,
            had_bom,
            index,
        }
    }

    /// The path diagnostics show.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The span of a syntax node (for a node of several tokens, from its first to its last).
    pub fn span_of(&self, node: &impl Spanned) -> Span {
        self.span_from(node.span())
    }

    /// Convert a proc-macro2 span into our [`Span`].
    pub fn span_from(&self, span: proc_macro2::Span) -> Span {
        let start = span.start();
        let end = span.end();
        let start_offset = self.index.offset(&self.text, start.line, start.column);
        let end_offset = self
            .index
            .offset(&self.text, end.line, end.column)
            .max(start_offset);
        Span {
            start: start_offset,
            end: end_offset,
            start_pos: self.position(start_offset),
            end_pos: self.position(end_offset),
        }
    }

    /// The span covering `start..end` in bytes (clamped to the text and to char boundaries).
    pub fn span_of_bytes(&self, start: usize, end: usize) -> Span {
        let start = self.floor_boundary(start);
        let end = self.floor_boundary(end).max(start);
        Span {
            start,
            end,
            start_pos: self.position(start),
            end_pos: self.position(end),
        }
    }

    /// The span from the start of `first` to the end of `last`.
    pub fn join(&self, first: Span, last: Span) -> Span {
        self.span_of_bytes(first.start.min(last.start), first.end.max(last.end))
    }

    /// What to delete to remove the item or attribute at `span`: its whole line (line break
    /// included) when nothing else is on it, else the node and the blanks after it, so a
    /// comment sharing the line stays.
    pub fn removal_span(&self, span: Span) -> Span {
        let text = &self.text;
        let line_start = text[..span.start]
            .rfind('\n')
            .map_or(0, |newline| newline + 1);
        let line_end = text[span.end..]
            .find('\n')
            .map_or(text.len(), |newline| span.end + newline + 1);
        let after = &text[span.end..line_end];
        if text[line_start..span.start].trim().is_empty() && after.trim().is_empty() {
            return self.span_of_bytes(line_start, line_end);
        }
        let blanks = after.len() - after.trim_start_matches([' ', '\t']).len();
        self.span_of_bytes(span.start, span.end + blanks)
    }

    /// The text of `span`.
    pub fn text_of(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// The 1-based position of a byte offset.
    pub fn position(&self, offset: usize) -> Position {
        let offset = self.floor_boundary(offset);
        let line = self.index.line_of(offset);
        let line_start = self.index.line_starts[line];
        let column = if self.index.is_ascii(line) {
            offset - line_start
        } else {
            self.text[line_start..offset].chars().count()
        };
        Position {
            line: to_u32(line + 1),
            column: to_u32(column + 1),
        }
    }

    /// The text of the 1-based line `line`, without its line terminator.
    pub fn line_text(&self, line: u32) -> &str {
        let Some(index) = (line as usize).checked_sub(1) else {
            return "";
        };
        let Some(&start) = self.index.line_starts.get(index) else {
            return "";
        };
        let end = self
            .index
            .line_starts
            .get(index + 1)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.index.line_starts.len()
    }

    fn floor_boundary(&self, mut offset: usize) -> usize {
        offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Start offsets of every line, and which lines are pure ASCII (column = byte distance there).
#[derive(Debug, Clone)]
struct LineIndex {
    line_starts: Vec<usize>,
    non_ascii_lines: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        // Every file of a run is indexed: one pass for the newlines, and whole lines tested for
        // ASCII only in the rare file that is not ASCII throughout (one vectorised test).
        let bytes = text.as_bytes();
        let mut line_starts = Vec::with_capacity(bytes.len() / 32 + 1);
        line_starts.push(0);
        let mut start = 0;
        while start < bytes.len() {
            let newline = crate::scan::memchr_newline(bytes, start);
            if newline == bytes.len() {
                break;
            }
            start = newline + 1;
            line_starts.push(start);
        }
        let non_ascii_lines = if text.is_ascii() {
            Vec::new()
        } else {
            (0..line_starts.len())
                .filter(|&line| {
                    let end = line_starts.get(line + 1).copied().unwrap_or(bytes.len());
                    !bytes[line_starts[line]..end].is_ascii()
                })
                .collect()
        };
        LineIndex {
            line_starts,
            non_ascii_lines,
        }
    }

    fn is_ascii(&self, line: usize) -> bool {
        self.non_ascii_lines.binary_search(&line).is_err()
    }

    /// 0-based line of a byte offset.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1)
    }

    /// Byte offset of a proc-macro2 location (1-based line, 0-based char column), clamped to the
    /// line so a bogus location can never index out of bounds.
    fn offset(&self, text: &str, line: usize, column: usize) -> usize {
        let Some(line) = line.checked_sub(1) else {
            return 0;
        };
        let Some(&start) = self.line_starts.get(line) else {
            return text.len();
        };
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(text.len());
        if self.is_ascii(line) {
            return (start + column).min(end);
        }
        text[start..end]
            .char_indices()
            .nth(column)
            .map_or(end, |(offset, _)| start + offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_of_syn_nodes_map_to_bytes_and_character_columns() {
        let file = SourceFile::new("a.rs", "fn é() {}\nfn main() { let x = 1; }\n");
        let parsed = syn::parse_file(&file.text).unwrap();
        let span = file.span_of(&parsed.items[1]);
        assert_eq!(file.text_of(span), "fn main() { let x = 1; }");
        assert_eq!(span.start_pos, Position { line: 2, column: 1 });
        assert_eq!(
            span.end_pos,
            Position {
                line: 2,
                column: 25
            }
        );
        let first = file.span_of(&parsed.items[0]);
        assert_eq!(file.text_of(first), "fn é() {}");
        assert_eq!(
            first.end_pos,
            Position {
                line: 1,
                column: 10
            }
        );
    }

    #[test]
    fn line_index_marks_exactly_the_lines_with_non_ascii_text() {
        let index = LineIndex::new("ascii\nnaïve\n\nend é");
        assert_eq!(index.line_starts, [0, 6, 13, 14]);
        assert_eq!(index.non_ascii_lines, [1, 3]);
        let trailing = LineIndex::new("a\n");
        assert_eq!(trailing.line_starts, [0, 2]);
        assert!(trailing.non_ascii_lines.is_empty());
        assert_eq!(LineIndex::new("").line_starts, [0]);
    }

    #[test]
    fn byte_order_mark_is_stripped_and_remembered() {
        let file = SourceFile::new("a.rs", "\u{feff}fn f() {}\n");
        assert!(file.had_bom);
        let parsed = syn::parse_file(&file.text).unwrap();
        let span = file.span_of(&parsed.items[0]);
        assert_eq!(file.text_of(span), "fn f() {}");
        assert_eq!(span.start_pos, Position { line: 1, column: 1 });
    }

    #[test]
    fn line_text_strips_terminators_and_tolerates_out_of_range_lines() {
        let file = SourceFile::new("a.rs", "a\r\nb\n");
        assert_eq!(file.line_text(1), "a");
        assert_eq!(file.line_text(2), "b");
        assert_eq!(file.line_text(0), "");
        assert_eq!(file.line_text(9), "");
    }
}
