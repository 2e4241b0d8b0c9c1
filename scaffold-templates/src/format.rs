//! Generated Rust goes through rustfmt when it is installed (it is with every rustup
//! toolchain), so what `catga new` and `catga add` write passes `cargo fmt --check` whatever the
//! lengths of the names in it. Without rustfmt, the templates' own layout stands.

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::{Change, Plan};

/// Formats every Rust file the plan creates, with one rustfmt run over a scratch copy (one
/// process for all files: rustup's proxy costs more than the formatting). Leaves the texts as
/// they are when rustfmt is missing or fails.
pub(crate) fn format_created(plan: &mut Plan) {
    let Ok(scratch) = tempfile::tempdir() else {
        return;
    };
    let mut paths = Vec::new();
    for file in &plan.files {
        if let (true, Change::Create(text)) = (
            file.path.extension().is_some_and(|ext| ext == "rs"),
            &file.change,
        ) {
            let path = scratch.path().join(&file.path);
            let written = path
                .parent()
                .map_or(Ok(()), fs::create_dir_all)
                .and_then(|()| fs::write(&path, text));
            if written.is_err() {
                return;
            }
            paths.push(path);
        }
    }
    if paths.is_empty() {
        return;
    }
    let formatted = Command::new("rustfmt")
        .args(["--edition", "2024", "--quiet"])
        .args(&paths)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !formatted.is_ok_and(|status| status.success()) {
        return;
    }
    for file in &mut plan.files {
        if let Change::Create(text) = &mut file.change
            && file.path.extension().is_some_and(|ext| ext == "rs")
            && let Ok(new_text) = fs::read_to_string(scratch.path().join(&file.path))
        {
            *text = new_text;
        }
    }
}

/// rustfmt's output for the snippet `text`, or `None` when rustfmt is missing or fails.
pub(crate) fn rustfmt_snippet(text: &str) -> Option<String> {
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(text.as_bytes()).ok()?;
    let output = child.wait_with_output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8(output.stdout).ok())
        .flatten()
}
