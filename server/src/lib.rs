//! catga-server: the catga language server, a thin protocol layer over
//! [`catga_lints::LiveWorkspace`], the same analyzer `catga lint` runs, kept in memory.
//!
//! [`run_stdio`] serves one client over stdin/stdout (what `catga server` does); [`run`] serves
//! any [`lsp_server::Connection`] (tests use an in-memory one). The protocol plumbing (framing,
//! the initialize handshake, shutdown) is rust-analyzer's `lsp-server`; the types are
//! `lsp-types`.
//!
//! What the server does, in protocol terms:
//! - `didOpen`, `didSave`: check the file now and publish its diagnostics; `didChange`: the same
//!   from the unsaved buffer (never the file on disk), debounced: the first edit after a pause is
//!   checked at once, and edits that follow within [`DEBOUNCE`] of a check are checked together
//!   when that window ends, so typing costs at most one check per window. The cross-file rules run on the in-memory index after every check, so a
//!   finding in another open file that the edit settles (a handler registered, a duplicate
//!   removed) is published again too.
//! - `codeAction`: each finding's fix as a quick fix, "allow this finding", and
//!   `source.fixAll.catga`; `hover`: the rule's documentation.
//! - `catga.toml` or a manifest changing (saved in the editor, or on disk when the client
//!   watches files for us) reloads the configuration and checks everything again.
//!
//! Nothing a client sends makes the server panic its way out: a handler that panics answers
//! the request with an internal error, tells the user, and the server goes on.

mod actions;
mod convert;
mod document;
mod session;

use lsp_server::{Connection, ProtocolError};
use std::time::Duration;

/// The shortest time between two checks of changed buffers while edits keep coming.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Why the server stopped other than by `shutdown` then `exit`.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The client broke the protocol (or the connection): a malformed handshake, a message
    /// other than `exit` after `shutdown`.
    #[error("language server protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The client sent `exit` without `shutdown` first (the protocol's exit code 1).
    #[error("the client sent `exit` before `shutdown`")]
    ExitWithoutShutdown,
    /// The `initialize` request's params are not what the protocol says.
    #[error("invalid `initialize` params: {0}")]
    InitializeParams(serde_json::Error),
    /// The connection closed (stdin at its end) before `shutdown` and `exit`.
    #[error("the client closed the connection without `shutdown` and `exit`")]
    Disconnected,
    /// Reading stdin or writing stdout failed.
    #[error("language server I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Serve one client over stdin and stdout until it shuts the server down and exits.
pub fn run_stdio() -> Result<(), ServerError> {
    let (connection, io_threads) = Connection::stdio();
    let result = run(connection);
    io_threads.join()?;
    result
}

/// Serve one client over `connection`: the initialize handshake, then every message until
/// `shutdown` and `exit`.
pub fn run(connection: Connection) -> Result<(), ServerError> {
    let (id, params) = connection.initialize_start()?;
    let params: lsp_types::InitializeParams =
        serde_json::from_value(params).map_err(ServerError::InitializeParams)?;
    let mut session = session::Session::new(&params);
    let result = serde_json::json!({
        "capabilities": session.capabilities(),
        "serverInfo": { "name": "catga", "version": env!("CARGO_PKG_VERSION") },
    });
    connection.initialize_finish(id, result)?;
    session.main_loop(&connection)
}
