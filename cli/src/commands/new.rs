//! `catga new`: write a new catga service that builds, tests, lints clean and benches as it is.

use std::path::{Path, PathBuf};

use catga_scaffold::Plan;
use catga_scaffold::new::{self, NewOptions, Runtime, TransportChoice};
use clap::{Args, ValueEnum};

use crate::{CommandResult, Outcome, terminal};

#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The project (package) name: letters, digits, `_` and `-`
    pub(crate) name: String,

    /// The directory to create [default: ./NAME]
    #[arg(long, value_name = "DIR")]
    pub(crate) path: Option<PathBuf>,

    /// Depend on the published catga crates at this version requirement (e.g. `0.1`), and
    /// install that catga in CI [default: this catga's own version]
    #[arg(long, value_name = "V", group = "runtime")]
    pub(crate) runtime_version: Option<String>,

    /// Depend on the catga crates of this git repository, and install catga from it in CI
    #[arg(long, value_name = "URL", group = "runtime")]
    pub(crate) runtime_git: Option<String>,

    /// With --runtime-git: the commit, tag or branch to use [default: the default branch]
    #[arg(long, value_name = "R", requires = "runtime_git")]
    pub(crate) rev: Option<String>,

    /// Depend on the catga crates of this checkout (its root or its src-runtime directory) by
    /// a path relative to the project
    #[arg(long, value_name = "P", group = "runtime")]
    pub(crate) runtime_path: Option<PathBuf>,

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

    /// Also serve the commands and queries over HTTP (catga-axum), on CATGA_HTTP_ADDR
    /// [default: 127.0.0.1:8080]; with either transport
    #[arg(long)]
    pub(crate) http: bool,
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
    let runtime = match (&args.runtime_version, &args.runtime_git, &args.runtime_path) {
        (Some(version), _, _) => Runtime::version(version)?,
        (_, Some(url), _) => Runtime::git(url, args.rev.as_deref())?,
        (_, _, Some(path)) => Runtime::checkout(path)?,
        (None, None, None) => Runtime::version(env!("CARGO_PKG_VERSION"))?,
    };
    let path = args
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    let options = NewOptions {
        name: args.name.clone(),
        path,
        runtime,
        force: args.force,
        transport: match args.transport {
            NewTransport::Memory => TransportChoice::Memory,
            NewTransport::Nats => TransportChoice::Nats,
        },
        http: args.http,
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
    let runs = match (args.transport, args.http) {
        (NewTransport::Memory, false) => "a command, a query and an event through the mediator",
        (NewTransport::Memory, true) => "serves HTTP on CATGA_HTTP_ADDR (127.0.0.1:8080)",
        (NewTransport::Nats, false) => {
            "serves over NATS (CATGA_NATS_URL), /metrics on 127.0.0.1:9464"
        }
        (NewTransport::Nats, true) => {
            "serves HTTP (127.0.0.1:8080) and NATS, /metrics on 127.0.0.1:9464"
        }
    };
    terminal::eprint(&format!(
        "     Created catga service `{}` in `{}` ({} files)\n\nNext:\n  cd {}\n  cargo run       # {runs}\n  cargo test\n  catga lint\n  catga bench\n",
        args.name,
        options.path.display(),
        plan.files.len(),
        shell_path(&options.path),
    ));
    Ok(Outcome::Clean)
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
