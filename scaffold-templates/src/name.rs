//! Names as cargo and rustc accept them: a project (package) name, a message type name, and the
//! module and crate names derived from them.

use crate::ScaffoldError;

/// Every Rust keyword, strict and reserved, in any edition: none can name a crate or a module.
const KEYWORDS: &[&str] = &[
    "Self", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue",
    "crate", "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if",
    "impl", "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Directory names cargo uses inside `target/`: a package so named would clash with them.
const BUILD_DIRECTORY_NAMES: &[&str] = &["build", "deps", "examples", "incremental"];

/// The sysroot crates: a package of the same name shadows them.
const SYSROOT_CRATES: &[&str] = &["alloc", "core", "proc_macro", "proc-macro", "std", "test"];

/// A validated project name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName {
    /// The package name, as given (`my-service`).
    pub package: String,
    /// The crate's name in Rust paths (`my_service`).
    pub crate_ident: String,
    /// Accepted, but worth saying (a name that is not lowercase).
    pub note: Option<String>,
}

/// Checks `name` as `cargo new` would, and derives the crate name.
pub fn project(name: &str) -> Result<ProjectName, ScaffoldError> {
    let refuse = |reason: String| ScaffoldError::InvalidName {
        what: "project name",
        name: name.to_string(),
        reason,
    };
    let Some(first) = name.chars().next() else {
        return Err(refuse("the name cannot be empty".into()));
    };
    if first.is_ascii_digit() {
        return Err(refuse(
            "the name cannot start with a digit; try a word first, e.g. `service-2`".into(),
        ));
    }
    if let Some(bad) = invalid_char(name) {
        return Err(refuse(format!(
            "the character `{bad}` is not allowed; use ASCII letters, digits, `_` and `-`"
        )));
    }
    if first == '-' {
        return Err(refuse("the name cannot start with `-`".into()));
    }
    let crate_ident = name.replace('-', "_");
    if KEYWORDS.contains(&name) || KEYWORDS.contains(&crate_ident.as_str()) {
        return Err(refuse(format!(
            "`{name}` is a Rust keyword and cannot name a crate"
        )));
    }
    if SYSROOT_CRATES.contains(&name) {
        return Err(refuse(format!(
            "`{name}` conflicts with Rust's built-in `{crate_ident}` library"
        )));
    }
    if BUILD_DIRECTORY_NAMES.contains(&name) {
        return Err(refuse(format!(
            "`{name}` conflicts with cargo's build directory names"
        )));
    }
    let note = (name != name.to_ascii_lowercase()).then(|| {
        format!(
            "the name `{name}` is not snake_case or kebab-case, which cargo recommends for package names; consider `{}`",
            name.to_ascii_lowercase()
        )
    });
    Ok(ProjectName {
        package: name.to_string(),
        crate_ident,
        note,
    })
}

/// The first character of `name` outside ASCII letters, digits, `_` and `-`: what cargo accepts
/// without a warning, and what PascalCase conversion understands.
fn invalid_char(name: &str) -> Option<char> {
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
}

/// A validated message type name and the module that will hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeName {
    /// PascalCase (`ShipOrder`).
    pub pascal: String,
    /// snake_case, for the module and test file (`ship_order`).
    pub snake: String,
    /// Set when the name was converted (`ship_order` became `ShipOrder`).
    pub note: Option<String>,
}

/// Checks a message name and converts it to PascalCase (`ship_order` and `ship-order` become
/// `ShipOrder`).
pub fn message_type(name: &str) -> Result<TypeName, ScaffoldError> {
    let refuse = |reason: String| ScaffoldError::InvalidName {
        what: "type name",
        name: name.to_string(),
        reason,
    };
    let Some(first) = name.chars().next() else {
        return Err(refuse("the name cannot be empty".into()));
    };
    if !first.is_ascii_alphabetic() {
        return Err(refuse("a type name starts with a letter".into()));
    }
    if let Some(bad) = invalid_char(name) {
        return Err(refuse(format!(
            "the character `{bad}` is not allowed; use ASCII letters, digits, `_` and `-`"
        )));
    }
    let pascal: String = name
        .split(['_', '-'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
                .collect::<String>()
        })
        .collect();
    let snake = snake_case(&pascal);
    if KEYWORDS.contains(&pascal.as_str()) || KEYWORDS.contains(&snake.as_str()) {
        return Err(refuse(format!(
            "its module would be `{snake}`, a Rust keyword; choose another name"
        )));
    }
    let note = (pascal != name)
        .then(|| format!("`{name}` became `{pascal}`: Rust type names are PascalCase"));
    Ok(TypeName {
        pascal,
        snake,
        note,
    })
}

/// A module name for `--module`: one or more `::`-separated snake_case identifiers.
pub fn module_path(path: &str) -> Result<Vec<String>, ScaffoldError> {
    let refuse = |reason: String| ScaffoldError::InvalidName {
        what: "module",
        name: path.to_string(),
        reason,
    };
    let path = path.strip_prefix("crate::").unwrap_or(path);
    let mut segments = Vec::new();
    for segment in path.split("::") {
        let valid = segment
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && segment
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(refuse(format!(
                "`{segment}` is not a snake_case module name (lowercase letters, digits, `_`)"
            )));
        }
        if KEYWORDS.contains(&segment) {
            return Err(refuse(format!("`{segment}` is a Rust keyword")));
        }
        segments.push(segment.to_string());
    }
    Ok(segments)
}

/// `ShipOrder` -> `ship_order`, `HTTPRequest` -> `http_request`, `Order2Shipped` ->
/// `order2_shipped`.
pub fn snake_case(pascal: &str) -> String {
    let chars: Vec<char> = pascal.chars().collect();
    let mut out = String::with_capacity(pascal.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let previous = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(result: Result<impl std::fmt::Debug, ScaffoldError>) -> String {
        match result {
            Err(error) => error.to_string(),
            Ok(value) => panic!("accepted: {value:?}"),
        }
    }

    #[test]
    fn project_names_follow_cargo() {
        let name = project("my-service").expect("valid");
        assert_eq!(name.crate_ident, "my_service");
        assert_eq!(name.note, None);
        assert!(reason(project("")).contains("cannot be empty"));
        assert!(reason(project("2fast")).contains("cannot start with a digit"));
        assert!(reason(project("my service")).contains("character ` `"));
        assert!(reason(project("my.service")).contains("character `.`"));
        assert!(reason(project("café")).contains("character `é`"));
        assert!(reason(project("fn")).contains("keyword"));
        assert!(reason(project("async")).contains("keyword"));
        assert!(reason(project("test")).contains("built-in `test` library"));
        assert!(reason(project("std")).contains("built-in"));
        assert!(reason(project("deps")).contains("build directory"));
        assert!(reason(project("-x")).contains("cannot start with `-`"));
        let upper = project("MyService").expect("accepted with a note");
        assert!(
            upper
                .note
                .as_deref()
                .is_some_and(|n| n.contains("myservice"))
        );
    }

    #[test]
    fn message_names_become_pascal_case() {
        let name = message_type("ship_order").expect("valid");
        assert_eq!(
            (name.pascal.as_str(), name.snake.as_str()),
            ("ShipOrder", "ship_order")
        );
        assert!(name.note.is_some());
        let name = message_type("ShipOrder").expect("valid");
        assert_eq!(name.note, None);
        assert_eq!(
            message_type("ship-order").expect("valid").pascal,
            "ShipOrder"
        );
        assert_eq!(
            message_type("HTTPRequest").expect("valid").snake,
            "http_request"
        );
        assert!(reason(message_type("Match")).contains("keyword"));
        assert!(reason(message_type("1Order")).contains("starts with a letter"));
        assert!(reason(message_type("Ship Order")).contains("character ` `"));
        assert!(reason(message_type("")).contains("empty"));
    }

    #[test]
    fn module_paths_are_snake_case_segments() {
        assert_eq!(module_path("orders").expect("valid"), ["orders"]);
        assert_eq!(
            module_path("crate::orders::shipping").expect("valid"),
            ["orders", "shipping"]
        );
        assert!(reason(module_path("Orders")).contains("snake_case"));
        assert!(reason(module_path("orders::")).contains("snake_case"));
        assert!(reason(module_path("mod")).contains("keyword"));
    }

    #[test]
    fn snake_case_splits_words_and_acronyms() {
        assert_eq!(snake_case("OrderShipped"), "order_shipped");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("Order2Shipped"), "order2_shipped");
        assert_eq!(snake_case("A"), "a");
    }
}
