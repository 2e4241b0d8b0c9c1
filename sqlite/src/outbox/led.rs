//! The led dispatcher: [`OutboxDispatcher::run_led`] dispatches only while this process holds
//! the outbox's role in a [`Leadership`], so any number of processes can run it on one outbox
//! file and exactly one publishes at a time.
//!
//! The lease is checked before each batch and before each publish, and every settle (marking
//! entries delivered or dead-lettered) is fenced by the lease's token in the file itself: a
//! dispatcher paused past its lease publishes at most the entries it was sending when it was
//! paused, and records nothing once a later leader has settled or started. Such a late
//! publish duplicates an entry the next leader publishes too; the broker drops it by message
//! id within its duplicate window, and the inbox past it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use catga::leadership::{Leadership, Lease, validate_role};
use catga::{ErrorKind, Result};

use super::OutboxDispatcher;

/// The first wait after a failed pass; doubled up to [`MAX_BACKOFF`] while the transport is
/// down.
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How long to wait before campaigning again when the fence refused a lease this process still
/// holds: the leadership's tokens went back (its bucket was deleted and made again).
const FENCED_WHILE_HELD_PAUSE: Duration = Duration::from_secs(1);

impl OutboxDispatcher {
    /// The role [`run_led`](Self::run_led) campaigns for: `outbox.<file stem>` by default (the
    /// stem's characters a role cannot hold become `-`), which every process sharing the file
    /// derives alike.
    pub fn leader_role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// Dispatches while this process leads the outbox's role in `leadership`, and waits to lead
    /// again after losing it; returns only on a storage error or an invalid role. Run it in
    /// every process sharing the outbox file: one dispatches, the others take over within the
    /// lease's time to live when it dies. Plain [`run`](Self::run) is for one process alone.
    ///
    /// ```no_run
    /// # async fn run(outbox: catga_sqlite::SqliteOutbox, transport: std::sync::Arc<dyn catga::transport::Transport>, leadership: std::sync::Arc<dyn catga::leadership::Leadership>) -> catga::Result<()> {
    /// use catga_sqlite::OutboxDispatcher;
    ///
    /// // `leadership`: `catga_nats::leader::NatsLeadership` shared by the group.
    /// OutboxDispatcher::new(outbox, transport).run_led(leadership).await
    /// # }
    /// ```
    pub async fn run_led(self, leadership: Arc<dyn Leadership>) -> Result<()> {
        let role = self
            .role
            .clone()
            .unwrap_or_else(|| default_role(&self.outbox.path()));
        validate_role(&role)?;
        loop {
            let lease = leadership.campaign(&role).await?;
            tracing::info!(
                role,
                token = lease.token(),
                "catga: leading the outbox dispatch"
            );
            match self.lead(&lease).await {
                Ok(reason) => {
                    tracing::info!(
                        role,
                        token = lease.token(),
                        reason,
                        "catga: lost the outbox dispatch lease; campaigning again"
                    );
                }
                Err(error) if error.kind() == ErrorKind::Conflict => {
                    tracing::warn!(
                        role,
                        token = lease.token(),
                        %error,
                        "catga: the outbox dispatcher stopped leading; campaigning again"
                    );
                    if lease.is_held() {
                        tracing::error!(
                            role,
                            token = lease.token(),
                            "catga: the outbox's fence is ahead of the leadership's tokens: \
                             was the leadership bucket deleted while dispatchers ran?"
                        );
                        drop(lease);
                        tokio::time::sleep(FENCED_WHILE_HELD_PAUSE).await;
                    }
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Dispatches while `lease` is held, like [`run`](Self::run); returns why it was lost, or
    /// a [`Conflict`](ErrorKind::Conflict) when a check or the fence finds it lost first.
    async fn lead(&self, lease: &Lease) -> Result<String> {
        let fenced = lease.deadline().is_some();
        if fenced {
            self.outbox.raise_fence(lease.token()).await?;
        }
        let mut backoff = MIN_BACKOFF;
        loop {
            let stored = self.outbox.stored.notified();
            let flushed = self.flush_under(Some(lease)).await?;
            let wait = if flushed.waiting > 0 {
                let wait = backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                wait
            } else {
                backoff = MIN_BACKOFF;
                self.idle_poll
            };
            tokio::select! {
                reason = lease.lost() => return Ok(reason),
                () = stored, if flushed.waiting == 0 => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// `outbox.<stem of path>`, the stem's characters a role cannot hold replaced by `-`.
fn default_role(path: &Path) -> String {
    let stem: String = path
        .file_stem()
        .map(|stem| stem.to_string_lossy())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if stem.is_empty() {
        "outbox".to_string()
    } else {
        format!("outbox.{stem}")
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn the_default_role_is_named_after_the_file() {
        for (path, role) in [
            ("/var/lib/shop.db", "outbox.shop"),
            ("orders v2.sqlite", "outbox.orders-v2"),
            ("/data/.db", "outbox.-db"),
        ] {
            let role_of = default_role(&PathBuf::from(path));
            assert_eq!(role_of, role, "{path}");
            assert!(validate_role(&role_of).is_ok(), "{role_of}");
        }
    }
}
