//! `LiveWorkspace`, the analyzer kept in memory for an editor: unsaved buffers checked in place
//! of files, cross-file rules settled by an edit in another file, the fix-all and allow edits.

use catga_lints::source::SourceFile;
use catga_lints::{FixMode, LintOptions, LiveWorkspace, allow_edit, apply_edits};
use std::path::{Path, PathBuf};

const MANIFEST: &str = "[package]\nname = \"shop\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n\
    [dependencies]\ncatga = \"0\"\ntokio = { version = \"1\", features = [\"full\"] }\n\n[workspace]\n";

const HANDLERS: &str = "use catga::prelude::*;
use std::time::Duration;

#[derive(Debug, Clone, Command)]
#[command(response = u64)]
pub struct Reserve(pub u64);

pub struct ReserveHandler;

impl Handler<Reserve> for ReserveHandler {
    async fn handle(&self, cmd: Reserve, _ctx: &Context) -> catga::Result<u64> {
        std::thread::sleep(Duration::from_millis(5));
        Ok(cmd.0)
    }
}
";

const APP: &str = "use catga::prelude::*;\n\npub fn mediator() -> catga::Result<Mediator> {\n    Mediator::builder().build()\n}\n";

fn workspace() -> (tempfile::TempDir, LiveWorkspace, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in [
        ("Cargo.toml", MANIFEST),
        ("src/lib.rs", "pub mod app;\npub mod handlers;\n"),
        ("src/handlers.rs", HANDLERS),
        ("src/app.rs", APP),
    ] {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let live = LiveWorkspace::open(&LintOptions {
        root: dir.path().to_path_buf(),
        cache: true,
        ..LintOptions::default()
    })
    .unwrap();
    let root = live.root().to_path_buf();
    (
        dir,
        live,
        root.join("src/handlers.rs"),
        root.join("src/app.rs"),
    )
}

fn codes(live: &LiveWorkspace, path: &Path) -> Vec<String> {
    live.diagnostics(path).into_iter().map(|d| d.code).collect()
}

#[test]
fn live_workspace_checks_unsaved_buffers_and_goes_back_to_disk() {
    let (_dir, mut live, handlers, _) = workspace();
    assert_eq!(live.file_count(), 3);
    assert_eq!(codes(&live, &handlers), ["CATGA001", "CATGA005"]);
    let fixed = HANDLERS.replace("std::thread::sleep", "let _ = ");
    let changed = live.set_text(&handlers, Some(fixed.clone()));
    assert_eq!(changed, std::slice::from_ref(&handlers));
    assert_eq!(codes(&live, &handlers), ["CATGA001"]);
    assert_eq!(live.text(&handlers).as_deref(), Some(fixed.as_str()));
    live.set_text(&handlers, None);
    assert_eq!(codes(&live, &handlers), ["CATGA001", "CATGA005"]);
}

#[test]
fn live_workspace_settles_a_cross_file_finding_from_another_files_buffer() {
    let (_dir, mut live, handlers, app) = workspace();
    let registered = APP.replace(
        "Mediator::builder().build()",
        "Mediator::builder().handler(crate::handlers::ReserveHandler).build()",
    );
    let changed = live.set_text(&app, Some(registered));
    assert_eq!(
        changed,
        std::slice::from_ref(&handlers),
        "only the handler's findings moved"
    );
    assert_eq!(codes(&live, &handlers), ["CATGA005"]);
    assert!(
        live.set_text(Path::new("/not/in/the/workspace.rs"), None)
            .is_empty()
    );
}

#[test]
fn live_workspace_fix_all_applies_the_safe_fixes_to_the_buffer() {
    let (_dir, live, handlers, _) = workspace();
    let fixed = live.fix_all(&handlers, FixMode::Safe).expect("a safe fix");
    assert!(
        fixed.contains("tokio::time::sleep(Duration::from_millis(5)).await;"),
        "{fixed}"
    );
    // CATGA001's fix is unsafe: not applied.
    assert!(!fixed.contains("#[catga::handler]"), "{fixed}");
}

#[test]
fn allow_edit_puts_the_comment_above_the_line_with_its_indentation() {
    let source = SourceFile::new("a.rs", HANDLERS);
    let edit = allow_edit(&source, 12, "CATGA005").unwrap();
    let allowed = apply_edits(&source.text, [&edit]).unwrap();
    assert!(allowed.contains(
        "    async fn handle(&self, cmd: Reserve, _ctx: &Context) -> catga::Result<u64> {\n        // catga-allow(CATGA005): TODO reason\n        std::thread::sleep("
    ), "{allowed}");
    let in_string = SourceFile::new("b.rs", "fn f() {\n    let s = \"a\nb\"; g();\n}\n");
    assert_eq!(allow_edit(&in_string, 3, "CATGA005"), None);
}

/// Fragments a random edit adds: handlers, registrations, events, blocking helpers (in the
/// file and in another), a suppression comment; each moves some cross-file finding.
const SNIPPETS: &[&str] = &[
    "\npub struct ProbeHandler;\nimpl Handler<CreateOrder> for ProbeHandler {\n    async fn handle(&self, _cmd: CreateOrder, _ctx: &Context) -> catga::Result<()> {\n        Ok(())\n    }\n}\n",
    "\npub fn probe_mediator() -> catga::Result<Mediator> {\n    Mediator::builder().handler(ProbeHandler).auto_register().build()\n}\n",
    "\n#[derive(Debug, Clone, Event)]\npub struct ProbeEvent(pub u64);\n",
    "\npub struct ProbeEventHandler;\nimpl EventHandler<ProbeEvent> for ProbeEventHandler {\n    async fn handle(&self, _event: &ProbeEvent, _ctx: &Context) -> catga::Result<()> {\n        Ok(())\n    }\n}\n",
    "\n#[derive(Debug, Clone, Command)]\n#[command(response = ())]\npub struct CreateOrder(pub u64);\n",
    "\npub fn probe_wait() {\n    std::thread::sleep(std::time::Duration::from_millis(1));\n}\npub async fn probe_caller() {\n    probe_wait();\n}\n",
    "\npub async fn probe_remote() {\n    crate::helpers::wait();\n}\n",
    "\npub fn wait() {\n    crate::helpers::deeper();\n}\npub fn deeper() {\n    std::thread::sleep(std::time::Duration::from_millis(1));\n}\n",
    "// catga-allow(CATGA001, CATGA015, CATGA016): probe\n",
];

/// A deterministic pseudo-random sequence (xorshift), so a failure replays.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Every diagnostic, in one order for both sides of a comparison.
fn sorted(mut diagnostics: Vec<catga_lints::Diagnostic>) -> Vec<catga_lints::Diagnostic> {
    diagnostics.sort_by_key(|diagnostic| format!("{diagnostic:?}"));
    diagnostics
}

/// Random edits to a workspace made of every rule fixture; after each, what the live workspace
/// holds must be exactly what a fresh full run finds, and every file whose findings moved must
/// be among those `set_text` reports.
fn live_workspace_matches_a_full_run_after_random_edits(config: &str, seed: u64) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let mut originals: Vec<(String, String)> = Vec::new();
    let mut codes: Vec<_> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    codes.sort();
    for code in &codes {
        for kind in ["bad", "good"] {
            if let Ok(text) =
                std::fs::read_to_string(fixtures.join(code).join(format!("{kind}.rs")))
            {
                originals.push((format!("{code}_{kind}"), text));
            }
        }
    }
    originals.push(("helpers".to_string(), SNIPPETS[7].to_string()));
    let lib: String = originals
        .iter()
        .map(|(module, _)| format!("pub mod {module};\n"))
        .collect();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), MANIFEST).unwrap();
    std::fs::write(dir.path().join("catga.toml"), config).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), lib).unwrap();
    for (module, text) in &originals {
        std::fs::write(dir.path().join(format!("src/{module}.rs")), text).unwrap();
    }
    let options = LintOptions {
        root: dir.path().to_path_buf(),
        ..LintOptions::default()
    };
    let mut live = LiveWorkspace::open(&options).unwrap();
    let paths: Vec<PathBuf> = originals
        .iter()
        .map(|(module, _)| live.root().join(format!("src/{module}.rs")))
        .collect();
    let everything = |live: &LiveWorkspace| {
        let mut all = live.diagnostics(&live.root().join("src/lib.rs"));
        for path in &paths {
            all.extend(live.diagnostics(path));
        }
        sorted(all)
    };
    let mut rng = Rng(seed);
    for step in 0..30 {
        let file = rng.below(paths.len());
        let current = live.text(&paths[file]).unwrap();
        let mut lines: Vec<String> = current.lines().map(str::to_string).collect();
        let edit = match rng.below(5) {
            0 => {
                let other = rng.below(originals.len());
                lines = originals[other].1.lines().map(str::to_string).collect();
                format!("replaced with {}", originals[other].0)
            }
            1 if !lines.is_empty() => {
                let start = rng.below(lines.len());
                let end = (start + 1 + rng.below(8)).min(lines.len());
                lines.drain(start..end);
                format!("deleted lines {}..{end}", start + 1)
            }
            2 => {
                let (name, source) = &originals[rng.below(originals.len())];
                let source: Vec<&str> = source.lines().collect();
                let start = rng.below(source.len().max(1));
                let end = (start + 1 + rng.below(12)).min(source.len());
                let at = rng.below(lines.len() + 1);
                for (offset, line) in source[start..end].iter().enumerate() {
                    lines.insert(at + offset, line.to_string());
                }
                format!("copied {name}:{}..{end} to line {}", start + 1, at + 1)
            }
            3 => {
                let snippet = rng.below(SNIPPETS.len());
                let at = rng.below(lines.len() + 1);
                lines.insert(at, SNIPPETS[snippet].to_string());
                format!("snippet {snippet} at line {}", at + 1)
            }
            _ => {
                lines = originals[file].1.lines().map(str::to_string).collect();
                "restored".to_string()
            }
        };
        let text = lines.join("\n") + "\n";
        let what = format!("step {step}: {} {edit}", originals[file].0);
        // The full run reads the disk: the buffer and the file hold the same text, and the
        // live workspace reads either.
        std::fs::write(&paths[file], &text).unwrap();
        let before = everything(&live);
        let changed = if rng.below(4) == 0 {
            live.set_text(&paths[file], None)
        } else {
            live.set_text(&paths[file], Some(text))
        };
        let after = everything(&live);
        let full = sorted(catga_lints::lint(&options).unwrap().diagnostics);
        let missing: Vec<_> = full.iter().filter(|d| !after.contains(d)).collect();
        let extra: Vec<_> = after.iter().filter(|d| !full.contains(d)).collect();
        assert!(
            missing.is_empty() && extra.is_empty() && after.len() == full.len(),
            "{what}: missing {missing:#?}, extra {extra:#?}"
        );
        for diagnostic in before.iter().filter(|d| !after.contains(d)) {
            let path = live.root().join(&diagnostic.path);
            assert!(changed.contains(&path), "{what}: {path:?} not reported");
        }
        for diagnostic in after.iter().filter(|d| !before.contains(d)) {
            let path = live.root().join(&diagnostic.path);
            assert!(changed.contains(&path), "{what}: {path:?} not reported");
        }
    }
}

#[test]
fn live_workspace_matches_a_full_run_after_random_edits_with_builder_registration() {
    live_workspace_matches_a_full_run_after_random_edits(
        "critical_commands = [\"Create*\", \"ShipParcel\"]\n",
        0x5eed_0017,
    );
}

#[test]
fn live_workspace_matches_a_full_run_after_random_edits_with_attribute_registration() {
    live_workspace_matches_a_full_run_after_random_edits(
        "registration = \"attribute\"\n",
        0xca7a_0017,
    );
}

fn codes_of(diagnostics: &[catga_lints::Diagnostic]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|diagnostic| format!("{} {}", diagnostic.path.display(), diagnostic.code))
        .collect()
}

#[test]
fn apply_changes_reports_new_and_fixed_findings_but_not_moved_ones() {
    let (_dir, mut live, handlers, app) = workspace();
    // Lines added above the findings move them: neither new nor fixed.
    std::fs::write(&handlers, format!("// a comment\n\n{HANDLERS}")).unwrap();
    let diff = live.apply_changes(std::slice::from_ref(&handlers)).unwrap();
    assert!(diff.is_empty(), "{diff:#?}");
    std::fs::write(&handlers, HANDLERS.replace("std::thread::sleep", "drop")).unwrap();
    let diff = live.apply_changes(std::slice::from_ref(&handlers)).unwrap();
    assert_eq!(codes_of(&diff.fixed), ["src/handlers.rs CATGA005"]);
    assert!(diff.new.is_empty());
    // Another file settles a cross-file finding.
    std::fs::write(
        &app,
        APP.replace(
            "Mediator::builder().build()",
            "Mediator::builder().handler(crate::handlers::ReserveHandler).build()",
        ),
    )
    .unwrap();
    let diff = live.apply_changes(std::slice::from_ref(&app)).unwrap();
    assert_eq!(codes_of(&diff.fixed), ["src/handlers.rs CATGA001"]);
    std::fs::write(&handlers, HANDLERS).unwrap();
    let diff = live.apply_changes(std::slice::from_ref(&handlers)).unwrap();
    assert_eq!(codes_of(&diff.new), ["src/handlers.rs CATGA005"]);
    assert_eq!(live.all_diagnostics().len(), 1);
}

#[test]
fn apply_changes_opens_again_for_new_files_deleted_files_and_configuration() {
    let (_dir, mut live, handlers, app) = workspace();
    let added = live.root().join("src/more.rs");
    std::fs::write(
        &added,
        "pub async fn f() {\n    std::thread::sleep(std::time::Duration::from_millis(1));\n}\n",
    )
    .unwrap();
    let diff = live.apply_changes(std::slice::from_ref(&added)).unwrap();
    assert_eq!(codes_of(&diff.new), ["src/more.rs CATGA005"]);
    assert!(live.contains(&added));
    std::fs::remove_file(&added).unwrap();
    let diff = live.apply_changes(std::slice::from_ref(&added)).unwrap();
    assert_eq!(codes_of(&diff.fixed), ["src/more.rs CATGA005"]);
    // A directory removed with its files, told as the directory alone.
    let nested = live.root().join("src/nested/deep.rs");
    std::fs::create_dir_all(nested.parent().unwrap()).unwrap();
    std::fs::write(
        &nested,
        "pub async fn f() {\n    std::thread::sleep(std::time::Duration::from_millis(1));\n}\n",
    )
    .unwrap();
    let diff = live.apply_changes(std::slice::from_ref(&nested)).unwrap();
    assert_eq!(codes_of(&diff.new), ["src/nested/deep.rs CATGA005"]);
    std::fs::remove_dir_all(nested.parent().unwrap()).unwrap();
    let diff = live
        .apply_changes(&[live.root().join("src/nested")])
        .unwrap();
    assert_eq!(codes_of(&diff.fixed), ["src/nested/deep.rs CATGA005"]);
    let config = live.root().join("catga.toml");
    std::fs::write(&config, "ignore = [\"CATGA005\"]\n").unwrap();
    let diff = live.apply_changes(std::slice::from_ref(&config)).unwrap();
    assert_eq!(codes_of(&diff.fixed), ["src/handlers.rs CATGA005"]);
    // A configuration that does not load is an error, and the workspace stays as it was.
    std::fs::write(&config, "no_such_key = 1\n").unwrap();
    assert!(live.apply_changes(std::slice::from_ref(&config)).is_err());
    assert_eq!(codes(&live, &handlers), ["CATGA001"]);
    // Cargo's target directory and files that are not Rust change nothing.
    let target = live.root().join("target/debug/build/out.rs");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(
        &target,
        "pub async fn g() { std::thread::sleep(todo!()); }\n",
    )
    .unwrap();
    let notes = live.root().join("notes.txt");
    std::fs::write(&notes, "x").unwrap();
    assert!(
        live.apply_changes(&[target, notes, app])
            .unwrap()
            .is_empty()
    );
}
