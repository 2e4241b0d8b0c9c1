//! The validation behavior rejects invalid messages before the handler runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use catga::prelude::*;

#[derive(Debug, Clone, Command)]
#[command(response = u64)]
struct Deposit {
    amount_cents: u64,
}

impl Validate for Deposit {
    fn validate(&self) -> catga::Result<()> {
        if self.amount_cents == 0 {
            return Err(Error::validation("amount_cents must be greater than zero"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Command)]
struct Ping;

#[derive(Clone, Default)]
struct Bank {
    calls: Arc<AtomicU32>,
}

impl Handler<Deposit> for Bank {
    async fn handle(&self, cmd: Deposit, _ctx: &Context) -> catga::Result<u64> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(cmd.amount_cents)
    }
}

impl Handler<Ping> for Bank {
    async fn handle(&self, _cmd: Ping, _ctx: &Context) -> catga::Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn mediator(bank: &Bank) -> Mediator {
    Mediator::builder()
        .handler::<Deposit, _>(bank.clone())
        .handler::<Ping, _>(bank.clone())
        .behavior(Validation)
        .build()
        .unwrap()
}

#[tokio::test]
async fn validation_rejects_before_the_handler_runs() {
    let bank = Bank::default();
    let err = mediator(&bank)
        .send(Deposit { amount_cents: 0 })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert!(err.message().contains("amount_cents"), "{err}");
    assert_eq!(bank.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn validation_passes_valid_messages_and_messages_without_validate() {
    let bank = Bank::default();
    let mediator = mediator(&bank);
    assert_eq!(
        mediator.send(Deposit { amount_cents: 500 }).await.unwrap(),
        500
    );
    mediator.send(Ping).await.unwrap();
    assert_eq!(bank.calls.load(Ordering::SeqCst), 2);
}
