//! The NATS scenarios against a real nats-server (`catga_nats::testing::NatsServer`): short
//! runs whose reports must hold sane figures, and a broker that is not there.
//!
//! Allocation counting is process-wide, so the tests of this binary take turns (`SERIAL`).
#![cfg(feature = "nats")]

use std::time::{Duration, Instant};

use catga_bench::builtin::nats::{self, HIGH_RATE, LOW_RATE, SATURATION_IN_FLIGHT};
use catga_bench::{RunError, RunOptions, run};
use catga_nats::testing::NatsServer;
use futures_util::StreamExt;

mod support;
use support::{serial, tool};

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
    let _turn = serial();
    let started = Instant::now();
    let report = with_server(
        |url| {
            let options = RunOptions {
                duration: Duration::from_millis(1200),
                warmup: Duration::from_millis(300),
                samples: 4,
                rate: None,
                quiet: true,
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
            "nats_handled_rate_1k",
            "nats_handled_rate_2k",
            "nats_handled_saturation"
        ]
    );
    for scenario in &report.scenarios {
        let name = &scenario.name;
        assert_eq!(scenario.group, "runtime", "{name}");
        assert_eq!(scenario.batch, 1, "{name}: a round trip is never batched");
        assert!(scenario.ops > 0, "{name}: no operation");
        assert_eq!(scenario.samples.len(), 4, "{name}");
        let latency = &scenario.latency_ns;
        // A round trip through a broker takes microseconds at least, and far less than the
        // operation's 10 s timeout.
        assert!(
            latency.p50 > 1_000.0 && latency.p50 <= latency.p99 && latency.p99 < 5e9,
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
    // The low rate is well within what one in flight sustains: throughput is the rate.
    let low = rate_of("nats_handled_rate_1k");
    assert_eq!(low.rate_ops_s, Some(LOW_RATE));
    assert!(
        (0.8 * LOW_RATE..=1.05 * LOW_RATE).contains(&low.throughput_ops_s),
        "nats_handled_rate_1k ran at {} ops/s",
        low.throughput_ops_s
    );
    let high = rate_of("nats_handled_rate_2k");
    assert_eq!(high.rate_ops_s, Some(HIGH_RATE));
    assert!(
        high.throughput_ops_s <= 1.05 * HIGH_RATE,
        "an open loop never runs ahead of its rate: {} ops/s",
        high.throughput_ops_s
    );
    let saturation = rate_of("nats_handled_saturation");
    assert_eq!(saturation.concurrency, SATURATION_IN_FLIGHT);
    assert_eq!(saturation.rate_ops_s, None);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
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
    };
    let scenarios = nats::scenarios(&url);
    let started = Instant::now();
    let error = run(&scenarios[..1], &options, tool()).expect_err("no broker there");
    let RunError::Operation { scenario, error } = &error else {
        panic!("an operation error, not {error}");
    };
    assert_eq!(scenario, "nats_handled_rate_1k");
    let message = error.to_string();
    assert!(message.contains(&url), "names the URL: {message}");
    assert!(
        message.contains("CATGA_BENCH_NATS_URL"),
        "names the variable: {message}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}
