//! A binary that did not install `CountingAllocator` cannot know its allocations per
//! operation: the run is refused with what to add, rather than reporting zeros.

use catga_bench::report::Tool;
use catga_bench::{RunError, RunOptions, builtin, run};

#[test]
fn a_run_without_the_counting_allocator_says_how_to_install_it() {
    let scenarios: Vec<_> = builtin::scenarios()
        .into_iter()
        .filter(|scenario| scenario.name() == "direct_call")
        .collect();
    let tool = Tool {
        name: "catga".into(),
        version: "test".into(),
    };
    let error = run(&scenarios, &RunOptions::default(), tool).unwrap_err();
    assert!(matches!(error, RunError::Options(_)), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("#[global_allocator]"), "{message}");
    assert!(message.contains("CountingAllocator"), "{message}");
}
