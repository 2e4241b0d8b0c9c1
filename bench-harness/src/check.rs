//! What `catga bench` checks before it measures anything: a baseline that cannot gate (a
//! damaged histogram, no samples, too few for a verdict, nothing in common with the selection,
//! another open-loop rate) and output paths that cannot be written. Each is found in
//! milliseconds, not after minutes of measuring, and says what is wrong, where, and what to do.

use std::io;
use std::path::{Path, PathBuf};

use crate::compare;
use crate::project::ScenarioInfo;
use crate::report::Report;

/// Why the command cannot start.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A scenario's histogram in the baseline does not decode.
    #[error(
        "the baseline `{}` is damaged: the histogram of scenario `{scenario}` cannot be decoded \
         ({message}); save a new baseline with `catga bench --save {}`",
        path.display(),
        path.display()
    )]
    Histogram {
        path: PathBuf,
        scenario: String,
        message: String,
    },
    /// Scenarios of the baseline have no (or too few) samples for a verdict.
    #[error(
        "the baseline `{}` has {found} for {}, and a verdict at {confidence}% confidence against \
         this run's {current} samples needs more: comparing would gate nothing; save a new \
         baseline with `catga bench --samples 10 --save {}`",
        path.display(),
        scenarios.join(", "),
        path.display()
    )]
    Samples {
        path: PathBuf,
        /// `no samples`, `3 samples`.
        found: String,
        scenarios: Vec<String>,
        confidence: String,
        current: u32,
    },
    /// The baseline shares no scenario with the selection.
    #[error(
        "the baseline `{}` and this run have no scenario in common, so nothing can be compared \
         (baseline: {}; this run: {}); run the same scenarios as the baseline (check \
         `--scenario`), or save a new baseline with `catga bench --save {}`",
        path.display(),
        list(baseline),
        list(selected),
        path.display()
    )]
    NothingShared {
        path: PathBuf,
        baseline: Vec<String>,
        selected: Vec<String>,
    },
    /// The baseline ran open loop and this run does not, or at another rate.
    #[error(
        "the baseline `{}` was measured {baseline}, and this run would be measured {current}: \
         open-loop latencies and back-to-back ones are different measurements; {fix}",
        path.display()
    )]
    Rate {
        path: PathBuf,
        baseline: String,
        current: String,
        fix: String,
    },
    /// `--instructions`, and the baseline has no instruction counts.
    #[error(
        "the baseline `{}` has no instruction counts for {}, so `--instructions` has nothing to          compare with; save the baseline with `catga bench --instructions --save {}`, or          compare without `--instructions`",
        path.display(),
        scenarios.join(", "),
        path.display()
    )]
    NoInstructions {
        path: PathBuf,
        scenarios: Vec<String>,
    },
    /// An output path cannot be written.
    #[error("`{flag} {}`: {problem}; {fix}", path.display())]
    Output {
        flag: &'static str,
        path: PathBuf,
        problem: String,
        fix: String,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// What a run is about to do, for the checks of its baseline.
#[derive(Debug, Clone)]
pub struct Planned<'a> {
    /// The scenarios selected (the references among them).
    pub selected: &'a [ScenarioInfo],
    /// `--samples`.
    pub samples: u32,
    /// `--rate`.
    pub rate: Option<f64>,
    /// The comparison's confidence.
    pub confidence: f64,
    /// `--instructions`: the baseline must have instruction counts too.
    pub instructions: bool,
}

/// Checks that `baseline` (read from `path`) can gate the planned run: the scenarios they share
/// exist, each has a decodable histogram and enough samples for a verdict, and the run's
/// open-loop rate is the baseline's.
pub fn baseline(baseline: &Report, path: &Path, planned: &Planned<'_>) -> Result<(), CheckError> {
    let shared: Vec<_> = baseline
        .scenarios
        .iter()
        .filter(|scenario| planned.selected.iter().any(|s| s.name == scenario.name))
        .collect();
    if shared.is_empty() {
        return Err(CheckError::NothingShared {
            path: path.to_path_buf(),
            baseline: baseline.scenarios.iter().map(|s| s.name.clone()).collect(),
            selected: planned.selected.iter().map(|s| s.name.clone()).collect(),
        });
    }
    for scenario in &shared {
        scenario
            .decode_histogram()
            .map_err(|message| CheckError::Histogram {
                path: path.to_path_buf(),
                scenario: scenario.name.clone(),
                message,
            })?;
    }
    let samples = planned.samples as usize;
    let short: Vec<_> = shared
        .iter()
        .filter(|s| !compare::can_decide(s.samples.len(), samples, planned.confidence))
        .collect();
    if let Some(first) = short.first() {
        let found = match first.samples.len() {
            0 => "no samples".to_owned(),
            1 => "1 sample".to_owned(),
            n => format!("{n} samples"),
        };
        return Err(CheckError::Samples {
            path: path.to_path_buf(),
            found,
            scenarios: short.iter().map(|s| s.name.clone()).collect(),
            confidence: compare::format_percent_plain(planned.confidence),
            current: planned.samples,
        });
    }
    if planned.instructions {
        let uncounted: Vec<String> = shared
            .iter()
            .filter(|s| s.instructions_per_op.is_none() && s.rate_ops_s.is_none())
            .map(|s| s.name.clone())
            .collect();
        if !uncounted.is_empty() {
            return Err(CheckError::NoInstructions {
                path: path.to_path_buf(),
                scenarios: uncounted,
            });
        }
    }
    if baseline.config.rate_ops_s != planned.rate {
        let how = |rate: Option<f64>| match rate {
            Some(rate) => format!("with `--rate {rate}`"),
            None => "without `--rate`".to_owned(),
        };
        let fix = match baseline.config.rate_ops_s {
            Some(rate) => format!("run with `--rate {rate}` as the baseline was"),
            None => "run without `--rate`, as the baseline was".to_owned(),
        };
        return Err(CheckError::Rate {
            path: path.to_path_buf(),
            baseline: how(baseline.config.rate_ops_s),
            current: how(planned.rate),
            fix,
        });
    }
    Ok(())
}

/// Checks that a file can be written at `path` (`flag` names the option): not a directory, in
/// a directory that exists and that this process can create files in.
pub fn output_file(flag: &'static str, path: &Path) -> Result<(), CheckError> {
    let error = |problem: String, fix: String| CheckError::Output {
        flag,
        path: path.to_path_buf(),
        problem,
        fix,
    };
    if path.is_dir() {
        return Err(error(
            "it is a directory".into(),
            format!(
                "name a file, such as `{}`",
                path.join(default_name(flag)).display()
            ),
        ));
    }
    let parent = parent_of(path);
    if !parent.is_dir() {
        return Err(error(
            format!("the directory `{}` does not exist", parent.display()),
            format!("create it first (`mkdir -p {}`)", parent.display()),
        ));
    }
    probe(parent).map_err(|source| {
        error(
            format!("cannot create a file in `{}`: {source}", parent.display()),
            "choose a directory you can write to".into(),
        )
    })
}

/// Checks that files can be written into the directory `path`, created if missing.
pub fn output_dir(flag: &'static str, path: &Path) -> Result<(), CheckError> {
    let error = |problem: String, fix: String| CheckError::Output {
        flag,
        path: path.to_path_buf(),
        problem,
        fix,
    };
    // The nearest directory that exists: the one the files or the new directories go in.
    let mut existing = path;
    while !existing.exists() && parent_of(existing) != existing {
        existing = parent_of(existing);
    }
    if !existing.is_dir() {
        return Err(error(
            format!("`{}` is a file, not a directory", existing.display()),
            "name a directory (it is created if missing)".into(),
        ));
    }
    probe(existing).map_err(|source| {
        error(
            format!("cannot create files in `{}`: {source}", existing.display()),
            "choose a directory you can write to".into(),
        )
    })
}

/// `path`'s directory; `.` for a bare file name.
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn default_name(flag: &str) -> &'static str {
    if flag == "--plot" {
        "latency.svg"
    } else {
        "baseline.json"
    }
}

/// Creates and removes a file in `dir`: the one reliable answer to "can I write here?"
/// (permission bits do not know about read-only mounts, ACLs or root).
fn probe(dir: &Path) -> io::Result<()> {
    tempfile::Builder::new()
        .prefix(".catga-bench-check-")
        .tempfile_in(dir)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::tests::scenario;
    use crate::report::fixtures::report;

    fn info(name: &str) -> ScenarioInfo {
        ScenarioInfo {
            name: name.to_owned(),
            group: "runtime".to_owned(),
            concurrency: 1,
        }
    }

    fn planned(selected: &[ScenarioInfo]) -> Planned<'_> {
        Planned {
            selected,
            samples: 10,
            rate: None,
            confidence: 0.99,
            instructions: false,
        }
    }

    fn ten() -> Vec<(f64, f64, f64)> {
        vec![(100.0, 400.0, 1e6); 10]
    }

    #[test]
    fn a_usable_baseline_passes() {
        let base = report(vec![scenario("a", &ten(), 0.0)]);
        let selected = [info("a"), info("b")];
        baseline(&base, Path::new("b.json"), &planned(&selected)).unwrap();
    }

    #[test]
    fn a_baseline_sharing_nothing_with_the_selection_is_refused_naming_both() {
        let base = report(vec![scenario("a", &ten(), 0.0)]);
        let selected = [info("b")];
        let error = baseline(&base, Path::new("b.json"), &planned(&selected)).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, CheckError::NothingShared { .. }));
        assert!(
            message.contains("`b.json`") && message.contains("baseline: a; this run: b"),
            "{message}"
        );
    }

    #[test]
    fn a_damaged_histogram_is_refused_naming_the_scenario() {
        let mut damaged = scenario("a", &ten(), 0.0);
        damaged.histogram = "HISTFAAAAnotbase64!".to_owned();
        let base = report(vec![damaged]);
        let selected = [info("a")];
        let message = baseline(&base, Path::new("b.json"), &planned(&selected))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("scenario `a`") && message.contains("catga bench --save b.json"),
            "{message}"
        );
    }

    #[test]
    fn a_baseline_without_samples_is_refused_rather_than_gating_nothing() {
        let base = report(vec![scenario("a", &[], 0.0), scenario("b", &ten(), 0.0)]);
        let selected = [info("a"), info("b")];
        let message = baseline(&base, Path::new("b.json"), &planned(&selected))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("no samples for a,") && message.contains("--samples 10"),
            "{message}"
        );
        let three = report(vec![scenario("a", &ten()[..3], 0.0)]);
        let message = baseline(&three, Path::new("b.json"), &planned(&selected[..1]))
            .unwrap_err()
            .to_string();
        assert!(message.contains("3 samples for a,"), "{message}");
    }

    #[test]
    fn another_rate_than_the_baselines_is_refused_with_the_rate_to_use() {
        let mut base = report(vec![scenario("a", &ten(), 0.0)]);
        base.config.rate_ops_s = Some(500.0);
        let selected = [info("a")];
        let message = baseline(&base, Path::new("b.json"), &planned(&selected))
            .unwrap_err()
            .to_string();
        assert!(message.contains("run with `--rate 500`"), "{message}");
    }

    #[test]
    fn instructions_need_a_baseline_with_instruction_counts() {
        let mut counted = scenario("a", &ten(), 0.0);
        let base = report(vec![counted.clone()]);
        let selected = [info("a")];
        let planned = Planned {
            instructions: true,
            ..planned(&selected)
        };
        let message = baseline(&base, Path::new("b.json"), &planned)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("--instructions --save b.json"),
            "{message}"
        );
        counted.instructions_per_op = Some(1234.0);
        baseline(&report(vec![counted]), Path::new("b.json"), &planned).unwrap();
    }

    #[test]
    fn an_output_file_must_not_be_a_directory_and_its_directory_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        output_file("--save", &dir.path().join("report.json")).unwrap();
        let message = output_file("--save", dir.path()).unwrap_err().to_string();
        assert!(
            message.contains("is a directory") && message.contains("baseline.json"),
            "{message}"
        );
        let missing = dir.path().join("missing").join("plot.svg");
        let message = output_file("--plot", &missing).unwrap_err().to_string();
        assert!(
            message.contains("does not exist") && message.contains("mkdir -p"),
            "{message}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_output_file_in_a_directory_nobody_may_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
        let result = output_file("--save", &locked.join("r.json"));
        let can_write_anyway = tempfile::tempfile_in(&locked).is_ok(); // root ignores the bits
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
        if !can_write_anyway {
            let message = result.unwrap_err().to_string();
            assert!(message.contains("cannot create a file"), "{message}");
        }
    }

    #[test]
    fn an_output_directory_may_be_created_but_not_be_a_file() {
        let dir = tempfile::tempdir().unwrap();
        output_dir("--hgrm", &dir.path().join("new").join("deeper")).unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let message = output_dir("--hgrm", &file.join("sub"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("is a file, not a directory"), "{message}");
        assert!(output_dir("--hgrm", &file).is_err());
    }
}
