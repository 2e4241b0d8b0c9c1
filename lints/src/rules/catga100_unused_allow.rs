//! CATGA100 unused-allow: a suppression comment that silenced nothing. Emitted by the engine
//! after suppression is applied; declared here so it is listed, documented and configurable.

use crate::diagnostic::Severity;
use crate::rule::{FixAvailability, Hooks, Rule, RuleMeta};

static META: RuleMeta = RuleMeta {
    code: "CATGA100",
    name: "unused-allow",
    severity: Severity::Info,
    fix: FixAvailability::None,
    fix_applicabilities: &[],
    summary: "A `catga-allow` comment that silences no diagnostic",
    docs: r#"## What it does
Reports a `// catga-allow(CODE)` or `// catga-allow-file(CODE)` comment when no diagnostic of
that code was silenced by it, and an allow that names an unknown code.

## Why is this bad?
Stale suppressions pile up: the code they excused has changed, and they would hide the next real
finding on that line without anyone deciding so.

## Example
```rust
// catga-allow(CATGA005): legacy sleep, removed since
async fn handle() {}
```

## Use instead
```rust
async fn handle() {}
```

## Fix safety
There is no fix: delete the comment, or move it to the line it was meant for.

## Options
None. An allow for a rule that is not enabled in this run is never reported.
"#,
};

/// Engine-level: reported by suppression.
pub(crate) static RULE: Rule = Rule {
    meta: &META,
    hooks: Hooks::NONE,
};
