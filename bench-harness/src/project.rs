//! A project's own bench target. Its `main` hands the project's scenarios to [`main`], which
//! adds the `baseline` group (so the report has the floor and ratios to it) and then either
//! speaks the private protocol of `catga bench`, or, run by a plain `cargo bench`, measures the
//! scenarios itself with short defaults and prints the table:
//!
//! ```rust,ignore
//! // benches/scenarios.rs (`harness = false` in Cargo.toml, named by `[bench] target` in catga.toml)
//! #[global_allocator]
//! static ALLOCATOR: catga_bench::CountingAllocator = catga_bench::CountingAllocator;
//!
//! fn main() -> std::process::ExitCode {
//!     catga_bench::project::main(scenarios())
//! }
//! ```
//!
//! # The protocol
//!
//! The `catga` CLI builds the bench target and runs its executable with
//! `--catga-protocol=VERSION` ([`PROTOCOL_VERSION`]) as the first argument, then a command:
//!
//! - `list`: prints a [`Listing`] as JSON on stdout: the protocol version, this crate's version
//!   and every scenario's name, group and concurrency.
//! - `run --report FILE --duration-ns N --warmup-ns N --samples N [--rate OPS_PER_SEC] [--quiet]
//!   [--batch NAME=N...] --scenario NAME...`: measures the named scenarios (exact names, in the listing's order) and
//!   saves the [`Report`](crate::Report) atomically to `FILE`. Progress bars go to stderr. The
//!   arguments are built by [`RunRequest::to_args`].
//! - `count --scenario NAME --ops N`: runs N operations of the scenario inside the function
//!   callgrind counts (`catga bench --instructions` runs it under valgrind; see
//!   [`crate::instructions`]). The arguments are built by [`count_args`].
//! - `profile`, with the arguments of `run` (`--report FILE` names where the profiles go):
//!   profiles the named scenarios ([`crate::profile::run`]) and saves them as JSON to `FILE`
//!   ([`crate::profile::save`]). The arguments are built by [`RunRequest::to_profile_args`].
//!
//! Asked for another version, the executable prints a [`Listing`] without scenarios (its own
//! version and this crate's) on stdout, explains on stderr, and exits 2: that answer is the one
//! part every version keeps, so the CLI can say which side to upgrade. Any error exits 2 with
//! `error: ...` on stderr.
//!
//! # A plain `cargo bench`
//!
//! Without the protocol, the arguments are libtest's: `--bench` (passed by `cargo bench`)
//! measures every scenario whose name contains one of the filters (all without a filter; with
//! `--exact`, whose name is one of them; `--skip FILTER` leaves some out) for
//! [`PLAIN_DURATION`] after [`PLAIN_WARMUP`], and prints the table on stdout. Without `--bench`
//! (`cargo test --benches`) each scenario runs a few operations, to check that it works.
//! `--list` lists the scenarios. Other libtest flags are accepted and ignored; a filter that
//! matches nothing is not an error, since `cargo bench FILTER` passes it to every bench target.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::report::Tool;
use crate::runner::{RunOptions, run};
use crate::scenario::{Group, Scenario};
use crate::{builtin, render};

/// The version of the protocol between the `catga` CLI and a project's bench target. Raised
/// whenever a command or an argument changes meaning.
/// Version 2 added `run --batch NAME=N` and `count`; version 3 added `profile`.
pub const PROTOCOL_VERSION: u32 = 3;

/// The first argument of every protocol invocation, followed by `=VERSION`.
pub const PROTOCOL_FLAG: &str = "--catga-protocol";

/// Measured time per scenario in a plain `cargo bench`.
pub const PLAIN_DURATION: Duration = Duration::from_secs(2);

/// Warm-up per scenario in a plain `cargo bench`.
pub const PLAIN_WARMUP: Duration = Duration::from_millis(500);

/// Runs a project's bench target: see the [module documentation](self). Exit code 0 on
/// success, 2 with `error: ...` on stderr otherwise.
pub fn main(scenarios: Vec<Scenario>) -> ExitCode {
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            Err(arg) => {
                return fail(&format!(
                    "the argument `{}` is not UTF-8; scenario names and options are",
                    arg.to_string_lossy()
                ));
            }
        }
    }
    let scenarios = match with_baselines(scenarios) {
        Ok(scenarios) => scenarios,
        Err(message) => return fail(&message),
    };
    match parse(&args) {
        Ok(invocation) => match execute(invocation, &scenarios) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&message),
        },
        Err(ParseError::Protocol { asked }) => {
            // The one answer every version keeps: which protocol and crate version this is.
            let listing = Listing {
                protocol: PROTOCOL_VERSION,
                catga_bench: env!("CARGO_PKG_VERSION").to_owned(),
                scenarios: Vec::new(),
            };
            print_stdout(&format!("{}\n", listing.to_json()));
            fail(&format!(
                "this bench target was built with catga-bench {}, which speaks catga bench \
                 protocol {PROTOCOL_VERSION}, and was asked for protocol {asked}: use the same \
                 version of the `catga` CLI and of the project's `catga-bench` dependency",
                env!("CARGO_PKG_VERSION")
            ))
        }
        Err(ParseError::Usage(message)) => fail(&message),
    }
}

/// One scenario, as `list` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub name: String,
    /// `runtime`, `baseline` or `project`.
    pub group: String,
    /// Operations in flight at once.
    pub concurrency: u32,
}

impl ScenarioInfo {
    /// The description of `scenario`.
    pub fn of(scenario: &Scenario) -> ScenarioInfo {
        ScenarioInfo {
            name: scenario.name().to_owned(),
            group: scenario.group().as_str().to_owned(),
            concurrency: scenario.in_flight(),
        }
    }
}

/// What `list` prints: also the answer to a protocol version the executable does not speak,
/// then without scenarios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    /// The protocol version the executable speaks.
    pub protocol: u32,
    /// The version of catga-bench the executable was built with.
    pub catga_bench: String,
    #[serde(default)]
    pub scenarios: Vec<ScenarioInfo>,
}

impl Listing {
    /// The listing as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a listing always serializes")
    }
}

/// A protocol `run` or `profile`: which scenarios, how, and where to save the result.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Exact scenario names; at least one.
    pub scenarios: Vec<String>,
    pub options: RunOptions,
    /// Where the result is saved (atomically): the report, or the profiles.
    pub report: PathBuf,
}

impl RunRequest {
    /// The executable's arguments to measure the scenarios, the protocol flag first.
    pub fn to_args(&self) -> Vec<OsString> {
        self.args_of("run")
    }

    /// The executable's arguments to profile the scenarios, the protocol flag first.
    pub fn to_profile_args(&self) -> Vec<OsString> {
        self.args_of("profile")
    }

    fn args_of(&self, command: &str) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            format!("{PROTOCOL_FLAG}={PROTOCOL_VERSION}").into(),
            command.into(),
            "--report".into(),
            self.report.clone().into_os_string(),
            "--duration-ns".into(),
            self.options.duration.as_nanos().to_string().into(),
            "--warmup-ns".into(),
            self.options.warmup.as_nanos().to_string().into(),
            "--samples".into(),
            self.options.samples.to_string().into(),
        ];
        if let Some(rate) = self.options.rate {
            // `Display` of an f64 is its shortest exact form: it parses back to the same value.
            args.extend(["--rate".into(), rate.to_string().into()]);
        }
        if self.options.quiet {
            args.push("--quiet".into());
        }
        for (name, batch) in &self.options.batches {
            args.extend(["--batch".into(), format!("{name}={batch}").into()]);
        }
        for name in &self.scenarios {
            args.extend(["--scenario".into(), name.into()]);
        }
        args
    }
}

/// The `count` arguments: `ops` operations of the scenario `name`, counted.
pub fn count_args(name: &str, ops: u64) -> Vec<OsString> {
    vec![
        format!("{PROTOCOL_FLAG}={PROTOCOL_VERSION}").into(),
        "count".into(),
        "--scenario".into(),
        name.into(),
        "--ops".into(),
        ops.to_string().into(),
    ]
}

/// The `list` arguments.
pub fn list_args() -> Vec<OsString> {
    vec![
        format!("{PROTOCOL_FLAG}={PROTOCOL_VERSION}").into(),
        "list".into(),
    ]
}

/// What the arguments ask for.
#[derive(Debug)]
enum Invocation {
    /// Protocol `list`.
    List,
    /// Protocol `run`.
    Run(RunRequest),
    /// Protocol `profile`.
    Profile(RunRequest),
    /// Protocol `count`: a scenario's name and how many operations.
    Count(String, u64),
    /// A plain `cargo bench` or `cargo test`.
    Plain(Plain),
}

/// A plain invocation, libtest style.
#[derive(Debug, Default, PartialEq, Eq)]
struct Plain {
    /// `--bench`: measure; otherwise run each scenario briefly, as a test.
    bench: bool,
    /// `--list`: print the scenarios.
    list: bool,
    /// `--exact`: filters are whole names.
    exact: bool,
    quiet: bool,
    /// `-h`, `--help`: say how this executable is meant to be run.
    help: bool,
    filters: Vec<String>,
    skip: Vec<String>,
}

impl Plain {
    fn selects(&self, name: &str) -> bool {
        let matches = |filter: &String| {
            if self.exact {
                name == filter
            } else {
                name.contains(filter.as_str())
            }
        };
        (self.filters.is_empty() || self.filters.iter().any(matches))
            && !self.skip.iter().any(matches)
    }
}

#[derive(Debug, PartialEq)]
enum ParseError {
    /// `--catga-protocol=N` with a version this build does not speak.
    Protocol { asked: String },
    /// Anything else wrong, with what to do.
    Usage(String),
}

const PLAIN_HELP: &str = "\
A catga bench target: its scenarios, with the built-in baselines.

Measure them, save reports and compare with a baseline:
    catga bench [--scenario GLOB] [--save FILE] [--compare BASELINE]   (see `catga bench --help`)

A quick run of the scenarios whose name contains FILTER (2s each after a 500ms warm-up):
    cargo bench --bench TARGET [FILTER...] [--exact] [--skip FILTER] [--list]
";

/// libtest flags that take a value, which is skipped with them.
const LIBTEST_VALUE_FLAGS: &[&str] = &[
    "--color",
    "--format",
    "--logfile",
    "--test-threads",
    "--shuffle-seed",
    "-Z",
];

fn parse(args: &[String]) -> Result<Invocation, ParseError> {
    match args.first() {
        Some(first) if first.starts_with(PROTOCOL_FLAG) => {
            let version = first
                .strip_prefix(PROTOCOL_FLAG)
                .and_then(|rest| rest.strip_prefix('='))
                .ok_or_else(|| {
                    ParseError::Usage(format!(
                        "`{first}`: write the protocol version as `{PROTOCOL_FLAG}={PROTOCOL_VERSION}`"
                    ))
                })?;
            if version != PROTOCOL_VERSION.to_string() {
                return Err(ParseError::Protocol {
                    asked: version.to_owned(),
                });
            }
            parse_protocol(&args[1..]).map_err(ParseError::Usage)
        }
        _ => parse_plain(args).map(Invocation::Plain),
    }
}

fn parse_protocol(args: &[String]) -> Result<Invocation, String> {
    let (command, rest) = args.split_first().ok_or_else(|| {
        format!("`{PROTOCOL_FLAG}` needs a command after it: `list`, `run`, `count` or `profile`")
    })?;
    match command.as_str() {
        "list" => match rest.first() {
            None => Ok(Invocation::List),
            Some(extra) => Err(format!("`list` takes no arguments, got `{extra}`")),
        },
        "run" => parse_run(rest).map(Invocation::Run),
        "profile" => parse_run(rest).map(Invocation::Profile),
        "count" => match rest {
            [scenario_flag, name, ops_flag, ops]
                if scenario_flag == "--scenario" && ops_flag == "--ops" =>
            {
                Ok(Invocation::Count(name.clone(), number("--ops", ops)?))
            }
            _ => Err("`count` takes `--scenario NAME --ops N`".to_owned()),
        },
        other => Err(format!(
            "unknown protocol command `{other}`; expected `list`, `run`, `count` or `profile`"
        )),
    }
}

fn parse_run(args: &[String]) -> Result<RunRequest, String> {
    let mut report = None;
    let mut duration = None;
    let mut warmup = None;
    let mut samples = None;
    let mut options = RunOptions::default();
    let mut scenarios = Vec::new();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("`{flag}` needs a value"));
        match flag.as_str() {
            "--report" => report = Some(PathBuf::from(value()?)),
            "--duration-ns" => duration = Some(Duration::from_nanos(number(flag, value()?)?)),
            "--warmup-ns" => warmup = Some(Duration::from_nanos(number(flag, value()?)?)),
            "--samples" => samples = Some(number(flag, value()?)?),
            "--rate" => {
                let text = value()?;
                options.rate = Some(
                    text.parse()
                        .map_err(|_| format!("`--rate {text}` is not a number"))?,
                );
            }
            "--quiet" => options.quiet = true,
            "--batch" => {
                let text = value()?;
                let (name, batch) = text
                    .rsplit_once('=')
                    .ok_or_else(|| format!("`--batch {text}` must be NAME=N"))?;
                options
                    .batches
                    .insert(name.to_owned(), number("--batch", batch)?);
            }
            "--scenario" => scenarios.push(value()?.clone()),
            other => return Err(format!("unknown `run` argument `{other}`")),
        }
    }
    let missing = |flag: &str| format!("`run` needs `{flag}`");
    options.duration = duration.ok_or_else(|| missing("--duration-ns"))?;
    options.warmup = warmup.ok_or_else(|| missing("--warmup-ns"))?;
    options.samples = samples.ok_or_else(|| missing("--samples"))?;
    if scenarios.is_empty() {
        return Err("`run` needs at least one `--scenario NAME`".to_owned());
    }
    Ok(RunRequest {
        scenarios,
        options,
        report: report.ok_or_else(|| missing("--report"))?,
    })
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("`{flag} {text}` is not a whole number"))
}

fn parse_plain(args: &[String]) -> Result<Plain, ParseError> {
    let mut plain = Plain::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => plain.bench = true,
            "--test" => plain.bench = false,
            "--list" => plain.list = true,
            "--exact" => plain.exact = true,
            "-q" | "--quiet" => plain.quiet = true,
            "--skip" => plain.skip.push(
                args.next()
                    .ok_or_else(|| ParseError::Usage("`--skip` needs a filter".to_owned()))?
                    .clone(),
            ),
            "-h" | "--help" => plain.help = true,
            flag if flag.starts_with(PROTOCOL_FLAG) => {
                return Err(ParseError::Usage(format!(
                    "`{flag}` must be the first argument"
                )));
            }
            flag if flag.starts_with("--skip=") => {
                plain
                    .skip
                    .push(flag.trim_start_matches("--skip=").to_owned());
            }
            flag if LIBTEST_VALUE_FLAGS.contains(&flag) => {
                args.next();
            }
            // The rest of libtest's flags (`--nocapture`, `--color=never`, ...) change nothing
            // here; cargo may pass them to every bench target.
            flag if flag.starts_with('-') => {}
            filter => plain.filters.push(filter.to_owned()),
        }
    }
    Ok(plain)
}

/// The built-in baselines, then `project`; a name used twice is an error naming it.
fn with_baselines(project: Vec<Scenario>) -> Result<Vec<Scenario>, String> {
    let mut all: Vec<Scenario> = builtin::scenarios()
        .into_iter()
        .filter(|scenario| scenario.group() == Group::Baseline)
        .collect();
    let baselines: HashSet<String> = all.iter().map(|s| s.name().to_owned()).collect();
    let mut seen = HashSet::new();
    for scenario in project {
        let name = scenario.name();
        if baselines.contains(name) {
            return Err(format!(
                "the project scenario `{name}` has the name of a built-in baseline scenario \
                 (`direct_call`, `boxed_dyn`, `channel_actor` are measured in every run); \
                 rename it"
            ));
        }
        if !seen.insert(name.to_owned()) {
            return Err(format!(
                "two project scenarios are named `{name}`; reports compare scenarios by name, \
                 so give each its own"
            ));
        }
        all.push(scenario);
    }
    Ok(all)
}

fn tool() -> Tool {
    Tool {
        name: "catga-bench".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

fn execute(invocation: Invocation, scenarios: &[Scenario]) -> Result<(), String> {
    match invocation {
        Invocation::List => {
            let listing = Listing {
                protocol: PROTOCOL_VERSION,
                catga_bench: env!("CARGO_PKG_VERSION").to_owned(),
                scenarios: scenarios.iter().map(ScenarioInfo::of).collect(),
            };
            print_stdout(&format!("{}\n", listing.to_json()));
            Ok(())
        }
        Invocation::Run(request) => {
            let selected = select_exact(scenarios, &request.scenarios)?;
            let report =
                run(&selected, &request.options, tool()).map_err(|error| error.to_string())?;
            report
                .save(&request.report)
                .map_err(|error| error.to_string())
        }
        Invocation::Profile(request) => {
            let selected = select_exact(scenarios, &request.scenarios)?;
            let profiles = crate::profile::run(&selected, &request.options)
                .map_err(|error| error.to_string())?;
            crate::profile::save(&profiles, &request.report)
        }
        Invocation::Count(name, ops) => {
            let selected = select_exact(scenarios, std::slice::from_ref(&name))?;
            crate::instructions::run_counted(&selected[0], ops)
        }
        Invocation::Plain(plain) => run_plain(&plain, scenarios),
    }
}

/// The scenarios named in `names`, in the order of `scenarios`; an unknown name is an error.
fn select_exact(scenarios: &[Scenario], names: &[String]) -> Result<Vec<Scenario>, String> {
    if let Some(unknown) = names
        .iter()
        .find(|name| !scenarios.iter().any(|s| s.name() == name.as_str()))
    {
        let known: Vec<&str> = scenarios.iter().map(Scenario::name).collect();
        return Err(format!(
            "this bench target has no scenario `{unknown}`; it has: {}",
            known.join(", ")
        ));
    }
    Ok(scenarios
        .iter()
        .filter(|scenario| names.iter().any(|name| name == scenario.name()))
        .cloned()
        .collect())
}

fn run_plain(plain: &Plain, scenarios: &[Scenario]) -> Result<(), String> {
    if plain.help {
        print_stdout(PLAIN_HELP);
        return Ok(());
    }
    let selected: Vec<Scenario> = scenarios
        .iter()
        .filter(|scenario| plain.selects(scenario.name()))
        .cloned()
        .collect();
    let filtered_out = scenarios.len() - selected.len();
    if plain.list {
        let lines: String = selected
            .iter()
            .map(|scenario| format!("{}: bench\n", scenario.name()))
            .collect();
        print_stdout(&lines);
        return Ok(());
    }
    if selected.is_empty() {
        // `cargo bench FILTER` passes FILTER to every bench target; most match nothing.
        eprint(&format!(
            "no scenario matches {:?}; the scenarios are: {}\n",
            plain.filters,
            scenarios
                .iter()
                .map(Scenario::name)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return Ok(());
    }
    if plain.bench {
        let options = RunOptions {
            duration: PLAIN_DURATION,
            warmup: PLAIN_WARMUP,
            quiet: plain.quiet,
            ..RunOptions::default()
        };
        let report = run(&selected, &options, tool()).map_err(|error| error.to_string())?;
        print_stdout(&render::report_human(&report));
        return Ok(());
    }
    // `cargo test --benches`: a few operations of each scenario, to check that it works.
    let options = RunOptions {
        duration: Duration::from_millis(1),
        warmup: Duration::ZERO,
        samples: 1,
        rate: None,
        quiet: true,
        batches: Default::default(),
    };
    run(&selected, &options, tool()).map_err(|error| error.to_string())?;
    let mut text = format!("\nrunning {} scenarios\n", selected.len());
    for scenario in &selected {
        text.push_str(&format!("test {} ... ok\n", scenario.name()));
    }
    text.push_str(&format!(
        "\ntest result: ok. {} passed; 0 failed; 0 ignored; 0 measured; {filtered_out} filtered out\n\n",
        selected.len()
    ));
    print_stdout(&text);
    Ok(())
}

/// Writes to stdout; a closed pipe is not worth a panic.
fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

fn eprint(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn fail(message: &str) -> ExitCode {
    eprint(&format!("error: {message}\n"));
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    fn plain(text: &str) -> Plain {
        match parse(&args(text)) {
            Ok(Invocation::Plain(plain)) => plain,
            other => panic!("expected a plain invocation, got {other:?}"),
        }
    }

    fn usage(text: &str) -> String {
        match parse(&args(text)) {
            Err(ParseError::Usage(message)) => message,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn a_run_request_round_trips_through_its_arguments() {
        let request = RunRequest {
            scenarios: vec!["direct_call".to_owned(), "create task".to_owned()],
            options: RunOptions {
                duration: Duration::from_micros(1_500_001),
                warmup: Duration::from_millis(250),
                samples: 7,
                rate: Some(0.1 + 0.2),
                quiet: true,
                batches: [("direct_call".to_owned(), 64), ("a=b".to_owned(), 1)]
                    .into_iter()
                    .collect(),
            },
            report: PathBuf::from("/tmp/a dir/report.json"),
        };
        let args: Vec<String> = request
            .to_args()
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect();
        assert_eq!(args[0], "--catga-protocol=3");
        let Ok(Invocation::Run(parsed)) = parse(&args) else {
            panic!("expected a run");
        };
        assert_eq!(parsed.scenarios, request.scenarios);
        assert_eq!(parsed.report, request.report);
        assert_eq!(parsed.options.duration, request.options.duration);
        assert_eq!(parsed.options.warmup, request.options.warmup);
        assert_eq!(parsed.options.samples, 7);
        assert_eq!(parsed.options.rate, Some(0.1 + 0.2), "the rate is exact");
        assert_eq!(parsed.options.batches, request.options.batches);
        assert!(parsed.options.quiet);

        let loud = RunRequest {
            options: RunOptions::default(),
            ..request
        };
        let args: Vec<String> = loud
            .to_args()
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect();
        let Ok(Invocation::Run(parsed)) = parse(&args) else {
            panic!("expected a run");
        };
        assert_eq!((parsed.options.rate, parsed.options.quiet), (None, false));
    }

    #[test]
    fn count_arguments_round_trip_and_bad_ones_say_what_to_write() {
        let args: Vec<String> = count_args("create_task", 512)
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect();
        let Ok(Invocation::Count(name, ops)) = parse(&args) else {
            panic!("expected a count");
        };
        assert_eq!((name.as_str(), ops), ("create_task", 512));
        assert!(usage("--catga-protocol=3 count --scenario a").contains("--ops N"));
        assert!(usage("--catga-protocol=3 count --scenario a --ops x").contains("whole number"));
    }

    #[test]
    fn list_is_the_protocol_list_command() {
        let args: Vec<String> = list_args()
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect();
        assert!(matches!(parse(&args), Ok(Invocation::List)));
        assert!(usage("--catga-protocol=3 list extra").contains("no arguments"));
    }

    #[test]
    fn another_protocol_version_is_refused_with_the_version_asked() {
        assert_eq!(
            parse(&args("--catga-protocol=1 list")).unwrap_err(),
            ParseError::Protocol {
                asked: "1".to_owned()
            }
        );
        assert!(usage("--catga-protocol list").contains("--catga-protocol=3"));
        assert!(usage("--bench --catga-protocol=3 list").contains("first argument"));
    }

    #[test]
    fn bad_protocol_arguments_say_what_is_wrong() {
        assert!(usage("--catga-protocol=3").contains("`list`, `run`, `count` or `profile`"));
        assert!(usage("--catga-protocol=3 measure").contains("unknown protocol command"));
        let base =
            "--catga-protocol=3 run --report r.json --duration-ns 10 --warmup-ns 1 --samples 2";
        assert!(usage(base).contains("--scenario"));
        assert!(usage(&format!("{base} --scenario")).contains("needs a value"));
        assert!(usage(&format!("{base} --scenario a --fast")).contains("unknown `run` argument"));
        assert!(
            usage("--catga-protocol=3 run --report r --duration-ns 1s --warmup-ns 1 --samples 2 --scenario a")
                .contains("whole number")
        );
        assert!(
            usage("--catga-protocol=3 run --duration-ns 1 --warmup-ns 1 --samples 2 --scenario a")
                .contains("--report")
        );
        assert!(usage(&format!("{base} --rate fast --scenario a")).contains("not a number"));
    }

    #[test]
    fn cargo_bench_arguments_are_read_like_libtest() {
        let parsed = plain("--bench create");
        assert!(parsed.bench && !parsed.list && !parsed.exact);
        assert_eq!(parsed.filters, ["create"]);
        assert!(!plain("").bench, "without `--bench` it is a test run");
        let parsed =
            plain("--bench --color never --format=terse --nocapture -Z unstable-options x");
        assert_eq!(parsed.filters, ["x"], "flags and their values are skipped");
        let parsed = plain("--bench --exact --skip=direct --skip boxed a b -q --list");
        assert!(parsed.exact && parsed.quiet && parsed.list);
        assert_eq!(parsed.filters, ["a", "b"]);
        assert_eq!(parsed.skip, ["direct", "boxed"]);
        assert!(usage("--bench --skip").contains("--skip"));
        assert!(plain("--help").help && plain("-h").help);
    }

    #[test]
    fn filters_select_by_substring_or_exact_name() {
        let parsed = plain("--bench task");
        assert!(parsed.selects("create_task") && !parsed.selects("direct_call"));
        assert!(plain("--bench").selects("direct_call"));
        let parsed = plain("--bench --exact task create_task");
        assert!(parsed.selects("create_task") && !parsed.selects("delete_task"));
        let parsed = plain("--bench _ --skip direct");
        assert!(!parsed.selects("direct_call") && parsed.selects("boxed_dyn"));
    }

    struct Nothing;
    impl crate::Workload for Nothing {
        async fn op(&self) -> catga::Result<()> {
            Ok(())
        }
    }

    fn project(name: &str) -> Scenario {
        Scenario::new(name, Group::Project, || async { Nothing })
    }

    #[test]
    fn baselines_come_first_and_names_must_be_unique() {
        let all = with_baselines(vec![project("create_task")]).unwrap();
        let names: Vec<&str> = all.iter().map(Scenario::name).collect();
        assert_eq!(
            names,
            ["direct_call", "boxed_dyn", "channel_actor", "create_task"]
        );
        let clash = with_baselines(vec![project("boxed_dyn")]).unwrap_err();
        assert!(clash.contains("`boxed_dyn`"), "{clash}");
        let twice = with_baselines(vec![project("a"), project("a")]).unwrap_err();
        assert!(twice.contains("`a`"), "{twice}");
    }

    #[test]
    fn a_run_selects_exact_names_and_refuses_unknown_ones() {
        let all = with_baselines(vec![project("create_task")]).unwrap();
        let names = ["create_task".to_owned(), "direct_call".to_owned()];
        let selected = select_exact(&all, &names).unwrap();
        let selected: Vec<&str> = selected.iter().map(Scenario::name).collect();
        assert_eq!(selected, ["direct_call", "create_task"], "listing order");
        let error = select_exact(&all, &["create".to_owned()]).unwrap_err();
        assert!(
            error.contains("`create`") && error.contains("create_task"),
            "{error}"
        );
    }

    #[test]
    fn a_listing_reads_back_and_a_refusal_has_no_scenarios() {
        let listing = Listing {
            protocol: PROTOCOL_VERSION,
            catga_bench: "0.1.0".to_owned(),
            scenarios: vec![ScenarioInfo::of(&project("create_task").concurrency(10))],
        };
        let back: Listing = serde_json::from_str(&listing.to_json()).unwrap();
        assert_eq!(back, listing);
        assert_eq!(back.scenarios[0].group, "project");
        assert_eq!(back.scenarios[0].concurrency, 10);
        let refusal: Listing =
            serde_json::from_str(r#"{"protocol":3,"catga_bench":"0.2.0"}"#).unwrap();
        assert!(refusal.scenarios.is_empty());
    }
}
