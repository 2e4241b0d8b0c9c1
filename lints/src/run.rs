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
use crate::workspace::{IndexTables, IndexedFile, WorkspaceCx, WorkspaceIndex};
use rayon::prelude::*;
use std::path::PathBuf;

/// Stack size of the lint threads (the parser recurses with the nesting of the code).
pub(crate) const LINT_THREAD_STACK: usize = 32 * 1024 * 1024;

/// The phase of a run that [`Progress`] reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Parsing and checking files.
    Checking,
    /// Applying fixes in memory (a round of the fix loop over the files that have fixes).
    Fixing,
}

/// Called as a long run advances, from the lint threads: the phase, how many of its files are
/// done, and how many there are. The CLI draws a progress bar with it on a terminal.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(Phase, usize, usize) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// Counts finished files of one phase and tells [`Progress`].
struct Ticker<'a> {
    progress: Option<&'a Progress>,
    phase: Phase,
    total: usize,
    done: std::sync::atomic::AtomicUsize,
}

impl<'a> Ticker<'a> {
    fn new(progress: Option<&'a Progress>, phase: Phase, total: usize) -> Ticker<'a> {
        if let Some(progress) = progress {
            (progress.0)(phase, 0, total);
        }
        Ticker {
            progress,
            phase,
            total,
            done: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn tick(&self) {
        if let Some(progress) = self.progress {
            let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            (progress.0)(self.phase, done, self.total);
        }
    }
}

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
    /// Told how a long run advances; `None` runs silently.
    pub progress: Option<Progress>,
}

/// One file's would-be changes under `diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// The file, as diagnostics show it.
    pub path: PathBuf,
    /// A unified diff.
    pub text: String,
}

/// One fix a run applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedFix {
    /// The file, as diagnostics show it.
    pub path: PathBuf,
    /// The line the fix's first edit was on when it was applied.
    pub line: u32,
    /// The rule code.
    pub code: String,
    /// What the fix did.
    pub description: String,
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
    /// Each fix applied (or that would be), in file order: for `--show-fixes`.
    pub applied: Vec<AppliedFix>,
    /// With `diff`: one unified diff per file that would change.
    pub diffs: Vec<FileDiff>,
    /// Things the user should know that are not diagnostics (dropped fixes, non-convergence,
    /// files that could not be written).
    pub notes: Vec<String>,
    /// The `fail_on` threshold from config, if set.
    pub fail_on: Option<Severity>,
    /// The cache file this run read and updated (`None` with the cache off).
    pub cache_file: Option<PathBuf>,
    /// The directory diagnostic paths are relative to: the run's `root`, canonical.
    pub root: PathBuf,
    /// The project the run's root lies in (see [`crate::output::relative_to`]), for output
    /// that must read the same from any directory (JSON, SARIF, GitHub annotations).
    pub project_root: PathBuf,
}

/// One file after the per-file pass.
pub(crate) struct Checked {
    pub(crate) result: FileResult,
    /// The cache entry to write for the file as it is on disk (absent when the cached entry is
    /// still right).
    pub(crate) cache_update: Option<(u64, FileResult)>,
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
    let cache = options.cache.then(|| {
        Cache::load(
            &cache_dir(&root, &discovered),
            cache::run_key(&root, settings, &rules),
        )
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
    let mut cache = cache;
    let progress = options.progress.as_ref();
    let mut run = Run::check(
        &discovered.files,
        settings,
        &rules,
        pool,
        cache.as_mut(),
        progress,
    )?;
    run.fix(fix_mode, progress)?;
    let mut report = LintReport {
        files_scanned: discovered.files.len(),
        fail_on: settings.fail_on,
        cache_file: cache.as_ref().map(|cache| cache.file().to_path_buf()),
        project_root: discover::project_root(&root),
        root: root.clone(),
        ..LintReport::default()
    };
    run.write(options.diff, cache.as_mut(), &mut report)?;
    report.notes.append(&mut run.notes);
    for (result, workspace) in run.results.into_iter().zip(run.workspace) {
        report.diagnostics.extend(result.diagnostics);
        report.diagnostics.extend(workspace);
    }
    if let Some(cache) = cache
        && let Err(note) = cache.save(&root)
    {
        report.notes.push(note);
    }
    sort_for_output(&mut report.diagnostics);
    report.diffs.sort_by(|a, b| a.path.cmp(&b.path));
    report
        .applied
        .sort_by(|a, b| (&a.path, a.line, &a.code).cmp(&(&b.path, b.line, &b.code)));
    report.notes.sort();
    Ok(report)
}

/// Output order: by path, line, column and code, then message.
pub(crate) fn sort_for_output(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.message.cmp(&b.message))
    });
}

/// A file's text as fixed in memory, with the text read from disk (for the diff and to skip
/// writing a file the fixes left as it was).
#[derive(Clone)]
struct FixedFile {
    original: String,
    source: SourceFile,
    /// Fixes applied so far.
    applied: usize,
    /// Each of them: code, line, description.
    applied_fixes: Vec<(String, u32, String)>,
}

/// One run's files and what is known of them, phase by phase: [`Run::check`] every file,
/// [`Run::fix`] in memory, [`Run::write`] what changed.
struct Run<'a> {
    units: &'a [SourceUnit],
    settings: &'a crate::config::Settings,
    rules: &'a RuleSet,
    pool: rayon::ThreadPool,
    /// Per file: its per-file result, for its text after the fixes so far.
    results: Vec<FileResult>,
    /// Per file: the cross-file rules' diagnostics on the current results.
    workspace: Vec<Vec<Diagnostic>>,
    /// Per file: its text as fixed so far; `None` while unchanged.
    fixed: Vec<Option<FixedFile>>,
    notes: Vec<String>,
}

impl<'a> Run<'a> {
    /// The per-file pass over every file in parallel (cached results where the cache has
    /// them), then the cross-file rules. The first file that cannot be read stops the run.
    fn check(
        units: &'a [SourceUnit],
        settings: &'a crate::config::Settings,
        rules: &'a RuleSet,
        pool: rayon::ThreadPool,
        mut cache: Option<&mut Cache>,
        progress: Option<&Progress>,
    ) -> Result<Run<'a>, LintError> {
        let ticker = Ticker::new(progress, Phase::Checking, units.len());
        let checked: Vec<Checked> = pool.install(|| {
            // One file per work item: files differ in size by three orders of magnitude, and
            // rayon's default split hands each thread long runs of files it cannot give away,
            // so one thread would finish the last run alone while the others idle.
            units
                .par_iter()
                .with_max_len(1)
                .map(|unit| {
                    let checked =
                        check_unit(unit, check_env(settings, rules, unit), cache.as_deref());
                    ticker.tick();
                    checked
                })
                .collect::<Result<Vec<_>, LintError>>()
        })?;
        let mut results = Vec::with_capacity(checked.len());
        for (unit, checked) in units.iter().zip(checked) {
            if let Some(cache) = cache.as_deref_mut() {
                match checked.cache_update {
                    Some((key, result)) => cache.insert(unit.display.clone(), key, result),
                    None => cache.touch(&unit.display),
                }
            }
            results.push(checked.result);
        }
        let mut run = Run {
            units,
            settings,
            rules,
            pool,
            results,
            workspace: Vec::new(),
            fixed: vec![None; units.len()],
            notes: Vec::new(),
        };
        run.workspace = workspace_pass(units, &run.results, rules, settings);
        Ok(run)
    }

    /// Applies fixes of both kinds in memory, then runs the cross-file rules on the fixed
    /// facts, for up to [`WORKSPACE_FIX_ROUNDS`] rounds. Per-file fixes converge in the first
    /// round; later rounds follow only the cross-file ones.
    fn fix(&mut self, mode: FixMode, progress: Option<&Progress>) -> Result<(), LintError> {
        if mode == FixMode::Off {
            return Ok(());
        }
        for round in 0..WORKSPACE_FIX_ROUNDS {
            let to_fix: Vec<usize> = (0..self.units.len())
                .filter(|&index| {
                    let result = &self.results[index];
                    (round == 0 && fix::has_applicable_fix(result, mode))
                        || (result.parsed && fix::any_applicable(&self.workspace[index], mode))
                })
                .collect();
            if to_fix.is_empty() {
                return Ok(());
            }
            let ticker = Ticker::new(progress, Phase::Fixing, to_fix.len());
            let ticker = &ticker;
            let this = &*self;
            let outcomes: Vec<(usize, Option<(String, fix::FixOutcome)>)> =
                self.pool.install(|| {
                    to_fix
                        .par_iter()
                        .map(|&index| {
                            let fixed = this.fix_file(index, mode)?;
                            ticker.tick();
                            Ok((index, fixed))
                        })
                        .collect::<Result<Vec<_>, LintError>>()
                })?;
            let mut changed = false;
            for (index, outcome) in outcomes {
                let Some((original, outcome)) = outcome else {
                    continue;
                };
                self.notes.extend(outcome.notes);
                if outcome.applied == 0 {
                    continue;
                }
                changed = true;
                let before = self.fixed[index].as_ref().map_or(0, |fixed| fixed.applied);
                let mut applied_fixes = self.fixed[index]
                    .as_mut()
                    .map(|fixed| std::mem::take(&mut fixed.applied_fixes))
                    .unwrap_or_default();
                applied_fixes.extend(outcome.applied_fixes);
                self.results[index] = outcome.result;
                self.fixed[index] = Some(FixedFile {
                    original,
                    source: outcome.source,
                    applied_fixes,
                    applied: before + outcome.applied,
                });
            }
            if !changed {
                return Ok(());
            }
            self.workspace = workspace_pass(self.units, &self.results, self.rules, self.settings);
        }
        Ok(())
    }

    /// The fix loop on one file's current text, with its cross-file diagnostics too, and the
    /// file's text on disk; `None` for a file that is not UTF-8.
    fn fix_file(
        &self,
        index: usize,
        mode: FixMode,
    ) -> Result<Option<(String, fix::FixOutcome)>, LintError> {
        let unit = &self.units[index];
        let (original, source) = match &self.fixed[index] {
            Some(fixed) => (fixed.original.clone(), fixed.source.clone()),
            None => match read_source(unit)? {
                Some(source) => (source.text.clone(), source),
                None => return Ok(None),
            },
        };
        let mut merged = self.results[index].clone();
        merged
            .diagnostics
            .extend(self.workspace[index].iter().cloned());
        let env = check_env(self.settings, self.rules, unit);
        let outcome = fix::fix_source(source, merged, mode, env);
        Ok(Some((original, outcome)))
    }

    /// Writes every changed file atomically (or, with `diff`, adds its diff to the report).
    /// A file that cannot be written stays as it was, with a note, and is reported as it is.
    fn write(
        &mut self,
        diff: bool,
        mut cache: Option<&mut Cache>,
        report: &mut LintReport,
    ) -> Result<(), LintError> {
        let mut rejected = false;
        for index in 0..self.units.len() {
            let Some(FixedFile {
                original,
                source: fixed,
                applied,
                applied_fixes,
            }) = self.fixed[index].take()
            else {
                continue;
            };
            let unit = &self.units[index];
            if fixed.text == original {
                continue;
            }
            let record = |report: &mut LintReport| {
                report.fixed += applied;
                report
                    .applied
                    .extend(
                        applied_fixes
                            .iter()
                            .map(|(code, line, description)| AppliedFix {
                                path: unit.display.clone(),
                                line: *line,
                                code: code.clone(),
                                description: description.clone(),
                            }),
                    );
            };
            if diff {
                record(report);
                report.diffs.push(FileDiff {
                    path: unit.display.clone(),
                    text: fix::unified_diff(&unit.display, &original, &fixed.text),
                });
                continue;
            }
            let new_bytes = fix::file_bytes(&fixed);
            match fix::write_atomically(&unit.path, &new_bytes) {
                Ok(()) => {
                    record(report);
                    if let Some(cache) = cache.as_deref_mut() {
                        let key = cache::file_key(&new_bytes, unit);
                        cache.insert(unit.display.clone(), key, self.results[index].clone());
                    }
                }
                Err(note) => {
                    self.notes.push(note);
                    let env = check_env(self.settings, self.rules, unit);
                    self.results[index] = check_bytes(read_bytes(unit)?, &unit.display, env).1;
                    rejected = true;
                }
            }
        }
        if rejected {
            self.workspace = workspace_pass(self.units, &self.results, self.rules, self.settings);
        }
        Ok(())
    }
}

/// Where a run rooted at `root` keeps its cache: in cargo's target directory when there is one.
pub(crate) fn cache_dir(root: &std::path::Path, discovered: &discover::Discovered) -> PathBuf {
    match &discovered.target_dir {
        Some(target) => target.join("catga").join("lint-cache"),
        None => root.join(".catga_cache"),
    }
}

pub(crate) fn check_env<'a>(
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
pub(crate) fn check_unit(
    unit: &SourceUnit,
    env: CheckEnv<'_>,
    cache: Option<&Cache>,
) -> Result<Checked, LintError> {
    let bytes = read_bytes(unit)?;
    // Without a cache (`--no-cache`), no key to compute and no copy of the result to keep.
    let key = cache.map(|cache| (cache, cache::file_key(&bytes, unit)));
    if let Some(result) = key.and_then(|(cache, key)| cache.get(&unit.display, key)) {
        return Ok(Checked {
            result: result.clone(),
            cache_update: None,
        });
    }
    let (_, result) = check_bytes(bytes, &unit.display, env);
    Ok(Checked {
        cache_update: key.map(|(_, key)| (key, result.clone())),
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
pub(crate) fn workspace_pass(
    units: &[SourceUnit],
    results: &[FileResult],
    rules: &RuleSet,
    settings: &crate::config::Settings,
) -> Vec<Vec<Diagnostic>> {
    if rules.workspace_rules().is_empty() {
        return vec![Vec::new(); units.len()];
    }
    let tables = IndexTables::new(results.iter().map(|result| &result.facts));
    workspace_pass_with(units, results, &tables, rules, settings)
}

/// [`workspace_pass`] with the index's tables built already (`tables` must be those of
/// `results`): what a long-lived workspace runs after each change.
pub(crate) fn workspace_pass_with(
    units: &[SourceUnit],
    results: &[FileResult],
    tables: &IndexTables,
    rules: &RuleSet,
    settings: &crate::config::Settings,
) -> Vec<Vec<Diagnostic>> {
    let mut per_file: Vec<Vec<Diagnostic>> = vec![Vec::new(); units.len()];
    if rules.workspace_rules().is_empty() {
        return per_file;
    }
    let index = WorkspaceIndex::with_tables(
        units
            .iter()
            .zip(results)
            .map(|(unit, result)| IndexedFile {
                path: &unit.display,
                facts: &result.facts,
            })
            .collect(),
        tables,
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
            false,
            rules.unused_allow(),
            &units[index].display,
        );
    }
    per_file
}
