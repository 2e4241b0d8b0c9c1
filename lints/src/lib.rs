//! catga-lints: a syn-based static analyzer for catga services.
//!
//! [`lint`] runs the whole pipeline: discover files, parse them in parallel, one walk per file
//! running every enabled rule's hooks, suppression comments, the fix loop, the result cache.
//! [`rules`] and [`rule()`] expose every rule's metadata. Rules live one per file in `rules/`;
//! [`rule`](mod@rule) documents how to write one.

pub mod add_allow;
mod cache;
pub mod call_graph;
mod check;
pub mod config;
pub mod context;
pub mod diagnostic;
mod discover;
pub mod error;
pub mod facts;
mod file_index;
mod fix;
mod imports;
pub mod live;
/// Where a local came from: the public part of the semantic model, at its old path.
pub mod locals {
    pub use crate::semantic::{LocalOrigin, MethodChain, method_chain};
}
mod locks;
pub mod output;
pub mod resolve;
pub mod rule;
mod rules;
pub mod rules_doc;
mod run;
mod scan;
mod semantic;
pub mod source;
mod suppress;
pub mod workspace;

pub use add_allow::{AddAllowReport, add_allows};
pub use config::Settings;
pub use diagnostic::{Applicability, Diagnostic, Edit, Fix, Position, Severity, Span, apply_edits};
pub use error::LintError;
pub use fix::FixMode;
pub use live::{FindingsDiff, LiveWorkspace, allow_edit};
pub use rule::{FixAvailability, RuleMeta};
pub use rules::{rule, rules};
pub use run::{AppliedFix, FileDiff, LintOptions, LintReport, Phase, Progress, lint};
