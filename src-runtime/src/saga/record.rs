//! [`SagaRecord`]: what a [`SagaStore`](super::SagaStore) keeps about one saga instance.

use std::fmt;

use crate::{Error, ErrorKind};

/// Where a saga instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SagaStatus {
    /// Executing steps forward.
    Running,
    /// A step failed; undoing the completed steps in reverse order.
    Compensating,
    /// Every step ran. Final.
    Completed,
    /// A step failed and every completed step was compensated. Final.
    Compensated,
    /// A compensation failed; the steps not yet compensated may still be in effect.
    /// [`SagaRunner::resume`](super::SagaRunner::resume) retries the compensation.
    CompensationFailed,
}

impl SagaStatus {
    /// Every status, in the order of the lifecycle.
    pub const ALL: [SagaStatus; 5] = [
        SagaStatus::Running,
        SagaStatus::Compensating,
        SagaStatus::Completed,
        SagaStatus::Compensated,
        SagaStatus::CompensationFailed,
    ];

    /// A short lowercase name, as stored on disk and shown in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SagaStatus::Running => "running",
            SagaStatus::Compensating => "compensating",
            SagaStatus::Completed => "completed",
            SagaStatus::Compensated => "compensated",
            SagaStatus::CompensationFailed => "compensation_failed",
        }
    }

    /// The status whose [`as_str`](SagaStatus::as_str) is `name`.
    pub fn from_name(name: &str) -> Option<SagaStatus> {
        SagaStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
    }

    /// Whether the runner still has work to do on an instance in this status without being
    /// asked: running or compensating.
    pub fn is_pending(self) -> bool {
        matches!(self, SagaStatus::Running | SagaStatus::Compensating)
    }
}

impl fmt::Display for SagaStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step (or compensation) that returned an error: which one, and what the error said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    /// Index of the step in [`Saga::STEPS`](super::Saga::STEPS).
    pub step: usize,
    /// Name of the step.
    pub name: String,
    /// Kind of the error the step returned.
    pub kind: ErrorKind,
    /// Message of the error the step returned.
    pub message: String,
}

impl StepFailure {
    /// Record that step `step`, named `name`, failed with `error`.
    pub fn new(step: usize, name: &str, error: &Error) -> Self {
        StepFailure {
            step,
            name: name.to_owned(),
            kind: error.kind(),
            message: error.message().to_owned(),
        }
    }
}

impl fmt::Display for StepFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step {} `{}` ({}: {})",
            self.step, self.name, self.kind, self.message
        )
    }
}

/// One saga instance as stored: identity, progress and state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaRecord {
    /// The saga's [`Saga::NAME`](super::Saga::NAME).
    pub saga: String,
    /// The instance id, unique per saga name.
    pub id: String,
    /// Where the instance is in its life.
    pub status: SagaStatus,
    /// How many leading steps currently stand: while running, the index of the next step to
    /// execute; while compensating, one more than the index of the next step to compensate.
    pub completed_steps: usize,
    /// The saga state, serialized as JSON.
    pub state: Vec<u8>,
    /// The step whose failure started compensation, if one failed.
    pub failure: Option<StepFailure>,
    /// The compensation that failed, if one did.
    pub compensation_failure: Option<StepFailure>,
    /// How many times the instance was saved since it was created: 0 for a new record, and
    /// each [`update`](super::SagaStore::update) writes one more than the version it replaces,
    /// so a runner whose save finds another version knows another runner moved the instance
    /// on.
    pub version: u64,
}

impl SagaRecord {
    /// A fresh instance about to run its first step.
    pub fn new(saga: &str, id: &str, state: Vec<u8>) -> Self {
        SagaRecord {
            saga: saga.to_owned(),
            id: id.to_owned(),
            status: SagaStatus::Running,
            completed_steps: 0,
            state,
            failure: None,
            compensation_failure: None,
            version: 0,
        }
    }
}
