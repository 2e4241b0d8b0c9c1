//! `catga new`: the plan for a whole project, from its name, destination and runtime source.

use std::fs;
use std::path::{Path, PathBuf};

use catga_lints::apply_edits;

use crate::edit::{ParsedFile, declare_module};
use crate::format::format_created;
use crate::name::{self, ProjectName};
use crate::template::{self, NEW_HTTP, NEW_NATS, NEW_NATS_HTTP, NEW_PROJECT, Template};
use crate::{Plan, ScaffoldError};

/// Where the generated project gets the catga runtime, bench harness and NATS transport from,
/// and, the same way, where its CI workflow installs the `catga` command from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runtime {
    /// The published crates, at this version requirement (the default: what a project that
    /// leaves this machine needs).
    Version(String),
    /// The crates of a git repository, at a revision (a commit, tag or branch) or its default
    /// branch.
    Git {
        /// The repository URL, as `cargo` takes it.
        url: String,
        /// `rev = "..."`, when given.
        rev: Option<String>,
    },
    /// The crates of a source checkout, by path.
    Path {
        /// The checkout's root, resolved (no `..`, no symlinks).
        root: PathBuf,
    },
}

impl Runtime {
    /// The crates of the checkout at `path`: the checkout's root, or its `src-runtime`
    /// directory. Every crate a project uses must be there, under its package name.
    pub fn checkout(path: &Path) -> Result<Runtime, ScaffoldError> {
        let given = path
            .canonicalize()
            .map_err(|error| ScaffoldError::io("find the runtime checkout", path, error))?;
        let root = if given.join("src-runtime").is_dir() {
            given.clone()
        } else {
            given.parent().unwrap_or(&given).to_path_buf()
        };
        for (dir, package) in CRATE_DIRS {
            let dir = root.join(dir);
            if package_name(&dir).as_deref() != Some(package) {
                return Err(ScaffoldError::project(format!(
                    "`{}` is not a catga checkout: `{}` should hold the `{package}` crate; \
                     pass the checkout's root (or its src-runtime directory) to --runtime-path",
                    path.display(),
                    dir.display()
                )));
            }
        }
        Ok(Runtime::Path { root })
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

    /// The crates of the git repository at `url`, at `rev` when given.
    pub fn git(url: &str, rev: Option<&str>) -> Result<Runtime, ScaffoldError> {
        let invalid = |what: &'static str, name: &str, reason: &str| ScaffoldError::InvalidName {
            what,
            name: name.to_string(),
            reason: reason.to_string(),
        };
        if url.trim().is_empty() || url.contains(char::is_whitespace) {
            return Err(invalid(
                "git URL",
                url,
                "give the repository as cargo takes it, e.g. `https://github.com/catga-rs/catga`",
            ));
        }
        if let Some(rev) = rev
            && (rev.trim().is_empty() || rev.contains(char::is_whitespace))
        {
            return Err(invalid(
                "git revision",
                rev,
                "give a commit hash, a tag or a branch name",
            ));
        }
        Ok(Runtime::Git {
            url: url.to_string(),
            rev: rev.map(str::to_string),
        })
    }

    /// The dependency line of `package` for a project at `project` (where relative paths
    /// start).
    fn dependency(&self, package: &str, project: &Path) -> String {
        let quoted = |text: &str| toml::Value::String(text.to_string()).to_string();
        match self {
            Runtime::Version(version) => format!("{package} = {}", quoted(version)),
            Runtime::Git { url, rev } => {
                let rev = rev
                    .as_deref()
                    .map(|rev| format!(", rev = {}", quoted(rev)))
                    .unwrap_or_default();
                format!("{package} = {{ git = {}{rev} }}", quoted(url))
            }
            Runtime::Path { root } => {
                let dir = CRATE_DIRS
                    .iter()
                    .find(|(_, name)| *name == package)
                    .map_or(package, |(dir, _)| dir);
                let path = relative_to(project, &root.join(dir));
                format!("{package} = {{ path = {} }}", quoted(&slash_path(&path)))
            }
        }
    }

    /// The arguments of the `cargo install` that gets the matching `catga` command (after
    /// `cargo install --locked --root DIR`), for a project at `project`.
    pub fn cli_install(&self, project: &Path) -> String {
        match self {
            Runtime::Version(version) => format!("catga-cli --version {}", shell_word(version)),
            Runtime::Git { url, rev } => {
                let rev = rev
                    .as_deref()
                    .map(|rev| format!(" --rev {}", shell_word(rev)))
                    .unwrap_or_default();
                format!("catga-cli --git {}{rev}", shell_word(url))
            }
            Runtime::Path { root } => {
                let cli = relative_to(project, &root.join("cli"));
                format!("--path {}", shell_word(&slash_path(&cli)))
            }
        }
    }
}

impl Runtime {
    /// What the CI workflow's cache of the installed `catga` command is keyed by: a new
    /// version or revision misses the cache and installs again.
    pub fn cli_cache_key(&self) -> String {
        let key = match self {
            Runtime::Version(version) => format!("version-{version}"),
            Runtime::Git { url, rev } => format!("git-{url}-{}", rev.as_deref().unwrap_or("head")),
            Runtime::Path { .. } => "path".to_string(),
        };
        key.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    }
}

/// Each crate a generated project uses (or installs), by its directory in a checkout.
const CRATE_DIRS: [(&str, &str); 7] = [
    ("src-runtime", "catga"),
    ("bench-harness", "catga-bench"),
    ("transport-nats", "catga-nats"),
    ("sqlite", "catga-sqlite"),
    ("ops", "catga-ops"),
    ("axum", "catga-axum"),
    ("cli", "catga-cli"),
];

/// `path` with `/` separators, as TOML and shells on every platform read it.
fn slash_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// `text` as one word for a POSIX shell: as is when it is plain, else single-quoted.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+^~,".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The path of `target` seen from the directory `from`; both absolute and resolved.
fn relative_to(from: &Path, target: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let target: Vec<_> = target.components().collect();
    let common = from.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let mut relative = PathBuf::new();
    for _ in common..from.len() {
        relative.push("..");
    }
    for component in &target[common..] {
        relative.push(component);
    }
    if relative.as_os_str().is_empty() {
        relative.push(".");
    }
    relative
}

/// `path` made absolute with `..` and symlinks resolved, as far as it exists; the part that does
/// not exist yet is appended as given (without its `.` and `..`, resolved lexically).
pub fn resolve(path: &Path) -> Result<PathBuf, ScaffoldError> {
    let absolute = std::path::absolute(path)
        .map_err(|error| ScaffoldError::io("resolve the path", path, error))?;
    let mut existing = absolute.as_path();
    let mut missing = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(mut resolved) => {
                for component in missing.iter().rev() {
                    match component {
                        std::path::Component::ParentDir => {
                            resolved.pop();
                        }
                        std::path::Component::CurDir => {}
                        other => resolved.push(other),
                    }
                }
                return Ok(resolved);
            }
            Err(_) => {
                let Some(parent) = existing.parent() else {
                    return Ok(absolute.clone());
                };
                missing.extend(existing.components().next_back());
                existing = parent;
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
    /// Allow an existing, empty destination directory.
    pub force: bool,
    /// How the service talks to other services.
    pub transport: TransportChoice,
    /// Also serve the commands and queries over HTTP (`catga-axum`).
    pub http: bool,
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
    // `..` and symlinks resolved first: where the project really lands decides the relative
    // paths it is written with and the workspace it would fall into.
    let resolved = resolve(&options.path)?;
    let mut plan = Plan::new(&options.path);
    plan.notes.extend(name.note.clone());
    let values = values(&name, options, &resolved);
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let workspace = enclosing_workspace(&resolved);
    let layers = layers(options);
    for file in NEW_PROJECT {
        let mut text = template::render(
            most_specific(&layers, file.path).unwrap_or(file).text,
            &values,
        );
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
        if file.path == "src/lib.rs" {
            for module in modules(options) {
                text = with_module(text, module)?;
            }
        }
        plan.create(file.path, text);
    }
    let mut added: Vec<&str> = Vec::new();
    for file in layers.iter().flat_map(|layer| layer.iter()) {
        if !NEW_PROJECT.iter().any(|base| base.path == file.path) && !added.contains(&file.path) {
            added.push(file.path);
            let file = most_specific(&layers, file.path).unwrap_or(file);
            plan.create(file.path, template::render(file.text, &values));
        }
    }
    format_created(&mut plan);
    Ok(plan)
}

/// The template sets a project is made of besides `new/`, from the least to the most specific:
/// a file of a later one is written instead of the same file of an earlier one.
fn layers(options: &NewOptions) -> Vec<&'static [Template]> {
    let nats = options.transport == TransportChoice::Nats;
    let mut layers = Vec::new();
    if nats {
        layers.push(NEW_NATS);
    }
    if options.http {
        layers.push(NEW_HTTP);
    }
    if nats && options.http {
        layers.push(NEW_NATS_HTTP);
    }
    layers
}

/// The template at `path` of the most specific layer that has one.
fn most_specific(layers: &[&'static [Template]], path: &str) -> Option<&'static Template> {
    layers
        .iter()
        .rev()
        .find_map(|layer| layer.iter().find(|file| file.path == path))
}

/// The modules the layers add to `src/lib.rs`.
fn modules(options: &NewOptions) -> Vec<&'static str> {
    let mut modules = Vec::new();
    if options.http {
        modules.push("http");
    }
    if options.transport == TransportChoice::Nats {
        modules.extend(["ops", "transport"]);
    }
    modules
}

/// `lib_rs` with `pub mod name;` declared among its modules.
fn with_module(lib_rs: String, name: &str) -> Result<String, ScaffoldError> {
    let file = ParsedFile::parse("src/lib.rs", lib_rs)?;
    let declared = match declare_module(&file, name)? {
        Some(edit) => apply_edits(file.text(), [&edit]),
        None => Some(file.text().to_string()),
    };
    declared.ok_or_else(|| {
        ScaffoldError::project(format!("cannot declare the `{name}` module in src/lib.rs"))
    })
}

const OWN_WORKSPACE: &str = "
# Its own workspace, not a member of the one in a directory above.
[workspace]
";

/// The manifest of a cargo workspace in a directory above `path` (resolved), if any.
fn enclosing_workspace(path: &Path) -> Option<PathBuf> {
    path.ancestors().skip(1).find_map(|dir| {
        let manifest = dir.join("Cargo.toml");
        let table: toml::Table = fs::read_to_string(&manifest).ok()?.parse().ok()?;
        table.contains_key("workspace").then_some(manifest)
    })
}

fn values(name: &ProjectName, options: &NewOptions, project: &Path) -> Vec<(&'static str, String)> {
    let runtime = &options.runtime;
    let nats = options.transport == TransportChoice::Nats;
    let http = options.http;
    let mut dependencies = String::new();
    let mut dev_dependencies = String::new();
    let mut tokio_comment = String::new();
    let mut tokio_features = String::new();
    let mut features = String::new();
    let mut readme = String::new();
    if nats {
        // The SQLite inbox deduplicates what the NATS consumer delivers; catga-ops serves the
        // metrics and health.
        for package in ["catga-nats", "catga-sqlite", "catga-ops"] {
            dependencies.push_str(&format!("\n{}", runtime.dependency(package, project)));
        }
        dependencies.push_str(
            "\n# With the `otlp` feature only: the subscriber the trace exporter is installed in.\n\
             tracing-subscriber = { version = \"0.3\", default-features = false, features = \
             [\"registry\", \"std\"], optional = true }",
        );
        dev_dependencies.push_str("\ntempfile = \"3\"");
        tokio_comment
            .push_str("\n# `signal`: the service stops on Ctrl-C, after sending its last traces.");
        tokio_features.push_str(", \"signal\"");
        features.push_str(OTLP_FEATURE);
        readme.push_str(NATS_README);
        readme.push_str(OPS_README);
    }
    if http {
        dependencies.push_str(&format!(
            "\n{}\naxum = \"0.8\"",
            runtime.dependency("catga-axum", project)
        ));
        dev_dependencies.push_str("\nserde_json = \"1\"");
        tokio_comment
            .push_str("\n# `net`: the HTTP listener; `io-util`: the HTTP client of tests/http.rs.");
        tokio_features.push_str(", \"net\", \"io-util\"");
        readme.push_str(HTTP_README);
    }
    let run_comment = match (nats, http) {
        (false, false) => "builds the mediator, sends a command, runs a query, publishes an event",
        (true, false) => "serves other services over NATS (see below)",
        (false, true) => "serves the commands and queries over HTTP (see below)",
        (true, true) => "serves over HTTP and NATS (see below)",
    };
    vec![
        ("package", name.package.clone()),
        ("crate", name.crate_ident.clone()),
        ("catga_dependency", runtime.dependency("catga", project)),
        (
            "catga_bench_dependency",
            runtime.dependency("catga-bench", project),
        ),
        ("cli_install", runtime.cli_install(project)),
        ("cli_install_key", runtime.cli_cache_key()),
        ("extra_dependencies", dependencies),
        ("extra_dev_dependencies", dev_dependencies),
        ("tokio_comment", tokio_comment),
        ("tokio_features", tokio_features),
        ("features", features),
        ("extra_readme", readme.replace("{{package}}", &name.package)),
        ("run_comment", run_comment.to_string()),
    ]
}

/// The `otlp` feature of a project made with `--transport nats`.
const OTLP_FEATURE: &str = "
[features]
# Traces over OTLP, sent when OTEL_EXPORTER_OTLP_ENDPOINT is set: `cargo build --features otlp`.
# Off by default: the exporter adds some 35 crates to the build (opentelemetry, prost, tonic,
# reqwest, ...). Without the feature the service warns at startup when the endpoint is set.
otlp = [\"catga-ops/otlp\", \"dep:tracing-subscriber\"]
";

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

/// The README section on metrics, health and traces, of a project made with `--transport nats`.
const OPS_README: &str = "## Metrics, health and traces

While it runs, the service serves (`src/ops.rs`, with catga-ops):

| Path | What |
|---|---|
| `/metrics` | Prometheus' text format: `catga_messages_handled_total`, `catga_message_handling_seconds`, `catga_consumer_deliveries_total`, `catga_consumer_lag`, ... |
| `/health/live` | `200` while the process answers |
| `/health/ready` | `200` while the broker is reachable and the consumer and server run, else `503` with the failing check |

| Variable | Default | What |
|---|---|---|
| `CATGA_NATS_URL` | `nats://127.0.0.1:4222` | the broker |
| `CATGA_METRICS_ADDR` | `127.0.0.1:9464` | where `/metrics` and `/health/*` listen (`0.0.0.0:9464` for a scraper on another host) |
| `OTEL_EXPORTER_OTLP_ENDPOINT` | unset | the OpenTelemetry collector traces go to (`http://localhost:4318`), in a build with the `otlp` feature |

Traces are the cargo feature `otlp`, off by default: the OTLP exporter adds some 35 crates
to the build (opentelemetry, prost, tonic, reqwest, ...), which every build and CI run would
compile whether or not traces are exported. Build it in where a collector listens:

```console
$ cargo build --release --features otlp
$ OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 target/release/{{package}}
```

A build without the feature, started with `OTEL_EXPORTER_OTLP_ENDPOINT` set, says so on
stderr with that command. The other `OTEL_*` variables (`OTEL_SERVICE_NAME`,
`OTEL_TRACES_SAMPLER`, ...) and the queries for each metric:
https://github.com/catga-rs/catga/blob/main/docs/operations.md

";

/// The README section of a project made with `--http`.
const HTTP_README: &str = "## Serving HTTP

```console
$ cargo run          # serves until stopped; CATGA_HTTP_ADDR (default 127.0.0.1:8080) picks the address
$ curl -X POST localhost:8080/tasks -H 'content-type: application/json' \\
       -d '{\"request_id\": \"req-1\", \"title\": \"Try it\"}'
1
$ curl localhost:8080/tasks/1
{\"id\":1,\"title\":\"Try it\",\"done\":false}
```

`src/http.rs` routes `POST /tasks` to `CreateTask` and `GET /tasks/{id}` to `GetTask`
(catga-axum); `tests/http.rs` drives them over a real connection. A message added with
`catga add` gets its route there, one line. Bad input is a 4xx with an RFC 9457 problem body,
and never reaches a handler; the headers it reads (`X-Correlation-Id`, `Idempotency-Key`,
`Request-Timeout`, `traceparent`):
https://github.com/catga-rs/catga/blob/main/docs/http.md

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
    // Resolved, or `../demo` run inside a repository would look at that repository's `.git`.
    let resolved = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if resolved
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
            force: false,
            transport: TransportChoice::Memory,
            http: false,
        }
    }

    /// The plans of every combination of `--transport` and `--http`.
    fn plans(dir: &Path) -> [(&'static str, Plan); 4] {
        let with = |transport, http| {
            plan(&NewOptions {
                transport,
                http,
                ..options(dir, "my-shop")
            })
            .expect("plans")
        };
        [
            ("memory", with(TransportChoice::Memory, false)),
            ("nats", with(TransportChoice::Nats, false)),
            ("http", with(TransportChoice::Memory, true)),
            ("nats http", with(TransportChoice::Nats, true)),
        ]
    }

    fn text(plan: &Plan, path: &str) -> String {
        let file = plan.files.iter().find(|f| f.path == Path::new(path));
        match file.map(|file| &file.change) {
            Some(Change::Create(text)) => text.clone(),
            other => panic!("{path} is not created: {other:?}"),
        }
    }

    #[test]
    fn every_placeholder_of_the_project_is_filled() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (flags, plan) in plans(dir.path()) {
            for file in &plan.files {
                let Change::Create(text) = &file.change else {
                    panic!("a new project only creates files");
                };
                let path = file.path.display();
                assert_eq!(
                    template::placeholders(text),
                    Vec::<&str>::new(),
                    "{flags}: {path}"
                );
                if file.path.extension().is_some_and(|ext| ext == "rs") {
                    syn::parse_file(text)
                        .unwrap_or_else(|error| panic!("{flags}: {path} does not parse: {error}"));
                }
                if file.path.extension().is_some_and(|ext| ext == "toml") {
                    text.parse::<toml::Table>()
                        .unwrap_or_else(|error| panic!("{flags}: {path} is not TOML: {error}"));
                }
            }
        }
    }

    #[test]
    fn a_memory_project_runs_its_messages_once_and_counts_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let [(_, memory), ..] = plans(dir.path());
        assert!(text(&memory, "src/main.rs").contains("my_shop::mediator()"));
        assert!(text(&memory, "src/lib.rs").contains(".behavior(Metrics::new())"));
        let manifest = text(&memory, "Cargo.toml");
        for absent in [
            "catga-nats",
            "catga-sqlite",
            "catga-ops",
            "axum",
            "[features]",
        ] {
            assert!(!manifest.contains(absent), "{absent}:\n{manifest}");
        }
        assert!(!text(&memory, "src/lib.rs").contains("pub mod transport;"));
        assert!(text(&memory, "README.md").contains("# builds the mediator, sends a command"));
    }

    #[test]
    fn a_nats_project_serves_metrics_and_health_and_offers_otlp_as_a_feature() {
        let dir = tempfile::tempdir().expect("temp dir");
        let [(_, memory), (_, nats), ..] = plans(dir.path());
        assert_eq!(nats.files.len(), memory.files.len() + 3);
        let manifest = text(&nats, "Cargo.toml");
        for dependency in [
            "catga-nats = \"0.1\"",
            "catga-sqlite = \"0.1\"",
            "catga-ops = \"0.1\"",
            "\"signal\"",
            "[features]",
            "otlp = [\"catga-ops/otlp\", \"dep:tracing-subscriber\"]",
        ] {
            assert!(manifest.contains(dependency), "{dependency}:\n{manifest}");
        }
        assert!(!manifest.contains("axum"), "{manifest}");
        let table: toml::Table = manifest.parse().expect("TOML");
        assert_eq!(
            table["features"].get("default"),
            None,
            "otlp is off by default"
        );
        assert!(
            text(&nats, "src/lib.rs")
                .contains("pub mod get_task;\npub mod ops;\npub mod task_completed;\npub mod tasks;\npub mod transport;\n")
        );
        let main = text(&nats, "src/main.rs");
        for wired in [
            "CATGA_NATS_URL",
            "CATGA_METRICS_ADDR",
            "Prometheus::install()?",
            "Traces::from_env()?",
            "ops::serve(",
            "traces.stop().await?",
        ] {
            assert!(main.contains(wired), "{wired}:\n{main}");
        }
        let ops = text(&nats, "src/ops.rs");
        for wired in [
            "health.transport(\"nats\"",
            "health.task(name, task)",
            "catga_ops::watch_consumer_lag(",
            "#[cfg(feature = \"otlp\")]",
            "#[cfg(not(feature = \"otlp\"))]",
            "this build of my-shop has no OTLP exporter",
            "`cargo build --release --features otlp`",
        ] {
            assert!(ops.contains(wired), "{wired}:\n{ops}");
        }
        let readme = text(&nats, "README.md");
        for said in [
            "CATGA_NATS_URL picks another broker",
            "# serves other services over NATS",
            "| `CATGA_METRICS_ADDR` | `127.0.0.1:9464` |",
            "| `/health/ready` |",
            "cargo build --release --features otlp",
            "the OTLP exporter adds some 35 crates",
        ] {
            assert!(readme.contains(said), "{said}:\n{readme}");
        }
    }

    #[test]
    fn an_http_project_serves_its_commands_and_queries_on_either_transport() {
        let dir = tempfile::tempdir().expect("temp dir");
        let [(_, memory), (_, nats), (_, http), (_, both)] = plans(dir.path());
        assert_eq!(http.files.len(), memory.files.len() + 2);
        assert_eq!(both.files.len(), nats.files.len() + 2);
        for plan in [&http, &both] {
            let manifest = text(plan, "Cargo.toml");
            for dependency in [
                "catga-axum = \"0.1\"",
                "axum = \"0.8\"",
                "\"net\", \"io-util\"",
            ] {
                assert!(manifest.contains(dependency), "{dependency}:\n{manifest}");
            }
            assert!(text(plan, "src/lib.rs").contains("pub mod http;\n"));
            let routes = text(plan, "src/http.rs");
            assert!(
                routes.contains(".command::<CreateTask>(\"/tasks\")"),
                "{routes}"
            );
            assert!(
                routes.contains(".query::<GetTask>(\"/tasks/{id}\")"),
                "{routes}"
            );
            assert!(routes.contains("\"CATGA_HTTP_ADDR\""), "{routes}");
            assert!(routes.contains("\"127.0.0.1:8080\""), "{routes}");
            let test = text(plan, "tests/http.rs");
            assert!(
                test.contains("TcpListener::bind(\"127.0.0.1:0\")"),
                "{test}"
            );
            assert!(test.contains("my_shop::http::serve(listener, my_shop::mediator()?)"));
            let readme = text(plan, "README.md");
            assert!(readme.contains("## Serving HTTP"), "{readme}");
            assert!(
                readme.contains("CATGA_HTTP_ADDR (default 127.0.0.1:8080)"),
                "{readme}"
            );
            assert!(text(plan, "src/main.rs").contains("http::serve(listener"));
        }
        assert!(!text(&http, "Cargo.toml").contains("catga-nats"));
        assert!(text(&http, "README.md").contains("# serves the commands and queries over HTTP"));
        let main = text(&both, "src/main.rs");
        for wired in [
            "my_shop::transport::serve(",
            "ops::serve(",
            "(\"http server\", web)",
        ] {
            assert!(main.contains(wired), "{wired}:\n{main}");
        }
        assert!(text(&both, "src/lib.rs").contains("pub mod http;\npub mod ops;"));
        assert!(text(&both, "README.md").contains("# serves over HTTP and NATS"));
    }

    #[test]
    fn a_path_runtime_is_written_relative_to_the_project() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let runtime = Runtime::checkout(&root).expect("this checkout");
        assert_eq!(
            Runtime::checkout(&root.join("src-runtime")).expect("its runtime"),
            runtime
        );
        let Runtime::Path { root: resolved } = &runtime else {
            panic!("a checkout is a path runtime: {runtime:?}");
        };
        let beside = resolved.parent().expect("a parent").join("demo");
        assert_eq!(
            runtime.dependency("catga", &beside),
            format!(
                "catga = {{ path = \"../{}/src-runtime\" }}",
                resolved.file_name().expect("a name").to_string_lossy()
            )
        );
        let inside = resolved.join("target/tmp/demo");
        assert_eq!(
            runtime.dependency("catga-bench", &inside),
            "catga-bench = { path = \"../../../bench-harness\" }"
        );
        assert_eq!(
            runtime.cli_install(&inside),
            "--path ../../../cli",
            "CI installs the checkout's CLI"
        );
        let not_a_checkout = tempfile::tempdir().expect("temp dir");
        assert!(Runtime::checkout(not_a_checkout.path()).is_err());
    }

    #[test]
    fn version_and_git_runtimes_are_written_as_cargo_and_cargo_install_take_them() {
        let project = Path::new("/p");
        let version = Runtime::version("0.1").expect("valid");
        assert_eq!(
            version.dependency("catga-bench", project),
            "catga-bench = \"0.1\""
        );
        assert_eq!(version.cli_install(project), "catga-cli --version 0.1");
        assert!(Runtime::version("one").is_err());

        let git = Runtime::git("https://example.com/catga.git", Some("v0.1.0")).expect("valid");
        assert_eq!(
            git.dependency("catga", project),
            "catga = { git = \"https://example.com/catga.git\", rev = \"v0.1.0\" }"
        );
        assert_eq!(
            git.cli_install(project),
            "catga-cli --git https://example.com/catga.git --rev v0.1.0"
        );
        assert_eq!(
            git.cli_cache_key(),
            "git-https---example.com-catga.git-v0.1.0"
        );
        let head = Runtime::git("https://example.com/catga.git", None).expect("valid");
        assert_eq!(
            head.dependency("catga", project),
            "catga = { git = \"https://example.com/catga.git\" }"
        );
        assert!(Runtime::git("", None).is_err());
        assert!(Runtime::git("https://example.com/c", Some("a b")).is_err());
    }

    #[test]
    fn a_path_with_dot_dot_is_resolved_before_the_workspace_check() {
        let dir = tempfile::tempdir().expect("temp dir");
        let clone = dir.path().join("clone");
        fs::create_dir(&clone).expect("mkdir");
        fs::write(clone.join("Cargo.toml"), "[workspace]\nmembers = []\n").expect("write");
        let dotted = clone.join("../demo");
        let plan = plan(&NewOptions {
            path: dotted.clone(),
            ..options(dir.path(), "demo")
        })
        .expect("plans");
        assert!(plan.notes.is_empty(), "{:?}", plan.notes);
        assert_eq!(
            resolve(&dotted).expect("resolves"),
            dir.path().canonicalize().expect("temp dir").join("demo")
        );
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
