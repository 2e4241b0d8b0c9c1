//! The analyzer kept in memory for an editor: [`LiveWorkspace`] holds every file's per-file
//! result (diagnostics, facts, suppression comments) and the cross-file rules' diagnostics, and
//! updates them one file at a time.
//!
//! [`LiveWorkspace::open`] runs the same pipeline as [`crate::lint`] (config, discovery, the
//! content-keyed cache, the per-file pass in parallel, the cross-file rules). After that,
//! [`LiveWorkspace::set_text`] re-checks the one file whose text changed (an unsaved buffer, or
//! the file on disk again) and runs the cross-file rules on the index of facts, where every other
//! file's facts are the ones already in memory: an edit costs one parse and the workspace pass,
//! never a walk over the workspace. The cross-file index's tables (types by path and name,
//! fns by path) are kept too, and updated by taking the changed file's old facts out and its
//! new ones in; the cross-file rules then run on them, and find exactly what a full run finds.
//! Nothing is written to disk but the cache at open.
//!
//! [`LiveWorkspace::apply_changes`] takes in files changed on disk (what `catga lint --watch`
//! is told by the file system) and returns the findings that appeared and went
//! ([`FindingsDiff`]).

use crate::cache::{self, Cache};
use crate::check::{FileResult, RuleSet, check_bytes};
use crate::config::Config;
use crate::diagnostic::{Diagnostic, Edit, Span};
use crate::discover::{self, SourceUnit};
use crate::error::LintError;
use crate::fix::{self, FixMode};
use crate::run::{
    LINT_THREAD_STACK, LintOptions, cache_dir, check_env, check_unit, sort_for_output,
    workspace_pass_with,
};
use crate::source::SourceFile;
use crate::workspace::IndexTables;
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Every file of a workspace, checked, with the text of unsaved buffers in place of the files.
#[derive(Debug)]
pub struct LiveWorkspace {
    /// What it was opened with: opening again (configuration, files created or deleted) uses
    /// the same.
    options: LintOptions,
    root: PathBuf,
    /// Cargo's target directory, if any: what changes there is never the workspace's.
    target_dir: Option<PathBuf>,
    config: Config,
    rules: RuleSet,
    units: Vec<SourceUnit>,
    /// Absolute path to index in `units`.
    position: HashMap<PathBuf, usize>,
    /// Per file: the per-file result for its current text.
    results: Vec<FileResult>,
    /// The cross-file index's tables for `results`, updated file by file: building them is
    /// most of a workspace pass over a large workspace.
    tables: IndexTables,
    /// Per file: the cross-file rules' diagnostics on the current results.
    workspace: Vec<Vec<Diagnostic>>,
    /// Unsaved text, by index in `units`.
    buffers: HashMap<usize, String>,
    pool: rayon::ThreadPool,
}

impl LiveWorkspace {
    /// Load the configuration, discover the files and check them all, as [`crate::lint`] does
    /// with these options (`root`, `paths`, `select`, `ignore`; results the cache holds are
    /// taken from it unless `cache` is off, and the cache is updated). Fix options are not
    /// used: fixes are asked for per file ([`LiveWorkspace::fix_all`]).
    pub fn open(options: &LintOptions) -> Result<LiveWorkspace, LintError> {
        let root = options
            .root
            .canonicalize()
            .map_err(|source| LintError::Io {
                path: options.root.clone(),
                source,
            })?;
        let config = crate::config::load(&root)?;
        let rules = RuleSet::new(&config.settings, &options.select, &options.ignore)?;
        let discovered = discover::discover(&root, &options.paths, &config)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .stack_size(LINT_THREAD_STACK)
            .thread_name(|index| format!("catga-live-{index}"))
            .build()
            .map_err(|error| LintError::Io {
                path: root.clone(),
                source: std::io::Error::other(format!("could not start lint threads: {error}")),
            })?;
        let mut cache = options.cache.then(|| {
            Cache::load(
                &cache_dir(&root, &discovered),
                cache::run_key(&root, &config.settings, &rules),
            )
        });
        let target_dir = discovered.target_dir;
        let units = discovered.files;
        let checked = pool.install(|| {
            units
                .par_iter()
                .with_max_len(1)
                .map(|unit| {
                    check_unit(
                        unit,
                        check_env(&config.settings, &rules, unit),
                        cache.as_ref(),
                    )
                })
                .collect::<Result<Vec<_>, LintError>>()
        })?;
        let mut results = Vec::with_capacity(units.len());
        for (unit, checked) in units.iter().zip(checked) {
            if let Some(cache) = cache.as_mut() {
                match checked.cache_update {
                    Some((key, result)) => cache.insert(unit.display.clone(), key, result),
                    None => cache.touch(&unit.display),
                }
            }
            results.push(checked.result);
        }
        // Best effort: a cache that cannot be written costs the next start time, nothing else.
        if let Some(cache) = cache {
            let _ = cache.save(&root);
        }
        let position = units
            .iter()
            .enumerate()
            .map(|(index, unit)| (unit.path.clone(), index))
            .collect();
        let tables = IndexTables::new(results.iter().map(|result| &result.facts));
        let mut live = LiveWorkspace {
            options: LintOptions {
                progress: None,
                ..options.clone()
            },
            root,
            target_dir,
            config,
            rules,
            units,
            position,
            results,
            tables,
            workspace: Vec::new(),
            buffers: HashMap::new(),
            pool,
        };
        live.workspace = live.workspace_pass();
        Ok(live)
    }

    /// The directory the workspace was opened at (canonical); diagnostic paths are relative to
    /// it.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The configuration file in use, if any (`catga.toml`, or a manifest's
    /// `[*.metadata.catga]`).
    pub fn config_file(&self) -> Option<&Path> {
        self.config.file.as_deref()
    }

    /// Files checked.
    pub fn file_count(&self) -> usize {
        self.units.len()
    }

    /// Whether the file at `path` (absolute) is one of the workspace's.
    pub fn contains(&self, path: &Path) -> bool {
        self.position.contains_key(path)
    }

    /// The path diagnostics show for the file at `path` (absolute).
    pub fn display_path(&self, path: &Path) -> Option<&Path> {
        self.position
            .get(path)
            .map(|&index| self.units[index].display.as_path())
    }

    /// The absolute path of a file diagnostics show as `display`.
    pub fn absolute_path(&self, display: &Path) -> PathBuf {
        self.root.join(display)
    }

    /// Replace the text of the file at `path` (absolute) with an unsaved buffer's (`Some`), or
    /// go back to the file on disk (`None`), and check it again with the cross-file rules.
    /// Returns the absolute paths of the files whose diagnostics changed. A file that is not the
    /// workspace's changes nothing.
    pub fn set_text(&mut self, path: &Path, text: Option<String>) -> Vec<PathBuf> {
        let Some(&index) = self.position.get(path) else {
            return Vec::new();
        };
        let before = self.results[index].diagnostics.clone();
        match text {
            Some(text) => {
                self.buffers.insert(index, text);
            }
            None => {
                self.buffers.remove(&index);
            }
        }
        let result = self.check(index);
        self.tables.remove_file(index, &self.results[index].facts);
        self.tables.add_file(index, &result.facts);
        self.results[index] = result;
        let workspace = self.workspace_pass();
        let changed = (0..self.units.len())
            .filter(|&file| {
                (file == index && self.results[index].diagnostics != before)
                    || self.workspace[file] != workspace[file]
            })
            .map(|file| self.units[file].path.clone())
            .collect();
        self.workspace = workspace;
        changed
    }

    /// The file's current text: its unsaved buffer, else the file on disk.
    pub fn text(&self, path: &Path) -> Option<String> {
        let &index = self.position.get(path)?;
        match self.buffers.get(&index) {
            Some(text) => Some(text.clone()),
            None => std::fs::read_to_string(path).ok(),
        }
    }

    /// Every diagnostic of the file at `path` (absolute) for its current text, per-file and
    /// cross-file, in output order. Empty for a file that is not the workspace's.
    pub fn diagnostics(&self, path: &Path) -> Vec<Diagnostic> {
        let Some(&index) = self.position.get(path) else {
            return Vec::new();
        };
        let mut diagnostics = self.results[index].diagnostics.clone();
        diagnostics.extend(self.workspace[index].iter().cloned());
        sort_for_output(&mut diagnostics);
        diagnostics
    }

    /// Every finding of every file, in output order (as [`crate::lint`] reports them).
    pub fn all_diagnostics(&self) -> Vec<Diagnostic> {
        let mut diagnostics: Vec<Diagnostic> = self
            .results
            .iter()
            .zip(&self.workspace)
            .flat_map(|(result, workspace)| result.diagnostics.iter().chain(workspace))
            .cloned()
            .collect();
        sort_for_output(&mut diagnostics);
        diagnostics
    }

    /// The directory to watch for changes: the project the workspace lies in (see
    /// [`crate::output::relative_to`]), which holds its files and configuration.
    pub fn project_root(&self) -> PathBuf {
        crate::discover::project_root(&self.root)
    }

    /// Take in files changed on disk (`paths`, absolute: edited, created or deleted) and
    /// return the findings that appeared and the ones that went. A changed file of the
    /// workspace is read and checked again, with the cross-file rules; a configuration file
    /// (`catga.toml`, a `Cargo.toml`), or a Rust file (or a directory of them) created or
    /// deleted, opens the workspace again (configuration, discovery, the cache), unsaved
    /// buffers kept. Paths in cargo's
    /// target directory, and other files, change nothing. When opening again fails (a
    /// configuration that does not load), the error is returned and the workspace stays as
    /// it was.
    pub fn apply_changes(&mut self, paths: &[PathBuf]) -> Result<FindingsDiff, LintError> {
        let before = self.all_diagnostics();
        let relevant: Vec<&PathBuf> = paths
            .iter()
            .filter(|path| {
                !self
                    .target_dir
                    .as_ref()
                    .is_some_and(|target| path.starts_with(target))
            })
            .collect();
        let reopen = relevant.iter().any(|path| {
            let name = path.file_name().and_then(|name| name.to_str());
            match self.position.get(path.as_path()) {
                // Deleted, or replaced by something that is no longer a file.
                Some(_) => !path.is_file(),
                None => {
                    matches!(name, Some("catga.toml" | "Cargo.toml"))
                        || (path.extension().is_some_and(|ext| ext == "rs") && path.is_file())
                        // A directory removed or renamed with files of the workspace in it.
                        || (!path.exists()
                            && self.units.iter().any(|unit| unit.path.starts_with(path)))
                }
            }
        });
        if reopen {
            let mut reopened = LiveWorkspace::open(&self.options)?;
            for (&index, text) in &self.buffers {
                reopened.set_text(&self.units[index].path, Some(text.clone()));
            }
            *self = reopened;
        } else {
            for path in relevant {
                if self.contains(path) && !self.buffers.contains_key(&self.position[path]) {
                    self.set_text(path, None);
                }
            }
        }
        Ok(FindingsDiff::between(&before, &self.all_diagnostics()))
    }

    /// The file's text after every fix `mode` allows (per-file and cross-file, the fix loop as
    /// `catga lint --fix` runs it on one file); `None` when nothing would change or the file
    /// does not parse.
    pub fn fix_all(&self, path: &Path, mode: FixMode) -> Option<String> {
        let &index = self.position.get(path)?;
        let unit = &self.units[index];
        let text = self.text(path)?;
        let mut merged = self.results[index].clone();
        if !merged.parsed {
            return None;
        }
        merged
            .diagnostics
            .extend(self.workspace[index].iter().cloned());
        let env = check_env(&self.config.settings, &self.rules, unit);
        let source = SourceFile::new(&unit.display, text);
        let outcome = self
            .pool
            .install(|| fix::fix_source(source, merged, mode, env));
        if outcome.applied == 0 {
            return None;
        }
        // The byte-order mark, if the text had one, goes back where it was.
        String::from_utf8(fix::file_bytes(&outcome.source)).ok()
    }

    /// The per-file pass on one file's current text (on a lint thread: the parser needs its
    /// stack).
    fn check(&self, index: usize) -> FileResult {
        let unit = &self.units[index];
        let env = check_env(&self.config.settings, &self.rules, unit);
        let bytes = match self.buffers.get(&index) {
            Some(text) => text.clone().into_bytes(),
            None => match std::fs::read(&unit.path) {
                Ok(bytes) => bytes,
                // Deleted or unreadable: nothing to check, no facts to contribute.
                Err(_) => return FileResult::default(),
            },
        };
        self.pool
            .install(|| check_bytes(bytes, &unit.display, env).1)
    }

    fn workspace_pass(&self) -> Vec<Vec<Diagnostic>> {
        workspace_pass_with(
            &self.units,
            &self.results,
            &self.tables,
            &self.rules,
            &self.config.settings,
        )
    }
}

/// What changed in a workspace's findings: those that appeared and those that went, each in
/// output order. A finding that is still there, only elsewhere in its file (lines added above
/// it), is in neither.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingsDiff {
    /// Findings that were not there before.
    pub new: Vec<Diagnostic>,
    /// Findings that are gone.
    pub fixed: Vec<Diagnostic>,
}

impl FindingsDiff {
    /// The difference from `before` to `after` (both in output order). Findings are matched
    /// exactly first, then by file, code and message: what is left unmatched is new, or fixed.
    pub fn between(before: &[Diagnostic], after: &[Diagnostic]) -> FindingsDiff {
        let (before, after) = unmatched(before, after, |diagnostic| diagnostic.clone());
        let (fixed, new) = unmatched(&before, &after, |diagnostic| {
            (
                diagnostic.path.clone(),
                diagnostic.code.clone(),
                diagnostic.message.clone(),
            )
        });
        FindingsDiff { new, fixed }
    }

    /// Whether nothing appeared and nothing went.
    pub fn is_empty(&self) -> bool {
        self.new.is_empty() && self.fixed.is_empty()
    }
}

/// The items of `a` and of `b` left over once each item is paired with one of the other side
/// that has the same `key` (as multisets: two equal findings pair with two), order kept.
fn unmatched<K: std::hash::Hash + Eq>(
    a: &[Diagnostic],
    b: &[Diagnostic],
    key: impl Fn(&Diagnostic) -> K,
) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let left_over = |from: &[Diagnostic], other: &[Diagnostic]| {
        let mut counts: HashMap<K, usize> = HashMap::new();
        for diagnostic in other {
            *counts.entry(key(diagnostic)).or_default() += 1;
        }
        from.iter()
            .filter(|diagnostic| match counts.get_mut(&key(diagnostic)) {
                Some(count) if *count > 0 => {
                    *count -= 1;
                    false
                }
                _ => true,
            })
            .cloned()
            .collect::<Vec<_>>()
    };
    (left_over(a, b), left_over(b, a))
}

/// An edit that puts `// catga-allow(CODE): TODO reason` on its own line above `line` (1-based)
/// of `source`, with that line's indentation: what `catga lint --add-allow` writes. `None` when
/// the comment would change the file's tokens (the line starts inside a multi-line literal).
pub fn allow_edit(source: &SourceFile, line: u32, code: &str) -> Option<Edit> {
    let lines = std::iter::once((line, std::iter::once(code.to_string()).collect())).collect();
    crate::add_allow::with_allows(&source.text, &lines)?;
    let start = line_start_offset(&source.text, line)?;
    let at: Span = source.span_of_bytes(start, start);
    let indent: String = source
        .line_text(line)
        .chars()
        .take_while(|c| c.is_whitespace() && *c != '\n')
        .collect();
    Some(Edit::insert_before(
        at,
        crate::add_allow::allow_comment(&indent, &[code]),
    ))
}

/// The byte offset where the 1-based `line` starts.
fn line_start_offset(text: &str, line: u32) -> Option<usize> {
    if line == 1 {
        return Some(0);
    }
    text.match_indices('\n')
        .nth(line.checked_sub(2)? as usize)
        .map(|(offset, _)| offset + 1)
}
