//! Idempotent commands are deduplicated by default.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use catga::idempotency::{BoxFuture, Claim, Fence, IdempotencyStore, MemoryIdempotencyStore};
use catga::prelude::*;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Receipt {
    payment_id: String,
    run: u32,
}

#[derive(Debug, Clone, Command)]
#[command(response = Receipt, idempotent)]
struct ChargeCard {
    #[idempotency_key]
    payment_id: String,
    amount_cents: u64,
}

#[derive(Clone, Default)]
struct ChargeHandler {
    runs: Arc<AtomicU32>,
    fail_first: bool,
}

impl Handler<ChargeCard> for ChargeHandler {
    async fn handle(&self, cmd: ChargeCard, _ctx: &Context) -> catga::Result<Receipt> {
        let run = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        // Long enough that every concurrent duplicate arrives while this one runs.
        tokio::time::sleep(Duration::from_millis(50)).await;
        if self.fail_first && run == 1 {
            return Err(Error::unavailable("card network down"));
        }
        assert!(cmd.amount_cents > 0);
        Ok(Receipt {
            payment_id: cmd.payment_id,
            run,
        })
    }
}

fn charge(payment_id: &str) -> ChargeCard {
    ChargeCard {
        payment_id: payment_id.into(),
        amount_cents: 1250,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_duplicates_run_the_handler_once_and_share_its_result() {
    let handler = ChargeHandler::default();
    let runs = Arc::clone(&handler.runs);
    let mediator = Mediator::builder()
        .handler(handler)
        .idempotency_store(MemoryIdempotencyStore::new())
        .build()
        .unwrap();

    let sends = (0..50).map(|_| {
        let mediator = mediator.clone();
        tokio::spawn(async move { mediator.send(charge("pay-1")).await })
    });
    let receipts: Vec<Receipt> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();

    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(receipts.len(), 50);
    assert!(receipts.iter().all(|r| *r
        == Receipt {
            payment_id: "pay-1".into(),
            run: 1
        }));
}

#[tokio::test]
async fn a_later_duplicate_gets_the_stored_response() {
    let handler = ChargeHandler::default();
    let runs = Arc::clone(&handler.runs);
    let mediator = Mediator::builder().handler(handler).build().unwrap();
    let first = mediator.send(charge("pay-2")).await.unwrap();
    let second = mediator.send(charge("pay-2")).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    mediator.send(charge("pay-3")).await.unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "a different key runs the handler again"
    );
}

#[tokio::test]
async fn a_failed_execution_releases_the_key_for_a_later_attempt() {
    let handler = ChargeHandler {
        fail_first: true,
        ..Default::default()
    };
    let runs = Arc::clone(&handler.runs);
    let mediator = Mediator::builder().handler(handler).build().unwrap();
    let err = mediator.send(charge("pay-4")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let receipt = mediator.send(charge("pay-4")).await.unwrap();
    assert_eq!(receipt.run, 2);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[derive(Debug, Clone, Command)]
#[command(response = u64)]
struct Transfer {
    from: String,
    to: String,
    request: u32,
}

impl Idempotent for Transfer {
    fn idempotency_key(&self) -> String {
        format!("{}->{}#{}", self.from, self.to, self.request)
    }
}

#[derive(Default)]
struct TransferHandler {
    runs: Arc<AtomicU32>,
}

impl Handler<Transfer> for TransferHandler {
    async fn handle(&self, _cmd: Transfer, _ctx: &Context) -> catga::Result<u64> {
        Ok(u64::from(self.runs.fetch_add(1, Ordering::SeqCst)) + 100)
    }
}

#[tokio::test]
async fn a_manual_idempotent_impl_is_deduplicated_too() {
    let handler = TransferHandler::default();
    let runs = Arc::clone(&handler.runs);
    let mediator = Mediator::builder().handler(handler).build().unwrap();
    let transfer = Transfer {
        from: "a".into(),
        to: "b".into(),
        request: 1,
    };
    assert_eq!(mediator.send(transfer.clone()).await.unwrap(), 100);
    assert_eq!(mediator.send(transfer).await.unwrap(), 100);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// Charges slowly: `takes` per run, counting runs across instances.
#[derive(Clone)]
struct SlowChargeHandler {
    runs: Arc<AtomicU32>,
    takes: Duration,
}

impl Handler<ChargeCard> for SlowChargeHandler {
    async fn handle(&self, cmd: ChargeCard, _ctx: &Context) -> catga::Result<Receipt> {
        let run = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(self.takes).await;
        Ok(Receipt {
            payment_id: cmd.payment_id,
            run,
        })
    }
}

/// One store seen by two "processes" (mediators); `stalled` makes this one's renewals fail,
/// as a process paused past its lease would.
struct SharedStore {
    inner: Arc<MemoryIdempotencyStore>,
    stalled: bool,
}

impl IdempotencyStore for SharedStore {
    fn try_claim<'a>(
        &'a self,
        key: &'a str,
        lease: Duration,
    ) -> BoxFuture<'a, catga::Result<Claim>> {
        self.inner.try_claim(key, lease)
    }
    fn renew<'a>(
        &'a self,
        key: &'a str,
        fence: Fence,
        lease: Duration,
    ) -> BoxFuture<'a, catga::Result<bool>> {
        if self.stalled {
            return Box::pin(async { Err(Error::unavailable("this process is stalled")) });
        }
        self.inner.renew(key, fence, lease)
    }
    fn complete<'a>(
        &'a self,
        key: &'a str,
        fence: Fence,
        response: &'a [u8],
    ) -> BoxFuture<'a, catga::Result<()>> {
        self.inner.complete(key, fence, response)
    }
    fn release<'a>(&'a self, key: &'a str, fence: Fence) -> BoxFuture<'a, catga::Result<()>> {
        self.inner.release(key, fence)
    }
}

/// Two mediators over one store, the first stalled or not, each with a handler taking three
/// leases; the second sends the same key half-way through the first's second lease.
async fn race_one_key(first_stalled: bool) -> (Receipt, Receipt, u32) {
    let lease = Duration::from_secs(1);
    let store = Arc::new(MemoryIdempotencyStore::new());
    let runs = Arc::new(AtomicU32::new(0));
    let process = |stalled: bool| {
        Mediator::builder()
            .handler(SlowChargeHandler {
                runs: Arc::clone(&runs),
                takes: lease * 3,
            })
            .idempotency_store(SharedStore {
                inner: Arc::clone(&store),
                stalled,
            })
            .idempotency_lease(lease)
            .build()
            .unwrap()
    };
    let (first, second) = (process(first_stalled), process(false));
    let first = tokio::spawn(async move { first.send(charge("pay-9")).await });
    tokio::time::sleep(lease * 3 / 2).await;
    let second = second.send(charge("pay-9")).await.unwrap();
    let first = first.await.unwrap().unwrap();
    (first, second, runs.load(Ordering::SeqCst))
}

#[tokio::test(start_paused = true)]
async fn a_handler_slower_than_the_lease_keeps_its_claim_and_runs_once() {
    let (first, second, runs) = race_one_key(false).await;
    assert_eq!(runs, 1, "the claim was renewed while the handler ran");
    assert_eq!(first, second);
}

#[tokio::test(start_paused = true)]
async fn a_stalled_holder_whose_claim_was_taken_over_answers_with_the_recorded_response() {
    let (first, second, runs) = race_one_key(true).await;
    // The stalled process could not renew, so the key was taken over and ran again; its own
    // completion was refused (fenced), and both callers see the one recorded response.
    assert_eq!(runs, 2);
    assert_eq!(second.run, 2, "the takeover's response is the key's");
    assert_eq!(first, second);
}
