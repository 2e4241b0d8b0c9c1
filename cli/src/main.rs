//! The `catga` command line: parses arguments, runs one command, maps its outcome to an exit code.
//!
//! Exit codes: 0 the command succeeded and found nothing at or above the failure threshold; 1 it
//! found something; 2 it could not do its job (bad arguments, unreadable config, missing path).
//! Every capability lives in a library crate; this binary only wires and prints.

mod commands;
mod terminal;

use clap::builder::styling::{AnsiColor, Effects, Styles};
use clap::{CommandFactory, Parser, Subcommand};
use std::error::Error;
use std::process::ExitCode;

/// Counts allocations for `catga bench`'s allocations per operation; off (one relaxed load per
/// allocation) for every other command.
#[global_allocator]
static ALLOCATOR: catga_bench::CountingAllocator = catga_bench::CountingAllocator;

/// Cargo's help colours, so `catga --help` reads like the rest of the toolchain.
const STYLES: Styles = Styles::styled()
    .header(AnsiColor::Green.on_default().effects(Effects::BOLD))
    .usage(AnsiColor::Green.on_default().effects(Effects::BOLD))
    .literal(AnsiColor::Cyan.on_default().effects(Effects::BOLD))
    .placeholder(AnsiColor::Cyan.on_default())
    .error(AnsiColor::Red.on_default().effects(Effects::BOLD))
    .valid(AnsiColor::Cyan.on_default().effects(Effects::BOLD))
    .invalid(AnsiColor::Yellow.on_default().effects(Effects::BOLD));

/// Catga: a CQRS toolchain for Rust.
#[derive(Debug, Parser)]
#[command(name = "catga", version, styles = STYLES, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new catga service: a command, a query and an event with their handlers, tests,
    /// benchmarks and a CI workflow
    New(commands::new::NewArgs),
    /// Add a command, query, event or saga to the project, with its handler and a test, and
    /// register it
    Add(commands::add::AddArgs),
    /// Check Rust sources for CQRS and async pitfalls, and fix what can be fixed
    Lint(commands::lint::LintArgs),
    /// List every lint rule: code, name, default severity and fix availability
    Rules(commands::rules::RulesArgs),
    /// Print the documentation of one lint rule
    Explain(commands::explain::ExplainArgs),
    /// Run the language server over stdin and stdout (for editors: diagnostics while typing,
    /// quick fixes, rule docs on hover)
    Server(commands::server::ServerArgs),
    /// Measure the runtime, or your project's scenarios, against reference baselines; save
    /// reports and compare with one
    Bench(commands::bench::BenchArgs),
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell)
    Completions(commands::completions::CompletionsArgs),
}

/// How a command that ran to completion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Nothing to report at or above the threshold: exit 0.
    Clean,
    /// Findings at or above the threshold remain: exit 1.
    Findings,
}

/// What a command returns: an outcome, or an error that stops it (exit 2).
pub(crate) type CommandResult = Result<Outcome, Box<dyn Error>>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::New(args) => commands::new::run(&args),
        Command::Add(args) => commands::add::run(&args),
        Command::Lint(args) => match args.conflict() {
            Some(message) => Cli::command()
                .error(clap::error::ErrorKind::ArgumentConflict, message)
                .exit(),
            None => commands::lint::run(&args),
        },
        Command::Rules(args) => commands::rules::run(&args),
        Command::Explain(args) => commands::explain::run(&args),
        Command::Server(args) => commands::server::run(&args),
        Command::Bench(args) => commands::bench::run(&args),
        Command::Completions(args) => commands::completions::run(&args),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(error) => {
            terminal::print_error(error.as_ref());
            ExitCode::from(2)
        }
    }
}
