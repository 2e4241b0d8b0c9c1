//! Leader election over a real nats-server, between processes: this test binary runs itself
//! again as candidates (`leader_candidate_process`), which compete for one role, act while they
//! hold it, and write what they did to a shared log. The tests kill (SIGKILL) or pause (SIGSTOP)
//! the leader and read the log.
//!
//! Each act goes through a fence: a key-value key holding the largest token it has accepted,
//! updated by compare-and-set, which refuses a smaller token, as the resource a role writes
//! to should. Every wait is bounded; candidates are killed when the test ends.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{self, kv};
use catga::leadership::Leadership;
use catga_nats::leader::{LeadershipOptions, NatsLeadership};
use catga_nats::testing::NatsServer;
use tokio::process::{Child, Command};

/// The lease's time to live in these tests: short, so failover happens within the test.
const TTL: Duration = Duration::from_secs(2);
/// The role the candidates compete for.
const ROLE: &str = "outbox.shop";
/// The bucket and key of the fenced resource.
const FENCE_BUCKET: &str = "catga_test_fence";
const FENCE_KEY: &str = "resource";
/// How long a candidate waits between two acts while it leads.
const ACT_EVERY: Duration = Duration::from_millis(20);
/// How many acts a leader makes before the test kills or pauses it: enough for a few renewals
/// (about one second).
const ACTS_BEFORE_FAULT: usize = 40;
/// Beyond the lease, how long a takeover may take on a loaded machine: the followers' poll
/// (a quarter of the TTL) and scheduling delays. Generous: this bounds the wait, it does not
/// measure speed.
const TAKEOVER_SLACK: Duration = Duration::from_secs(5);

/// The environment of a candidate process.
const CANDIDATE_ENV: &str = "CATGA_LEADER_CANDIDATE";
const URL_ENV: &str = "CATGA_LEADER_NATS_URL";
const LOG_ENV: &str = "CATGA_LEADER_LOG";

/// Fails the test when `future` does not finish within `seconds`.
async fn bounded<F: Future>(seconds: u64, future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(seconds), future)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {seconds} s"))
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is past 1970")
        .as_nanos()
}

/// The shared log: one line per event, appended by every candidate (O_APPEND: whole lines).
fn append(log: &Path, line: String) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open the shared log");
    file.write_all(format!("{line}\n").as_bytes())
        .expect("append to the shared log");
}

/// What the fence said to an act.
const ACCEPTED: &str = "accepted";
const REFUSED: &str = "refused";

/// The fenced resource: accepts an act carrying a token at least as large as every token it
/// accepted before, atomically (compare-and-set on the key's revision).
async fn fenced_act(fence: &kv::Store, token: u64) -> &'static str {
    loop {
        let entry = fence.entry(FENCE_KEY).await.expect("read the fence");
        let (largest, revision) = entry
            .map(|entry| {
                let largest = std::str::from_utf8(&entry.value)
                    .ok()
                    .and_then(|text| text.parse::<u64>().ok())
                    .expect("the fence holds a token");
                (largest, entry.revision)
            })
            .unwrap_or((0, 0));
        if token < largest {
            return REFUSED;
        }
        match fence
            .update(FENCE_KEY, token.to_string().into(), revision)
            .await
        {
            Ok(_) => return ACCEPTED,
            Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => continue,
            Err(error) => panic!("cannot write the fence: {error}"),
        }
    }
}

async fn open_fence(client: async_nats::Client) -> kv::Store {
    let jetstream = jetstream::new(client);
    if let Ok(fence) = jetstream.get_key_value(FENCE_BUCKET).await {
        return fence;
    }
    // The stream of a key-value bucket (async-nats' `create_key_value` cannot read nats-server
    // 2.9's account info).
    jetstream
        .create_stream(jetstream::stream::Config {
            name: format!("KV_{FENCE_BUCKET}"),
            subjects: vec![format!("$KV.{FENCE_BUCKET}.>")],
            max_messages_per_subject: 1,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: jetstream::stream::DiscardPolicy::New,
            ..jetstream::stream::Config::default()
        })
        .await
        .expect("create the fence bucket");
    jetstream
        .get_key_value(FENCE_BUCKET)
        .await
        .expect("open the fence bucket")
}

fn leadership_options(candidate: &str) -> LeadershipOptions {
    LeadershipOptions {
        ttl: TTL,
        operation_timeout: Duration::from_secs(2),
        candidate: Some(candidate.to_string()),
        ..LeadershipOptions::default()
    }
}

/// Not a test of its own: the body of a candidate process, when the tests below start this
/// binary with `CATGA_LEADER_CANDIDATE` set (otherwise it returns at once). It campaigns, acts
/// every 20 ms while its lease is held (each act checked against the lease first, then sent
/// through the fence), and when the lease is lost, acts once more without checking, as a
/// holder paused between its check and its act would: the fence must refuse that one.
#[test]
fn leader_candidate_process() {
    let Ok(name) = std::env::var(CANDIDATE_ENV) else {
        return;
    };
    let url = std::env::var(URL_ENV).expect("the candidate gets the NATS url");
    let log = PathBuf::from(std::env::var(LOG_ENV).expect("the candidate gets the log path"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let client = async_nats::connect(&url).await.expect("connect to NATS");
        let fence = open_fence(client.clone()).await;
        let leadership = NatsLeadership::new(client, leadership_options(&name))
            .await
            .expect("open the leadership bucket");
        append(&log, format!("ready {name}"));
        loop {
            let lease = leadership.campaign(ROLE).await.expect("campaign");
            let token = lease.token();
            append(&log, format!("acquired {name} {token} {}", now_ns()));
            loop {
                // Read before the check, so an act's time is never later than its check.
                let checked = now_ns();
                if !lease.is_held() {
                    break;
                }
                let verdict = fenced_act(&fence, token).await;
                let done = now_ns();
                append(
                    &log,
                    format!("act {name} {token} {checked} {done} {verdict}"),
                );
                tokio::select! {
                    _ = lease.lost() => {}
                    () = tokio::time::sleep(ACT_EVERY) => {}
                }
            }
            let reason = lease.lost().await;
            append(&log, format!("lost {name} {token} {} {reason}", now_ns()));
            let verdict = fenced_act(&fence, token).await;
            append(&log, format!("stale {name} {token} {} {verdict}", now_ns()));
        }
    });
}

/// One line of the shared log.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Ready {
        candidate: String,
    },
    Acquired {
        candidate: String,
        token: u64,
        at: u128,
    },
    Act {
        candidate: String,
        token: u64,
        checked: u128,
        done: u128,
        verdict: String,
    },
    Lost {
        candidate: String,
        token: u64,
    },
    Stale {
        candidate: String,
        token: u64,
        verdict: String,
    },
}

fn read_log(log: &Path) -> Vec<Event> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        // A line still being written by a candidate has no newline yet: `lines` keeps it,
        // so only complete lines (all but a last unterminated one) are read.
        .take(text.matches('\n').count())
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            let candidate = words[1].to_string();
            let number = |index: usize| words[index].parse::<u128>().expect("a number");
            match words[0] {
                "ready" => Event::Ready { candidate },
                "acquired" => Event::Acquired {
                    candidate,
                    token: number(2) as u64,
                    at: number(3),
                },
                "act" => Event::Act {
                    candidate,
                    token: number(2) as u64,
                    checked: number(3),
                    done: number(4),
                    verdict: words[5].to_string(),
                },
                "lost" => Event::Lost {
                    candidate,
                    token: number(2) as u64,
                },
                "stale" => Event::Stale {
                    candidate,
                    token: number(2) as u64,
                    verdict: words[4].to_string(),
                },
                other => panic!("unknown log line `{other}`: {line}"),
            }
        })
        .collect()
}

/// A tenure as the log shows it: from the acquisition to the last act checked under it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tenure {
    candidate: String,
    token: u64,
    acquired: u128,
    last_act: Option<u128>,
    acts: usize,
}

fn tenures(events: &[Event]) -> BTreeMap<u64, Tenure> {
    let mut tenures = BTreeMap::new();
    for event in events {
        match event {
            Event::Acquired {
                candidate,
                token,
                at,
            } => {
                let previous = tenures.insert(
                    *token,
                    Tenure {
                        candidate: candidate.clone(),
                        token: *token,
                        acquired: *at,
                        last_act: None,
                        acts: 0,
                    },
                );
                assert_eq!(previous, None, "token {token} was acquired twice");
            }
            Event::Act {
                candidate,
                token,
                checked,
                ..
            } => {
                let tenure = tenures
                    .get_mut(token)
                    .unwrap_or_else(|| panic!("an act under token {token}, never acquired"));
                assert_eq!(
                    &tenure.candidate, candidate,
                    "token {token} has two holders"
                );
                tenure.last_act = Some(tenure.last_act.unwrap_or(0).max(*checked));
                tenure.acts += 1;
            }
            _ => {}
        }
    }
    tenures
}

/// At most one holder at any instant: ordered by token, each tenure's last act comes before
/// the next tenure's acquisition, and tokens grow with time.
fn assert_one_holder_at_a_time(events: &[Event]) {
    let tenures: Vec<Tenure> = tenures(events).into_values().collect();
    for pair in tenures.windows(2) {
        let (earlier, later) = (&pair[0], &pair[1]);
        assert!(
            earlier.acquired < later.acquired,
            "token {} was acquired after the larger token {}: {tenures:#?}",
            earlier.token,
            later.token
        );
        if let Some(last_act) = earlier.last_act {
            assert!(
                last_act < later.acquired,
                "{} acted under token {} {} ms after {} acquired token {}: two holders at once: \
                 {tenures:#?}",
                earlier.candidate,
                earlier.token,
                (last_act - later.acquired) / 1_000_000,
                later.candidate,
                later.token
            );
        }
    }
}

/// The fence refused exactly the acts that reached it after a later tenure began: an act done
/// before the next acquisition was accepted; a refused one finished after it.
fn assert_fence_refuses_only_late_acts(events: &[Event]) {
    let tenures = tenures(events);
    for event in events {
        let Event::Act {
            token,
            done,
            verdict,
            ..
        } = event
        else {
            continue;
        };
        let next_acquired = tenures
            .range(token + 1..)
            .next()
            .map(|(_, tenure)| tenure.acquired);
        let late = next_acquired.is_some_and(|acquired| *done > acquired);
        if verdict == REFUSED {
            assert!(
                late,
                "the fence refused an act done within its tenure: {event:?}"
            );
        } else if !late {
            assert_eq!(verdict, ACCEPTED, "{event:?}");
        }
    }
}

/// Candidate processes and the shared log, all killed at the end.
struct Candidates {
    log: PathBuf,
    children: HashMap<String, Child>,
    _dir: tempfile::TempDir,
}

impl Candidates {
    async fn start(server: &NatsServer, count: usize) -> Candidates {
        // Created once here, so the candidates do not race to create them.
        let client = async_nats::connect(&server.url())
            .await
            .expect("connect to NATS");
        open_fence(client.clone()).await;
        NatsLeadership::new(client, leadership_options("test"))
            .await
            .expect("create the leadership bucket");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = dir.path().join("leadership.log");
        let mut children = HashMap::new();
        for index in 0..count {
            let name = format!("candidate-{index}");
            let output = std::fs::File::create(dir.path().join(format!("{name}.out")))
                .expect("create the candidate's output file");
            let child = Command::new(std::env::current_exe().expect("the test binary"))
                .args(["leader_candidate_process", "--exact", "--nocapture"])
                .env(CANDIDATE_ENV, &name)
                .env(URL_ENV, server.url())
                .env(LOG_ENV, &log)
                .stdin(Stdio::null())
                .stdout(output.try_clone().expect("share the output file"))
                .stderr(output)
                .kill_on_drop(true)
                .spawn()
                .expect("start a candidate process");
            children.insert(name, child);
        }
        let candidates = Candidates {
            log,
            children,
            _dir: dir,
        };
        candidates
            .wait_for(
                "every candidate to be ready",
                Duration::from_secs(30),
                |events| {
                    let ready = events
                        .iter()
                        .filter(|event| matches!(event, Event::Ready { .. }))
                        .count();
                    (ready == count).then_some(())
                },
            )
            .await;
        candidates
    }

    fn events(&self) -> Vec<Event> {
        read_log(&self.log)
    }

    /// Polls the log until `found` finds something, failing after `within`.
    async fn wait_for<T>(
        &self,
        what: &str,
        within: Duration,
        found: impl Fn(&[Event]) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let events = self.events();
            if let Some(value) = found(&events) {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited {within:?} for {what}; the log:\n{}\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default(),
                self.outputs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The leader whose token is larger than `after`, once it has acted `acts` times.
    async fn leader_after(&self, after: u64, acts: usize, within: Duration) -> Tenure {
        self.wait_for(
            &format!("a leader with a token above {after} acting {acts} times"),
            within,
            |events| {
                tenures(events)
                    .into_values()
                    .rev()
                    .find(|tenure| tenure.token > after && tenure.acts >= acts)
            },
        )
        .await
    }

    fn pid(&self, candidate: &str) -> u32 {
        self.children[candidate].id().expect("the candidate runs")
    }

    fn signal(&self, candidate: &str, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &self.pid(candidate).to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {candidate} failed");
    }

    async fn kill(&mut self, candidate: &str) {
        let child = self.children.get_mut(candidate).expect("a candidate");
        child.kill().await.expect("SIGKILL the candidate");
    }

    fn outputs(&self) -> String {
        let dir = self.log.parent().expect("the log's directory");
        let mut outputs = String::new();
        for name in self.children.keys() {
            let text = std::fs::read_to_string(dir.join(format!("{name}.out"))).unwrap_or_default();
            outputs.push_str(&format!("--- {name}:\n{text}\n"));
        }
        outputs
    }
}

fn millis(nanos: u128) -> u128 {
    nanos / 1_000_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_within_the_lease_and_never_two_lead_at_once() {
    let Some(server) = NatsServer::start_or_skip(
        "a_killed_leader_is_replaced_within_the_lease_and_never_two_lead_at_once",
    )
    .await
    .expect("nats-server starts") else {
        return;
    };
    bounded(120, async {
        let mut candidates = Candidates::start(&server, 3).await;
        let within = TTL + TAKEOVER_SLACK;
        let mut leader = candidates
            .leader_after(0, ACTS_BEFORE_FAULT, Duration::from_secs(30))
            .await;
        let mut killed = Vec::new();
        for _ in 0..2 {
            let killed_at = now_ns();
            candidates.kill(&leader.candidate).await;
            killed.push(leader.candidate.clone());
            let next = candidates
                .leader_after(leader.token, ACTS_BEFORE_FAULT, within * 2)
                .await;
            assert!(
                !killed.contains(&next.candidate),
                "a killed candidate leads: {next:?}"
            );
            let takeover = next.acquired.saturating_sub(killed_at);
            assert!(
                takeover < within.as_nanos(),
                "{} took over {} ms after {} was killed, more than the lease ({TTL:?}) + \
                 {TAKEOVER_SLACK:?}",
                next.candidate,
                millis(takeover),
                leader.candidate
            );
            eprintln!(
                "{} (token {}) killed; {} (token {}) took over after {} ms",
                leader.candidate,
                leader.token,
                next.candidate,
                next.token,
                millis(takeover)
            );
            leader = next;
        }
        let events = candidates.events();
        assert_one_holder_at_a_time(&events);
        assert_fence_refuses_only_late_acts(&events);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_paused_past_its_lease_acts_no_more_and_its_stale_token_is_fenced() {
    let Some(server) = NatsServer::start_or_skip(
        "a_leader_paused_past_its_lease_acts_no_more_and_its_stale_token_is_fenced",
    )
    .await
    .expect("nats-server starts") else {
        return;
    };
    bounded(120, async {
        let candidates = Candidates::start(&server, 3).await;
        let paused = candidates
            .leader_after(0, ACTS_BEFORE_FAULT, Duration::from_secs(30))
            .await;
        candidates.signal(&paused.candidate, "-STOP");
        // Another takes over only once the paused leader's lease lapsed on the server: the
        // pause lasts past the lease.
        let successor = candidates
            .leader_after(paused.token, 3, (TTL + TAKEOVER_SLACK) * 2)
            .await;
        assert_ne!(successor.candidate, paused.candidate);
        let continued_at = now_ns();
        candidates.signal(&paused.candidate, "-CONT");
        let stale_verdict = candidates
            .wait_for(
                "the resumed leader to notice its loss and try its stale token",
                Duration::from_secs(30),
                |events| {
                    events.iter().find_map(|event| match event {
                        Event::Stale {
                            candidate,
                            token,
                            verdict,
                        } if *candidate == paused.candidate && *token == paused.token => {
                            Some(verdict.clone())
                        }
                        _ => None,
                    })
                },
            )
            .await;
        // Some time with both running, to see the resumed one stay quiet.
        tokio::time::sleep(TTL).await;
        let events = candidates.events();
        assert!(
            events.contains(&Event::Lost {
                candidate: paused.candidate.clone(),
                token: paused.token
            }),
            "the resumed leader did not see its lease lost"
        );
        let late_acts: Vec<&Event> = events
            .iter()
            .filter(|event| {
                matches!(event, Event::Act { candidate, token, checked, .. }
                    if *candidate == paused.candidate && *token == paused.token
                        && *checked > continued_at)
            })
            .collect();
        assert!(
            late_acts.is_empty(),
            "the paused leader acted under its old lease after resuming (SIGCONT at {} ms): \
             {late_acts:?}",
            millis(continued_at)
        );
        assert_eq!(
            stale_verdict, REFUSED,
            "the fence accepted the paused leader's stale token {} after token {} acted",
            paused.token, successor.token
        );
        assert_one_holder_at_a_time(&events);
        assert_fence_refuses_only_late_acts(&events);
        eprintln!(
            "{} (token {}) paused; {} (token {}) took over; the resumed one's stale act was \
             refused",
            paused.candidate, paused.token, successor.candidate, successor.token
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resigned_lease_is_taken_over_without_waiting_for_it_to_lapse() {
    let Some(server) =
        NatsServer::start_or_skip("a_resigned_lease_is_taken_over_without_waiting_for_it_to_lapse")
            .await
            .expect("nats-server starts")
    else {
        return;
    };
    bounded(60, async {
        // Followers poll every 15 s with this ttl: a takeover sooner than that was woken by
        // the watch on the deleted key.
        let long = LeadershipOptions {
            ttl: Duration::from_secs(60),
            ..LeadershipOptions::default()
        };
        let connect = || async {
            let client = async_nats::connect(&server.url()).await.expect("connect");
            NatsLeadership::new(client, long.clone())
                .await
                .expect("open the bucket")
        };
        let (first, second) = (connect().await, connect().await);
        let lease = first.campaign(ROLE).await.expect("campaign");
        let token = lease.token();
        let contender = tokio::spawn(async move { second.campaign(ROLE).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!contender.is_finished(), "two candidates hold the role");
        let resigned_at = tokio::time::Instant::now();
        lease.resign().await;
        let successor = contender.await.expect("the contender").expect("campaign");
        assert!(successor.token() > token);
        let waited = resigned_at.elapsed();
        assert!(
            waited < Duration::from_secs(10),
            "the contender took over {waited:?} after the resignation: the deletion did not \
             wake it"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_with_another_ttl_is_refused_with_a_clear_message() {
    let Some(server) =
        NatsServer::start_or_skip("a_bucket_with_another_ttl_is_refused_with_a_clear_message")
            .await
            .expect("nats-server starts")
    else {
        return;
    };
    bounded(30, async {
        let client = async_nats::connect(&server.url()).await.expect("connect");
        NatsLeadership::new(client.clone(), leadership_options("first"))
            .await
            .expect("create the bucket");
        let other_ttl = LeadershipOptions {
            ttl: TTL * 2,
            ..leadership_options("second")
        };
        let error = NatsLeadership::new(client, other_ttl).await.unwrap_err();
        assert_eq!(error.kind(), catga::ErrorKind::Configuration);
        assert!(error.message().contains("max_age"), "{error}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_deposes_the_leader_and_tokens_keep_growing() {
    let Some(mut server) =
        NatsServer::start_or_skip("a_broker_restart_deposes_the_leader_and_tokens_keep_growing")
            .await
            .expect("nats-server starts")
    else {
        return;
    };
    bounded(90, async {
        let client = async_nats::connect(&server.url()).await.expect("connect");
        let leadership = NatsLeadership::new(client, leadership_options("restarted"))
            .await
            .expect("open the bucket");
        let lease = leadership.campaign(ROLE).await.expect("campaign");
        server.kill().await.expect("kill nats-server");
        // Nothing can renew it: lost by the local clock, within the lease.
        let reason = tokio::time::timeout(TTL * 2, lease.lost())
            .await
            .expect("the lease is lost within twice its ttl");
        assert!(!lease.is_held(), "{reason}");
        server.resume().await.expect("restart nats-server");
        let next = leadership.campaign(ROLE).await.expect("campaign again");
        assert!(
            next.token() > lease.token(),
            "the token went from {} to {} across a broker restart",
            lease.token(),
            next.token()
        );
        // Again with the bucket emptied: every write expires while the broker is down.
        let last_token = next.token();
        next.resign().await;
        server.kill().await.expect("kill nats-server");
        tokio::time::sleep(TTL * 2).await;
        server.resume().await.expect("restart nats-server");
        let after_expiry = leadership.campaign(ROLE).await.expect("campaign again");
        assert!(
            after_expiry.token() > last_token,
            "the token went from {last_token} to {} across a restart of an expired bucket",
            after_expiry.token()
        );
    })
    .await;
}
