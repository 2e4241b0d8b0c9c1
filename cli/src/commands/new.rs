//! `catga new`: write a new catga service that builds, tests, lints clean and benches as it is.

use std::path::{Path, PathBuf};

use catga_scaffold::new::{self, NewOptions, Runtime, TransportChoice};
use catga_scaffold::{Plan, ScaffoldError};
use clap::{Args, ValueEnum};

use crate::{CommandResult, Outcome, terminal};

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The project (package) name: letters, digits, `_` and `-`
    pub(crate) name: String,

    /// The directory to create [default: ./NAME]
    #[arg(long, value_name = "DIR")]
    pub(crate) path: Option<PathBuf>,

    /// Depend on the runtime in this catga checkout (its root or its src-runtime directory)
    /// [default: the checkout this catga was built from, if it is still there]
    #[arg(long, value_name = "P", conflicts_with = "runtime_version")]
    pub(crate) runtime_path: Option<PathBuf>,

    /// Depend on the published runtime at this version requirement (e.g. `0.1`)
    #[arg(long, value_name = "V")]
    pub(crate) runtime_version: Option<String>,

    /// Do not run `git init`
    #[arg(long)]
    pub(crate) no_git: bool,

    /// List the files it would write, and write nothing
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Write into an existing directory, which must be empty
    #[arg(long)]
    pub(crate) force: bool,

    /// How the service talks to other services
    #[arg(long, value_enum, default_value_t = NewTransport::Memory, value_name = "TRANSPORT")]
    pub(crate) transport: NewTransport,
}

/// `catga new --transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum NewTransport {
    /// One process: the mediator only
    Memory,
    /// Also answer commands and consume events over NATS JetStream (catga-nats)
    Nats,
}

pub(crate) fn run(args: &NewArgs) -> CommandResult {
    let runtime = match (&args.runtime_path, &args.runtime_version) {
        (Some(path), _) => Runtime::checkout(path)?,
        (None, Some(version)) => Runtime::version(version)?,
        (None, None) => default_runtime()?,
    };
    let path = args
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let options = NewOptions {
        name: args.name.clone(),
        path,
        runtime,
        cli_version: env!("CARGO_PKG_VERSION").into(),
        force: args.force,
        transport: match args.transport {
            NewTransport::Memory => TransportChoice::Memory,
            NewTransport::Nats => TransportChoice::Nats,
        },
    };
    let plan = new::plan(&options)?;
    for note in &plan.notes {
        terminal::eprint(&format!("note: {note}\n"));
    }
    if args.dry_run {
        terminal::print(&list(&plan))?;
        return Ok(Outcome::Clean);
    }
    plan.apply()?;
    if !args.no_git
        && let Some(note) = new::init_git(&options.path)
    {
        terminal::eprint(&format!("note: {note}\n"));
    }
    terminal::eprint(&format!(
        "     Created catga service `{}` in `{}` ({} files)\n\nNext:\n  cd {}\n  cargo run       # a command, a query and an event through the mediator\n  cargo test\n  catga lint\n  catga bench\n",
        args.name,
        options.path.display(),
        plan.files.len(),
        shell_path(&options.path),
    ));
    Ok(Outcome::Clean)
}

/// The checkout this binary was built from when it is still there (a `cargo install --path`
/// or a `cargo run` in the repository), else the published crates of this version.
fn default_runtime() -> Result<Runtime, ScaffoldError> {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if checkout.join("src-runtime/Cargo.toml").is_file() {
        Runtime::checkout(&checkout)
    } else {
        Runtime::version(env!("CARGO_PKG_VERSION"))
    }
}

/// The plan's files, one per line, as `--dry-run` prints them.
pub(crate) fn list(plan: &Plan) -> String {
    plan.files
        .iter()
        .map(|file| {
            let verb = match file.change {
                catga_scaffold::Change::Create(_) => "create",
                catga_scaffold::Change::Edit { .. } => "edit",
            };
            format!("{verb:>6} {}\n", plan.root.join(&file.path).display())
        })
        .collect()
}

fn shell_path(path: &Path) -> String {
    let text = path.display().to_string();
    if text.contains(char::is_whitespace) {
        format!("'{text}'")
    } else {
        text
    }
}
