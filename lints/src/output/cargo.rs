//! The `cargo` format: cargo's JSON messages (`cargo check --message-format=json`), one object
//! per line, so anything that reads cargo's messages (rust-analyzer's
//! `rust-analyzer.check.overrideCommand`, `cargo_metadata::Message`) shows catga's findings
//! beside rustc's.
//!
//! Each diagnostic is a `{"reason":"compiler-message","package_id",..,"manifest_path",..,
//! "target",..,"message":{..}}` whose `message` is shaped as rustc's JSON diagnostic: `message`,
//! `code` (`{code, explanation}`, the explanation being the rule's documentation), `level`
//! (`error`, `warning`; info is rustc's `note`), one primary span (byte offsets, 1-based lines,
//! 1-based character columns, the source lines with the highlighted columns), `children` (the
//! help line; the fix as a `help` child whose spans carry `suggested_replacement` and
//! `suggestion_applicability`: safe fixes are `MachineApplicable`, unsafe ones
//! `MaybeIncorrect`, display-only ones carry no replacement) and `rendered`, the message as rustc
//! would print it. The stream ends with `{"reason":"build-finished","success":..}`.
//!
//! File names are relative to the project root, as cargo writes them from the workspace root.
//! Which package and target a file belongs to comes from [`Packages`] (`cargo metadata
//! --no-deps`); a file of no known package gets a stand-in package named after the project root.

use super::in_output_order;
use crate::diagnostic::{Applicability, Diagnostic, Severity, Span};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The cargo package and target a file is compiled in, as cargo's messages name them.
#[derive(Debug, Clone, PartialEq)]
pub struct CargoTarget {
    /// Cargo's package id (`path+file:///work/shop#0.1.0`).
    pub package_id: String,
    /// The package's `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The target as `cargo metadata` describes it (`name`, `kind`, `crate_types`, `src_path`, ..).
    pub target: Value,
    /// The directory the target's sources live in (files below it belong to it).
    src_dir: PathBuf,
    /// Only the target's root file belongs to it (a build script, a root file beside the
    /// manifest).
    root_file_only: bool,
}

/// Which package and target each file belongs to.
#[derive(Debug, Clone, Default)]
pub struct Packages {
    /// Library, binary and proc-macro targets first: a file shared with tests belongs to them.
    targets: Vec<CargoTarget>,
}

impl Packages {
    /// The workspace members' targets of the cargo project around `project_root`, read with
    /// `cargo metadata --no-deps --offline` (nothing resolved or downloaded); empty when there is
    /// no cargo project or cargo cannot read it.
    pub fn load(project_root: &Path) -> Packages {
        let Some(manifest) = project_root
            .ancestors()
            .map(|dir| dir.join("Cargo.toml"))
            .find(|manifest| manifest.is_file())
        else {
            return Packages::default();
        };
        let Ok(metadata) = cargo_metadata::MetadataCommand::new()
            .manifest_path(&manifest)
            .no_deps()
            .other_options(vec!["--offline".to_string()])
            .exec()
        else {
            return Packages::default();
        };
        let members: Vec<_> = metadata.workspace_members.iter().collect();
        let mut targets = Vec::new();
        for package in metadata
            .packages
            .iter()
            .filter(|package| members.contains(&&package.id))
        {
            let package_dir = package
                .manifest_path
                .parent()
                .map(|dir| dir.as_std_path().to_path_buf())
                .unwrap_or_default();
            for target in &package.targets {
                let src = target.src_path.as_std_path();
                let src_dir = src.parent().unwrap_or(src).to_path_buf();
                let primary = target.is_lib() || target.is_bin() || target.is_proc_macro();
                targets.push((
                    !primary,
                    CargoTarget {
                        package_id: package.id.repr.clone(),
                        manifest_path: package.manifest_path.clone().into_std_path_buf(),
                        target: serde_json::to_value(target).unwrap_or(Value::Null),
                        root_file_only: target.is_custom_build() || src_dir == package_dir,
                        src_dir,
                    },
                ));
            }
        }
        // Stable: primary targets first, each group in cargo's order.
        targets.sort_by_key(|(secondary, _)| *secondary);
        Packages {
            targets: targets.into_iter().map(|(_, target)| target).collect(),
        }
    }

    /// Packages from known targets: `(package_id, manifest_path, target)` with `target` as
    /// `cargo metadata` writes it (its `src_path` decides which files belong to it), primary
    /// targets (lib, bin) first. For tests and tools that already ran `cargo metadata`.
    pub fn from_targets(targets: Vec<(String, PathBuf, Value)>) -> Packages {
        let targets = targets
            .into_iter()
            .map(|(package_id, manifest_path, target)| {
                let src = PathBuf::from(target["src_path"].as_str().unwrap_or_default());
                let src_dir = src.parent().map(Path::to_path_buf).unwrap_or_default();
                let package_dir = manifest_path.parent().map(Path::to_path_buf);
                let custom_build = target["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|kind| kind == "custom-build"));
                CargoTarget {
                    root_file_only: custom_build || package_dir.as_ref() == Some(&src_dir),
                    package_id,
                    manifest_path,
                    target,
                    src_dir,
                }
            })
            .collect();
        Packages { targets }
    }

    /// The target the file at `path` (absolute) is compiled in.
    pub fn of(&self, path: &Path) -> Option<&CargoTarget> {
        let belongs = |target: &&CargoTarget| {
            if target.root_file_only {
                target.target["src_path"].as_str().map(Path::new) == Some(path)
            } else {
                path.starts_with(&target.src_dir)
            }
        };
        // The deepest source directory wins (`src/bin/tool.rs` is the bin's, not the lib's);
        // among equals, the first (primary targets come first).
        self.targets
            .iter()
            .filter(belongs)
            .fold(None, |best: Option<&CargoTarget>, target| match best {
                Some(best)
                    if best.src_dir.components().count() >= target.src_dir.components().count() =>
                {
                    Some(best)
                }
                _ => Some(target),
            })
    }
}

/// Renders every diagnostic as a `compiler-message` line and closes with `build-finished`.
///
/// Paths of `diagnostics` are relative to `project_root` (as
/// [`crate::output::relative_to`] makes them) or absolute; the source lines are read from there.
/// `success` is what `build-finished` reports: whether the run passed its `--fail-on` threshold.
pub fn render(
    diagnostics: &[Diagnostic],
    project_root: &Path,
    packages: &Packages,
    success: bool,
) -> String {
    let mut sources: HashMap<PathBuf, Option<String>> = HashMap::new();
    let mut out = String::new();
    for diagnostic in in_output_order(diagnostics) {
        let absolute = project_root.join(&diagnostic.path);
        let text = sources
            .entry(absolute.clone())
            .or_insert_with(|| {
                let text = std::fs::read_to_string(&absolute).ok()?;
                Some(match text.strip_prefix('\u{feff}') {
                    Some(rest) => rest.to_string(),
                    None => text,
                })
            })
            .as_deref();
        let (package_id, manifest_path, target) = match packages.of(&absolute) {
            Some(known) => (
                known.package_id.clone(),
                known.manifest_path.clone(),
                known.target.clone(),
            ),
            None => stand_in(project_root, &absolute),
        };
        let line = CompilerMessage {
            reason: "compiler-message",
            package_id,
            manifest_path,
            target,
            message: rustc_diagnostic(diagnostic, text),
        };
        out.push_str(
            &serde_json::to_string(&line).expect("serializing strings, numbers and values"),
        );
        out.push('\n');
    }
    out.push_str(&json!({"reason": "build-finished", "success": success}).to_string());
    out.push('\n');
    out
}

#[derive(Serialize)]
struct CompilerMessage {
    reason: &'static str,
    package_id: String,
    manifest_path: PathBuf,
    target: Value,
    message: Value,
}

/// The package of a file no cargo package holds: named after the project root, with a library
/// target rooted at the file itself.
fn stand_in(project_root: &Path, file: &Path) -> (String, PathBuf, Value) {
    let name = file
        .file_stem()
        .map(|stem| stem.to_string_lossy().replace('-', "_"))
        .unwrap_or_else(|| "catga".to_string());
    (
        format!("path+file://{}", project_root.display()),
        project_root.join("Cargo.toml"),
        json!({
            "kind": ["lib"], "crate_types": ["lib"], "name": name, "src_path": file,
            "edition": "2021", "doc": true, "doctest": false, "test": true,
        }),
    )
}

/// One diagnostic as rustc's JSON diagnostic.
fn rustc_diagnostic(diagnostic: &Diagnostic, text: Option<&str>) -> Value {
    let file_name = super::slash_path(&diagnostic.path);
    let meta = crate::rules::rule(&diagnostic.code);
    let mut children = Vec::new();
    if let Some(help) = &diagnostic.help {
        children.push(child("help", help, Vec::new()));
    }
    if let Some(fix) = &diagnostic.fix {
        let applicability = match fix.applicability {
            Applicability::Safe => Some("MachineApplicable"),
            Applicability::Unsafe => Some("MaybeIncorrect"),
            Applicability::DisplayOnly => None,
        };
        let spans = fix
            .edits
            .iter()
            .map(|edit| {
                span(
                    &file_name,
                    edit.span,
                    text,
                    false,
                    None,
                    applicability.map(|applicability| (edit.content.as_str(), applicability)),
                )
            })
            .collect();
        let message = match fix.applicability {
            Applicability::Safe => fix.description.clone(),
            Applicability::Unsafe => format!("{} (unsafe fix: review it)", fix.description),
            Applicability::DisplayOnly => format!("{} (suggestion only)", fix.description),
        };
        children.push(child("help", &message, spans));
    }
    json!({
        "$message_type": "diagnostic",
        "message": diagnostic.message,
        "code": {
            "code": diagnostic.code,
            "explanation": meta.map(|meta| format!("# {}: {}\n\n{}", meta.code, meta.name, meta.docs.trim())),
        },
        "level": level(diagnostic.severity),
        "spans": [span(&file_name, diagnostic.span, text, true, None, None)],
        "children": children,
        "rendered": rendered(diagnostic, &file_name, text),
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn child(level: &str, message: &str, spans: Vec<Value>) -> Value {
    json!({
        "$message_type": "diagnostic",
        "message": message,
        "code": null,
        "level": level,
        "spans": spans,
        "children": [],
        "rendered": null,
    })
}

/// A rustc span: offsets, positions, the source lines it covers with their highlighted columns,
/// and, for a suggestion, the replacement and how sure it is.
fn span(
    file_name: &str,
    at: Span,
    text: Option<&str>,
    is_primary: bool,
    label: Option<&str>,
    suggestion: Option<(&str, &str)>,
) -> Value {
    let (start, end) = (at.start_pos, at.end_pos);
    let lines: Vec<Value> = if text.is_none() {
        Vec::new()
    } else {
        (start.line..=end.line)
        .map(|line| {
            let source = text.map_or("", |text| line_text(text, line));
            let width = source.chars().count() as u32 + 1;
            let highlight_start = if line == start.line { start.column } else { 1 };
            let highlight_end = if line == end.line { end.column } else { width };
            json!({"text": source, "highlight_start": highlight_start, "highlight_end": highlight_end})
        })
        .collect()
    };
    json!({
        "file_name": file_name,
        "byte_start": at.start,
        "byte_end": at.end,
        "line_start": start.line,
        "line_end": end.line,
        "column_start": start.column,
        "column_end": end.column,
        "is_primary": is_primary,
        "text": lines,
        "label": label,
        "suggested_replacement": suggestion.map(|(replacement, _)| replacement),
        "suggestion_applicability": suggestion.map(|(_, applicability)| applicability),
        "expansion": null,
    })
}

/// The 1-based line `line` of `text`, without its terminator.
fn line_text(text: &str, line: u32) -> &str {
    text.split('\n')
        .nth(line.saturating_sub(1) as usize)
        .map_or("", |line| line.strip_suffix('\r').unwrap_or(line))
}

/// The diagnostic as rustc prints it: header, location, the first line of the span underlined,
/// help and the way to the rule's documentation.
fn rendered(diagnostic: &Diagnostic, file_name: &str, text: Option<&str>) -> String {
    let start = diagnostic.span.start_pos;
    let end = diagnostic.span.end_pos;
    let number = start.line.to_string();
    let gutter = " ".repeat(number.len());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}[{}]: {}",
        level(diagnostic.severity),
        diagnostic.code,
        diagnostic.message
    );
    let _ = writeln!(
        out,
        "{gutter}--> {file_name}:{}:{}",
        start.line, start.column
    );
    if let Some(text) = text {
        let source = line_text(text, start.line);
        let width = source.chars().count() as u32 + 1;
        let last = if end.line == start.line {
            end.column
        } else {
            width
        };
        let carets = last.saturating_sub(start.column).max(1) as usize;
        let label = diagnostic
            .fix
            .as_ref()
            .map(|fix| format!(" {}", fix.description))
            .unwrap_or_default();
        let _ = writeln!(out, "{gutter} |");
        let _ = writeln!(out, "{number} | {source}");
        let _ = writeln!(
            out,
            "{gutter} | {}{}{label}",
            " ".repeat(start.column.saturating_sub(1) as usize),
            "^".repeat(carets)
        );
        let _ = writeln!(out, "{gutter} |");
    }
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(out, "{gutter} = help: {help}");
    }
    let _ = writeln!(
        out,
        "{gutter} = note: `{}` ({}); run `catga explain {}` for details",
        diagnostic.code, diagnostic.name, diagnostic.code
    );
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{blocking_sleep, sync_io};
    use super::*;

    /// A project root holding `src/orders.rs` with the blocking sleep on line 41 (the test
    /// diagnostics' spans assume lines of 100 bytes), and its package.
    fn project() -> (tempfile::TempDir, Packages) {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for line in 1..=50 {
            let content = if line == 41 {
                "        std::thread::sleep(Duration::from_millis(5));".to_string()
            } else {
                format!("// line {line}")
            };
            // Every line 100 bytes long, as the test diagnostics' spans assume.
            text.push_str(&format!("{content} //{}\n", "-".repeat(96 - content.len())));
        }
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/orders.rs"), text).unwrap();
        let root = dir.path();
        let packages = Packages::from_targets(vec![(
            "path+file:///work/shop#0.1.0".to_string(),
            root.join("Cargo.toml"),
            json!({
                "kind": ["lib"], "crate_types": ["lib"], "name": "shop",
                "src_path": root.join("src/lib.rs"), "edition": "2024",
                "doc": true, "doctest": true, "test": true,
            }),
        )]);
        (dir, packages)
    }

    fn lines(text: &str) -> Vec<Value> {
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn cargo_messages_parse_as_cargo_metadata_messages() {
        let (dir, packages) = project();
        let text = render(
            &[blocking_sleep("src/orders.rs", 41)],
            dir.path(),
            &packages,
            false,
        );
        let messages: Vec<cargo_metadata::Message> =
            cargo_metadata::Message::parse_stream(text.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        assert_eq!(messages.len(), 2, "{text}");
        let cargo_metadata::Message::CompilerMessage(message) = &messages[0] else {
            panic!("not a compiler message: {:?}", messages[0]);
        };
        assert_eq!(message.package_id.repr, "path+file:///work/shop#0.1.0");
        assert_eq!(message.target.name, "shop");
        let diagnostic = &message.message;
        assert_eq!(diagnostic.code.as_ref().unwrap().code, "CATGA005");
        assert_eq!(
            diagnostic.level,
            cargo_metadata::diagnostic::DiagnosticLevel::Warning
        );
        let primary = &diagnostic.spans[0];
        assert!(primary.is_primary);
        assert_eq!(
            (
                primary.file_name.as_str(),
                primary.line_start,
                primary.column_start,
                primary.column_end
            ),
            ("src/orders.rs", 41, 9, 48)
        );
        assert_eq!(
            (primary.byte_start, primary.byte_end),
            (40 * 100 + 8, 40 * 100 + 47)
        );
        assert!(
            primary.text[0]
                .text
                .starts_with("        std::thread::sleep(Duration::from_millis(5)); //-"),
            "{:?}",
            primary.text
        );
        let fix = &diagnostic.children[1];
        assert_eq!(
            fix.spans[0].suggested_replacement.as_deref(),
            Some("tokio::time::sleep(Duration::from_millis(5)).await")
        );
        assert_eq!(
            fix.spans[0].suggestion_applicability,
            Some(cargo_metadata::diagnostic::Applicability::MachineApplicable)
        );
        assert!(matches!(
            messages[1],
            cargo_metadata::Message::BuildFinished(cargo_metadata::BuildFinished {
                success: false,
                ..
            })
        ));
    }

    #[test]
    fn cargo_message_has_rustcs_shape() {
        let (dir, packages) = project();
        let text = render(
            &[blocking_sleep("src/orders.rs", 41)],
            dir.path(),
            &packages,
            true,
        );
        let mut messages = lines(&text);
        // The explanation is the rule's whole documentation: checked apart, then left out.
        let explanation = messages[0]["message"]["code"]["explanation"]
            .take()
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            explanation.starts_with("# CATGA005: blocking-call-in-async\n\n## What it does"),
            "{explanation}"
        );
        messages[0]["target"]["src_path"] = json!("<root>/src/lib.rs");
        messages[0]["manifest_path"] = json!("<root>/Cargo.toml");
        insta::assert_snapshot!(serde_json::to_string_pretty(&messages).unwrap());
    }

    #[test]
    fn cargo_rendered_reads_like_rustc() {
        let (dir, packages) = project();
        let text = render(
            &[blocking_sleep("src/orders.rs", 41)],
            dir.path(),
            &packages,
            true,
        );
        let rendered = lines(&text)[0]["message"]["rendered"]
            .as_str()
            .unwrap()
            .to_string();
        insta::assert_snapshot!(rendered);
    }

    #[test]
    fn cargo_writes_info_as_note_and_unsafe_fixes_as_maybe_incorrect() {
        let (dir, packages) = project();
        let mut info = blocking_sleep("src/orders.rs", 41);
        info.severity = Severity::Info;
        if let Some(fix) = info.fix.as_mut() {
            fix.applicability = Applicability::Unsafe;
        }
        let messages = lines(&render(&[info], dir.path(), &packages, true));
        let message = &messages[0]["message"];
        assert_eq!(message["level"], "note");
        assert_eq!(
            message["children"][1]["spans"][0]["suggestion_applicability"],
            "MaybeIncorrect"
        );
        assert_eq!(
            messages[1],
            json!({"reason": "build-finished", "success": true})
        );
    }

    #[test]
    fn cargo_gives_a_file_of_no_package_a_stand_in_and_skips_unreadable_sources() {
        let (dir, packages) = project();
        let messages = lines(&render(
            &[sync_io("/elsewhere/x.rs", 2)],
            dir.path(),
            &packages,
            false,
        ));
        assert_eq!(messages[0]["target"]["src_path"], "/elsewhere/x.rs");
        assert_eq!(messages[0]["target"]["name"], "x");
        let span = &messages[0]["message"]["spans"][0];
        assert_eq!(span["text"], json!([]));
        assert_eq!(span["file_name"], "/elsewhere/x.rs");
        assert_eq!(messages[0]["message"]["level"], "error");
        assert_eq!(
            messages[0]["message"]["children"].as_array().unwrap().len(),
            0
        );
    }

    #[test]
    fn cargo_picks_the_deepest_target_directory() {
        let packages = Packages::from_targets(vec![
            (
                "lib".into(),
                PathBuf::from("/p/Cargo.toml"),
                json!({"kind": ["lib"], "name": "p", "src_path": "/p/src/lib.rs"}),
            ),
            (
                "bin".into(),
                PathBuf::from("/p/Cargo.toml"),
                json!({"kind": ["bin"], "name": "tool", "src_path": "/p/src/bin/tool/main.rs"}),
            ),
            (
                "build".into(),
                PathBuf::from("/p/Cargo.toml"),
                json!({"kind": ["custom-build"], "name": "build-script-build", "src_path": "/p/build.rs"}),
            ),
        ]);
        let name = |path: &str| {
            packages
                .of(Path::new(path))
                .map(|target| target.target["name"].as_str().unwrap().to_string())
        };
        assert_eq!(name("/p/src/orders.rs").as_deref(), Some("p"));
        assert_eq!(name("/p/src/bin/tool/cli.rs").as_deref(), Some("tool"));
        assert_eq!(name("/p/build.rs").as_deref(), Some("build-script-build"));
        assert_eq!(name("/p/other.rs"), None);
    }
}
