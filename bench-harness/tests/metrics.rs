//! `send_command_metrics` records through catga's `metrics` feature into the Prometheus
//! recorder it installs: its figure is the cost of metrics that are really recorded. A binary
//! of its own, since the recorder is the process'.

use std::time::Duration;

use catga_bench::{RunOptions, builtin, run};

mod support;
use support::{serial, tool};

#[test]
fn send_command_metrics_records_every_send_into_the_prometheus_recorder() {
    let _turn = serial();
    let scenarios: Vec<_> = builtin::scenarios()
        .into_iter()
        .filter(|scenario| scenario.name() == "send_command_metrics")
        .collect();
    assert_eq!(
        scenarios.len(),
        1,
        "the `metrics` feature adds the scenario"
    );
    let options = RunOptions {
        duration: Duration::from_millis(200),
        warmup: Duration::from_millis(50),
        samples: 4,
        rate: None,
        quiet: true,
        batches: Default::default(),
    };
    let report = run(&scenarios, &options, tool()).unwrap();
    let scenario = report.scenario("send_command_metrics").unwrap();
    assert_eq!(scenario.samples.len(), 4);
    // The scenario's setup installed the recorder; this is the same one, holding its sends.
    let rendered = catga_ops::Prometheus::install().unwrap().render();
    let handled = rendered
        .lines()
        .find(|line| {
            line.starts_with("catga_messages_handled_total{") && line.contains("outcome=\"ok\"")
        })
        .unwrap_or_else(|| panic!("no handled count in:\n{rendered}"));
    let count: f64 = handled.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(
        count >= scenario.ops as f64,
        "every measured send is counted: {count} < {}",
        scenario.ops
    );
    assert!(rendered.contains("catga_message_handling_seconds_bucket{"));
}
