//! Cross-file rules on small multi-file crates: names resolved through `use` items and module
//! paths (same-named types in two modules must not be confused), suppression comments, the
//! cache, and fixes that land in another file than the one whose facts triggered them.

use catga_lints::{Diagnostic, FixMode, LintOptions, LintReport, lint};
use std::path::{Path, PathBuf};

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

/// `billing` declares its own `Cancel`, `Cancelled`, `CancelHandler` and `Audit` (the text of
/// `orders`), plus a second handler of `orders::Cancel`.
const BILLING_REFUND: &str = r#"
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
        ("src/billing.rs", &[ORDERS, BILLING_REFUND].concat()),
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
    let handlers = "use catga::prelude::*;\nuse crate::events::Shipped;\n\n#[derive(Debug, Default)]\npub struct Notify;\n\n#[catga::handler]\nimpl EventHandler<Shipped> for Notify {\n    async fn handle(&self, _e: &Shipped, _ctx: &Context) -> catga::Result<()> {\n        Ok(())\n    }\n}\n\npub async fn lose(m: &Mediator) -> catga::Result<()> {\n    m.publish(crate::events::Lost(1)).await\n}\n";
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
    assert!(
        report.diagnostics[0]
            .message
            .ends_with("yet it is published at src/handlers.rs:15"),
        "{}",
        report.diagnostics[0].message
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

// CATGA013 missing-idempotency and CATGA014 saga-state-too-large: commands, `impl Idempotent`,
// saga states and their field types in different modules.

const ABC_LIB: &str = "pub mod a;\npub mod b;\npub mod c;\n";

/// `a`: a critical command that is not idempotent, and two types holding collections.
const A: &str = r#"use catga::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u64)]
pub struct CreateOrder {
    pub order_id: String,
    pub amount_cents: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Route {
    pub stops: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ledger {
    pub entries: Vec<u64>,
}
"#;

/// `b`: a command of the same name made idempotent in `c`, a small `Ledger`, and a state
/// that holds `a::Route`.
const B: &str = r#"use catga::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u64)]
pub struct CreateOrder {
    pub request: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ledger {
    pub account_id: u64,
    pub balance_cents: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tracking {
    pub parcel_id: String,
    pub route: crate::a::Route,
}
"#;

/// `c`: the `impl Idempotent` for `b::CreateOrder` and two sagas, one on `b::Ledger` (small)
/// and one on `b::Tracking` (a `Vec` two types down).
const C: &str = r#"use catga::prelude::*;
use crate::b::{CreateOrder, Ledger};

impl Idempotent for CreateOrder {
    fn idempotency_key(&self) -> String {
        self.request.clone()
    }
}

pub struct Settle;

impl Saga for Settle {
    type State = Ledger;
    const NAME: &'static str = "settle";
    const STEPS: &'static [&'static str] = &["post"];

    async fn execute(&self, _step: usize, _state: &mut Ledger, _ctx: &Context) -> catga::Result<()> {
        Ok(())
    }

    async fn compensate(&self, _step: usize, _state: &mut Ledger, _ctx: &Context) -> catga::Result<()> {
        Ok(())
    }
}

pub struct Track;

impl Saga for Track {
    type State = crate::b::Tracking;
    const NAME: &'static str = "track";
    const STEPS: &'static [&'static str] = &["scan"];

    async fn execute(&self, _step: usize, _state: &mut crate::b::Tracking, _ctx: &Context) -> catga::Result<()> {
        Ok(())
    }

    async fn compensate(&self, _step: usize, _state: &mut crate::b::Tracking, _ctx: &Context) -> catga::Result<()> {
        Ok(())
    }
}
"#;

/// The crate `shop` of modules `a`, `b`, `c`, with `config` as its `catga.toml`.
fn shop(config: &str) -> tempfile::TempDir {
    crate_with(&[
        ("catga.toml", config),
        ("src/lib.rs", ABC_LIB),
        ("src/a.rs", A),
        ("src/b.rs", B),
        ("src/c.rs", C),
    ])
}

fn only(report: &LintReport) -> &Diagnostic {
    assert_eq!(
        report.diagnostics.len(),
        1,
        "expected one diagnostic: {:#?}",
        report.diagnostics
    );
    &report.diagnostics[0]
}

#[test]
fn critical_command_is_reported_in_its_module_and_not_the_same_name_made_idempotent_elsewhere() {
    let dir = shop("");
    let report = run(dir.path(), &["CATGA013"], FixMode::Off, false);
    let diagnostic = only(&report);
    assert_eq!(diagnostic.path, PathBuf::from("src/a.rs"));
    assert_eq!(
        (
            diagnostic.span.start_pos.line,
            diagnostic.span.start_pos.column
        ),
        (5, 12)
    );
    assert!(
        diagnostic
            .message
            .contains("command `CreateOrder` matches the critical pattern `Create*`"),
        "{}",
        diagnostic.message
    );
    assert!(
        diagnostic
            .help
            .as_deref()
            .is_some_and(|help| help.contains("`#[idempotency_key]` on `order_id`")),
        "{:?}",
        diagnostic.help
    );
    let fix = diagnostic.fix.as_ref().expect("a fix");
    assert_eq!(
        fix.description,
        "Make `CreateOrder` idempotent, keyed on `order_id`"
    );
}

#[test]
fn fix_marks_the_command_idempotent_and_its_id_the_key_in_that_file_only() {
    let dir = shop("");
    let report = run(dir.path(), &["CATGA013"], FixMode::Unsafe, false);
    assert!(report.diagnostics.is_empty(), "{:#?}", report.diagnostics);
    assert_eq!(report.fixed, 1);
    let read =
        |name: &str| std::fs::read_to_string(dir.path().join("src").join(name)).expect("read");
    assert_eq!(
        read("a.rs"),
        A.replace(
            "#[command(response = u64)]\npub struct CreateOrder {\n    pub order_id",
            "#[command(response = u64, idempotent)]\npub struct CreateOrder {\n    #[idempotency_key]\n    pub order_id",
        )
    );
    assert_eq!(read("b.rs"), B);
    assert_eq!(read("c.rs"), C);
}

#[test]
fn exact_names_in_critical_commands_mark_one_command_critical() {
    let dir = shop("critical_commands = [\"CreateOrder\"]\n");
    let report = run(dir.path(), &["CATGA013"], FixMode::Off, false);
    assert!(
        only(&report)
            .message
            .contains("command `CreateOrder` is listed in `critical_commands`")
    );
    let dir = shop("critical_commands = [\"CreateOrders\", \"Create\"]\n");
    assert!(
        run(dir.path(), &["CATGA013"], FixMode::Off, false)
            .diagnostics
            .is_empty()
    );
}

#[test]
fn saga_state_collection_is_found_through_types_in_other_files() {
    let dir = shop("");
    let report = run(dir.path(), &["CATGA014"], FixMode::Off, false);
    let diagnostic = only(&report);
    assert_eq!(diagnostic.path, PathBuf::from("src/c.rs"));
    assert_eq!(diagnostic.span.start_pos.line, 29);
    assert_eq!(diagnostic.span.start_pos.column, 18);
    assert!(
        diagnostic.message.contains(
            "saga state `Tracking` holds a `Vec` that grows with every step: `Tracking.route.stops: Vec<String>`"
        ),
        "{}",
        diagnostic.message
    );
    assert!(diagnostic.fix.is_none());
}

#[test]
fn saga_state_size_limit_comes_from_config() {
    let dir = shop("saga_state_max_bytes = 8\n");
    let report = run(dir.path(), &["CATGA014"], FixMode::Off, false);
    let mut found: Vec<(String, u32, &str)> = report
        .diagnostics
        .iter()
        .map(|d| {
            (
                d.path.display().to_string(),
                d.span.start_pos.line,
                d.message.as_str(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!((found[0].0.as_str(), found[0].1), ("src/c.rs", 13));
    assert_eq!(
        found[0].2,
        "saga state `Ledger` is 16 B, over the 8 B limit (`saga_state_max_bytes`); largest: `account_id: u64` 8 B, `balance_cents: i64` 8 B"
    );
    assert_eq!(found[1].1, 29);
    assert!(
        found[1].2.contains("`Tracking.route.stops: Vec<String>`")
            && found[1].2.contains("; it is 48 B, over the 8 B limit"),
        "{}",
        found[1].2
    );
}

#[test]
fn attribute_fix_is_offered_only_when_non_test_code_calls_auto_register() {
    let handler = "use catga::prelude::*;\n\n#[derive(Debug, Clone, Command)]\n#[command(response = u64)]\npub struct Ping(pub u64);\n\n#[derive(Debug, Default)]\npub struct PingHandler;\n\nimpl Handler<Ping> for PingHandler {\n    async fn handle(&self, cmd: Ping, _ctx: &Context) -> catga::Result<u64> {\n        Ok(cmd.0)\n    }\n}\n";
    let fix_of = |app: &str| {
        let dir = crate_with(&[
            ("src/lib.rs", "pub mod ping;\npub mod app;\n"),
            ("src/ping.rs", handler),
            ("src/app.rs", app),
        ]);
        let report = run(dir.path(), &["CATGA001"], FixMode::Off, false);
        let diagnostic = only(&report).clone();
        assert_eq!(diagnostic.code, "CATGA001");
        diagnostic.fix
    };
    let without = "pub fn mediator() -> catga::Result<catga::Mediator> {\n    catga::Mediator::builder().build()\n}\n";
    assert!(
        fix_of(without).is_none(),
        "no auto_register(): the attribute would register nothing"
    );
    let only_in_tests = format!(
        "{without}\n#[cfg(test)]\nmod tests {{\n    fn m() -> catga::Result<catga::Mediator> {{\n        catga::Mediator::builder().auto_register().build()\n    }}\n}}\n"
    );
    assert!(
        fix_of(&only_in_tests).is_none(),
        "a test mediator does not register the service's handlers"
    );
    let auto = "pub fn mediator() -> catga::Result<catga::Mediator> {\n    catga::Mediator::builder().auto_register().build()\n}\n";
    let fix = fix_of(auto).expect("auto_register(): the attribute fix is offered");
    assert_eq!(fix.applicability, catga_lints::Applicability::Unsafe);
    assert!(fix.edits[0].content.contains("#[catga::handler]"));
}

#[test]
fn a_blocking_helper_in_another_file_is_followed_through_use_items_and_named_in_a_chain() {
    let db = "pub fn wait_for_tx(id: u64) -> u64 {\n    confirm(id)\n}\n\nfn confirm(id: u64) -> u64 {\n    std::thread::sleep(std::time::Duration::from_millis(id));\n    id\n}\n\npub fn fast(id: u64) -> u64 {\n    id + 1\n}\n";
    let app = "use crate::db::{fast, wait_for_tx};\n\npub async fn handle(id: u64) -> u64 {\n    fast(id) + wait_for_tx(id)\n}\n\npub fn sync_caller(id: u64) -> u64 {\n    wait_for_tx(id)\n}\n";
    let dir = crate_with(&[
        ("src/lib.rs", "pub mod app;\npub mod db;\n"),
        ("src/db.rs", db),
        ("src/app.rs", app),
    ]);
    let report = run(dir.path(), &["CATGA016"], FixMode::Off, false);
    let diagnostic = only(&report);
    assert!(diagnostic.path.ends_with("app.rs"), "{diagnostic:?}");
    assert_eq!(diagnostic.span.start_pos.line, 4);
    assert_eq!(
        diagnostic.message,
        "`wait_for_tx` blocks the executor thread inside async fn `handle`: `handle` -> `wait_for_tx` -> `confirm` -> `std::thread::sleep`"
    );
}

/// CATGA010 on a crate with `registration = "attribute"`: `handlers.rs` holds `impl` (after
/// `declaration`), `app.rs` is `app`; the applicability of the one finding's fix, if any.
fn attribute_fix(
    declaration: &str,
    impl_block: &str,
    app: &str,
) -> Option<catga_lints::Applicability> {
    // `handlers.rs` imports by name: a glob of a crate module could bring in any name, even
    // `Default`, and then no impl of it is known for sure (the resolver's rule, not this one's).
    let dir = crate_with(&[
        ("catga.toml", "registration = \"attribute\"\n"),
        (
            "src/lib.rs",
            "pub mod app;\npub mod handlers;\npub mod types;\n",
        ),
        (
            "src/handlers.rs",
            &format!(
                "use catga::prelude::*;\nuse crate::types::{{Ping, RemoteHandler, SharedHandler}};\n\n{declaration}\n\n{impl_block}\n"
            ),
        ),
        (
            "src/types.rs",
            "use catga::prelude::*;\n\n#[derive(Debug, Clone, Command)]\n#[command(response = u64)]\npub struct Ping(pub u64);\n\n#[derive(Debug, Default)]\npub struct SharedHandler;\n\npub struct RemoteHandler;\n",
        ),
        ("src/app.rs", app),
    ]);
    let report = run(dir.path(), &["CATGA010"], FixMode::Off, false);
    let diagnostic = only(&report);
    assert_eq!(diagnostic.path, Path::new("src/handlers.rs"));
    diagnostic.fix.as_ref().map(|fix| fix.applicability)
}

const AUTO_APP: &str = "pub fn mediator() -> catga::Result<catga::Mediator> {\n    catga::Mediator::builder().auto_register().build()\n}\n";

fn ping_impl(ty: &str) -> String {
    format!(
        "impl Handler<Ping> for {ty} {{\n    async fn handle(&self, p: Ping, _ctx: &Context) -> catga::Result<u64> {{\n        Ok(p.0)\n    }}\n}}"
    )
}

#[test]
fn missing_attribute_fix_is_safe_only_when_the_workspace_shows_default() {
    use catga_lints::Applicability::{Safe, Unsafe};
    let local = ping_impl("PingHandler");
    for (declaration, expected) in [
        (
            "#[derive(Default)]\npub struct PingHandler { n: u8 }",
            Some(Safe),
        ),
        (
            "pub struct PingHandler { n: u8 }\nimpl Default for PingHandler {\n    fn default() -> Self {\n        PingHandler { n: 1 }\n    }\n}",
            Some(Safe),
        ),
        ("pub struct PingHandler;", Some(Unsafe)),
        ("pub struct PingHandler { n: u8 }", None),
        ("pub enum PingHandler { A }", None),
    ] {
        assert_eq!(
            attribute_fix(declaration, &local, AUTO_APP),
            expected,
            "{declaration}"
        );
    }
    // Declared in another file: safe with its `Default`; without one the attribute would not
    // compile, and the derive cannot be added from this file: no fix.
    assert_eq!(
        attribute_fix("", &ping_impl("SharedHandler"), AUTO_APP),
        Some(Safe)
    );
    assert_eq!(
        attribute_fix("", &ping_impl("RemoteHandler"), AUTO_APP),
        None
    );
    // Declared nowhere the run sees: `Default` cannot be known.
    assert_eq!(attribute_fix("", &ping_impl("Elsewhere"), AUTO_APP), None);
}

#[test]
fn missing_attribute_has_no_fix_without_auto_register_or_with_a_builder_call_in_another_file() {
    let declaration = "#[derive(Default)]\npub struct PingHandler;";
    let local = ping_impl("PingHandler");
    let plain = "pub fn mediator() -> catga::Result<catga::Mediator> {\n    catga::Mediator::builder().build()\n}\n";
    assert_eq!(attribute_fix(declaration, &local, plain), None);
    let tests_only = format!(
        "{plain}\n#[cfg(test)]\nmod tests {{\n    fn m() -> catga::Result<catga::Mediator> {{\n        catga::Mediator::builder().auto_register().build()\n    }}\n}}\n"
    );
    assert_eq!(attribute_fix(declaration, &local, &tests_only), None);
    let builder = "use crate::handlers::PingHandler;\n\npub fn mediator() -> catga::Result<catga::Mediator> {\n    catga::Mediator::builder().auto_register().handler(PingHandler).build()\n}\n";
    assert_eq!(attribute_fix(declaration, &local, builder), None);
}

#[test]
fn missing_attribute_is_not_reported_with_builder_style_or_when_the_attribute_is_written_otherwise()
{
    let files = |config: &str| {
        crate_with(&[
            ("catga.toml", config),
            ("src/lib.rs", "pub mod a;\n"),
            (
                "src/a.rs",
                "use catga::prelude::*;\nuse catga::handler;\n\n#[handler]\nimpl Handler<Ping> for A {}\n\n#[cfg_attr(feature = \"auto\", catga::handler)]\nimpl Handler<Pong> for B {}\n\nimpl<T: Send + Sync> Handler<Ping> for C<T> {}\n\npub struct D;\n\nimpl Handler<Ping> for D {}\n",
            ),
        ])
    };
    let builder_style = files("");
    assert!(
        run(builder_style.path(), &["CATGA010"], FixMode::Off, false)
            .diagnostics
            .is_empty()
    );
    let attribute_style = files("registration = \"attribute\"\n");
    let report = run(attribute_style.path(), &["CATGA010"], FixMode::Off, false);
    assert_eq!(
        only(&report).span.start_pos.line,
        14,
        "only `D` lacks the attribute"
    );
}
