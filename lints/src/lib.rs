//! catga-lints: a syn-based static analyzer for catga services.
//!
//! [`lint`] runs the whole pipeline (discover, parse in parallel, one walk per file running every
//! enabled rule, suppression, fixes, cache); [`rules`] and [`rule`] expose every rule's metadata.
//! Rules live one per file in `rules/`; `rule.rs` documents how to write one.

pub mod config;
pub mod context;
pub mod diagnostic;
pub mod error;
pub mod facts;
pub mod locals;
pub mod output;
pub mod resolve;
pub mod rule;
mod rules;
pub mod rules_doc;
pub mod source;

pub use config::Settings;
pub use diagnostic::{Applicability, Diagnostic, Edit, Fix, Position, Severity, Span};
pub use error::LintError;
pub use rule::{FixAvailability, RuleMeta};
pub use rules::{rule, rules};
