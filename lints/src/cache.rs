//! The content-keyed result cache: one file per settings combination, loaded once per run.
//!
//! A file's entry is keyed by an xxh3 hash of its bytes, its display path and its crate's
//! dependency names; the cache file itself is named by a hash of the tool version, the settings
//! and the enabled rules, so changing any of those starts a fresh cache. A warm run reads and
//! hashes every file but parses none that is unchanged. A missing, unreadable or corrupt cache
//! file is treated as empty and rewritten: the cache can cost time, never correctness.

use crate::check::{FileResult, RuleSet};
use crate::config::Settings;
use crate::discover::SourceUnit;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

const FORMAT_VERSION: u32 = 3;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    key: u64,
    result: FileResult,
}

#[derive(Debug, Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    tool_version: String,
    entries: Vec<(PathBuf, Entry)>,
}

/// The cache of one run.
#[derive(Debug)]
pub(crate) struct Cache {
    file: PathBuf,
    entries: HashMap<PathBuf, Entry>,
    touched: BTreeSet<PathBuf>,
    dirty: bool,
}

/// The hash naming the cache file: the project root (projects may share one target directory
/// through `$CARGO_TARGET_DIR`), tool version and build, settings, enabled rules and severities.
pub(crate) fn run_key(root: &Path, settings: &Settings, rules: &RuleSet) -> u64 {
    let description = format!(
        "{}|{}|{}|{FORMAT_VERSION}|{settings:?}|{:?}",
        root.display(),
        env!("CARGO_PKG_VERSION"),
        build_identity(),
        rules.enabled_codes()
    );
    xxh3_64(description.as_bytes())
}

/// Size and modification time of the running executable: a rebuilt tool (same version number,
/// changed rules) must not reuse results computed by the old one.
fn build_identity() -> String {
    std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|metadata| {
            let modified = metadata
                .modified()
                .ok()
                .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok());
            format!("{}:{:?}", metadata.len(), modified)
        })
        .unwrap_or_default()
}

/// The hash of one file's inputs: its bytes, display path, crate dependencies and target kind.
pub(crate) fn file_key(bytes: &[u8], unit: &SourceUnit) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(bytes);
    hasher.update(unit.display.as_os_str().as_encoded_bytes());
    hasher.update(b"\0");
    hasher.update(unit.module.as_bytes());
    hasher.update(if unit.test_target {
        b"\x01test"
    } else {
        b"\x01main"
    });
    match &unit.dependencies {
        Some(names) => {
            for name in names.iter() {
                hasher.update(b"\0");
                hasher.update(name.as_bytes());
            }
        }
        None => hasher.update(b"\x01no-manifest"),
    }
    hasher.finish()
}

impl Cache {
    /// Load the cache for `run_key` from `dir` (empty when missing or corrupt).
    pub(crate) fn load(dir: &Path, run_key: u64) -> Cache {
        let file = dir.join(format!("lint-{run_key:016x}.json"));
        let entries = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<CacheFile>(&bytes).ok())
            .filter(|cache| {
                cache.format == FORMAT_VERSION && cache.tool_version == env!("CARGO_PKG_VERSION")
            })
            .map(|cache| cache.entries.into_iter().collect())
            .unwrap_or_default();
        Cache {
            file,
            entries,
            touched: BTreeSet::new(),
            dirty: false,
        }
    }

    /// The file this cache is loaded from and saved to.
    pub(crate) fn file(&self) -> &Path {
        &self.file
    }

    /// The cached result for a file whose inputs hash to `key`.
    pub(crate) fn get(&self, display: &Path, key: u64) -> Option<&FileResult> {
        self.entries
            .get(display)
            .filter(|entry| entry.key == key)
            .map(|entry| &entry.result)
    }

    /// Record a file's result (touching it keeps it on save).
    pub(crate) fn insert(&mut self, display: PathBuf, key: u64, result: FileResult) {
        let unchanged = self
            .entries
            .get(&display)
            .is_some_and(|entry| entry.key == key && entry.result == result);
        self.touched.insert(display.clone());
        if !unchanged {
            self.entries.insert(display, Entry { key, result });
            self.dirty = true;
        }
    }

    /// Mark a file as seen in this run with its cached entry still valid.
    pub(crate) fn touch(&mut self, display: &Path) {
        self.touched.insert(display.to_path_buf());
    }

    /// Write the cache if anything changed. Entries of files that no longer exist under `root`
    /// are dropped.
    pub(crate) fn save(mut self, root: &Path) -> Result<(), String> {
        let before = self.entries.len();
        let touched = std::mem::take(&mut self.touched);
        self.entries
            .retain(|display, _| touched.contains(display) || root.join(display).exists());
        if !self.dirty && self.entries.len() == before {
            return Ok(());
        }
        let dir = self.file.parent().unwrap_or(Path::new("."));
        let failed = |error: &dyn std::fmt::Display| {
            format!(
                "could not write the lint cache {}: {error}",
                self.file.display()
            )
        };
        std::fs::create_dir_all(dir).map_err(|error| failed(&error))?;
        let gitignore = dir.join(".gitignore");
        if !gitignore.exists() {
            std::fs::write(&gitignore, "*\n").map_err(|error| failed(&error))?;
        }
        let mut entries: Vec<(PathBuf, Entry)> = self.entries.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let cache = CacheFile {
            format: FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            entries,
        };
        let bytes = serde_json::to_vec(&cache).map_err(|error| failed(&error))?;
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|error| failed(&error))?;
        std::io::Write::write_all(&mut temp, &bytes).map_err(|error| failed(&error))?;
        temp.persist(&self.file)
            .map_err(|error| failed(&error.error))?;
        prune_old_cache_files(dir);
        Ok(())
    }
}

/// Cache files of other projects, settings or builds kept besides the current one.
const OTHER_CACHE_FILES_KEPT: usize = 15;

/// Delete all but the most recently written cache files, so rebuilds and setting changes do not
/// pile up files. Best effort: a file that cannot be removed stays.
fn prune_old_cache_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with("lint-") && name.ends_with(".json")
        })
        .filter_map(|entry| Some((entry.metadata().ok()?.modified().ok()?, entry.path())))
        .collect();
    files.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, stale) in files.into_iter().skip(1 + OTHER_CACHE_FILES_KEPT) {
        let _ = std::fs::remove_file(stale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_cache_file_is_ignored_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(format!("lint-{:016x}.json", 7)),
            b"{not json",
        )
        .unwrap();
        let mut cache = Cache::load(dir.path(), 7);
        assert!(cache.get(Path::new("a.rs"), 1).is_none());
        cache.insert(
            PathBuf::from("a.rs"),
            1,
            FileResult {
                parsed: true,
                ..FileResult::default()
            },
        );
        cache.save(dir.path()).unwrap();
        let reloaded = Cache::load(dir.path(), 7);
        assert!(reloaded.get(Path::new("a.rs"), 1).is_some());
        assert!(reloaded.get(Path::new("a.rs"), 2).is_none());
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
            "*\n"
        );
    }

    #[test]
    fn file_key_changes_with_content_path_dependencies_and_target_kind() {
        let unit = |display: &str, dependencies: Option<&[&str]>, test_target: bool| SourceUnit {
            path: PathBuf::from(display),
            display: PathBuf::from(display),
            dependencies: dependencies.map(|names| {
                std::sync::Arc::new(names.iter().map(|name| name.to_string()).collect())
            }),
            test_target,
            module: "shop".into(),
        };
        let base = file_key(b"fn a() {}", &unit("a.rs", Some(&["tokio"]), false));
        assert_eq!(
            base,
            file_key(b"fn a() {}", &unit("a.rs", Some(&["tokio"]), false))
        );
        assert_ne!(
            base,
            file_key(b"fn b() {}", &unit("a.rs", Some(&["tokio"]), false))
        );
        assert_ne!(
            base,
            file_key(b"fn a() {}", &unit("b.rs", Some(&["tokio"]), false))
        );
        assert_ne!(base, file_key(b"fn a() {}", &unit("a.rs", None, false)));
        assert_ne!(
            base,
            file_key(b"fn a() {}", &unit("a.rs", Some(&["tokio"]), true))
        );
    }
}
