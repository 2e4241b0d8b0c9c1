//! CATGA012 sync-io-in-async: file, network and process I/O through blocking std APIs, made
//! from async code.

use crate::diagnostic::{Applicability, Fix, Severity};
use crate::rule::{FixAvailability, Hooks, Rule, RuleCx, RuleMeta};
use crate::semantic::method_chain;

static META: RuleMeta = RuleMeta {
    code: "CATGA012",
    name: "sync-io-in-async",
    severity: Severity::Error,
    fix: FixAvailability::Sometimes,
    fix_applicabilities: &[Applicability::Safe],
    summary: "Blocking std I/O (`std::fs`, `std::net` connects, `std::process::Command`, `reqwest::blocking`) in async code",
    docs: r#"## What it does
Reports blocking I/O done inside async code (an `async fn`, an `async` block or an async closure):

- `std::fs` functions (`read_to_string`, `write`, `create_dir_all`, ...), `File::open` /
  `File::create` / `OpenOptions::open`, and reads and writes on a `std::fs::File`
- `std::net::TcpStream::connect`, `TcpListener::bind`, `UdpSocket::bind`
- `std::process::Command` `.output()`, `.status()`, and `.wait()` on a spawned child
- anything from `reqwest::blocking` (its requests block; its client panics when created or
  dropped in async code)
- `std::io::stdin().read_line(..)`
- `fs_err` (std::fs with better errors): its functions and `File::open` / `File::create`
- file-system queries on a `Path` or `PathBuf` (`.exists()`, `.is_file()`, `.is_dir()`,
  `.metadata()`, `.read_dir()`, `.canonicalize()`, ...), when the receiver is a parameter or
  local declared as a path or built by `Path::new` / `PathBuf::from`
- `.to_socket_addrs()` (a blocking DNS lookup)
- `walkdir::WalkDir::new(..)` and `glob::glob(..)`, which read directories as they iterate

Closures an iterator or an `Option`/`Result` combinator runs right here
(`paths.iter().map(|p| std::fs::read(p))`, `.unwrap_or_else(|| ..)`) are as async as the code
around them. Not reported: the same calls in sync code, and in other closures
(`spawn_blocking(|| std::fs::read(p))` is the right way to do it). A glob import of a module the
analyzer does not know (`use crate::errors::*;`) hides single names it might export, never a
path that starts at `std`.

## Why is this bad?
Blocking I/O holds an executor thread for as long as the disk, the network or the child process
takes, and every task scheduled on that thread waits with it. Under load this turns one slow disk
or DNS lookup into a latency spike for the whole service.

## Example
```rust
impl Handler<ExportOrders> for ExportHandler {
    async fn handle(&self, cmd: ExportOrders, ctx: &Context) -> catga::Result<()> {
        let template = std::fs::read_to_string(&self.template_path)?;
        std::fs::write(&cmd.target, render(&template))?;
        Ok(())
    }
}
```

## Use instead
```rust
impl Handler<ExportOrders> for ExportHandler {
    async fn handle(&self, cmd: ExportOrders, ctx: &Context) -> catga::Result<()> {
        let template = tokio::fs::read_to_string(&self.template_path).await?;
        tokio::fs::write(&cmd.target, render(&template)).await?;
        Ok(())
    }
}
```
For the other calls use `tokio::net`, `tokio::process::Command`, reqwest's async client, or move
the work into `tokio::task::spawn_blocking`.

## Fix safety
`std::fs::f(..)` becomes `tokio::fs::f(..).await` (safe) for the functions `tokio::fs` mirrors with
the same arguments and result: `read`, `read_to_string`, `write`, `create_dir`,
`create_dir_all`, `remove_file`, `remove_dir`, `remove_dir_all`, `rename`, `copy`, `metadata`,
`canonicalize`, `hard_link`, `read_link`, `set_permissions`, `symlink_metadata`, and `exists`
(as `try_exists`). Offered only when the crate's `Cargo.toml` depends on tokio (with its `fs` or `full`
feature) and `.await` can be written at that spot. `read_dir` has no fix: tokio's `ReadDir` is
not an iterator, so the code using the result must change too.

## Options
None. Test code is linted like any other code (the same policy as CATGA005): the bodies of
`#[tokio::test]` and `#[tokio::main]` fns are async code, and blocking I/O there blocks the test's
or the program's runtime, so it is reported. Silence a deliberate case with
`// catga-allow(CATGA012): reason`.
"#,
};

/// The rule.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks {
        expr: Some(check_expr),
        ..Hooks::NONE
    },
};

/// `std::fs` functions `tokio::fs` mirrors with the same arguments and result: (std, tokio).
const TOKIO_FS_MIRRORS: &[(&str, &str)] = &[
    ("read", "read"),
    ("read_to_string", "read_to_string"),
    ("write", "write"),
    ("create_dir", "create_dir"),
    ("create_dir_all", "create_dir_all"),
    ("remove_file", "remove_file"),
    ("remove_dir", "remove_dir"),
    ("remove_dir_all", "remove_dir_all"),
    ("rename", "rename"),
    ("copy", "copy"),
    ("metadata", "metadata"),
    ("canonicalize", "canonicalize"),
    ("hard_link", "hard_link"),
    ("read_link", "read_link"),
    ("set_permissions", "set_permissions"),
    ("symlink_metadata", "symlink_metadata"),
    ("exists", "try_exists"),
];

/// Blocking constructors and connects reached by a plain call.
const BLOCKING_CALLS: &[(&str, &str)] = &[
    (
        "std::fs::File::open",
        "use `tokio::fs::File::open(..).await`",
    ),
    (
        "std::fs::File::create",
        "use `tokio::fs::File::create(..).await`",
    ),
    (
        "std::fs::File::create_new",
        "use `tokio::fs::File::create_new(..).await`",
    ),
    (
        "std::net::TcpStream::connect",
        "use `tokio::net::TcpStream::connect(..).await`",
    ),
    (
        "std::net::TcpStream::connect_timeout",
        "use `tokio::time::timeout(d, tokio::net::TcpStream::connect(..)).await`",
    ),
    (
        "std::net::TcpListener::bind",
        "use `tokio::net::TcpListener::bind(..).await`",
    ),
    (
        "std::net::UdpSocket::bind",
        "use `tokio::net::UdpSocket::bind(..).await`",
    ),
    (
        "fs_err::File::open",
        "use `tokio::fs::File::open(..).await` (or `fs_err::tokio::File::open`)",
    ),
    (
        "fs_err::File::create",
        "use `tokio::fs::File::create(..).await` (or `fs_err::tokio::File::create`)",
    ),
    (
        "walkdir::WalkDir::new",
        "walk the tree inside `tokio::task::spawn_blocking(move || ..)`: every step of a `WalkDir` reads a directory",
    ),
    (
        "glob::glob",
        "run the glob inside `tokio::task::spawn_blocking(move || ..)`: it reads directories",
    ),
];

/// Methods of `std::process::Command`, `Child` and `Stdin` that block.
const PROCESS_AND_STDIN_METHODS: &[&str] = &[
    "output",
    "status",
    "wait",
    "wait_with_output",
    "read_line",
    "read_to_string",
    "read_to_end",
];

/// Methods of `std::path::Path` that ask the file system (a blocking `stat` or directory read).
const PATH_IO_METHODS: &[&str] = &[
    "exists",
    "try_exists",
    "is_file",
    "is_dir",
    "is_symlink",
    "metadata",
    "symlink_metadata",
    "read_dir",
    "canonicalize",
    "read_link",
];

/// `Path` methods that give a path again, so `dir.join("x").exists()` is still a `Path` query.
const PATH_BUILDING_METHODS: &[&str] = &[
    "join",
    "with_extension",
    "with_file_name",
    "parent",
    "as_path",
    "as_ref",
];

/// Methods of `std::fs::File` (and its `Read`/`Write` impls) that do I/O.
const FILE_IO_METHODS: &[&str] = &[
    "read",
    "read_to_end",
    "read_to_string",
    "read_exact",
    "write",
    "write_all",
    "flush",
    "sync_all",
    "sync_data",
    "set_len",
];

fn check_expr(expr: &syn::Expr, cx: &mut RuleCx<'_>) {
    match expr {
        syn::Expr::Call(call) => check_call(call, cx),
        syn::Expr::MethodCall(call) => check_method_call(call, cx),
        _ => {}
    }
}

fn check_call(call: &syn::ExprCall, cx: &mut RuleCx<'_>) {
    let Some(context) = cx.async_context() else {
        return;
    };
    let Some(path) = cx.resolve_expr(&call.func) else {
        return;
    };
    // A node's span is computed from its tokens: only for the calls that are reported.
    if let Some(function) = path
        .strip_prefix("fs_err::")
        .filter(|rest| !rest.contains("::") && rest.starts_with(char::is_lowercase))
    {
        // fs-err wraps std::fs with better errors: the same blocking calls.
        let span = cx.span(call);
        cx.report(
            span,
            format!("fs_err::{function} (std::fs with better errors) does blocking file I/O inside {context}"),
        )
        .help("use `tokio::fs` (or `fs_err::tokio` with fs-err's `tokio` feature) and `.await` it");
    } else if let Some(function) = path
        .strip_prefix("std::fs::")
        .filter(|rest| !rest.contains("::") && rest.starts_with(char::is_lowercase))
    {
        let span = cx.span(call);
        let mirror = TOKIO_FS_MIRRORS
            .iter()
            .find(|(std_name, _)| *std_name == function)
            .map(|(_, tokio_name)| *tokio_name);
        let fixable = cx.tokio_has("fs") && cx.await_allowed() && !cx.is_awaited();
        let fix = mirror.filter(|_| fixable).map(|tokio_name| {
            Fix::safe(
                format!("Replace with `tokio::fs::{tokio_name}(..).await`"),
                cx.awaited_replacement(call, &call.func, format!("tokio::fs::{tokio_name}")),
            )
        });
        let help = match (function, mirror) {
            ("read_dir", _) => "use `tokio::fs::read_dir(..).await` and `next_entry().await`, or move the walk into `tokio::task::spawn_blocking`".to_string(),
            (_, Some(tokio_name)) => format!("use `tokio::fs::{tokio_name}(..).await`"),
            (_, None) => "move the call into `tokio::task::spawn_blocking(move || ..)`".to_string(),
        };
        let report = cx
            .report(
                span,
                format!("std::fs::{function} does blocking file I/O inside {context}"),
            )
            .help(help);
        if let Some(fix) = fix {
            report.fix(fix);
        }
    } else if let Some((_, help)) = BLOCKING_CALLS
        .iter()
        .find(|(blocking, _)| *blocking == path)
    {
        let span = cx.span(call);
        cx.report(span, format!("{path} does blocking I/O inside {context}"))
            .help(*help);
    } else if path.starts_with("reqwest::blocking::") {
        // Its requests block, and its client runs a private runtime that panics when created
        // or dropped inside async code.
        let span = cx.span(call);
        cx.report(
            span,
            format!("{path} (reqwest's blocking client) blocks or panics inside {context}"),
        )
        .help("use reqwest's async `Client` and `.await` the request");
    }
}

fn check_method_call(call: &syn::ExprMethodCall, cx: &mut RuleCx<'_>) {
    if cx.is_awaited() || cx.async_context().is_none() {
        return;
    }
    let method = call.method.to_string();
    if method == "to_socket_addrs" && call.args.is_empty() {
        let Some(context) = cx.async_context() else {
            return;
        };
        let span = cx.span(call);
        cx.report(
            span,
            format!("std::net::ToSocketAddrs::to_socket_addrs resolves host names with a blocking DNS lookup inside {context}"),
        )
        .help("use `tokio::net::lookup_host(..).await`");
        return;
    }
    // Taking the receiver's chain apart costs its length: only for the methods that matter
    // (a chain of n calls would otherwise cost n^2).
    if !PROCESS_AND_STDIN_METHODS.contains(&method.as_str())
        && !FILE_IO_METHODS.contains(&method.as_str())
        && !PATH_IO_METHODS.contains(&method.as_str())
        && method != "open"
    {
        return;
    }
    let receiver = method_chain(&call.receiver);
    let receiver_methods: Vec<String> = receiver
        .methods
        .iter()
        .map(|ident| ident.to_string())
        .collect();
    // The receiver's origin: a call at the root of its chain, or a local variable bound from one.
    let (root_call, methods_before, ty, via_local) = match receiver.root {
        syn::Expr::Call(root) => (cx.resolve_expr(&root.func), receiver_methods, None, false),
        root => match cx.local_of(root) {
            Some(origin) => {
                let mut methods = origin.methods.clone();
                methods.extend(receiver_methods);
                (origin.root_call.clone(), methods, origin.ty.clone(), true)
            }
            None => return,
        },
    };
    let root_call = root_call.as_deref();
    let a_path = matches!(
        root_call,
        Some("std::path::Path::new" | "std::path::PathBuf::from" | "std::path::PathBuf::new")
    ) || matches!(
        ty.as_deref(),
        Some("std::path::Path" | "std::path::PathBuf")
    );
    if a_path
        && PATH_IO_METHODS.contains(&method.as_str())
        && methods_before
            .iter()
            .all(|name| PATH_BUILDING_METHODS.contains(&name.as_str()))
    {
        let Some(context) = cx.async_context() else {
            return;
        };
        let span = cx.span(call);
        let instead = match method.as_str() {
            "exists" | "try_exists" => "tokio::fs::try_exists",
            "is_file" | "is_dir" | "metadata" => "tokio::fs::metadata",
            "is_symlink" | "symlink_metadata" => "tokio::fs::symlink_metadata",
            "read_dir" => "tokio::fs::read_dir",
            "canonicalize" => "tokio::fs::canonicalize",
            _ => "tokio::fs::read_link",
        };
        cx.report(
            span,
            format!("std::path::Path::{method} asks the file system with a blocking call inside {context}"),
        )
        .help(format!("use `{instead}(..).await`"));
        return;
    }
    let spawned = methods_before.iter().any(|name| name == "spawn");
    let what = match (root_call, ty.as_deref(), method.as_str()) {
        (Some("std::process::Command::new"), _, "output" | "status") if !spawned => format!("std::process::Command::{method}"),
        (Some("std::process::Command::new"), _, "wait" | "wait_with_output") if spawned => format!("std::process::Child::{method}"),
        (_, Some("std::process::Child"), "wait" | "wait_with_output") => format!("std::process::Child::{method}"),
        (Some("std::io::stdin"), _, "read_line" | "read_to_string" | "read_to_end") => format!("std::io::Stdin::{method}"),
        (Some("std::fs::OpenOptions::new"), _, "open") => "std::fs::OpenOptions::open".to_string(),
        (Some("std::fs::File::open" | "std::fs::File::create" | "std::fs::File::create_new"), _, _)
        | (_, Some("std::fs::File"), _)
            // `File::open(p)?.read_to_string(..)` is reported once, at the open.
            if via_local && FILE_IO_METHODS.contains(&method.as_str()) && methods_before.is_empty() =>
        {
            format!("std::fs::File::{method}")
        }
        _ => return,
    };
    let Some(context) = cx.async_context() else {
        return;
    };
    let help = if what.starts_with("std::process") {
        "use `tokio::process::Command` and `.await` it"
    } else if what.starts_with("std::io::Stdin") {
        "use `tokio::io::stdin()` with `tokio::io::AsyncBufReadExt`"
    } else {
        "use `tokio::fs::File` with `tokio::io::AsyncReadExt` / `AsyncWriteExt`"
    };
    let span = cx.span(call);
    cx.report(span, format!("{what} does blocking I/O inside {context}"))
        .help(help);
}

#[cfg(test)]
mod tests {
    use crate::check::diagnostics_for_test;

    fn messages(text: &str) -> Vec<String> {
        diagnostics_for_test(text, &["tokio", "tokio/fs"])
            .into_iter()
            .filter(|diagnostic| diagnostic.code == "CATGA012")
            .map(|diagnostic| diagnostic.message)
            .collect()
    }

    #[test]
    fn fs_err_and_directory_walkers_are_blocking_but_fs_err_tokio_is_not() {
        let got = messages(
            "async fn load(dir: &std::path::Path) { let _ = fs_err::read_to_string(dir); \
             let _ = fs_err::File::open(dir); let _ = fs_err::tokio::read(dir).await; \
             for entry in walkdir::WalkDir::new(dir) {} }",
        );
        assert_eq!(
            got,
            [
                "fs_err::read_to_string (std::fs with better errors) does blocking file I/O inside async fn `load`",
                "fs_err::File::open does blocking I/O inside async fn `load`",
                "walkdir::WalkDir::new does blocking I/O inside async fn `load`",
            ]
        );
        assert!(
            messages("fn sync(dir: &std::path::Path) { let _ = fs_err::read(dir); }").is_empty()
        );
    }

    #[test]
    fn reqwest_blocking_calls_are_reported_but_not_the_async_client() {
        let got = messages(
            "async fn fetch() { let body = reqwest::blocking::get(\"http://x\"); \
             let client = reqwest::blocking::Client::new(); let async_client = reqwest::Client::new(); }",
        );
        assert_eq!(
            got,
            [
                "reqwest::blocking::get (reqwest's blocking client) blocks or panics inside async fn `fetch`",
                "reqwest::blocking::Client::new (reqwest's blocking client) blocks or panics inside async fn `fetch`"
            ]
        );
    }

    #[test]
    fn entry_point_and_async_test_bodies_are_reported_like_any_async_code() {
        let got = messages(
            "#[tokio::main] async fn main() { let c = std::fs::read(\"c\"); \
             tokio::spawn(async { std::fs::read(\"d\") }); }\n\
             #[cfg(test)] mod tests { #[tokio::test] async fn reads() { let _ = std::fs::read(\"e\"); } }",
        );
        assert_eq!(
            got,
            [
                "std::fs::read does blocking file I/O inside async fn `main`",
                "std::fs::read does blocking file I/O inside async block in fn `main`",
                "std::fs::read does blocking file I/O inside async fn `reads`",
            ]
        );
    }

    #[test]
    fn read_dir_is_reported_without_a_fix() {
        let diagnostics = diagnostics_for_test(
            "async fn f() { let _ = std::fs::read_dir(\".\"); }",
            &["tokio"],
        );
        assert_eq!(diagnostics.len(), 1);
        assert!(diagnostics[0].fix.is_none());
    }

    #[test]
    fn fix_requires_tokio_with_its_fs_feature_in_the_manifest() {
        let text = "async fn f() { let _ = std::fs::read(\"x\"); }";
        let fixable =
            |dependencies: &[&str]| diagnostics_for_test(text, dependencies)[0].fix.is_some();
        assert!(fixable(&["tokio", "tokio/fs"]));
        assert!(fixable(&["tokio", "tokio/full"]));
        assert!(!fixable(&["tokio", "tokio/time"]));
        assert!(!fixable(&["serde"]));
    }
}
