//! CATGA000 parse-error: a file the analyzer cannot read as Rust. Emitted by the engine, not by
//! a hook; declared here so it is listed, documented and configurable like any rule.

use crate::diagnostic::Severity;
use crate::rule::{FixAvailability, Hooks, Rule, RuleMeta};

static META: RuleMeta = RuleMeta {
    code: "CATGA000",
    name: "parse-error",
    severity: Severity::Error,
    fix: FixAvailability::None,
    fix_applicabilities: &[],
    summary: "A file that is not valid UTF-8 or that syn cannot parse as Rust",
    docs: r#"## What it does
Reports a file that is not valid UTF-8, or that does not parse as Rust, at the place the parser
stopped. The other rules cannot look at such a file, and `--fix` never rewrites it.

## Why is this bad?
A file the analyzer cannot parse is a file nothing is checked in. Usually the compiler rejects it
too; sometimes it is a fixture or generated file that should be excluded.

## Example
```rust
fn broken( {
```

## Use instead
```rust
fn fixed() {}
```
Or exclude the file in `catga.toml`: `exclude = ["tests/fixtures/**"]`.

## Fix safety
There is no fix.

## Options
None. It is reported even when `select` or `--select` leave it out: only `ignore` or `--ignore`
turn it off.
"#,
};

/// Engine-level: reported when reading or parsing a file fails.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks::NONE,
};
