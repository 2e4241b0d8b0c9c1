//! One active instance per role: the outbox dispatcher of one store, the saga recovery runner
//! of one group.
//!
//! A [`Leadership`] is where candidates [`campaign`](Leadership::campaign) for a named role;
//! the winner gets a [`Lease`] and keeps it until it resigns, dies, or fails to renew it in
//! time. The lease is judged by the local monotonic clock: it is held until its deadline (the
//! start of its last successful renewal + the time to live - a safety margin), so a holder that
//! stalls (a long pause, a lost broker) stops acting on its own, before anyone else can take
//! over. Work the role does checks the lease before each step ([`Lease::is_held`],
//! [`Lease::check`]) and stops at [`Lease::lost`]:
//!
//! ```
//! # async fn run() -> catga::Result<()> {
//! use catga::leadership::{EmbeddedLeadership, Leadership};
//!
//! let leadership = EmbeddedLeadership::new();
//! let lease = leadership.campaign("outbox/shop").await?;
//! while lease.is_held() {
//!     let token = lease.check()?; // hand it to the resource, which refuses smaller ones
//!     // ... one batch ...
//! #   let _ = token;
//! #   break;
//! }
//! lease.resign().await;
//! # Ok(()) }
//! ```
//!
//! A check and the act that follows it are not atomic: a holder paused between them acts after
//! it lost the lease. [`Lease::token`], the fencing token, covers that: every later tenure of the
//! role has a larger one, so a resource that remembers the largest token it has seen refuses
//! the paused holder's late act.
//!
//! Deadlines are [`tokio::time::Instant`]s: the monotonic clock, which keeps running while the
//! process is paused (SIGSTOP), and tokio's paused clock in tests.
//!
//! [`EmbeddedLeadership`] is the default for one process: always the leader, no broker.
//! `catga_nats::leader::NatsLeadership` elects over a JetStream key-value bucket.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::transport::BoxFuture;
use crate::{Error, Result};

/// Where candidates compete for roles. Object safe: hold it as `Arc<dyn Leadership>`.
pub trait Leadership: Send + Sync + fmt::Debug {
    /// Waits until this candidate holds `role`, and returns its lease. Waits through broker
    /// outages; fails only when it can never succeed (an invalid role name, a misconfigured
    /// bucket). Dropping the future gives the campaign up: no lease was handed out, so nothing
    /// acts, and a claim it may have written lapses like a dead holder's.
    fn campaign<'a>(&'a self, role: &'a str) -> BoxFuture<'a, Result<Lease>>;
}

/// Checks that `role` can name a role in every [`Leadership`]: letters, digits, `-`, `_`, `=`,
/// `/` and `.` (not first or last), as in `outbox.shop` (one key of a key-value bucket).
pub fn validate_role(role: &str) -> Result<()> {
    let valid = !role.is_empty()
        && !role.starts_with('.')
        && !role.ends_with('.')
        && role
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_=/.".contains(&byte));
    if valid {
        Ok(())
    } else {
        Err(Error::new(
            crate::ErrorKind::Configuration,
            format!(
                "`{role}` cannot name a leadership role: use letters, digits, `-`, `_`, `=`, \
                 `/` and `.` (not first or last), as in `outbox.shop`"
            ),
        ))
    }
}

/// The leadership of a single process: every campaign wins at once and its lease never lapses.
/// Tokens still grow from one campaign to the next.
#[derive(Debug, Clone, Default)]
pub struct EmbeddedLeadership {
    last_token: Arc<AtomicU64>,
}

impl EmbeddedLeadership {
    /// A leadership where this process always leads.
    pub fn new() -> Self {
        EmbeddedLeadership::default()
    }
}

impl Leadership for EmbeddedLeadership {
    fn campaign<'a>(&'a self, role: &'a str) -> BoxFuture<'a, Result<Lease>> {
        let token = self.last_token.fetch_add(1, Ordering::Relaxed) + 1;
        Box::pin(std::future::ready(Ok(Lease::unbounded(role, token))))
    }
}

/// The right to act in a role, until [`lost`](Lease::lost). Dropping it resigns.
pub struct Lease {
    role: String,
    token: u64,
    tenure: Tenure,
}

enum Tenure {
    /// Never lapses (one process, no broker).
    Unbounded,
    /// Kept alive by a [`LeaseKeeper`], which extends the deadline on each renewal.
    Renewed {
        status: watch::Receiver<LeaseStatus>,
        resign: Option<oneshot::Sender<oneshot::Sender<()>>>,
    },
}

#[derive(Debug, Clone)]
struct LeaseStatus {
    deadline: Instant,
    deposed: Option<String>,
}

impl Lease {
    /// A lease that never lapses, for a leadership without rivals.
    pub fn unbounded(role: &str, token: u64) -> Lease {
        Lease {
            role: role.to_string(),
            token,
            tenure: Tenure::Unbounded,
        }
    }

    /// A lease held until `deadline` unless the returned keeper extends it: for leadership
    /// implementations, whose keeper task renews the lease with the broker.
    pub fn renewed(role: &str, token: u64, deadline: Instant) -> (Lease, LeaseKeeper) {
        let (status_tx, status_rx) = watch::channel(LeaseStatus {
            deadline,
            deposed: None,
        });
        let (resign_tx, resign_rx) = oneshot::channel();
        let lease = Lease {
            role: role.to_string(),
            token,
            tenure: Tenure::Renewed {
                status: status_rx,
                resign: Some(resign_tx),
            },
        };
        let keeper = LeaseKeeper {
            role: role.to_string(),
            token,
            status: status_tx,
            resign: Some(resign_rx),
        };
        (lease, keeper)
    }

    /// The role this lease is for.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// The fencing token: the same for the whole tenure, larger than every earlier tenure's of
    /// this role. A resource the role writes to keeps the largest token it has seen and refuses
    /// writes carrying a smaller one.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// When the lease lapses unless renewed first (`None`: never).
    pub fn deadline(&self) -> Option<Instant> {
        match &self.tenure {
            Tenure::Unbounded => None,
            Tenure::Renewed { status, .. } => Some(status.borrow().deadline),
        }
    }

    /// Whether the lease is still held by the local clock: not deposed, its keeper alive and
    /// its deadline ahead. Check before each act; once false it stays false.
    pub fn is_held(&self) -> bool {
        self.loss().is_none()
    }

    /// The token while the lease is held, else a [`Conflict`](crate::ErrorKind::Conflict)
    /// saying why it is not.
    pub fn check(&self) -> Result<u64> {
        match self.loss() {
            None => Ok(self.token),
            Some(reason) => Err(Error::conflict(format!(
                "the lease on role `{}` (token {}) is lost: {reason}; another instance may \
                 hold it now",
                self.role, self.token
            ))),
        }
    }

    /// Waits until the lease is lost, and says why; never returns for an unbounded lease.
    pub async fn lost(&self) -> String {
        let Tenure::Renewed { status, .. } = &self.tenure else {
            return std::future::pending().await;
        };
        let mut status = status.clone();
        loop {
            // Marked seen before it is judged, so a change after this wakes the wait below.
            let current = status.borrow_and_update().clone();
            if let Some(reason) = current.loss() {
                return reason;
            }
            let deadline = current.deadline;
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                changed = status.changed() => {
                    if changed.is_err() {
                        return status
                            .borrow()
                            .loss()
                            .unwrap_or_else(|| "its keeper stopped".to_string());
                    }
                }
            }
        }
    }

    /// Gives the role up: the keeper releases it with the broker, so another candidate takes
    /// over without waiting for the lease to lapse. Returns once released (or when the keeper
    /// is already gone).
    pub async fn resign(mut self) {
        if let Tenure::Renewed { resign, .. } = &mut self.tenure
            && let Some(resign) = resign.take()
        {
            let (released_tx, released_rx) = oneshot::channel();
            if resign.send(released_tx).is_ok() {
                let _ = released_rx.await;
            }
        }
    }

    fn loss(&self) -> Option<String> {
        let Tenure::Renewed { status, .. } = &self.tenure else {
            return None;
        };
        // A deposed lease's keeper stops: the reason it gave first.
        status.borrow().loss().or_else(|| {
            status
                .has_changed()
                .is_err()
                .then(|| "its keeper stopped".to_string())
        })
    }
}

impl LeaseStatus {
    fn loss(&self) -> Option<String> {
        if let Some(reason) = &self.deposed {
            return Some(reason.clone());
        }
        (Instant::now() >= self.deadline)
            .then(|| "it was not renewed before its deadline".to_string())
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("role", &self.role)
            .field("token", &self.token)
            .field("deadline", &self.deadline())
            .field("held", &self.is_held())
            .finish()
    }
}

/// The implementation's half of a [`Lease`]: extends it after each renewal, deposes it when the
/// broker says another holds the role, and hears of its resignation.
pub struct LeaseKeeper {
    role: String,
    token: u64,
    status: watch::Sender<LeaseStatus>,
    resign: Option<oneshot::Receiver<oneshot::Sender<()>>>,
}

impl LeaseKeeper {
    /// The role of the lease.
    pub fn role(&self) -> &str {
        &self.role
    }

    /// The lease's token.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// The lease's current deadline.
    pub fn deadline(&self) -> Instant {
        self.status.borrow().deadline
    }

    /// Whether the lease is still held: not deposed and its deadline ahead.
    pub fn is_held(&self) -> bool {
        self.status.borrow().loss().is_none()
    }

    /// Moves the deadline to `deadline` after a successful renewal. Does nothing once the lease
    /// is lost: a lapsed lease is never revived, since another may hold the role meanwhile.
    pub fn extend(&self, deadline: Instant) {
        if self.is_held() {
            self.status.send_modify(|status| {
                status.deadline = status.deadline.max(deadline);
            });
        }
    }

    /// Ends the lease at once, for `reason` (another candidate holds the role).
    pub fn depose(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.status.send_modify(|status| {
            status.deposed.get_or_insert(reason);
        });
    }

    /// Waits until the lease is resigned or dropped. The returned [`Resignation`] tells the
    /// resigning holder that the role is released when dropped, so drop it after releasing.
    pub async fn resigned(&mut self) -> Resignation {
        let Some(resign) = self.resign.as_mut() else {
            return std::future::pending().await;
        };
        let released = resign.await.ok();
        self.resign = None;
        self.depose("it was resigned");
        Resignation { released }
    }
}

impl fmt::Debug for LeaseKeeper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseKeeper")
            .field("role", &self.role)
            .field("token", &self.token)
            .field("deadline", &self.deadline())
            .field("held", &self.is_held())
            .finish()
    }
}

/// A lease's resignation, from [`LeaseKeeper::resigned`]; dropping it tells the holder waiting
/// in [`Lease::resign`] that the role is released.
#[derive(Debug)]
pub struct Resignation {
    released: Option<oneshot::Sender<()>>,
}

impl Drop for Resignation {
    fn drop(&mut self) {
        if let Some(released) = self.released.take() {
            let _ = released.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn role_names_are_key_value_keys() {
        for role in ["outbox", "outbox.shop", "saga/billing-2", "a=b_c"] {
            assert!(validate_role(role).is_ok(), "{role}");
        }
        for role in [
            "",
            ".outbox",
            "outbox.",
            "outbox shop",
            "outbox.*",
            "outbox.>",
        ] {
            let error = validate_role(role).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Configuration, "{role}");
        }
    }

    #[tokio::test]
    async fn embedded_leadership_always_leads_with_growing_tokens() {
        let leadership = EmbeddedLeadership::new();
        let first = leadership.campaign("outbox").await.unwrap();
        let second = leadership.campaign("outbox").await.unwrap();
        assert!(first.is_held() && second.is_held());
        assert_eq!(first.deadline(), None);
        assert!(second.token() > first.token());
        assert_eq!(second.check().unwrap(), second.token());
    }

    #[tokio::test(start_paused = true)]
    async fn a_lease_lapses_at_its_deadline_unless_extended() {
        let start = Instant::now();
        let (lease, keeper) = Lease::renewed("outbox", 7, start + Duration::from_secs(1));
        assert!(lease.is_held());
        keeper.extend(start + Duration::from_secs(3));
        let reason = lease.lost().await;
        assert!(Instant::now() >= start + Duration::from_secs(3), "{reason}");
        assert!(!lease.is_held());
        assert!(!keeper.is_held());
        keeper.extend(Instant::now() + Duration::from_secs(10));
        assert!(!lease.is_held(), "a lapsed lease is never revived");
        let error = lease.check().unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Conflict);
        assert!(error.message().contains("token 7"), "{error}");
    }

    #[tokio::test]
    async fn a_deposed_lease_is_lost_at_once() {
        let (lease, keeper) = Lease::renewed("outbox", 1, Instant::now() + Duration::from_secs(60));
        keeper.depose("another candidate holds the role");
        assert!(!lease.is_held());
        assert_eq!(lease.lost().await, "another candidate holds the role");
    }

    #[tokio::test]
    async fn a_lease_whose_keeper_stops_is_lost() {
        let (lease, keeper) = Lease::renewed("outbox", 1, Instant::now() + Duration::from_secs(60));
        drop(keeper);
        assert!(!lease.is_held());
        assert_eq!(lease.lost().await, "its keeper stopped");
    }

    #[tokio::test]
    async fn resigning_waits_until_the_keeper_released_the_role() {
        let (lease, mut keeper) =
            Lease::renewed("outbox", 1, Instant::now() + Duration::from_secs(60));
        let released = Arc::new(AtomicU64::new(0));
        let keeper_task = tokio::spawn({
            let released = released.clone();
            async move {
                let resignation = keeper.resigned().await;
                assert!(!keeper.is_held());
                released.store(1, Ordering::SeqCst);
                drop(resignation);
            }
        });
        lease.resign().await;
        assert_eq!(released.load(Ordering::SeqCst), 1);
        keeper_task.await.unwrap();
    }

    #[tokio::test]
    async fn dropping_a_lease_resigns_it() {
        let (lease, mut keeper) =
            Lease::renewed("outbox", 1, Instant::now() + Duration::from_secs(60));
        drop(lease);
        let _resignation = keeper.resigned().await;
        assert!(!keeper.is_held());
    }
}
