//! `{{Type}}`, through the mediator.

use {{crate}}::{{path}}::{{Type}};

#[tokio::test]
async fn {{module}}_is_handled() -> catga::Result<()> {
    let mediator = {{mediator}};
    let command = {{Type}} {
{{key_init}}        id: "1".into(),
    };
    mediator.send(command).await?;
    Ok(())
}
