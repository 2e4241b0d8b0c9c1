//! A language server client for tests: runs `catga server`, speaks JSON-RPC over its stdin and
//! stdout with `Content-Length` framing, and waits for the messages a test expects (with a hang
//! guard, never a speed requirement). Also the projects the tests open.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a test waits for a message before it calls the server hung.
const HANG_GUARD: Duration = Duration::from_secs(60);

pub(crate) fn catga_bin() -> &'static str {
    env!("CARGO_BIN_EXE_catga")
}

/// A manifest depending on catga and tokio (so the sleep fix applies); never resolved.
pub(crate) const MANIFEST: &str = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n\
    edition = \"2021\"\n\n[dependencies]\ncatga = \"0\"\n\
    tokio = { version = \"1\", features = [\"full\"] }\n\n[workspace]\n";

pub(crate) const LIB: &str = "pub mod app;\npub mod handlers;\n";

/// A command handler that blocks its executor thread: CATGA005 on line 12 (with a safe fix),
/// and CATGA001 on line 10 while nothing registers it.
pub(crate) const BLOCKING_HANDLER: &str = "use catga::prelude::*;
use std::time::Duration;

#[derive(Debug, Clone, Command)]
#[command(response = u64)]
pub struct Reserve(pub u64);

pub struct ReserveHandler;

impl Handler<Reserve> for ReserveHandler {
    async fn handle(&self, cmd: Reserve, _ctx: &Context) -> catga::Result<u64> {
        std::thread::sleep(Duration::from_millis(5));
        Ok(cmd.0)
    }
}
";

/// A mediator that registers nothing.
pub(crate) const APP_EMPTY: &str = "use catga::prelude::*;

pub fn mediator() -> catga::Result<Mediator> {
    Mediator::builder().build()
}
";

/// The mediator with `ReserveHandler` registered.
pub(crate) const APP_REGISTERED: &str = "use catga::prelude::*;
use crate::handlers::ReserveHandler;

pub fn mediator() -> catga::Result<Mediator> {
    Mediator::builder().handler(ReserveHandler).build()
}
";

/// A project with the manifest and the given files (paths relative to its root).
pub(crate) fn project(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("create a temp dir");
    write(dir.path(), "Cargo.toml", MANIFEST);
    for (path, text) in files {
        write(dir.path(), path, text);
    }
    dir
}

pub(crate) fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write a project file");
}

/// The handler project: `src/handlers.rs` (the blocking, unregistered handler) and
/// `src/app.rs` (a mediator registering nothing).
pub(crate) fn handler_project() -> TempDir {
    project(&[
        ("src/lib.rs", LIB),
        ("src/handlers.rs", BLOCKING_HANDLER),
        ("src/app.rs", APP_EMPTY),
    ])
}

/// `catga server` running in a directory, and what it sent that no test has taken yet.
pub(crate) struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Value>,
    /// Notifications and server requests received while waiting for something else.
    unread: Vec<Value>,
    next_id: i64,
    pub(crate) root: PathBuf,
}

impl Client {
    /// Start `catga server` in `root` and complete the initialize handshake.
    pub(crate) fn start(root: &Path) -> Client {
        let root = root.canonicalize().expect("canonical root");
        let mut child = Command::new(catga_bin())
            .arg("server")
            .current_dir(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start catga server");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, messages) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        let mut client = Client {
            stdin: child.stdin.take(),
            child,
            messages,
            unread: Vec::new(),
            next_id: 0,
            root,
        };
        let uri = client.uri("");
        let result = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri,
                "workspaceFolders": [{ "uri": uri, "name": "demo" }],
                "capabilities": {
                    "textDocument": { "publishDiagnostics": { "relatedInformation": true } }
                },
            }),
        );
        assert_eq!(
            result["capabilities"]["positionEncoding"], "utf-16",
            "{result:#}"
        );
        client.notify("initialized", json!({}));
        client
    }

    /// The `file:` URI of a path relative to the project root.
    pub(crate) fn uri(&self, path: &str) -> String {
        let path = if path.is_empty() {
            self.root.clone()
        } else {
            self.root.join(path)
        };
        format!("file://{}", path.display())
    }

    /// Write one framed message.
    pub(crate) fn send(&mut self, message: &Value) {
        let body = serde_json::to_string(message).expect("serialize a message");
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write to server");
        stdin.flush().expect("flush to server");
    }

    pub(crate) fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Send a request and wait for its response; panics on an error response.
    pub(crate) fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let response = self.wait_for(&format!("the response to `{method}`"), |message| {
            message["id"] == id && message.get("method").is_none()
        });
        assert!(
            response.get("error").is_none(),
            "`{method}` failed: {response:#}"
        );
        response["result"].clone()
    }

    /// The first message (already received or to come) that `matches`, taken out.
    pub(crate) fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        if let Some(index) = self.unread.iter().position(&matches) {
            return self.unread.remove(index);
        }
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(message) if matches(&message) => return message,
                Ok(message) => self.unread.push(message),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no {what} within {HANG_GUARD:?}; received meanwhile: {:#?}",
                    self.unread
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the server closed stdout before {what}; received: {:#?}",
                    self.unread
                ),
            }
        }
    }

    /// The next `publishDiagnostics` for `path` whose codes satisfy `expected`; earlier ones
    /// for the file (intermediate states) are dropped.
    pub(crate) fn diagnostics_for(
        &mut self,
        path: &str,
        expected: impl Fn(&[String]) -> bool,
    ) -> Vec<Value> {
        let uri = self.uri(path);
        let message = self.wait_for(&format!("diagnostics for {path} as expected"), |message| {
            message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri.as_str()
                && expected(&codes(&message["params"]["diagnostics"]))
        });
        message["params"]["diagnostics"]
            .as_array()
            .expect("diagnostics is an array")
            .clone()
    }

    pub(crate) fn open(&mut self, path: &str, text: &str) {
        let uri = self.uri(path);
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "rust", "version": 1, "text": text } }),
        );
    }

    /// Replace the whole buffer (unsaved).
    pub(crate) fn change(&mut self, path: &str, version: i32, text: &str) {
        let uri = self.uri(path);
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "text": text }],
            }),
        );
    }

    /// `shutdown` then `exit`; returns how the server exited.
    pub(crate) fn shutdown(mut self) -> ExitStatus {
        let result = self.request("shutdown", Value::Null);
        assert_eq!(result, Value::Null);
        self.notify("exit", Value::Null);
        self.wait()
    }

    /// Close stdin and wait for the process (hang-guarded).
    pub(crate) fn wait(mut self) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the server") {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // A failed test must not leave a server running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One `Content-Length`-framed message; `None` at the end of the stream.
fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// The `code` of each LSP diagnostic.
pub(crate) fn codes(diagnostics: &Value) -> Vec<String> {
    diagnostics
        .as_array()
        .map(|list| {
            list.iter()
                .map(|diagnostic| diagnostic["code"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// `text` with LSP text edits applied (positions in UTF-16; the test texts are ASCII).
pub(crate) fn apply_text_edits(text: &str, edits: &[Value]) -> String {
    let offset = |position: &Value| {
        let line = position["line"].as_u64().unwrap() as usize;
        let character = position["character"].as_u64().unwrap() as usize;
        let line_start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        line_start + character
    };
    let mut edits: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|edit| {
            (
                offset(&edit["range"]["start"]),
                offset(&edit["range"]["end"]),
                edit["newText"].as_str().unwrap(),
            )
        })
        .collect();
    edits.sort_by_key(|edit| std::cmp::Reverse(edit.0));
    let mut out = text.to_string();
    for (start, end, new_text) in edits {
        out.replace_range(start..end, new_text);
    }
    out
}
