//! Cross-file rules on small multi-file crates: names resolved through `use` items and module
//! paths, suppression comments, the cache, and fixes that land in another file than the one
//! whose facts triggered them.

use catga_lints::{FixMode, LintOptions, LintReport, lint};
use std::path::Path;

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dirs");
        std::fs::write(path, text).expect("write file");
    }
}

fn crate_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        &[(
            "Cargo.toml",
            "[package]\nname = \"shop\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\ncatga = \"0\"\n\n[workspace]\n",
        )],
    );
    write(dir.path(), files);
    dir
}

fn run(dir: &Path, select: &[&str], fix: FixMode, cache: bool) -> LintReport {
    lint(&LintOptions {
        root: dir.to_path_buf(),
        paths: vec![dir.join("src")],
        select: select.iter().map(|code| code.to_string()).collect(),
        fix,
        cache,
        ..LintOptions::default()
    })
    .expect("lint runs")
}

/// `(path, line, code)` of every diagnostic.
fn found(report: &LintReport) -> Vec<(String, u32, String)> {
    report
        .diagnostics
        .iter()
        .map(|d| {
            (
                d.path.display().to_string(),
                d.span.start_pos.line,
                d.code.clone(),
            )
        })
        .collect()
}

const LIB: &str = "pub mod billing;\npub mod orders;\npub mod app;\n";

const ORDERS: &str = r#"use catga::prelude::*;

#[derive(Debug, Clone, Command)]
#[command(response = u64)]
pub struct Cancel(pub u64);

#[derive(Debug, Clone, Event)]
pub struct Cancelled(pub u64);

pub struct CancelHandler;

impl Handler<Cancel> for CancelHandler {
    async fn handle(&self, cmd: Cancel, _ctx: &Context) -> catga::Result<u64> {
        Ok(cmd.0)
    }
}

#[derive(Debug, Default)]
pub struct Audit;

impl EventHandler<Cancelled> for Audit {
    async fn handle(&self, _event: &Cancelled, _ctx: &Context) -> catga::Result<()> {
        Ok(())
    }
}
"#;

const BILLING: &str = r#"use catga::prelude::*;

#[derive(Debug, Clone, Command)]
#[command(response = u64)]
pub struct Cancel(pub u64);

#[derive(Debug, Clone, Event)]
pub struct Cancelled(pub u64);

pub struct CancelHandler;

impl Handler<Cancel> for CancelHandler {
    async fn handle(&self, cmd: Cancel, _ctx: &Context) -> catga::Result<u64> {
        Ok(cmd.0)
    }
}

#[derive(Debug, Default)]
pub struct Audit;

impl EventHandler<Cancelled> for Audit {
    async fn handle(&self, _event: &Cancelled, _ctx: &Context) -> catga::Result<()> {
        Ok(())
    }
}

pub struct Refund;

impl Handler<crate::orders::Cancel> for Refund {
    async fn handle(&self, cmd: crate::orders::Cancel, _ctx: &Context) -> catga::Result<u64> {
        Ok(cmd.0)
    }
}
"#;

const APP: &str = r#"use catga::prelude::*;
use crate::billing;
use crate::orders::{Audit, CancelHandler};

pub fn mediator() -> catga::Result<Mediator> {
    let refund = billing::Refund;
    Mediator::builder()
        .handler(CancelHandler)
        .handler(billing::CancelHandler)
        .event_handler(Audit::default())
        .handler(refund)
        .build()
}
"#;

#[test]
fn same_named_types_in_different_modules_stay_apart() {
    let dir = crate_with(&[
        ("src/lib.rs", LIB),
        ("src/orders.rs", ORDERS),
        ("src/billing.rs", BILLING),
        ("src/app.rs", APP),
    ]);
    let report = run(
        dir.path(),
        &["CATGA001", "CATGA003", "CATGA015"],
        FixMode::Off,
        false,
    );
    let got = found(&report);
    assert_eq!(
        got,
        [
            // billing::Audit is not registered (orders::Audit is).
            ("src/billing.rs".to_string(), 21, "CATGA001".to_string()),
            // Refund handles orders::Cancel, as orders::CancelHandler does.
            ("src/billing.rs".to_string(), 29, "CATGA003".to_string()),
            ("src/orders.rs".to_string(), 12, "CATGA003".to_string()),
        ],
        "{:#?}",
        report.diagnostics
    );
    let duplicate = &report.diagnostics[1];
    assert!(
        duplicate
            .message
            .contains("`CancelHandler` at src/orders.rs:12"),
        "{}",
        duplicate.message
    );
}

#[test]
fn an_event_handled_in_another_file_is_handled_and_a_stub_lands_beside_the_event() {
    let events = "use catga::prelude::*;\n\n#[derive(Debug, Clone, Event)]\npub struct Shipped(pub u64);\n\n#[derive(Debug, Clone, Event)]\npub struct Lost(pub u64);\n";
    let handlers = "use catga::prelude::*;\nuse crate::events::Shipped;\n\n#[derive(Debug, Default)]\npub struct Notify;\n\n#[catga::handler]\nimpl EventHandler<Shipped> for Notify {\n    async fn handle(&self, _e: &Shipped, _ctx: &Context) -> catga::Result<()> {\n        Ok(())\n    }\n}\n";
    let dir = crate_with(&[
        ("src/lib.rs", "pub mod events;\npub mod handlers;\n"),
        ("src/events.rs", events),
        ("src/handlers.rs", handlers),
    ]);
    let report = run(dir.path(), &["CATGA015"], FixMode::Off, false);
    assert_eq!(
        found(&report),
        [("src/events.rs".to_string(), 7, "CATGA015".to_string())]
    );
    let fixed = run(dir.path(), &["CATGA015"], FixMode::Unsafe, false);
    assert_eq!(fixed.fixed, 1);
    assert!(fixed.diagnostics.is_empty(), "{:#?}", fixed.diagnostics);
    let text = std::fs::read_to_string(dir.path().join("src/events.rs")).expect("read");
    assert!(text.starts_with(events), "the event file keeps its text");
    assert!(
        text.contains("impl catga::EventHandler<Lost> for LostHandler {"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("src/handlers.rs")).expect("read"),
        handlers,
        "other files are untouched"
    );
}

#[test]
fn suppression_comments_and_the_warm_cache_apply_to_cross_file_rules() {
    let orders = ORDERS.replace(
        "impl EventHandler<Cancelled> for Audit {",
        "// catga-allow(CATGA001): registered by the plugin host\nimpl EventHandler<Cancelled> for Audit {",
    );
    let stale = "// catga-allow(CATGA015): nothing to silence here\npub fn helper() {}\n";
    let dir = crate_with(&[
        ("src/lib.rs", "pub mod orders;\npub mod util;\n"),
        ("src/orders.rs", &orders),
        ("src/util.rs", stale),
    ]);
    let cold = run(dir.path(), &["CATGA001", "CATGA100"], FixMode::Off, true);
    let expected = [("src/orders.rs".to_string(), 12, "CATGA001".to_string())];
    assert_eq!(found(&cold), expected, "{:#?}", cold.diagnostics);
    let warm = run(dir.path(), &["CATGA001", "CATGA100"], FixMode::Off, true);
    assert_eq!(found(&warm), expected);
    // With CATGA015 running, its allow in util.rs silences nothing and is reported.
    let all = run(dir.path(), &["CATGA015", "CATGA100"], FixMode::Off, false);
    assert!(
        found(&all).contains(&("src/util.rs".to_string(), 1, "CATGA100".to_string())),
        "{:#?}",
        all.diagnostics
    );
}

#[test]
fn registering_a_handler_in_another_file_is_seen_after_an_edit_with_the_cache_on() {
    let dir = crate_with(&[
        ("src/lib.rs", "pub mod orders;\npub mod app;\n"),
        ("src/orders.rs", ORDERS),
        ("src/app.rs", "pub fn nothing() {}\n"),
    ]);
    let before = run(dir.path(), &["CATGA001"], FixMode::Off, true);
    assert_eq!(before.diagnostics.len(), 2, "{:#?}", before.diagnostics);
    write(
        dir.path(),
        &[(
            "src/app.rs",
            "use crate::orders::*;\npub fn m() -> catga::Result<catga::Mediator> {\n    catga::Mediator::builder().handler(CancelHandler).event_handler(Audit).build()\n}\n",
        )],
    );
    let after = run(dir.path(), &["CATGA001"], FixMode::Off, true);
    assert!(after.diagnostics.is_empty(), "{:#?}", after.diagnostics);
}
