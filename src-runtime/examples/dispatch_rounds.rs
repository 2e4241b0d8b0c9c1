//! Dispatch primitives timed round by round in one process, to tell the host's slow periods
//! from the runtime's own cost: the direct handler call, a `dyn` call, a `TypeId` map lookup, a
//! thread-local access, `catch_unwind`, a boxed-future `dyn` call, and `Mediator::send`; and
//! pieces of a send: the lookup with the mediator's pass-through hasher (`idlookup`) and a
//! fresh `Context` (`context`).
//!
//! On a shared virtual machine the criterion ratio `send / direct_call` swings between runs;
//! these rows show the swing is the machine's: in a slow period every dynamic call (a bare
//! `dyn` call, a boxed future) slows down by about the same factor as `send`, while the
//! statically dispatched direct call barely moves, and the period can start or end inside one
//! process. (`lookup` uses std's default SipHash map, not the mediator's pass-through hasher.)
//!
//! Run: `cargo run --release -p catga --example dispatch_rounds -- [OPS_PER_ROW] [ROWS]`

use catga::prelude::*;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::time::Instant;

#[derive(Debug, Clone, Command)]
#[command(response = u64)]
struct Mix(u64);

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

/// A `dyn` handler: a plain call and a boxed future, like `#[async_trait]`.
trait DynMix {
    fn call(&self, x: u64) -> u64;
    fn fut(&self, x: u64) -> Pin<Box<dyn Future<Output = u64> + Send + '_>>;
}
impl DynMix for MixHandler {
    fn call(&self, x: u64) -> u64 {
        mix(x)
    }
    fn fut(&self, x: u64) -> Pin<Box<dyn Future<Output = u64> + Send + '_>> {
        Box::pin(async move { mix(x) })
    }
}

/// The mediator's own `TypeId` hasher: the id's bits are the hash.
#[derive(Default)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write_u64(&mut self, value: u64) {
        self.0 ^= value;
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

thread_local! {
    static COUNTER: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mediator = Mediator::builder().handler(MixHandler).build().unwrap();
    let handler = MixHandler;
    let dynh: Box<dyn DynMix> = Box::new(MixHandler);
    let ctx = Context::new(MessageId::next());
    let mut map: HashMap<TypeId, Box<dyn Any>> = HashMap::new();
    map.insert(TypeId::of::<u32>(), Box::new(1u64));
    map.insert(TypeId::of::<u64>(), Box::new(2u64));
    let mut fast_map: HashMap<TypeId, Box<dyn Any>, std::hash::BuildHasherDefault<PassThrough>> =
        HashMap::default();
    fast_map.insert(TypeId::of::<u32>(), Box::new(1u64));
    fast_map.insert(TypeId::of::<u64>(), Box::new(2u64));
    let n: u64 = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().unwrap());
    let rounds: u32 = std::env::args().nth(2).map_or(8, |a| a.parse().unwrap());
    rt.block_on(async {
        for _ in 0..rounds {
            let mut line = String::new();
            macro_rules! time {
                ($label:literal, $body:expr) => {{
                    let start = Instant::now();
                    for i in 0..n {
                        let i = black_box(i);
                        black_box($body(i));
                    }
                    line.push_str(&format!(
                        "{} {:5.1} ",
                        $label,
                        start.elapsed().as_nanos() as f64 / n as f64
                    ));
                }};
            }
            let start = Instant::now();
            for i in 0..n {
                black_box(
                    Handler::handle(black_box(&handler), Mix(i), &ctx)
                        .await
                        .ok(),
                );
            }
            line.push_str(&format!(
                "direct {:5.1} ",
                start.elapsed().as_nanos() as f64 / n as f64
            ));
            time!("dyncall", |i| black_box(&dynh).call(i));
            time!("lookup", |_i| black_box(&map)
                .get(&TypeId::of::<u64>())
                .and_then(|b| b.downcast_ref::<u64>())
                .copied());
            time!("idlookup", |_i| black_box(&fast_map)
                .get(&TypeId::of::<u64>())
                .and_then(|b| b.downcast_ref::<u64>())
                .copied());
            time!("context", |_i| Context::new(MessageId::next()).message_id());
            time!("tls", |i| COUNTER.with(|t| {
                let v = t.get();
                t.set(v + i);
                v
            }));
            time!("unwind", |i| std::panic::catch_unwind(|| mix(i)).ok());
            let start = Instant::now();
            for i in 0..n {
                black_box(black_box(&dynh).fut(i).await);
            }
            line.push_str(&format!(
                "boxfut {:5.1} ",
                start.elapsed().as_nanos() as f64 / n as f64
            ));
            let start = Instant::now();
            for i in 0..n {
                black_box(black_box(&mediator).send(Mix(i)).await.ok());
            }
            line.push_str(&format!(
                "send {:5.1}",
                start.elapsed().as_nanos() as f64 / n as f64
            ));
            println!("{line}");
        }
    });
}
