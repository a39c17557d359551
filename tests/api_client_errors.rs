//! Other people's bad requests write no ERROR line (issue 16): malformed HTTP, oversized
//! heads and bad paths sent to the real API server on 127.0.0.1 are answered 4xx, and the
//! process log — captured process-wide with the daemon's own filter
//! (`telemetry::env_filter`), since actix-http logs on the server's worker thread — holds
//! no ERROR. In a test binary of its own: the capture is process-wide.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alpha_panda::api::{ApiContext, ReadinessCheck, serve};
use alpha_panda::settings::Secret;
use alpha_panda::supervision::Tree;
use alpha_panda::testkit::logs::CapturedLogs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(5);

fn context() -> ApiContext {
    ApiContext {
        brokers: vec![alpha_panda::messages::Broker::Paper],
        store: Arc::new(alpha_panda::store::MemoryStore::default()),
        strategies: Vec::new(),
        control_token: Secret::new("a-control-token-of-32-characters"),
        kill_switch: None,
        flatten: None,
        risk_view: None,
        strategy_runner: None,
        symbols: HashMap::new(),
        tree: Arc::new(|| Tree {
            actors: Vec::new(),
            restarts: Default::default(),
        }),
        readiness: Arc::new(|| Box::pin(async { vec![ReadinessCheck::ready("store", "memory")] })),
        metrics: Arc::new(String::new),
        events: tokio::sync::broadcast::channel(4).0,
        orders: Arc::new(|_, _| Vec::new()),
    }
}

/// Sends `bytes` on a fresh connection and returns the status line of the answer.
async fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(bytes).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, socket.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().unwrap_or_default().to_owned()
}

fn capture() -> CapturedLogs {
    let logs = CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(alpha_panda::telemetry::env_filter("info"))
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    logs
}

#[actix_web::test]
async fn malformed_requests_are_4xx_without_error_lines() {
    let logs = capture();
    let server = serve("127.0.0.1:0".parse().unwrap(), context())
        .await
        .unwrap();
    let addr = server.addr;
    let huge_head = format!(
        "GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(256 * 1024)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not HTTP", b"HELLO THERE\r\n\r\n".to_vec()),
        ("bad header", b"GET / HTTP/1.1\r\nHost x\r\n\r\n".to_vec()),
        (
            "bad method token",
            b"G\x01T /health/live HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        ("oversized head", huge_head.into_bytes()),
        (
            "bad chunked body",
            b"POST /api/v1/trading/paper/halt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n".to_vec(),
        ),
        (
            "bad percent-encoding in the path",
            b"POST /api/v1/trading/%FF%FE/halt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "bad query",
            b"GET /api/v1/orders?limit=%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        (
            "unknown event kind",
            b"GET /api/v1/events?kinds=nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        ),
    ];
    for (name, bytes) in cases {
        let status = raw(addr, &bytes).await;
        let code: Option<u16> = status.split(' ').nth(1).and_then(|c| c.parse().ok());
        assert!(
            code.is_some_and(|c| (400..500).contains(&c)),
            "{name}: {status:?}"
        );
    }
    server.stop().await;
    let text = logs.text();
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(
        text.contains("HTTP API listening"),
        "the capture works: {text}"
    );
}
