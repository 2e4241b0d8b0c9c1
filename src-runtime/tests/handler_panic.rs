//! A panicking handler becomes an internal error and the mediator keeps serving.

use catga::prelude::*;

#[derive(Debug, Clone, Command)]
#[command(response = u32)]
struct Divide {
    dividend: u32,
    divisor: u32,
}

struct DivideHandler;
impl Handler<Divide> for DivideHandler {
    async fn handle(&self, cmd: Divide, _ctx: &Context) -> catga::Result<u32> {
        tokio::task::yield_now().await;
        if cmd.divisor == 0 {
            panic!("attempt to divide by zero");
        }
        Ok(cmd.dividend / cmd.divisor)
    }
}

#[tokio::test]
async fn panicking_handler_becomes_internal_error_and_next_send_works() {
    let mediator = Mediator::builder().handler(DivideHandler).build().unwrap();
    let err = mediator
        .send(Divide {
            dividend: 1,
            divisor: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.message().contains("DivideHandler"), "{err}");
    assert!(err.message().contains("divide by zero"), "{err}");
    assert_eq!(
        mediator
            .send(Divide {
                dividend: 8,
                divisor: 2
            })
            .await
            .unwrap(),
        4
    );
}

#[tokio::test]
async fn panicking_handler_inside_a_pipeline_becomes_internal_error() {
    let mediator = Mediator::builder()
        .handler(DivideHandler)
        .behavior(Retry::exponential(3))
        .build()
        .unwrap();
    let err = mediator
        .send(Divide {
            dividend: 1,
            divisor: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert_eq!(
        mediator
            .send(Divide {
                dividend: 9,
                divisor: 3
            })
            .await
            .unwrap(),
        3
    );
}
