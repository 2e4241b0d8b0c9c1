//! The NATS scenarios against a real nats-server (`catga_nats::testing::NatsServer`): short
//! runs whose reports must hold sane figures, and a broker that is not there.
//!
//! Allocation counting is process-wide, so the tests of this binary take turns (`SERIAL`).
#![cfg(feature = "nats")]

use std::time::Duration;

use catga_bench::builtin::nats::{
    self, HIGH_RATE, LOW_RATE, RATE_IN_FLIGHT, RAW_FLOOR, RAW_RATE_FLOOR, SATURATION_IN_FLIGHT,
    THROUGHPUT_IN_FLIGHT,
};
use catga_bench::{RunError, RunOptions, run};
use catga_nats::testing::NatsServer;
use futures_util::StreamExt;

mod support;
use support::{serial, tool};

/// True, after one line saying so, when nats-server is not installed: the test then returns.
/// With `CATGA_REQUIRE_NATS=1` (CI) a missing server fails the test instead.
fn no_nats_server(test: &str) -> bool {
    catga_nats::testing::skip_without_nats_server(test).expect("nats-server is required")
}

/// The runner makes its own tokio runtime, so the server lives on another one, which also
/// runs `after` once `test` is done.
fn with_server<T, F: Future<Output = ()>>(
    test: impl FnOnce(&str) -> T,
    after: impl FnOnce(String) -> F,
) -> T {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime for nats-server");
    let server = runtime
        .block_on(NatsServer::start())
        .unwrap_or_else(|error| panic!("cannot start nats-server: {error}"));
    let outcome = test(&server.url());
    runtime.block_on(after(server.url()));
    runtime.block_on(async move { drop(server) });
    outcome
}

/// What the scenarios left on the broker: consumers of their groups, and stored events.
async fn leftovers(url: String) {
    let client = async_nats::connect(&url).await.expect("connect");
    let jetstream = async_nats::jetstream::new(client);
    let mut events = jetstream
        .get_stream(catga_nats::EVENTS_STREAM)
        .await
        .expect("the events stream");
    let mut names = events.consumer_names();
    let mut consumers = Vec::new();
    while let Some(name) = names.next().await {
        consumers.push(name.expect("a consumer name"));
    }
    assert!(
        consumers.is_empty(),
        "teardown deletes the groups' consumers: {consumers:?}"
    );
    let stored = events.info().await.expect("stream info").state.messages;
    assert_eq!(stored, 0, "teardown purges the scenarios' events");
}

#[test]
fn the_nats_scenarios_report_publish_to_handled_latency() {
    if no_nats_server("the_nats_scenarios_report_publish_to_handled_latency") {
        return;
    }
    let _turn = serial();
    let report = with_server(
        |url| {
            let options = RunOptions {
                duration: Duration::from_millis(1200),
                warmup: Duration::from_millis(300),
                samples: 4,
                rate: None,
                quiet: true,
                batches: Default::default(),
            };
            let scenarios = nats::scenarios(url);
            run(&scenarios, &options, tool()).unwrap_or_else(|error| panic!("{error}"))
        },
        leftovers,
    );
    let names: Vec<&str> = report.scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            RAW_RATE_FLOOR,
            "nats_handled_rate_1k",
            "nats_handled_rate_2k",
            "nats_handled_saturation",
            RAW_FLOOR,
            "nats_consumer_throughput",
            "nats_inbox_throughput",
            "nats_outbox_inbox_throughput",
        ]
    );
    for scenario in &report.scenarios {
        let name = &scenario.name;
        let group = if name == RAW_FLOOR || name == RAW_RATE_FLOOR {
            "baseline"
        } else {
            "runtime"
        };
        assert_eq!(scenario.group, group, "{name}");
        assert_eq!(scenario.batch, 1, "{name}: a round trip is never batched");
        assert!(scenario.ops > 0, "{name}: no operation");
        assert_eq!(scenario.samples.len(), 4, "{name}");
        assert_eq!(
            scenario.samples.iter().map(|s| s.ops).sum::<u64>(),
            scenario.ops,
            "{name}: the samples add up to the total"
        );
        let histogram = scenario.decode_histogram().expect("the histogram decodes");
        assert_eq!(
            histogram.len(),
            scenario.ops,
            "{name}: one latency per operation"
        );
        let latency = &scenario.latency_ns;
        // A round trip through a broker (two TCP hops and a stored write) takes a microsecond
        // at least on any machine; the percentiles are ordered.
        assert!(
            latency.p50 > 1_000.0 && latency.p50 <= latency.p99 && latency.p99 <= latency.max,
            "{name}: {latency:?}"
        );
        assert!(scenario.throughput_ops_s > 0.0, "{name}");
    }
    let rate_of = |name: &str| {
        report
            .scenarios
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} is in the report"))
    };
    // The schedule, in its own terms: an open loop never issues an operation before it is
    // due, so no sample holds more operations than its time allowed at the rate (plus the
    // one due at its start). How many it managed depends on the machine, so it is not checked.
    for (name, rate) in [
        (RAW_RATE_FLOOR, LOW_RATE),
        ("nats_handled_rate_1k", LOW_RATE),
        ("nats_handled_rate_2k", HIGH_RATE),
    ] {
        let scenario = rate_of(name);
        // The arrival rate the report records is the one configured, not one measured.
        assert_eq!(scenario.rate_ops_s, Some(rate), "{name}");
        assert_eq!(
            scenario.concurrency, RATE_IN_FLIGHT,
            "{name}: the bound in flight"
        );
        for sample in &scenario.samples {
            let elapsed_s = sample.ops as f64 / sample.throughput_ops_s;
            assert!(
                sample.ops as f64 <= rate * elapsed_s + 1.0,
                "{name}: {} operations in {elapsed_s} s at {rate}/s ran ahead of the schedule",
                sample.ops
            );
        }
    }
    // At 1,000/s, the tail latency is measured against the raw round trip at the same rate.
    let handled = rate_of("nats_handled_rate_1k");
    assert_eq!(handled.p99_floor.as_deref(), Some(RAW_RATE_FLOOR));
    let ratio = handled.ratio_to_floor.expect("a ratio to the raw p99");
    let expected = handled.latency_ns.p99 / rate_of(RAW_RATE_FLOOR).latency_ns.p99;
    assert!(
        (ratio - expected).abs() < 1e-9 * expected,
        "p99 ratio {ratio} vs {expected}"
    );
    let saturation = rate_of("nats_handled_saturation");
    assert_eq!(saturation.concurrency, SATURATION_IN_FLIGHT);
    assert_eq!(saturation.rate_ops_s, None);
    // The throughput scenarios are measured against the raw floor of the same run.
    let floor = rate_of(RAW_FLOOR).throughput_ops_s;
    for name in [
        RAW_FLOOR,
        "nats_consumer_throughput",
        "nats_inbox_throughput",
        "nats_outbox_inbox_throughput",
    ] {
        let scenario = rate_of(name);
        assert_eq!(scenario.concurrency, THROUGHPUT_IN_FLIGHT, "{name}");
        assert_eq!(
            scenario.throughput_floor.as_deref(),
            Some(RAW_FLOOR),
            "{name}"
        );
        let ratio = scenario.ratio_to_floor.expect("a ratio to the floor");
        let expected = floor / scenario.throughput_ops_s;
        assert!(
            (ratio - expected).abs() < 1e-9 * expected,
            "{name}: {ratio} vs {expected}"
        );
    }
}

#[test]
fn a_broker_that_is_not_there_fails_the_run_naming_the_scenario_and_the_variable() {
    let _turn = serial();
    // A port nothing listens on: the connection is refused at once.
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port");
    let url = format!("nats://127.0.0.1:{port}");
    let options = RunOptions {
        duration: Duration::from_millis(100),
        warmup: Duration::from_millis(10),
        samples: 1,
        rate: None,
        quiet: true,
        batches: Default::default(),
    };
    let scenarios = nats::scenarios(&url);
    let error = run(&scenarios[..1], &options, tool()).expect_err("no broker there");
    let RunError::Operation { scenario, error } = &error else {
        panic!("an operation error, not {error}");
    };
    assert_eq!(scenario, RAW_RATE_FLOOR);
    let message = error.to_string();
    assert!(message.contains(&url), "names the URL: {message}");
    assert!(
        message.contains("CATGA_BENCH_NATS_URL"),
        "names the variable: {message}"
    );
}
