//! The led dispatcher as a fault-test worker: [`dispatch_led`] runs
//! [`OutboxDispatcher::run_led`] over [`NatsLeadership`] and appends what it does to a log
//! shared by every worker, one line per event: `<unix ns> <pid> <what> <detail>`, with `what`
//! one of [`LEAD`] (token), [`PUBLISH`] (message id), [`PAUSE`] and [`STOPPED`] (the reason).
//! The tests read the log to see who published when.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use catga::transport::{BoxFuture, ConsumerOptions, Envelope, Requests, Subscription, Transport};
use catga_nats::NatsTransport;
use catga_nats::leader::{LeadershipOptions, NatsLeadership};
use catga_sqlite::prelude::*;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt as _};

/// A tenure began: `lead <token>`.
pub const LEAD: &str = "lead";
/// A publish was sent: `publish <message id>`.
pub const PUBLISH: &str = "publish";
/// The worker stops itself (SIGSTOP) inside the publish it just logged.
pub const PAUSE: &str = "pause";
/// A tenure ended early, the lease found lost or the settle fenced off: `stopped <token> <why>`.
pub const STOPPED: &str = "stopped";

/// The log shared by the workers (O_APPEND: each line is written whole).
#[derive(Debug, Clone)]
struct SharedLog {
    file: Arc<Mutex<File>>,
}

impl SharedLog {
    fn open(path: &Path) -> std::io::Result<SharedLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(SharedLog {
            file: Arc::new(Mutex::new(file)),
        })
    }

    fn append(&self, what: &str, detail: &str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        let line = format!("{now} {} {what} {detail}\n", std::process::id());
        if let Ok(mut file) = self.file.lock() {
            // A lost line shows as a failed assertion in the test, not here.
            let _ = file.write_all(line.as_bytes());
        }
    }
}

/// Moves `db`'s outbox to NATS at `url` while this process leads its role (leases of `ttl`),
/// logging to `log`; with `pause_at`, stops itself (SIGSTOP) inside its `pause_at`-th publish,
/// after the lease check that let it through: the worst moment to be paused. Runs until
/// killed. Call it on a current-thread runtime, so that nothing else runs while it pauses.
pub async fn dispatch_led(
    db: &Path,
    url: &str,
    log: &Path,
    ttl: Duration,
    pause_at: Option<u64>,
) -> catga::Result<()> {
    let log = SharedLog::open(log)
        .map_err(|error| catga::Error::internal(format!("cannot open the log: {error}")))?;
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(TenureEvents { log: log.clone() }),
    )
    .map_err(|error| catga::Error::internal(format!("cannot log tenures: {error}")))?;
    let transport = crate::connect_nats(url).await?;
    let options = LeadershipOptions {
        ttl,
        operation_timeout: ttl / 2,
        candidate: Some("dispatcher".to_string()),
        ..LeadershipOptions::default()
    };
    let leadership =
        crate::retrying(|| NatsLeadership::new(transport.client().clone(), options.clone()))
            .await?;
    let recording = Recording {
        inner: transport,
        log,
        published: AtomicU64::new(0),
        pause_at,
    };
    OutboxDispatcher::new(SqliteOutbox::open(db).await?, Arc::new(recording))
        .idle_poll(Duration::from_millis(20))
        .run_led(Arc::new(leadership))
        .await
}

/// Writes the led dispatcher's tenure events to the log.
struct TenureEvents {
    log: SharedLog,
}

impl<S: tracing::Subscriber> Layer<S> for TenureEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = EventFields::default();
        event.record(&mut fields);
        if fields.message == "catga: leading the outbox dispatch" {
            self.log.append(LEAD, &fields.token.to_string());
        } else if fields
            .message
            .starts_with("catga: the outbox dispatcher stopped leading")
        {
            self.log
                .append(STOPPED, &format!("{} {}", fields.token, fields.error));
        }
    }
}

#[derive(Default)]
struct EventFields {
    message: String,
    token: u64,
    error: String,
}

impl tracing::field::Visit for EventFields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "error" => self.error = format!("{value:?}"),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if field.name() == "token" {
            self.token = value;
        }
    }
}

/// The NATS transport, logging each publish as it is sent.
struct Recording {
    inner: NatsTransport,
    log: SharedLog,
    published: AtomicU64,
    pause_at: Option<u64>,
}

impl Recording {
    /// SIGSTOPs this process; returns after SIGCONT. Blocks the thread on purpose: on a
    /// current-thread runtime no other publish can start meanwhile.
    fn pause(&self) {
        self.log.append(PAUSE, "");
        let stopped = std::process::Command::new("kill")
            .args(["-STOP", &std::process::id().to_string()])
            .status();
        if !stopped.is_ok_and(|status| status.success()) {
            self.log.append(STOPPED, "0 could not SIGSTOP itself");
        }
    }
}

impl Transport for Recording {
    fn publish<'a>(
        &'a self,
        subject: &'a str,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, catga::Result<()>> {
        let count = self.published.fetch_add(1, Ordering::SeqCst) + 1;
        self.log.append(PUBLISH, &envelope.id);
        if self.pause_at == Some(count) {
            self.pause();
        }
        self.inner.publish(subject, envelope)
    }

    fn subscribe<'a>(
        &'a self,
        group: &'a str,
        subjects: &'a [String],
        options: &'a ConsumerOptions,
    ) -> BoxFuture<'a, catga::Result<Box<dyn Subscription>>> {
        self.inner.subscribe(group, subjects, options)
    }

    fn request<'a>(
        &'a self,
        subject: &'a str,
        envelope: &'a Envelope,
        timeout: Duration,
    ) -> BoxFuture<'a, catga::Result<Envelope>> {
        self.inner.request(subject, envelope, timeout)
    }

    fn serve<'a>(
        &'a self,
        group: &'a str,
        subjects: &'a [String],
    ) -> BoxFuture<'a, catga::Result<Box<dyn Requests>>> {
        self.inner.serve(group, subjects)
    }
}
