//! `lint`: the whole run. Load config, pick rules, discover files, then per file in parallel
//! (rayon, all cores): read, hash, take the cached result or check the text, run the fix loop
//! when asked and write atomically (or diff); finally save the cache and sort the report.

use crate::cache::{self, Cache};
use crate::check::{CheckEnv, FileResult, RuleSet, check_bytes};
use crate::diagnostic::{Diagnostic, Severity};
use crate::discover::{self, SourceUnit};
use crate::error::LintError;
use crate::fix::{self, FixMode};
use rayon::prelude::*;
use std::path::PathBuf;

/// Stack size of the lint threads (the parser recurses with the nesting of the code).
const LINT_THREAD_STACK: usize = 32 * 1024 * 1024;

/// What `catga lint` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// The directory the run started in; diagnostic paths are relative to it; config is found
    /// from it.
    pub root: PathBuf,
    /// Files or directories to lint; empty means the cargo workspace or package around `root`.
    pub paths: Vec<PathBuf>,
    /// `--select` codes from the command line (override config).
    pub select: Vec<String>,
    /// `--ignore` codes from the command line.
    pub ignore: Vec<String>,
    /// Which fixes to apply.
    pub fix: FixMode,
    /// Compute fixes, write nothing, return unified diffs.
    pub diff: bool,
    /// Use the content-keyed cache (`--no-cache` sets false).
    pub cache: bool,
}

/// One file's would-be changes under `diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The file, as diagnostics show it.
    pub path: PathBuf,
    /// A unified diff.
    pub text: String,
}

/// What a run found and did.
#[derive(Debug, Clone, Default)]
pub struct LintReport {
    /// Files looked at.
    pub files_scanned: usize,
    /// What remains after fixing, sorted by (path, line, column, code).
    pub diagnostics: Vec<Diagnostic>,
    /// Number of fixes applied (or, with `diff`, that would be applied).
    pub fixed: usize,
    /// With `diff`: one unified diff per file that would change.
    pub diffs: Vec<FileDiff>,
    /// Things the user should know that are not diagnostics (dropped fixes, non-convergence,
    /// files that could not be written).
    pub notes: Vec<String>,
    /// The `fail_on` threshold from config, if set.
    pub fail_on: Option<Severity>,
    /// The cache file this run read and updated (`None` with the cache off).
    pub cache_file: Option<PathBuf>,
}

/// What happened to one file.
struct FileOutcome {
    unit_index: usize,
    result: FileResult,
    /// The result to cache, keyed by `key` (absent when the cached entry is still right).
    cache_update: Option<(u64, FileResult)>,
    fixed: usize,
    diff: Option<FileDiff>,
    notes: Vec<String>,
}

/// Run the analyzer as `options` say.
pub fn lint(options: &LintOptions) -> Result<LintReport, LintError> {
    let root = options
        .root
        .canonicalize()
        .map_err(|source| LintError::Io {
            path: options.root.clone(),
            source,
        })?;
    let config = crate::config::load(&root)?;
    let settings = &config.settings;
    let rules = RuleSet::new(settings, &options.select, &options.ignore)?;
    let discovered = discover::discover(&root, &options.paths, &config)?;
    let cache = options.cache.then(|| {
        let dir = match &discovered.target_dir {
            Some(target) => target.join("catga").join("lint-cache"),
            None => root.join(".catga_cache"),
        };
        Cache::load(&dir, cache::run_key(&root, settings, &rules))
    });
    let fix_mode = if options.diff && options.fix == FixMode::Off {
        FixMode::Safe
    } else {
        options.fix
    };
    // syn and the walk recurse with the nesting of the code: give them room.
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(LINT_THREAD_STACK)
        .thread_name(|index| format!("catga-lint-{index}"))
        .build()
        .map_err(|error| LintError::Io {
            path: root.clone(),
            source: std::io::Error::other(format!("could not start lint threads: {error}")),
        })?;
    // The first error (a file that cannot be read) stops the run; no lock is shared.
    let outcomes: Vec<FileOutcome> = pool.install(|| {
        // One file per work item: files differ in size by three orders of magnitude, and
        // rayon's default split hands each thread long runs of files it cannot give away, so
        // one thread would finish the last run alone while the others idle.
        discovered
            .files
            .par_iter()
            .with_max_len(1)
            .enumerate()
            .map(|(unit_index, unit)| {
                let env = CheckEnv {
                    settings,
                    rules: &rules,
                    dependencies: unit.dependencies.as_deref(),
                    test_target: unit.test_target,
                };
                lint_unit(
                    unit_index,
                    unit,
                    env,
                    cache.as_ref(),
                    fix_mode,
                    options.diff,
                )
            })
            .collect::<Result<Vec<_>, LintError>>()
    })?;
    let mut report = LintReport {
        files_scanned: discovered.files.len(),
        fail_on: settings.fail_on,
        cache_file: cache.as_ref().map(|cache| cache.file().to_path_buf()),
        ..LintReport::default()
    };
    let mut cache = cache;
    for outcome in outcomes {
        let display = &discovered.files[outcome.unit_index].display;
        if let Some(cache) = cache.as_mut() {
            match outcome.cache_update {
                Some((key, result)) => cache.insert(display.clone(), key, result),
                None => cache.touch(display),
            }
        }
        report.fixed += outcome.fixed;
        report.diagnostics.extend(outcome.result.diagnostics);
        report.diffs.extend(outcome.diff);
        report.notes.extend(outcome.notes);
    }
    if let Some(cache) = cache
        && let Err(note) = cache.save(&root)
    {
        report.notes.push(note);
    }
    report.diagnostics.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.message.cmp(&b.message))
    });
    report.diffs.sort_by(|a, b| a.path.cmp(&b.path));
    report.notes.sort();
    Ok(report)
}

fn lint_unit(
    unit_index: usize,
    unit: &SourceUnit,
    env: CheckEnv<'_>,
    cache: Option<&Cache>,
    fix_mode: FixMode,
    diff: bool,
) -> Result<FileOutcome, LintError> {
    let bytes = std::fs::read(&unit.path).map_err(|source| LintError::Io {
        path: unit.path.clone(),
        source,
    })?;
    let key = cache::file_key(&bytes, unit);
    let cached = cache
        .and_then(|cache| cache.get(&unit.display, key))
        .cloned();
    let needs_fixing = |result: &FileResult| fix::has_applicable_fix(result, fix_mode);
    let mut outcome = FileOutcome {
        unit_index,
        result: FileResult::default(),
        cache_update: None,
        fixed: 0,
        diff: None,
        notes: Vec::new(),
    };
    let (source, result) = match cached {
        Some(result) if !needs_fixing(&result) => {
            outcome.result = result;
            return Ok(outcome);
        }
        Some(result) => match String::from_utf8(bytes) {
            Ok(text) => (
                Some(crate::source::SourceFile::new(&unit.display, text)),
                result,
            ),
            Err(_) => (None, result),
        },
        None => {
            let (source, result) = check_bytes(bytes, &unit.display, env);
            outcome.cache_update = Some((key, result.clone()));
            (source, result)
        }
    };
    let Some(source) = source.filter(|_| needs_fixing(&result)) else {
        outcome.result = result;
        return Ok(outcome);
    };
    let original = source.text.clone();
    let fixed = fix::fix_source(source, result.clone(), fix_mode, env);
    outcome.notes = fixed.notes;
    if fixed.applied == 0 || fixed.source.text == original {
        outcome.result = fixed.result;
        return Ok(outcome);
    }
    if diff {
        outcome.diff = Some(FileDiff {
            path: unit.display.clone(),
            text: fix::unified_diff(&unit.display, &original, &fixed.source.text),
        });
        outcome.fixed = fixed.applied;
        outcome.result = fixed.result;
        return Ok(outcome);
    }
    let new_bytes = fix::file_bytes(&fixed.source);
    match fix::write_atomically(&unit.path, &new_bytes) {
        Ok(()) => {
            outcome.fixed = fixed.applied;
            outcome.cache_update = Some((cache::file_key(&new_bytes, unit), fixed.result.clone()));
            outcome.result = fixed.result;
        }
        Err(note) => {
            outcome.notes.push(note);
            outcome.result = result;
        }
    }
    Ok(outcome)
}
