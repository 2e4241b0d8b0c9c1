//! An open document's text and the mapping between the analyzer's byte offsets and LSP
//! positions (0-based line, column in the negotiated encoding: UTF-8 bytes, UTF-16 code units as
//! LSP's default, or UTF-32 characters).
//!
//! The analyzer reads text without a leading byte-order mark; a document that has one shifts
//! every analyzer offset by its length.

use lsp_types::{Position, PositionEncodingKind, Range, TextDocumentContentChangeEvent};

/// How LSP positions count columns, as negotiated at `initialize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    /// The client's preferred encoding among those it offers, UTF-16 when it offers none (the
    /// protocol's default).
    pub(crate) fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        let offered = offered.unwrap_or_default();
        for kind in offered {
            if *kind == PositionEncodingKind::UTF8 {
                return Encoding::Utf8;
            }
            if *kind == PositionEncodingKind::UTF32 {
                return Encoding::Utf32;
            }
            if *kind == PositionEncodingKind::UTF16 {
                return Encoding::Utf16;
            }
        }
        Encoding::Utf16
    }

    pub(crate) fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    fn width(self, c: char) -> u32 {
        match self {
            Encoding::Utf8 => c.len_utf8() as u32,
            Encoding::Utf16 => c.len_utf16() as u32,
            Encoding::Utf32 => 1,
        }
    }
}

/// A document's text with its line index.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    text: String,
    /// The version the client gave with the text (`None` for a file read from disk).
    pub(crate) version: Option<i32>,
    line_starts: Vec<usize>,
    /// Bytes of a leading byte-order mark (which the analyzer's offsets do not count).
    bom: usize,
}

impl Document {
    pub(crate) fn new(text: String, version: Option<i32>) -> Document {
        let mut document = Document {
            text,
            version,
            line_starts: Vec::new(),
            bom: 0,
        };
        document.reindex();
        document
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    fn reindex(&mut self) {
        self.line_starts = std::iter::once(0)
            .chain(self.text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        self.bom = if self.text.starts_with('\u{feff}') {
            '\u{feff}'.len_utf8()
        } else {
            0
        };
    }

    /// Apply the client's changes, in order (whole-text or ranged).
    pub(crate) fn apply(
        &mut self,
        changes: Vec<TextDocumentContentChangeEvent>,
        version: i32,
        encoding: Encoding,
    ) {
        for change in changes {
            match change.range {
                None => self.text = change.text,
                Some(range) => {
                    let start = self.offset_of(range.start, encoding);
                    let end = self.offset_of(range.end, encoding).max(start);
                    self.text.replace_range(start..end, &change.text);
                }
            }
            self.reindex();
        }
        self.version = Some(version);
    }

    /// The byte offset (in the document's text) of an LSP position, clamped to the text.
    pub(crate) fn offset_of(&self, position: Position, encoding: Encoding) -> usize {
        let Some(&line_start) = self.line_starts.get(position.line as usize) else {
            return self.text.len();
        };
        let line_end = self
            .line_starts
            .get(position.line as usize + 1)
            .map_or(self.text.len(), |next| next - 1);
        let mut units = 0;
        for (at, c) in self.text[line_start..line_end].char_indices() {
            if units >= position.character {
                return line_start + at;
            }
            units += encoding.width(c);
        }
        line_end
    }

    /// The LSP position of a byte offset in the document's text (clamped to char boundaries).
    pub(crate) fn position_of(&self, offset: usize, encoding: Encoding) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let character = self.text[self.line_starts[line]..offset]
            .chars()
            .map(|c| encoding.width(c))
            .sum();
        Position::new(line as u32, character)
    }

    /// The LSP range of an analyzer span (whose offsets do not count a byte-order mark).
    pub(crate) fn range_of(&self, span: catga_lints::Span, encoding: Encoding) -> Range {
        Range::new(
            self.position_of(span.start + self.bom, encoding),
            self.position_of(span.end + self.bom, encoding),
        )
    }

    /// The analyzer offset (byte-order mark not counted) of an LSP position.
    pub(crate) fn analyzer_offset(&self, position: Position, encoding: Encoding) -> usize {
        self.offset_of(position, encoding).saturating_sub(self.bom)
    }

    /// The range of the whole 1-based `line`, for a location that names a line.
    pub(crate) fn line_range(&self, line: u32, encoding: Encoding) -> Range {
        let index = (line.max(1) - 1) as usize;
        let Some(&start) = self.line_starts.get(index) else {
            let end = self.position_of(self.text.len(), encoding);
            return Range::new(end, end);
        };
        let end = self
            .line_starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        let end = self.text[..end].trim_end_matches('\r').len().max(start);
        Range::new(
            self.position_of(start, encoding),
            self.position_of(end, encoding),
        )
    }

    /// The range covering the whole text.
    pub(crate) fn full_range(&self, encoding: Encoding) -> Range {
        Range::new(
            Position::new(0, 0),
            self.position_of(self.text.len(), encoding),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_columns_in_the_negotiated_encoding() {
        let document = Document::new("fn a() {}\nlet s = \"é😀x\";\n".to_string(), None);
        let x = document.text().find('x').unwrap();
        assert_eq!(
            document.position_of(x, Encoding::Utf16),
            Position::new(1, 12)
        );
        assert_eq!(
            document.position_of(x, Encoding::Utf8),
            Position::new(1, 15)
        );
        assert_eq!(
            document.position_of(x, Encoding::Utf32),
            Position::new(1, 11)
        );
        for encoding in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            let position = document.position_of(x, encoding);
            assert_eq!(document.offset_of(position, encoding), x);
        }
    }

    #[test]
    fn ranged_changes_edit_the_text_in_order() {
        let mut document = Document::new("async fn a() {\n    b();\n}\n".to_string(), Some(1));
        document.apply(
            vec![
                TextDocumentContentChangeEvent {
                    range: Some(Range::new(Position::new(1, 4), Position::new(1, 5))),
                    range_length: None,
                    text: "c".to_string(),
                },
                TextDocumentContentChangeEvent {
                    range: Some(Range::new(Position::new(2, 1), Position::new(2, 1))),
                    range_length: None,
                    text: "\n// end".to_string(),
                },
            ],
            2,
            Encoding::Utf16,
        );
        assert_eq!(document.text(), "async fn a() {\n    c();\n}\n// end\n");
        assert_eq!(document.version, Some(2));
    }

    #[test]
    fn a_byte_order_mark_shifts_analyzer_spans() {
        let document = Document::new("\u{feff}fn a() {}\n".to_string(), None);
        let span = catga_lints::Span {
            start: 3,
            end: 4,
            start_pos: catga_lints::Position { line: 1, column: 4 },
            end_pos: catga_lints::Position { line: 1, column: 5 },
        };
        // In UTF-16 the mark is one unit: `a` is at column 4.
        assert_eq!(
            document.range_of(span, Encoding::Utf16),
            Range::new(Position::new(0, 4), Position::new(0, 5))
        );
        assert_eq!(
            document.analyzer_offset(Position::new(0, 4), Encoding::Utf16),
            3
        );
    }

    #[test]
    fn positions_past_the_end_are_clamped() {
        let document = Document::new("ab\ncd".to_string(), None);
        assert_eq!(document.offset_of(Position::new(0, 99), Encoding::Utf16), 2);
        assert_eq!(document.offset_of(Position::new(9, 0), Encoding::Utf16), 5);
        assert_eq!(
            document.position_of(99, Encoding::Utf16),
            Position::new(1, 2)
        );
    }
}
