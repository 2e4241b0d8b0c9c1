//! The `{{Type}}` saga: run through the mediator, and compensated step by step.

use catga::prelude::*;

use {{crate}}::{{path}}::{{{Type}}, {{Type}}State, Start{{Type}}};

#[tokio::test]
async fn start_{{module}}_runs_every_step() -> catga::Result<()> {
    let mediator = {{mediator}};
    let state = mediator.send(Start{{Type}} { id: "1".into() }).await?;
    assert!(state.reserved && state.dispatched);
    Ok(())
}

#[tokio::test]
async fn starting_an_instance_again_answers_its_outcome() -> catga::Result<()> {
    let mediator = {{mediator}};
    let first = mediator.send(Start{{Type}} { id: "1".into() }).await?;
    let again = mediator.send(Start{{Type}} { id: "1".into() }).await?;
    assert_eq!(first, again);
    Ok(())
}

#[tokio::test]
async fn compensations_undo_every_step() -> catga::Result<()> {
    let saga = {{Type}};
    let ctx = Context::new(MessageId::next());
    let mut state = {{Type}}State::new("1");
    for step in 0..{{Type}}::STEPS.len() {
        saga.execute(step, &mut state, &ctx).await?;
    }
    for step in (0..{{Type}}::STEPS.len()).rev() {
        saga.compensate(step, &mut state, &ctx).await?;
    }
    assert_eq!(state, {{Type}}State::new("1"));
    Ok(())
}
