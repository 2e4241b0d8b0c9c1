//! `catga new`: the plan for a whole project, from its name, destination and runtime source.

use std::fs;
use std::path::{Path, PathBuf};

use catga_lints::apply_edits;

use crate::edit::{ParsedFile, declare_module};
use crate::format::format_created;
use crate::name::{self, ProjectName};
use crate::template::{self, NEW_NATS, NEW_PROJECT};
use crate::{Plan, ScaffoldError};

/// Where the generated project gets the catga runtime and bench harness from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// Path dependencies on a source checkout's crates.
    Path {
        /// The runtime crate (`src-runtime/`).
        runtime: PathBuf,
        /// The bench harness crate (`bench-harness/`).
        bench: PathBuf,
        /// The NATS transport crate (`transport-nats/`).
        nats: PathBuf,
    },
    /// The published crates, at this version requirement.
    Version(String),
}

impl Runtime {
    /// The crates of the checkout at `path`: the checkout's root, or its `src-runtime`
    /// directory. Both crates must be there, under their package names.
    pub fn checkout(path: &Path) -> Result<Runtime, ScaffoldError> {
        let given = path
            .canonicalize()
            .map_err(|error| ScaffoldError::io("find the runtime checkout", path, error))?;
        let root = if given.join("src-runtime").is_dir() {
            given.clone()
        } else {
            given.parent().unwrap_or(&given).to_path_buf()
        };
        let runtime = root.join("src-runtime");
        let bench = root.join("bench-harness");
        let nats = root.join("transport-nats");
        for (dir, package) in [
            (&runtime, "catga"),
            (&bench, "catga-bench"),
            (&nats, "catga-nats"),
        ] {
            if package_name(dir).as_deref() != Some(package) {
                return Err(ScaffoldError::project(format!(
                    "`{}` is not a catga checkout: `{}` should hold the `{package}` crate; \
                     pass the checkout's root (or its src-runtime directory) to --runtime-path",
                    path.display(),
                    dir.display()
                )));
            }
        }
        Ok(Runtime::Path {
            runtime,
            bench,
            nats,
        })
    }

    /// The published crates at `requirement` (a cargo version requirement, e.g. `0.1`).
    pub fn version(requirement: &str) -> Result<Runtime, ScaffoldError> {
        semver::VersionReq::parse(requirement).map_err(|error| ScaffoldError::InvalidName {
            what: "runtime version",
            name: requirement.to_string(),
            reason: format!("{error}; give a cargo version requirement such as `0.1` or `=0.1.0`"),
        })?;
        Ok(Runtime::Version(requirement.to_string()))
    }

    fn dependency(&self, package: &str) -> String {
        match self {
            Runtime::Path {
                runtime,
                bench,
                nats,
            } => {
                let dir = match package {
                    "catga" => runtime,
                    "catga-bench" => bench,
                    _ => nats,
                };
                let path = toml::Value::String(dir.display().to_string());
                format!("{package} = {{ path = {path} }}")
            }
            Runtime::Version(version) => {
                format!("{package} = {}", toml::Value::String(version.clone()))
            }
        }
    }
}

/// The package name a crate directory's manifest declares.
fn package_name(dir: &Path) -> Option<String> {
    let manifest: toml::Table = fs::read_to_string(dir.join("Cargo.toml"))
        .ok()?
        .parse()
        .ok()?;
    Some(manifest.get("package")?.get("name")?.as_str()?.to_string())
}

/// What `catga new` was asked for.
#[derive(Debug, Clone)]
pub struct NewOptions {
    /// The project name.
    pub name: String,
    /// The directory to create (`./NAME` by default).
    pub path: PathBuf,
    /// Where the runtime comes from.
    pub runtime: Runtime,
    /// The version of the `catga` CLI, which the CI workflow installs.
    pub cli_version: String,
    /// Allow an existing, empty destination directory.
    pub force: bool,
    /// How the service talks to other services.
    pub transport: TransportChoice,
}

/// `catga new --transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportChoice {
    /// One process: the mediator only (the default).
    #[default]
    Memory,
    /// Also serves other services over NATS JetStream (`catga-nats`).
    Nats,
}

/// The plan for a new project, after checking the name and the destination.
pub fn plan(options: &NewOptions) -> Result<Plan, ScaffoldError> {
    let name = name::project(&options.name)?;
    check_destination(&options.path, options.force)?;
    let mut plan = Plan::new(&options.path);
    plan.notes.extend(name.note.clone());
    let values = values(&name, options);
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let workspace = enclosing_workspace(&options.path);
    for file in NEW_PROJECT {
        let override_file = match options.transport {
            TransportChoice::Nats => NEW_NATS.iter().find(|nats| nats.path == file.path),
            TransportChoice::Memory => None,
        };
        let mut text = template::render(override_file.unwrap_or(file).text, &values);
        if file.path == "Cargo.toml"
            && let Some(workspace) = &workspace
        {
            // Cargo refuses a package below a workspace root that does not list it.
            text.push_str(OWN_WORKSPACE);
            plan.notes.push(format!(
                "`{}` is inside the workspace of `{}`: the project is its own workspace; to join \
                 that one instead, add it to its `members` and delete `[workspace]` from the \
                 project's Cargo.toml",
                options.path.display(),
                workspace.display()
            ));
        }
        if file.path == "src/lib.rs" && options.transport == TransportChoice::Nats {
            text = with_module(text, "transport")?;
        }
        plan.create(file.path, text);
    }
    if options.transport == TransportChoice::Nats {
        for file in NEW_NATS {
            if !NEW_PROJECT.iter().any(|base| base.path == file.path) {
                plan.create(file.path, template::render(file.text, &values));
            }
        }
    }
    format_created(&mut plan);
    Ok(plan)
}

/// `lib_rs` with `pub mod name;` declared among its modules.
fn with_module(lib_rs: String, name: &str) -> Result<String, ScaffoldError> {
    let file = ParsedFile::parse("src/lib.rs", lib_rs)?;
    let declared = match declare_module(&file, name)? {
        Some(edit) => apply_edits(file.text(), [&edit]),
        None => Some(file.text().to_string()),
    };
    declared
        .ok_or_else(|| ScaffoldError::project("cannot declare the transport module in src/lib.rs"))
}

const OWN_WORKSPACE: &str = "
# Its own workspace, not a member of the one in a directory above.
[workspace]
";

/// The manifest of a cargo workspace in a directory above `path`, if any.
fn enclosing_workspace(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    absolute.ancestors().skip(1).find_map(|dir| {
        let manifest = dir.join("Cargo.toml");
        let table: toml::Table = fs::read_to_string(&manifest).ok()?.parse().ok()?;
        table.contains_key("workspace").then_some(manifest)
    })
}

fn values(name: &ProjectName, options: &NewOptions) -> Vec<(&'static str, String)> {
    let catga_version = match &options.runtime {
        Runtime::Version(version) => version.clone(),
        Runtime::Path { .. } => options.cli_version.clone(),
    };
    let nats = options.transport == TransportChoice::Nats;
    let (transport_dependency, transport_dev_dependency, transport_readme) = if nats {
        (
            format!("\n{}", options.runtime.dependency("catga-nats")),
            "\ntempfile = \"3\"".to_string(),
            NATS_README.replace("{{package}}", &name.package),
        )
    } else {
        (String::new(), String::new(), String::new())
    };
    vec![
        ("package", name.package.clone()),
        ("crate", name.crate_ident.clone()),
        ("catga_dependency", options.runtime.dependency("catga")),
        (
            "catga_bench_dependency",
            options.runtime.dependency("catga-bench"),
        ),
        ("catga_version", catga_version),
        ("transport_dependency", transport_dependency),
        ("transport_dev_dependency", transport_dev_dependency),
        ("transport_readme", transport_readme),
        (
            "run_comment",
            if nats {
                "serves other services over NATS (see below)"
            } else {
                "builds the mediator, sends a command, runs a query, publishes an event"
            }
            .to_string(),
        ),
    ]
}

/// The README section of a project made with `--transport nats`.
const NATS_README: &str = "## Serving other services over NATS

```console
$ nats-server -js -sd /tmp/nats-store &     # or: docker run -p 4222:4222 nats:2 -js
$ cargo run                                 # serves until stopped; CATGA_NATS_URL picks another broker
```

`src/transport.rs` lists what the service answers (`CreateTask`, `GetTask`) and consumes
(`TaskCompleted`) as `{{package}}` on the broker; `tests/transport.rs` checks it over the
in-memory transport. The guarantees, and how to publish events through a transactional outbox:
https://github.com/catga-rs/catga/blob/main/docs/distributed.md

";

/// A destination is fine when it does not exist, or, with `force`, when it is an empty
/// directory.
fn check_destination(path: &Path, force: bool) -> Result<(), ScaffoldError> {
    let refuse = |reason: &str| {
        Err(ScaffoldError::Destination {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        })
    };
    let Ok(metadata) = path.symlink_metadata() else {
        return Ok(());
    };
    if !metadata.is_dir() {
        return refuse("already exists and is not a directory; choose another --path");
    }
    let empty = fs::read_dir(path)
        .map_err(|error| ScaffoldError::io("read", path, error))?
        .next()
        .is_none();
    match (empty, force) {
        (true, true) => Ok(()),
        (true, false) => {
            refuse("already exists; pass --force to scaffold into this empty directory")
        }
        (false, _) => refuse(
            "already exists and is not empty; catga new never overwrites files (--force only \
             allows an empty directory): choose another --path, or use `catga add` inside an \
             existing project",
        ),
    }
}

/// Runs `git init` in the new project unless it already lies inside a git work tree. Returns a
/// note for the user when it did not (no git, already in a repository).
pub fn init_git(root: &Path) -> Option<String> {
    if root
        .ancestors()
        .skip(1)
        .any(|dir| dir.join(".git").exists())
    {
        return Some("inside an existing git repository: skipped `git init`".into());
    }
    match std::process::Command::new("git")
        .args(["init", "--quiet"])
        .arg(root)
        .output()
    {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(format!(
            "`git init` failed ({}); the project is written, run it yourself",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(error) => Some(format!(
            "git was not found ({error}): skipped `git init` (pass --no-git to skip it quietly)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Change;

    fn options(dir: &Path, name: &str) -> NewOptions {
        NewOptions {
            name: name.into(),
            path: dir.join(name),
            runtime: Runtime::Version("0.1".into()),
            cli_version: "0.1.0".into(),
            force: false,
            transport: TransportChoice::Memory,
        }
    }

    #[test]
    fn every_placeholder_of_the_project_is_filled() {
        let dir = tempfile::tempdir().expect("temp dir");
        let memory = plan(&options(dir.path(), "my-shop")).expect("plans");
        let nats = plan(&NewOptions {
            transport: TransportChoice::Nats,
            ..options(dir.path(), "my-shop")
        })
        .expect("plans with nats");
        for file in memory.files.iter().chain(&nats.files) {
            let Change::Create(text) = &file.change else {
                panic!("a new project only creates files");
            };
            assert_eq!(
                template::placeholders(text),
                Vec::<&str>::new(),
                "{}",
                file.path.display()
            );
            if file.path.extension().is_some_and(|ext| ext == "rs") {
                syn::parse_file(text).unwrap_or_else(|error| {
                    panic!("{} does not parse: {error}", file.path.display())
                });
            }
            if file.path.extension().is_some_and(|ext| ext == "toml") {
                text.parse::<toml::Table>()
                    .unwrap_or_else(|error| panic!("{} is not TOML: {error}", file.path.display()));
            }
        }
        let text = |plan: &Plan, path: &str| {
            let file = plan.files.iter().find(|f| f.path == Path::new(path));
            match file.map(|file| &file.change) {
                Some(Change::Create(text)) => text.clone(),
                other => panic!("{path} is not created: {other:?}"),
            }
        };
        assert!(text(&memory, "src/main.rs").contains("my_shop::mediator()"));
        assert!(!text(&memory, "Cargo.toml").contains("catga-nats"));
        assert!(!text(&memory, "src/lib.rs").contains("pub mod transport;"));
        assert_eq!(nats.files.len(), memory.files.len() + 2);
        assert!(text(&nats, "Cargo.toml").contains("catga-nats = \"0.1\""));
        assert!(text(&nats, "src/lib.rs").contains("pub mod tasks;\npub mod transport;\n"));
        assert!(text(&nats, "src/main.rs").contains("CATGA_NATS_URL"));
        assert!(text(&nats, "README.md").contains("CATGA_NATS_URL picks another broker"));
        assert!(text(&nats, "README.md").contains("# serves other services over NATS"));
        assert!(text(&memory, "README.md").contains("# builds the mediator, sends a command"));
    }

    #[test]
    fn a_path_runtime_becomes_path_dependencies() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let runtime = Runtime::checkout(&root).expect("this checkout");
        assert!(
            runtime
                .dependency("catga")
                .starts_with("catga = { path = \"")
        );
        assert_eq!(
            Runtime::checkout(&root.join("src-runtime")).expect("its runtime"),
            runtime
        );
        let not_a_checkout = tempfile::tempdir().expect("temp dir");
        assert!(Runtime::checkout(not_a_checkout.path()).is_err());
        assert_eq!(
            Runtime::version("0.1")
                .expect("valid")
                .dependency("catga-bench"),
            "catga-bench = \"0.1\""
        );
        assert!(Runtime::version("one").is_err());
    }

    #[test]
    fn a_project_inside_a_workspace_is_its_own_workspace() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").expect("write");
        let plan = plan(&options(dir.path(), "inner")).expect("plans");
        let manifest = &plan
            .files
            .iter()
            .find(|f| f.path == Path::new("Cargo.toml"))
            .expect("manifest");
        assert!(
            matches!(&manifest.change, Change::Create(text) if text.ends_with("[workspace]\n"))
        );
        assert!(
            plan.notes
                .iter()
                .any(|note| note.contains("its own workspace"))
        );

        let alone = tempfile::tempdir().expect("temp dir");
        let alone_plan = super::plan(&options(alone.path(), "alone")).expect("plans");
        assert!(alone_plan.notes.is_empty());
    }

    #[test]
    fn destinations_are_never_overwritten() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut options = options(dir.path(), "demo");
        fs::create_dir(&options.path).expect("mkdir");
        assert!(
            plan(&options)
                .unwrap_err()
                .to_string()
                .contains("pass --force")
        );
        options.force = true;
        assert!(plan(&options).is_ok());
        fs::write(options.path.join("keep.txt"), "mine").expect("write");
        assert!(
            plan(&options)
                .unwrap_err()
                .to_string()
                .contains("not empty")
        );
    }
}
