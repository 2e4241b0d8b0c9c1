//! `catga completions SHELL`: the shell completion script for every command and flag, on
//! stdout, generated from the same argument definitions the parser uses.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::{Cli, CommandResult, Outcome, terminal};

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub(crate) shell: Shell,
}

pub(crate) fn run(args: &CompletionsArgs) -> CommandResult {
    terminal::print(&script(args.shell))?;
    Ok(Outcome::Clean)
}

/// The completion script of `catga` for `shell`.
pub(crate) fn script(shell: Shell) -> String {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "catga", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}
