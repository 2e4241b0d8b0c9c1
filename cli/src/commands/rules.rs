//! `catga rules`: list every lint rule with its code, name, default severity, fix availability
//! and one-line summary.

use crate::{CommandResult, Outcome, terminal};
use catga_lints::{output, rules};
use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub(crate) struct RulesArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = RulesFormat::Human, value_name = "FORMAT")]
    pub(crate) format: RulesFormat,
}

/// `catga rules --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RulesFormat {
    /// An aligned table
    Human,
    /// A JSON array, one object per rule
    Json,
}

pub(crate) fn run(args: &RulesArgs) -> CommandResult {
    let text = match args.format {
        RulesFormat::Human => output::rules::render_text(rules()),
        RulesFormat::Json => output::rules::render_json(rules()),
    };
    terminal::print(&text)?;
    Ok(Outcome::Clean)
}
