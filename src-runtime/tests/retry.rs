//! The retry behavior: attempts, which errors it retries, and its backoff (paused tokio time).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use catga::prelude::*;
use tokio::time::Instant;

#[derive(Debug, Clone, Command)]
#[command(response = &'static str)]
struct FetchRates;

/// Fails with `error` for the first `failures` attempts, recording when each attempt started.
#[derive(Clone)]
struct Flaky {
    failures: usize,
    error: fn() -> Error,
    attempts: Arc<Mutex<Vec<Instant>>>,
}

impl Flaky {
    fn new(failures: usize, error: fn() -> Error) -> Self {
        Flaky {
            failures,
            error,
            attempts: Arc::default(),
        }
    }

    fn attempt_gaps(&self) -> Vec<Duration> {
        let attempts = self.attempts.lock().unwrap();
        attempts.windows(2).map(|w| w[1] - w[0]).collect()
    }

    fn attempts(&self) -> usize {
        self.attempts.lock().unwrap().len()
    }
}

impl Handler<FetchRates> for Flaky {
    async fn handle(&self, _q: FetchRates, _ctx: &Context) -> catga::Result<&'static str> {
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            attempts.push(Instant::now());
            attempts.len()
        };
        if attempt <= self.failures {
            Err((self.error)())
        } else {
            Ok("rates")
        }
    }
}

fn unavailable() -> Error {
    Error::unavailable("upstream down")
}

fn mediator(handler: Flaky, retry: Retry) -> Mediator {
    Mediator::builder()
        .handler(handler)
        .behavior(retry)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn retry_backs_off_exponentially_between_attempts() {
    let handler = Flaky::new(3, unavailable);
    let retry = Retry::exponential(4)
        .base_delay(Duration::from_millis(100))
        .without_jitter();
    assert_eq!(
        mediator(handler.clone(), retry)
            .send(FetchRates)
            .await
            .unwrap(),
        "rates"
    );
    assert_eq!(handler.attempts(), 4);
    let gaps = handler.attempt_gaps();
    let expected = [100, 200, 400].map(Duration::from_millis);
    assert_eq!(gaps, expected);
}

#[tokio::test(start_paused = true)]
async fn retry_stops_after_max_attempts() {
    let handler = Flaky::new(10, unavailable);
    let err = mediator(handler.clone(), Retry::exponential(3))
        .send(FetchRates)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(handler.attempts(), 3);
}

#[tokio::test(start_paused = true)]
async fn retry_does_not_retry_non_retryable_errors() {
    let handler = Flaky::new(1, || Error::conflict("already exists"));
    let err = mediator(handler.clone(), Retry::exponential(5))
        .send(FetchRates)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(handler.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_jitter_keeps_each_pause_between_half_and_all_of_the_backoff() {
    let handler = Flaky::new(4, unavailable);
    let retry = Retry::exponential(5)
        .base_delay(Duration::from_millis(100))
        .max_delay(Duration::from_millis(300));
    mediator(handler.clone(), retry)
        .send(FetchRates)
        .await
        .unwrap();
    let gaps = handler.attempt_gaps();
    let caps = [100, 200, 300, 300].map(Duration::from_millis);
    assert_eq!(gaps.len(), caps.len());
    for (gap, cap) in gaps.iter().zip(caps) {
        assert!(
            *gap >= cap / 2 && *gap <= cap,
            "pause {gap:?} outside [{:?}, {cap:?}]",
            cap / 2
        );
    }
}

#[tokio::test(start_paused = true)]
async fn retry_gives_up_when_the_next_pause_would_pass_the_deadline() {
    let handler = Flaky::new(10, unavailable);
    let mediator = Mediator::builder()
        .handler(handler.clone())
        .behavior(Timeout::after(Duration::from_millis(250)))
        .behavior(
            Retry::exponential(10)
                .base_delay(Duration::from_millis(100))
                .without_jitter(),
        )
        .build()
        .unwrap();
    let err = mediator.send(FetchRates).await.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unavailable,
        "the last handler error, not a timeout"
    );
    assert_eq!(
        handler.attempts(),
        2,
        "attempts at 0 ms and 100 ms; a third at 300 ms is past the deadline"
    );
}

/// Hangs on its first `hangs` attempts, then answers; counts the attempts.
#[derive(Clone)]
struct Hanging {
    hangs: usize,
    attempts: Arc<Mutex<usize>>,
}

impl Handler<FetchRates> for Hanging {
    async fn handle(&self, _q: FetchRates, _ctx: &Context) -> catga::Result<&'static str> {
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            *attempts += 1;
            *attempts
        };
        if attempt <= self.hangs {
            std::future::pending::<()>().await;
        }
        Ok("rates")
    }
}

#[tokio::test(start_paused = true)]
async fn an_attempt_past_its_timeout_is_dropped_and_tried_again() {
    let handler = Hanging {
        hangs: 2,
        attempts: Arc::default(),
    };
    let mediator = Mediator::builder()
        .handler(handler.clone())
        .behavior(Retry::exponential(3).attempt_timeout(Duration::from_secs(1)))
        .build()
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(60), mediator.send(FetchRates))
        .await
        .expect("the attempt timeout ended the hung attempts");
    assert_eq!(answer.unwrap(), "rates");
    assert_eq!(*handler.attempts.lock().unwrap(), 3);

    let always_hanging = Hanging {
        hangs: usize::MAX,
        attempts: Arc::default(),
    };
    let mediator = Mediator::builder()
        .handler(always_hanging.clone())
        .behavior(Retry::exponential(2).attempt_timeout(Duration::from_secs(1)))
        .build()
        .unwrap();
    let err = tokio::time::timeout(Duration::from_secs(60), mediator.send(FetchRates))
        .await
        .expect("the attempt timeout ended the hung attempts")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(*always_hanging.attempts.lock().unwrap(), 2);
}
