//! Derive and attribute macros for catga: `Command`, `Query`, `Event`, `#[catga::handler]`.
