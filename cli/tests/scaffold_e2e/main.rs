//! End to end, off this machine: every crate a user installs or depends on is packaged with
//! `cargo package`, and the packages (beside the third-party crates at this workspace's locked
//! versions, from `cargo vendor`) become a local registry that replaces crates.io, offline
//! (`local_registry`). A project made by `catga new` with its default, published-version
//! dependencies is then built, tested, linted, run and benched against that registry alone, and
//! its generated CI workflow runs step by step as GitHub would run it (`workflow`): `cargo
//! install catga-cli` from the registry, `catga lint --format github`, `cargo test`, `catga
//! bench --compare`. Then it grows with `catga add`, and still tests, lints, formats and passes
//! clippy clean. A second project, `catga new --transport nats --http`, tests, lints and formats
//! clean, and runs against a real nats-server while it is driven over NATS and over HTTP and
//! its `/metrics` and health endpoints are read.
//!
//! Where the time goes, on two cores: compiling. Each project is built three ways (debug for its
//! tests, checked for clippy, release for its bench target) and the workflow's install step
//! builds `catga-cli` in release. To keep that affordable, every build here shares one target
//! directory, `target/scaffold-e2e/target`, kept between runs (so only the first run builds the
//! third-party crates), and runs with [`BUILD_ENV`]: release without optimisation, nothing with
//! debug info. The vendored third-party crates are kept too, until `Cargo.lock` changes. Every
//! command's duration goes to stderr (`[e2e]` lines), and each test's total. Skip these tests
//! with `cargo test --workspace -- --skip e2e_`.
//!
//! Packaging and vendoring read crates.io (through the normal cargo cache); the generated
//! project's builds and the workflow run offline.

mod workflow;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Everything this test writes, kept between runs for the build cache.
fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/scaffold-e2e")
}

/// The target directory every build of a generated project (and of the installed CLI) shares.
fn target_dir() -> PathBuf {
    e2e_dir().join("target")
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the workspace root")
}

/// The crates a user installs or depends on: what `cargo package` must produce.
const PUBLISHED: [&str; 11] = [
    "catga",
    "catga-macros",
    "catga-lints",
    "catga-server",
    "catga-bench",
    "catga-scaffold",
    "catga-nats",
    "catga-sqlite",
    "catga-ops",
    "catga-axum",
    "catga-cli",
];

/// Cargo settings for every build of a generated project and of the installed CLI. What these
/// tests prove is that the packages resolve, compile, pass their tests and lints and run, not how
/// fast the code is; optimisation and debug info are most of the compile and link time on two
/// cores, so the release profile (which `cargo install` uses, and the bench profile inherits)
/// does not optimise and compiles in as many units as a debug build, and the debug profile
/// (tests, `cargo run`) writes no debug info. Release has none already. The profiles' own
/// code paths stay the ones a user takes; only the numbers the benchmarks measure are slower,
/// and these tests judge no verdict about speed.
const BUILD_ENV: [(&str, &str); 3] = [
    ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256"),
    ("CARGO_PROFILE_DEV_DEBUG", "false"),
];

/// A hang guard for each command these tests run, not a speed limit: cold, on two busy cores,
/// the longest (the install's release build) takes a few minutes.
const COMMAND_LIMIT: Duration = Duration::from_secs(20 * 60);

/// `command`'s output, with stdin closed; killed and the test failed if it runs past
/// [`COMMAND_LIMIT`].
fn output_within_limit(command: Command, what: &str) -> Output {
    output_within(command, what, COMMAND_LIMIT)
}

/// `command`'s output, or a panic once it has run for `limit`. The command stays in the test's
/// process group, so that Ctrl-C on `cargo test` still stops the builds it runs; the guard kills
/// only the command itself.
fn output_within(mut command: Command, what: &str, limit: Duration) -> Output {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run `{what}`: {error}"));
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    match receiver.recv_timeout(limit) {
        Ok(output) => output.unwrap_or_else(|error| panic!("`{what}`: {error}")),
        Err(_) => {
            // Not waiting for the output: processes the command started may still hold the
            // pipes open.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("`{what}` was still running after {limit:?} (hang guard); killed it");
        }
    }
}

#[test]
#[should_panic(expected = "`sleep 30` was still running after 200ms (hang guard)")]
fn hang_guard_fails_the_test_when_a_command_runs_past_its_limit() {
    let mut sleep = Command::new("sleep");
    sleep.arg("30");
    output_within(sleep, "sleep 30", Duration::from_millis(200));
}

/// A cargo home whose configuration replaces crates.io with the local registry, offline.
#[derive(Debug)]
struct LocalRegistry {
    cargo_home: PathBuf,
}

/// The local registry, built once per run of this test binary.
fn local_registry() -> &'static LocalRegistry {
    static REGISTRY: OnceLock<LocalRegistry> = OnceLock::new();
    REGISTRY.get_or_init(build_local_registry)
}

fn build_local_registry() -> LocalRegistry {
    let started = Instant::now();
    let registry = build_local_registry_uncounted();
    phase(started, "local registry (cargo vendor, cargo package)");
    registry
}

fn build_local_registry_uncounted() -> LocalRegistry {
    let root = workspace_root();
    let dir = e2e_dir().join("registry");
    let crates = dir.join("crates");
    let cargo_home = dir.join("cargo-home");
    let version = env!("CARGO_PKG_VERSION");

    // The third-party crates, at the versions this workspace locks (the packaged crates'
    // lockfiles and the generated project resolve to those). Kept until the lockfile changes:
    // `cargo vendor` copies hundreds of crates, the same ones every run.
    let cargo = cargo_program();
    let lock = std::fs::read(root.join("Cargo.lock")).expect("read Cargo.lock");
    let lock_sha256 = format!("{:x}", Sha256::digest(&lock));
    let stamp = dir.join("vendored-from-lock.sha256");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(lock_sha256.as_str()) {
        for name in PUBLISHED {
            let unpacked = crates.join(format!("{name}-{version}"));
            if unpacked.exists() {
                std::fs::remove_dir_all(&unpacked).expect("remove a previous run's package");
            }
        }
    } else {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove the previous local registry");
        }
        let started = Instant::now();
        let mut vendor = Command::new(&cargo);
        vendor
            .current_dir(&root)
            .args(["vendor", "--locked", "--versioned-dirs", "--quiet"])
            .arg(&crates);
        succeed(output_within_limit(vendor, "cargo vendor"), "cargo vendor");
        // Written last: an interrupted vendoring is redone.
        std::fs::write(&stamp, &lock_sha256).expect("write the vendoring stamp");
        phase(started, "cargo vendor");
    }
    std::fs::create_dir_all(&cargo_home).expect("create the registry's cargo home");

    let started = Instant::now();
    let package_target = e2e_dir().join("package");
    let mut package = Command::new(&cargo);
    package
        .current_dir(&root)
        .args(["package", "--no-verify", "--allow-dirty", "--quiet"])
        .arg("--target-dir")
        .arg(&package_target);
    for name in PUBLISHED {
        package.args(["--package", name]);
    }
    succeed(
        output_within_limit(package, "cargo package"),
        "cargo package",
    );
    phase(started, "cargo package");

    let mut checksums = serde_json::json!({});
    for name in PUBLISHED {
        let archive = package_target
            .join("package")
            .join(format!("{name}-{version}.crate"));
        let bytes = std::fs::read(&archive)
            .unwrap_or_else(|error| panic!("read {}: {error}", archive.display()));
        let mut tar = Command::new("tar");
        tar.current_dir(&crates).arg("-xzf").arg(&archive);
        let what = format!("tar -xzf {}", archive.display());
        succeed(output_within_limit(tar, &what), &what);
        // `license = "MIT OR Apache-2.0"` names the licenses; the texts travel in each package
        // (symlinks to the workspace root's files, which `cargo package` follows).
        for (license, opening) in [
            ("LICENSE-MIT", "MIT License"),
            ("LICENSE-APACHE", "Apache License"),
        ] {
            let text = std::fs::read_to_string(crates.join(format!("{name}-{version}/{license}")))
                .unwrap_or_else(|error| panic!("{name}'s package has no {license}: {error}"));
            assert!(
                text.trim_start().starts_with(opening),
                "{name}'s {license}:\n{text}"
            );
        }
        // A directory source checks each package against this checksum (the one the
        // lockfiles `cargo package` wrote record); "files" lists no file, so none is
        // re-hashed.
        let sha256 = format!("{:x}", Sha256::digest(&bytes));
        checksums[name] = serde_json::Value::String(sha256.clone());
        let checksum = serde_json::json!({ "files": {}, "package": sha256 });
        std::fs::write(
            crates
                .join(format!("{name}-{version}"))
                .join(".cargo-checksum.json"),
            checksum.to_string(),
        )
        .expect("write .cargo-checksum.json");
    }

    let directory = toml_string(&crates);
    std::fs::write(
        cargo_home.join("config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"catga-e2e\"\n\n\
             [source.catga-e2e]\ndirectory = {directory}\n\n\
             [net]\noffline = true\n"
        ),
    )
    .expect("write the registry's cargo config");

    // The registry's crates are "published": cargo never re-fingerprints a registry crate's
    // sources, so artifacts of a previous run's catga crates (same name, same version) would
    // be reused however their code changed since. Dropping the fingerprints of the packages
    // whose archive changed since the last run rebuilds them (and what depends on them).
    let stamps = e2e_dir().join("package-checksums.json");
    let previous: serde_json::Value = std::fs::read_to_string(&stamps)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    let changed: Vec<&str> = PUBLISHED
        .iter()
        .copied()
        .filter(|name| previous.get(name) != checksums.get(name))
        .collect();
    for profile in ["debug", "release"] {
        let fingerprints = target_dir().join(profile).join(".fingerprint");
        let Ok(entries) = std::fs::read_dir(&fingerprints) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if changed.iter().any(|package| {
                name.strip_prefix(package)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|hash| !hash.contains('-'))
            }) {
                std::fs::remove_dir_all(entry.path()).expect("remove a stale fingerprint");
            }
        }
    }
    std::fs::write(&stamps, checksums.to_string()).expect("write the packages' checksums");
    LocalRegistry { cargo_home }
}

fn toml_string(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    format!("\"{}\"", text.replace('"', "\\\""))
}

fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `program ARGS` in `dir`, against the local registry, into the shared target directory.
/// Reports how long it took (`phase`): where the test's time goes, in every run's log.
fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    let cargo_home = &local_registry().cargo_home;
    let started = Instant::now();
    let mut command = Command::new(program);
    command
        .current_dir(dir)
        .args(args)
        .env("CARGO_HOME", cargo_home)
        .env("CARGO_TARGET_DIR", target_dir())
        .envs(BUILD_ENV)
        .env("NO_COLOR", "1")
        .env("CARGO_TERM_COLOR", "never");
    let name = Path::new(program)
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    let what = format!("{name} {}", args.join(" "));
    let output = output_within_limit(command, &what);
    phase(started, &what);
    output
}

/// cargo's stdout, after asserting it exited 0 and printed no warning: a generated project
/// builds without one.
fn cargo(dir: &Path, args: &[&str]) -> String {
    let output = run(dir, &cargo_program(), args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let what = format!("cargo {}", args.join(" "));
    let stdout = succeed(output, &what);
    assert!(!stderr.contains("warning"), "`{what}` warned:\n{stderr}");
    stdout
}

fn catga(dir: &Path, args: &[&str]) -> String {
    succeed(
        run(dir, env!("CARGO_BIN_EXE_catga"), args),
        &format!("catga {}", args.join(" ")),
    )
}

/// The command's stdout, after asserting it exited 0.
fn succeed(output: Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "`{what}` failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}

/// Writes `[e2e] DURATION  what` for a phase that began at `started`.
fn phase(started: Instant, what: &str) {
    report(started.elapsed(), what);
}

/// Writes `[e2e] DURATION  what` straight to stderr: the test harness captures `eprintln!` of
/// passing tests, and the durations are for the CI log of every run, passed or not.
fn report(elapsed: Duration, what: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "[e2e] {elapsed:>6.1?}  {what}");
}

/// Prints how long the test ran when it ends, passed or failed.
#[derive(Debug)]
struct TotalTime {
    test: &'static str,
    started: Instant,
}

impl TotalTime {
    fn start(test: &'static str) -> TotalTime {
        TotalTime {
            test,
            started: Instant::now(),
        }
    }
}

impl Drop for TotalTime {
    fn drop(&mut self) {
        phase(self.started, &format!("total: {}", self.test));
    }
}

fn assert_lint_clean(project: &Path) {
    let report: serde_json::Value =
        serde_json::from_str(&catga(project, &["lint", "--no-cache", "--format", "json"]))
            .expect("catga lint --format json prints JSON");
    assert_eq!(
        report["diagnostics"],
        serde_json::json!([]),
        "the generated project has diagnostics"
    );
}

/// The generated workflow's steps, run in order in `project` with a scratch `$HOME` (where the
/// install step puts `catga`), against the local registry.
fn run_workflow(project: &Path) -> Vec<workflow::StepRun> {
    let text = std::fs::read_to_string(project.join(".github/workflows/ci.yml"))
        .expect("the generated workflow");
    let workflow = workflow::Workflow::parse(&text).expect("the workflow parses");
    let home = tempfile::tempdir().expect("a scratch home");
    let real_rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rustup")));
    let mut env = vec![
        (
            "CARGO_HOME".to_string(),
            local_registry().cargo_home.clone().into_os_string(),
        ),
        (
            "CARGO_TARGET_DIR".to_string(),
            target_dir().into_os_string(),
        ),
        ("HOME".to_string(), home.path().as_os_str().to_owned()),
    ];
    env.extend(BUILD_ENV.map(|(key, value)| (key.to_string(), value.into())));
    if let Some(rustup_home) = real_rustup_home.filter(|dir| dir.is_dir()) {
        env.push(("RUSTUP_HOME".to_string(), rustup_home.into_os_string()));
    }
    let runs = workflow.run(project, &env);
    for step in &runs {
        report(step.elapsed, &format!("workflow step `{}`", step.name));
    }
    runs
}

#[test]
fn e2e_packaged_crates_build_a_new_project_whose_ci_workflow_passes_then_it_grows_with_add() {
    let _total = TotalTime::start("e2e_packaged_crates_build_a_new_project_..._grows_with_add");
    let dir = tempfile::tempdir().expect("temp dir");
    catga(dir.path(), &["new", "demo"]);
    let project = dir.path().join("demo");
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).expect("the manifest");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        manifest.contains(&format!("catga = \"{version}\"")),
        "{manifest}"
    );

    let tests = cargo(&project, &["test"]);
    assert!(tests.contains("test result: ok. 6 passed"), "{tests}");
    assert_lint_clean(&project);

    let printed = cargo(&project, &["run", "--quiet"]);
    assert_eq!(
        printed,
        "CreateTask    -> created task #1\n\
         GetTask       -> \"Read the catga guide\", done: false\n\
         TaskCompleted -> \"Read the catga guide\", done: true\n"
    );

    // The committed baseline the workflow compares with (docs/quickstart.md, step 7).
    catga(
        &project,
        &[
            "bench",
            "--duration",
            "1s",
            "--quiet",
            "--save",
            "bench-baseline.json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("bench-baseline.json"))
            .expect("the report was written"),
    )
    .expect("the report is JSON");
    let scenarios: Vec<(&str, &str)> = report["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name"),
                s["group"].as_str().expect("group"),
            )
        })
        .collect();
    for expected in [
        ("direct_call", "baseline"),
        ("create_task", "project"),
        ("get_task", "project"),
        ("publish_task_completed", "project"),
    ] {
        assert!(
            scenarios.contains(&expected),
            "{expected:?} not in {scenarios:?}"
        );
    }

    let steps = run_workflow(&project);
    // Failures first, with their output: after one, only `if: always()` steps run.
    for step in &steps {
        // The comparison may find a regression on a loaded machine (exit 1): a verdict about
        // speed, which this test does not judge. Every other outcome must be success.
        let verdict_only = step.name == "catga bench" && step.code == Some(1);
        assert!(
            step.code == Some(0) || verdict_only,
            "workflow step `{}` failed ({:?}):\n{}",
            step.name,
            step.code,
            step.output
        );
    }
    let names: Vec<&str> = steps.iter().map(|step| step.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Install catga",
            "catga lint",
            "cargo test",
            "catga bench",
            "Bench summary"
        ]
    );
    let bench_md = std::fs::read_to_string(project.join("bench.md")).expect("bench.md");
    assert!(bench_md.contains("create_task"), "{bench_md}");
    let summary = &steps.last().expect("a summary step").summary;
    assert!(summary.contains("create_task"), "{summary}");

    for args in [
        &["add", "command", "ShipOrder", "--response", "String"][..],
        &["add", "query", "GetShipment", "--response", "String"],
        &["add", "event", "OrderShipped"],
        &["add", "saga", "Fulfilment"],
    ] {
        catga(&project, args);
    }
    let tests = cargo(&project, &["test"]);
    for test in [
        "ship_order_is_handled ... ok",
        "get_shipment_is_handled ... ok",
        "order_shipped_is_handled ... ok",
        "start_fulfilment_runs_every_step ... ok",
        "compensations_undo_every_step ... ok",
        "publishing_task_completed_marks_the_task_done ... ok",
    ] {
        assert!(tests.contains(test), "`{test}` did not pass:\n{tests}");
    }
    assert!(!tests.contains("FAILED"), "{tests}");
    assert_lint_clean(&project);
    cargo(&project, &["fmt", "--check"]);
    cargo(
        &project,
        &["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"],
    );
}

/// `catga new --transport nats --http`: the project tests (its transport test over the
/// in-memory transport, its HTTP test over a local port), lints and formats clean, and, run
/// against a real nats-server, answers a `CreateTask` sent over the broker, serves its metrics
/// and health over HTTP (ready once connected, the handled message counted), and answers a
/// command and a query over HTTP. One project for both flags: each build of it is minutes on
/// two cores, and `--http` alone differs only by its `main.rs` (which the unit tests parse).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_new_nats_http_project_tests_lints_and_serves_over_a_real_broker_and_http() {
    use catga::transport::{Envelope, ReplyBody, Transport};
    use catga_nats::testing::NatsServer;
    use catga_nats::{NatsOptions, NatsTransport};
    use tokio::io::AsyncBufReadExt;

    let _total = TotalTime::start("e2e_new_nats_http_project_..._over_a_real_broker_and_http");
    let dir = tempfile::tempdir().expect("temp dir");
    catga(
        dir.path(),
        &["new", "relay", "--transport", "nats", "--http", "--no-git"],
    );
    let project = dir.path().join("relay");
    let tests = cargo(&project, &["test"]);
    for test in [
        "other_services_create_read_and_complete_tasks ... ok",
        "a_task_created_over_http_can_be_read_back ... ok",
    ] {
        assert!(tests.contains(test), "`{test}` did not pass:\n{tests}");
    }
    assert_lint_clean(&project);
    cargo(&project, &["fmt", "--check"]);
    cargo(
        &project,
        &["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"],
    );

    let Some(server) = NatsServer::start_or_skip("e2e_new_nats_http_project_..._real_broker")
        .await
        .expect("nats-server")
    else {
        return;
    };
    let binary = target_dir().join("debug/relay");
    // Port 0 for both listeners: the service prints the addresses it got.
    let mut service = tokio::process::Command::new(&binary)
        .current_dir(&project)
        .env("CATGA_NATS_URL", server.url())
        .env("CATGA_METRICS_ADDR", "127.0.0.1:0")
        .env("CATGA_HTTP_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run the service");
    let mut printed =
        tokio::io::BufReader::new(service.stdout.take().expect("the service's stdout")).lines();
    let (mut ops, mut http) = (None, None);
    // A hang guard, generous for a loaded machine: the service is built already and only
    // has to start and connect.
    let limit = std::time::Duration::from_secs(120);
    while ops.is_none() || http.is_none() {
        let line = tokio::time::timeout(limit, printed.next_line())
            .await
            .expect("the service printed its addresses in time")
            .expect("read the service's stdout")
            .expect("the service printed its addresses before exiting");
        let url = |after: &str| {
            line.split_once(after)
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .and_then(|url| url.strip_prefix("http://"))
                .map(str::to_string)
        };
        ops = ops.or_else(|| url("relay operations on "));
        http = http.or_else(|| url("relay HTTP on "));
    }
    let (ops, http) = (ops.expect("ops address"), http.expect("HTTP address"));

    let (status, live) = http_request(&ops, "GET", "/health/live", "").await;
    assert_eq!(status, 200, "{live}");
    // Bounded so that a service that never gets ready fails the test instead of hanging it.
    let ready = tokio::time::timeout(limit, async {
        loop {
            let (status, ready) = http_request(&ops, "GET", "/health/ready", "").await;
            if status == 200 {
                break ready;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the service was never ready within {limit:?}"));
    let ready: serde_json::Value = serde_json::from_str(&ready).expect("a JSON report");
    assert_eq!(ready["checks"][0]["name"], "nats", "{ready}");
    assert_eq!(ready["checks"][0]["healthy"], true, "{ready}");

    let transport = NatsTransport::connect(&server.url(), NatsOptions::default())
        .await
        .expect("connect");
    let mut request =
        Envelope::of(&Probe, &catga::Context::new(catga::MessageId::next())).expect("an envelope");
    request.type_name = "CreateTask".into();
    request.payload = serde_json::json!({ "request_id": "e2e-1", "title": "Over NATS" });
    let started = std::time::Instant::now();
    let reply = loop {
        match transport
            .request(
                "catga.commands.CreateTask",
                &request,
                std::time::Duration::from_secs(5),
            )
            .await
        {
            Ok(reply) => break reply,
            Err(error) if started.elapsed() < limit => {
                assert!(
                    service.try_wait().expect("poll the service").is_none(),
                    "the service exited: {error}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(error) => panic!("no reply from the service: {error}"),
        }
    };
    let body: ReplyBody = serde_json::from_value(reply.payload).expect("a reply body");
    assert_eq!(body.into_result::<u64>().expect("a task id"), 1);

    let create = r#"{"request_id": "e2e-2", "title": "Over HTTP"}"#;
    let (status, id) = http_request(&http, "POST", "/tasks", create).await;
    assert_eq!((status, id.as_str()), (200, "2"), "POST /tasks");
    for (path, title) in [("/tasks/2", "Over HTTP"), ("/tasks/1", "Over NATS")] {
        let (status, task) = http_request(&http, "GET", path, "").await;
        assert_eq!(status, 200, "GET {path}: {task}");
        let task: serde_json::Value = serde_json::from_str(&task).expect("a JSON task");
        assert_eq!(task["title"], title, "GET {path}");
    }

    let (status, metrics) = http_request(&ops, "GET", "/metrics", "").await;
    assert_eq!(status, 200, "{metrics}");
    for counted in [
        r#"catga_messages_handled_total{message_type="CreateTask",outcome="ok"} 2"#,
        r#"catga_messages_handled_total{message_type="GetTask",outcome="ok"} 2"#,
    ] {
        assert!(
            metrics.lines().any(|line| line == counted),
            "{counted} is not in:\n{metrics}"
        );
    }
}

/// `method path` with `body` (JSON) to `addr` (`host:port`) over a connection of its own, as
/// HTTP/1.1: the status and the body.
async fn http_request(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|error| panic!("connect to {addr}: {error}"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("no status in: {head}"));
    (status, body.to_string())
}

/// Only its envelope's ids are used: the request is a `CreateTask` of the generated project.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, catga::Event)]
struct Probe;
