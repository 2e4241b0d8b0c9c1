//! CATGA013 missing-idempotency and CATGA014 saga-state-too-large across files: a scratch crate
//! whose commands, `impl Idempotent`, saga states and their field types live in different
//! modules, with same-named types in two modules that must not be confused.

use catga_lints::{Diagnostic, FixMode, LintOptions, LintReport, lint};
use std::path::{Path, PathBuf};

const LIB: &str = "pub mod a;\npub mod b;\npub mod c;\n";

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

/// The scratch crate `shop`, with `config` as its `catga.toml`.
fn shop(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("scratch dir");
    let root = dir.path();
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[workspace]\n",
    )
    .expect("manifest");
    std::fs::write(root.join("catga.toml"), config).expect("config");
    std::fs::create_dir(root.join("src")).expect("src");
    for (name, text) in [("lib.rs", LIB), ("a.rs", A), ("b.rs", B), ("c.rs", C)] {
        std::fs::write(root.join("src").join(name), text).expect("source file");
    }
    dir
}

fn run(root: &Path, code: &str, fix: FixMode) -> LintReport {
    let options = LintOptions {
        root: root.to_path_buf(),
        select: vec![code.into()],
        fix,
        cache: false,
        ..LintOptions::default()
    };
    lint(&options).unwrap_or_else(|error| panic!("lint failed: {error}"))
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
    let report = run(dir.path(), "CATGA013", FixMode::Off);
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
    let report = run(dir.path(), "CATGA013", FixMode::Unsafe);
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
    let report = run(dir.path(), "CATGA013", FixMode::Off);
    assert!(
        only(&report)
            .message
            .contains("command `CreateOrder` is listed in `critical_commands`")
    );
    let dir = shop("critical_commands = [\"CreateOrders\", \"Create\"]\n");
    assert!(
        run(dir.path(), "CATGA013", FixMode::Off)
            .diagnostics
            .is_empty()
    );
}

#[test]
fn saga_state_collection_is_found_through_types_in_other_files() {
    let dir = shop("");
    let report = run(dir.path(), "CATGA014", FixMode::Off);
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
    let report = run(dir.path(), "CATGA014", FixMode::Off);
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
