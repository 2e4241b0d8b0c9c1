//! Where `catga bench`'s scenarios come from and how they are measured: the built-in suite,
//! in this process, or a project's bench target (`[bench] target` in its catga.toml), built
//! with cargo and run as a child process speaking `catga_bench::project`'s protocol. The
//! command does everything else (selection, saving, comparing, outputs) the same for both.

use std::error::Error;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use catga_bench::project::{self, Listing, PROTOCOL_VERSION, RunRequest, ScenarioInfo};
use catga_bench::report::{Report, Tool};
use catga_bench::{RunOptions, Scenario, builtin};

/// A source of scenarios that can measure them.
pub(crate) trait Suite {
    /// Every scenario, in the order a run measures them.
    fn scenarios(&self) -> &[ScenarioInfo];

    /// Measures the scenarios named in `names` (exact names from [`Suite::scenarios`]); the
    /// report's `tool` is `tool`.
    fn measure(
        &self,
        names: &[String],
        options: &RunOptions,
        tool: &Tool,
    ) -> Result<Report, Box<dyn Error>>;

    /// One line on scenarios this suite could have but left out, and how to add them.
    fn absent_note(&self) -> Option<String> {
        None
    }
}

/// The suite for this invocation: the built-in one with `--builtin` or outside a project that
/// names a bench target, else the project's, built first.
pub(crate) fn open(builtin_only: bool) -> Result<Box<dyn Suite>, Box<dyn Error>> {
    if builtin_only {
        return Ok(Box::new(Builtin::new()));
    }
    let cwd = std::env::current_dir()
        .map_err(|error| format!("cannot read the current directory: {error}"))?;
    let config = catga_lints::config::load(&cwd)?;
    match (config.bench_target, config.file) {
        (Some(target), Some(file)) => Ok(Box::new(ProjectTarget::build(
            target,
            file,
            config.base_dir,
        )?)),
        _ => Ok(Box::new(Builtin::new())),
    }
}

/// catga's own scenarios, measured in this process.
struct Builtin {
    scenarios: Vec<Scenario>,
    infos: Vec<ScenarioInfo>,
}

impl Builtin {
    fn new() -> Builtin {
        let scenarios = builtin::scenarios();
        let infos = scenarios.iter().map(ScenarioInfo::of).collect();
        Builtin { scenarios, infos }
    }
}

impl Suite for Builtin {
    fn scenarios(&self) -> &[ScenarioInfo] {
        &self.infos
    }

    fn measure(
        &self,
        names: &[String],
        options: &RunOptions,
        tool: &Tool,
    ) -> Result<Report, Box<dyn Error>> {
        let selected: Vec<Scenario> = self
            .scenarios
            .iter()
            .filter(|scenario| names.iter().any(|name| name == scenario.name()))
            .cloned()
            .collect();
        Ok(catga_bench::run(&selected, options, tool.clone())?)
    }

    fn absent_note(&self) -> Option<String> {
        builtin::absent_note()
    }
}

/// A project's bench target, built, with the scenarios it listed.
struct ProjectTarget {
    /// The bench target's name.
    target: String,
    /// The file that names it (catga.toml, or Cargo.toml's metadata table).
    config: PathBuf,
    /// The project's directory: cargo and the executable run there.
    dir: PathBuf,
    executable: PathBuf,
    scenarios: Vec<ScenarioInfo>,
}

impl ProjectTarget {
    /// Checks that the project has the target, builds it and lists its scenarios.
    fn build(target: String, config: PathBuf, dir: PathBuf) -> Result<ProjectTarget, String> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        check_target_exists(&cargo, &target, &config, &dir)?;
        let executable = build_target(&cargo, &target, &dir)?;
        let mut project = ProjectTarget {
            target,
            config,
            dir,
            executable,
            scenarios: Vec::new(),
        };
        project.scenarios = project.list()?;
        Ok(project)
    }

    /// How errors name the target: its name, the file naming it and the executable.
    fn describe(&self) -> String {
        format!(
            "the bench target `{}` (named in {}, built as {})",
            self.target,
            self.config.display(),
            self.executable.display()
        )
    }

    fn list(&self) -> Result<Vec<ScenarioInfo>, String> {
        let output = Command::new(&self.executable)
            .args(project::list_args())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("cannot run {}: {error}", self.describe()))?;
        self.read_listing(&output)
    }

    /// The scenarios in the output of `list`; a protocol version that differs from ours, or
    /// no listing, is an error saying what to do.
    fn read_listing(&self, output: &Output) -> Result<Vec<ScenarioInfo>, String> {
        let stdout = String::from_utf8_lossy(&output.stdout);
        // The last line: whatever the project's own code prints before `main` hands over
        // comes first.
        let listing = stdout
            .lines()
            .rev()
            .find_map(|line| serde_json::from_str::<Listing>(line).ok());
        match listing {
            Some(listing) if listing.protocol != PROTOCOL_VERSION => Err(format!(
                "{} was built with catga-bench {}, which speaks catga bench protocol {}, and \
                 this catga {} speaks protocol {PROTOCOL_VERSION}: use the same version of the \
                 `catga` CLI and of the project's `catga-bench` dependency (in {})",
                self.describe(),
                listing.catga_bench,
                listing.protocol,
                env!("CARGO_PKG_VERSION"),
                self.dir.join("Cargo.toml").display()
            )),
            Some(listing) if output.status.success() => Ok(listing.scenarios),
            _ => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                Err(format!(
                    "{} did not list its scenarios ({}){}; its `main` must return \
                     `catga_bench::project::main(scenarios)`",
                    self.describe(),
                    output.status,
                    if stderr.trim().is_empty() {
                        String::new()
                    } else {
                        format!(": {}", stderr.trim())
                    }
                ))
            }
        }
    }
}

impl Suite for ProjectTarget {
    fn scenarios(&self) -> &[ScenarioInfo] {
        &self.scenarios
    }

    fn measure(
        &self,
        names: &[String],
        options: &RunOptions,
        tool: &Tool,
    ) -> Result<Report, Box<dyn Error>> {
        let scratch = tempfile::tempdir()
            .map_err(|error| format!("cannot create a temporary directory: {error}"))?;
        let request = RunRequest {
            scenarios: names.to_vec(),
            options: options.clone(),
            report: scratch.path().join("report.json"),
        };
        // The project's code may print; its stdout goes to stderr so that ours stays the
        // report (`--format json`). Progress bars and errors are on stderr already.
        let status = Command::new(&self.executable)
            .args(request.to_args())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::io::stderr()))
            .status()
            .map_err(|error| format!("cannot run {}: {error}", self.describe()))?;
        if !status.success() {
            return Err(
                format!("{} failed ({status}); its error is above", self.describe()).into(),
            );
        }
        if !request.report.is_file() {
            return Err(format!(
                "{} exited successfully but wrote no report; its `main` must return \
                 `catga_bench::project::main(scenarios)`",
                self.describe()
            )
            .into());
        }
        let mut report = Report::load(&request.report)?;
        // The report says which catga measured it; the harness version is the CLI's, checked
        // by the protocol.
        report.tool = tool.clone();
        Ok(report)
    }
}

/// Fails, naming the file and the bench targets there are, when the project has no bench
/// target `target` (cargo's own error would not say where the name came from).
fn check_target_exists(
    cargo: &OsString,
    target: &str,
    config: &Path,
    dir: &Path,
) -> Result<(), String> {
    let output = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| cannot_run_cargo(cargo, &error))?;
    if !output.status.success() {
        return Err(format!(
            "{} names the bench target `{target}`, but `cargo metadata` failed in {}: {}; \
             catga.toml must sit next to the project's Cargo.toml",
            config.display(),
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("`cargo metadata` printed something that is not JSON: {error}"))?;
    let benches = bench_targets(&metadata);
    if benches.iter().any(|name| name == target) {
        return Ok(());
    }
    let known = if benches.is_empty() {
        "it has no bench target".to_owned()
    } else {
        format!("its bench targets are: {}", benches.join(", "))
    };
    Err(format!(
        "{} names the bench target `{target}` (`[bench] target`), but the project in {} has no \
         bench target of that name ({known}); fix the name, or add `benches/{target}.rs` and \
         `[[bench]] name = \"{target}\"` with `harness = false` to Cargo.toml",
        config.display(),
        dir.display(),
    ))
}

/// The names of the bench targets of the packages in `cargo metadata` output.
fn bench_targets(metadata: &serde_json::Value) -> Vec<String> {
    let packages = metadata["packages"].as_array().into_iter().flatten();
    let targets = packages.flat_map(|package| package["targets"].as_array().into_iter().flatten());
    targets
        .filter(|target| {
            target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bench"))
        })
        .filter_map(|target| target["name"].as_str().map(str::to_owned))
        .collect()
}

/// Builds the bench target and returns its executable. Cargo's progress and errors stay on
/// stderr, rendered as usual; its JSON messages on stdout say where the executable is.
fn build_target(cargo: &OsString, target: &str, dir: &Path) -> Result<PathBuf, String> {
    let output = Command::new(cargo)
        .args([
            "bench",
            "--bench",
            target,
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| cannot_run_cargo(cargo, &error))?;
    if !output.status.success() {
        return Err(format!(
            "the bench target `{target}` failed to build in {} ({}); cargo's errors are above",
            dir.display(),
            output.status
        ));
    }
    executable_of(&String::from_utf8_lossy(&output.stdout), target).ok_or_else(|| {
        format!(
            "cargo built the bench target `{target}` in {} but reported no executable for it; \
             check that it is a bench target (`[[bench]]` in Cargo.toml)",
            dir.display()
        )
    })
}

/// The executable of the bench target `target` in cargo's JSON messages.
fn executable_of(messages: &str, target: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == target)
        .filter(|message| {
            message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bench"))
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

fn cannot_run_cargo(cargo: &OsString, error: &std::io::Error) -> String {
    format!(
        "cannot run `{}`: {error}; `catga bench` builds the project's bench target with cargo: \
         put cargo on PATH or set `CARGO`",
        cargo.to_string_lossy()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_listing_of_another_protocol_says_to_align_versions() {
        use std::os::unix::process::ExitStatusExt;
        use std::process::ExitStatus;
        let project = ProjectTarget {
            target: "scenarios".to_owned(),
            config: PathBuf::from("/p/catga.toml"),
            dir: PathBuf::from("/p"),
            executable: PathBuf::from("/p/target/release/deps/scenarios-abc"),
            scenarios: Vec::new(),
        };
        let output = |code: i32, stdout: &str, stderr: &str| Output {
            status: ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        };
        let listed = project.read_listing(&output(
            0,
            "printed by the project\n{\"protocol\":1,\"catga_bench\":\"0.1.0\",\"scenarios\":\
             [{\"name\":\"create_task\",\"group\":\"project\",\"concurrency\":1}]}\n",
            "",
        ));
        assert_eq!(listed.unwrap()[0].name, "create_task");

        let refused = project
            .read_listing(&output(
                2,
                "{\"protocol\":2,\"catga_bench\":\"0.2.0\"}\n",
                "error: asked for protocol 1",
            ))
            .unwrap_err();
        assert!(
            refused.contains("catga-bench 0.2.0")
                && refused.contains("protocol 2")
                && refused.contains("same version")
                && refused.contains("/p/catga.toml"),
            "{refused}"
        );

        let silent = project
            .read_listing(&output(101, "", "thread 'main' panicked"))
            .unwrap_err();
        assert!(
            silent.contains("did not list its scenarios")
                && silent.contains("panicked")
                && silent.contains("catga_bench::project::main"),
            "{silent}"
        );
    }

    #[test]
    fn the_executable_comes_from_the_bench_targets_artifact() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"demo","kind":["lib"]},"executable":null}"#,
            "not json: cargo may print other lines",
            r#"{"reason":"compiler-artifact","target":{"name":"scenarios","kind":["bin"]},"executable":"/t/release/scenarios"}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"scenarios","kind":["bench"]},"executable":"/t/release/deps/scenarios-abc"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(
            executable_of(&messages, "scenarios"),
            Some(PathBuf::from("/t/release/deps/scenarios-abc"))
        );
        assert_eq!(executable_of(&messages, "other"), None);
    }

    #[test]
    fn bench_targets_are_read_from_metadata() {
        let metadata = serde_json::json!({ "packages": [
            { "targets": [ { "name": "demo", "kind": ["lib"] },
                           { "name": "load", "kind": ["bench"] } ] },
            { "targets": [ { "name": "scenarios", "kind": ["bench"] } ] },
        ]});
        assert_eq!(bench_targets(&metadata), ["load", "scenarios"]);
        assert!(bench_targets(&serde_json::json!({})).is_empty());
    }
}
