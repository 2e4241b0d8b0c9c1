//! `catga server`: the language server over stdin and stdout, for editors (see
//! docs/editors.md). All of it lives in the `catga-server` crate.

use crate::{CommandResult, Outcome};
use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct ServerArgs {}

/// Serve one editor until it shuts the server down. Exit 0 after `shutdown` and `exit`; exit 1
/// when the client exits without `shutdown` (as the protocol asks); 2 when the protocol breaks.
pub(crate) fn run(_args: &ServerArgs) -> CommandResult {
    match catga_server::run_stdio() {
        Ok(()) => Ok(Outcome::Clean),
        Err(catga_server::ServerError::ExitWithoutShutdown) => Ok(Outcome::Findings),
        Err(error) => Err(error.into()),
    }
}
