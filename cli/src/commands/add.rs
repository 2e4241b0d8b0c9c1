//! `catga add`: add a command, query, event or saga (message, handler, test) to a project,
//! declared in its module tree and registered in its mediator.

use std::path::PathBuf;

use catga_scaffold::Change;
use catga_scaffold::add::{self, AddOptions, Kind};
use clap::{Args, ValueEnum};

use crate::{CommandResult, Outcome, terminal};

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// What to add
    #[arg(value_enum)]
    pub(crate) kind: AddKind,

    /// The message's type name, in PascalCase (`ship_order` becomes `ShipOrder`)
    pub(crate) name: String,

    /// The type a command or query answers (a command answers `()` without it)
    #[arg(long, value_name = "TYPE")]
    pub(crate) response: Option<String>,

    /// The module to place it in, e.g. `orders` or `orders::shipping` [default: the crate root]
    #[arg(long, value_name = "M")]
    pub(crate) module: Option<String>,

    /// The project directory [default: the nearest package at or above the current directory]
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) path: PathBuf,

    /// List the files it would write and edit, and write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `catga add KIND`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AddKind {
    /// A command (changes state) and its handler
    Command,
    /// A query (reads state) and its handler
    Query,
    /// An event and a handler for it
    Event,
    /// A saga (steps with compensations) and the command that starts it
    Saga,
}

pub(crate) fn run(args: &AddArgs) -> CommandResult {
    let kind = match args.kind {
        AddKind::Command => Kind::Command,
        AddKind::Query => Kind::Query,
        AddKind::Event => Kind::Event,
        AddKind::Saga => Kind::Saga,
    };
    let options = AddOptions {
        kind,
        name: args.name.clone(),
        response: args.response.clone(),
        module: args.module.clone(),
        dir: args.path.clone(),
    };
    let plan = add::plan(&options)?;
    for note in &plan.notes {
        terminal::eprint(&format!("note: {note}\n"));
    }
    if args.dry_run {
        terminal::print(&super::new::list(&plan))?;
        return Ok(Outcome::Clean);
    }
    plan.apply()?;
    let mut summary = String::new();
    for file in &plan.files {
        let verb = match file.change {
            Change::Create(_) => "Created",
            Change::Edit { .. } => "Edited",
        };
        summary.push_str(&format!("{verb:>12} {}\n", file.path.display()));
    }
    terminal::eprint(&format!(
        "{summary}       Added {} `{}` in `{}`\n",
        kind.as_str(),
        plan_type_name(&args.name),
        plan.root.display()
    ));
    Ok(Outcome::Clean)
}

/// The type name as written into the code.
fn plan_type_name(name: &str) -> String {
    catga_scaffold::name::message_type(name)
        .map(|name| name.pascal)
        .unwrap_or_else(|_| name.to_string())
}
