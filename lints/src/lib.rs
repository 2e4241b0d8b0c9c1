//! catga-lints: a syn-based static analyzer for catga services.

pub mod diagnostic;
