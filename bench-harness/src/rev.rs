//! `catga bench --compare-rev REV`: the project's bench target at another revision, measured
//! beside the working tree's, alternately, the way tango-bench pairs a baseline and a candidate.
//!
//! The revision is checked out with `git worktree add --detach` into a temporary directory and
//! built into [`target_dir`], a directory of its own inside the project's cargo target
//! directory: not the project's own, where cargo would take the worktree's bench target for the
//! working tree's (same package, same target: same artifact) and run one build twice; and kept
//! between runs, so the dependencies are built once. The
//! worktree is removed when [`Worktree`] is dropped: on success, on error, and on Ctrl-C, which
//! the children (cargo, the bench executables) die of while this process only notes it
//! ([`Interrupts`]) and unwinds.
//!
//! Both builds then run in rounds, one sample each, in the order A B, B A, A B, ... (so neither
//! always runs second), with the same batches: round `i` of each ran at about the same moment,
//! under the same load, and the comparison takes the ratio of each round's two figures
//! ([`crate::compare::CompareOptions::paired`]). A slow minute of the machine then changes both
//! figures of the rounds it covers, not their ratio, and a change of a few percent shows.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::report::{Report, Tool};
use crate::runner::RunOptions;
use crate::target::BenchTarget;

/// Where another revision of the project builds: `catga-compare-rev` in the project's target
/// directory `project_target_dir`.
pub fn target_dir(project_target_dir: &Path) -> PathBuf {
    project_target_dir.join("catga-compare-rev")
}

/// A detached `git worktree` of one commit in a temporary directory, removed on drop.
#[derive(Debug)]
pub struct Worktree {
    /// The repository's top-level directory.
    repo: PathBuf,
    /// The worktree's top-level directory.
    path: PathBuf,
    commit: String,
    /// Removed (after the worktree) on drop.
    _dir: tempfile::TempDir,
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run `git`: {error}; `--compare-rev` needs git on PATH"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

impl Worktree {
    /// Checks out `rev` of the repository holding `dir` into a new temporary worktree.
    pub fn add(dir: &Path, rev: &str) -> Result<Worktree, String> {
        let repo = git(dir, &["rev-parse", "--show-toplevel"]).map_err(|error| {
            format!(
                "`--compare-rev {rev}` needs the project in a git repository, and `{}` is not \
                 in one ({error}); commit the project, or compare with a saved report \
                 (`--compare BASELINE`)",
                dir.display()
            )
        })?;
        let repo = PathBuf::from(repo);
        let commit = git(
            &repo,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .ok()
        .filter(|commit| !commit.is_empty())
        .ok_or_else(|| {
            format!(
                "`--compare-rev {rev}`: `{rev}` is not a commit of the repository at `{}`; \
                     name a branch, tag or commit (`main`, `HEAD~1`, `v0.3.0`)",
                repo.display()
            )
        })?;
        let temp = tempfile::Builder::new()
            .prefix("catga-compare-rev-")
            .tempdir()
            .map_err(|error| format!("cannot create a temporary directory: {error}"))?;
        let path = temp.path().join("tree");
        let path_text = path.to_string_lossy().into_owned();
        git(
            &repo,
            &[
                "worktree", "add", "--detach", "--quiet", &path_text, &commit,
            ],
        )
        .map_err(|error| format!("cannot check out `{rev}` ({commit}): {error}"))?;
        Ok(Worktree {
            repo,
            path,
            commit,
            _dir: temp,
        })
    }

    /// Where `dir` (inside the repository) is in the worktree.
    pub fn counterpart(&self, dir: &Path) -> Result<PathBuf, String> {
        let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let relative = canonical(dir)
            .strip_prefix(canonical(&self.repo))
            .map(Path::to_path_buf)
            .map_err(|_| {
                format!(
                    "`{}` is not inside the repository `{}`",
                    dir.display(),
                    self.repo.display()
                )
            })?;
        Ok(self.path.join(relative))
    }

    /// The commit checked out.
    pub fn commit(&self) -> &str {
        &self.commit
    }

    /// The worktree's top-level directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let path = self.path.to_string_lossy().into_owned();
        // Removing can only fail if it is gone already; prune forgets it either way.
        let _ = git(&self.repo, &["worktree", "remove", "--force", &path]);
        let _ = git(&self.repo, &["worktree", "prune"]);
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn note_interrupt(_signal: libc::c_int) {
    // An atomic store is async-signal-safe; nothing else happens in the handler.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// While alive, Ctrl-C (SIGINT) does not end this process: it is noted, the children it also
/// reaches die of it, and the code in between stops at its next [`Interrupts::check`] and
/// unwinds, removing what it made. The previous handler comes back on drop.
#[derive(Debug)]
pub struct Interrupts {
    previous: libc::sighandler_t,
}

impl Interrupts {
    pub fn catch() -> Interrupts {
        INTERRUPTED.store(false, Ordering::SeqCst);
        let handler = note_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: `signal` installs `note_interrupt`, an `extern "C"` function that lives for
        // the whole program and only stores to an atomic, which is async-signal-safe.
        #[allow(unsafe_code)]
        let previous = unsafe { libc::signal(libc::SIGINT, handler) };
        Interrupts { previous }
    }

    /// An error once Ctrl-C was pressed.
    pub fn check(&self) -> Result<(), String> {
        if INTERRUPTED.load(Ordering::SeqCst) {
            Err("interrupted (Ctrl-C); the temporary worktree is removed".to_owned())
        } else {
            Ok(())
        }
    }
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        // SAFETY: `previous` is the handler `signal` returned in `catch`, restored as it was.
        #[allow(unsafe_code)]
        unsafe {
            libc::signal(libc::SIGINT, self.previous);
        }
    }
}

/// Measures `names` with `baseline` and `current` alternately, `options.samples` rounds of
/// one sample each (A B, then B A, ...), and returns the two runs' reports, their samples in
/// round order. Each run warms up for `options.warmup / rounds` (at least 50 ms).
pub fn paired_rounds(
    baseline: &BenchTarget,
    current: &BenchTarget,
    names: &[String],
    options: &RunOptions,
    tool: &Tool,
    interrupts: &Interrupts,
) -> Result<(Report, Report), String> {
    let rounds = options.samples.max(1);
    let mut per_run = RunOptions {
        duration: options.duration / rounds,
        warmup: (options.warmup / rounds).max(Duration::from_millis(50)),
        samples: 1,
        ..options.clone()
    };
    let mut runs: [Vec<Report>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            interrupts.check()?;
            let target = if side == 0 { baseline } else { current };
            // A child killed by Ctrl-C fails; say it was Ctrl-C.
            let report = target
                .measure(names, &per_run, tool)
                .map_err(|error| interrupts.check().err().unwrap_or(error))?;
            if per_run.batches.is_empty() {
                // Every later run times the first one's batches: one kind of figure throughout.
                per_run.batches = report.batches();
            }
            runs[side].push(report);
        }
    }
    interrupts.check()?;
    let [a, b] = runs.map(|runs| {
        let mut merged = Report::merge_runs(runs)?;
        merged.config.duration_ms = options.duration.as_millis() as u64;
        merged.config.warmup_ms = options.warmup.as_millis() as u64;
        Ok::<Report, String>(merged)
    });
    Ok((a?, b?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    /// A repository with two commits of `project/file`: "one", then "two".
    fn repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &["init", "--quiet"]);
        run(dir.path(), &["config", "user.email", "bench@example.com"]);
        run(dir.path(), &["config", "user.name", "bench"]);
        std::fs::create_dir(dir.path().join("project")).unwrap();
        for text in ["one", "two"] {
            std::fs::write(dir.path().join("project/file"), text).unwrap();
            run(dir.path(), &["add", "."]);
            run(dir.path(), &["commit", "--quiet", "-m", text]);
        }
        dir
    }

    #[test]
    fn a_worktree_holds_the_revision_and_is_removed_when_dropped() {
        let repo = repository();
        let project = repo.path().join("project");
        let tree = Worktree::add(&project, "HEAD~1").unwrap();
        let there = tree.counterpart(&project).unwrap();
        assert_eq!(std::fs::read_to_string(there.join("file")).unwrap(), "one");
        assert_eq!(tree.commit().len(), 40);
        let path = tree.path().to_path_buf();
        drop(tree);
        assert!(!path.exists(), "the worktree's files are gone");
        let listed = git(repo.path(), &["worktree", "list"]).unwrap();
        assert_eq!(listed.lines().count(), 1, "git forgot it: {listed}");
    }

    #[test]
    fn a_worktree_is_removed_when_the_work_in_it_fails() {
        let repo = repository();
        let failed = || -> Result<(), String> {
            let tree = Worktree::add(repo.path(), "HEAD")?;
            std::fs::write(tree.path().join("built"), "x").unwrap();
            Err("the build failed".to_owned())
        };
        assert!(failed().is_err());
        let listed = git(repo.path(), &["worktree", "list"]).unwrap();
        assert_eq!(listed.lines().count(), 1, "{listed}");
    }

    #[test]
    fn a_revision_that_is_not_a_commit_or_a_directory_outside_git_is_a_clear_error() {
        let repo = repository();
        let error = Worktree::add(repo.path(), "no-such-branch").unwrap_err();
        assert!(
            error.contains("`no-such-branch` is not a commit") && error.contains("HEAD~1"),
            "{error}"
        );
        let outside = tempfile::tempdir().unwrap();
        let error = Worktree::add(outside.path(), "HEAD").unwrap_err();
        assert!(error.contains("not in one"), "{error}");
    }

    #[test]
    fn ctrl_c_is_noted_instead_of_ending_the_process_while_caught() {
        let interrupts = Interrupts::catch();
        assert!(interrupts.check().is_ok());
        let status = Command::new("kill")
            .arg("-INT")
            .arg(std::process::id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success());
        // Delivery is asynchronous; 60 s is only a guard against a hang.
        let noted = std::time::Instant::now();
        while interrupts.check().is_ok() && noted.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let error = interrupts.check().unwrap_err();
        assert!(error.contains("worktree is removed"), "{error}");
    }
}
