//! Temporary projects and a `catga` command running inside them.

use assert_cmd::Command;
use std::path::Path;
use tempfile::TempDir;

/// A manifest depending on tokio, so the sleep and fs fixes apply.
pub(crate) const MANIFEST: &str = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n\
    edition = \"2021\"\n\n[dependencies]\ntokio = { version = \"1\", features = [\"full\"] }\n\n\
    [workspace]\n";

/// CATGA005 (warning, safe fix) on line 4, column 5.
pub(crate) const BLOCKING_SLEEP: &str = "use std::time::Duration;\n\n\
    pub async fn handle() {\n    std::thread::sleep(Duration::from_millis(5));\n}\n";

/// CATGA012 (error, safe fix) on line 2, column 5.
pub(crate) const SYNC_READ: &str = "pub async fn load() -> std::io::Result<String> {\n    std::fs::read_to_string(\"config.toml\")\n}\n";

/// Nothing to report: the blocking call runs on the blocking pool.
pub(crate) const CLEAN: &str = "pub async fn handle() {\n    \
    tokio::task::spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(5)));\n}\n";

/// A project with `Cargo.toml` and the given files (paths relative to its root).
pub(crate) fn project(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("create a temp dir");
    write(dir.path(), "Cargo.toml", MANIFEST);
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

/// Writes `text` to `root/path`, creating directories.
pub(crate) fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().expect("a file path has a parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write a fixture file");
}

/// `catga ARGS...` run in `dir`, without colour settings from the environment.
pub(crate) fn catga(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_catga"));
    command
        .current_dir(dir)
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    command
}

/// Runs `catga ARGS...` in `dir` and returns (exit code, stdout, stderr).
pub(crate) fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = catga(dir, args).output().expect("run catga");
    (
        output
            .status
            .code()
            .expect("catga exited normally, not by a signal"),
        String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    )
}

/// `catga lint --format json ARGS...` parsed, with the exit code.
pub(crate) fn lint_json(dir: &Path, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["lint", "--format", "json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(dir, &all);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!("stdout is not JSON ({error}):\n{stdout}\nstderr:\n{stderr}")
    });
    (code, value)
}

/// The `code` of every diagnostic in a JSON report, in order.
pub(crate) fn codes(report: &serde_json::Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics is an array")
        .iter()
        .map(|diagnostic| {
            diagnostic["code"]
                .as_str()
                .expect("code is a string")
                .to_string()
        })
        .collect()
}

/// Every path below `root` (directories end in `/`) with its bytes: equal snapshots mean an
/// identical tree.
pub(crate) fn snapshot(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read a directory").flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .expect("below the root")
                .display()
                .to_string();
            if path.is_dir() {
                out.push((format!("{relative}/"), Vec::new()));
                stack.push(path);
            } else {
                out.push((relative, std::fs::read(&path).expect("read a file")));
            }
        }
    }
    out.sort();
    out
}
