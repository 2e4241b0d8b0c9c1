//! The analyzer never panics, whatever the input: arbitrary bytes, mutated real source files,
//! non-UTF-8, empty, very large and unparseable files. Each either lints normally or yields one
//! CATGA000 parse-error diagnostic; `--fix` never rewrites a file that does not parse.

use catga_lints::{FixMode, LintOptions, LintReport, lint};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn lint_bytes(bytes: &[u8], fix: FixMode) -> (LintReport, Vec<u8>) {
    let dir = tempfile::tempdir().expect("create a scratch directory");
    std::fs::write(dir.path().join("catga.toml"), "").expect("write config");
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"x\"\n[dependencies]\ntokio = { version = \"1\", features = [\"full\"] }\n[workspace]\n",
    )
    .expect("write manifest");
    let file = dir.path().join("input.rs");
    std::fs::write(&file, bytes).expect("write input");
    let options = LintOptions {
        root: dir.path().to_path_buf(),
        paths: vec![file.clone()],
        fix,
        cache: false,
        ..LintOptions::default()
    };
    let report = lint(&options).unwrap_or_else(|error| panic!("lint returned an error: {error}"));
    let after = std::fs::read(&file).expect("read input back");
    (report, after)
}

fn parse_errors(report: &LintReport) -> usize {
    report
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.code == "CATGA000")
        .count()
}

/// Real Rust sources to mutate: this crate's own files and its fixtures.
fn real_sources() -> Vec<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    // The analyzer's own sources, and every rule's fixtures: handlers, commands, events and
    // sagas, so mutations reach every rule and the cross-file ones' facts.
    let mut dirs = vec![root.join("src"), root.join("src/rules")];
    if let Ok(fixtures) = std::fs::read_dir(root.join("tests/fixtures")) {
        dirs.extend(fixtures.flatten().map(|entry| entry.path()));
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|extension| extension == "rs") {
                files.push(std::fs::read(&path).expect("read a source file"));
            }
        }
    }
    files.sort();
    files
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Duplicate { at: usize, len: usize },
    Replace { at: usize, byte: u8 },
}

fn mutate(source: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = source.to_vec();
    for mutation in mutations {
        let clamp = |at: usize, len: usize| if len == 0 { 0 } else { at % len };
        match mutation {
            Mutation::Delete { at, len } => {
                let start = clamp(*at, bytes.len());
                let end = (start + len).min(bytes.len());
                bytes.drain(start..end);
            }
            Mutation::Insert {
                at,
                bytes: inserted,
            } => {
                let at = clamp(*at, bytes.len() + 1);
                bytes.splice(at..at, inserted.iter().copied());
            }
            Mutation::Duplicate { at, len } => {
                let start = clamp(*at, bytes.len());
                let end = (start + len).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Mutation::Replace { at, byte } => {
                if !bytes.is_empty() {
                    let at = clamp(*at, bytes.len());
                    bytes[at] = *byte;
                }
            }
        }
    }
    bytes
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let rust_bytes = prop::collection::vec(
        prop::sample::select(b"{}()[];:.,<>&*'\"#!/ \n\\async await fn let".to_vec()),
        1..12,
    );
    prop_oneof![
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), rust_bytes).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1..200usize).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Replace { at, byte }),
    ]
}

proptest! {
    // 64 cases by default; `PROPTEST_CASES=5000` for a deeper run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|cases| cases.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let (report, after) = lint_bytes(&bytes, FixMode::Unsafe);
        prop_assert!(parse_errors(&report) <= 1);
        if parse_errors(&report) == 1 {
            prop_assert_eq!(after, bytes, "a file that does not parse was rewritten");
        }
    }

    #[test]
    fn mutated_real_files_never_panic_and_fixes_keep_them_parsing(
        index in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let sources = real_sources();
        prop_assume!(!sources.is_empty());
        let bytes = mutate(&sources[index % sources.len()], &mutations);
        let (report, after) = lint_bytes(&bytes, FixMode::Unsafe);
        prop_assert!(parse_errors(&report) <= 1);
        if parse_errors(&report) == 1 {
            prop_assert_eq!(after, bytes, "a file that does not parse was rewritten");
        } else if let Ok(text) = String::from_utf8(after) {
            prop_assert!(syn::parse_file(&text).is_ok(), "a fix produced a file that does not parse");
        }
    }
}

#[test]
fn non_utf8_file_gives_one_parse_error_and_is_not_rewritten() {
    let bytes = b"async fn f() { std::thread::sleep(d); }\n\xc3\x28\n".to_vec();
    let (report, after) = lint_bytes(&bytes, FixMode::Unsafe);
    assert_eq!(parse_errors(&report), 1, "{:?}", report.diagnostics);
    assert_eq!(report.diagnostics.len(), 1);
    assert_eq!(after, bytes);
}

#[test]
fn empty_file_lints_clean() {
    let (report, _) = lint_bytes(b"", FixMode::Off);
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    assert_eq!(report.files_scanned, 1);
}

#[test]
fn unparseable_file_gives_one_parse_error_and_is_not_rewritten() {
    let bytes = b"async fn f() { std::thread::sleep(d); }\nfn broken( {\n".to_vec();
    let (report, after) = lint_bytes(&bytes, FixMode::Unsafe);
    assert_eq!(report.diagnostics.len(), 1, "{:?}", report.diagnostics);
    assert_eq!(report.diagnostics[0].code, "CATGA000");
    assert_eq!(report.diagnostics[0].span.start_pos.line, 2);
    assert_eq!(after, bytes);
}

#[test]
fn five_megabyte_file_lints_normally() {
    let mut text = String::with_capacity(5 * 1024 * 1024 + 4096);
    let mut index = 0;
    while text.len() < 5 * 1024 * 1024 {
        text.push_str(&format!("pub async fn wait_{index}() {{\n    std::thread::sleep(std::time::Duration::from_millis({index}));\n}}\n"));
        index += 1;
    }
    let (report, _) = lint_bytes(text.as_bytes(), FixMode::Off);
    assert_eq!(parse_errors(&report), 0);
    assert_eq!(report.diagnostics.len(), index, "one CATGA005 per function");
    let last = report.diagnostics.last().expect("diagnostics");
    assert_eq!(last.span.start_pos.line as usize, 3 * index - 1);
    assert!(Path::new(&last.path).ends_with("input.rs"));
}

#[test]
fn five_megabyte_single_line_of_garbage_gives_one_parse_error() {
    let text = "é(".repeat(5 * 1024 * 1024 / 3);
    let (report, _) = lint_bytes(text.as_bytes(), FixMode::Off);
    assert_eq!(report.diagnostics.len(), 1);
    assert_eq!(report.diagnostics[0].code, "CATGA000");
}
