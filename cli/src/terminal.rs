//! The terminal edge: whether to use colour, writing to stdout without panicking on a closed
//! pipe, and printing an error with its cause chain once.

use std::error::Error;
use std::ffi::OsStr;
use std::io::{self, IsTerminal, Write};

/// Whether stdout gets ANSI colours: only on a terminal, and never when `NO_COLOR` is set to a
/// non-empty value (<https://no-color.org>).
pub(crate) fn stdout_color() -> bool {
    color_wanted(
        std::env::var_os("NO_COLOR").as_deref(),
        io::stdout().is_terminal(),
    )
}

fn color_wanted(no_color: Option<&OsStr>, is_terminal: bool) -> bool {
    let no_color = no_color.is_some_and(|value| !value.is_empty());
    is_terminal && !no_color
}

/// Writes `text` to stdout. A reader that went away (`catga rules | head`) is not an error.
pub(crate) fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Prints `message` on stderr (best effort: there is nowhere left to report a failure).
pub(crate) fn eprint(message: &str) {
    let _ = io::stderr().lock().write_all(message.as_bytes());
}

/// Prints `error: ...` and each cause once on stderr. Causes whose text the message already
/// contains (thiserror's `"...: {0}"` style) are not repeated.
pub(crate) fn print_error(error: &dyn Error) {
    let mut text = format!("error: {error}\n");
    let mut shown = error.to_string();
    let mut cause = error.source();
    while let Some(source) = cause {
        let line = source.to_string();
        if !shown.contains(&line) {
            text.push_str(&format!("  caused by: {line}\n"));
            shown.push_str(&line);
        }
        cause = source.source();
    }
    eprint(&text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_only_on_a_terminal_without_no_color() {
        assert!(color_wanted(None, true));
        assert!(
            color_wanted(Some(OsStr::new("")), true),
            "an empty NO_COLOR is unset"
        );
        assert!(!color_wanted(Some(OsStr::new("1")), true));
        assert!(!color_wanted(None, false));
    }
}
