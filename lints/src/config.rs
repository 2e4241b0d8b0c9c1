//! Configuration: `catga.toml`, or `[package.metadata.catga]` / `[workspace.metadata.catga]` in
//! `Cargo.toml`, found from the run's root upwards (stopping at a workspace root or a git root).
//! Every key is validated when loaded; an unknown key, code or value is a [`LintError::Config`]
//! naming the file, line and column, what is wrong and the valid choices.

use crate::diagnostic::Severity;
use crate::error::LintError;
use crate::source::SourceFile;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// How handlers are expected to be registered (CATGA001, CATGA010).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RegistrationStyle {
    /// `Mediator::builder().handler(..)`.
    #[default]
    Builder,
    /// `#[catga::handler]` on each handler impl.
    Attribute,
}

/// The validated configuration rules and the engine read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Settings {
    /// Codes to run (`None`: every rule).
    pub select: Option<Vec<String>>,
    /// Codes not to run.
    pub ignore: Vec<String>,
    /// Severity overrides per code.
    pub severity: BTreeMap<String, Severity>,
    /// The `fail_on` threshold, if set.
    pub fail_on: Option<Severity>,
    /// The highest severity a finding in test code gets (`#[cfg(test)]`, `#[test]`,
    /// `#[tokio::test]`, test and bench targets): test setup that sleeps or reads a fixture is
    /// worth knowing about, rarely worth failing a build on.
    pub test_severity: Severity,
    /// CATGA011: the longest timeout a handler may use.
    pub max_handler_timeout: Duration,
    /// CATGA014: the largest saga state, in bytes.
    pub saga_state_max_bytes: u64,
    /// CATGA013: command name patterns (`*` wildcards) that must be idempotent.
    pub critical_commands: Vec<String>,
    /// CATGA005: extra full paths of blocking functions (`my_crate::db::query_sync`).
    pub blocking_functions: Vec<String>,
    /// CATGA001 / CATGA010: the registration style.
    pub registration: RegistrationStyle,
    /// Globs of paths not to lint, relative to the config file's directory.
    pub exclude: Vec<String>,
}

impl Settings {
    /// The first `critical_commands` pattern that names the command `name`, if any (CATGA013).
    pub fn critical_pattern(&self, name: &str) -> Option<&str> {
        self.critical_commands
            .iter()
            .map(String::as_str)
            .find(|pattern| matches_pattern(pattern, name))
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            select: None,
            ignore: Vec::new(),
            severity: BTreeMap::new(),
            fail_on: None,
            test_severity: Severity::Info,
            max_handler_timeout: Duration::from_secs(30),
            saga_state_max_bytes: 1024,
            critical_commands: [
                "Create*",
                "Update*",
                "Delete*",
                "*Payment*",
                "Process*",
                "Transfer*",
                "Charge*",
                "Refund*",
            ]
            .map(String::from)
            .to_vec(),
            blocking_functions: Vec::new(),
            registration: RegistrationStyle::Builder,
            exclude: Vec::new(),
        }
    }
}

/// Settings and where they came from.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The validated settings (defaults when no config file exists).
    pub settings: Settings,
    /// The file they were read from.
    pub file: Option<PathBuf>,
    /// The directory `exclude` globs are relative to.
    pub base_dir: PathBuf,
    /// `[bench] target`: the bench target `catga bench` builds and runs in this project. Kept
    /// out of [`Settings`], which keys the lint cache: it does not change what a lint finds.
    pub bench_target: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    select: Option<Vec<Spanned<String>>>,
    ignore: Option<Vec<Spanned<String>>>,
    severity: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    fail_on: Option<Spanned<String>>,
    test_severity: Option<Spanned<String>>,
    max_handler_timeout: Option<Spanned<String>>,
    saga_state_max_bytes: Option<Spanned<i64>>,
    critical_commands: Option<Vec<Spanned<String>>>,
    blocking_functions: Option<Vec<Spanned<String>>>,
    registration: Option<Spanned<String>>,
    exclude: Option<Vec<Spanned<String>>>,
    bench: Option<RawBench>,
}

/// `[bench]`: read by `catga bench`, not by the linter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBench {
    target: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    package: Option<MetadataHolder>,
    workspace: Option<MetadataHolder>,
}

#[derive(Debug, Deserialize)]
struct MetadataHolder {
    metadata: Option<CatgaHolder>,
}

#[derive(Debug, Deserialize)]
struct CatgaHolder {
    catga: Option<RawConfig>,
}

/// Find and load the configuration for a run rooted at `root`.
pub fn load(root: &Path) -> Result<Config, LintError> {
    let root = root.canonicalize().map_err(|source| LintError::Io {
        path: root.to_path_buf(),
        source,
    })?;
    for dir in root.ancestors() {
        let catga_toml = dir.join("catga.toml");
        if catga_toml.is_file() {
            let text = read(&catga_toml)?;
            let raw: RawConfig = parse(&catga_toml, &text)?;
            let (settings, bench_target) = validate(&catga_toml, &text, raw)?;
            return Ok(Config {
                settings,
                bench_target,
                file: Some(catga_toml),
                base_dir: dir.to_path_buf(),
            });
        }
        let cargo_toml = dir.join("Cargo.toml");
        if cargo_toml.is_file() {
            let text = read(&cargo_toml)?;
            let manifest: Manifest = parse(&cargo_toml, &text)?;
            let is_workspace_root = manifest.workspace.is_some();
            let raw = [manifest.package, manifest.workspace]
                .into_iter()
                .flatten()
                .find_map(|holder| holder.metadata.and_then(|metadata| metadata.catga));
            if let Some(raw) = raw {
                let (settings, bench_target) = validate(&cargo_toml, &text, raw)?;
                return Ok(Config {
                    settings,
                    bench_target,
                    file: Some(cargo_toml),
                    base_dir: dir.to_path_buf(),
                });
            }
            if is_workspace_root {
                break;
            }
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    Ok(Config {
        settings: Settings::default(),
        file: None,
        base_dir: root,
        bench_target: None,
    })
}

/// Parse configuration text as if it were the file `path` (for tests and tools).
pub fn parse_catga_toml(path: &Path, text: &str) -> Result<Settings, LintError> {
    let raw: RawConfig = parse(path, text)?;
    validate(path, text, raw).map(|(settings, _)| settings)
}

/// Parse configuration text as if it were the file `path`, returning its `[bench] target`
/// (for tests and tools; [`load`] finds the file and fills [`Config::bench_target`]).
pub fn parse_bench_target(path: &Path, text: &str) -> Result<Option<String>, LintError> {
    let raw: RawConfig = parse(path, text)?;
    validate(path, text, raw).map(|(_, target)| target)
}

fn read(path: &Path) -> Result<String, LintError> {
    std::fs::read_to_string(path).map_err(|source| LintError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, LintError> {
    toml::from_str(text).map_err(|error| {
        let span = error.span().unwrap_or(0..0);
        let mut message = error.message().trim_end().to_string();
        // A top-level key appended at the end of a file lands in its last table: say which.
        if message.starts_with("unknown field")
            && let Some(table) = enclosing_table(text, span.start)
        {
            message.push_str(&format!(
                "; this key is in the `[{table}]` table (every key below a `[table]` line \
                 belongs to it): move a top-level key above `[{table}]`"
            ));
        }
        config_error(path, text, span, message)
    })
}

/// The name of the `[table]` whose header is the last one before byte `offset` of `text`.
fn enclosing_table(text: &str, offset: usize) -> Option<&str> {
    text.get(..offset)?.lines().rev().find_map(|line| {
        let header = line.split('#').next()?.trim();
        let name = header.strip_prefix('[')?.strip_suffix(']')?.trim();
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        plain.then_some(name)
    })
}

fn config_error(path: &Path, text: &str, span: Range<usize>, message: String) -> LintError {
    let position = SourceFile::new(path, text).position(span.start);
    LintError::Config {
        path: path.to_path_buf(),
        line: position.line,
        column: position.column,
        message,
    }
}

/// The lint settings and the `[bench] target` of one config table.
fn validate(
    path: &Path,
    text: &str,
    raw: RawConfig,
) -> Result<(Settings, Option<String>), LintError> {
    let error =
        |value_span: Range<usize>, message: String| config_error(path, text, value_span, message);
    let code = |value: &Spanned<String>, key: &str| -> Result<String, LintError> {
        crate::rules::rule(value.get_ref())
            .map(|meta| meta.code.to_string())
            .ok_or_else(|| {
                error(
                    value.span(),
                    format!(
                        "unknown rule `{}` in `{key}`; valid codes: {}",
                        value.get_ref(),
                        all_codes()
                    ),
                )
            })
    };
    let severity = |value: &Spanned<String>, key: &str| -> Result<Severity, LintError> {
        parse_severity(value.get_ref()).ok_or_else(|| {
            error(
                value.span(),
                format!(
                    "invalid severity `{}` for `{key}`; expected one of: error, warning, info",
                    value.get_ref()
                ),
            )
        })
    };
    let mut settings = Settings::default();
    if let Some(select) = &raw.select {
        settings.select = Some(
            select
                .iter()
                .map(|value| code(value, "select"))
                .collect::<Result<_, _>>()?,
        );
    }
    if let Some(ignore) = &raw.ignore {
        settings.ignore = ignore
            .iter()
            .map(|value| code(value, "ignore"))
            .collect::<Result<_, _>>()?;
    }
    for (rule_code, level) in raw.severity.iter().flatten() {
        settings.severity.insert(
            code(rule_code, "severity")?,
            severity(level, &format!("severity.{}", rule_code.get_ref()))?,
        );
    }
    if let Some(fail_on) = &raw.fail_on {
        settings.fail_on = Some(severity(fail_on, "fail_on")?);
    }
    if let Some(test_severity) = &raw.test_severity {
        settings.test_severity = severity(test_severity, "test_severity")?;
    }
    if let Some(timeout) = &raw.max_handler_timeout {
        settings.max_handler_timeout = parse_duration(timeout.get_ref()).ok_or_else(|| {
            error(
                timeout.span(),
                format!("invalid duration `{}` for `max_handler_timeout`; expected a whole number followed by ms, s, m or h, such as \"30s\"", timeout.get_ref()),
            )
        })?;
    }
    if let Some(bytes) = &raw.saga_state_max_bytes {
        settings.saga_state_max_bytes = u64::try_from(*bytes.get_ref())
            .ok()
            .filter(|&bytes| bytes > 0)
            .ok_or_else(|| {
                error(
                    bytes.span(),
                    format!(
                        "invalid `saga_state_max_bytes` {}; expected a positive number of bytes",
                        bytes.get_ref()
                    ),
                )
            })?;
    }
    if let Some(patterns) = &raw.critical_commands {
        for pattern in patterns {
            let valid = !pattern.get_ref().is_empty()
                && pattern
                    .get_ref()
                    .chars()
                    .all(|c| c == '*' || c == '_' || c.is_alphanumeric());
            if !valid {
                return Err(error(
                    pattern.span(),
                    format!(
                        "invalid pattern `{}` in `critical_commands`; expected a type name with `*` wildcards, such as \"Create*\"",
                        pattern.get_ref()
                    ),
                ));
            }
        }
        settings.critical_commands = patterns
            .iter()
            .map(|pattern| pattern.get_ref().clone())
            .collect();
    }
    if let Some(functions) = &raw.blocking_functions {
        for function in functions {
            if syn::parse_str::<syn::Path>(function.get_ref())
                .map_or(true, |path| path.segments.len() < 2)
            {
                return Err(error(
                    function.span(),
                    format!(
                        "invalid path `{}` in `blocking_functions`; expected a full path such as \"my_crate::db::query_sync\"",
                        function.get_ref()
                    ),
                ));
            }
        }
        settings.blocking_functions = functions
            .iter()
            .map(|function| function.get_ref().trim_start_matches("::").to_string())
            .collect();
    }
    if let Some(registration) = &raw.registration {
        settings.registration = match registration.get_ref().as_str() {
            "builder" => RegistrationStyle::Builder,
            "attribute" => RegistrationStyle::Attribute,
            other => {
                return Err(error(
                    registration.span(),
                    format!(
                        "invalid `registration` `{other}`; expected one of: builder, attribute"
                    ),
                ));
            }
        };
    }
    if let Some(globs) = &raw.exclude {
        for glob in globs {
            if let Err(glob_error) = globset::Glob::new(glob.get_ref()) {
                return Err(error(
                    glob.span(),
                    format!(
                        "invalid glob `{}` in `exclude`: {}",
                        glob.get_ref(),
                        glob_error.kind()
                    ),
                ));
            }
        }
        settings.exclude = globs.iter().map(|glob| glob.get_ref().clone()).collect();
    }
    let bench_target = match raw.bench.and_then(|bench| bench.target) {
        Some(target) if is_target_name(target.get_ref()) => Some(target.into_inner()),
        Some(target) => {
            return Err(error(
                target.span(),
                format!(
                    "invalid `bench.target` `{}`; expected the name of a bench target in \
                     Cargo.toml (letters, digits, `-` and `_`), such as \"scenarios\"",
                    target.get_ref()
                ),
            ));
        }
        None => None,
    };
    Ok((settings, bench_target))
}

/// A name Cargo accepts for a target: it becomes a file name and a crate name.
fn is_target_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn all_codes() -> String {
    crate::rules::rules()
        .iter()
        .map(|meta| meta.code)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `error`, `warning` or `info`.
pub fn parse_severity(text: &str) -> Option<Severity> {
    match text {
        "error" => Some(Severity::Error),
        "warning" => Some(Severity::Warning),
        "info" => Some(Severity::Info),
        _ => None,
    }
}

/// `500ms`, `30s`, `2m`, `1h`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(number)),
        "s" => Some(Duration::from_secs(number)),
        "m" => Some(Duration::from_secs(number.checked_mul(60)?)),
        "h" => Some(Duration::from_secs(number.checked_mul(3600)?)),
        _ => None,
    }
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters (none included).
fn matches_pattern(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: an exact name.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_prefixes_infixes_suffixes_and_exact_names() {
        assert!(matches_pattern("Create*", "CreateOrder"));
        assert!(matches_pattern("Create*", "Create"));
        assert!(!matches_pattern("Create*", "RecreateOrder"));
        assert!(matches_pattern("*Payment*", "CapturePaymentIntent"));
        assert!(matches_pattern("*Payment*", "Payment"));
        assert!(!matches_pattern("*Payment*", "Pay"));
        assert!(matches_pattern("*Order", "CancelOrder"));
        assert!(!matches_pattern("*Order", "OrderPlaced"));
        assert!(matches_pattern("ShipParcel", "ShipParcel"));
        assert!(!matches_pattern("ShipParcel", "ShipParcels"));
        assert!(matches_pattern("A*B*C", "AxxBxxC"));
        assert!(!matches_pattern("A*B*C", "AxxCxxB"));
        assert!(!matches_pattern("AB*BA", "ABA"));
        assert!(matches_pattern("*", "Anything"));
    }

    fn config_error_of(text: &str) -> (u32, u32, String) {
        match parse_catga_toml(Path::new("catga.toml"), text) {
            Err(LintError::Config {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn valid_config_is_read_into_settings() {
        let text = "select = [\"CATGA005\", \"sync-io-in-async\"]\nseverity = { CATGA005 = \"error\" }\n\
                    fail_on = \"info\"\nmax_handler_timeout = \"500ms\"\nregistration = \"attribute\"\n\
                    blocking_functions = [\"my_db::query_sync\"]\nexclude = [\"generated/**\"]\n";
        let settings = parse_catga_toml(Path::new("catga.toml"), text).unwrap();
        assert_eq!(
            settings.select,
            Some(vec!["CATGA005".to_string(), "CATGA012".to_string()])
        );
        assert_eq!(settings.severity.get("CATGA005"), Some(&Severity::Error));
        assert_eq!(settings.fail_on, Some(Severity::Info));
        assert_eq!(settings.max_handler_timeout, Duration::from_millis(500));
        assert_eq!(settings.registration, RegistrationStyle::Attribute);
        assert_eq!(
            settings.blocking_functions,
            vec!["my_db::query_sync".to_string()]
        );
    }

    #[test]
    fn unknown_key_names_line_and_valid_keys() {
        let (line, column, message) = config_error_of("select = []\nselekt = [\"CATGA005\"]\n");
        assert_eq!((line, column), (2, 1));
        assert!(
            message.contains("unknown field `selekt`") && message.contains("select"),
            "{message}"
        );
    }

    #[test]
    fn a_top_level_key_below_a_table_is_reported_in_that_table() {
        let (line, _, message) =
            config_error_of("[bench]\ntarget = \"scenarios\"\nfail_on = \"error\"\n");
        assert_eq!(line, 3);
        assert!(
            message.contains("unknown field `fail_on`")
                && message.contains("in the `[bench]` table")
                && message.contains("move a top-level key above `[bench]`"),
            "{message}"
        );
        let (_, _, top_level) = config_error_of("selekt = []\n[bench]\n");
        assert!(!top_level.contains("table"), "{top_level}");
    }

    #[test]
    fn unknown_code_names_its_position_and_the_valid_codes() {
        let (line, column, message) = config_error_of("ignore = [\"CATGA005\", \"CATGA999\"]\n");
        assert_eq!((line, column), (1, 23));
        assert!(
            message.contains("unknown rule `CATGA999`") && message.contains("CATGA012"),
            "{message}"
        );
    }

    #[test]
    fn bad_values_are_errors_with_choices() {
        assert!(
            config_error_of("fail_on = \"fatal\"")
                .2
                .contains("error, warning, info")
        );
        assert!(
            config_error_of("max_handler_timeout = \"30\"")
                .2
                .contains("such as \"30s\"")
        );
        assert!(
            config_error_of("registration = \"magic\"")
                .2
                .contains("builder, attribute")
        );
        assert!(
            config_error_of("severity = { CATGA005 = \"loud\" }")
                .2
                .contains("severity.CATGA005")
        );
        assert!(
            config_error_of("saga_state_max_bytes = -1")
                .2
                .contains("positive")
        );
        assert!(
            config_error_of("exclude = [\"a[\"]")
                .2
                .contains("invalid glob")
        );
        assert!(
            config_error_of("select = 5").2.contains("sequence")
                || config_error_of("select = 5").2.contains("array")
        );
    }

    #[test]
    fn bench_target_is_read_and_checked() {
        let path = Path::new("catga.toml");
        let target = parse_bench_target(
            path,
            "fail_on = \"error\"\n\n[bench]\ntarget = \"scenarios\"\n",
        );
        assert_eq!(target.unwrap(), Some("scenarios".to_string()));
        assert_eq!(parse_bench_target(path, "[bench]\n").unwrap(), None);
        assert_eq!(parse_bench_target(path, "").unwrap(), None);
        let (line, column, message) =
            config_error_of("[bench]\ntarget = \"scenarios\"\ntargte = 1\n");
        assert_eq!((line, column), (3, 1));
        assert!(
            message.contains("unknown field `targte`") && message.contains("target"),
            "{message}"
        );
        let (line, column, message) = config_error_of("[bench]\ntarget = \"my benches\"\n");
        assert_eq!((line, column), (2, 10));
        assert!(message.contains("bench.target"), "{message}");
        assert!(
            config_error_of("[bench]\ntarget = 3\n")
                .2
                .contains("string")
        );
    }

    #[test]
    fn bench_target_is_exposed_on_the_loaded_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("catga.toml"),
            "[bench]\ntarget = \"scenarios\"\n",
        )
        .unwrap();
        let config = load(dir.path()).unwrap();
        assert_eq!(config.bench_target.as_deref(), Some("scenarios"));
        assert_eq!(config.settings, Settings::default());
    }

    #[test]
    fn cargo_metadata_table_is_found_from_a_subdirectory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"x\"\n\n[package.metadata.catga]\nfail_on = \"error\"\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        let config = load(&dir.path().join("src")).unwrap();
        assert_eq!(config.settings.fail_on, Some(Severity::Error));
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"x\"\n\n[package.metadata.catga]\nfail_on = 3\n",
        )
        .unwrap();
        match load(dir.path()) {
            Err(LintError::Config { line, path, .. }) => {
                assert_eq!(line, 5);
                assert!(path.ends_with("Cargo.toml"));
            }
            other => panic!("expected a config error, got {other:?}"),
        }
    }
}
