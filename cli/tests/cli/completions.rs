//! `catga completions SHELL`, and `cargo-catga`, which cargo runs for `cargo catga ...`.

use std::process::Command;

use crate::support::run;

#[test]
fn completions_list_every_command_for_each_shell() {
    let dir = tempfile::tempdir().expect("temp dir");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, stdout, stderr) = run(dir.path(), &["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        for command in [
            "new",
            "add",
            "lint",
            "bench",
            "completions",
            "--runtime-git",
        ] {
            assert!(stdout.contains(command), "{shell} lacks `{command}`");
        }
    }
    let (code, _, stderr) = run(dir.path(), &["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("possible values"), "{stderr}");
}

#[test]
fn cargo_catga_runs_catga_with_the_arguments_after_its_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cargo_catga = env!("CARGO_BIN_EXE_cargo-catga");
    // As cargo runs it for `cargo catga new demo --no-git`, and as a user might run it.
    for args in [
        &["catga", "new", "demo", "--no-git"][..],
        &["new", "other", "--no-git"],
    ] {
        let output = Command::new(cargo_catga)
            .current_dir(dir.path())
            .args(args)
            .output()
            .expect("run cargo-catga");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(dir.path().join("demo/Cargo.toml").is_file());
    assert!(dir.path().join("other/Cargo.toml").is_file());
    let again = Command::new(cargo_catga)
        .current_dir(dir.path())
        .args(["catga", "new", "demo"])
        .output()
        .expect("run cargo-catga");
    assert_eq!(
        again.status.code(),
        Some(2),
        "catga's exit code passes through"
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}
