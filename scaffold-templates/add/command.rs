//! The `{{Type}}` command and its handler.

use catga::prelude::*;

/// What `{{Type}}` asks the service to do.
#[derive(Debug, Clone, Serialize, Deserialize, Command)]
{{command_attr}}pub struct {{Type}} {
{{key_field}}    /// What it acts on; give the command the fields it needs.
    pub id: String,
}

/// Handles [`{{Type}}`].
#[derive(Debug, Default)]
pub struct {{Type}}Handler;

impl Handler<{{Type}}> for {{Type}}Handler {
    async fn handle(&self, _command: {{Type}}, _ctx: &Context) -> catga::Result<{{response}}> {
        // Change the service's state here, then answer.
        {{reply}}
    }
}
