//! Tests that run the `catga` binary in temporary projects: every output format, every exit
//! code, configuration errors, suppression, rule selection, statistics, fixes and diffs, and the
//! `rules` and `explain` commands, cross-file rules over a workspace, `bench`, `new` and `add`, and
//! `completions` and `cargo catga`.

mod bench;
mod completions;
mod explain;
mod lint_config;
mod lint_exit_codes;
mod lint_fix;
mod lint_formats;
mod lint_selection;
mod lint_workspace;
mod rules;
mod scaffold;
mod support;
