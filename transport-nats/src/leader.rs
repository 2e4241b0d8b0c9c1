//! Leader election over a JetStream key-value bucket: [`NatsLeadership`], the
//! [`Leadership`] of processes that share a NATS server.
//!
//! One key per role in the bucket [`LEADERS_BUCKET`] (`catga_leaders`), holding the holder's
//! candidate id. The bucket's `max_age` is the lease's time to live ([`LeadershipOptions::ttl`]):
//! a key nobody rewrites vanishes that long after its last write (nats-server 2.9 has no
//! per-message TTL).
//!
//! - **Campaign**: read the key; when it is absent, deleted, or holds this campaign's own id
//!   (a write whose answer was lost), write it expecting the revision read (0 for absent), a
//!   compare-and-set. The revision of that write is the lease's fencing token; the stream's
//!   sequence only grows, so every later tenure's token is larger. Losers watch the key for a
//!   deletion and poll it every quarter of the TTL for its expiry.
//! - **Renewal**: the holder rewrites the key every third of `ttl - safety_margin`, expecting
//!   its last revision. Each success moves the local deadline to `ttl - safety_margin` after
//!   the write was sent: the write's expiry on the server comes later, since the server
//!   stamped it after it was sent. A renewal refused for a wrong revision (the key lapsed, and
//!   maybe another holds it) deposes the lease at once; one that fails otherwise (broker
//!   unreachable, timeout) is retried until the deadline passes, and then the lease is lost.
//! - **Resignation** ([`Lease::resign`](catga::leadership::Lease::resign), or dropping the
//!   lease): the holder deletes the key expecting its revision, so the watchers take over at
//!   once; a lease that was lost is left alone.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use catga::leadership::{Leadership, Lease, LeaseKeeper, validate_role};
use catga::transport::BoxFuture;
use catga::{Error, ErrorKind, Result};
use futures_util::StreamExt as _;
use tokio::time::Instant;

/// The bucket [`NatsLeadership`] keeps its leases in unless told otherwise.
pub const LEADERS_BUCKET: &str = "catga_leaders";

/// How [`NatsLeadership`] campaigns and renews. Every candidate sharing a bucket must use the
/// same `ttl` (the bucket's `max_age`, fixed when the bucket is created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadershipOptions {
    /// The key-value bucket holding one key per role.
    pub bucket: String,
    /// How long a lease lasts after its holder's last renewal: how long the others wait when
    /// the holder dies. Shorter fails over sooner; longer survives longer pauses (GC, a slow
    /// disk, a broker failover) without losing the lease. 10 s by default, at least 100 ms.
    pub ttl: Duration,
    /// How much earlier than the server the holder considers its lease gone: covers clock
    /// rate differences and the time between a check and the act it guards. A tenth of `ttl`
    /// by default (`None`); less than half of it.
    pub safety_margin: Option<Duration>,
    /// The longest wait for the broker in one key-value operation; bounded by the renewal
    /// period, so a hung renewal is retried in time.
    pub operation_timeout: Duration,
    /// This candidate's name in the key's value and in logs (the process id is appended); the
    /// executable's name by default.
    pub candidate: Option<String>,
}

impl Default for LeadershipOptions {
    fn default() -> Self {
        LeadershipOptions {
            bucket: LEADERS_BUCKET.to_string(),
            ttl: Duration::from_secs(10),
            safety_margin: None,
            operation_timeout: Duration::from_secs(5),
            candidate: None,
        }
    }
}

/// The periods derived from the options.
#[derive(Debug, Clone, Copy)]
struct Timing {
    ttl: Duration,
    /// `ttl - safety_margin`: how long after sending a successful write the lease is held.
    held_for: Duration,
    renew_every: Duration,
    retry_every: Duration,
    poll_every: Duration,
    operation_timeout: Duration,
}

impl Timing {
    fn of(options: &LeadershipOptions) -> Result<Timing> {
        let ttl = options.ttl;
        if ttl < Duration::from_millis(100) {
            return Err(Error::new(
                ErrorKind::Configuration,
                format!("a leadership ttl of {ttl:?} is too short: use at least 100 ms"),
            ));
        }
        let margin = options.safety_margin.unwrap_or(ttl / 10);
        if margin >= ttl / 2 {
            return Err(Error::new(
                ErrorKind::Configuration,
                format!(
                    "a leadership safety margin of {margin:?} leaves too little of the ttl \
                     {ttl:?}: use less than half of it"
                ),
            ));
        }
        let held_for = ttl - margin;
        let renew_every = held_for / 3;
        Ok(Timing {
            ttl,
            held_for,
            renew_every,
            retry_every: renew_every / 4,
            poll_every: ttl / 4,
            operation_timeout: options.operation_timeout.min(renew_every),
        })
    }
}

/// Leader election over a JetStream key-value bucket (see the [module](self) for how). Cheap
/// to clone: clones share the connection and the candidate name.
///
/// ```no_run
/// # async fn run(transport: catga_nats::NatsTransport) -> catga::Result<()> {
/// use catga::leadership::Leadership;
/// use catga_nats::leader::{LeadershipOptions, NatsLeadership};
///
/// let leadership =
///     NatsLeadership::new(transport.client().clone(), LeadershipOptions::default()).await?;
/// loop {
///     let lease = leadership.campaign("outbox.shop").await?;
///     while let Ok(token) = lease.check() {
///         // ... one batch, its writes carrying `token` ...
/// #       let _ = token;
///         tokio::select! {
///             _ = lease.lost() => break,
///             () = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
///         }
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct NatsLeadership {
    store: kv::Store,
    bucket: String,
    candidate: Arc<str>,
    campaigns: Arc<AtomicU64>,
    timing: Timing,
}

impl NatsLeadership {
    /// Opens the bucket `options.bucket`, creating it with `max_age` = `options.ttl` when it
    /// does not exist. Fails with [`ErrorKind::Configuration`] when the options are invalid or
    /// the bucket exists with another `max_age`, and [`ErrorKind::Unavailable`] when the
    /// broker does not answer.
    pub async fn new(client: async_nats::Client, options: LeadershipOptions) -> Result<Self> {
        let timing = Timing::of(&options)?;
        validate_bucket(&options.bucket)?;
        let mut jetstream = jetstream::new(client);
        jetstream.set_timeout(options.operation_timeout);
        let bucket = options.bucket.clone();
        let store = match jetstream.get_key_value(bucket.as_str()).await {
            Ok(store) => store,
            Err(_) => {
                jetstream
                    .create_stream(bucket_stream(&bucket, timing.ttl))
                    .await
                    .map_err(|error| {
                        Error::unavailable(format!(
                            "cannot create the leadership bucket `{bucket}`: {error}"
                        ))
                    })?;
                jetstream
                    .get_key_value(bucket.as_str())
                    .await
                    .map_err(|error| {
                        Error::unavailable(format!(
                            "cannot open the leadership bucket `{bucket}`: {error}"
                        ))
                    })?
            }
        };
        let status = store.status().await.map_err(|error| {
            Error::unavailable(format!(
                "cannot read the leadership bucket `{bucket}`: {error}"
            ))
        })?;
        if status.max_age() != timing.ttl {
            return Err(Error::new(
                ErrorKind::Configuration,
                format!(
                    "the leadership bucket `{bucket}` has a ttl (max_age) of {:?}, this \
                     candidate asks for {:?}: every candidate must use the bucket's; change it \
                     only with every candidate stopped (`nats kv del {bucket}`)",
                    status.max_age(),
                    timing.ttl
                ),
            ));
        }
        let name = options.candidate.unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|path| path.file_stem().map(|stem| stem.to_string_lossy().into()))
                .unwrap_or_else(|| "catga".to_string())
        });
        Ok(NatsLeadership {
            store,
            bucket,
            candidate: format!("{name}/{}/{:08x}", std::process::id(), fastrand::u32(..)).into(),
            campaigns: Arc::new(AtomicU64::new(0)),
            timing,
        })
    }

    /// The lease's time to live: the bucket's `max_age`.
    pub fn ttl(&self) -> Duration {
        self.timing.ttl
    }

    /// This candidate's id, as written in the keys it holds (each campaign appends its number).
    pub fn candidate(&self) -> &str {
        &self.candidate
    }

    async fn campaign_role(&self, role: &str) -> Result<Lease> {
        validate_role(role)?;
        // Unique per campaign, so only this campaign adopts a write carrying it.
        let campaign = self.campaigns.fetch_add(1, Ordering::Relaxed) + 1;
        let candidate = format!("{}#{campaign}", self.candidate);
        let mut watch = None;
        loop {
            match self.try_acquire(role, &candidate).await {
                Ok(Some(lease)) => return Ok(lease),
                Ok(None) => {}
                Err(error) => tracing::debug!(
                    role,
                    candidate,
                    %error,
                    "catga-nats: cannot campaign right now; trying again"
                ),
            }
            if watch.is_none() {
                watch = self
                    .bounded(self.store.watch(role))
                    .await
                    .ok()
                    .and_then(Result::ok);
            }
            wait_for_release(&mut watch, self.timing.poll_every).await;
        }
    }

    /// One attempt: `Ok(None)` while another holds the role.
    async fn try_acquire(&self, role: &str, candidate: &str) -> Result<Option<Lease>> {
        let entry = self
            .bounded(self.store.entry(role))
            .await?
            .map_err(|error| self.unavailable(role, &error))?;
        let expected = match entry {
            None => 0,
            Some(entry) if entry.operation != kv::Operation::Put => entry.revision,
            Some(entry) if entry.value.as_ref() == candidate.as_bytes() => entry.revision,
            Some(_) => return Ok(None),
        };
        let sent = Instant::now();
        let written = self
            .bounded(
                self.store
                    .update(role, candidate.to_string().into(), expected),
            )
            .await?;
        let token = match written {
            Ok(revision) => revision,
            Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                return Ok(None);
            }
            Err(error) => return Err(self.unavailable(role, &error)),
        };
        let (lease, keeper) = Lease::renewed(role, token, sent + self.timing.held_for);
        tracing::info!(
            role,
            candidate,
            token,
            "catga-nats: leading; renewing the lease every {:?}",
            self.timing.renew_every
        );
        tokio::spawn(keep(
            self.clone(),
            role.to_string(),
            candidate.to_string(),
            token,
            sent + self.timing.renew_every,
            keeper,
        ));
        Ok(Some(lease))
    }

    /// `future` within the operation timeout, or `Unavailable`.
    async fn bounded<T>(&self, future: impl Future<Output = T>) -> Result<T> {
        tokio::time::timeout(self.timing.operation_timeout, future)
            .await
            .map_err(|_| {
                Error::unavailable(format!(
                    "the leadership bucket `{}` did not answer within {:?}",
                    self.bucket, self.timing.operation_timeout
                ))
            })
    }

    fn unavailable(&self, role: &str, error: &dyn std::fmt::Display) -> Error {
        Error::unavailable(format!(
            "cannot reach role `{role}` in the leadership bucket `{}`: {error}",
            self.bucket
        ))
    }
}

impl Leadership for NatsLeadership {
    fn campaign<'a>(&'a self, role: &'a str) -> BoxFuture<'a, Result<Lease>> {
        Box::pin(self.campaign_role(role))
    }
}

/// The stream behind a key-value bucket, as `nats kv add --history 1 --ttl <ttl>` makes it.
/// Made by hand because async-nats' `create_key_value` first reads the account info, which it
/// cannot parse from nats-server 2.9.
fn bucket_stream(bucket: &str, ttl: Duration) -> jetstream::stream::Config {
    jetstream::stream::Config {
        name: format!("KV_{bucket}"),
        description: Some("catga leases: one key per role, held by its leader".to_string()),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age: ttl,
        storage: jetstream::stream::StorageType::File,
        num_replicas: 1,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        ..jetstream::stream::Config::default()
    }
}

/// Renews the lease until it is resigned (then releases the role), deposed or lapsed.
async fn keep(
    leadership: NatsLeadership,
    role: String,
    candidate: String,
    mut revision: u64,
    mut next_renewal: Instant,
    mut keeper: LeaseKeeper,
) {
    let timing = leadership.timing;
    loop {
        tokio::select! {
            resignation = keeper.resigned() => {
                // Expecting our revision: deletes nothing another holder wrote.
                let released = leadership
                    .bounded(leadership.store.delete_expect_revision(&role, Some(revision)))
                    .await;
                tracing::info!(role, token = keeper.token(), ?released, "catga-nats: resigned");
                drop(resignation);
                return;
            }
            () = tokio::time::sleep_until(next_renewal) => {}
        }
        if !keeper.is_held() {
            tracing::warn!(
                role,
                token = keeper.token(),
                "catga-nats: the lease lapsed before it could be renewed"
            );
            return;
        }
        let sent = Instant::now();
        let renewal = leadership
            .bounded(
                leadership
                    .store
                    .update(&role, candidate.clone().into(), revision),
            )
            .await;
        let error = match renewal {
            Ok(Ok(renewed)) => {
                revision = renewed;
                keeper.extend(sent + timing.held_for);
                next_renewal = sent + timing.renew_every;
                continue;
            }
            Ok(Err(error)) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                tracing::warn!(
                    role,
                    token = keeper.token(),
                    "catga-nats: lost the lease: its key changed since revision {revision}"
                );
                keeper.depose(format!(
                    "its key in bucket `{}` no longer holds revision {revision}: the lease \
                     lapsed on the server",
                    leadership.bucket
                ));
                return;
            }
            Ok(Err(error)) => error.to_string(),
            Err(error) => error.to_string(),
        };
        tracing::warn!(
            role,
            token = keeper.token(),
            %error,
            "catga-nats: cannot renew the lease; retrying until its deadline"
        );
        next_renewal = Instant::now() + timing.retry_every;
    }
}

/// Waits `poll` or until the watched key is deleted, whichever comes first.
async fn wait_for_release(watch: &mut Option<kv::Watch>, poll: Duration) {
    let timer = tokio::time::sleep(poll);
    let mut timer = std::pin::pin!(timer);
    loop {
        let Some(watching) = watch.as_mut() else {
            timer.await;
            return;
        };
        tokio::select! {
            () = &mut timer => return,
            entry = watching.next() => match entry {
                Some(Ok(entry)) if entry.operation != kv::Operation::Put => return,
                Some(Ok(_)) => {}
                // The watch broke (a reconnect): polling goes on, a new watch next time.
                Some(Err(_)) | None => *watch = None,
            },
        }
    }
}

/// A bucket name is a stream name's tail: letters, digits, `-` and `_`.
fn validate_bucket(bucket: &str) -> Result<()> {
    let valid = !bucket.is_empty()
        && bucket
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if valid {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Configuration,
            format!(
                "`{bucket}` cannot name a leadership bucket: use letters, digits, `-` and `_`, \
                 as in `{LEADERS_BUCKET}`"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_are_stream_name_tails() {
        assert!(validate_bucket(LEADERS_BUCKET).is_ok());
        for bucket in ["", "catga.leaders", "catga leaders", "leaders>"] {
            let error = validate_bucket(bucket).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Configuration, "{bucket}");
        }
    }

    #[test]
    fn timing_keeps_renewals_well_inside_the_lease() {
        let timing = Timing::of(&LeadershipOptions::default()).unwrap();
        assert_eq!(timing.held_for, Duration::from_secs(9));
        assert_eq!(timing.renew_every, Duration::from_secs(3));
        assert!(timing.operation_timeout <= timing.renew_every);
        let too_short = LeadershipOptions {
            ttl: Duration::from_millis(50),
            ..LeadershipOptions::default()
        };
        assert_eq!(
            Timing::of(&too_short).unwrap_err().kind(),
            ErrorKind::Configuration
        );
        let margin_too_wide = LeadershipOptions {
            safety_margin: Some(Duration::from_secs(5)),
            ..LeadershipOptions::default()
        };
        assert_eq!(
            Timing::of(&margin_too_wide).unwrap_err().kind(),
            ErrorKind::Configuration
        );
    }
}
