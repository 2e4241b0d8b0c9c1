//! Cross-file rules through the binary: a cargo workspace linted with no paths, the way CI runs
//! it, where the evidence for a finding lies in other files than the finding.

use crate::support::{project, run};

const ORDERS: &str = "use catga::prelude::*;\n\n\
    #[derive(Debug, Clone, Command)]\n#[command(response = u64)]\npub struct Cancel(pub u64);\n\n\
    #[derive(Debug, Clone, Event)]\npub struct Cancelled(pub u64);\n\n\
    #[derive(Debug, Default)]\npub struct CancelHandler;\n\n\
    impl Handler<Cancel> for CancelHandler {\n    \
        async fn handle(&self, cmd: Cancel, _ctx: &Context) -> catga::Result<u64> {\n        Ok(cmd.0)\n    }\n}\n";

const LEGACY: &str = "use catga::prelude::*;\nuse crate::orders::Cancel;\n\n\
    pub struct LegacyCancel;\n\n\
    impl Handler<Cancel> for LegacyCancel {\n    \
        async fn handle(&self, cmd: Cancel, _ctx: &Context) -> catga::Result<u64> {\n        Ok(cmd.0)\n    }\n}\n";

const APP: &str = "use crate::{legacy::LegacyCancel, orders::CancelHandler};\n\n\
    pub fn mediator() -> catga::Result<catga::Mediator> {\n    \
        catga::Mediator::builder().handler(CancelHandler).handler(LegacyCancel).build()\n}\n";

#[test]
fn duplicate_handlers_in_two_files_fail_the_run_naming_each_other() {
    let dir = project(&[
        (
            "src/lib.rs",
            "pub mod app;\npub mod legacy;\npub mod orders;\n",
        ),
        ("src/orders.rs", ORDERS),
        ("src/legacy.rs", LEGACY),
        ("src/app.rs", APP),
    ]);
    let (code, stdout, stderr) = run(
        dir.path(),
        &["lint", "--format", "json", "--select", "CATGA003"],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    let found: Vec<(String, u64)> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap_or_default().to_string(),
                d["line"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("src/legacy.rs".to_string(), 6),
            ("src/orders.rs".to_string(), 13)
        ],
        "{stdout}"
    );
    assert!(
        stdout.contains("`CancelHandler` at src/orders.rs:13"),
        "{stdout}"
    );
}

#[test]
fn unsafe_fixes_add_a_handler_beside_an_unhandled_event_then_register_it() {
    let dir = project(&[
        (
            "src/lib.rs",
            "pub mod app;\npub mod legacy;\npub mod orders;\n",
        ),
        ("src/orders.rs", ORDERS),
        ("src/legacy.rs", "\n"),
        (
            "src/app.rs",
            "use crate::orders::CancelHandler;\n\npub fn mediator() -> catga::Result<catga::Mediator> {\n    catga::Mediator::builder().handler(CancelHandler).auto_register().build()\n}\n",
        ),
    ]);
    let args = [
        "lint",
        "--select",
        "CATGA001,CATGA015",
        "--fix",
        "--unsafe-fixes",
    ];
    let (code, stdout, stderr) = run(dir.path(), &args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let orders = std::fs::read_to_string(dir.path().join("src/orders.rs")).expect("read");
    assert!(orders.starts_with(ORDERS), "{orders}");
    // CATGA015 appends the stub; CATGA001 then registers it, in the same run.
    assert!(
        orders.contains(
            "#[catga::handler]\nimpl catga::EventHandler<Cancelled> for CancelledHandler {"
        ),
        "{orders}"
    );
    let (again, stdout, _) = run(dir.path(), &["lint", "--select", "CATGA001,CATGA015"]);
    assert_eq!(again, 0, "{stdout}");
}
