//! The routes take the mediator from any router state that holds one, as axum's `FromRef`
//! lets them.

use axum::Router;
use axum::extract::FromRef;
use catga::prelude::*;
use catga_axum::MessageRoutes;

#[derive(Debug, Clone, Serialize, Deserialize, Query)]
#[query(response = String)]
struct Greet {
    name: String,
}

struct GreetHandler;

impl Handler<Greet> for GreetHandler {
    async fn handle(&self, query: Greet, _ctx: &Context) -> catga::Result<String> {
        Ok(format!("hello, {}", query.name))
    }
}

/// A service's own state, of which the mediator is one part.
#[derive(Clone)]
struct AppState {
    mediator: Mediator,
}

impl FromRef<AppState> for Mediator {
    fn from_ref(state: &AppState) -> Mediator {
        state.mediator.clone()
    }
}

#[tokio::test]
async fn routes_take_the_mediator_from_a_larger_state() {
    let mediator = Mediator::builder()
        .handler(GreetHandler)
        .build()
        .expect("builds");
    let app = Router::new()
        .query::<Greet>("/greet/{name}")
        .with_state(AppState { mediator });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}/greet/ada", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let body = reqwest::get(url)
        .await
        .expect("the service answers")
        .text()
        .await
        .expect("a body");
    assert_eq!(body, r#""hello, ada""#);
}
