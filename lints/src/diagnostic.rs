//! The data every rule produces and every output format consumes: diagnostics, fixes and edits.
//!
//! Plain serializable data, so the cache can store it and the formatters never need the syntax
//! tree. Positions are 1-based lines and 1-based columns counted in characters; spans also carry
//! byte offsets into the file text so edits can be applied without recomputing positions.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// How serious a diagnostic is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A suggestion; never fails a run unless `--fail-on info`.
    Info,
    /// Likely a bug or a performance problem.
    Warning,
    /// Almost certainly wrong.
    Error,
}

impl Severity {
    /// The lowercase name used in config files and every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether applying a fix keeps the program's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Meaning kept: applied by `--fix`.
    Safe,
    /// Meaning may change: applied only with `--unsafe-fixes`.
    Unsafe,
    /// Shown as a suggestion, never applied (the rewrite needs a person's judgement).
    #[serde(rename = "display-only")]
    DisplayOnly,
}

/// A 1-based line and a 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters (not bytes).
    pub column: u32,
}

/// A range of a file's text: byte offsets for editing, positions for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Span {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// Position of the first character.
    pub start_pos: Position,
    /// Position one past the last character.
    pub end_pos: Position,
}

/// Replace the text of `span` with `content` (an empty span inserts, empty content deletes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Edit {
    /// What to replace.
    pub span: Span,
    /// The replacement text.
    pub content: String,
}

/// A suggested rewrite: edits applied together, or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fix {
    /// Whether `--fix` applies it on its own.
    pub applicability: Applicability,
    /// What the fix does, imperative: "Replace with `tokio::time::sleep(..).await`".
    pub description: String,
    /// Non-overlapping edits, in file order.
    pub edits: Vec<Edit>,
}

/// One finding of one rule at one place.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The rule code, `CATGA005`.
    pub code: String,
    /// The rule name, `blocking-call-in-async`.
    pub name: String,
    /// Severity after configuration overrides.
    pub severity: Severity,
    /// What is wrong here, naming the construct.
    pub message: String,
    /// The file, relative to the directory the run started in when it lies below it.
    pub path: PathBuf,
    /// Where.
    pub span: Span,
    /// What to do instead.
    pub help: Option<String>,
    /// The rewrite, when the rule has one for this site.
    pub fix: Option<Fix>,
}

impl Diagnostic {
    /// The order every output uses: path, line, column, code.
    pub fn sort_key(&self) -> (&PathBuf, u32, u32, &str) {
        (
            &self.path,
            self.span.start_pos.line,
            self.span.start_pos.column,
            &self.code,
        )
    }
}

impl Edit {
    /// Replace the text of `span` with `content`.
    pub fn replace(span: Span, content: impl Into<String>) -> Edit {
        Edit {
            span,
            content: content.into(),
        }
    }

    /// Insert `content` at the start of `span` (the span is collapsed to its start).
    pub fn insert_before(span: Span, content: impl Into<String>) -> Edit {
        let at = Span {
            end: span.start,
            end_pos: span.start_pos,
            ..span
        };
        Edit {
            span: at,
            content: content.into(),
        }
    }

    /// Insert `content` at the end of `span` (the span is collapsed to its end).
    pub fn insert_after(span: Span, content: impl Into<String>) -> Edit {
        let at = Span {
            start: span.end,
            start_pos: span.end_pos,
            ..span
        };
        Edit {
            span: at,
            content: content.into(),
        }
    }

    /// Delete the text of `span`.
    pub fn delete(span: Span) -> Edit {
        Edit {
            span,
            content: String::new(),
        }
    }
}

/// `text` with `edits` applied (in any order); `None` when two overlap or one falls outside it.
pub fn apply_edits<'a>(text: &str, edits: impl IntoIterator<Item = &'a Edit>) -> Option<String> {
    let mut edits: Vec<&Edit> = edits.into_iter().collect();
    edits.sort_by_key(|edit| (edit.span.start, edit.span.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for edit in edits {
        if edit.span.start < at {
            return None;
        }
        out.push_str(text.get(at..edit.span.start)?);
        out.push_str(&edit.content);
        at = edit.span.end;
    }
    out.push_str(text.get(at..)?);
    Some(out)
}

impl Fix {
    /// A fix that keeps the program's meaning: applied by `--fix`.
    pub fn safe(description: impl Into<String>, edits: Vec<Edit>) -> Fix {
        Fix::new(Applicability::Safe, description, edits)
    }

    /// A fix that may change behaviour: applied only with `--unsafe-fixes`.
    pub fn unsafe_edits(description: impl Into<String>, edits: Vec<Edit>) -> Fix {
        Fix::new(Applicability::Unsafe, description, edits)
    }

    /// A fix with the given applicability; edits are sorted into file order.
    pub fn new(
        applicability: Applicability,
        description: impl Into<String>,
        mut edits: Vec<Edit>,
    ) -> Fix {
        edits.sort_by_key(|edit| (edit.span.start, edit.span.end));
        Fix {
            applicability,
            description: description.into(),
            edits,
        }
    }
}
