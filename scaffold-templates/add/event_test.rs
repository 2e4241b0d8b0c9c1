//! `{{Type}}`, through the mediator.

use {{crate}}::{{path}}::{{Type}};

#[tokio::test]
async fn {{module}}_is_handled() -> catga::Result<()> {
    let mediator = {{mediator}};
    mediator.publish({{Type}} { id: "1".into() }).await
}
