//! Progress bars on a terminal: one per scenario, advanced once per sample.
//!
//! Bars are redrawn only between samples, from the runner's thread (no ticker thread), so
//! drawing never runs, or allocates, inside a measurement.

use std::collections::HashMap;
use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::runner::RunOptions;
use crate::scenario::Scenario;

/// The bars of one run; all no-ops when hidden.
pub(crate) struct Progress {
    bars: HashMap<String, ProgressBar>,
    _multi: MultiProgress,
}

impl Progress {
    /// Bars on standard error when it is a terminal and the run is not quiet.
    pub(crate) fn new(scenarios: &[Scenario], options: &RunOptions) -> Progress {
        let visible = !options.quiet && std::io::stderr().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let width = scenarios.iter().map(|s| s.name().len()).max().unwrap_or(8);
        let style = ProgressStyle::with_template(&format!(
            "{{prefix:<{width}}} [{{bar:24}}] {{pos}}/{{len}} {{msg}}"
        ))
        .expect("a valid template")
        .progress_chars("=> ");
        let bars = scenarios
            .iter()
            .map(|scenario| {
                let bar = multi.add(ProgressBar::new(u64::from(options.samples)));
                bar.set_style(style.clone());
                bar.set_prefix(scenario.name().to_owned());
                bar.set_message("waiting");
                (scenario.name().to_owned(), bar)
            })
            .collect();
        Progress {
            bars,
            _multi: multi,
        }
    }

    pub(crate) fn set_message(&self, scenario: &str, message: &'static str) {
        if let Some(bar) = self.bars.get(scenario) {
            bar.set_message(message);
        }
    }

    pub(crate) fn sample_done(&self, scenario: &str) {
        if let Some(bar) = self.bars.get(scenario) {
            bar.set_message("measuring");
            bar.inc(1);
        }
    }

    pub(crate) fn finish(&self) {
        for bar in self.bars.values() {
            bar.finish_and_clear();
        }
    }
}
