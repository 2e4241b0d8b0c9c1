//! `#[catga::handler]` plus `Mediator::builder().auto_register()`.

use std::sync::atomic::{AtomicU32, Ordering};

use catga::prelude::*;

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
