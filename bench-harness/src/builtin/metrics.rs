//! `send_command_metrics`: `send_command` through the [`Metrics`] behavior, with catga's
//! `metrics` feature recording each handling (a counter and a duration histogram, labelled with
//! the message type and the outcome) into catga-ops' Prometheus recorder, installed once per
//! process. Its figure over `send_command`'s is what metrics cost per message.

use std::hint::black_box;

use catga::behavior::Metrics;
use catga::prelude::*;
use catga_ops::Prometheus;

use super::{Mix, MixHandler};
use crate::scenario::{Group, Scenario, Workload};

/// `scenarios` with `send_command_metrics` (group `runtime`) after the sends it adds to.
pub(super) fn beside_send(mut scenarios: Vec<Scenario>) -> Vec<Scenario> {
    let after = scenarios
        .iter()
        .position(|scenario| scenario.name() == "send_query")
        .map_or(scenarios.len(), |at| at + 1);
    let scenario = Scenario::new("send_command_metrics", Group::Runtime, || async {
        SendCommandMetrics::new()
    });
    scenarios.insert(after, scenario);
    scenarios
}

struct SendCommandMetrics {
    mediator: Mediator,
    /// The process' recorder, or why it could not be installed (another recorder was first):
    /// the setup cannot fail, so the operation says it.
    prometheus: std::result::Result<Prometheus, String>,
}

impl SendCommandMetrics {
    fn new() -> SendCommandMetrics {
        let mediator = Mediator::builder()
            .handler::<Mix, _>(MixHandler)
            .behavior(Metrics::new())
            .build()
            .expect("one handler, one behavior");
        SendCommandMetrics {
            mediator,
            prometheus: Prometheus::install().map_err(|error| error.to_string()),
        }
    }
}

impl Workload for SendCommandMetrics {
    async fn op(&self) -> catga::Result<()> {
        if let Err(error) = &self.prometheus {
            return Err(catga::Error::new(ErrorKind::Configuration, error.clone()));
        }
        black_box(self.mediator.send(Mix(black_box(7))).await?);
        Ok(())
    }

    /// A scrape, outside the measured time: it drains the histogram's samples, which the
    /// recorder keeps until then (as a `/metrics` scrape does in a service).
    fn between_samples(&self) {
        if let Ok(prometheus) = &self.prometheus {
            black_box(prometheus.render());
        }
    }
}
