//! A real Prometheus server (Debian's `prometheus` package), started on a free loopback port,
//! scrapes a running service's `/metrics`, and its query API returns
//! `catga_messages_handled_total` with the count the service handled.
//!
//! Skipped, after one line saying so, when `prometheus` is not installed; with
//! `CATGA_REQUIRE_PROMETHEUS=1` (as `.ci/run` sets, after installing it) a missing server fails.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use catga::behavior::Metrics;
use catga::prelude::*;
use catga_ops::{Endpoints, Health, OpsServer, Prometheus};

use support::{PlaceOrder, PlaceOrderHandler, bounded, get};

/// Set to 1 to fail, rather than skip, when prometheus is missing.
const REQUIRE_PROMETHEUS: &str = "CATGA_REQUIRE_PROMETHEUS";

fn prometheus_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("prometheus"))
            .find(|candidate| candidate.is_file())
    });
    on_path.or_else(|| {
        let debian = PathBuf::from("/usr/bin/prometheus");
        debian.is_file().then_some(debian)
    })
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    listener.local_addr().expect("an address").port()
}

#[tokio::test]
async fn a_real_prometheus_scrapes_the_handled_count() {
    let Some(binary) = prometheus_binary() else {
        if std::env::var_os(REQUIRE_PROMETHEUS).is_some_and(|value| value == "1") {
            panic!("prometheus is not installed and {REQUIRE_PROMETHEUS}=1 is set");
        }
        eprintln!(
            "skipped a_real_prometheus_scrapes_the_handled_count: prometheus is not installed \
             (apt-get install prometheus)"
        );
        return;
    };

    let server = OpsServer::bind(
        "127.0.0.1:0",
        Endpoints::new(Health::new()).prometheus(Prometheus::install().expect("installs")),
    )
    .await
    .expect("binds");
    let service = server.local_addr().expect("an address");
    let serving = tokio::spawn(server.run());
    let mediator = Mediator::builder()
        .handler(PlaceOrderHandler)
        .behavior(Metrics::new())
        .build()
        .expect("builds");
    for order in 1..=5 {
        mediator.send(PlaceOrder { order }).await.expect("placed");
    }

    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: catga\n    static_configs:\n      \
             - targets: ['{service}']\n"
        ),
    )
    .expect("writes the config");
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("a log file");
    let mut prometheus = tokio::process::Command::new(&binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("the log again"))
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus starts");
    let api = std::net::SocketAddr::from(([127, 0, 0, 1], port));

    // `catga_messages_handled_total{message_type="PlaceOrder",outcome="ok"}`, URL-encoded.
    let query = "/api/v1/query?query=catga_messages_handled_total%7Bmessage_type%3D%22PlaceOrder%22%2Coutcome%3D%22ok%22%7D";
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if let Ok(Some(status)) = prometheus.try_wait() {
                return Err(format!("prometheus exited: {status}"));
            }
            if tokio::net::TcpStream::connect(api).await.is_err() {
                continue;
            }
            let (status, body) = bounded(10, get(api, query)).await;
            if status != 200 {
                continue;
            }
            let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
            if let Some(value) = answer["data"]["result"][0]["value"][1].as_str() {
                return Ok((value.to_string(), answer));
            }
        }
    })
    .await;
    serving.abort();
    let _ = prometheus.kill().await;
    let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
    let (value, answer) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(why)) => panic!("{why}; its log:\n{log}"),
        Err(_) => panic!("prometheus had no sample within 60 s; its log:\n{log}"),
    };
    assert_eq!(value, "5", "{answer}");
    assert_eq!(answer["data"]["result"][0]["metric"]["job"], "catga");
}
