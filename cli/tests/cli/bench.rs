//! `catga bench`: a short real run, the saved report, every output, and the exit codes of a
//! comparison: 0 nothing regressed, 1 something did, 2 the baseline cannot be used. Inside a
//! project whose catga.toml names a bench target: the errors found before building anything,
//! and `--builtin`. (Building and running a project's target is covered by the end-to-end
//! test of `catga new`, which generates one.)

use std::path::Path;

use serde_json::Value;

use crate::support::{project, run, write};

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

/// `report` as a run that was `factor` times as fast (latencies times `1/factor`, throughput
/// times `factor`), samples included.
fn faster(report: &Value, latency: f64, throughput: f64) -> Value {
    let mut report = report.clone();
    for scenario in report["scenarios"].as_array_mut().expect("scenarios") {
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
    assert_eq!(report["version"], 1);
    assert_eq!(report["tool"]["name"], "catga");
    for key in ["cpu", "cores", "os", "rustc", "timestamp"] {
        assert!(!report["env"][key].is_null(), "env.{key}");
    }
    assert!(report["timer_overhead_ns"].as_f64().unwrap() > 0.0);
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 2);
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
            "samples",
            "histogram",
        ] {
            assert!(!scenario[key].is_null(), "{key} in {scenario}");
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
    assert_eq!(report["scenarios"].as_array().unwrap().len(), 2);
    let hgrm = std::fs::read_to_string(dir.path().join("hgrm/send_command.hgrm")).unwrap();
    assert!(hgrm.starts_with("       Value     Percentile TotalCount 1/(1-Percentile)"));
    let svg = std::fs::read_to_string(dir.path().join("latency.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("send_command"));
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
