//! One piece of the fault tests' service, as a process to kill:
//!
//! ```text
//! catga-fault-worker produce  DB FROM TO      # Deposit FROM..TO through the outbox in DB
//! catga-fault-worker dispatch DB NATS_URL     # DB's outbox to NATS, until killed
//! catga-fault-worker consume  DB NATS_URL ACK_WAIT_MS  # apply deposits into DB, until killed
//! catga-fault-worker charge   DB PAYMENT LEASE_MS TAKES_MS  # one idempotent, slow charge
//! catga-fault-worker transfer DB FROM TO      # Transfer FROM..TO in units of work, resuming
//! catga-fault-worker dispatch-led DB NATS_URL LOG TTL_MS PAUSE_AT
//!     # DB's outbox to NATS while leading its role, logging to LOG; SIGSTOPs itself inside
//!     # its PAUSE_AT-th publish (0: never); until killed
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The led dispatcher pauses itself by blocking its thread: on one thread, nothing else of
    // it runs meanwhile.
    let runtime = if args.first().is_some_and(|mode| mode == "dispatch-led") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    let outcome = match runtime {
        Ok(runtime) => runtime.block_on(run(&args)),
        Err(error) => Err(catga::Error::internal(format!(
            "cannot start the runtime: {error}"
        ))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("catga-fault-worker: {error}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: &[String]) -> catga::Result<()> {
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["produce", db, from, to] => match (from.parse(), to.parse()) {
            (Ok(from), Ok(to)) => catga_fault_tests::produce(&PathBuf::from(db), from..to).await,
            _ => Err(catga::Error::validation(format!(
                "FROM and TO must be numbers: {from} {to}"
            ))),
        },
        ["dispatch", db, url] => catga_fault_tests::dispatch(&PathBuf::from(db), url).await,
        ["consume", db, url, ack_wait_ms] => match ack_wait_ms.parse() {
            Ok(ms) => {
                catga_fault_tests::consume(&PathBuf::from(db), url, Duration::from_millis(ms)).await
            }
            Err(_) => Err(catga::Error::validation(format!(
                "ACK_WAIT_MS must be a number: {ack_wait_ms}"
            ))),
        },
        ["transfer", db, from, to] => match (from.parse(), to.parse()) {
            (Ok(from), Ok(to)) => catga_fault_tests::transfer(&PathBuf::from(db), from..to).await,
            _ => Err(catga::Error::validation(format!(
                "FROM and TO must be numbers: {from} {to}"
            ))),
        },
        ["charge", db, payment, lease_ms, takes_ms] => match (lease_ms.parse(), takes_ms.parse()) {
            (Ok(lease), Ok(takes)) => catga_fault_tests::charge(
                &PathBuf::from(db),
                payment,
                Duration::from_millis(lease),
                Duration::from_millis(takes),
            )
            .await
            .map(|response| println!("{response}")),
            _ => Err(catga::Error::validation(format!(
                "LEASE_MS and TAKES_MS must be numbers: {lease_ms} {takes_ms}"
            ))),
        },
        ["dispatch-led", db, url, log, ttl_ms, pause_at] => {
            match (ttl_ms.parse(), pause_at.parse()) {
                (Ok(ttl), Ok(pause_at)) => {
                    catga_fault_tests::led::dispatch_led(
                        &PathBuf::from(db),
                        url,
                        &PathBuf::from(log),
                        Duration::from_millis(ttl),
                        (pause_at > 0).then_some(pause_at),
                    )
                    .await
                }
                _ => Err(catga::Error::validation(format!(
                    "TTL_MS and PAUSE_AT must be numbers: {ttl_ms} {pause_at}"
                ))),
            }
        }
        _ => Err(catga::Error::validation(format!(
            "usage: catga-fault-worker produce DB FROM TO | dispatch DB NATS_URL | consume DB NATS_URL ACK_WAIT_MS | charge DB PAYMENT LEASE_MS TAKES_MS | transfer DB FROM TO | dispatch-led DB NATS_URL LOG TTL_MS PAUSE_AT (got {args:?})"
        ))),
    }
}
