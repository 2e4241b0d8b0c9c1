//! `lint`: the whole run. Load config, pick rules, discover files; per file in parallel (rayon,
//! all cores): read, hash, take the cached result or check the text. Then the cross-file rules
//! run on the index of every file's facts. When fixing, files with applicable fixes (of either
//! kind) go through the fix loop in memory, and the cross-file rules run again on the fixed
//! facts, for a few rounds; only then is every changed file written atomically (or diffed).
//! Finally the cache is saved and the report sorted.

use crate::cache::{self, Cache};
use crate::check::{CheckEnv, FileResult, RuleSet, check_bytes};
use crate::diagnostic::{Diagnostic, Severity};
use crate::discover::{self, SourceUnit};
use crate::error::LintError;
use crate::fix::{self, FixMode};
use crate::source::SourceFile;
use crate::workspace::{IndexedFile, WorkspaceCx, WorkspaceIndex};
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

/// One file after the per-file pass.
struct Checked {
    result: FileResult,
    /// The cache entry to write for the file as it is on disk (absent when the cached entry is
    /// still right).
    cache_update: Option<(u64, FileResult)>,
}

/// Rounds of cross-file fixes (a fix that adds a handler may call for another that registers
/// it) before the run stops fixing.
const WORKSPACE_FIX_ROUNDS: usize = 3;

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
    let units = &discovered.files;
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
    let env_of = |unit| check_env(settings, &rules, unit);
    // The first error (a file that cannot be read) stops the run; no lock is shared.
    let checked: Vec<Checked> = pool.install(|| {
        // One file per work item: files differ in size by three orders of magnitude, and
        // rayon's default split hands each thread long runs of files it cannot give away, so
        // one thread would finish the last run alone while the others idle.
        units
            .par_iter()
            .with_max_len(1)
            .map(|unit| check_unit(unit, env_of(unit), cache.as_ref()))
            .collect::<Result<Vec<_>, LintError>>()
    })?;
    let mut report = LintReport {
        files_scanned: units.len(),
        fail_on: settings.fail_on,
        cache_file: cache.as_ref().map(|cache| cache.file().to_path_buf()),
        ..LintReport::default()
    };
    let mut cache = cache;
    let mut results = Vec::with_capacity(checked.len());
    for (unit, checked) in units.iter().zip(checked) {
        if let Some(cache) = cache.as_mut() {
            match checked.cache_update {
                Some((key, result)) => cache.insert(unit.display.clone(), key, result),
                None => cache.touch(&unit.display),
            }
        }
        results.push(checked.result);
    }

    // Cross-file rules, then fixes of both kinds, until nothing is left to fix.
    let mut fixed_texts: Vec<Option<SourceFile>> = vec![None; units.len()];
    let mut applied = vec![0; units.len()];
    let mut workspace = workspace_pass(units, &results, &rules, settings);
    for round in 0..WORKSPACE_FIX_ROUNDS {
        if fix_mode == FixMode::Off {
            break;
        }
        // Per-file fixes converge in the first round; later rounds only follow cross-file ones.
        let to_fix: Vec<usize> = (0..units.len())
            .filter(|&index| {
                let per_file = round == 0 && fix::has_applicable_fix(&results[index], fix_mode);
                per_file
                    || (results[index].parsed && fix::any_applicable(&workspace[index], fix_mode))
            })
            .collect();
        if to_fix.is_empty() {
            break;
        }
        let outcomes: Vec<(usize, Option<fix::FixOutcome>)> = pool.install(|| {
            to_fix
                .par_iter()
                .map(|&index| {
                    let unit = &units[index];
                    let source = match fixed_texts[index].clone() {
                        Some(source) => Some(source),
                        None => read_source(unit)?,
                    };
                    let outcome = source.map(|source| {
                        let mut merged = results[index].clone();
                        merged.diagnostics.extend(workspace[index].iter().cloned());
                        fix::fix_source(source, merged, fix_mode, env_of(unit))
                    });
                    Ok((index, outcome))
                })
                .collect::<Result<Vec<_>, LintError>>()
        })?;
        let mut changed = false;
        for (index, outcome) in outcomes {
            let Some(outcome) = outcome else { continue };
            report.notes.extend(outcome.notes);
            if outcome.applied == 0 {
                continue;
            }
            changed = true;
            applied[index] += outcome.applied;
            results[index] = outcome.result;
            fixed_texts[index] = Some(outcome.source);
        }
        if !changed {
            break;
        }
        workspace = workspace_pass(units, &results, &rules, settings);
    }

    // Write (or diff) every file whose text changed.
    for (index, fixed) in fixed_texts.into_iter().enumerate() {
        let Some(fixed) = fixed else { continue };
        let unit = &units[index];
        let original = read_source(unit)?
            .map(|source| source.text)
            .unwrap_or_default();
        if fixed.text == original {
            continue;
        }
        if options.diff {
            report.fixed += applied[index];
            report.diffs.push(FileDiff {
                path: unit.display.clone(),
                text: fix::unified_diff(&unit.display, &original, &fixed.text),
            });
            continue;
        }
        let new_bytes = fix::file_bytes(&fixed);
        match fix::write_atomically(&unit.path, &new_bytes) {
            Ok(()) => {
                report.fixed += applied[index];
                if let Some(cache) = cache.as_mut() {
                    let key = cache::file_key(&new_bytes, unit);
                    cache.insert(unit.display.clone(), key, results[index].clone());
                }
            }
            Err(note) => {
                report.notes.push(note);
                // The file is as it was: report what the disk holds.
                let bytes = std::fs::read(&unit.path).map_err(|source| LintError::Io {
                    path: unit.path.clone(),
                    source,
                })?;
                results[index] = check_bytes(bytes, &unit.display, env_of(unit)).1;
                workspace = workspace_pass(units, &results, &rules, settings);
            }
        }
    }
    for (result, workspace) in results.into_iter().zip(workspace) {
        report.diagnostics.extend(result.diagnostics);
        report.diagnostics.extend(workspace);
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

fn check_env<'a>(
    settings: &'a crate::config::Settings,
    rules: &'a RuleSet,
    unit: &'a SourceUnit,
) -> CheckEnv<'a> {
    CheckEnv {
        settings,
        rules,
        dependencies: unit.dependencies.as_deref(),
        test_target: unit.test_target,
        module: &unit.module,
    }
}

/// The per-file pass for one file: the cached result, or a check of its text.
fn check_unit(
    unit: &SourceUnit,
    env: CheckEnv<'_>,
    cache: Option<&Cache>,
) -> Result<Checked, LintError> {
    let bytes = read_bytes(unit)?;
    let key = cache::file_key(&bytes, unit);
    if let Some(result) = cache.and_then(|cache| cache.get(&unit.display, key)) {
        return Ok(Checked {
            result: result.clone(),
            cache_update: None,
        });
    }
    let (_, result) = check_bytes(bytes, &unit.display, env);
    Ok(Checked {
        cache_update: Some((key, result.clone())),
        result,
    })
}

fn read_bytes(unit: &SourceUnit) -> Result<Vec<u8>, LintError> {
    std::fs::read(&unit.path).map_err(|source| LintError::Io {
        path: unit.path.clone(),
        source,
    })
}

/// The file's text; `None` when it is not UTF-8 (such a file is never rewritten).
fn read_source(unit: &SourceUnit) -> Result<Option<SourceFile>, LintError> {
    let bytes = read_bytes(unit)?;
    Ok(String::from_utf8(bytes)
        .ok()
        .map(|text| SourceFile::new(&unit.display, text)))
}

/// Run the cross-file rules on the index of every file's facts; their diagnostics per file,
/// after that file's suppression comments.
fn workspace_pass(
    units: &[SourceUnit],
    results: &[FileResult],
    rules: &RuleSet,
    settings: &crate::config::Settings,
) -> Vec<Vec<Diagnostic>> {
    let mut per_file: Vec<Vec<Diagnostic>> = vec![Vec::new(); units.len()];
    if rules.workspace_rules().is_empty() {
        return per_file;
    }
    let index = WorkspaceIndex::new(
        units
            .iter()
            .zip(results)
            .map(|(unit, result)| IndexedFile {
                path: &unit.display,
                facts: &result.facts,
            })
            .collect(),
    );
    let mut found = Vec::new();
    for &(rule, severity) in rules.workspace_rules() {
        if let Some(check) = rule.hooks.workspace {
            let mut cx = WorkspaceCx {
                settings,
                meta: rule.meta,
                severity,
                out: &mut found,
            };
            check(&index, &mut cx);
        }
    }
    let position: std::collections::HashMap<&std::path::Path, usize> = units
        .iter()
        .enumerate()
        .map(|(index, unit)| (unit.display.as_path(), index))
        .collect();
    for diagnostic in found {
        if let Some(&index) = position.get(diagnostic.path.as_path()) {
            per_file[index].push(diagnostic);
        }
    }
    let workspace_code = |code: &str| {
        rules
            .workspace_rules()
            .iter()
            .any(|(rule, _)| rule.meta.code == code)
    };
    for (index, diagnostics) in per_file.iter_mut().enumerate() {
        let allows = &results[index].allows;
        if diagnostics.is_empty() && allows.is_empty() {
            continue;
        }
        *diagnostics = allows.clone().apply(
            std::mem::take(diagnostics),
            &workspace_code,
            rules.unused_allow(),
            &units[index].display,
        );
    }
    per_file
}
