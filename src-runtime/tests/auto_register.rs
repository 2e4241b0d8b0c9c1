//! `#[catga::handler]` plus `Mediator::builder().auto_register()`, and
//! `#[catga::handler(timeout = ..)]`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use catga::prelude::*;
use tokio::time::Instant;

#[derive(Debug, Clone, Query)]
#[query(response = u32)]
struct CountWidgets;

#[derive(Default)]
struct CountWidgetsHandler;

#[catga::handler]
impl Handler<CountWidgets> for CountWidgetsHandler {
    async fn handle(&self, _query: CountWidgets, _ctx: &Context) -> catga::Result<u32> {
        Ok(12)
    }
}

#[derive(Debug, Clone, Event)]
struct WidgetSold;

static SOLD: AtomicU32 = AtomicU32::new(0);

#[derive(Default)]
struct TallySales;

#[catga::handler]
impl EventHandler<WidgetSold> for TallySales {
    async fn handle(&self, _event: &WidgetSold, _ctx: &Context) -> catga::Result<()> {
        SOLD.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn auto_register_picks_up_handler_attribute_impls() {
    let mediator = Mediator::builder().auto_register().build().unwrap();
    assert_eq!(mediator.send(CountWidgets).await.unwrap(), 12);
    mediator.publish(WidgetSold).await.unwrap();
    assert_eq!(SOLD.load(Ordering::SeqCst), 1);
}

#[test]
fn registering_an_auto_registered_handler_again_is_a_duplicate() {
    let err = Mediator::builder()
        .auto_register()
        .handler(CountWidgetsHandler)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(err.message().contains("CountWidgets"), "{err}");
}

/// How long the export may take; the attribute's expression can name the module's items.
const EXPORT_TIMEOUT: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Query)]
#[query(response = u32)]
struct ExportWidgets {
    takes: Duration,
}

#[derive(Default)]
struct ExportWidgetsHandler;

#[catga::handler(timeout = EXPORT_TIMEOUT * 2)]
impl Handler<ExportWidgets> for ExportWidgetsHandler {
    async fn handle(&self, query: ExportWidgets, ctx: &Context) -> catga::Result<u32> {
        assert!(ctx.deadline().is_some(), "the timeout sets the deadline");
        tokio::time::sleep(query.takes).await;
        Ok(7)
    }
}

#[derive(Debug, Clone, Query)]
#[query(response = u32)]
struct ArchiveWidgets {
    takes: Duration,
}

#[derive(Default)]
struct ArchiveWidgetsHandler;

#[catga::handler]
impl Handler<ArchiveWidgets> for ArchiveWidgetsHandler {
    async fn handle(&self, query: ArchiveWidgets, ctx: &Context) -> catga::Result<u32> {
        assert!(ctx.deadline().is_none(), "no timeout applies to this type");
        tokio::time::sleep(query.takes).await;
        Ok(3)
    }
}

#[tokio::test(start_paused = true)]
async fn handler_attribute_timeout_fires_for_a_slow_handler() {
    let mediator = Mediator::builder().auto_register().build().unwrap();
    let started = Instant::now();
    let err = mediator
        .send(ExportWidgets {
            takes: Duration::from_secs(10),
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.message().contains("ExportWidgets"), "{err}");
    assert_eq!(started.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn handler_attribute_timeout_lets_a_fast_handler_finish() {
    let mediator = Mediator::builder().auto_register().build().unwrap();
    let answer = mediator
        .send(ExportWidgets {
            takes: Duration::from_millis(60),
        })
        .await;
    assert_eq!(answer.unwrap(), 7);
}

#[tokio::test(start_paused = true)]
async fn handler_attribute_timeout_bounds_only_its_own_request_type() {
    let mediator = Mediator::builder().auto_register().build().unwrap();
    let started = Instant::now();
    let answer = mediator
        .send(ArchiveWidgets {
            takes: Duration::from_secs(10),
        })
        .await;
    assert_eq!(answer.unwrap(), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
}
