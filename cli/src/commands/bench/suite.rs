//! Where `catga bench`'s scenarios come from and how they are measured: the built-in suite,
//! in this process, or a project's bench target (`[bench] target` in its catga.toml), built
//! and run as a child process by `catga_bench::target`. The command does everything else
//! (selection, saving, comparing, outputs) the same for both.

use std::error::Error;
use std::ffi::OsString;
use std::path::PathBuf;

use catga_bench::profile::{self, ScenarioProfile};
use catga_bench::project::ScenarioInfo;
use catga_bench::report::{Report, Tool};
use catga_bench::target::BenchTarget;
use catga_bench::{RunOptions, Scenario, builtin, instructions};

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

    /// The instructions per operation of the scenario `name`, counted over `ops` operations
    /// under callgrind (`catga_bench::instructions`).
    fn count_instructions(&self, name: &str, ops: u64) -> Result<f64, Box<dyn Error>>;

    /// Profiles the scenarios named in `names` where they run (`catga_bench::profile`).
    fn profile(
        &self,
        names: &[String],
        options: &RunOptions,
    ) -> Result<Vec<ScenarioProfile>, Box<dyn Error>>;

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
        (Some(target), Some(file)) => {
            Ok(Box::new(BenchTarget::build(target, file, config.base_dir)?))
        }
        _ => Ok(Box::new(Builtin::new())),
    }
}

/// Where the project's bench target is, not built yet: its name, the file naming it and the
/// project's directory. `flag` (`--compare-rev`) has no meaning for the built-in suite.
pub(crate) fn project_target(flag: &str) -> Result<(String, PathBuf, PathBuf), Box<dyn Error>> {
    let cwd = std::env::current_dir()
        .map_err(|error| format!("cannot read the current directory: {error}"))?;
    let config = catga_lints::config::load(&cwd)?;
    match (config.bench_target, config.file) {
        (Some(target), Some(file)) => Ok((target, file, config.base_dir)),
        _ => Err(format!(
            "`{flag}` builds another revision of a project's bench target, and `{}` is not in a \
             project whose catga.toml names one (`[bench] target`); run it in such a project, \
             or compare with a saved report (`--compare BASELINE`)",
            cwd.display()
        )
        .into()),
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

    /// The scenarios named in `names`, in the suite's order.
    fn selected(&self, names: &[String]) -> Vec<Scenario> {
        self.scenarios
            .iter()
            .filter(|scenario| names.iter().any(|name| name == scenario.name()))
            .cloned()
            .collect()
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
        Ok(catga_bench::run(
            &self.selected(names),
            options,
            tool.clone(),
        )?)
    }

    fn count_instructions(&self, name: &str, ops: u64) -> Result<f64, Box<dyn Error>> {
        // This executable, asked for the hidden `--count-ops`, is the one to run under
        // callgrind: it has the built-in scenarios.
        let program = std::env::current_exe()
            .map_err(|error| format!("cannot find the catga executable: {error}"))?;
        let args: Vec<OsString> = vec![
            "bench".into(),
            "--builtin".into(),
            "--count-ops".into(),
            format!("{name}={ops}").into(),
        ];
        let scratch = instructions::scratch_dir()?;
        let cwd = std::env::current_dir()
            .map_err(|error| format!("cannot read the current directory: {error}"))?;
        Ok(instructions::count_under_callgrind(
            &program,
            &args,
            &cwd,
            ops,
            scratch.path(),
        )?)
    }

    fn profile(
        &self,
        names: &[String],
        options: &RunOptions,
    ) -> Result<Vec<ScenarioProfile>, Box<dyn Error>> {
        Ok(profile::run(&self.selected(names), options)?)
    }

    fn absent_note(&self) -> Option<String> {
        builtin::absent_note()
    }
}

/// `catga bench --count-ops NAME=OPS`: runs OPS operations of the built-in scenario NAME inside
/// the function callgrind counts.
pub(crate) fn count_builtin(request: &str) -> Result<(), String> {
    let (name, ops) = request
        .rsplit_once('=')
        .and_then(|(name, ops)| Some((name, ops.parse::<u64>().ok()?)))
        .ok_or_else(|| format!("`--count-ops {request}` must be NAME=OPS"))?;
    let scenario = builtin::scenarios()
        .into_iter()
        .find(|scenario| scenario.name() == name)
        .ok_or_else(|| format!("`--count-ops`: no built-in scenario `{name}`"))?;
    instructions::run_counted(&scenario, ops)
}

/// A project's bench target (`catga_bench::target`), which speaks the protocol.
impl Suite for BenchTarget {
    fn scenarios(&self) -> &[ScenarioInfo] {
        BenchTarget::scenarios(self)
    }

    fn measure(
        &self,
        names: &[String],
        options: &RunOptions,
        tool: &Tool,
    ) -> Result<Report, Box<dyn Error>> {
        Ok(BenchTarget::measure(self, names, options, tool)?)
    }

    fn count_instructions(&self, name: &str, ops: u64) -> Result<f64, Box<dyn Error>> {
        Ok(BenchTarget::count_instructions(self, name, ops)?)
    }

    fn profile(
        &self,
        names: &[String],
        options: &RunOptions,
    ) -> Result<Vec<ScenarioProfile>, Box<dyn Error>> {
        Ok(BenchTarget::profile(self, names, options)?)
    }
}
