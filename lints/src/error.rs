//! Failures that stop a lint run (the CLI's exit code 2). Each names what went wrong, where,
//! and what to do.

use std::path::PathBuf;

/// Why `lint` could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum LintError {
    /// A configuration file is malformed or holds an unknown key, code or value.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Config {
        /// The config file (`catga.toml` or `Cargo.toml`).
        path: PathBuf,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What is wrong, and the valid choices.
        message: String,
    },
    /// A path given to lint does not exist.
    #[error("{}: no such file or directory", path.display())]
    MissingPath {
        /// The path as given.
        path: PathBuf,
    },
    /// `--select` or `--ignore` names no known rule.
    #[error("unknown rule `{code}` in {origin}; run `catga rules` to list the codes")]
    UnknownCode {
        /// The code as given.
        code: String,
        /// Where it came from: `--select`, `--ignore`.
        origin: String,
    },
    /// Reading a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `cargo metadata` failed for the project around the root.
    #[error("cargo metadata failed for {}: {message}", manifest.display())]
    Metadata {
        /// The manifest it ran on.
        manifest: PathBuf,
        /// Cargo's message.
        message: String,
    },
}
