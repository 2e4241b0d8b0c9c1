//! A real `nats-server` for tests (feature `testing`): JetStream on, a free loopback port, a
//! temporary store directory, killed on drop.
//!
//! ```no_run
//! # async fn run() -> catga::Result<()> {
//! use catga_nats::testing::NatsServer;
//! use catga_nats::{NatsOptions, NatsTransport};
//!
//! let mut server = NatsServer::start().await?;
//! let transport = NatsTransport::connect(&server.url(), NatsOptions::default()).await?;
//! server.restart().await?; // same port, same store: streams and consumers survive
//! # Ok(()) }
//! ```
//!
//! The binary is `$NATS_SERVER_BIN` if set, else `nats-server` on `PATH` or in `/usr/sbin`
//! (where Debian's `nats-server` package puts it).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use catga::{Error, ErrorKind, Result};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

/// How long a started server may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A running `nats-server` with JetStream, owned by a test.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    port: u16,
    store: tempfile::TempDir,
    log: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a server on a free loopback port with a fresh store directory, and waits until
    /// it accepts connections.
    pub async fn start() -> Result<NatsServer> {
        let binary = find_binary()?;
        let store = tempfile::Builder::new()
            .prefix("catga-nats-test-")
            .tempdir()
            .map_err(|error| {
                Error::internal(format!(
                    "cannot create a store directory for nats-server: {error}"
                ))
            })?;
        let log = store.path().join("nats-server.log");
        let mut server = NatsServer {
            binary,
            port: 0,
            store,
            log,
            child: None,
        };
        // A port found free can be taken by another process before the server binds it: try a
        // few.
        let mut last_error = None;
        for _ in 0..3 {
            server.port = free_port()?;
            match server.launch().await {
                Ok(()) => return Ok(server),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::internal("nats-server did not start")))
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream store directory (the same across restarts).
    pub fn store_dir(&self) -> &Path {
        self.store.path()
    }

    /// Kills the server (SIGKILL: a crash, not a clean shutdown) and waits until it is gone.
    pub async fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await.map_err(|error| {
                Error::internal(format!(
                    "cannot kill nats-server on port {}: {error}",
                    self.port
                ))
            })?;
        }
        Ok(())
    }

    /// Starts the server again after [`kill`](NatsServer::kill), on the same port with the same
    /// store, and waits until it accepts connections. Does nothing while it runs.
    pub async fn resume(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        self.launch().await
    }

    /// [`kill`](NatsServer::kill), then [`resume`](NatsServer::resume).
    pub async fn restart(&mut self) -> Result<()> {
        self.kill().await?;
        self.resume().await
    }

    /// The server's output so far, for a failing test's message.
    pub async fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = tokio::fs::File::open(&self.log).await {
            let _ = file.read_to_string(&mut text).await;
        }
        text
    }

    async fn launch(&mut self) -> Result<()> {
        let log = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .await
            .map_err(|error| {
                Error::internal(format!("cannot open {}: {error}", self.log.display()))
            })?
            .into_std()
            .await;
        let log_err = log.try_clone().map_err(|error| {
            Error::internal(format!("cannot open {}: {error}", self.log.display()))
        })?;
        let mut child = Command::new(&self.binary)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.store.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| {
                Error::new(
                    ErrorKind::Configuration,
                    format!(
                        "cannot run {}: {error}; install nats-server (`apt-get install -y \
                     nats-server`) or set NATS_SERVER_BIN",
                        self.binary.display()
                    ),
                )
            })?;
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(Error::unavailable(format!(
                    "nats-server on port {} exited at start ({status}):\n{}",
                    self.port,
                    self.log().await
                )));
            }
            if ready(self.port).await {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill().await;
                return Err(Error::unavailable(format!(
                    "nats-server on port {} did not accept connections within {READY_TIMEOUT:?}:\n{}",
                    self.port,
                    self.log().await
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The environment variable that turns a skip for a missing nats-server into a failure: CI
/// sets `CATGA_REQUIRE_NATS=1`, so the tests that need a broker always run there.
pub const REQUIRE_NATS: &str = "CATGA_REQUIRE_NATS";

/// Whether the test `test` should be skipped because nats-server is not installed. When it is
/// missing, prints one line saying so (straight to stderr, past the test harness's capture) and
/// returns `Ok(true)`; with `CATGA_REQUIRE_NATS=1` a missing server is an error instead.
///
/// ```no_run
/// # async fn run() -> catga::Result<()> {
/// if catga_nats::testing::skip_without_nats_server("my_test")? {
///     return Ok(());
/// }
/// # Ok(()) }
/// ```
pub fn skip_without_nats_server(test: &str) -> Result<bool> {
    let error = match find_binary() {
        Ok(_) => return Ok(false),
        Err(error) => error,
    };
    if std::env::var_os(REQUIRE_NATS).is_some_and(|value| value == "1") {
        return Err(Error::new(
            ErrorKind::Configuration,
            format!("{test} needs nats-server and {REQUIRE_NATS}=1 is set: {error}"),
        ));
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped {test}: nats-server is not installed (`apt-get install -y nats-server`, or set \
         NATS_SERVER_BIN); {REQUIRE_NATS}=1 makes this a failure"
    );
    Ok(true)
}

impl NatsServer {
    /// [`NatsServer::start`], or `Ok(None)` after one line on stderr when nats-server is not
    /// installed (see [`skip_without_nats_server`]).
    pub async fn start_or_skip(test: &str) -> Result<Option<NatsServer>> {
        if skip_without_nats_server(test)? {
            return Ok(None);
        }
        NatsServer::start().await.map(Some)
    }
}

/// Whether a NATS server answers on `port`: it greets every connection with an `INFO` line.
async fn ready(port: u16) -> bool {
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let mut greeting = [0u8; 4];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut greeting)).await,
        Ok(Ok(_)) if &greeting == b"INFO"
    )
}

/// A loopback port nothing listens on right now.
fn free_port() -> Result<u16> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| Error::internal(format!("cannot find a free loopback port: {error}")))
}

/// `$NATS_SERVER_BIN`, else `nats-server` on `PATH`, else in the sbin directories that are not
/// always on a user's `PATH`.
fn find_binary() -> Result<PathBuf> {
    if let Some(binary) = std::env::var_os("NATS_SERVER_BIN") {
        return Ok(PathBuf::from(binary));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Configuration,
                "nats-server is not installed (not on PATH, nor in /usr/sbin): install it with \
                 `apt-get install -y nats-server`, or set NATS_SERVER_BIN to its path",
            )
        })
}
