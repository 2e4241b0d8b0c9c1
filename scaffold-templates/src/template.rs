//! The template files, embedded in the binary, and the one substitution they use:
//! `{{key}}` is replaced by its value. Keys are letters and `_` only, so GitHub Actions'
//! `${{ expression }}` syntax (with spaces) passes through untouched.

/// One template: where it lands, relative to the project root, and its text.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    /// Destination, relative to the project root, `/`-separated.
    pub path: &'static str,
    /// The template text.
    pub text: &'static str,
}

/// A template embedded from `path`, relative to this crate's root.
macro_rules! template {
    ($path:literal) => {
        Template {
            path: $path,
            text: include_str!(concat!("../", $path)),
        }
    };
}

/// Templates embedded from `dir`, each landing at its path inside it. A path given as
/// `"Cargo.toml" from "Cargo.toml.template"` is stored under the second name: a `Cargo.toml`
/// in a template directory would make cargo leave the directory out of this crate's package.
macro_rules! templates {
    ($dir:literal: $($path:literal $(from $file:literal)?),* $(,)?) => {
        &[$(Template {
            path: $path,
            text: include_str!(concat!("../", $dir, "/", templates!(@file $path $($file)?))),
        }),*]
    };
    (@file $path:literal) => { $path };
    (@file $path:literal $file:literal) => { $file };
}

/// The suffix of a template file stored under another name than the one it lands at.
pub const STORED_SUFFIX: &str = ".template";

/// `catga new`: the whole project.
pub const NEW_PROJECT: &[Template] = templates!("new":
    ".github/workflows/ci.yml",
    ".gitignore",
    "Cargo.toml" from "Cargo.toml.template",
    "README.md",
    "benches/scenarios.rs",
    "catga.toml",
    "src/create_task.rs",
    "src/get_task.rs",
    "src/lib.rs",
    "src/main.rs",
    "src/task_completed.rs",
    "src/tasks.rs",
    "tests/tasks.rs",
);

/// `catga new --transport nats`: the files it adds to the project, or writes instead of the
/// project's.
pub const NEW_NATS: &[Template] = templates!("new-nats":
    "src/main.rs",
    "src/ops.rs",
    "src/transport.rs",
    "tests/transport.rs",
);

/// `catga new --http`: the files it adds to the project, or writes instead of the project's.
pub const NEW_HTTP: &[Template] = templates!("new-http":
    "src/http.rs",
    "src/main.rs",
    "tests/http.rs",
);

/// `catga new --transport nats --http`: written instead of both's.
pub const NEW_NATS_HTTP: &[Template] = templates!("new-nats-http":
    "src/main.rs",
);

/// `catga add`'s slices: each message kind's module, and its test.
pub const COMMAND: Template = template!("add/command.rs");
pub const COMMAND_TEST: Template = template!("add/command_test.rs");
pub const QUERY: Template = template!("add/query.rs");
pub const QUERY_TEST: Template = template!("add/query_test.rs");
pub const EVENT: Template = template!("add/event.rs");
pub const EVENT_TEST: Template = template!("add/event_test.rs");
pub const SAGA: Template = template!("add/saga.rs");
pub const SAGA_TEST: Template = template!("add/saga_test.rs");

/// Every `catga add` template.
pub const ADD: &[Template] = &[
    COMMAND,
    COMMAND_TEST,
    QUERY,
    QUERY_TEST,
    EVENT,
    EVENT_TEST,
    SAGA,
    SAGA_TEST,
];

/// `text` with every `{{key}}` of `values` replaced.
pub fn render(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (key, value) in values {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    out
}

/// The `{{key}}` placeholders `text` uses, in order of first use.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut keys: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let key_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if key_len > 0 && after[key_len..].starts_with("}}") {
            let key = &after[..key_len];
            if !keys.contains(&key) {
                keys.push(key);
            }
            rest = &after[key_len + 2..];
        } else {
            rest = &rest[start + 1..];
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn render_replaces_keys_and_leaves_github_expressions() {
        let text = "name = \"{{package}}\"\nkey: ${{ github.sha }}\n{{{Type}}, x}";
        let out = render(text, &[("package", "demo"), ("Type", "Ship")]);
        assert_eq!(out, "name = \"demo\"\nkey: ${{ github.sha }}\n{Ship, x}");
        assert_eq!(placeholders(text), ["package", "Type"]);
    }

    /// Every file under `new/`, `new-nats/`, `new-http/`, `new-nats-http/` and `add/` is
    /// embedded, so a template added on disk cannot be forgotten by the binary.
    #[test]
    fn every_template_file_is_embedded() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for (dir, templates) in [
            ("new", NEW_PROJECT),
            ("new-nats", NEW_NATS),
            ("new-http", NEW_HTTP),
            ("new-nats-http", NEW_NATS_HTTP),
        ] {
            let mut on_disk = Vec::new();
            collect(&root.join(dir), &root.join(dir), &mut on_disk);
            let mut embedded: Vec<String> = templates.iter().map(|t| t.path.to_string()).collect();
            on_disk.sort();
            embedded.sort();
            assert_eq!(on_disk, embedded, "{dir}/");
        }

        let mut add_on_disk = Vec::new();
        collect(&root.join("add"), root, &mut add_on_disk);
        let mut add_embedded: Vec<String> = ADD.iter().map(|t| t.path.to_string()).collect();
        add_on_disk.sort();
        add_embedded.sort();
        assert_eq!(add_on_disk, add_embedded);
    }

    fn collect(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir)
            .expect("read the template directory")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                collect(&path, base, out);
            } else {
                let relative = path.strip_prefix(base).expect("below the base");
                let relative = relative.to_string_lossy().replace('\\', "/");
                let lands_at = relative.strip_suffix(STORED_SUFFIX).unwrap_or(&relative);
                out.push(lands_at.to_string());
            }
        }
    }
}
