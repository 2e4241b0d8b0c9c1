//! The client half of the protocol [`crate::project`] serves: what `catga bench` does with a
//! project's bench target. It checks that the project has the target (naming the file that
//! named it and the targets there are), builds it with `cargo bench --no-run`, runs the
//! executable to list its scenarios, to measure a selection of them (the report comes back
//! through a temporary file), to profile them (so do the profiles) and to count their
//! instructions under callgrind.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::instructions;
use crate::profile::ScenarioProfile;
use crate::project::{self, Listing, PROTOCOL_VERSION, RunRequest, ScenarioInfo};
use crate::report::{Report, Tool};
use crate::runner::RunOptions;

/// A project's bench target, built, with the scenarios it listed.
#[derive(Debug)]
pub struct BenchTarget {
    /// The bench target's name.
    target: String,
    /// The file that names it (catga.toml, or Cargo.toml's metadata table).
    config: PathBuf,
    /// The project's directory: cargo and the executable run there.
    dir: PathBuf,
    executable: PathBuf,
    /// Cargo's target directory the executable was built in.
    target_dir: PathBuf,
    scenarios: Vec<ScenarioInfo>,
}

impl BenchTarget {
    /// Checks that the project in `dir` has the bench target `target` (named in the file
    /// `config`), builds it with cargo (`$CARGO`, else `cargo`) and lists its scenarios.
    pub fn build(target: String, config: PathBuf, dir: PathBuf) -> Result<BenchTarget, String> {
        BenchTarget::build_in(target, config, dir, None)
    }

    /// [`BenchTarget::build`], with cargo's target directory `target_dir` when given (another
    /// revision of a project builds into one of its own: [`crate::rev::target_dir`]).
    pub fn build_in(
        target: String,
        config: PathBuf,
        dir: PathBuf,
        target_dir: Option<&Path>,
    ) -> Result<BenchTarget, String> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let own_target_dir = check_target_exists(&cargo, &target, &config, &dir)?;
        let target_dir = target_dir.map_or(own_target_dir, Path::to_path_buf);
        let executable = build_target(&cargo, &target, &dir, &target_dir)?;
        let mut project = BenchTarget {
            target,
            config,
            dir,
            executable,
            target_dir,
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

    /// Cargo's target directory the executable was built in.
    pub fn target_dir(&self) -> &Path {
        &self.target_dir
    }

    /// The file that names the target (catga.toml, or Cargo.toml's metadata table).
    pub fn config(&self) -> &Path {
        &self.config
    }

    /// The project's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bench target's name.
    pub fn name(&self) -> &str {
        &self.target
    }

    /// Every scenario the target listed, baselines first.
    pub fn scenarios(&self) -> &[ScenarioInfo] {
        &self.scenarios
    }

    /// Measures the scenarios named in `names` (exact names from [`BenchTarget::scenarios`])
    /// in a child process; the report's `tool` is `tool`.
    pub fn measure(
        &self,
        names: &[String],
        options: &RunOptions,
        tool: &Tool,
    ) -> Result<Report, String> {
        let (_scratch, path) = self.run_child(names, options, RunRequest::to_args, "report")?;
        let mut report = Report::load(&path).map_err(|error| error.to_string())?;
        // The report says which catga measured it; the harness version is the CLI's, checked
        // by the protocol.
        report.tool = tool.clone();
        Ok(report)
    }

    /// Profiles the scenarios named in `names` in a child process ([`crate::profile`]).
    pub fn profile(
        &self,
        names: &[String],
        options: &RunOptions,
    ) -> Result<Vec<ScenarioProfile>, String> {
        let (_scratch, path) =
            self.run_child(names, options, RunRequest::to_profile_args, "profiles")?;
        crate::profile::load(&path)
    }

    /// Runs the executable with the arguments `args_of` makes of a request for `names`, and
    /// returns the file it wrote its `what` to, in a temporary directory that lives as long
    /// as the returned guard.
    fn run_child(
        &self,
        names: &[String],
        options: &RunOptions,
        args_of: fn(&RunRequest) -> Vec<OsString>,
        what: &str,
    ) -> Result<(tempfile::TempDir, PathBuf), String> {
        let scratch = tempfile::tempdir()
            .map_err(|error| format!("cannot create a temporary directory: {error}"))?;
        let request = RunRequest {
            scenarios: names.to_vec(),
            options: options.clone(),
            report: scratch.path().join(format!("{what}.json")),
        };
        // The project's code may print; its stdout goes to stderr so that ours stays the
        // report (`--format json`). Progress bars and errors are on stderr already.
        let status = Command::new(&self.executable)
            .args(args_of(&request))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::io::stderr()))
            .status()
            .map_err(|error| format!("cannot run {}: {error}", self.describe()))?;
        if !status.success() {
            return Err(format!(
                "{} failed ({status}); its error is above",
                self.describe()
            ));
        }
        if !request.report.is_file() {
            return Err(format!(
                "{} exited successfully but wrote no {what}; its `main` must return \
                 `catga_bench::project::main(scenarios)`",
                self.describe()
            ));
        }
        Ok((scratch, request.report))
    }

    /// The instructions per operation of the scenario `name`, over `ops` operations run by
    /// the target under callgrind ([`crate::instructions`]).
    pub fn count_instructions(&self, name: &str, ops: u64) -> Result<f64, String> {
        let scratch = instructions::scratch_dir()?;
        instructions::count_under_callgrind(
            &self.executable,
            &project::count_args(name, ops),
            &self.dir,
            ops,
            scratch.path(),
        )
        .map_err(|error| format!("{}: {error}", self.describe()))
    }
}

/// Fails, naming the file and the bench targets there are, when the project has no bench
/// target `target` (cargo's own error would not say where the name came from).
fn check_target_exists(
    cargo: &OsString,
    target: &str,
    config: &Path,
    dir: &Path,
) -> Result<PathBuf, String> {
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
        return Ok(metadata["target_directory"]
            .as_str()
            .map_or_else(|| dir.join("target"), PathBuf::from));
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
fn build_target(
    cargo: &OsString,
    target: &str,
    dir: &Path,
    target_dir: &Path,
) -> Result<PathBuf, String> {
    let output = Command::new(cargo)
        .args([
            "bench",
            "--bench",
            target,
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--target-dir")
        .arg(target_dir)
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
        let project = BenchTarget {
            target: "scenarios".to_owned(),
            config: PathBuf::from("/p/catga.toml"),
            dir: PathBuf::from("/p"),
            executable: PathBuf::from("/p/target/release/deps/scenarios-abc"),
            target_dir: PathBuf::from("/p/target"),
            scenarios: Vec::new(),
        };
        let output = |code: i32, stdout: &str, stderr: &str| Output {
            status: ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        };
        let listed = project.read_listing(&output(
            0,
            "printed by the project\n{\"protocol\":3,\"catga_bench\":\"0.1.0\",\"scenarios\":\
             [{\"name\":\"create_task\",\"group\":\"project\",\"concurrency\":1}]}\n",
            "",
        ));
        assert_eq!(listed.unwrap()[0].name, "create_task");

        let refused = project
            .read_listing(&output(
                2,
                "{\"protocol\":4,\"catga_bench\":\"0.2.0\"}\n",
                "error: asked for protocol 3",
            ))
            .unwrap_err();
        assert!(
            refused.contains("catga-bench 0.2.0")
                && refused.contains("protocol 4")
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
