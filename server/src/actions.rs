//! Code actions and hover for the findings under the cursor.
//!
//! Per finding: its fix as a quick fix (a safe fix is the preferred action; an unsafe one says
//! so in its title; display-only suggestions are never offered as edits), and "allow this
//! finding", a `catga-allow` comment above its line with a reason to fill in. Per file: "fix all
//! safe problems" (`source.fixAll.catga`), the fix loop `catga lint --fix` runs, on the buffer.
//! Hover on a finding shows its rule's documentation, as `catga explain` prints it.

use crate::convert;
use crate::document::{Document, Encoding};
use catga_lints::source::SourceFile;
use catga_lints::{Applicability, Diagnostic, FixMode, LiveWorkspace};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Hover, HoverContents, MarkupContent,
    MarkupKind, Range, TextEdit, Url, WorkspaceEdit,
};
use std::collections::HashMap;
use std::path::Path;

/// The code action kind of "fix all safe problems in this file".
pub(crate) const FIX_ALL_KIND: &str = "source.fixAll.catga";

/// Everything a code action or hover request needs about one document.
pub(crate) struct Context<'a> {
    pub(crate) uri: &'a Url,
    pub(crate) path: &'a Path,
    pub(crate) document: &'a Document,
    pub(crate) diagnostics: &'a [Diagnostic],
    pub(crate) encoding: Encoding,
    pub(crate) live: &'a LiveWorkspace,
}

/// Whether an action of `kind` is wanted by a request that asks `only` for these kinds
/// (a requested kind covers its sub-kinds: `source.fixAll` covers `source.fixAll.catga`).
fn wanted(only: Option<&[CodeActionKind]>, kind: &str) -> bool {
    only.is_none_or(|only| {
        only.iter().any(|requested| {
            let requested = requested.as_str();
            kind == requested
                || kind
                    .strip_prefix(requested)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    })
}

/// The code actions for the findings that touch `range`, then the file-wide fix-all.
pub(crate) fn code_actions(
    cx: &Context<'_>,
    range: Range,
    only: Option<&[CodeActionKind]>,
) -> Vec<CodeActionOrCommand> {
    let mut actions = Vec::new();
    let start = cx.document.analyzer_offset(range.start, cx.encoding);
    let end = cx.document.analyzer_offset(range.end, cx.encoding);
    if wanted(only, CodeActionKind::QUICKFIX.as_str()) {
        for diagnostic in cx
            .diagnostics
            .iter()
            .filter(|d| d.span.start <= end && start <= d.span.end)
        {
            let lsp = convert::to_lsp(diagnostic, cx.document, cx.encoding, cx.live);
            if let Some(action) = fix_action(cx, diagnostic, &lsp) {
                actions.push(action);
            }
            if let Some(action) = allow_action(cx, diagnostic, &lsp) {
                actions.push(action);
            }
        }
    }
    if wanted(only, FIX_ALL_KIND)
        && cx.diagnostics.iter().any(|diagnostic| {
            diagnostic
                .fix
                .as_ref()
                .is_some_and(|fix| fix.applicability == Applicability::Safe)
        })
        && let Some(fixed) = cx.live.fix_all(cx.path, FixMode::Safe)
    {
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: "catga: fix all safe problems in this file".to_string(),
            kind: Some(CodeActionKind::new(FIX_ALL_KIND)),
            edit: Some(edit(
                cx.uri,
                vec![TextEdit::new(cx.document.full_range(cx.encoding), fixed)],
            )),
            ..CodeAction::default()
        }));
    }
    actions
}

fn edit(uri: &Url, edits: Vec<TextEdit>) -> WorkspaceEdit {
    WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..WorkspaceEdit::default()
    }
}

/// The finding's fix as a quick fix; `None` for findings without one and display-only
/// suggestions.
fn fix_action(
    cx: &Context<'_>,
    diagnostic: &Diagnostic,
    lsp: &lsp_types::Diagnostic,
) -> Option<CodeActionOrCommand> {
    let fix = diagnostic.fix.as_ref()?;
    let title = match fix.applicability {
        Applicability::Safe => format!("{} ({})", fix.description, diagnostic.code),
        Applicability::Unsafe => format!(
            "{} ({}, unsafe fix: may change behaviour)",
            fix.description, diagnostic.code
        ),
        Applicability::DisplayOnly => return None,
    };
    let edits = fix
        .edits
        .iter()
        .map(|edit| {
            TextEdit::new(
                cx.document.range_of(edit.span, cx.encoding),
                edit.content.clone(),
            )
        })
        .collect();
    Some(CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![lsp.clone()]),
        edit: Some(edit(cx.uri, edits)),
        is_preferred: Some(fix.applicability == Applicability::Safe),
        ..CodeAction::default()
    }))
}

/// "Allow this finding": a `catga-allow` comment above its line. Not for parse errors and
/// unused allows, which a comment cannot silence.
fn allow_action(
    cx: &Context<'_>,
    diagnostic: &Diagnostic,
    lsp: &lsp_types::Diagnostic,
) -> Option<CodeActionOrCommand> {
    if matches!(diagnostic.code.as_str(), "CATGA000" | "CATGA100") {
        return None;
    }
    let source = SourceFile::new(cx.path, cx.document.text());
    let comment =
        catga_lints::allow_edit(&source, diagnostic.span.start_pos.line, &diagnostic.code)?;
    Some(CodeActionOrCommand::CodeAction(CodeAction {
        title: format!(
            "Allow {} here (catga-allow comment; write the reason)",
            diagnostic.code
        ),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![lsp.clone()]),
        edit: Some(edit(
            cx.uri,
            vec![TextEdit::new(
                cx.document.range_of(comment.span, cx.encoding),
                comment.content,
            )],
        )),
        is_preferred: Some(false),
        ..CodeAction::default()
    }))
}

/// The documentation of every rule with a finding at `offset` (analyzer offset), with the range
/// of the first such finding.
pub(crate) fn hover(cx: &Context<'_>, offset: usize) -> Option<Hover> {
    let under: Vec<&Diagnostic> = cx
        .diagnostics
        .iter()
        .filter(|d| d.span.start <= offset && offset <= d.span.end)
        .collect();
    let first = under.first()?;
    let mut codes: Vec<&str> = under.iter().map(|d| d.code.as_str()).collect();
    codes.dedup();
    let text = codes
        .iter()
        .filter_map(|code| catga_lints::rule(code))
        .map(catga_lints::output::rules::explain)
        .collect::<Vec<_>>()
        .join("\n---\n\n");
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: Some(cx.document.range_of(first.span, cx.encoding)),
    })
}
