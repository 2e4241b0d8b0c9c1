//! What the tests of catga-ops share: a plain HTTP/1.1 GET over loopback, and a small service.

use std::net::SocketAddr;
use std::time::Duration;

use catga::prelude::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Fails the test when `future` does not finish within `seconds`.
pub(crate) async fn bounded<F: Future>(seconds: u64, future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(seconds), future)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {seconds} s"))
}

/// `GET path` on `addr`: the status code and the body.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("sends the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("reads the response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status code in {head:?}"));
    (status, body.to_string())
}

#[derive(Debug, Clone, Serialize, Deserialize, Command)]
#[command(response = u64)]
pub(crate) struct PlaceOrder {
    pub(crate) order: u64,
}

/// Places orders; order 0 is refused.
pub(crate) struct PlaceOrderHandler;

impl Handler<PlaceOrder> for PlaceOrderHandler {
    async fn handle(&self, command: PlaceOrder, _ctx: &Context) -> catga::Result<u64> {
        if command.order == 0 {
            return Err(Error::validation("order 0 does not exist"));
        }
        Ok(command.order)
    }
}
