//! The scenarios `catga bench` runs: the runtime's own (group `runtime`) and the references
//! measured beside them (group `baseline`): a direct call of the handler (the floor), a
//! boxed-future `dyn` call, and a channel-actor round trip.
//!
//! Every handler does the same small piece of work, kept out of line so each variant pays for
//! one real call, as in `src-runtime/benches/dispatch.rs`.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use catga::behavior::{CircuitBreaker, Retry, Timeout, Tracing, Validation};
use catga::prelude::*;
use catga::saga::{MemorySagaStore, Saga, SagaRunner};
use catga_sqlite::SqliteSagaStore;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::scenario::{Group, Scenario, Workload};

#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "nats")]
pub mod nats;
mod outbox;

/// The environment variable that adds the NATS scenarios: the broker's URL.
pub const NATS_URL_VAR: &str = "CATGA_BENCH_NATS_URL";

/// Every built-in scenario, baselines first (so the floor is measured before the figures that
/// are ratios to it). The NATS scenarios (`nats_handled_*`, feature `nats`) come last, when
/// [`NATS_URL_VAR`] names a broker.
pub fn scenarios() -> Vec<Scenario> {
    let local = local_scenarios();
    #[cfg(feature = "nats")]
    if let Some(url) = nats_url() {
        return local.into_iter().chain(nats::scenarios(&url)).collect();
    }
    local
}

/// The broker [`NATS_URL_VAR`] names, if it is set and not empty.
pub fn nats_url() -> Option<String> {
    std::env::var(NATS_URL_VAR)
        .ok()
        .map(|url| url.trim().to_string())
        .filter(|url| !url.is_empty())
}

/// One line saying how to add the scenarios [`scenarios`] left out, if it left some out.
pub fn absent_note() -> Option<String> {
    if cfg!(feature = "nats") {
        if nats_url().is_some() {
            return None;
        }
        Some(format!(
            "the NATS scenarios (nats_handled_*) are left out: set {NATS_URL_VAR} to a \
             nats-server with JetStream (e.g. {NATS_URL_VAR}=nats://127.0.0.1:4222) to add them"
        ))
    } else {
        Some(
            "the NATS scenarios (nats_handled_*) are left out: this build of catga-bench lacks \
             its `nats` feature"
                .to_string(),
        )
    }
}

/// The scenarios that need nothing outside the process.
fn local_scenarios() -> Vec<Scenario> {
    let concurrent = |n: u32| {
        Scenario::new(format!("concurrent_send_{n}"), Group::Runtime, || async {
            SendCommand(mix_mediator())
        })
        .concurrency(n)
    };
    let scenarios = vec![
        Scenario::new("direct_call", Group::Baseline, || async {
            DirectCall(Context::new(MessageId::next()))
        }),
        Scenario::new("boxed_dyn", Group::Baseline, || async {
            BoxedDyn(Box::new(MixHandler))
        }),
        Scenario::new("channel_actor", Group::Baseline, || async {
            ChannelActor::spawn()
        }),
        Scenario::new("send_command", Group::Runtime, || async {
            SendCommand(mix_mediator())
        }),
        Scenario::new("send_query", Group::Runtime, || async {
            SendQuery(mix_mediator())
        }),
        Scenario::new("publish_1", Group::Runtime, || async {
            Publish(publisher(1))
        }),
        Scenario::new("publish_10", Group::Runtime, || async {
            Publish(publisher(10))
        }),
        Scenario::new("pipeline_5_behaviors", Group::Runtime, || async {
            SendCommand(five_behaviors())
        }),
        Scenario::new("send_batch_100", Group::Runtime, || async {
            SendBatch(mix_mediator())
        }),
        Scenario::new("idempotent_first", Group::Runtime, || async {
            IdempotentFirst::new()
        }),
        Scenario::new("idempotent_duplicate", Group::Runtime, || async {
            IdempotentDuplicate(idempotent_mediator())
        }),
        Scenario::new("saga_3_steps_memory", Group::Runtime, || async {
            SagaMemory::new()
        }),
        Scenario::new("saga_3_steps_sqlite", Group::Runtime, || async {
            SagaSqlite::open().await
        }),
        Scenario::new("outbox_send", Group::Runtime, || async {
            outbox::OutboxSend::open().await
        }),
        Scenario::new("outbox_flush_100", Group::Runtime, || async {
            outbox::OutboxFlush::open().await
        }),
        concurrent(10),
        concurrent(100),
        concurrent(1000),
    ];
    #[cfg(feature = "metrics")]
    let scenarios = metrics::beside_send(scenarios);
    scenarios
}

/// The handlers' work.
#[inline(never)]
fn mix(x: u64) -> u64 {
    (x ^ (x >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[derive(Debug, Clone, Command)]
#[command(response = u64)]
struct Mix(u64);

#[derive(Debug, Clone, Query)]
#[query(response = u64)]
struct Lookup(u64);

#[derive(Debug, Clone, Event)]
struct Mixed(u64);

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u64, idempotent)]
struct Deposit {
    #[idempotency_key]
    id: u64,
    cents: u64,
}

struct MixHandler;

impl Handler<Mix> for MixHandler {
    async fn handle(&self, cmd: Mix, _ctx: &Context) -> catga::Result<u64> {
        Ok(mix(cmd.0))
    }
}

impl Handler<Lookup> for MixHandler {
    async fn handle(&self, query: Lookup, _ctx: &Context) -> catga::Result<u64> {
        Ok(mix(query.0))
    }
}

impl EventHandler<Mixed> for MixHandler {
    async fn handle(&self, event: &Mixed, _ctx: &Context) -> catga::Result<()> {
        black_box(mix(event.0));
        Ok(())
    }
}

impl Handler<Deposit> for MixHandler {
    async fn handle(&self, cmd: Deposit, _ctx: &Context) -> catga::Result<u64> {
        Ok(mix(cmd.cents))
    }
}

fn mix_mediator() -> Mediator {
    Mediator::builder()
        .handler::<Mix, _>(MixHandler)
        .handler::<Lookup, _>(MixHandler)
        .build()
        .expect("one handler per request type")
}

fn publisher(handlers: usize) -> Mediator {
    (0..handlers)
        .fold(Mediator::builder(), |builder, _| {
            builder.event_handler::<Mixed, _>(MixHandler)
        })
        .build()
        .expect("event handlers only")
}

fn five_behaviors() -> Mediator {
    Mediator::builder()
        .handler::<Mix, _>(MixHandler)
        .behavior(Tracing)
        .behavior(Validation)
        .behavior(Retry::exponential(3))
        .behavior(Timeout::after(Duration::from_secs(5)))
        .behavior(CircuitBreaker::new(5, Duration::from_secs(30)))
        .build()
        .expect("one handler")
}

fn idempotent_mediator() -> Mediator {
    Mediator::builder()
        .handler::<Deposit, _>(MixHandler)
        .build()
        .expect("one handler")
}

/// The floor: the handler called directly, with a context made once.
struct DirectCall(Context);

impl Workload for DirectCall {
    async fn op(&self) -> catga::Result<()> {
        let answer = Handler::handle(black_box(&MixHandler), Mix(black_box(7)), &self.0).await?;
        black_box(answer);
        Ok(())
    }
}

/// What `#[async_trait]` compiles to: a `dyn` call returning a boxed future.
trait BoxedHandler: Send + Sync {
    fn handle(&self, cmd: Mix) -> Pin<Box<dyn Future<Output = catga::Result<u64>> + Send + '_>>;
}

impl BoxedHandler for MixHandler {
    fn handle(&self, cmd: Mix) -> Pin<Box<dyn Future<Output = catga::Result<u64>> + Send + '_>> {
        Box::pin(async move { Ok(mix(cmd.0)) })
    }
}

struct BoxedDyn(Box<dyn BoxedHandler>);

impl Workload for BoxedDyn {
    async fn op(&self) -> catga::Result<()> {
        black_box(black_box(&self.0).handle(Mix(black_box(7))).await?);
        Ok(())
    }
}

/// A request over a tokio mpsc channel to an actor task, the reply over a oneshot.
struct ChannelActor {
    requests: mpsc::Sender<(Mix, oneshot::Sender<u64>)>,
}

impl ChannelActor {
    /// Spawns the actor on the harness's runtime (setups run inside it).
    fn spawn() -> ChannelActor {
        let (requests, mut inbox) = mpsc::channel::<(Mix, oneshot::Sender<u64>)>(64);
        tokio::spawn(async move {
            while let Some((cmd, reply)) = inbox.recv().await {
                let _ = reply.send(mix(cmd.0));
            }
        });
        ChannelActor { requests }
    }
}

impl Workload for ChannelActor {
    async fn op(&self) -> catga::Result<()> {
        let gone = || catga::Error::unavailable("the actor task stopped");
        let (reply, answer) = oneshot::channel();
        self.requests
            .send((Mix(black_box(7)), reply))
            .await
            .map_err(|_| gone())?;
        black_box(answer.await.map_err(|_| gone())?);
        Ok(())
    }
}

struct SendCommand(Mediator);

impl Workload for SendCommand {
    async fn op(&self) -> catga::Result<()> {
        black_box(self.0.send(Mix(black_box(7))).await?);
        Ok(())
    }
}

struct SendQuery(Mediator);

impl Workload for SendQuery {
    async fn op(&self) -> catga::Result<()> {
        black_box(self.0.send(Lookup(black_box(7))).await?);
        Ok(())
    }
}

struct Publish(Mediator);

impl Workload for Publish {
    async fn op(&self) -> catga::Result<()> {
        self.0.publish(Mixed(black_box(7))).await
    }
}

/// One operation is a batch of 100 sends.
struct SendBatch(Mediator);

impl Workload for SendBatch {
    async fn op(&self) -> catga::Result<()> {
        for answer in self.0.send_batch((0..100).map(Mix)).await {
            black_box(answer?);
        }
        Ok(())
    }
}

/// Every operation a new key: the handler runs and its response is stored. The mediator, and
/// so its record store, is replaced between samples so memory stays flat.
struct IdempotentFirst {
    mediator: RwLock<Mediator>,
    next_key: AtomicU64,
}

impl IdempotentFirst {
    fn new() -> IdempotentFirst {
        IdempotentFirst {
            mediator: RwLock::new(idempotent_mediator()),
            next_key: AtomicU64::new(0),
        }
    }
}

impl Workload for IdempotentFirst {
    async fn op(&self) -> catga::Result<()> {
        let mediator = self
            .mediator
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let id = self.next_key.fetch_add(1, Ordering::Relaxed);
        black_box(mediator.send(Deposit { id, cents: 5 }).await?);
        Ok(())
    }

    fn between_samples(&self) {
        *self
            .mediator
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = idempotent_mediator();
    }
}

/// The same key every time: after the first, each send is answered from the stored record.
struct IdempotentDuplicate(Mediator);

impl Workload for IdempotentDuplicate {
    async fn op(&self) -> catga::Result<()> {
        black_box(self.0.send(Deposit { id: 1, cents: 5 }).await?);
        Ok(())
    }
}

/// Three steps that each record what they did; nothing fails, nothing is compensated.
struct Transfer;

#[derive(Debug, Serialize, Deserialize)]
struct TransferState {
    amount_cents: u64,
    steps_done: u8,
}

impl Saga for Transfer {
    type State = TransferState;
    const NAME: &'static str = "bench_transfer";
    const STEPS: &'static [&'static str] = &["debit", "credit", "notify"];

    async fn execute(
        &self,
        step: usize,
        state: &mut TransferState,
        _ctx: &Context,
    ) -> catga::Result<()> {
        state.steps_done = step as u8 + 1;
        black_box(mix(state.amount_cents));
        Ok(())
    }

    async fn compensate(
        &self,
        step: usize,
        state: &mut TransferState,
        _ctx: &Context,
    ) -> catga::Result<()> {
        state.steps_done = step as u8;
        Ok(())
    }
}

/// Starts one saga instance per operation, under a new id.
async fn start_transfer(runner: &SagaRunner, next_id: &AtomicU64) -> catga::Result<()> {
    let id = next_id.fetch_add(1, Ordering::Relaxed).to_string();
    let state = TransferState {
        amount_cents: 500,
        steps_done: 0,
    };
    let ctx = Context::new(MessageId::next());
    black_box(runner.start(&Transfer, &id, state, &ctx).await?);
    Ok(())
}

/// A 3-step saga on the in-memory store, replaced between samples so memory stays flat.
struct SagaMemory {
    runner: RwLock<SagaRunner>,
    next_id: AtomicU64,
}

impl SagaMemory {
    fn new() -> SagaMemory {
        SagaMemory {
            runner: RwLock::new(SagaRunner::new(MemorySagaStore::new())),
            next_id: AtomicU64::new(0),
        }
    }
}

impl Workload for SagaMemory {
    async fn op(&self) -> catga::Result<()> {
        let runner = self
            .runner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        start_transfer(&runner, &self.next_id).await
    }

    fn between_samples(&self) {
        *self
            .runner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            SagaRunner::new(MemorySagaStore::new());
    }
}

/// A temporary directory for a scenario's SQLite file, removed at the end of the run.
///
/// It lives in memory (`/dev/shm`) where there is one: the SQLite scenarios measure what the
/// store costs catga (encoding, SQL, the hop to the store's thread), not the host disk, whose
/// sync latency swings with other tenants' I/O by half between runs.
fn scratch_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().expect("a temporary directory for the scenario's database")
}

/// A 3-step saga on the SQLite store, in a scratch file.
struct SagaSqlite {
    runner: SagaRunner,
    next_id: AtomicU64,
    _dir: tempfile::TempDir,
}

impl SagaSqlite {
    async fn open() -> SagaSqlite {
        let dir = scratch_dir();
        let store = SqliteSagaStore::open(dir.path().join("sagas.db"))
            .await
            .expect("a new SQLite database in a fresh temporary directory");
        SagaSqlite {
            runner: SagaRunner::new(store),
            next_id: AtomicU64::new(0),
            _dir: dir,
        }
    }
}

impl Workload for SagaSqlite {
    async fn op(&self) -> catga::Result<()> {
        start_transfer(&self.runner, &self.next_id).await
    }
}
