//! The service as an HTTP client sees it: the routes of `src/http.rs` over a real connection,
//! on a free port of 127.0.0.1.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test]
async fn a_task_created_over_http_can_be_read_back() -> catga::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let addr = listener.local_addr().expect("its address");
    let serving = tokio::spawn({{crate}}::http::serve(listener, {{crate}}::mediator()?));

    let create = r#"{"request_id": "req-1", "title": "Serve HTTP"}"#;
    let (status, id) = request(addr, "POST", "/tasks", create).await;
    assert_eq!(status, 200, "{id}");
    let (status, task) = request(addr, "GET", &format!("/tasks/{id}"), "").await;
    assert_eq!(status, 200, "{task}");
    let task: serde_json::Value = serde_json::from_str(&task).expect("a JSON task");
    assert_eq!(task["title"], "Serve HTTP");
    assert_eq!(task["done"], false);

    let untitled = r#"{"request_id": "req-2", "title": " "}"#;
    let (status, problem) = request(addr, "POST", "/tasks", untitled).await;
    assert_eq!(status, 422, "{problem}");
    let (status, problem) = request(addr, "GET", "/tasks/99", "").await;
    assert_eq!(status, 404, "{problem}");
    serving.abort();
    Ok(())
}

/// `method path` with `body` (JSON) on a connection of its own: the status and the body.
async fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(format!("{head}{body}").as_bytes())
        .await
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .expect("a status");
    (status, body.to_string())
}
