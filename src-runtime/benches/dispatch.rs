//! Dispatch cost of the mediator, side by side with its references in one run:
//!
//! - `send`: a direct call of the handler (the floor), `Mediator::send` without behaviors, a
//!   boxed-future `dyn` dispatch, and a tokio mpsc + oneshot channel-actor round trip; then the
//!   same direct call and send for a handler whose future is 512 bytes (like a database call),
//!   larger than [`INLINE_FUTURE_BYTES`](catga::INLINE_FUTURE_BYTES);
//! - `publish`: one event to 1 and to 10 handlers;
//! - `pipeline`: a bare send against a send through 5 behaviors.
//!
//! Each sample awaits many sends inside one async block (`iter_custom`), so the executor's
//! per-`block_on` overhead is not part of the figure.
//!
//! Run: `cargo bench -p catga --bench dispatch -- --warm-up-time 1 --measurement-time 3`

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::time::{Duration, Instant};

use catga::prelude::*;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone, Command)]
#[command(response = u64)]
struct Mix(u64);

#[derive(Debug, Clone, Event)]
struct Mixed(u64);

/// The handler's work, kept out of line so every variant pays for one real call.
#[inline(never)]
fn mix(x: u64) -> u64 {
    (x ^ (x >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

struct MixHandler;

impl Handler<Mix> for MixHandler {
    async fn handle(&self, cmd: Mix, _ctx: &Context) -> catga::Result<u64> {
        Ok(mix(cmd.0))
    }
}

impl EventHandler<Mixed> for MixHandler {
    async fn handle(&self, event: &Mixed, _ctx: &Context) -> catga::Result<()> {
        black_box(mix(event.0));
        Ok(())
    }
}

#[derive(Debug, Clone, Command)]
#[command(response = u64)]
struct Scan(u64);

/// A handler whose future is [`LARGE_FUTURE_BYTES`]: it holds a buffer across an await, as a
/// database call holds its connection and rows.
struct ScanHandler;

/// The size of [`ScanHandler`]'s future, checked when the bench starts.
const LARGE_FUTURE_BYTES: usize = 512;

impl Handler<Scan> for ScanHandler {
    async fn handle(&self, cmd: Scan, _ctx: &Context) -> catga::Result<u64> {
        let rows = [cmd.0; 62];
        std::future::ready(()).await;
        Ok(mix(black_box(&rows).iter().fold(0, |acc, row| acc ^ row)))
    }
}

/// The boxed-future `dyn` reference: what `#[async_trait]` compiles to.
trait BoxedHandler: Send + Sync {
    fn handle(&self, cmd: Mix) -> Pin<Box<dyn Future<Output = catga::Result<u64>> + Send + '_>>;
}

impl BoxedHandler for MixHandler {
    fn handle(&self, cmd: Mix) -> Pin<Box<dyn Future<Output = catga::Result<u64>> + Send + '_>> {
        Box::pin(async move { Ok(mix(cmd.0)) })
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("tokio runtime")
}

/// Times `iters` sequential awaits of `op` inside one async block.
fn time_loop<F, Fut>(runtime: &Runtime, iters: u64, mut op: F) -> Duration
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    runtime.block_on(async {
        let start = Instant::now();
        for i in 0..iters {
            op(i).await;
        }
        start.elapsed()
    })
}

fn send(c: &mut Criterion) {
    let rt = runtime();
    let handler = MixHandler;
    let mediator = Mediator::builder()
        .handler(MixHandler)
        .handler(ScanHandler)
        .build()
        .expect("mediator");
    let boxed: Box<dyn BoxedHandler> = Box::new(MixHandler);
    let ctx = Context::new(MessageId::next());
    let (actor_tx, mut actor_rx) = mpsc::channel::<(Mix, oneshot::Sender<catga::Result<u64>>)>(64);
    rt.spawn(async move {
        while let Some((cmd, reply)) = actor_rx.recv().await {
            let _ = reply.send(Ok(mix(cmd.0)));
        }
    });

    let mut group = c.benchmark_group("send");
    group.bench_function("direct_call", |b| {
        b.iter_custom(|iters| {
            time_loop(&rt, iters, |i| {
                let handler = black_box(&handler);
                let ctx = &ctx;
                async move {
                    black_box(Handler::handle(handler, Mix(i), ctx).await.ok());
                }
            })
        })
    });
    group.bench_function("mediator_send", |b| {
        b.iter_custom(|iters| {
            time_loop(&rt, iters, |i| {
                let mediator = black_box(&mediator);
                async move {
                    black_box(mediator.send(Mix(i)).await.ok());
                }
            })
        })
    });
    group.bench_function("boxed_dyn", |b| {
        b.iter_custom(|iters| {
            time_loop(&rt, iters, |i| {
                let boxed = black_box(&boxed);
                async move {
                    black_box(boxed.handle(Mix(i)).await.ok());
                }
            })
        })
    });
    group.bench_function("channel_actor", |b| {
        b.iter_custom(|iters| {
            time_loop(&rt, iters, |i| {
                let actor_tx = &actor_tx;
                async move {
                    let (reply_tx, reply_rx) = oneshot::channel();
                    if actor_tx.send((Mix(i), reply_tx)).await.is_ok() {
                        black_box(reply_rx.await.ok());
                    }
                }
            })
        })
    });
    let large_future = std::mem::size_of_val(&Handler::handle(&ScanHandler, Scan(0), &ctx));
    assert!(
        large_future >= LARGE_FUTURE_BYTES,
        "ScanHandler's future is {large_future} bytes, expected at least {LARGE_FUTURE_BYTES}"
    );
    group.bench_function("direct_call_512b", |b| {
        b.iter_custom(|iters| {
            time_loop(&rt, iters, |i| {
                let handler = black_box(&ScanHandler);
                let ctx = &ctx;
                async move {
                    black_box(Handler::handle(handler, Scan(i), ctx).await.ok());
                }
            })
        })
    });
    group.bench_function("mediator_send_512b", |b| {
        b.iter_custom(|iters| {
            time_loop(&rt, iters, |i| {
                let mediator = black_box(&mediator);
                async move {
                    black_box(mediator.send(Scan(i)).await.ok());
                }
            })
        })
    });
    group.finish();
}

fn publish(c: &mut Criterion) {
    let rt = runtime();
    let one = Mediator::builder()
        .event_handler(MixHandler)
        .build()
        .expect("mediator");
    let ten = (0..10)
        .fold(Mediator::builder(), |builder, _| {
            builder.event_handler(MixHandler)
        })
        .build()
        .expect("mediator");

    let mut group = c.benchmark_group("publish");
    for (name, mediator) in [("one_handler", &one), ("ten_handlers", &ten)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                time_loop(&rt, iters, |i| {
                    let mediator = black_box(mediator);
                    async move {
                        black_box(mediator.publish(Mixed(i)).await.ok());
                    }
                })
            })
        });
    }
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let rt = runtime();
    let bare = Mediator::builder()
        .handler(MixHandler)
        .build()
        .expect("mediator");
    let five = Mediator::builder()
        .handler(MixHandler)
        .behavior(Tracing)
        .behavior(Validation)
        .behavior(Retry::exponential(3))
        .behavior(Timeout::after(Duration::from_secs(5)))
        .behavior(CircuitBreaker::new(5, Duration::from_secs(30)))
        .build()
        .expect("mediator");

    let mut group = c.benchmark_group("pipeline");
    for (name, mediator) in [("bare_send", &bare), ("five_behaviors", &five)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                time_loop(&rt, iters, |i| {
                    let mediator = black_box(mediator);
                    async move {
                        black_box(mediator.send(Mix(i)).await.ok());
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, send, publish, pipeline);
criterion_main!(benches);
