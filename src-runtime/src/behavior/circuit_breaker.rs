//! [`CircuitBreaker`]: stops calling a failing handler for a while, per message type.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::pipeline::{AnyMessage, Behavior, Next, Reply};
use crate::{Context, Error, ErrorKind, Result};

/// The state of one message type's circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Messages go through; consecutive failures are counted.
    Closed,
    /// Messages are rejected with [`ErrorKind::Unavailable`] until the cool-down ends.
    Open,
    /// The cool-down ended: one trial message goes through; its success closes the circuit, its
    /// failure opens it again.
    HalfOpen,
}

#[derive(Debug, Clone, Copy)]
enum Circuit {
    Closed { consecutive_failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_running: bool },
}

/// Opens a message type's circuit after `failure_threshold` consecutive failures, rejects that
/// type for `cool_down`, then lets one trial through (half-open): a success closes the circuit,
/// a failure opens it again.
///
/// Failures are errors that point at the handler's dependencies: timeouts, unavailable,
/// internal and storage errors. Caller errors (validation, not found, conflict, unauthorized)
/// neither count nor reset the count, except that any answer to a half-open trial that is not
/// such a failure closes the circuit.
///
/// ```
/// use catga::prelude::*;
/// use std::time::Duration;
///
/// let breaker = CircuitBreaker::new(5, Duration::from_secs(30));
/// assert_eq!(breaker.state("CreateOrder"), CircuitState::Closed);
/// ```
#[derive(Debug)]
pub struct CircuitBreaker {
    failure_threshold: u32,
    cool_down: Duration,
    circuits: Mutex<HashMap<&'static str, Circuit>>,
}

impl CircuitBreaker {
    /// Opens after `failure_threshold` consecutive failures (0 counts as 1) and stays open for
    /// `cool_down`.
    pub fn new(failure_threshold: u32, cool_down: Duration) -> Self {
        CircuitBreaker {
            failure_threshold: failure_threshold.max(1),
            cool_down,
            circuits: Mutex::new(HashMap::new()),
        }
    }

    /// The state of `message_type`'s circuit right now (its [`Message::NAME`](crate::Message::NAME)).
    pub fn state(&self, message_type: &str) -> CircuitState {
        let circuits = self.circuits.lock().unwrap_or_else(PoisonError::into_inner);
        match circuits.get(message_type) {
            None | Some(Circuit::Closed { .. }) => CircuitState::Closed,
            Some(Circuit::Open { until }) if Instant::now() < *until => CircuitState::Open,
            Some(Circuit::Open { .. } | Circuit::HalfOpen { .. }) => CircuitState::HalfOpen,
        }
    }

    /// Lets the message through (returning whether it is the half-open trial) or rejects it.
    fn admit(&self, name: &'static str) -> Result<bool> {
        let mut circuits = self.circuits.lock().unwrap_or_else(PoisonError::into_inner);
        let circuit = circuits.entry(name).or_insert(Circuit::Closed {
            consecutive_failures: 0,
        });
        match *circuit {
            Circuit::Closed { .. } => Ok(false),
            Circuit::Open { until } if Instant::now() < until => Err(Error::unavailable(format!(
                "the circuit for `{name}` is open after repeated failures; retry in {:?}",
                until - Instant::now()
            ))),
            Circuit::Open { .. }
            | Circuit::HalfOpen {
                trial_running: false,
            } => {
                *circuit = Circuit::HalfOpen {
                    trial_running: true,
                };
                Ok(true)
            }
            Circuit::HalfOpen {
                trial_running: true,
            } => Err(Error::unavailable(format!(
                "the circuit for `{name}` is half-open and its trial message is still running"
            ))),
        }
    }

    fn record(&self, name: &'static str, trial: bool, failed: Option<bool>) {
        let mut circuits = self.circuits.lock().unwrap_or_else(PoisonError::into_inner);
        let circuit = circuits.entry(name).or_insert(Circuit::Closed {
            consecutive_failures: 0,
        });
        *circuit = match (failed, *circuit) {
            // The trial was cancelled: the next message becomes the trial.
            (None, _) => Circuit::HalfOpen {
                trial_running: false,
            },
            (Some(true), _) if trial => Circuit::Open {
                until: Instant::now() + self.cool_down,
            },
            (Some(false), _) if trial => Circuit::Closed {
                consecutive_failures: 0,
            },
            (
                Some(true),
                Circuit::Closed {
                    consecutive_failures,
                },
            ) => {
                let failures = consecutive_failures + 1;
                if failures >= self.failure_threshold {
                    tracing::warn!(message_type = name, failures, "circuit opened");
                    Circuit::Open {
                        until: Instant::now() + self.cool_down,
                    }
                } else {
                    Circuit::Closed {
                        consecutive_failures: failures,
                    }
                }
            }
            (Some(false), Circuit::Closed { .. }) => Circuit::Closed {
                consecutive_failures: 0,
            },
            (Some(_), other) => other,
        };
    }
}

/// Whether an error says the handler's dependencies are failing.
fn counts_as_failure(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Timeout | ErrorKind::Unavailable | ErrorKind::Internal | ErrorKind::Storage
    )
}

/// Reports a half-open trial that was dropped before it finished.
struct TrialGuard<'a> {
    breaker: &'a CircuitBreaker,
    name: &'static str,
    armed: bool,
}

impl Drop for TrialGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.breaker.record(self.name, true, None);
        }
    }
}

impl Behavior for CircuitBreaker {
    async fn handle(
        &self,
        message: &dyn AnyMessage,
        ctx: Context,
        next: Next<'_>,
    ) -> Result<Reply> {
        let name = message.type_name();
        let trial = self.admit(name)?;
        let mut guard = TrialGuard {
            breaker: self,
            name,
            armed: trial,
        };
        let result = next.run(ctx).await;
        guard.armed = false;
        match &result {
            Ok(_) => self.record(name, trial, Some(false)),
            Err(err) if counts_as_failure(err.kind()) => self.record(name, trial, Some(true)),
            Err(_) if trial => self.record(name, trial, Some(false)),
            Err(_) => {}
        }
        result
    }
}
