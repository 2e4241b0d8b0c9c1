//! The fixed fixtures and the near-misses are real code: `cargo clippy -- -D warnings` the
//! fixture crate (`tests/fixture-crate/`, its own workspace depending on the catga runtime, tokio,
//! parking_lot, futures, async-trait) that includes every `good.rs` and `bad.fixed.rs`, the
//! latter under `#[deny(clippy::future_not_send)]`: a fix must leave code that builds without
//! warnings and futures a multi-thread runtime can spawn.

use std::path::{Path, PathBuf};
use std::process::Command;

fn lints_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn fixture_crate_lists_every_fixture() {
    let lib = std::fs::read_to_string(lints_dir().join("tests/fixture-crate/src/lib.rs"))
        .expect("read the fixture crate's lib.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(lints_dir().join("tests/fixtures"))
        .expect("read tests/fixtures")
        .flatten()
    {
        if !entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let include = format!(
            "#[path = \"../../fixtures/{name}\"]\npub mod {name} {{\n    pub mod good;\n    #[path = \"bad.fixed.rs\"]\n    #[deny(clippy::future_not_send)]\n    pub mod fixed;\n}}"
        );
        if !lib.contains(&include) {
            missing.push(include);
        }
    }
    assert!(
        missing.is_empty(),
        "add to tests/fixture-crate/src/lib.rs:\n{}",
        missing.join("\n")
    );
}

#[test]
fn fixed_fixtures_build_warning_free_with_send_futures_and_near_misses_compile() {
    let manifest = lints_dir().join("tests/fixture-crate/Cargo.toml");
    let workspace_target = lints_dir()
        .parent()
        .unwrap_or(Path::new(".."))
        .join("target/fixture-crate");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .arg("clippy")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--")
        .arg("-D")
        .arg("warnings")
        .env("CARGO_TARGET_DIR", &workspace_target)
        .output()
        .expect("run cargo clippy (install it with `rustup component add clippy`)");
    assert!(
        output.status.success(),
        "the fixture crate does not build cleanly (`cargo clippy -- -D warnings`; a \
         `future cannot be sent between threads safely` in a bad.fixed.rs is a fix that leaves \
         a guard alive across an `.await`):\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
