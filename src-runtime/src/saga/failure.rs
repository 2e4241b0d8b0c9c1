//! [`SagaFailure`]: why a saga instance ended without completing, as the runner reports it.

use std::fmt;

use super::record::{SagaRecord, StepFailure};
use crate::{Error, ErrorKind};

/// Why a saga instance ended without completing: the step that failed and how compensation
/// went. Carried as the [source](std::error::Error::source) of the [`Error`] the runner
/// returns; get it back with [`SagaFailure::of`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SagaFailure {
    /// The saga's name.
    pub saga: String,
    /// The instance id.
    pub id: String,
    /// The step whose failure started compensation.
    pub failed_step: StepFailure,
    /// `None` when every completed step was compensated; otherwise the compensation that
    /// failed, leaving it and the steps before it in effect.
    pub compensation_failure: Option<StepFailure>,
}

impl SagaFailure {
    /// The saga failure inside `error`, if `error` came from a saga that failed.
    pub fn of(error: &Error) -> Option<&SagaFailure> {
        std::error::Error::source(error)?.downcast_ref::<SagaFailure>()
    }

    /// Whether every completed step was compensated.
    pub fn compensated(&self) -> bool {
        self.compensation_failure.is_none()
    }

    /// The failure a failed `record` reports.
    pub(super) fn from_record(record: &SagaRecord) -> SagaFailure {
        SagaFailure {
            saga: record.saga.clone(),
            id: record.id.clone(),
            // A record reaches a failed status only through a failed step; a hand-edited row
            // without one still gets a clear report.
            failed_step: record.failure.clone().unwrap_or_else(|| StepFailure {
                step: record.completed_steps,
                name: String::from("<not recorded>"),
                kind: ErrorKind::Internal,
                message: String::from("the store holds no failed step for this instance"),
            }),
            compensation_failure: record.compensation_failure.clone(),
        }
    }

    /// The error the runner returns: the failed step's kind, this failure as its source.
    pub(super) fn into_error(self) -> Error {
        Error::new(self.failed_step.kind, self.to_string()).with_source(self)
    }
}

impl fmt::Display for SagaFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "saga `{}` instance `{}`: {} failed; ",
            self.saga, self.id, self.failed_step
        )?;
        match &self.compensation_failure {
            None => write!(
                f,
                "the {} completed step(s) before it were compensated",
                self.failed_step.step
            ),
            Some(compensation) => write!(
                f,
                "compensating {compensation} failed, so steps 0..={} may still be in effect; fix \
                 the cause and call SagaRunner::resume to retry the compensation",
                compensation.step
            ),
        }
    }
}

impl std::error::Error for SagaFailure {}
