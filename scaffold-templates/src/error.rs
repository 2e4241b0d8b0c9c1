//! What can stop a scaffold: each message says what is wrong, where, and what to do.

use std::io;
use std::path::PathBuf;

/// Why `catga new` or `catga add` did not write anything (or undid what it wrote).
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// A project, message or module name that cargo or rustc would refuse.
    #[error("invalid {what} `{name}`: {reason}")]
    InvalidName {
        what: &'static str,
        name: String,
        reason: String,
    },
    /// The destination exists and is not an empty directory allowed by `--force`.
    #[error("destination `{}` {reason}", path.display())]
    Destination { path: PathBuf, reason: String },
    /// A file the plan would create is already there.
    #[error("`{}` already exists; nothing was written (rename what you add, or move the file away)", path.display())]
    Exists { path: PathBuf },
    /// A name `catga add` would define is already defined.
    #[error("`{name}` already exists at {}:{line}; choose another name", path.display())]
    AlreadyDefined {
        name: String,
        path: PathBuf,
        line: usize,
    },
    /// The directory is not a project `catga add` can extend.
    #[error("{message}")]
    Project { message: String },
    /// A source file that syn cannot parse, so it cannot be edited safely.
    #[error("cannot parse `{}`: {message}; fix it (cargo check shows where) and run again", path.display())]
    Parse { path: PathBuf, message: String },
    /// A file changed between planning and writing.
    #[error("`{}` changed while catga was writing; run the command again", path.display())]
    Changed { path: PathBuf },
    /// An I/O failure, with the path it happened on.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A write failed and undoing the files already written failed too: the tree needs a look.
    #[error("{error}; undoing what was written also failed ({undo}), so check these files by hand: {}", paths.join(", "))]
    Rollback {
        error: Box<ScaffoldError>,
        undo: String,
        paths: Vec<String>,
    },
}

impl ScaffoldError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        ScaffoldError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn project(message: impl Into<String>) -> Self {
        ScaffoldError::Project {
            message: message.into(),
        }
    }
}
