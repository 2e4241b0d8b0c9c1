//! `catga bench`: a short real run, the saved report, every output, and the exit codes of a
//! comparison: 0 nothing regressed, 1 something did, 2 the baseline cannot be used. Inside a
//! project whose catga.toml names a bench target: the errors found before building anything,
//! and `--builtin`. (Building and running a project's target is covered by the end-to-end
//! test of `catga new`, which generates one.)

use std::path::Path;

use serde_json::Value;

use crate::support::{catga, project, run, write};

/// Two cheap scenarios, measured briefly: enough for samples and a comparison.
const QUICK: &[&str] = &[
    "bench",
    "--scenario",
    "{direct_call,send_command}",
    "--duration",
    "300ms",
    "--warmup",
    "50ms",
    "--samples",
    "10",
    "--quiet",
];

fn bench(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let args: Vec<&str> = QUICK.iter().chain(extra).copied().collect();
    run(dir, &args)
}

fn load(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read the report"))
        .expect("the report is JSON")
}

fn save(path: &Path, report: &Value) {
    std::fs::write(
        path,
        serde_json::to_string_pretty(report).expect("serialize"),
    )
    .expect("write the report");
}

/// `report` as a run whose code (not the machine: the references, group `baseline`, are left
/// as they were) ran with latencies and CPU time times `latency` and throughput times
/// `throughput`, samples included.
fn faster(report: &Value, latency: f64, throughput: f64) -> Value {
    let mut report = report.clone();
    for scenario in report["scenarios"].as_array_mut().expect("scenarios") {
        if scenario["group"] == "baseline" {
            continue;
        }
        if let Some(cpu) = scenario["cpu_ns_per_op"].as_f64() {
            scenario["cpu_ns_per_op"] = (cpu * latency).into();
        }
        for key in ["p50", "p90", "p99", "p999", "mean", "min", "max"] {
            let value = scenario["latency_ns"][key].as_f64().expect("a latency");
            scenario["latency_ns"][key] = (value * latency).into();
        }
        let value = scenario["throughput_ops_s"].as_f64().expect("throughput");
        scenario["throughput_ops_s"] = (value * throughput).into();
        for sample in scenario["samples"].as_array_mut().expect("samples") {
            for key in ["p50_ns", "p99_ns"] {
                let value = sample[key].as_f64().expect("a sample latency");
                sample[key] = (value * latency).into();
            }
            if let Some(cpu) = sample["cpu_ns_per_op"].as_f64() {
                sample["cpu_ns_per_op"] = (cpu * latency).into();
            }
            let value = sample["throughput_ops_s"].as_f64().expect("throughput");
            sample["throughput_ops_s"] = (value * throughput).into();
        }
    }
    report
}

#[test]
fn a_run_saves_a_versioned_report_with_every_figure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("baseline.json");
    let (code, stdout, stderr) = bench(dir.path(), &["--save", "baseline.json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("direct_call") && stdout.contains("send_command"));
    assert!(stdout.contains("timer overhead"), "{stdout}");
    let report = load(&path);
    assert_eq!(report["version"], 2);
    assert_eq!(report["tool"]["name"], "catga");
    for key in ["cpu", "cores", "os", "rustc", "timestamp"] {
        assert!(!report["env"][key].is_null(), "env.{key}");
    }
    assert!(report["timer_overhead_ns"].as_f64().unwrap() > 0.0);
    let scenarios = report["scenarios"].as_array().unwrap();
    let names: Vec<&str> = scenarios
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["direct_call", "boxed_dyn", "channel_actor", "send_command"],
        "the references run whatever the glob selects"
    );
    for scenario in scenarios {
        for key in [
            "name",
            "group",
            "concurrency",
            "batch",
            "ops",
            "elapsed_ns",
            "throughput_ops_s",
            "latency_ns",
            "allocs_per_op",
            "bytes_per_op",
            "ratio_to_floor",
            "cpu_ns_per_op",
            "samples",
            "histogram",
        ] {
            assert!(!scenario[key].is_null(), "{key} in {scenario}");
        }
        for sample in scenario["samples"].as_array().unwrap() {
            assert!(sample["cpu_ns_per_op"].as_f64().unwrap() > 0.0, "{sample}");
            assert!(sample["wait_share"].as_f64().unwrap() >= 0.0, "{sample}");
        }
        assert_eq!(scenario["samples"].as_array().unwrap().len(), 10);
        assert!(scenario["histogram"].as_str().unwrap().starts_with("HISTF"));
    }
    let send = scenarios
        .iter()
        .find(|s| s["name"] == "send_command")
        .unwrap();
    assert_eq!(send["allocs_per_op"], 0.0);
    assert_eq!(send["group"], "runtime");
    #[cfg(unix)]
    {
        // The mode any new file gets here (the umask's), not a temporary file's 0600.
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(dir.path().join("reference"), "").unwrap();
        let mode = |name: &str| {
            std::fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("baseline.json"), mode("reference"));
    }
}

#[test]
fn comparing_with_a_much_faster_baseline_reports_regressions_and_exits_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = bench(dir.path(), &["--save", "run.json"]);
    assert_eq!(code, 0, "{stderr}");
    // Four times as fast: the test binaries measure in parallel on a shared machine, and one
    // run can be twice as slow as the other all through, which would hide a twofold change.
    let faster = faster(&load(&dir.path().join("run.json")), 0.25, 4.0);
    save(&dir.path().join("faster.json"), &faster);
    let (code, stdout, stderr) = bench(dir.path(), &["--compare", "faster.json"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stdout.contains("REGRESSED"), "{stdout}");
}

#[test]
fn comparing_with_a_much_slower_baseline_passes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = bench(dir.path(), &["--save", "run.json"]);
    assert_eq!(code, 0, "{stderr}");
    let slower = faster(&load(&dir.path().join("run.json")), 4.0, 0.25);
    save(&dir.path().join("slower.json"), &slower);
    let (code, stdout, stderr) = bench(
        dir.path(),
        &["--compare", "slower.json", "--format", "markdown"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains('|'), "a markdown table: {stdout}");
}

#[test]
fn an_unusable_baseline_exits_2_before_measuring() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = bench(dir.path(), &["--compare", "missing.json"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("missing.json") && stderr.contains("--save"),
        "{stderr}"
    );

    std::fs::write(dir.path().join("garbage.json"), "{ not json").unwrap();
    let (code, _, stderr) = bench(dir.path(), &["--compare", "garbage.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a catga bench report"), "{stderr}");

    std::fs::write(dir.path().join("v9.json"), r#"{ "version": 9 }"#).unwrap();
    let (code, _, stderr) = bench(dir.path(), &["--compare", "v9.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("version 9"), "{stderr}");
}

#[test]
fn a_directory_or_a_damaged_baseline_exits_2_before_measuring() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("reports")).unwrap();
    let (code, stdout, stderr) = bench(dir.path(), &["--compare", "reports"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "nothing measured: {stdout}");
    assert!(
        stderr.contains("is a directory, not a report") && !stderr.contains("--save reports"),
        "{stderr}"
    );

    let (code, _, stderr) = bench(dir.path(), &["--save", "run.json"]);
    assert_eq!(code, 0, "{stderr}");
    let mut damaged = load(&dir.path().join("run.json"));
    damaged["scenarios"][3]["histogram"] = "HISTFAAAA-not-a-histogram".into();
    save(&dir.path().join("damaged.json"), &damaged);
    let (code, stdout, stderr) = bench(
        dir.path(),
        &["--compare", "damaged.json", "--save", "x.json"],
    );
    assert_eq!(code, 2);
    assert!(
        stdout.is_empty() && !dir.path().join("x.json").exists(),
        "nothing measured"
    );
    assert!(stderr.contains("scenario `send_command`"), "{stderr}");

    let mut empty = load(&dir.path().join("run.json"));
    for scenario in empty["scenarios"].as_array_mut().unwrap() {
        scenario["samples"] = Value::Array(Vec::new());
    }
    save(&dir.path().join("empty.json"), &empty);
    let (code, _, stderr) = bench(dir.path(), &["--compare", "empty.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no samples for direct_call"), "{stderr}");
}

#[test]
fn outputs_that_cannot_be_written_exit_2_before_measuring() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("a_file"), "").unwrap();
    for (flag, path, expected) in [
        ("--save", ".", "is a directory"),
        ("--plot", "missing/latency.svg", "does not exist"),
        ("--hgrm", "a_file", "is a file, not a directory"),
        ("--profile", "a_file/profiles", "is a file, not a directory"),
    ] {
        // `--save` to a good path too: it is written only after measuring.
        let good = if flag == "--save" { "--plot" } else { "--save" };
        let (code, stdout, stderr) = bench(dir.path(), &[flag, path, good, "out.svg.json"]);
        assert_eq!(code, 2, "{flag} {path}: {stderr}");
        assert!(stdout.is_empty(), "{flag} {path}: {stdout}");
        assert!(
            stderr.contains(flag) && stderr.contains(expected),
            "{flag} {path}: {stderr}"
        );
        assert!(
            !dir.path().join("out.svg.json").exists(),
            "nothing measured"
        );
    }
}

#[test]
fn instructions_without_valgrind_exit_2_before_measuring_saying_what_to_install() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args: Vec<&str> = QUICK
        .iter()
        .copied()
        .chain(["--instructions", "--save", "r.json"])
        .collect();
    let output = catga(dir.path(), &args)
        .env("CATGA_VALGRIND", dir.path().join("no-valgrind-here"))
        .output()
        .expect("run catga");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("install valgrind") && stderr.contains("--instructions"),
        "{stderr}"
    );
    assert!(!dir.path().join("r.json").exists(), "nothing measured");
}

#[test]
fn instructions_are_counted_under_callgrind_and_decide_the_comparison() {
    if std::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: valgrind is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let counted = ["--instructions"];
    let (code, _, stderr) = bench(
        dir.path(),
        &[&counted[..], &["--save", "run.json"]].concat(),
    );
    assert_eq!(code, 0, "{stderr}");
    let report = load(&dir.path().join("run.json"));
    for scenario in report["scenarios"].as_array().unwrap() {
        let count = scenario["instructions_per_op"].as_f64().unwrap_or(0.0);
        assert!(count > 1.0, "{}: {count}", scenario["name"]);
    }
    // The baseline's `send_command` counted 20% fewer instructions: a regression decided on
    // instructions, with no second measurement needed.
    let mut fewer = report.clone();
    let send = &mut fewer["scenarios"][3];
    assert_eq!(send["name"], "send_command");
    let count = send["instructions_per_op"].as_f64().unwrap();
    send["instructions_per_op"] = (count / 1.2).into();
    save(&dir.path().join("fewer.json"), &fewer);
    let (code, stdout, stderr) = bench(
        dir.path(),
        &[
            &counted[..],
            &["--compare", "fewer.json", "--format", "json"],
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let output: Value = serde_json::from_str(&stdout).unwrap();
    let regressed: Vec<(String, String)> = output["comparison"]["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["metrics"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["verdict"] == "regressed")
                .map(move |m| {
                    (
                        s["name"].as_str().unwrap().to_owned(),
                        format!("{} by {}", m["metric"], m["decided_by"]),
                    )
                })
        })
        .collect();
    assert_eq!(
        regressed,
        [(
            "send_command".to_owned(),
            "\"instructions\" by \"instructions\"".to_owned()
        )]
    );
}

#[test]
fn compare_rev_outside_a_project_or_with_compare_exits_2_saying_what_to_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) = bench(dir.path(), &["--compare-rev", "HEAD~1"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("`--compare-rev` builds another revision of a project's bench target")
            && stderr.contains("--compare BASELINE"),
        "{stderr}"
    );
    let (code, _, stderr) = bench(
        dir.path(),
        &["--compare-rev", "HEAD~1", "--compare", "b.json"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}

#[test]
fn compare_rev_of_a_revision_that_is_not_there_exits_2_before_building() {
    // The project names a bench target Cargo.toml lacks: building it would fail, but the
    // revision is checked first.
    let project = project_without_the_target();
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(project.path())
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "--quiet"]);
    git(&[
        "-c",
        "user.email=b@example.com",
        "-c",
        "user.name=b",
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "one",
    ]);
    let (code, _, stderr) = run(
        project.path(),
        &["bench", "--compare-rev", "no-such-branch"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("`no-such-branch` is not a commit"),
        "{stderr}"
    );
}

#[test]
fn a_baseline_sharing_no_scenario_exits_2_and_names_both_sides() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = bench(dir.path(), &["--save", "run.json"]);
    assert_eq!(code, 0, "{stderr}");
    let mut other = load(&dir.path().join("run.json"));
    for scenario in other["scenarios"].as_array_mut().unwrap() {
        let renamed = format!("old_{}", scenario["name"].as_str().unwrap());
        scenario["name"] = renamed.into();
    }
    save(&dir.path().join("other.json"), &other);
    let (code, _, stderr) = bench(dir.path(), &["--compare", "other.json"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("old_send_command"), "{stderr}");
}

#[test]
fn bad_arguments_exit_2_with_what_to_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = run(dir.path(), &["bench", "--scenario", "nothing_*"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("send_command"),
        "lists the scenarios: {stderr}"
    );
    let (code, _, stderr) = run(dir.path(), &["bench", "--duration", "5"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no unit"), "{stderr}");
    let (code, _, stderr) = run(dir.path(), &["bench", "--threshold=-5%", "--list"]);
    assert_eq!(code, 0, "`--list` needs no threshold: {stderr}");
    let (code, _, stderr) = bench(dir.path(), &["--threshold=-5%"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("threshold"), "{stderr}");
    let (code, _, stderr) = bench(dir.path(), &["--rate=0"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("`--rate` must be a positive number"),
        "{stderr}"
    );
}

#[test]
fn hgrm_files_plot_and_json_are_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) = bench(
        dir.path(),
        &[
            "--hgrm",
            "hgrm",
            "--plot",
            "latency.svg",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(report["scenarios"].as_array().unwrap().len(), 4);
    let hgrm = std::fs::read_to_string(dir.path().join("hgrm/send_command.hgrm")).unwrap();
    assert!(hgrm.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
    let svg = std::fs::read_to_string(dir.path().join("latency.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("send_command"));
}

#[test]
fn profiles_name_each_scenarios_frames_and_a_regression_gets_a_differential_flamegraph() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = bench(dir.path(), &["--profile", "prof", "--save", "base.json"]);
    assert_eq!(code, 0, "{stderr}");
    let prof = dir.path().join("prof");
    for scenario in ["direct_call", "boxed_dyn", "channel_actor", "send_command"] {
        for file in [".svg", ".folded", ".alloc.txt", ".alloc.folded"] {
            let path = prof.join(format!("{scenario}{file}"));
            assert!(path.is_file(), "{}", path.display());
        }
    }
    // The scenario's own code, by name, in its stacks and its flamegraph.
    let folded = std::fs::read_to_string(prof.join("send_command.folded")).unwrap();
    assert!(
        folded.contains("catga_bench::builtin::SendCommand")
            && folded.contains("catga::mediator::"),
        "{folded}"
    );
    let svg = std::fs::read_to_string(prof.join("send_command.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("SendCommand"));
    // `boxed_dyn` allocates its boxed future: one allocation per operation, at its handler
    // (`<..BoxedHandler as Handler<..>>::handle` with full debug info; with line tables only,
    // as CI builds, the inlined method is named `handle` alone).
    let sites = std::fs::read_to_string(prof.join("boxed_dyn.alloc.txt")).unwrap();
    let at_the_handler = sites.lines().any(|line| {
        line.split_once('%').is_some_and(|(_, site)| {
            let site = site.trim();
            site == "handle" || site.contains("BoxedHandler>::handle")
        })
    });
    assert!(
        sites.contains("1.00 allocations") && at_the_handler,
        "{sites}"
    );
    let base = load(&dir.path().join("base.json"));
    assert_eq!(
        base["profiles"], "prof",
        "the report says where its profiles are"
    );

    // Against a baseline twice as fast, `send_command` regresses: its differential flamegraph
    // is drawn against the baseline's stacks.
    save(&dir.path().join("fast.json"), &faster(&base, 0.5, 2.0));
    let (code, _, stderr) = bench(
        dir.path(),
        &["--compare", "fast.json", "--profile", "now", "--no-confirm"],
    );
    assert_eq!(code, 1, "{stderr}");
    let diff = std::fs::read_to_string(dir.path().join("now/send_command.diff.svg")).unwrap();
    assert!(diff.contains("SendCommand"));
    assert!(
        !dir.path().join("now/direct_call.diff.svg").exists(),
        "only regressed scenarios"
    );

    // Without the baseline's stacks, the comparison still stands, and says what is missing.
    std::fs::remove_file(prof.join("send_command.folded")).unwrap();
    let (code, _, stderr) = bench(
        dir.path(),
        &[
            "--compare",
            "fast.json",
            "--profile",
            "later",
            "--no-confirm",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("warning: no differential flamegraph for `send_command`")
            && stderr.contains("send_command.folded"),
        "{stderr}"
    );
    assert!(dir.path().join("later/send_command.svg").is_file());
    assert!(!dir.path().join("later/send_command.diff.svg").exists());
}

#[test]
fn list_names_every_scenario_with_its_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, _) = run(dir.path(), &["bench", "--list"]);
    assert_eq!(code, 0);
    for name in [
        "direct_call",
        "boxed_dyn",
        "channel_actor",
        "send_command",
        "saga_3_steps_sqlite",
    ] {
        assert!(stdout.contains(name), "{name}");
    }
    assert!(stdout.contains("baseline") && stdout.contains("runtime"));
}

/// A project whose catga.toml names the bench target `scenarios`, which Cargo.toml lacks: it
/// has the bench target `load` only.
fn project_without_the_target() -> tempfile::TempDir {
    project(&[
        ("src/lib.rs", "pub fn answer() -> u32 { 42 }\n"),
        ("benches/load.rs", "fn main() {}\n"),
        ("catga.toml", "[bench]\ntarget = \"scenarios\"\n"),
    ])
}

#[test]
fn a_bench_target_missing_from_cargo_toml_exits_2_naming_the_file_and_the_targets() {
    let dir = project_without_the_target();
    let (code, stdout, stderr) = run(dir.path(), &["bench", "--quiet"]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("catga.toml") && stderr.contains("`scenarios`"),
        "names the file and the target: {stderr}"
    );
    assert!(
        stderr.contains("its bench targets are: load"),
        "lists the bench targets Cargo.toml has: {stderr}"
    );
    assert!(stderr.contains("[[bench]]"), "says what to add: {stderr}");
    let (code, _, stderr) = run(dir.path(), &["bench", "--list"]);
    assert_eq!(code, 2, "`--list` needs the target too: {stderr}");
}

#[test]
fn builtin_runs_catgas_own_suite_inside_a_project() {
    let dir = project_without_the_target();
    let (code, stdout, stderr) = run(dir.path(), &["bench", "--builtin", "--list"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("direct_call") && stdout.contains("send_command"),
        "{stdout}"
    );
    let (code, stdout, stderr) = run(
        dir.path(),
        &[
            "bench",
            "--builtin",
            "--scenario",
            "direct_call",
            "--duration",
            "20ms",
            "--warmup",
            "5ms",
            "--samples",
            "2",
            "--quiet",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("direct_call"), "{stdout}");
}

#[test]
fn a_bad_bench_table_or_a_catga_toml_without_cargo_toml_exits_2() {
    let dir = project_without_the_target();
    write(
        dir.path(),
        "catga.toml",
        "[bench]\ntarget = \"scenarios\"\ntargets = [\"load\"]\n",
    );
    let (code, _, stderr) = run(dir.path(), &["bench", "--list"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("catga.toml:3:1") && stderr.contains("unknown field `targets`"),
        "{stderr}"
    );

    let bare = tempfile::tempdir().expect("temp dir");
    write(
        bare.path(),
        "catga.toml",
        "[bench]\ntarget = \"scenarios\"\n",
    );
    let (code, _, stderr) = run(bare.path(), &["bench", "--list"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("cargo metadata") && stderr.contains("next to the project's Cargo.toml"),
        "{stderr}"
    );
}
