//! The default daemon (embedded broker, in-memory store, built-in simulator) subscribed to
//! one sample option of the embedded registry: the simulator prices it and the feed
//! publishes its ticks to `market.ticks`.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use alpha_panda::market::instruments::{InstrumentKind, InstrumentRegistry};
use rust_decimal::Decimal;

/// `GET path` over plain HTTP/1.0: the body.
fn http_get(addr: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the API");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// The value of a label-less counter in a Prometheus text exposition.
fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

#[test]
fn the_default_daemon_publishes_ticks_of_a_subscribed_sample_option() {
    // The sample's symbols depend on the day: resolve one as the daemon will.
    let registry = InstrumentRegistry::embedded().unwrap();
    let option = registry
        .iter()
        .filter(|i| i.name == "NIFTY" && i.kind == InstrumentKind::Put)
        .max_by_key(|i| (i.expiry, -(i.strike - Decimal::from(26_000)).abs()))
        .unwrap();
    let subscription = format!("{}:full", option.key());
    let mut child = Command::new(env!("CARGO_BIN_EXE_alpha-panda"))
        .arg("run")
        .env("NO_COLOR", "1")
        .env("ALPHA_PANDA__LOG__FORMAT", "json")
        .env("ALPHA_PANDA__API__LISTEN", "127.0.0.1:0")
        .env("ALPHA_PANDA__FEED__SUBSCRIPTIONS", &subscription)
        .env("ALPHA_PANDA__SIMULATOR__TICKS_PER_SEC", "20")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut api = None;
    for line in lines.by_ref().map_while(Result::ok) {
        if line.contains("HTTP API listening") {
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            api = value["addr"].as_str().map(str::to_owned);
        }
        if line.contains("running until SIGINT/SIGTERM") {
            break;
        }
    }
    // Keep reading the log so the daemon never blocks on a full pipe.
    let log = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let api = api.expect("the daemon logged where the API listens");

    // Only the option is subscribed, so every tick published is the option's.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut published, mut errors) = (0, 0);
    while published < 5 && Instant::now() < deadline {
        let metrics = http_get(&api, "/metrics");
        published = counter(&metrics, "alpha_panda_feed_published_total");
        errors = counter(&metrics, "alpha_panda_feed_packet_errors_total");
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = child.wait().unwrap();
    let log = log.join().unwrap();
    assert!(
        published >= 5,
        "{subscription}: {published} ticks published; log: {log:#?}"
    );
    assert_eq!(errors, 0, "every packet of the option decoded");
    assert_eq!(exit.code(), Some(0), "{log:#?}");
}
