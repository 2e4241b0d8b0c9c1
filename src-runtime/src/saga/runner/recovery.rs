//! Saga recovery in a group of processes: [`SagaRunner::recover_led`] resumes a saga's pending
//! instances while this process leads the group's role, first all of them when it becomes the
//! leader, then, every sweep, the ones no runner has saved for a while (their runner died).
//!
//! Staleness is judged by versions, not by timestamps: the leader remembers the version it saw
//! of each pending instance and since when (by its own monotonic clock), and an instance whose
//! version has not moved for [`stale_after`](SagaRunner::stale_after) is stale. A runner saves
//! after every step, so an instance a live member drives stays fresh; the store needs no clock,
//! and the members' clocks need not agree.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use super::{ResumedSaga, SagaRunner};
use crate::leadership::{Leadership, Lease, validate_role};
use crate::saga::{Saga, SagaRecord};
use crate::{Context, ErrorKind, Result};

/// How often the recovery leader looks for stale instances, by default.
pub(super) const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// How long an instance goes unsaved before the recovery leader resumes it, by default.
pub(super) const STALE_AFTER: Duration = Duration::from_secs(60);

impl SagaRunner {
    /// How often [`recover_led`](Self::recover_led), while it leads, lists the pending instances
    /// to resume the stale ones: 10 s by default.
    pub fn recovery_sweep(mut self, every: Duration) -> Self {
        self.sweep_every = every;
        self
    }

    /// How long an instance must go unsaved before [`recover_led`](Self::recover_led) resumes it
    /// in a sweep: 60 s by default. A runner saves after every step, so make it longer than
    /// your longest step (its retries included): a step running longer looks stale, is run a
    /// second time by the leader, and one of the two runners then stops with a
    /// [`Conflict`](ErrorKind::Conflict). An instance whose runner died is resumed within this
    /// bound plus two sweeps of its last save.
    pub fn stale_after(mut self, unsaved: Duration) -> Self {
        self.stale_after = unsaved;
        self
    }

    /// [`resume_pending`](Self::resume_pending) while `lease` is held: the lease is checked
    /// before each instance, and a lost one stops the resuming with its
    /// [`Conflict`](ErrorKind::Conflict) (the instances resumed before it ran to their end).
    pub async fn resume_pending_led<S: Saga>(
        &self,
        saga: &S,
        ctx: &Context,
        lease: &Lease,
    ) -> Result<Vec<ResumedSaga<S::State>>> {
        self.resume_pending_under(saga, ctx, Some(lease)).await
    }

    /// The recovery runner of a group of processes, on role `saga.<group>` in `leadership`:
    /// each time this process becomes the leader it resumes `saga`'s pending instances, then,
    /// while it holds the role, every [`recovery_sweep`](Self::recovery_sweep) it resumes those
    /// no runner has saved for [`stale_after`](Self::stale_after) (a member died driving them),
    /// checking the lease before each instance; when it loses the role it campaigns again. Run
    /// it in every process of the group instead of calling
    /// [`resume_pending`](Self::resume_pending) at start-up. Returns only when the store cannot
    /// list the instances as this process becomes the leader, or the role name is invalid; a
    /// sweep that cannot list them is logged and tried again at the next sweep.
    ///
    /// An instance a member is driving when the leader resumes it is driven by whichever saves
    /// first; the other stops with a [`Conflict`](ErrorKind::Conflict) (see
    /// [`SagaStore::update`](crate::saga::SagaStore::update)).
    ///
    /// ```no_run
    /// # async fn run<S: catga::saga::Saga>(runner: catga::saga::SagaRunner, saga: S, leadership: std::sync::Arc<dyn catga::leadership::Leadership>, mediator: catga::Mediator) -> catga::Result<()> {
    /// use std::time::Duration;
    ///
    /// // The steps publish and send through the service's mediator.
    /// let ctx = mediator.context();
    /// runner
    ///     .recovery_sweep(Duration::from_secs(5))
    ///     .stale_after(Duration::from_secs(30))
    ///     .recover_led(&saga, &ctx, leadership.as_ref(), "billing")
    ///     .await
    /// # }
    /// ```
    pub async fn recover_led<S: Saga>(
        &self,
        saga: &S,
        ctx: &Context,
        leadership: &dyn Leadership,
        group: &str,
    ) -> Result<()> {
        let role = format!("saga.{group}");
        validate_role(&role)?;
        loop {
            let lease = leadership.campaign(&role).await?;
            match self.lead_recovery(saga, ctx, &lease, &role).await {
                Ok(reason) => tracing::info!(
                    role,
                    saga = S::NAME,
                    reason,
                    "catga: lost the saga recovery lease"
                ),
                Err(error) if error.kind() == ErrorKind::Conflict => {
                    tracing::warn!(role, saga = S::NAME, %error, "catga: saga recovery stopped");
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// One tenure: resumes every pending instance, then sweeps for stale ones until the lease
    /// is lost, and returns why. A lease found lost at a check is its
    /// [`Conflict`](ErrorKind::Conflict).
    async fn lead_recovery<S: Saga>(
        &self,
        saga: &S,
        ctx: &Context,
        lease: &Lease,
        role: &str,
    ) -> Result<String> {
        let resumed = self.resume_pending_led(saga, ctx, lease).await?;
        tracing::info!(
            role,
            saga = S::NAME,
            token = lease.token(),
            resumed = resumed.len(),
            "catga: leading saga recovery; resumed the pending instances"
        );
        let mut sightings = Sightings::default();
        loop {
            tokio::select! {
                reason = lease.lost() => return Ok(reason),
                () = tokio::time::sleep(self.sweep_every) => {}
            }
            let pending = match self.store.pending(S::NAME).await {
                Ok(pending) => pending,
                // A store that cannot answer now (busy, restarting) may at the next sweep;
                // ending the recovery here would leave the stale instances for good.
                Err(error) => {
                    tracing::warn!(
                        role,
                        saga = S::NAME,
                        %error,
                        "catga: saga recovery could not list the pending instances; trying again \
                         at the next sweep"
                    );
                    continue;
                }
            };
            let stale = sightings.stale(pending, Instant::now(), self.stale_after);
            if stale.is_empty() {
                continue;
            }
            let resumed = self.resume_each(saga, ctx, stale, Some(lease)).await?;
            tracing::info!(
                role,
                saga = S::NAME,
                token = lease.token(),
                resumed = resumed.len(),
                stale_after = ?self.stale_after,
                "catga: resumed the instances no runner saved within the staleness bound"
            );
        }
    }
}

/// The version the recovery leader last saw of each pending instance, and since when.
#[derive(Debug, Default)]
struct Sightings {
    by_id: HashMap<String, Sighting>,
}

#[derive(Debug, Clone, Copy)]
struct Sighting {
    version: u64,
    /// When this version was first seen (or last resumed).
    since: Instant,
}

impl Sightings {
    /// Takes note of the instances `pending` lists at `now`, and returns the ones whose
    /// version has not moved for `stale_after`, oldest first. Those are about to be resumed, so
    /// they count as seen afresh: one its resume cannot move (its state no longer decodes, say)
    /// is tried again a whole bound later, not at every sweep.
    fn stale(
        &mut self,
        pending: Vec<SagaRecord>,
        now: Instant,
        stale_after: Duration,
    ) -> Vec<SagaRecord> {
        let mut seen = HashMap::with_capacity(pending.len());
        let mut stale = Vec::new();
        for record in pending {
            let since = match self.by_id.get(&record.id) {
                Some(sighting) if sighting.version == record.version => sighting.since,
                _ => now,
            };
            let is_stale = now.duration_since(since) >= stale_after;
            let since = if is_stale { now } else { since };
            let sighting = Sighting {
                version: record.version,
                since,
            };
            seen.insert(record.id.clone(), sighting);
            if is_stale {
                stale.push(record);
            }
        }
        // Instances no longer pending are forgotten.
        self.by_id = seen;
        stale
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::MessageId;
    use crate::leadership::EmbeddedLeadership;
    use crate::saga::{MemorySagaStore, SagaStore};
    use crate::transport::BoxFuture;

    /// One step, counting its runs.
    #[derive(Default)]
    struct Counted {
        runs: Arc<AtomicUsize>,
    }

    impl Saga for Counted {
        type State = u32;
        const NAME: &'static str = "counted";
        const STEPS: &'static [&'static str] = &["count"];

        async fn execute(&self, _step: usize, state: &mut u32, _ctx: &Context) -> Result<()> {
            self.runs.fetch_add(1, Ordering::SeqCst);
            *state += 1;
            Ok(())
        }

        async fn compensate(&self, _step: usize, _state: &mut u32, _ctx: &Context) -> Result<()> {
            Ok(())
        }
    }

    /// [`EmbeddedLeadership`], counting the campaigns: one means no change of leader.
    #[derive(Debug, Default)]
    struct CountedCampaigns {
        inner: EmbeddedLeadership,
        campaigns: AtomicUsize,
    }

    impl Leadership for CountedCampaigns {
        fn campaign<'a>(&'a self, role: &'a str) -> BoxFuture<'a, Result<Lease>> {
            self.campaigns.fetch_add(1, Ordering::SeqCst);
            self.inner.campaign(role)
        }
    }

    const SWEEP: Duration = Duration::from_secs(10);
    const STALE: Duration = Duration::from_secs(60);
    /// A hang guard only: paused time reaches it at once when the runner waits for nothing.
    const HANG_GUARD: Duration = Duration::from_secs(3600);

    async fn with_pending(count: usize) -> Arc<dyn SagaStore> {
        let store: Arc<dyn SagaStore> = Arc::new(MemorySagaStore::new());
        for i in 0..count {
            store.create(&running(&format!("c-{i}"))).await.unwrap();
        }
        store
    }

    fn running(id: &str) -> SagaRecord {
        SagaRecord::new(Counted::NAME, id, b"0".to_vec())
    }

    /// Runs `recover_led` for `saga` over `store` on a task, sweeping every [`SWEEP`] and
    /// resuming instances unsaved for [`STALE`].
    fn recovering(
        store: &Arc<dyn SagaStore>,
        saga: &Arc<Counted>,
        leadership: &Arc<CountedCampaigns>,
    ) -> tokio::task::JoinHandle<Result<()>> {
        let runner = SagaRunner::with_shared_store(Arc::clone(store))
            .recovery_sweep(SWEEP)
            .stale_after(STALE);
        let (saga, leadership) = (Arc::clone(saga), Arc::clone(leadership));
        tokio::spawn(async move {
            runner
                .recover_led(
                    saga.as_ref(),
                    &Context::new(MessageId(1)),
                    leadership.as_ref(),
                    "billing",
                )
                .await
        })
    }

    async fn until_none_pending(store: &Arc<dyn SagaStore>) {
        tokio::time::timeout(HANG_GUARD, async {
            while !store.pending(Counted::NAME).await.unwrap().is_empty() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
        .await
        .expect("the instances were resumed");
    }

    #[tokio::test]
    async fn a_lost_lease_resumes_no_instance() {
        let runner = SagaRunner::with_shared_store(with_pending(3).await);
        let saga = Counted::default();
        let (lease, keeper) = Lease::renewed(
            "saga.billing",
            2,
            tokio::time::Instant::now() + Duration::from_secs(60),
        );
        keeper.depose("another candidate holds the role");
        let error = runner
            .resume_pending_led(&saga, &Context::new(MessageId(1)), &lease)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Conflict);
        assert_eq!(saga.runs.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_recovery_leader_resumes_every_pending_instance_once() {
        let store = with_pending(3).await;
        let saga = Arc::new(Counted::default());
        let recovering = recovering(&store, &saga, &Arc::default());
        tokio::time::timeout(Duration::from_secs(60), async {
            while !store.pending(Counted::NAME).await.unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("resumed in time");
        assert_eq!(saga.runs.load(Ordering::SeqCst), 3);
        recovering.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn the_sweep_resumes_a_stale_instance_without_a_change_of_leader() {
        let store = with_pending(0).await;
        let saga = Arc::new(Counted::default());
        let leadership = Arc::new(CountedCampaigns::default());
        let recovering = recovering(&store, &saga, &leadership);
        // Left running by a member that died after the leader was elected: never saved again.
        tokio::time::sleep(Duration::from_secs(1)).await;
        store.create(&running("left")).await.unwrap();
        until_none_pending(&store).await;
        assert_eq!(saga.runs.load(Ordering::SeqCst), 1);
        assert_eq!(leadership.campaigns.load(Ordering::SeqCst), 1);
        recovering.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn the_sweep_leaves_an_instance_saved_within_the_bound_until_it_goes_stale() {
        let store = with_pending(0).await;
        let saga = Arc::new(Counted::default());
        let leadership = Arc::new(CountedCampaigns::default());
        let recovering = recovering(&store, &saga, &leadership);
        tokio::time::sleep(Duration::from_secs(1)).await;
        // A live member drives it: it saves well within the bound, for ten bounds.
        let mut driven = running("driven");
        store.create(&driven).await.unwrap();
        for _ in 0..20 {
            tokio::time::sleep(STALE / 2).await;
            driven.version += 1;
            store.update(&driven).await.expect("nobody else saved it");
        }
        assert_eq!(
            saga.runs.load(Ordering::SeqCst),
            0,
            "not resumed while fresh"
        );
        // The member dies: the instance goes stale, and the sweep resumes it.
        until_none_pending(&store).await;
        assert_eq!(saga.runs.load(Ordering::SeqCst), 1);
        assert_eq!(leadership.campaigns.load(Ordering::SeqCst), 1);
        recovering.abort();
    }

    /// [`MemorySagaStore`] whose listing of pending instances fails at chosen calls.
    #[derive(Default)]
    struct FailingListings {
        inner: MemorySagaStore,
        listings: AtomicUsize,
        failing: Vec<usize>,
    }

    impl SagaStore for FailingListings {
        fn create<'a>(&'a self, record: &'a SagaRecord) -> BoxFuture<'a, Result<()>> {
            self.inner.create(record)
        }
        fn update<'a>(&'a self, record: &'a SagaRecord) -> BoxFuture<'a, Result<()>> {
            self.inner.update(record)
        }
        fn load<'a>(
            &'a self,
            saga: &'a str,
            id: &'a str,
        ) -> BoxFuture<'a, Result<Option<SagaRecord>>> {
            self.inner.load(saga, id)
        }
        fn pending<'a>(&'a self, saga: &'a str) -> BoxFuture<'a, Result<Vec<SagaRecord>>> {
            let listing = self.listings.fetch_add(1, Ordering::SeqCst);
            if self.failing.contains(&listing) {
                return Box::pin(async { Err(crate::Error::storage("database is locked")) });
            }
            self.inner.pending(saga)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_sweep_the_store_fails_is_tried_again_at_the_next() {
        // Listing 0 is the election's; the first three sweeps' fail.
        let store: Arc<dyn SagaStore> = Arc::new(FailingListings {
            failing: vec![1, 2, 3],
            ..FailingListings::default()
        });
        let saga = Arc::new(Counted::default());
        let recovering = recovering(&store, &saga, &Arc::default());
        tokio::time::sleep(Duration::from_secs(1)).await;
        store.create(&running("left")).await.unwrap();
        tokio::time::timeout(HANG_GUARD, async {
            while saga.runs.load(Ordering::SeqCst) == 0 {
                assert!(!recovering.is_finished(), "the recovery ended");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
        .await
        .expect("the instance was resumed");
        assert!(!recovering.is_finished(), "the recovery goes on");
        recovering.abort();
    }

    #[test]
    fn an_instance_its_resume_cannot_move_is_resumed_once_a_bound() {
        let mut sightings = Sightings::default();
        let start = Instant::now();
        // Ten bounds of sweeps that find the instance at one version (a state that no longer
        // decodes, say): resumed when it first goes stale, then once a bound, not every sweep.
        let resumes: usize = (0..60)
            .map(|sweep| {
                let unmoved = vec![running("unmoved")];
                sightings.stale(unmoved, start + SWEEP * sweep, STALE).len()
            })
            .sum();
        assert_eq!(resumes, 9);
    }

    #[tokio::test]
    async fn a_group_that_cannot_name_a_role_is_refused() {
        let runner = SagaRunner::with_shared_store(with_pending(0).await);
        let error = runner
            .recover_led(
                &Counted::default(),
                &Context::new(MessageId(1)),
                &EmbeddedLeadership::new(),
                "billing team",
            )
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Configuration);
    }
}
