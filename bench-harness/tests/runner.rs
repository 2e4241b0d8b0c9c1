//! The runner end to end on real scenarios, with short durations: what a report holds.
//!
//! Allocation counting is process-wide, so the tests of this binary take turns (`SERIAL`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use catga_bench::report::Report;
use catga_bench::{Group, RunOptions, Scenario, Workload, builtin, run};

mod support;
use support::{serial, tool};

fn quick() -> RunOptions {
    RunOptions {
        duration: Duration::from_millis(200),
        warmup: Duration::from_millis(50),
        samples: 4,
        rate: None,
        quiet: true,
        batches: Default::default(),
    }
}

fn pick(names: &[&str]) -> Vec<Scenario> {
    builtin::scenarios()
        .into_iter()
        .filter(|scenario| names.contains(&scenario.name()))
        .collect()
}

#[test]
fn a_run_reports_every_scenario_with_samples_histograms_and_ratios() {
    let _turn = serial();
    let scenarios = pick(&[
        "direct_call",
        "send_command",
        "boxed_dyn",
        "concurrent_send_10",
    ]);
    let report = run(&scenarios, &quick(), tool()).unwrap();
    assert_eq!(report.scenarios.len(), 4);
    assert!(report.timer_overhead_ns.is_finite() && report.timer_overhead_ns > 0.0);
    for scenario in &report.scenarios {
        assert_eq!(scenario.samples.len(), 4, "{}", scenario.name);
        assert!(scenario.ops >= 4 * 20, "{}", scenario.name);
        assert!(scenario.throughput_ops_s > 0.0);
        let latency = scenario.latency_ns;
        assert!(latency.min <= latency.p50 && latency.p50 <= latency.p99);
        assert!(latency.p99 <= latency.max);
        let histogram = scenario.decode_histogram().unwrap();
        assert_eq!(histogram.len(), scenario.ops, "{}", scenario.name);
        assert!(scenario.ratio_to_floor.is_some());
    }
    let direct = report.scenario("direct_call").unwrap();
    assert!(direct.batch > 1, "a few-ns call is timed in batches");
    assert_eq!(direct.ratio_to_floor, Some(1.0));
    let send = report.scenario("send_command").unwrap();
    assert_eq!(
        send.allocs_per_op, 0.0,
        "a send without behaviors allocates nothing"
    );
    let boxed = report.scenario("boxed_dyn").unwrap();
    assert!(
        boxed.allocs_per_op >= 0.99,
        "one box per call: {}",
        boxed.allocs_per_op
    );
    let concurrent = report.scenario("concurrent_send_10").unwrap();
    assert_eq!(concurrent.concurrency, 10);
    assert!(concurrent.batch >= 1);
}

#[test]
fn a_report_survives_a_save_and_load() {
    let _turn = serial();
    let report = run(&pick(&["send_query"]), &quick(), tool()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    report.save(&path).unwrap();
    assert_eq!(Report::load(&path).unwrap(), report);
}

#[test]
fn an_open_loop_run_never_runs_ahead_of_its_schedule() {
    let _turn = serial();
    let options = RunOptions {
        rate: Some(2000.0),
        ..quick()
    };
    let report = run(&pick(&["send_command"]), &options, tool()).unwrap();
    let send = report.scenario("send_command").unwrap();
    // The configured arrival rate, as the report records it: not a measured speed.
    assert_eq!(send.rate_ops_s, Some(2000.0));
    assert_eq!(send.batch, 1, "open-loop operations are due one at a time");
    // The schedule in its own terms, whatever the machine's speed: no operation is issued
    // before it is due, so a sample never holds more than its time allows at the rate.
    for sample in &send.samples {
        let elapsed_s = sample.ops as f64 / sample.throughput_ops_s;
        assert!(
            sample.ops as f64 <= 2000.0 * elapsed_s + 1.0,
            "{} operations in {elapsed_s} s ran ahead of 2000/s",
            sample.ops
        );
    }
    let histogram = send.decode_histogram().unwrap();
    assert_eq!(histogram.len(), send.ops, "one latency per operation");
}

/// Sleeps `SLOW_OP` per operation and counts the operations in flight, keeping the most.
struct Slow {
    in_flight: AtomicU64,
    most: Arc<AtomicU64>,
}

const SLOW_OP: Duration = Duration::from_millis(5);

impl Workload for Slow {
    async fn op(&self) -> catga::Result<()> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(SLOW_OP).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn an_open_loop_keeps_issuing_on_schedule_with_many_in_flight_up_to_its_bound() {
    let _turn = serial();
    let most = Arc::new(AtomicU64::new(0));
    let seen = Arc::clone(&most);
    // 1,000 ops/s of a 5 ms operation: one in flight could offer 200/s at most.
    let scenario = Scenario::new("slow", Group::Project, move || {
        let most = Arc::clone(&seen);
        async move {
            Slow {
                in_flight: AtomicU64::new(0),
                most,
            }
        }
    })
    .rate(1000.0)
    .concurrency(16);
    let report = run(&[scenario], &quick(), tool()).unwrap();
    let slow = report.scenario("slow").unwrap();
    let most = most.load(Ordering::SeqCst);
    assert!(
        (2..=16).contains(&most),
        "more than one in flight, never past the bound: {most}"
    );
    assert_eq!((slow.concurrency, slow.batch), (16, 1));
    // The configured arrival rate, as the report records it: not a measured speed.
    assert_eq!(slow.rate_ops_s, Some(1000.0));
    for sample in &slow.samples {
        let elapsed_s = sample.ops as f64 / sample.throughput_ops_s;
        assert!(
            sample.ops as f64 <= 1000.0 * elapsed_s + 1.0,
            "ahead of schedule"
        );
    }
    // Counted from when each operation was due, so never less than the operation itself.
    assert!(
        slow.latency_ns.min >= SLOW_OP.as_nanos() as f64 * 0.99,
        "{:?}",
        slow.latency_ns
    );
}

#[test]
fn every_builtin_scenario_runs() {
    let _turn = serial();
    let options = RunOptions {
        duration: Duration::from_millis(40),
        warmup: Duration::from_millis(10),
        samples: 2,
        ..quick()
    };
    let report = run(&builtin::scenarios(), &options, tool()).unwrap();
    assert_eq!(report.scenarios.len(), builtin::scenarios().len());
    let duplicate = report.scenario("idempotent_duplicate").unwrap();
    let first = report.scenario("idempotent_first").unwrap();
    assert!(first.allocs_per_op > duplicate.allocs_per_op * 0.5);
}

/// Counts its operations and teardowns; fails its operations once `fail_after` have run.
struct Counted {
    ops: Arc<AtomicU64>,
    teardowns: Arc<AtomicU64>,
    fail_after: u64,
}

impl Workload for Counted {
    async fn op(&self) -> catga::Result<()> {
        if self.ops.fetch_add(1, Ordering::Relaxed) >= self.fail_after {
            return Err(catga::Error::unavailable("the broker went away"));
        }
        Ok(())
    }

    async fn teardown(&self) {
        // On the run's runtime: a teardown may await.
        tokio::task::yield_now().await;
        self.teardowns.fetch_add(1, Ordering::Relaxed);
    }
}

fn counted(name: &str, fail_after: u64, teardowns: &Arc<AtomicU64>) -> Scenario {
    let teardowns = Arc::clone(teardowns);
    Scenario::new(name, Group::Project, move || {
        let teardowns = Arc::clone(&teardowns);
        async move {
            Counted {
                ops: Arc::new(AtomicU64::new(0)),
                teardowns,
                fail_after,
            }
        }
    })
}

#[test]
fn every_workload_set_up_is_torn_down_once_whether_the_run_finished_or_failed() {
    let _turn = serial();
    let teardowns = Arc::new(AtomicU64::new(0));
    let fine = [
        counted("first", u64::MAX, &teardowns),
        counted("second", u64::MAX, &teardowns),
    ];
    run(&fine, &quick(), tool()).unwrap();
    assert_eq!(teardowns.load(Ordering::Relaxed), 2);

    // The second fails in its warm-up; the third is never set up.
    teardowns.store(0, Ordering::Relaxed);
    let failing = [
        counted("first", u64::MAX, &teardowns),
        counted("failing", 3, &teardowns),
        counted("never_set_up", u64::MAX, &teardowns),
    ];
    let error = run(&failing, &quick(), tool()).unwrap_err();
    assert!(
        error.to_string().contains("`failing`") && error.to_string().contains("went away"),
        "{error}"
    );
    assert_eq!(teardowns.load(Ordering::Relaxed), 2);
}
