//! `catga server` driven over stdio as an editor drives it: diagnostics on open and while
//! typing, the clearing when a finding goes, quick fixes applied, a cross-file rule settled by
//! an edit in another file, hover, parse errors, and the shutdown handshake.

use crate::lsp_client::{
    APP_EMPTY, APP_REGISTERED, BLOCKING_HANDLER, Client, apply_text_edits, codes, handler_project,
};
use serde_json::{Value, json};

fn has(codes: &[String], code: &str) -> bool {
    codes.iter().any(|found| found == code)
}

/// Opens the blocking handler and waits for its CATGA005 finding (the `thread::sleep`).
fn blocking_sleep_finding(client: &mut Client) -> Value {
    client.open("src/handlers.rs", BLOCKING_HANDLER);
    let diagnostics = client.diagnostics_for("src/handlers.rs", |codes| has(codes, "CATGA005"));
    diagnostics
        .into_iter()
        .find(|diagnostic| diagnostic["code"] == "CATGA005")
        .expect("a CATGA005 finding")
}

/// The code actions the server offers at `finding` in the handler file, asked with `context`.
fn code_actions(client: &mut Client, finding: &Value, context: Value) -> Value {
    let uri = client.uri("src/handlers.rs");
    client.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri }, "range": finding["range"], "context": context }),
    )
}

#[test]
fn server_publishes_a_blocking_call_on_open_and_clears_it_when_the_buffer_loses_it() {
    let dir = handler_project();
    let mut client = Client::start(dir.path());
    client.open("src/handlers.rs", BLOCKING_HANDLER);
    let diagnostics = client.diagnostics_for("src/handlers.rs", |codes| has(codes, "CATGA005"));
    let sleep = diagnostics
        .iter()
        .find(|diagnostic| diagnostic["code"] == "CATGA005")
        .unwrap();
    assert_eq!(
        sleep["range"],
        json!({ "start": { "line": 11, "character": 8 }, "end": { "line": 11, "character": 52 } })
    );
    assert_eq!(sleep["severity"], 2, "warning");
    assert_eq!(sleep["source"], "catga");
    assert!(
        sleep["codeDescription"]["href"]
            .as_str()
            .unwrap()
            .contains("catga005"),
        "{sleep:#}"
    );
    assert!(
        sleep["message"]
            .as_str()
            .unwrap()
            .starts_with("std::thread::sleep blocks the executor thread")
    );

    // Unsaved: the file on disk still blocks; the buffer no longer does.
    let fixed = BLOCKING_HANDLER.replace(
        "        std::thread::sleep(Duration::from_millis(5));\n",
        "        tokio::time::sleep(Duration::from_millis(5)).await;\n",
    );
    client.change("src/handlers.rs", 2, &fixed);
    let after = client.diagnostics_for("src/handlers.rs", |codes| !has(codes, "CATGA005"));
    assert_eq!(codes(&Value::Array(after)), ["CATGA001"]);
    assert!(
        std::fs::read_to_string(dir.path().join("src/handlers.rs"))
            .unwrap()
            .contains("std::thread::sleep")
    );
    assert!(client.shutdown().success());
}

#[test]
fn server_quick_fix_edit_applied_to_the_buffer_clears_the_finding() {
    let dir = handler_project();
    let mut client = Client::start(dir.path());
    let sleep = blocking_sleep_finding(&mut client);
    let actions = code_actions(&mut client, &sleep, json!({ "diagnostics": [sleep] }));
    let actions = actions.as_array().expect("a list of actions");
    let titles: Vec<&str> = actions
        .iter()
        .map(|action| action["title"].as_str().unwrap())
        .collect();
    let fix = actions
        .iter()
        .find(|action| action["isPreferred"] == true)
        .unwrap_or_else(|| panic!("no preferred quick fix in {titles:?}"));
    assert_eq!(fix["kind"], "quickfix");
    assert_eq!(
        fix["title"],
        "Replace with `tokio::time::sleep(..).await` (CATGA005)"
    );
    assert!(
        titles.contains(&"Allow CATGA005 here (catga-allow comment; write the reason)"),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"catga: fix all safe problems in this file"),
        "{titles:?}"
    );

    let edits = fix["edit"]["changes"][client.uri("src/handlers.rs").as_str()]
        .as_array()
        .expect("edits for the document");
    let fixed = apply_text_edits(BLOCKING_HANDLER, edits);
    assert!(
        fixed.contains("        tokio::time::sleep(Duration::from_millis(5)).await;\n"),
        "{fixed}"
    );
    client.change("src/handlers.rs", 2, &fixed);
    let after = client.diagnostics_for("src/handlers.rs", |codes| !has(codes, "CATGA005"));
    assert_eq!(codes(&Value::Array(after)), ["CATGA001"]);
    assert!(client.shutdown().success());
}

#[test]
fn server_allow_action_inserts_a_catga_allow_comment_that_silences_the_finding() {
    let dir = handler_project();
    let mut client = Client::start(dir.path());
    let sleep = blocking_sleep_finding(&mut client);
    let actions = code_actions(
        &mut client,
        &sleep,
        json!({ "diagnostics": [sleep], "only": ["quickfix"] }),
    );
    let allow = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|action| {
            action["title"]
                .as_str()
                .unwrap()
                .starts_with("Allow CATGA005")
        })
        .expect("an allow action")
        .clone();
    let edits = allow["edit"]["changes"][client.uri("src/handlers.rs").as_str()]
        .as_array()
        .unwrap();
    let allowed = apply_text_edits(BLOCKING_HANDLER, edits);
    assert!(
        allowed
            .contains("        // catga-allow(CATGA005): TODO reason\n        std::thread::sleep("),
        "{allowed}"
    );
    client.change("src/handlers.rs", 2, &allowed);
    let after = client.diagnostics_for("src/handlers.rs", |codes| !has(codes, "CATGA005"));
    assert_eq!(codes(&Value::Array(after)), ["CATGA001"]);
    assert!(client.shutdown().success());
}

#[test]
fn server_settles_a_cross_file_finding_when_another_buffer_registers_the_handler() {
    let dir = handler_project();
    let mut client = Client::start(dir.path());
    client.open("src/handlers.rs", BLOCKING_HANDLER);
    let before = client.diagnostics_for("src/handlers.rs", |codes| has(codes, "CATGA001"));
    let unregistered = before
        .iter()
        .find(|diagnostic| diagnostic["code"] == "CATGA001")
        .unwrap();
    assert_eq!(unregistered["range"]["start"]["line"], 9);

    client.open("src/app.rs", APP_EMPTY);
    client.diagnostics_for("src/app.rs", |codes| codes.is_empty());
    // Registered in the unsaved buffer of another file: CATGA001 goes from handlers.rs.
    client.change("src/app.rs", 2, APP_REGISTERED);
    let after = client.diagnostics_for("src/handlers.rs", |codes| !has(codes, "CATGA001"));
    assert_eq!(codes(&Value::Array(after)), ["CATGA005"]);

    // Closing the buffer goes back to the file on disk, which registers nothing.
    let uri = client.uri("src/app.rs");
    client.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": uri } }),
    );
    client.diagnostics_for("src/handlers.rs", |codes| has(codes, "CATGA001"));
    assert!(client.shutdown().success());
}

#[test]
fn server_hover_on_a_finding_shows_the_rules_documentation() {
    let dir = handler_project();
    let mut client = Client::start(dir.path());
    client.open("src/handlers.rs", BLOCKING_HANDLER);
    client.diagnostics_for("src/handlers.rs", |codes| has(codes, "CATGA005"));
    let uri = client.uri("src/handlers.rs");
    let hover = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 11, "character": 12 } }),
    );
    let text = hover["contents"]["value"].as_str().expect("markdown hover");
    let explain = std::process::Command::new(crate::lsp_client::catga_bin())
        .args(["explain", "CATGA005"])
        .output()
        .unwrap();
    assert_eq!(text, String::from_utf8(explain.stdout).unwrap());
    let nothing = client.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 0, "character": 0 } }),
    );
    assert_eq!(nothing, Value::Null);
    assert!(client.shutdown().success());
}

#[test]
fn server_reports_a_parse_error_and_keeps_serving() {
    let dir = handler_project();
    let mut client = Client::start(dir.path());
    client.open("src/handlers.rs", "pub fn broken( {\n");
    let diagnostics = client.diagnostics_for("src/handlers.rs", |codes| has(codes, "CATGA000"));
    assert_eq!(diagnostics[0]["severity"], 1, "error");
    client.change("src/handlers.rs", 2, BLOCKING_HANDLER);
    client.diagnostics_for("src/handlers.rs", |codes| has(codes, "CATGA005"));
    assert!(client.shutdown().success());
}

#[test]
fn server_reloads_catga_toml_when_it_is_saved() {
    let dir = handler_project();
    let mut client = Client::start(dir.path());
    client.open("src/handlers.rs", BLOCKING_HANDLER);
    client.diagnostics_for("src/handlers.rs", |codes| has(codes, "CATGA005"));
    std::fs::write(dir.path().join("catga.toml"), "ignore = [\"CATGA005\"]\n").unwrap();
    let uri = client.uri("catga.toml");
    client.notify(
        "textDocument/didSave",
        json!({ "textDocument": { "uri": uri } }),
    );
    let after = client.diagnostics_for("src/handlers.rs", |codes| !has(codes, "CATGA005"));
    assert_eq!(codes(&Value::Array(after)), ["CATGA001"]);
    assert!(client.shutdown().success());
}

#[test]
fn server_exit_without_shutdown_exits_1() {
    let dir = handler_project();
    let mut client = Client::start(dir.path());
    client.notify("exit", Value::Null);
    assert_eq!(client.wait().code(), Some(1));
}

#[test]
fn server_links_a_duplicate_handler_to_the_other_one() {
    let other = BLOCKING_HANDLER
        .replace("pub struct Reserve(pub u64);\n\n", "")
        .replace(
            "#[derive(Debug, Clone, Command)]\n#[command(response = u64)]\n",
            "",
        )
        .replace("ReserveHandler", "SecondReserveHandler")
        .replace(
            "use std::time::Duration;\n",
            "use std::time::Duration;\nuse crate::handlers::Reserve;\n",
        );
    let dir = handler_project();
    crate::lsp_client::write(
        dir.path(),
        "src/lib.rs",
        "pub mod app;\npub mod handlers;\npub mod second;\n",
    );
    crate::lsp_client::write(dir.path(), "src/second.rs", &other);
    let mut client = Client::start(dir.path());
    client.open("src/second.rs", &other);
    let diagnostics = client.diagnostics_for("src/second.rs", |codes| has(codes, "CATGA003"));
    let duplicate = diagnostics
        .iter()
        .find(|diagnostic| diagnostic["code"] == "CATGA003")
        .unwrap();
    let related = &duplicate["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], client.uri("src/handlers.rs"));
    assert_eq!(
        related["location"]["range"]["start"]["line"], 9,
        "{duplicate:#}"
    );
    assert_eq!(related["message"], "the other handler of this message");
    assert!(client.shutdown().success());
}
