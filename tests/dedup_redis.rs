//! Dedup claims against a real Redis: atomic under concurrency, and an unreachable Redis is
//! an error (retry), never "not a duplicate".

mod common;

use alpha_panda::streaming::consumer::HandlerError;
use alpha_panda::streaming::dedup::{Claim, DedupStore, RedisDedup, dedup_key};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(120);
const TIMEOUT: Duration = Duration::from_secs(2);

async fn connect(url: &str) -> RedisDedup {
    RedisDedup::connect(url, TIMEOUT, TIMEOUT)
        .await
        .expect("redis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_deliveries_of_one_event_let_exactly_one_through() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let stores: Vec<RedisDedup> = futures::future::join_all((0..8).map(|_| connect(&url))).await;
    let event = Uuid::new_v4();
    let claims = (0..200).map(|i| {
        let store = stores[i % stores.len()].clone();
        tokio::spawn(async move { store.claim("orders", event, TTL).await })
    });
    let results: Vec<Claim> = futures::future::join_all(claims)
        .await
        .into_iter()
        .map(|r| r.expect("task").expect("claim"))
        .collect();
    let firsts = results.iter().filter(|c| **c == Claim::First).count();
    assert_eq!(firsts, 1, "exactly one delivery passes");
    assert_eq!(results.len() - firsts, 199);

    // The key carries the configured expiry, and another service has its own namespace.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("TTL")
        .arg(dedup_key("orders", event))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=120).contains(&ttl), "ttl {ttl}");
    assert_eq!(
        stores[0].claim("portfolio", event, TTL).await,
        Ok(Claim::First)
    );
}

#[tokio::test]
async fn released_claim_lets_a_redelivery_through() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let store = connect(&url).await;
    let event = Uuid::new_v4();
    assert_eq!(store.claim("exec", event, TTL).await, Ok(Claim::First));
    store.release("exec", event).await.expect("release");
    assert_eq!(store.claim("exec", event, TTL).await, Ok(Claim::First));
    assert_eq!(store.claim("exec", event, TTL).await, Ok(Claim::Duplicate));
}

struct OwnRedis(Child);
impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn redis_going_away_makes_claims_fail_as_transient_never_as_first() {
    // Needs its own Redis to kill; the shared one must stay up.
    if common::redis_url().is_none() {
        return;
    }
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server on PATH (scripts/test-services.sh installs it)");
    let mut own = OwnRedis(child);
    let url = format!("redis://127.0.0.1:{port}");
    // Readiness: the server accepts connections once it has started.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let store = loop {
        match RedisDedup::connect(&url, TIMEOUT, TIMEOUT).await {
            Ok(s) => break s,
            Err(e) if std::time::Instant::now() > deadline => panic!("own redis: {e}"),
            Err(_) => tokio::task::yield_now().await,
        }
    };
    let event = Uuid::new_v4();
    assert_eq!(store.claim("exec", event, TTL).await, Ok(Claim::First));

    own.0.kill().unwrap();
    own.0.wait().unwrap();
    let err = store
        .claim("exec", Uuid::new_v4(), TTL)
        .await
        .expect_err("a claim without Redis must fail");
    assert!(
        !err.to_string().contains("127.0.0.1:"),
        "no connection details leak: {err}"
    );
    assert!(matches!(
        HandlerError::from(err),
        HandlerError::Transient(_)
    ));

    let unreachable = RedisDedup::connect("redis://127.0.0.1:1", TIMEOUT, TIMEOUT).await;
    assert!(unreachable.is_err());
}
