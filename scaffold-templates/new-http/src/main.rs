//! Runs {{package}} as an HTTP service until stopped: its commands and queries (`src/http.rs`)
//! on `CATGA_HTTP_ADDR`, by default `127.0.0.1:8080`.

use {{crate}}::http;

#[tokio::main]
async fn main() -> catga::Result<()> {
    let listener = http::bind().await?;
    println!(
        "{{package}} HTTP on {} (POST /tasks, GET /tasks/ID)",
        http::url(&listener)?
    );
    http::serve(listener, {{crate}}::mediator()?).await
}
