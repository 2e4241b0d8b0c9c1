//! Latency of the language server on a large workspace: the time from `didChange` to the
//! `publishDiagnostics` of that version, for one file, over 100 edits with the index warm; and
//! the server's memory. Run by `scripts/bench-server.sh` on the real-code corpus.
//!
//! Usage: `latency ROOT FILE [EDITS]` (FILE relative to ROOT). The server runs in this process
//! over an in-memory connection (the framing over stdio is not what is measured), so this
//! process's memory is the server's. Each edit adds or removes an async fn with a blocking
//! call at the end of FILE, so every edit changes the file's diagnostics; edits are 200 ms
//! apart (a pause in typing: longer than the server's debounce window, so each is checked at
//! once).
//!
//! Then, where an edit's time goes, on the library alone: `LiveWorkspace::set_text` per edit
//! (the file checked again and the cross-file pass), against a lint of the file alone (its
//! parse and per-file check, with the fixed cost of a run); the difference is the cross-file
//! pass. Measured after the server's memory, in a second workspace opened on the cache the
//! server wrote.

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(root), Some(file)) = (args.next(), args.next()) else {
        eprintln!("usage: latency ROOT FILE [EDITS]");
        std::process::exit(2);
    };
    let edits: usize = args
        .next()
        .map_or(100, |n| n.parse().expect("EDITS is a number"));
    let root = std::path::Path::new(&root)
        .canonicalize()
        .expect("ROOT exists");
    let path = root.join(&file);
    let text = std::fs::read_to_string(&path).expect("FILE is readable");
    let root_uri = format!("file://{}", root.display());
    let uri = format!("file://{}", path.display());

    let (client, server) = Connection::memory();
    let server_thread = std::thread::spawn(move || catga_server::run(server));
    let started = Instant::now();
    request(
        &client,
        1,
        "initialize",
        json!({
            "processId": null, "rootUri": root_uri, "capabilities": {},
            "workspaceFolders": [{ "uri": root_uri, "name": "corpus" }],
        }),
    );
    notify(&client, "initialized", json!({}));
    notify(
        &client,
        "textDocument/didOpen",
        json!({
            "textDocument": { "uri": uri, "languageId": "rust", "version": 0, "text": text }
        }),
    );
    wait_for_version(&client, &uri, 0);
    let loaded = started.elapsed();

    let blocking = "\npub async fn catga_latency_probe() {\n    std::thread::sleep(std::time::Duration::from_millis(1));\n}\n";
    let warm_up = 5;
    let mut latencies = Vec::with_capacity(edits);
    for version in 1..=(warm_up + edits) as i32 {
        std::thread::sleep(Duration::from_millis(200));
        let new_text = if version % 2 == 1 {
            format!("{text}{blocking}")
        } else {
            text.clone()
        };
        let sent = Instant::now();
        notify(
            &client,
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "text": new_text }],
            }),
        );
        wait_for_version(&client, &uri, version);
        if version as usize > warm_up {
            latencies.push(sent.elapsed());
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let memory = |key: &str| {
        status
            .lines()
            .find(|line| line.starts_with(key))
            .map_or("n/a".to_string(), |line| {
                line[key.len()..].trim().to_string()
            })
    };
    request(&client, 2, "shutdown", Value::Null);
    notify(&client, "exit", Value::Null);
    server_thread
        .join()
        .expect("server thread")
        .expect("clean shutdown");

    let with_probe = format!("{text}{blocking}");
    let mut live = catga_lints::LiveWorkspace::open(&catga_lints::LintOptions {
        root: root.clone(),
        cache: true,
        ..catga_lints::LintOptions::default()
    })
    .expect("the workspace opens again");
    let mut set_text = Vec::with_capacity(edits);
    let mut file_alone = Vec::with_capacity(edits);
    for edit in 0..edits {
        let new_text = if edit % 2 == 0 { &with_probe } else { &text };
        // The same pause as between the server's edits: caches and clocks as cold as there.
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        live.set_text(&path, Some(new_text.clone()));
        set_text.push(started.elapsed());
        std::fs::write(&path, new_text).expect("FILE is writable");
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        catga_lints::lint(&catga_lints::LintOptions {
            root: root.clone(),
            paths: vec![path.clone()],
            ..catga_lints::LintOptions::default()
        })
        .expect("the file lints");
        file_alone.push(started.elapsed());
    }
    std::fs::write(&path, &text).expect("FILE is writable");

    println!(
        "workspace loaded and file published in {:.2} s",
        loaded.as_secs_f64()
    );
    let (p50, p99, max) = percentiles(&mut latencies);
    println!(
        "didChange -> publishDiagnostics over {} edits of {file}: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
        latencies.len(),
    );
    println!(
        "server memory: resident {} (peak {})",
        memory("VmRSS:"),
        memory("VmHWM:")
    );
    let (p50, p99, max) = percentiles(&mut set_text);
    println!(
        "library, LiveWorkspace::set_text (check + cross-file pass): p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"
    );
    let (p50, p99, max) = percentiles(&mut file_alone);
    println!(
        "library, the file alone (catga_lints::lint on FILE, no cache): p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"
    );
}

/// p50, p99 and the maximum of `samples`, in milliseconds.
fn percentiles(samples: &mut [Duration]) -> (f64, f64, f64) {
    samples.sort();
    let percentile = |p: f64| {
        let index = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[index].as_secs_f64() * 1000.0
    };
    (percentile(0.50), percentile(0.99), percentile(1.0))
}

fn notify(client: &Connection, method: &str, params: Value) {
    client
        .sender
        .send(Message::Notification(Notification::new(
            method.to_string(),
            params,
        )))
        .expect("server is running");
}

fn request(client: &Connection, id: i32, method: &str, params: Value) -> Value {
    client
        .sender
        .send(Message::Request(Request::new(
            RequestId::from(id),
            method.to_string(),
            params,
        )))
        .expect("server is running");
    loop {
        match client.receiver.recv_timeout(Duration::from_secs(600)) {
            Ok(Message::Response(response)) if response.id == RequestId::from(id) => {
                return response
                    .response_result
                    .unwrap_or_else(|error| panic!("{method} failed: {}", error.message));
            }
            Ok(_) => {}
            Err(error) => panic!("no response to {method}: {error}"),
        }
    }
}

/// Waits for the diagnostics of `uri` at `version` (hang guard: 10 minutes for the first load).
fn wait_for_version(client: &Connection, uri: &str, version: i32) {
    loop {
        match client.receiver.recv_timeout(Duration::from_secs(600)) {
            Ok(Message::Notification(notification))
                if notification.method == "textDocument/publishDiagnostics"
                    && notification.params["uri"] == uri
                    && notification.params["version"] == version =>
            {
                return;
            }
            Ok(Message::Notification(notification))
                if notification.method == "window/showMessage" =>
            {
                eprintln!("server: {}", notification.params["message"]);
            }
            Ok(_) => {}
            Err(error) => panic!("no diagnostics for version {version}: {error}"),
        }
    }
}
