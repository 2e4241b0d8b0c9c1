//! The `{{Type}}` event and its handler.

use catga::prelude::*;

/// What happened. Publish it with `mediator.publish(..)`, or with `ctx.publish(..)` from a
/// handler so it keeps that message's correlation id.
#[derive(Debug, Clone, Serialize, Deserialize, Event)]
pub struct {{Type}} {
    /// What it happened to; give the event the fields its handlers need.
    pub id: String,
}

/// Reacts to [`{{Type}}`]. Every registered `EventHandler<{{Type}}>` runs on each publish.
#[derive(Debug, Default)]
pub struct {{Type}}Handler;

impl EventHandler<{{Type}}> for {{Type}}Handler {
    async fn handle(&self, _event: &{{Type}}, _ctx: &Context) -> catga::Result<()> {
        // React here: update a read model, notify someone, send a follow-up command.
        Ok(())
    }
}
