//! `catga lint --watch`, run as a user runs it: start it, save a file, read the new finding on
//! its output, stop it. What it prints is the library's (`LiveWorkspace::apply_changes`, tested
//! in catga-lints); this pins the wiring: the watcher, the debounce, the printing.

use crate::lsp_client::{APP_REGISTERED, BLOCKING_HANDLER, LIB, catga_bin, project, write};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// How long the test waits for a line before it calls the command hung.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// The running command, killed when the test ends however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every line of `stream`, as it comes.
fn lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// Lines read until one contains `wanted` (that one included).
fn until(lines: &Receiver<String>, wanted: &str) -> Vec<String> {
    let deadline = Instant::now() + HANG_GUARD;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(wanted);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(error) => panic!("no line with {wanted:?} ({error}); saw {seen:#?}"),
        }
    }
}

#[test]
fn lint_watch_prints_the_finding_a_saved_edit_brings() {
    let quiet = BLOCKING_HANDLER.replace(
        "std::thread::sleep(Duration::from_millis(5));",
        "let _ = Duration::from_millis(5);",
    );
    let dir = project(&[
        ("src/lib.rs", LIB),
        ("src/handlers.rs", &quiet),
        ("src/app.rs", APP_REGISTERED),
    ]);
    let mut child = Command::new(catga_bin())
        .current_dir(dir.path())
        .args(["lint", "--watch"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run catga lint --watch");
    let stdout = lines(child.stdout.take().expect("stdout"));
    let stderr = lines(child.stderr.take().expect("stderr"));
    let _running = Running(child);
    until(&stdout, "All checks passed!");
    until(&stderr, "Watching");
    write(dir.path(), "src/handlers.rs", BLOCKING_HANDLER);
    let printed = until(&stdout, "1 new, 0 fixed");
    assert!(
        printed.iter().any(|line| line.contains("CATGA005")),
        "{printed:#?}"
    );
    assert!(
        printed
            .iter()
            .any(|line| line.contains("std::thread::sleep blocks the executor thread")),
        "{printed:#?}"
    );
}

/// Runs `catga lint --watch` with `extra` in `dir`; a bad input must end it (exit 2) before
/// anything is watched, so `output` returns rather than hanging.
fn watch_refused(dir: &std::path::Path, extra: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(catga_bin())
        .current_dir(dir)
        .args(["lint", "--watch"])
        .args(extra)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run catga lint --watch");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn lint_watch_refuses_a_format_and_a_missing_path_before_watching() {
    let dir = project(&[("src/lib.rs", LIB)]);
    let (code, stderr) = watch_refused(dir.path(), &["--format", "json"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--watch prints findings as they change"),
        "{stderr}"
    );
    let (code, stderr) = watch_refused(dir.path(), &["no-such-dir"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no-such-dir"), "names the path: {stderr}");
    assert!(!stderr.contains("Watching"), "nothing is watched: {stderr}");
}
