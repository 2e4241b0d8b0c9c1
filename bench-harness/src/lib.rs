//! catga-bench: runs benchmark scenarios against the catga runtime and reference baselines,
//! records HDR latency histograms, saves versioned reports and compares them with a baseline.
//!
//! The harness itself lands with the bench issue; this crate reserves its place in the workspace
//! so the dependency direction (bench-harness -> runtime) is fixed from the start.
