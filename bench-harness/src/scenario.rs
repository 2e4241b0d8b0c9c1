//! What to measure: a [`Scenario`] is a plain value (name, group, setup, operation,
//! concurrency, optional target rate). The operation is a [`Workload`]: state built once by the
//! setup, and an `async fn op(&self)` the runner calls in a loop.
//!
//! ```
//! use catga::prelude::*;
//! use catga_bench::{Group, Scenario, Workload};
//!
//! #[derive(Debug, Clone, Command)]
//! #[command(response = u64)]
//! struct Ping;
//!
//! struct PingHandler;
//! impl Handler<Ping> for PingHandler {
//!     async fn handle(&self, _cmd: Ping, _ctx: &Context) -> catga::Result<u64> {
//!         Ok(1)
//!     }
//! }
//!
//! struct SendPing(Mediator);
//! impl Workload for SendPing {
//!     async fn op(&self) -> catga::Result<()> {
//!         self.0.send(Ping).await.map(drop)
//!     }
//! }
//!
//! let scenario = Scenario::new("send_ping", Group::Project, || async {
//!     SendPing(Mediator::builder().handler(PingHandler).build().expect("one handler"))
//! });
//! assert_eq!(scenario.name(), "send_ping");
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::runner::Driver;

/// The operation a scenario measures, with the state it needs.
pub trait Workload: Send + Sync + 'static {
    /// One operation. An error stops the scenario and is reported with its name.
    fn op(&self) -> impl Future<Output = catga::Result<()>> + Send + '_;

    /// Called between samples, outside the measured time: drop state that grows with every
    /// operation (stored idempotency records, finished saga instances).
    fn between_samples(&self) {}

    /// Called once at the end of the run, on the run's tokio runtime, whether the run finished
    /// or stopped on an error: remove what the setup left outside the process (a broker's
    /// consumers and stored messages). It cannot fail the run; do what can be done, within a
    /// bound of your own.
    fn teardown(&self) -> impl Future<Output = ()> + Send + '_ {
        async {}
    }
}

/// Who a scenario measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// The catga runtime.
    Runtime,
    /// A reference implementation measured in the same run (the direct call is the floor).
    Baseline,
    /// A user's own scenario.
    Project,
}

impl Group {
    /// `runtime`, `baseline` or `project`, as reports name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Runtime => "runtime",
            Group::Baseline => "baseline",
            Group::Project => "project",
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Builds a scenario's driver: runs the setup and wraps its workload.
pub(crate) type Setup = Arc<dyn Fn() -> BoxFuture<Box<dyn Driver>> + Send + Sync>;

/// One thing to measure.
#[derive(Clone)]
pub struct Scenario {
    name: String,
    group: Group,
    concurrency: u32,
    rate: Option<f64>,
    floor: Option<Floor>,
    setup: Setup,
}

/// What a scenario's `x floor` compares it with, when not `direct_call`'s p50: another scenario
/// of the run, for work bound by something other than the CPU (a broker, say, whose own speed
/// is the floor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// `x floor` is the named scenario's throughput over this one's.
    Throughput(&'static str),
    /// `x floor` is this one's p99 latency over the named scenario's (run at the same rate).
    P99(&'static str),
}

impl Scenario {
    /// A scenario named `name` whose `setup` builds the workload, run one operation at a time.
    ///
    /// Names are what `--scenario GLOB` matches and what reports are compared by: keep them
    /// stable, in `snake_case`.
    pub fn new<W, F, Fut>(name: impl Into<String>, group: Group, setup: F) -> Scenario
    where
        W: Workload,
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = W> + Send + 'static,
    {
        let setup = Arc::new(setup);
        Scenario {
            name: name.into(),
            group,
            concurrency: 1,
            rate: None,
            floor: None,
            setup: Arc::new(move || {
                let workload = setup();
                Box::pin(async move {
                    let driver: Box<dyn Driver> = Box::new(crate::runner::driver(workload.await));
                    driver
                })
            }),
        }
    }

    /// Keeps `concurrency` operations in flight (closed loop, on a multi-threaded runtime); with
    /// [`Scenario::rate`], the most operations in flight the open loop may reach.
    pub fn concurrency(mut self, concurrency: u32) -> Scenario {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Issues operations at `ops_per_second` (open loop) rather than back to back; latencies
    /// are then counted from when each operation was due, correcting for coordinated omission.
    /// Operations are issued on schedule whatever their latency, with up to
    /// [`Scenario::concurrency`] of them in flight (1 unless set): set it to offer a rate
    /// above one over the latency.
    pub fn rate(mut self, ops_per_second: f64) -> Scenario {
        self.rate = Some(ops_per_second);
        self
    }

    /// Compares the scenario with `floor`, another scenario of the run, by throughput rather
    /// than with `direct_call` by latency: its `x floor` becomes the floor's throughput over
    /// its own.
    pub fn throughput_floor(mut self, floor: &'static str) -> Scenario {
        self.floor = Some(Floor::Throughput(floor));
        self
    }

    /// Compares the scenario with `floor`, another scenario of the run at the same rate, by
    /// tail latency: its `x floor` becomes its p99 over the floor's.
    pub fn p99_floor(mut self, floor: &'static str) -> Scenario {
        self.floor = Some(Floor::P99(floor));
        self
    }

    /// What this scenario's `x floor` compares it with, if not `direct_call`'s latency.
    pub fn floor(&self) -> Option<Floor> {
        self.floor
    }

    /// The scenario's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scenario's group.
    pub fn group(&self) -> Group {
        self.group
    }

    /// Operations in flight at once.
    pub fn in_flight(&self) -> u32 {
        self.concurrency
    }

    /// The scenario's own open-loop rate, if it has one.
    pub fn target_rate(&self) -> Option<f64> {
        self.rate
    }

    pub(crate) fn setup(&self) -> &Setup {
        &self.setup
    }
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .field("group", &self.group)
            .field("concurrency", &self.concurrency)
            .field("rate", &self.rate)
            .finish_non_exhaustive()
    }
}
