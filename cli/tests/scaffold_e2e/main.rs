//! End to end, as a new user runs it: `catga new demo`, then in `demo` `cargo test`, `catga
//! lint` (exit 0, no diagnostics), `cargo run` (prints the results) and `catga bench --duration
//! 1s` (writes a report); then `catga add` of a command, a query, an event and a saga, after
//! which it still builds, every test (the new ones too) passes, lint is clean, and `cargo fmt
//! --check` and `cargo clippy --all-targets -- -D warnings` are happy.
//!
//! It compiles a whole project against this checkout's runtime, in `target/scaffold-e2e` (kept
//! between runs, so only the first run builds the dependencies: about a minute for the tests and
//! two for the release bench build on two cores). Skip it locally with `-- --skip e2e_`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/scaffold-e2e")
}

/// Runs `program ARGS` in `dir` with the shared target directory.
fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("NO_COLOR", "1")
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program}: {error}"))
}

fn cargo(dir: &Path, args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    succeed(run(dir, &cargo, args), &format!("cargo {}", args.join(" ")))
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

#[test]
fn e2e_new_project_builds_tests_lints_runs_and_benches_then_grows_with_add() {
    let dir = tempfile::tempdir().expect("temp dir");
    catga(dir.path(), &["new", "demo"]);
    let project = dir.path().join("demo");

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

    catga(
        &project,
        &[
            "bench",
            "--duration",
            "1s",
            "--quiet",
            "--save",
            "report.json",
        ],
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("report.json")).expect("the report was written"),
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

/// `catga new --transport nats`: the project tests (its transport test over the in-memory
/// transport), lints and formats clean, and, run with `CATGA_NATS_URL`, answers a `CreateTask`
/// sent over a real nats-server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_new_nats_project_tests_lints_and_serves_over_a_real_broker() {
    use catga::transport::{Envelope, ReplyBody, Transport};
    use catga_nats::testing::NatsServer;
    use catga_nats::{NatsOptions, NatsTransport};

    let dir = tempfile::tempdir().expect("temp dir");
    catga(
        dir.path(),
        &["new", "relay", "--transport", "nats", "--no-git"],
    );
    let project = dir.path().join("relay");
    let tests = cargo(&project, &["test"]);
    assert!(
        tests.contains("other_services_create_read_and_complete_tasks ... ok"),
        "{tests}"
    );
    assert_lint_clean(&project);
    cargo(&project, &["fmt", "--check"]);
    cargo(
        &project,
        &["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"],
    );

    let server = NatsServer::start().await.expect("nats-server");
    let binary = target_dir().join("debug/relay");
    let mut service = tokio::process::Command::new(&binary)
        .current_dir(&project)
        .env("CATGA_NATS_URL", server.url())
        .kill_on_drop(true)
        .spawn()
        .expect("run the service");
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
            Err(error) if started.elapsed() < std::time::Duration::from_secs(30) => {
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
}

/// Only its envelope's ids are used: the request is a `CreateTask` of the generated project.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, catga::Event)]
struct Probe;
