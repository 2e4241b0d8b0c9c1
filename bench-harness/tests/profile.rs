//! The profiling pass in this process, on a scenario whose work is in functions of its own:
//! its CPU stacks name them, its allocation sites count every allocation of the pass, and the
//! files `--profile` writes hold both, with a differential flamegraph when asked.
//!
//! Profiling and allocation counting are process-wide, so the tests of this binary take turns.

use std::hint::black_box;
use std::time::Duration;

use catga_bench::profile::{self, files};
use catga_bench::{Group, RunOptions, Scenario, Workload};

mod support;
use support::serial;

/// Work the CPU profile must show by name.
#[inline(never)]
fn profiled_spin(rounds: u64) -> u64 {
    let mut mixed = 0u64;
    for round in 0..rounds {
        mixed = black_box(mixed.rotate_left(5) ^ round.wrapping_mul(0x9e37_79b9));
    }
    mixed
}

/// One allocation of 7 × 8 bytes per call, which the sites must count exactly.
#[inline(never)]
fn profiled_allocation(length: usize) -> Vec<u64> {
    vec![1u64; length]
}

struct SpinAndAllocate;

impl Workload for SpinAndAllocate {
    async fn op(&self) -> catga::Result<()> {
        black_box(profiled_spin(black_box(20_000)));
        black_box(profiled_allocation(black_box(7)));
        Ok(())
    }
}

fn options() -> RunOptions {
    RunOptions {
        duration: Duration::from_millis(300),
        warmup: Duration::from_millis(20),
        samples: 1,
        rate: None,
        quiet: true,
        batches: Default::default(),
    }
}

#[test]
fn a_profile_names_the_scenarios_own_frames_and_counts_every_allocation() {
    let _turn = serial();
    let scenario = Scenario::new("spin_and_allocate", Group::Project, || async {
        SpinAndAllocate
    });
    let profiles = profile::run(&[scenario], &options()).unwrap();
    let [profiled] = &profiles[..] else {
        panic!("one profile per scenario: {profiles:?}");
    };
    assert_eq!(profiled.name, "spin_and_allocate");
    assert!(profiled.cpu.ops > 0 && profiled.cpu.stacks.total() > 0);
    assert!(
        profiled
            .cpu
            .stacks
            .stacks()
            // The frame's path is `profile::profiled_spin` with full debug info and
            // `profiled_spin` with line tables only (CI builds).
            .any(|(stack, _)| stack
                .split(';')
                .any(|frame| frame == "profiled_spin" || frame.ends_with("::profiled_spin"))),
        "{}",
        profiled.cpu.stacks.to_text()
    );
    assert!(
        !profiled
            .cpu
            .stacks
            .stacks()
            .any(|(stack, _)| stack.contains("perf_signal_handler")),
        "the profiler's own frames are cut"
    );

    let allocations = &profiled.allocations;
    assert!(allocations.ops > 0);
    let sites = allocations.sites();
    let site = sites
        .iter()
        .find(|site| site.site.ends_with("profiled_allocation"))
        .unwrap_or_else(|| panic!("{sites:?}"));
    assert_eq!(site.tally.count, allocations.ops, "one per operation");
    assert_eq!(site.tally.bytes, 56 * allocations.ops);
    assert_eq!(allocations.unplaced.count, 0);
    assert!(
        allocations
            .stacks
            .iter()
            .flat_map(|stack| &stack.frames)
            .all(|frame| !frame.contains("alloc_sites") && !frame.starts_with("backtrace::")),
        "the recorder's own frames are cut"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("profiles");
    // The same stacks as a baseline: a differential flamegraph with nothing changed.
    let differentials = files::differentials_from(&profiles, &["spin_and_allocate".to_owned()]);
    let written = files::write_dir(&out, &profiles, &differentials).unwrap();
    assert!(written.warnings.is_empty(), "{:?}", written.warnings);
    assert_eq!(written.differentials, ["spin_and_allocate"]);
    for file in [
        "spin_and_allocate.svg",
        "spin_and_allocate.folded",
        "spin_and_allocate.alloc.txt",
        "spin_and_allocate.alloc.svg",
        "spin_and_allocate.alloc.folded",
        "spin_and_allocate.diff.svg",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let folded = std::fs::read_to_string(out.join("spin_and_allocate.folded")).unwrap();
    assert_eq!(
        profile::folded::Folded::parse(&folded).unwrap(),
        profiled.cpu.stacks
    );
    let svg = std::fs::read_to_string(out.join("spin_and_allocate.svg")).unwrap();
    assert!(svg.contains("profiled_spin"));
    let table = std::fs::read_to_string(out.join("spin_and_allocate.alloc.txt")).unwrap();
    assert!(table.contains("profiled_allocation"), "{table}");
}

#[test]
fn profiles_travel_through_a_file_unchanged() {
    let _turn = serial();
    let scenario = Scenario::new("spin_and_allocate", Group::Project, || async {
        SpinAndAllocate
    });
    let options = RunOptions {
        duration: Duration::from_millis(50),
        ..options()
    };
    let profiles = profile::run(&[scenario], &options).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profiles.json");
    profile::save(&profiles, &path).unwrap();
    assert_eq!(profile::load(&path).unwrap(), profiles);
}
