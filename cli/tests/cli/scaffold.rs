//! `catga new` and `catga add` through the binary, without building what they write (the
//! end-to-end test `tests/scaffold_e2e.rs` builds, tests, lints and benches it): the files,
//! `--dry-run`, `--force`, name checks, refusals that leave the tree byte-identical, and edits
//! of existing code.

use std::fs;
use std::path::{Path, PathBuf};

use catga_scaffold::template::NEW_PROJECT;

use crate::support::{run, snapshot, write};

/// `catga new NAME --no-git` in `dir`, asserting success.
fn new(dir: &Path, name: &str) {
    let (code, _, stderr) = run(dir, &["new", name, "--no-git"]);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn new_writes_the_project_and_dry_run_lists_it_without_writing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, stdout, stderr) = run(dir.path(), &["new", "demo", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        snapshot(dir.path()),
        Vec::new(),
        "--dry-run wrote something"
    );
    for file in NEW_PROJECT.iter().map(|template| template.path) {
        assert!(
            stdout.contains(&format!("create demo/{file}")),
            "{file} missing from:\n{stdout}"
        );
    }

    let (code, _, stderr) = run(dir.path(), &["new", "demo"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("Created catga service `demo`"), "{stderr}");
    for file in NEW_PROJECT.iter().map(|template| template.path) {
        assert!(
            dir.path().join("demo").join(file).is_file(),
            "{file} not written"
        );
    }
    assert!(
        dir.path().join("demo/.git").is_dir(),
        "git init did not run"
    );
    let manifest = fs::read_to_string(dir.path().join("demo/Cargo.toml")).expect("read");
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        manifest.contains(&format!("catga = \"{version}\"")),
        "by default the published runtime of this catga's version:\n{manifest}"
    );
    let ci = fs::read_to_string(dir.path().join("demo/.github/workflows/ci.yml")).expect("read");
    assert!(
        ci.contains(&format!("catga-cli --version {version}")),
        "{ci}"
    );
    let main = fs::read_to_string(dir.path().join("demo/src/main.rs")).expect("read");
    assert!(main.contains("demo::mediator()?"), "{main}");
}

#[test]
fn new_again_exits_2_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    new(dir.path(), "demo");
    fs::write(dir.path().join("demo/src/lib.rs"), "// mine\n").expect("write");
    let before = snapshot(dir.path());
    let (code, _, stderr) = run(dir.path(), &["new", "demo"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("already exists and is not empty"),
        "{stderr}"
    );
    let (code, _, _) = run(dir.path(), &["new", "demo", "--force"]);
    assert_eq!(code, 2, "--force must not overwrite a non-empty directory");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn force_allows_only_an_empty_existing_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::create_dir(dir.path().join("empty")).expect("mkdir");
    let (code, _, stderr) = run(dir.path(), &["new", "svc", "--path", "empty", "--no-git"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("pass --force"), "{stderr}");
    let (code, _, stderr) = run(
        dir.path(),
        &["new", "svc", "--path", "empty", "--no-git", "--force"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(dir.path().join("empty/src/lib.rs").is_file());
    let manifest = fs::read_to_string(dir.path().join("empty/Cargo.toml")).expect("read");
    assert!(manifest.contains("name = \"svc\""), "{manifest}");
}

#[test]
fn bad_names_exit_2_with_the_reason_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, reason) in [
        ("", "cannot be empty"),
        ("1demo", "cannot start with a digit"),
        ("my.service", "character `.` is not allowed"),
        ("fn", "Rust keyword"),
        ("test", "built-in `test` library"),
        ("deps", "build directory names"),
        ("build", "build directory names"),
    ] {
        let (code, _, stderr) = run(dir.path(), &["new", name]);
        assert_eq!(code, 2, "`{name}` accepted");
        assert!(stderr.contains(reason), "`{name}`: {stderr}");
    }
    assert_eq!(snapshot(dir.path()), Vec::new());
    let (code, _, stderr) = run(dir.path(), &["new", "MyService", "--no-git"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("note: the name `MyService` is not snake_case"),
        "{stderr}"
    );
    let main = fs::read_to_string(dir.path().join("MyService/src/main.rs")).expect("read");
    assert!(main.contains("MyService::mediator()"), "{main}");
}

#[test]
fn runtime_sources_are_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = run(
        dir.path(),
        &["new", "a", "--no-git", "--runtime-version", "0.1"],
    );
    assert_eq!(code, 0, "{stderr}");
    let manifest = fs::read_to_string(dir.path().join("a/Cargo.toml")).expect("read");
    assert!(manifest.contains("catga = \"0.1\"") && manifest.contains("catga-bench = \"0.1\""));
    let ci = fs::read_to_string(dir.path().join("a/.github/workflows/ci.yml")).expect("read");
    assert!(
        ci.contains("cargo install --locked --root \"$HOME/.catga-cli\" catga-cli --version 0.1"),
        "{ci}"
    );

    let (code, _, stderr) = run(dir.path(), &["new", "b", "--runtime-version", "one"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid runtime version `one`"), "{stderr}");
    let (code, _, stderr) = run(dir.path(), &["new", "c", "--runtime-path", "."]);
    assert_eq!(code, 2);
    assert!(stderr.contains("is not a catga checkout"), "{stderr}");
    let (code, _, stderr) = run(dir.path(), &["new", "d", "--rev", "v1"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--runtime-git"), "{stderr}");
    let (code, _, stderr) = run(
        dir.path(),
        &[
            "new",
            "e",
            "--runtime-version",
            "0.1",
            "--runtime-git",
            "https://example.com/c",
        ],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
    for name in ["b", "c", "d", "e"] {
        assert!(!dir.path().join(name).exists(), "{name} was written");
    }
}

#[test]
fn git_and_path_runtimes_are_portable_in_the_manifest_and_the_ci_install() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = run(
        dir.path(),
        &[
            "new",
            "g",
            "--no-git",
            "--runtime-git",
            "https://example.com/catga.git",
            "--rev",
            "v0.1.0",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let manifest = fs::read_to_string(dir.path().join("g/Cargo.toml")).expect("read");
    assert!(
        manifest.contains("catga = { git = \"https://example.com/catga.git\", rev = \"v0.1.0\" }"),
        "{manifest}"
    );
    let ci = fs::read_to_string(dir.path().join("g/.github/workflows/ci.yml")).expect("read");
    assert!(
        ci.contains("catga-cli --git https://example.com/catga.git --rev v0.1.0"),
        "{ci}"
    );

    // A checkout reached through a symlink and `..` is written as a path relative to the project.
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("checkout");
    std::os::unix::fs::symlink(&checkout, dir.path().join("link")).expect("symlink");
    let (code, _, stderr) = run(
        dir.path(),
        &["new", "p", "--no-git", "--runtime-path", "link/cli/.."],
    );
    assert_eq!(code, 0, "{stderr}");
    let manifest = fs::read_to_string(dir.path().join("p/Cargo.toml")).expect("read");
    // Up from the project to where it and the checkout part, then down to the checkout.
    let project = dir.path().canonicalize().expect("temp dir").join("p");
    let shared = project
        .components()
        .zip(checkout.components())
        .take_while(|(a, b)| a == b)
        .count();
    let up = "../".repeat(project.components().count() - shared);
    let down: PathBuf = checkout.components().skip(shared).collect();
    let relative = format!("{up}{}", down.display());
    assert!(
        manifest.contains(&format!("catga = {{ path = \"{relative}/src-runtime\" }}")),
        "{manifest}"
    );
    let ci = fs::read_to_string(dir.path().join("p/.github/workflows/ci.yml")).expect("read");
    assert!(ci.contains(&format!("--path {relative}/cli")), "{ci}");
}

#[test]
fn new_at_a_dot_dot_path_outside_the_repository_runs_git_init_without_a_note() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clone = dir.path().join("clone");
    fs::create_dir(&clone).expect("mkdir");
    fs::write(clone.join("Cargo.toml"), "[workspace]\nmembers = []\n").expect("write");
    let init = std::process::Command::new("git")
        .args(["init", "--quiet"])
        .arg(&clone)
        .status()
        .expect("git");
    assert!(init.success());
    let (code, _, stderr) = run(&clone, &["new", "demo", "--path", "../demo"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("note:"), "a false note:\n{stderr}");
    assert!(
        dir.path().join("demo/.git").is_dir(),
        "git init did not run"
    );
}

#[test]
fn http_adds_its_routes_to_either_transport_and_nats_adds_metrics_and_health() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listed = |args: &[&str]| {
        let (code, stdout, stderr) = run(dir.path(), args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        stdout
    };
    let http = listed(&["new", "web", "--http", "--dry-run"]);
    for file in ["src/http.rs", "tests/http.rs", "src/main.rs"] {
        assert!(
            http.contains(&format!("create web/{file}\n")),
            "{file}:\n{http}"
        );
    }
    assert!(!http.contains("src/transport.rs"), "{http}");
    let both = listed(&["new", "web", "--transport", "nats", "--http", "--dry-run"]);
    for file in [
        "src/http.rs",
        "tests/http.rs",
        "src/ops.rs",
        "src/transport.rs",
    ] {
        assert!(
            both.contains(&format!("create web/{file}\n")),
            "{file}:\n{both}"
        );
    }
    let nats = listed(&["new", "web", "--transport", "nats", "--dry-run"]);
    assert!(nats.contains("create web/src/ops.rs\n"), "{nats}");
    assert!(!nats.contains("src/http.rs"), "{nats}");
    assert_eq!(
        snapshot(dir.path()),
        Vec::new(),
        "--dry-run wrote something"
    );

    let (code, _, stderr) = run(
        dir.path(),
        &["new", "web", "--no-git", "--transport", "nats", "--http"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("cargo run       # serves HTTP (127.0.0.1:8080) and NATS"),
        "{stderr}"
    );
    let main = fs::read_to_string(dir.path().join("web/src/main.rs")).expect("read");
    assert!(main.contains("web::transport::serve(") && main.contains("http::serve("));
}

#[test]
fn bad_http_combinations_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (args, reason) in [
        (
            &["new", "a", "--http=8080"][..],
            "unexpected value '8080' for '--http'",
        ),
        (
            &["new", "b", "--http", "--http"],
            "cannot be used multiple times",
        ),
        (
            &["new", "c", "--http", "--transport", "grpc"],
            "invalid value 'grpc'",
        ),
        (&["new", "d", "--http", "--rev", "v1"], "--runtime-git"),
        (
            &["new", "fn", "--http", "--transport", "nats"],
            "Rust keyword",
        ),
    ] {
        let (code, _, stderr) = run(dir.path(), args);
        assert_eq!(code, 2, "{args:?} accepted: {stderr}");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
    fs::create_dir(dir.path().join("taken")).expect("mkdir");
    fs::write(dir.path().join("taken/keep.txt"), "mine").expect("write");
    let before = snapshot(dir.path());
    let (code, _, stderr) = run(
        dir.path(),
        &[
            "new",
            "svc",
            "--path",
            "taken",
            "--http",
            "--transport",
            "nats",
            "--force",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not empty"), "{stderr}");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn add_writes_slices_declares_modules_and_registers_handlers() {
    let dir = tempfile::tempdir().expect("temp dir");
    new(dir.path(), "demo");
    let project = dir.path().join("demo");
    for args in [
        &["add", "command", "ShipOrder", "--response", "String"][..],
        &["add", "query", "get_shipment", "--response", "String"],
        &["add", "event", "OrderShipped", "--module", "orders"],
        &["add", "saga", "Fulfilment", "--module", "orders"],
        &[
            "add",
            "command",
            "CreateInvoice",
            "--module",
            "billing::invoices",
        ],
    ] {
        let (code, _, stderr) = run(&project, args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
    let lib = fs::read_to_string(project.join("src/lib.rs")).expect("read");
    for line in [
        "pub mod billing;\npub mod create_task;\npub mod get_shipment;\npub mod get_task;\npub mod orders;\npub mod ship_order;\npub mod task_completed;\npub mod tasks;\n",
        "        .handler(ship_order::ShipOrderHandler)\n",
        "        .handler(get_shipment::GetShipmentHandler)\n",
        "        .event_handler(orders::order_shipped::OrderShippedHandler)\n",
        "        .handler(orders::fulfilment::StartFulfilmentHandler::default())\n",
        "        .handler(billing::invoices::create_invoice::CreateInvoiceHandler)\n        // Counts each",
    ] {
        assert!(lib.contains(line), "src/lib.rs lacks {line:?}:\n{lib}");
    }
    let orders = fs::read_to_string(project.join("src/orders.rs")).expect("read");
    assert!(
        orders.contains("pub mod fulfilment;\npub mod order_shipped;\n"),
        "{orders}"
    );
    let invoice =
        fs::read_to_string(project.join("src/billing/invoices/create_invoice.rs")).expect("read");
    assert!(invoice.contains("#[command(idempotent)]"), "{invoice}");
    assert!(invoice.contains("#[idempotency_key]"), "{invoice}");
    for test in [
        "ship_order",
        "get_shipment",
        "order_shipped",
        "fulfilment",
        "create_invoice",
    ] {
        let text = fs::read_to_string(project.join(format!("tests/{test}.rs"))).expect("read");
        assert!(
            text.contains("demo::mediator()?"),
            "tests/{test}.rs:\n{text}"
        );
    }
}

#[test]
fn add_refusals_exit_2_and_leave_the_tree_byte_identical() {
    let dir = tempfile::tempdir().expect("temp dir");
    new(dir.path(), "demo");
    let project = dir.path().join("demo");
    write(&project, "tests/taken.rs", "// a test of mine\n");
    let before = snapshot(dir.path());
    for (args, message) in [
        (
            &["add", "command", "CreateTask"][..],
            "`CreateTask` already exists at src/create_task.rs:",
        ),
        (
            &["add", "event", "Tasks"],
            "`Tasks` already exists at src/tasks.rs:",
        ),
        (
            &["add", "command", "Taken"],
            "tests/taken.rs` already exists",
        ),
        (
            &["add", "query", "Count"],
            "a query needs `--response TYPE`",
        ),
        (
            &["add", "event", "Sent", "--response", "String"],
            "takes no --response",
        ),
        (
            &["add", "command", "Ship", "--response", "Vec<"],
            "not a Rust type",
        ),
        (&["add", "command", "Match"], "a Rust keyword"),
        (
            &["add", "command", "Ship", "--module", "Orders"],
            "not a snake_case module name",
        ),
        (&["add", "sagas", "Ship"], "invalid value 'sagas'"),
    ] {
        let (code, _, stderr) = run(&project, args);
        assert_eq!(code, 2, "{args:?} succeeded");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let (code, stdout, stderr) = run(&project, &["add", "command", "Ship", "--dry-run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("create") && stdout.contains("src/ship.rs"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  edit") && stdout.contains("src/lib.rs"),
        "{stdout}"
    );

    // A file syn cannot parse is never edited around.
    write(&project, "src/broken.rs", "fn {\n");
    let broken = snapshot(dir.path());
    let (code, _, stderr) = run(&project, &["add", "command", "Ship"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot parse `src/broken.rs`"), "{stderr}");
    assert_eq!(snapshot(dir.path()), broken);
    fs::remove_file(project.join("src/broken.rs")).expect("rm");
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn add_outside_a_catga_project_says_where_to_run_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _, stderr) = run(dir.path(), &["add", "command", "Ship"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no Cargo.toml in"), "{stderr}");
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"x\"\nversion = \"0.1.0\"\n",
    );
    write(dir.path(), "src/main.rs", "fn main() {}\n");
    let (code, _, stderr) = run(dir.path(), &["add", "command", "Ship"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("does not depend on catga"), "{stderr}");
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"x\"\nversion = \"0.1.0\"\n[dependencies]\ncatga = \"0.1\"\n",
    );
    let (code, _, stderr) = run(dir.path(), &["add", "command", "Ship"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("has no src/lib.rs"), "{stderr}");
    write(dir.path(), "src/lib.rs", "//! No mediator yet.\n");
    let (code, _, stderr) = run(dir.path(), &["add", "command", "Ship"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no `Mediator::builder() ... .build()`"),
        "{stderr}"
    );
}
