//! `catga lint --format cargo`: cargo's JSON messages, parsed with `cargo_metadata` as
//! rust-analyzer's flycheck parses them.

use crate::lsp_client::{APP_REGISTERED, BLOCKING_HANDLER, LIB, catga_bin, project};

#[test]
fn cargo_format_is_read_by_cargo_metadata_with_package_target_and_fix() {
    let dir = project(&[
        ("src/lib.rs", LIB),
        ("src/handlers.rs", BLOCKING_HANDLER),
        ("src/app.rs", APP_REGISTERED),
    ]);
    let output = std::process::Command::new(catga_bin())
        .current_dir(dir.path())
        .args(["lint", "--format", "cargo"])
        .output()
        .expect("run catga");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let messages: Vec<cargo_metadata::Message> =
        cargo_metadata::Message::parse_stream(output.stdout.as_slice())
            .collect::<Result<_, _>>()
            .expect("every line reads as a cargo message");
    let compiler: Vec<&cargo_metadata::CompilerMessage> = messages
        .iter()
        .filter_map(|message| match message {
            cargo_metadata::Message::CompilerMessage(message) => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(compiler.len(), 1, "{messages:#?}");
    let message = compiler[0];
    assert!(
        message.package_id.repr.contains("demo"),
        "{}",
        message.package_id.repr
    );
    assert_eq!(message.target.name, "demo");
    let diagnostic = &message.message;
    assert_eq!(diagnostic.code.as_ref().unwrap().code, "CATGA005");
    let span = &diagnostic.spans[0];
    assert_eq!(
        (span.file_name.as_str(), span.line_start, span.column_start),
        ("src/handlers.rs", 12, 9)
    );
    let text = std::fs::read_to_string(dir.path().join("src/handlers.rs")).unwrap();
    assert_eq!(
        &text[span.byte_start as usize..span.byte_end as usize],
        "std::thread::sleep(Duration::from_millis(5))"
    );
    let suggestion = diagnostic
        .children
        .iter()
        .flat_map(|child| &child.spans)
        .find_map(|span| span.suggested_replacement.clone())
        .expect("the safe fix is a suggestion");
    assert!(suggestion.contains("tokio::time::sleep"), "{suggestion}");
    assert!(matches!(
        messages.last(),
        Some(cargo_metadata::Message::BuildFinished(finished)) if !finished.success
    ));
}

#[test]
fn cargo_format_of_a_clean_project_is_one_successful_build_finished() {
    let dir = project(&[(
        "src/lib.rs",
        "pub async fn handle() {\n    tokio::task::yield_now().await;\n}\n",
    )]);
    let output = std::process::Command::new(catga_bin())
        .current_dir(dir.path())
        .args(["lint", "--format", "cargo"])
        .output()
        .expect("run catga");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "{\"reason\":\"build-finished\",\"success\":true}\n"
    );
}
