//! `catga lint --fix --unsafe-fixes` on a real project keeps it building: a project made by
//! `catga new` (against this checkout) gets every rule's bad fixture pasted in, one module per
//! rule (`src/lint_fixtures/catgaNNN.rs`), and after the fixes `cargo build --all-targets`,
//! `cargo clippy -- -D warnings` and `cargo test` pass. Unlike the fixture tests, every rule runs
//! on every module, with the project's own files and cross-file rules over all of them: a fix of
//! one rule that breaks code another rule's fixture holds, or a cross-file fix that a lone
//! fixture never meets, fails here.
//!
//! The registration style is one setting per configuration file, and CATGA001 (builder style)
//! and CATGA010 (attribute style) are exclusive: CATGA010's fixture is a directory module with
//! its own `catga.toml` (`registration = "attribute"`), fixed by a run in that directory first;
//! then the whole project is fixed with the generated `catga.toml`, plus what the other fixtures
//! configure.
//!
//! One project build, on two cores about as long as the fixture crate's: it builds into
//! `target/fixture-crate`, the target directory `catga-lints`' fixture-crate test uses, with the
//! workspace's and the fixture crate's lockfiles, so the third-party crates are the same builds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

fn checkout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the checkout")
}

fn fixtures_dir() -> PathBuf {
    checkout().join("lints/tests/fixtures")
}

/// The rule fixtures, `catga001` ... in order.
fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .expect("read lints/tests/fixtures")
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create the parent directory");
    }
    std::fs::write(path, text).unwrap_or_else(|error| panic!("write {}: {error}", path.display()));
}

/// `program args` in `dir`, timed on stderr (`--nocapture` shows where the time goes).
fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    let started = Instant::now();
    let output = Command::new(program)
        .current_dir(dir)
        .args(args)
        .env("CARGO_TARGET_DIR", checkout().join("target/fixture-crate"))
        .env("NO_COLOR", "1")
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program}: {error}"));
    let name = Path::new(program)
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    eprintln!(
        "[lint-fix-project] {:>6.1?}  {name} {}",
        started.elapsed(),
        args.join(" ")
    );
    output
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// cargo's stdout, after asserting it succeeded.
fn cargo(dir: &Path, args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = run(dir, &cargo, args);
    assert!(
        output.status.success(),
        "`cargo {}` failed after `catga lint --fix --unsafe-fixes`:\n{}",
        args.join(" "),
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `catga lint --fix --unsafe-fixes --show-fixes [path]` in `dir`; the rule codes of the fixes
/// it applied. Findings without a fix may remain (exit 1); the tool must not fail (exit 2).
fn lint_fix(dir: &Path, paths: &[&str]) -> Vec<String> {
    let mut args = vec![
        "lint",
        "--fix",
        "--unsafe-fixes",
        "--show-fixes",
        "--no-cache",
    ];
    args.extend(paths);
    let output = run(dir, env!("CARGO_BIN_EXE_catga"), &args);
    let printed = text(&output);
    // The fixes applied (stderr), not every remaining finding.
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "`catga {}` could not run:\n{printed}",
        args.join(" ")
    );
    assert!(
        !printed.contains("dropped"),
        "a fix was dropped (it did not parse or re-lint):\n{printed}"
    );
    // `--show-fixes` lines: `  path:line CODE description`.
    printed
        .lines()
        .filter_map(|line| line.strip_prefix("  "))
        .filter_map(|line| line.split_whitespace().nth(1))
        .filter(|code| code.starts_with("CATGA"))
        .map(str::to_string)
        .collect()
}

/// The workspace's lockfile plus the fixture crate's packages it lacks (parking_lot, futures,
/// async-trait): the versions both already build with, resolved without the network.
fn lockfile() -> String {
    let workspace = read(&checkout().join("Cargo.lock"));
    let fixtures = read(&checkout().join("lints/tests/fixture-crate/Cargo.lock"));
    let packages = |lock: &str| -> Vec<String> {
        lock.split("\n[[package]]\n")
            .skip(1)
            .map(|package| package.trim_end().to_string())
            .collect()
    };
    let known: BTreeSet<String> = packages(&workspace)
        .iter()
        .map(|package| package.lines().take(2).collect::<Vec<_>>().join("\n"))
        .collect();
    let mut lock = workspace.trim_end().to_string();
    for package in packages(&fixtures) {
        let identity = package.lines().take(2).collect::<Vec<_>>().join("\n");
        if !known.contains(&identity) && !package.contains("name = \"catga-lint-fixtures\"") {
            lock.push_str("\n\n[[package]]\n");
            lock.push_str(&package);
        }
    }
    lock.push('\n');
    lock
}

/// The fixture's `catga.toml` value of `key` (one line), if it sets one.
fn fixture_setting(name: &str, key: &str) -> Option<String> {
    let config = std::fs::read_to_string(fixtures_dir().join(name).join("catga.toml")).ok()?;
    config
        .lines()
        .find(|line| line.starts_with(&format!("{key} =")))
        .map(str::to_string)
}

#[test]
fn unsafe_fixes_of_every_rule_keep_a_generated_project_building_linting_and_testing_clean() {
    let dir = tempfile::tempdir().expect("temp dir");
    let checkout = checkout();
    let checkout_arg = checkout.to_string_lossy().into_owned();
    let output = run(
        dir.path(),
        env!("CARGO_BIN_EXE_catga"),
        &[
            "new",
            "lintfix",
            "--no-git",
            "--runtime-path",
            &checkout_arg,
        ],
    );
    assert!(output.status.success(), "catga new: {}", text(&output));
    let project = dir.path().join("lintfix");

    // The crates the fixtures use, as the fixture crate has them.
    let manifest = read(&project.join("Cargo.toml"));
    let tokio = "tokio = { version = \"1\", features = [\"macros\", \"rt-multi-thread\", \"time\", \"fs\"] }";
    assert!(
        manifest.contains(tokio),
        "the template's tokio line moved:\n{manifest}"
    );
    let manifest = manifest.replace(
        tokio,
        "tokio = { version = \"1\", features = [\"full\"] }\n\
         parking_lot = { version = \"0.12\", features = [\"arc_lock\"] }\n\
         futures = \"0.3\"\n\
         async-trait = \"0.1\"",
    );
    write(&project.join("Cargo.toml"), &manifest);
    write(&project.join("Cargo.lock"), &lockfile());

    // One module per rule; CATGA010's in its own directory with its own configuration.
    let names = fixture_names();
    assert!(names.len() >= 16, "fixtures: {names:?}");
    let mut modules = String::from(
        "//! Every rule's bad fixture, as `catga lint --fix --unsafe-fixes` left it.\n",
    );
    let mut fixed_by_fixture = BTreeSet::new();
    for name in &names {
        let bad = read(&fixtures_dir().join(name).join("bad.rs"));
        let fixed = read(&fixtures_dir().join(name).join("bad.fixed.rs"));
        if bad != fixed {
            fixed_by_fixture.insert(name.to_uppercase());
        }
        modules.push_str(&format!("pub mod {name};\n"));
        if fixture_setting(name, "registration").is_some() {
            let module = project.join("src/lint_fixtures").join(name);
            write(&module.join("mod.rs"), &bad);
            write(
                &module.join("catga.toml"),
                &read(&fixtures_dir().join(name).join("catga.toml")),
            );
        } else {
            write(&project.join(format!("src/lint_fixtures/{name}.rs")), &bad);
        }
    }
    write(&project.join("src/lint_fixtures/mod.rs"), &modules);
    let lib = read(&project.join("src/lib.rs"));
    write(
        &project.join("src/lib.rs"),
        &lib.replacen(
            "pub mod tasks;\n",
            "pub mod lint_fixtures;\npub mod tasks;\n",
            1,
        ),
    );

    // The project's configuration gets what the other fixtures configure (CATGA005's blocking
    // fn, named by its path in this project; CATGA013's critical commands).
    let config = read(&project.join("catga.toml"));
    let critical = fixture_setting("catga013", "critical_commands").expect("catga013's config");
    let mut lines: Vec<String> = config
        .lines()
        .map(|line| {
            if line.starts_with("critical_commands =") {
                critical.clone()
            } else {
                line.to_string()
            }
        })
        .collect();
    let bench = lines
        .iter()
        .position(|line| line == "[bench]")
        .expect("the template's [bench] table");
    lines.insert(
        bench,
        "blocking_functions = [\"lintfix::lint_fixtures::catga005::legacy::query_sync\"]\n"
            .to_string(),
    );
    write(&project.join("catga.toml"), &(lines.join("\n") + "\n"));

    let mut applied = lint_fix(&project.join("src/lint_fixtures/catga010"), &["."]);
    applied.extend(lint_fix(&project, &[]));
    let applied: BTreeSet<String> = applied.into_iter().collect();
    let missing: Vec<&String> = fixed_by_fixture.difference(&applied).collect();
    assert!(
        missing.is_empty(),
        "rules whose fixture has fixes applied none in the project: {missing:?} (applied: {applied:?})"
    );

    // Nothing left that a fix would change: the fixes converged.
    let output = run(
        &project,
        env!("CARGO_BIN_EXE_catga"),
        &[
            "lint",
            "--diff",
            "--unsafe-fixes",
            "--no-cache",
            "--exit-zero",
        ],
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("@@"),
        "fixes left more to fix:\n{}",
        text(&output)
    );

    cargo(&project, &["build", "--all-targets"]);
    cargo(&project, &["clippy", "--", "-D", "warnings"]);
    let tests = cargo(&project, &["test"]);
    // The generated project's own tests, and the fixtures' async tests the fixes rewrote.
    for test in [
        "a_created_task_can_be_read_back ... ok",
        "lint_fixtures::catga005::tests::waits_for_the_projection ... ok",
        "lint_fixtures::catga012::tests::reads_a_fixture ... ok",
    ] {
        assert!(tests.contains(test), "`{test}` did not pass:\n{tests}");
    }
    assert!(!tests.contains("FAILED"), "{tests}");
}
