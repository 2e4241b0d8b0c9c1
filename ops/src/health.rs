//! [`Health`]: liveness and readiness, as checks a service registers and probes that run them.
//!
//! - **Liveness** (`/health/live`): the process can make progress. With no liveness check
//!   registered it is live whenever it answers. A failing liveness probe tells an orchestrator
//!   to restart the process, so register only checks that a restart would fix.
//! - **Readiness** (`/health/ready`): the service can do its work now: its broker is reachable,
//!   its stores open, its consumers running, its outbox not stuck. A failing readiness probe
//!   takes the instance out of rotation until it passes again.
//!
//! Every check runs with a time limit ([`CHECK_TIMEOUT`] unless set): a check that does not
//! answer in time fails, so a probe never hangs.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use catga::transport::{Outbox, Transport};
use serde::Serialize;

/// How long one check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

type CheckFn =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// Which probe a check belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// The process can make progress; failing means "restart me".
    Liveness,
    /// The service can do its work now; failing means "send me nothing for now".
    Readiness,
}

#[derive(Clone)]
struct Check {
    name: String,
    probe: Probe,
    run: CheckFn,
}

/// The service's health checks. Clones share them: register checks on one clone while the
/// HTTP endpoint serves another.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use catga_ops::Health;
///
/// let health = Health::new();
/// health.readiness("database", || async { Ok(()) });
/// assert!(health.ready().await.healthy);
/// health.readiness("cache", || async { Err("connection refused".to_string()) });
/// let report = health.ready().await;
/// assert!(!report.healthy);
/// assert_eq!(report.checks[1].error.as_deref(), Some("connection refused"));
/// # });
/// ```
#[derive(Clone, Default)]
pub struct Health {
    checks: Arc<Mutex<Vec<Check>>>,
    timeout: Option<Duration>,
}

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Which probe.
    pub probe: Probe,
    /// Every check passed (true when there is none).
    pub healthy: bool,
    /// Each check's result, in the order they were registered.
    pub checks: Vec<CheckReport>,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The name it was registered with.
    pub name: String,
    /// It passed.
    pub healthy: bool,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Health {
    /// No checks yet: live and ready.
    pub fn new() -> Health {
        Health::default()
    }

    /// Each check may take `timeout` at most (default [`CHECK_TIMEOUT`]).
    pub fn check_timeout(mut self, timeout: Duration) -> Health {
        self.timeout = Some(timeout);
        self
    }

    /// Registers a liveness check: `check` returns `Err(reason)` when the process is stuck.
    pub fn liveness<F, Fut>(&self, name: impl Into<String>, check: F) -> &Health
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.add(name.into(), Probe::Liveness, check)
    }

    /// Registers a readiness check: `check` returns `Err(reason)` when the service cannot do
    /// its work now.
    pub fn readiness<F, Fut>(&self, name: impl Into<String>, check: F) -> &Health
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.add(name.into(), Probe::Readiness, check)
    }

    /// Ready only while `transport`'s broker is reachable
    /// ([`Transport::health_check`]).
    pub fn transport(&self, name: impl Into<String>, transport: Arc<dyn Transport>) -> &Health {
        self.readiness(name, move || {
            let outcome = transport
                .health_check()
                .map_err(|error| error.message().to_string());
            async move { outcome }
        })
    }

    /// Ready only while the task behind `task` runs: for an `EventConsumer`, a
    /// `RequestServer` or an `OutboxDispatcher` spawned with `tokio::spawn`, whose `run` returns
    /// only when it cannot go on.
    pub fn task(&self, name: impl Into<String>, task: tokio::task::AbortHandle) -> &Health {
        let name = name.into();
        let said = name.clone();
        self.readiness(name, move || {
            let outcome = if task.is_finished() {
                Err(format!("`{said}` stopped"))
            } else {
                Ok(())
            };
            async move { outcome }
        })
    }

    /// Ready only while `outbox`'s store answers and holds at most `max_pending` undelivered
    /// entries: more means the dispatcher is not keeping up, or not running.
    pub fn outbox(
        &self,
        name: impl Into<String>,
        outbox: impl Outbox,
        max_pending: usize,
    ) -> &Health {
        let outbox: Arc<dyn Outbox> = Arc::new(outbox);
        self.readiness(name, move || {
            let outbox = Arc::clone(&outbox);
            async move {
                let pending = outbox
                    .pending()
                    .await
                    .map_err(|error| format!("the outbox cannot be read: {}", error.message()))?;
                if pending > max_pending {
                    return Err(format!(
                        "{pending} entries wait in the outbox, more than {max_pending}: is its \
                         dispatcher running and the broker reachable?"
                    ));
                }
                Ok(())
            }
        })
    }

    fn add<F, Fut>(&self, name: String, probe: Probe, check: F) -> &Health
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        let run: CheckFn = Arc::new(move || Box::pin(check()));
        self.checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Check { name, probe, run });
        self
    }

    /// Runs the liveness checks.
    pub async fn live(&self) -> Report {
        self.probe(Probe::Liveness).await
    }

    /// Runs the readiness checks.
    pub async fn ready(&self) -> Report {
        self.probe(Probe::Readiness).await
    }

    /// Runs `probe`'s checks, side by side, each within the time limit.
    pub async fn probe(&self, probe: Probe) -> Report {
        let checks: Vec<Check> = self
            .checks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|check| check.probe == probe)
            .cloned()
            .collect();
        let timeout = self.timeout.unwrap_or(CHECK_TIMEOUT);
        let mut running = tokio::task::JoinSet::new();
        for (index, check) in checks.iter().enumerate() {
            let run = (check.run)();
            running.spawn(async move {
                let outcome = tokio::time::timeout(timeout, run)
                    .await
                    .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")));
                (index, outcome)
            });
        }
        let mut outcomes: Vec<Option<Result<(), String>>> = vec![None; checks.len()];
        while let Some(joined) = running.join_next().await {
            if let Ok((index, outcome)) = joined {
                outcomes[index] = Some(outcome);
            }
        }
        let checks: Vec<CheckReport> = checks
            .into_iter()
            .zip(outcomes)
            .map(|(check, outcome)| {
                let outcome = outcome.unwrap_or_else(|| Err("the check panicked".to_string()));
                CheckReport {
                    name: check.name,
                    healthy: outcome.is_ok(),
                    error: outcome.err(),
                }
            })
            .collect();
        Report {
            probe,
            healthy: checks.iter().all(|check| check.healthy),
            checks,
        }
    }
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let checks = self.checks.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Health")
            .field(
                "checks",
                &checks
                    .iter()
                    .map(|check| (check.probe, check.name.as_str()))
                    .collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn probes_run_their_own_checks_and_a_hung_one_fails_in_time() {
        let health = Health::new().check_timeout(Duration::from_secs(1));
        assert!(health.live().await.healthy);
        assert!(health.ready().await.healthy);
        health.liveness("loop", || async { Ok(()) });
        health.readiness("store", || async { Ok(()) });
        health.readiness("hung", std::future::pending);
        let live = health.live().await;
        assert!(live.healthy, "{live:?}");
        assert_eq!(live.checks.len(), 1);
        let ready = health.ready().await;
        assert!(!ready.healthy);
        assert_eq!(ready.checks[0].name, "store");
        assert!(ready.checks[0].healthy);
        assert_eq!(ready.checks[1].name, "hung");
        assert_eq!(
            ready.checks[1].error.as_deref(),
            Some("no answer within 1s")
        );
    }

    #[tokio::test]
    async fn a_stopped_task_is_not_ready() {
        let health = Health::new();
        let running = tokio::spawn(std::future::pending::<()>());
        let stopped = tokio::spawn(async {});
        health.task("consumer billing", running.abort_handle());
        assert!(health.ready().await.healthy);
        health.task("dispatcher", stopped.abort_handle());
        stopped.await.expect("ran");
        let ready = health.ready().await;
        assert!(!ready.healthy);
        assert_eq!(
            ready.checks[1].error.as_deref(),
            Some("`dispatcher` stopped")
        );
        running.abort();
    }

    #[tokio::test]
    async fn an_outbox_past_its_limit_is_not_ready() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let outbox = catga_sqlite::SqliteOutbox::open(dir.path().join("o.db"))
            .await
            .expect("opens");
        let health = Health::new();
        health.outbox("outbox", outbox.clone(), 0);
        assert!(health.ready().await.healthy);
        let envelope = catga::transport::Envelope::undecodable(
            "x".into(),
            b"x",
            &catga::Error::validation("x"),
        );
        outbox
            .enqueue(vec![catga::transport::OutboxEntry {
                subject: catga::transport::event_subject("X"),
                envelope,
            }])
            .await
            .expect("stores");
        let ready = health.ready().await;
        assert!(!ready.healthy);
        assert!(
            ready.checks[0]
                .error
                .as_deref()
                .unwrap_or_default()
                .contains("1 entries wait"),
            "{ready:?}"
        );
    }
}
