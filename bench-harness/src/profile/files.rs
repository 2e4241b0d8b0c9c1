//! The files `catga bench --profile DIR` writes, per scenario (its name as a file stem, as for
//! `--hgrm`):
//!
//! | file | what it holds |
//! |---|---|
//! | `NAME.svg` | the CPU flamegraph |
//! | `NAME.folded` | its folded stacks: what a later comparison draws a differential from |
//! | `NAME.alloc.txt` | the allocation sites, per operation |
//! | `NAME.alloc.svg`, `NAME.alloc.folded` | allocated bytes by stack |
//! | `NAME.diff.svg` | when comparing and `NAME` regressed: baseline against this run |
//!
//! A baseline's stacks are found through the report: `--save FILE` beside `--profile DIR` records
//! DIR in the report (`profiles`, relative to the report's directory when inside it), and
//! `--compare FILE --profile DIR2` reads `NAME.folded` from there ([`BaselineProfiles`]).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use super::ScenarioProfile;
use super::flamegraph::{self, Labels};
use super::folded::Folded;
use crate::hgrm::sanitize as file_stem;
use crate::report::Report;

/// Why the profile files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The output directory could not be created.
    #[error("cannot create the directory `{}` for the profiles: {source}", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    /// A file could not be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// Two scenario names map to the same file name once sanitized.
    #[error(
        "scenarios `{first}` and `{second}` would both be written to `{stem}.svg`; rename one \
         of them (names are made of a-z, 0-9 and _)"
    )]
    NameClash {
        first: String,
        second: String,
        stem: String,
    },
}

/// A differential flamegraph to draw: the scenario and the baseline's CPU stacks.
#[derive(Debug, Clone)]
pub struct Differential {
    pub name: String,
    pub baseline: Folded,
}

/// What [`write_dir`] did.
#[derive(Debug, Default)]
pub struct Written {
    /// Every file written, in order.
    pub files: Vec<PathBuf>,
    /// The scenarios that got a differential flamegraph.
    pub differentials: Vec<String>,
    /// What could not be drawn, and why (a scenario without CPU samples, say).
    pub warnings: Vec<String>,
}

/// Renders every file for `profiles` in memory, then writes them into `dir` (created if
/// missing), each atomically.
pub fn write_dir(
    dir: &Path,
    profiles: &[ScenarioProfile],
    differentials: &[Differential],
) -> Result<Written, ProfileError> {
    let mut owners: HashMap<String, &str> = HashMap::new();
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    let mut written = Written::default();
    for profile in profiles {
        let stem = file_stem(&profile.name);
        if let Some(first) = owners.insert(stem.clone(), &profile.name) {
            return Err(ProfileError::NameClash {
                first: first.to_owned(),
                second: profile.name.clone(),
                stem,
            });
        }
        let path = |suffix: &str| dir.join(format!("{stem}{suffix}"));
        files.push((path(".folded"), profile.cpu.stacks.to_text()));
        match flamegraph::cpu_svg(&profile.cpu.stacks, &cpu_labels(profile)) {
            Ok(svg) => files.push((path(".svg"), svg)),
            Err(error) => written.warnings.push(format!(
                "no CPU flamegraph for `{}`: {error} (it used less CPU time than one sampling \
                 interval; profile it with a longer `--duration`)",
                profile.name
            )),
        }
        let allocations = &profile.allocations;
        files.push((path(".alloc.txt"), allocations.sites_text(&profile.name)));
        let bytes = allocations.bytes_folded();
        files.push((path(".alloc.folded"), bytes.to_text()));
        // A scenario that does not allocate has its table (which says so) and no flamegraph.
        if !bytes.is_empty() {
            match flamegraph::bytes_svg(&bytes, &bytes_labels(profile)) {
                Ok(svg) => files.push((path(".alloc.svg"), svg)),
                Err(error) => written.warnings.push(format!(
                    "no allocation flamegraph for `{}`: {error}",
                    profile.name
                )),
            }
        }
        if let Some(differential) = differentials.iter().find(|d| d.name == profile.name) {
            match flamegraph::differential_svg(
                &differential.baseline,
                &profile.cpu.stacks,
                &differential_labels(&profile.name),
            ) {
                Ok(svg) => {
                    files.push((path(".diff.svg"), svg));
                    written.differentials.push(profile.name.clone());
                }
                Err(error) => written.warnings.push(format!(
                    "no differential flamegraph for `{}`: {error}",
                    profile.name
                )),
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| ProfileError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    for (path, text) in files {
        crate::atomic_write(&path, text.as_bytes()).map_err(|source| ProfileError::Write {
            path: path.clone(),
            source,
        })?;
        written.files.push(path);
    }
    Ok(written)
}

fn cpu_labels(profile: &ScenarioProfile) -> Labels {
    let cpu = &profile.cpu;
    Labels {
        title: format!("CPU: {}", profile.name),
        subtitle: format!(
            "{} samples of CPU time at {} Hz over {} operations ({:.2} s), in a pass after the \
             measured one",
            cpu.stacks.total(),
            cpu.sample_hz,
            cpu.ops,
            cpu.elapsed_ns as f64 / 1e9
        ),
        count_name: "samples".to_owned(),
    }
}

fn bytes_labels(profile: &ScenarioProfile) -> Labels {
    let allocations = &profile.allocations;
    let total = allocations.total();
    let ops = allocations.ops.max(1) as f64;
    Labels {
        title: format!("Allocated bytes: {}", profile.name),
        subtitle: format!(
            "{:.1} bytes in {:.2} allocations per operation, every allocation of {} operations",
            total.bytes as f64 / ops,
            total.count as f64 / ops,
            allocations.ops
        ),
        count_name: "bytes".to_owned(),
    }
}

fn differential_labels(name: &str) -> Labels {
    Labels {
        title: format!("CPU: {name}, the baseline against this run"),
        subtitle: "this run's stacks; red: a larger share of the samples than in the baseline \
                   (scaled to the same total), blue: a smaller one"
            .to_owned(),
        count_name: "samples".to_owned(),
    }
}

/// The `profiles` value a report saved at `report` records for the profiles directory `dir`:
/// relative to the report's directory when `dir` is inside it (so the two move together, as
/// a CI cache restores them), else absolute.
pub fn recorded_dir(report: &Path, dir: &Path) -> String {
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let report_dir = absolute(report)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let dir = absolute(dir);
    match dir.strip_prefix(&report_dir) {
        Ok(relative) if relative.as_os_str().is_empty() => ".".to_owned(),
        Ok(relative) => relative.to_string_lossy().into_owned(),
        Err(_) => dir.to_string_lossy().into_owned(),
    }
}

/// A baseline's profiles directory, found through its report.
#[derive(Debug, Clone)]
pub struct BaselineProfiles {
    report: PathBuf,
    dir: PathBuf,
}

impl BaselineProfiles {
    /// The profiles directory the baseline `report` (read from `path`) records. `Err` says why
    /// there is none to use, as a warning: comparing goes on, without differential flamegraphs.
    pub fn find(report: &Report, path: &Path) -> Result<BaselineProfiles, String> {
        let Some(recorded) = &report.profiles else {
            return Err(format!(
                "the baseline `{}` was saved without `--profile`, so no differential flamegraph \
                 can be drawn; save the baseline with `--profile DIR --save {}` to have them",
                path.display(),
                path.display()
            ));
        };
        let report_dir = path.parent().unwrap_or(Path::new(""));
        let dir = report_dir.join(recorded);
        if !dir.is_dir() {
            return Err(format!(
                "the baseline `{}` records its profiles in `{}`, which is not a directory, so no \
                 differential flamegraph can be drawn; keep that directory beside the baseline, \
                 or save the baseline again with `--profile DIR --save {}`",
                path.display(),
                dir.display(),
                path.display()
            ));
        }
        Ok(BaselineProfiles {
            report: path.to_path_buf(),
            dir,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The baseline's CPU stacks of each scenario of `names` that has them; a warning for
    /// each that does not.
    pub fn differentials(&self, names: &[String]) -> (Vec<Differential>, Vec<String>) {
        let mut found = Vec::new();
        let mut warnings = Vec::new();
        for name in names {
            let path = self.dir.join(format!("{}.folded", file_stem(name)));
            let read = std::fs::read_to_string(&path)
                .map_err(|error| error.to_string())
                .and_then(|text| Folded::parse(&text));
            match read {
                Ok(baseline) => found.push(Differential {
                    name: name.clone(),
                    baseline,
                }),
                Err(error) => warnings.push(format!(
                    "no differential flamegraph for `{name}`: the baseline `{}` has no usable \
                     CPU stacks for it in `{}` ({error})",
                    self.report.display(),
                    path.display()
                )),
            }
        }
        (found, warnings)
    }
}

/// The differentials of `names` against profiles measured now (another revision's, with
/// `--compare-rev`).
pub fn differentials_from(baseline: &[ScenarioProfile], names: &[String]) -> Vec<Differential> {
    baseline
        .iter()
        .filter(|profile| names.contains(&profile.name))
        .map(|profile| Differential {
            name: profile.name.clone(),
            baseline: profile.cpu.stacks.clone(),
        })
        .collect()
}

/// What a run that profiles does: the text of the line it prints once the files are written.
pub fn summary(dir: &Path, written: &Written, scenarios: usize) -> String {
    let mut line = format!(
        "Profiles of {scenarios} scenario{} in {}: NAME.svg (CPU), NAME.alloc.txt and \
         NAME.alloc.svg (allocations), NAME.folded (stacks)",
        if scenarios == 1 { "" } else { "s" },
        dir.display()
    );
    if !written.differentials.is_empty() {
        line.push_str(&format!(
            "; differential flamegraphs: {}",
            written
                .differentials
                .iter()
                .map(|name| format!("{}.diff.svg", file_stem(name)))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    line
}
