//! The `{{Type}}` query and its handler.

use catga::prelude::*;

/// What `{{Type}}` asks of the service.
#[derive(Debug, Clone, Serialize, Deserialize, Query)]
#[query(response = {{response}})]
pub struct {{Type}} {
    /// What it reads; give the query the fields it needs.
    pub id: String,
}

/// Handles [`{{Type}}`].
#[derive(Debug, Default)]
pub struct {{Type}}Handler;

impl Handler<{{Type}}> for {{Type}}Handler {
    async fn handle(&self, _query: {{Type}}, _ctx: &Context) -> catga::Result<{{response}}> {
        // Read the service's state here; a missing entity is `Error::not_found(..)`.
        {{reply}}
    }
}
