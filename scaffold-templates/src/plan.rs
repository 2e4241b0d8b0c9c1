//! A [`Plan`]: the files a scaffold creates and edits, computed before anything is written, and
//! [`Plan::apply`], which writes all of it or none of it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ScaffoldError;

/// Everything one `catga new` or `catga add` will write.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The project directory every file path is relative to.
    pub root: PathBuf,
    /// The files, in the order they are listed and written.
    pub files: Vec<PlannedFile>,
    /// Things worth telling the user (a converted name, an idempotent command).
    pub notes: Vec<String>,
}

/// One file of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    /// Relative to [`Plan::root`].
    pub path: PathBuf,
    /// What happens to it.
    pub change: Change,
}

/// What a plan does to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new file with this text; it must not exist.
    Create(String),
    /// An existing file, whose text must still be `before`, gets `after`.
    Edit {
        /// The text it was planned from.
        before: String,
        /// The text it gets.
        after: String,
    },
}

/// What was written so far, to undo on failure.
#[derive(Debug, Default)]
struct Undo {
    created_dirs: Vec<PathBuf>,
    created_files: Vec<PathBuf>,
    edited_files: Vec<(PathBuf, String)>,
}

impl Plan {
    /// A plan rooted at `root`, with nothing in it yet.
    pub fn new(root: impl Into<PathBuf>) -> Plan {
        Plan {
            root: root.into(),
            ..Plan::default()
        }
    }

    /// Adds a file to create.
    pub fn create(&mut self, path: impl Into<PathBuf>, text: String) {
        self.files.push(PlannedFile {
            path: path.into(),
            change: Change::Create(text),
        });
    }

    /// Adds an edit of an existing file.
    pub fn edit(&mut self, path: impl Into<PathBuf>, before: String, after: String) {
        self.files.push(PlannedFile {
            path: path.into(),
            change: Change::Edit { before, after },
        });
    }

    /// Checks that every file to create is absent and every file to edit is as planned: the
    /// checks `apply` repeats right before writing, here without writing anything.
    pub fn check(&self) -> Result<(), ScaffoldError> {
        for file in &self.files {
            let path = self.root.join(&file.path);
            match &file.change {
                Change::Create(_) => {
                    if path.symlink_metadata().is_ok() {
                        return Err(ScaffoldError::Exists { path });
                    }
                }
                Change::Edit { before, .. } => {
                    let now = fs::read_to_string(&path)
                        .map_err(|error| ScaffoldError::io("read", &path, error))?;
                    if &now != before {
                        return Err(ScaffoldError::Changed { path });
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes the plan. New files are written to a temporary file and linked into place only
    /// if nothing is there (never replacing a file); edits replace their file atomically. On
    /// any failure every file written so far is removed, every edit is reverted, and the
    /// directories created are removed again, so the tree is as it was.
    pub fn apply(&self) -> Result<(), ScaffoldError> {
        self.check()?;
        let mut undo = Undo::default();
        match self.write_all(&mut undo) {
            Ok(()) => Ok(()),
            Err(error) => Err(undo.run(error)),
        }
    }

    fn write_all(&self, undo: &mut Undo) -> Result<(), ScaffoldError> {
        for file in &self.files {
            let path = self.root.join(&file.path);
            match &file.change {
                Change::Create(text) => {
                    if let Some(parent) = path.parent() {
                        create_dirs(parent, undo)?;
                    }
                    write_new(&path, text)?;
                    undo.created_files.push(path);
                }
                Change::Edit { before, after } => {
                    let now = fs::read_to_string(&path)
                        .map_err(|error| ScaffoldError::io("read", &path, error))?;
                    if &now != before {
                        return Err(ScaffoldError::Changed { path });
                    }
                    replace(&path, after)?;
                    undo.edited_files.push((path, now));
                }
            }
        }
        Ok(())
    }
}

impl Undo {
    /// Undoes everything recorded, newest first; returns `error`, or a [`ScaffoldError::Rollback`]
    /// naming what could not be undone.
    fn run(self, error: ScaffoldError) -> ScaffoldError {
        let mut failures = Vec::new();
        for (path, original) in self.edited_files.iter().rev() {
            if let Err(undo_error) = replace(path, original) {
                failures.push((path.display().to_string(), undo_error.to_string()));
            }
        }
        for path in self.created_files.iter().rev() {
            if let Err(undo_error) = fs::remove_file(path) {
                failures.push((path.display().to_string(), undo_error.to_string()));
            }
        }
        for dir in self.created_dirs.iter().rev() {
            if let Err(undo_error) = fs::remove_dir(dir) {
                failures.push((dir.display().to_string(), undo_error.to_string()));
            }
        }
        if failures.is_empty() {
            return error;
        }
        ScaffoldError::Rollback {
            error: Box::new(error),
            undo: failures[0].1.clone(),
            paths: failures.into_iter().map(|(path, _)| path).collect(),
        }
    }
}

/// Creates `dir` and its missing ancestors, recording each one created.
fn create_dirs(dir: &Path, undo: &mut Undo) -> Result<(), ScaffoldError> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|ancestor| !ancestor.as_os_str().is_empty() && !ancestor.exists())
        .collect();
    for dir in missing.into_iter().rev() {
        fs::create_dir(dir)
            .map_err(|error| ScaffoldError::io("create the directory", dir, error))?;
        undo.created_dirs.push(dir.to_path_buf());
    }
    Ok(())
}

fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile, ScaffoldError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".catga-");
    // Created as `File::create` creates files (0666 less the umask), not 0600: a generated
    // project's files are as readable as the user's others.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder
        .tempfile_in(dir)
        .map_err(|error| ScaffoldError::io("create a temporary file in", dir, error))
}

fn filled(path: &Path, text: &str) -> Result<tempfile::NamedTempFile, ScaffoldError> {
    let mut file = temp_beside(path)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(|error| ScaffoldError::io("write", path, error))?;
    Ok(file)
}

/// Writes a new file; fails, writing nothing, if anything is at `path`.
fn write_new(path: &Path, text: &str) -> Result<(), ScaffoldError> {
    filled(path, text)?
        .persist_noclobber(path)
        .map_err(|error| match error.error.kind() {
            std::io::ErrorKind::AlreadyExists => ScaffoldError::Exists {
                path: path.to_path_buf(),
            },
            _ => ScaffoldError::io("write", path, error.error),
        })?;
    Ok(())
}

/// Replaces an existing file's text atomically, keeping its permissions.
fn replace(path: &Path, text: &str) -> Result<(), ScaffoldError> {
    let file = filled(path, text)?;
    if let Ok(metadata) = fs::metadata(path) {
        // Best effort: a file we could read but whose mode we cannot copy still gets its text.
        let _ = fs::set_permissions(file.path(), metadata.permissions());
    }
    file.persist(path)
        .map_err(|error| ScaffoldError::io("write", path, error.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path below `root` with its text (`None` for a directory).
    fn tree(root: &Path) -> Vec<(PathBuf, Option<String>)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).expect("read dir").flatten() {
                let path = entry.path();
                let relative = path.strip_prefix(root).expect("below root").to_path_buf();
                if path.is_dir() {
                    out.push((relative, None));
                    stack.push(path);
                } else {
                    out.push((relative, Some(fs::read_to_string(&path).expect("read"))));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn applies_creates_and_edits() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("lib.rs"), "old").expect("write");
        let mut plan = Plan::new(dir.path());
        plan.create("src/a/b.rs", "b".into());
        plan.edit("lib.rs", "old".into(), "new".into());
        plan.apply().expect("applies");
        assert_eq!(
            fs::read_to_string(dir.path().join("src/a/b.rs")).expect("read"),
            "b"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("lib.rs")).expect("read"),
            "new"
        );
    }

    #[test]
    fn an_existing_file_stops_the_plan_before_anything_is_written() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("taken.rs"), "mine").expect("write");
        let before = tree(dir.path());
        let mut plan = Plan::new(dir.path());
        plan.create("new/first.rs", "1".into());
        plan.create("taken.rs", "theirs".into());
        let error = plan.apply().unwrap_err();
        assert!(matches!(error, ScaffoldError::Exists { .. }), "{error}");
        assert_eq!(tree(dir.path()), before);
    }

    #[test]
    fn a_failure_part_way_removes_what_was_written_and_restores_edits() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("lib.rs"), "old").expect("write");
        fs::write(
            dir.path().join("blocker"),
            "a file where a directory must go",
        )
        .expect("write");
        let before = tree(dir.path());
        let mut plan = Plan::new(dir.path());
        plan.create("src/deep/first.rs", "1".into());
        plan.edit("lib.rs", "old".into(), "new".into());
        // `blocker` is a file, so creating `blocker/x.rs` fails after the writes above.
        plan.create("blocker/x.rs", "x".into());
        let error = plan.apply().unwrap_err();
        assert!(matches!(error, ScaffoldError::Io { .. }), "{error}");
        assert_eq!(tree(dir.path()), before);
    }

    #[cfg(unix)]
    #[test]
    fn created_files_honour_the_umask_like_file_create() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut plan = Plan::new(dir.path());
        plan.create("src/new.rs", "x".into());
        plan.apply().expect("applies");
        fs::write(dir.path().join("reference"), "x").expect("write");
        let mode = |name: &str| {
            fs::metadata(dir.path().join(name))
                .expect("metadata")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("src/new.rs"), mode("reference"));
    }

    #[test]
    fn an_edit_of_a_file_changed_since_planning_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("lib.rs"), "changed").expect("write");
        let mut plan = Plan::new(dir.path());
        plan.edit("lib.rs", "old".into(), "new".into());
        assert!(matches!(
            plan.apply().unwrap_err(),
            ScaffoldError::Changed { .. }
        ));
        assert_eq!(
            fs::read_to_string(dir.path().join("lib.rs")).expect("read"),
            "changed"
        );
    }
}
