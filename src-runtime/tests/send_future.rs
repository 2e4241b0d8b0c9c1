//! The future `Mediator::send` returns: a handler's future lives inside it, so dropping a send
//! mid-flight must drop that future exactly once, and a suspended handler must complete
//! whether it runs bare or behind behaviors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use catga::behavior::Timeout;
use catga::prelude::*;

#[derive(Debug, Clone, Command)]
#[command(response = u32)]
struct Park;

/// Counts how many times the handler's state was dropped.
struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Suspends twice (waking itself), holding a guard, then answers 7.
struct ParkHandler {
    drops: Arc<AtomicUsize>,
}

impl Handler<Park> for ParkHandler {
    async fn handle(&self, _cmd: Park, _ctx: &Context) -> catga::Result<u32> {
        let _guard = Guard(self.drops.clone());
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        Ok(7)
    }
}

fn mediator(drops: &Arc<AtomicUsize>, timeout: bool) -> Mediator {
    let builder = Mediator::builder().handler(ParkHandler {
        drops: drops.clone(),
    });
    let builder = if timeout {
        builder.behavior(Timeout::after(Duration::from_secs(60)))
    } else {
        builder
    };
    builder.build().unwrap()
}

#[test]
fn dropping_a_pending_send_drops_the_handler_future_once() {
    for timeout in [false, true] {
        let drops = Arc::new(AtomicUsize::new(0));
        let mediator = mediator(&drops, timeout);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut send = Box::pin(mediator.send(Park));
            let mut cx = TaskContext::from_waker(Waker::noop());
            assert!(send.as_mut().poll(&mut cx).is_pending());
            assert_eq!(
                drops.load(Ordering::SeqCst),
                0,
                "the handler is still running"
            );
            drop(send);
        });
        assert_eq!(drops.load(Ordering::SeqCst), 1, "with timeout: {timeout}");
    }
}

#[tokio::test]
async fn a_suspended_handler_completes_bare_and_behind_behaviors() {
    for timeout in [false, true] {
        let drops = Arc::new(AtomicUsize::new(0));
        let mediator = mediator(&drops, timeout);
        assert_eq!(mediator.send(Park).await.unwrap(), 7);
        assert_eq!(drops.load(Ordering::SeqCst), 1, "with timeout: {timeout}");
    }
}

#[tokio::test]
async fn a_batch_of_suspended_handlers_completes() {
    for timeout in [false, true] {
        let drops = Arc::new(AtomicUsize::new(0));
        let mediator = mediator(&drops, timeout);
        let answers = mediator.send_batch([Park, Park, Park]).await;
        assert!(
            answers
                .iter()
                .all(|answer| answer.as_ref().ok() == Some(&7))
        );
        assert_eq!(drops.load(Ordering::SeqCst), 3, "with timeout: {timeout}");
    }
}

#[test]
fn a_completed_send_is_ready_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mediator = mediator(&drops, false);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut send = Box::pin(mediator.send(Park));
        let mut cx = TaskContext::from_waker(Waker::noop());
        let mut polls = 0;
        let answer = loop {
            polls += 1;
            if let Poll::Ready(answer) = send.as_mut().poll(&mut cx) {
                break answer;
            }
        };
        assert_eq!(answer.unwrap(), 7);
        assert_eq!(polls, 3, "two suspensions, then ready");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "dropped as soon as it is ready"
        );
    });
}
