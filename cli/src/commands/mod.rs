//! One module per `catga` subcommand: its arguments and its `run`.

pub(crate) mod add;
pub(crate) mod bench;
pub(crate) mod completions;
pub(crate) mod explain;
pub(crate) mod lint;
pub(crate) mod new;
pub(crate) mod rules;
pub(crate) mod server;
