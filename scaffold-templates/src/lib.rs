//! catga-scaffold: the templates behind `catga new` and `catga add`, and the code that writes
//! them without ever losing a user's file.
//!
//! Both commands work in two steps. First they build a [`Plan`]: every file to create and every
//! existing file to edit, with its full new text, computed in memory ([`new::plan`],
//! [`add::plan`]). Nothing is written while planning, so a bad name, a clash or an unparsable
//! file stops the command with the tree untouched, and `--dry-run` just lists the plan. Then
//! [`Plan::apply`] writes it: new files never replace existing ones, edits replace files
//! atomically, and a failure part-way removes what was written and restores what was edited.
//!
//! The templates live as plain files beside this crate (`new/`, `add/`), embedded at build time
//! ([`template`]); edits to existing code are placed by syn spans ([`edit`]).

pub mod add;
pub mod edit;
mod error;
mod format;
pub mod name;
pub mod new;
mod plan;
pub mod template;

pub use error::ScaffoldError;
pub use plan::{Change, Plan, PlannedFile};
