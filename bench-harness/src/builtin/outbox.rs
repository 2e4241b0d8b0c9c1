//! The outbox's scenarios: what storing an exported event adds to a send, and how fast the
//! dispatcher moves stored events to a transport. The transport discards what it is given, so
//! the figures are the outbox's own (SQLite, encoding, the hop to the store's thread).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use catga::prelude::*;
use catga::transport::{
    BoxFuture, ConsumerOptions, Envelope, OutboxEntry, Requests, Subscription, Transport,
    event_subject,
};
use catga_sqlite::{OutboxDispatcher, SqliteOutbox};
use serde::{Deserialize, Serialize};

use super::{mix, scratch_dir};
use crate::scenario::Workload;

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u64)]
struct Ship(u64);

#[derive(Debug, Clone, Serialize, Deserialize, Event)]
struct Shipped(u64);

struct ShipHandler;

impl Handler<Ship> for ShipHandler {
    async fn handle(&self, cmd: Ship, ctx: &Context) -> catga::Result<u64> {
        let parcel = mix(cmd.0);
        ctx.publish(Shipped(parcel)).await?;
        Ok(parcel)
    }
}

/// Accepts every publish and keeps nothing.
struct Discard;

impl Transport for Discard {
    fn publish<'a>(
        &'a self,
        _subject: &'a str,
        _envelope: &'a Envelope,
    ) -> BoxFuture<'a, catga::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn subscribe<'a>(
        &'a self,
        _group: &'a str,
        _subjects: &'a [String],
        _options: &'a ConsumerOptions,
    ) -> BoxFuture<'a, catga::Result<Box<dyn Subscription>>> {
        Box::pin(async { Err(Error::unavailable("the bench transport only publishes")) })
    }

    fn request<'a>(
        &'a self,
        _subject: &'a str,
        _envelope: &'a Envelope,
        _timeout: Duration,
    ) -> BoxFuture<'a, catga::Result<Envelope>> {
        Box::pin(async { Err(Error::unavailable("the bench transport only publishes")) })
    }

    fn serve<'a>(
        &'a self,
        _group: &'a str,
        _subjects: &'a [String],
    ) -> BoxFuture<'a, catga::Result<Box<dyn Requests>>> {
        Box::pin(async { Err(Error::unavailable("the bench transport only publishes")) })
    }
}

/// How many sends `outbox_send` makes between two deliveries of what they stored.
const SENDS_PER_FLUSH: u64 = 256;

/// A send whose handler publishes one exported event: the event is captured, then stored in its
/// own SQLite transaction when the handler has succeeded. Every 256th operation also delivers
/// the stored events and deletes them, so the file does not grow with the run; that share of
/// the delivery shows in the tail (p99.9, max), not in the median.
pub(super) struct OutboxSend {
    mediator: Mediator,
    dispatcher: OutboxDispatcher,
    outbox: SqliteOutbox,
    sends: AtomicU64,
    _dir: tempfile::TempDir,
}

impl OutboxSend {
    pub(super) async fn open() -> OutboxSend {
        let dir = scratch_dir();
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("a new SQLite database in a fresh temporary directory");
        let mediator = Mediator::builder()
            .handler(ShipHandler)
            .outbox(outbox.clone())
            .export::<Shipped>()
            .build()
            .expect("one handler and an outbox");
        OutboxSend {
            dispatcher: OutboxDispatcher::new(outbox.clone(), Arc::new(Discard)),
            mediator,
            outbox,
            sends: AtomicU64::new(0),
            _dir: dir,
        }
    }
}

impl Workload for OutboxSend {
    async fn op(&self) -> catga::Result<()> {
        let n = self.sends.fetch_add(1, Ordering::Relaxed);
        std::hint::black_box(self.mediator.send(Ship(n)).await?);
        if n % SENDS_PER_FLUSH == SENDS_PER_FLUSH - 1 {
            self.dispatcher.flush().await?;
            self.outbox.purge_delivered(Duration::ZERO).await?;
        }
        Ok(())
    }
}

/// Events per `outbox_flush_100` operation.
const FLUSH_BATCH: u64 = 100;

/// 100 events stored in one transaction, then delivered by the dispatcher (read in order,
/// published, marked delivered) and deleted: the outbox's throughput, 100 events per operation.
pub(super) struct OutboxFlush {
    outbox: SqliteOutbox,
    dispatcher: OutboxDispatcher,
    next: AtomicU64,
    _dir: tempfile::TempDir,
}

impl OutboxFlush {
    pub(super) async fn open() -> OutboxFlush {
        let dir = scratch_dir();
        let outbox = SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .expect("a new SQLite database in a fresh temporary directory");
        OutboxFlush {
            dispatcher: OutboxDispatcher::new(outbox.clone(), Arc::new(Discard)),
            outbox,
            next: AtomicU64::new(0),
            _dir: dir,
        }
    }
}

impl Workload for OutboxFlush {
    async fn op(&self) -> catga::Result<()> {
        let first = self.next.fetch_add(FLUSH_BATCH, Ordering::Relaxed);
        let ctx = Context::new(MessageId(first));
        let entries = (first..first + FLUSH_BATCH)
            .map(|n| {
                Ok(OutboxEntry {
                    subject: event_subject("Shipped"),
                    envelope: Envelope::of(&Shipped(n), &ctx)?.with_key(format!("k{}", n % 8)),
                })
            })
            .collect::<catga::Result<Vec<_>>>()?;
        self.outbox.enqueue(entries).await?;
        let flushed = self.dispatcher.flush().await?;
        if flushed.delivered as u64 != FLUSH_BATCH {
            return Err(Error::internal(format!(
                "the dispatcher delivered {} of {FLUSH_BATCH} events",
                flushed.delivered
            )));
        }
        self.outbox.purge_delivered(Duration::ZERO).await?;
        Ok(())
    }
}
