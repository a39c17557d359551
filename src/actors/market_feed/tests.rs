//! The feed against the Kite simulator, with a probe as its producer: what it publishes,
//! and how it recovers from drops, silence and malformed frames.

use super::*;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::{MarketTick, decode};
use crate::settings::{RetrySettings, Secret};
use crate::sim::{Derivatives, Simulator, SimulatorOptions, SimulatorStatus};
use crate::streaming::ProducerHandle;
use crate::streaming::producer::Publish;
use crate::streaming::retry::Backoff;
use crate::testkit::Probe;
use actix::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub(super) const WAIT: Duration = Duration::from_secs(20);
pub(super) const RELIANCE: u32 = 738_561;
pub(super) const INFY: u32 = 408_065;
pub(super) const NIFTY: u32 = 256_265;

pub(super) async fn simulator() -> (Simulator, InstrumentRegistry) {
    let registry = InstrumentRegistry::embedded().unwrap();
    let sim = Simulator::start(
        SimulatorOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            ticks_per_sec: 20,
            seed: 7,
            derivatives: Derivatives::default(),
        },
        &registry,
    )
    .await
    .unwrap();
    (sim, registry)
}

pub(super) fn targets(registry: &InstrumentRegistry) -> Vec<FeedTarget> {
    let subs: Vec<crate::settings::Subscription> = ["RELIANCE:full", "INFY:quote", "NIFTY 50:ltp"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    resolve_targets(&subs, registry).unwrap()
}

/// The feed's arguments for a test: the simulator, a quick liveness timeout and quick
/// reconnects.
fn args(sim: &Simulator, targets: Vec<FeedTarget>, producer: &Probe<Publish>) -> MarketFeedArgs {
    MarketFeedArgs {
        endpoint: Endpoint {
            url: sim.url(),
            api_key: Secret::new("key"),
            access_token: Secret::new("token"),
        },
        targets,
        producer: ProducerHandle::new(producer.recipient()),
        liveness: Duration::from_millis(500),
        reconnect: Backoff::new(&RetrySettings {
            base_ms: 20,
            factor: 2.0,
            max_ms: 200,
            attempts: u32::MAX,
            jitter: 0.2,
        }),
        max_in_flight: 100,
        order_updates: None,
        market_hours: None,
    }
}

pub(super) fn start_feed(
    sim: &Simulator,
    targets: Vec<FeedTarget>,
    producer: &Probe<Publish>,
) -> Addr<MarketFeed> {
    MarketFeed::new(args(sim, targets, producer)).start()
}

pub(super) fn tick_of(publish: &Publish) -> MarketTick {
    assert_eq!(publish.0.topic, "market.ticks");
    let env = decode::<MarketTick>(&publish.0.value).expect("a market.ticks envelope");
    assert_eq!(publish.0.key.as_deref(), Some(env.key.as_bytes()));
    env.data
}

pub(super) async fn wait_status(
    sim: &Simulator,
    what: &str,
    ok: impl Fn(&SimulatorStatus) -> bool,
) {
    let mut status = sim.status();
    tokio::time::timeout(WAIT, status.wait_for(|s| ok(s)))
        .await
        .unwrap_or_else(|_| panic!("simulator never reached: {what}"))
        .unwrap();
}

pub(super) fn expected_modes() -> BTreeMap<u32, TickMode> {
    BTreeMap::from([
        (RELIANCE, TickMode::Full),
        (INFY, TickMode::Quote),
        (NIFTY, TickMode::Ltp),
    ])
}

/// Kite (and the simulator) stream a new subscription in quote mode until the mode
/// request lands, so a token's first ticks after a (re)connect may be quotes. Returns each
/// token's ticks from the first one in its configured mode, asserting they all are.
fn settled(ticks: &[MarketTick]) -> Vec<&MarketTick> {
    let mut out = Vec::new();
    for token in [RELIANCE, INFY, NIFTY] {
        let mine: Vec<&MarketTick> = ticks.iter().filter(|t| t.token == token).collect();
        let first = mine
            .iter()
            .position(|t| t.mode == expected_modes()[&token])
            .unwrap_or_else(|| panic!("{token} never arrived in its mode"));
        for t in &mine[first..] {
            assert_eq!(
                t.mode,
                expected_modes()[&token],
                "once set, the mode of {token} stays"
            );
        }
        out.extend_from_slice(&mine[first..]);
    }
    out
}

/// Collects ticks until every subscribed token has been seen at least `rounds` times.
async fn ticks_for_every_token(probe: &mut Probe<Publish>, rounds: usize) -> Vec<MarketTick> {
    let mut seen: Vec<MarketTick> = Vec::new();
    let enough = |seen: &Vec<MarketTick>| {
        [RELIANCE, INFY, NIFTY]
            .iter()
            .all(|t| seen.iter().filter(|m| m.token == *t).count() >= rounds)
    };
    while !enough(&seen) {
        seen.push(tick_of(&probe.expect_msg(WAIT).await));
    }
    seen
}

#[actix::test]
async fn publishes_ticks_for_exactly_the_subscribed_tokens_in_their_modes() {
    let (sim, registry) = simulator().await;
    let mut producer = Probe::<Publish>::acking_producer();
    let feed = start_feed(&sim, targets(&registry), &producer);
    wait_status(&sim, "subscribed", |s| s.subscriptions == expected_modes()).await;
    let ticks = ticks_for_every_token(&mut producer, 4).await;
    let tokens: BTreeSet<u32> = ticks.iter().map(|t| t.token).collect();
    assert_eq!(
        tokens,
        BTreeSet::from([RELIANCE, INFY, NIFTY]),
        "nothing unsubscribed"
    );
    for t in settled(&ticks) {
        assert_eq!(t.mode, expected_modes()[&t.token], "mode of {}", t.token);
        let symbol = match t.token {
            RELIANCE => "RELIANCE",
            INFY => "INFY",
            _ => "NIFTY 50",
        };
        assert_eq!(t.symbol.as_deref(), Some(symbol));
        match t.mode {
            TickMode::Full => assert_eq!(t.depth.as_ref().map(|d| d.bids.len()), Some(5)),
            TickMode::Quote => assert!(t.ohlc.is_some() && t.depth.is_none()),
            TickMode::Ltp => assert!(t.ohlc.is_none()),
        }
    }
    let stats = feed.send(GetFeedStats).await.unwrap();
    assert_eq!(stats.connects, 1);
    assert_eq!(stats.malformed_frames + stats.packet_errors, 0);
}

#[actix::test]
async fn a_dropped_connection_is_redialled_with_the_same_subscriptions_and_ticks_resume() {
    let (sim, registry) = simulator().await;
    let mut producer = Probe::<Publish>::acking_producer();
    let feed = start_feed(&sim, targets(&registry), &producer);
    wait_status(&sim, "subscribed", |s| s.subscriptions == expected_modes()).await;
    ticks_for_every_token(&mut producer, 1).await;

    sim.drop_connections();
    wait_status(&sim, "second connection subscribed", |s| {
        s.accepted == 2 && s.subscriptions == expected_modes()
    })
    .await;
    producer.drain();
    let resumed = ticks_for_every_token(&mut producer, 4).await;
    settled(&resumed);
    let stats = feed.send(GetFeedStats).await.unwrap();
    assert_eq!((stats.connects, stats.disconnects), (2, 1));
}

#[actix::test]
async fn silence_longer_than_the_liveness_timeout_forces_a_reconnect() {
    let (sim, registry) = simulator().await;
    let mut producer = Probe::<Publish>::acking_producer();
    let feed = start_feed(&sim, targets(&registry), &producer);
    wait_status(&sim, "subscribed", |s| {
        s.accepted == 1 && !s.subscriptions.is_empty()
    })
    .await;
    ticks_for_every_token(&mut producer, 1).await;

    sim.set_silent(true);
    wait_status(&sim, "reconnected after silence", |s| s.accepted >= 2).await;
    sim.set_silent(false);
    wait_status(&sim, "resubscribed", |s| {
        s.subscriptions == expected_modes()
    })
    .await;
    producer.drain();
    ticks_for_every_token(&mut producer, 1).await;
    let stats = feed.send(GetFeedStats).await.unwrap();
    assert!(stats.disconnects >= 1 && stats.connects >= 2, "{stats:?}");
}

#[actix::test]
async fn malformed_frames_are_counted_and_the_stream_continues() {
    let (sim, registry) = simulator().await;
    let mut producer = Probe::<Publish>::acking_producer();
    let feed = start_feed(&sim, targets(&registry), &producer);
    wait_status(&sim, "subscribed", |s| s.subscriptions == expected_modes()).await;
    ticks_for_every_token(&mut producer, 1).await;

    sim.send_binary(Vec::new()); // empty frame
    sim.send_binary(vec![0, 2, 0, 8, 0, 0]); // two packets declared, the first truncated
    sim.send_binary(vec![0, 1, 0, 3, 1, 2, 3]); // a 3-byte packet: no such kind
    sim.send_text("{not json".into());
    // Ticks keep flowing on the same connection after the bad frames.
    let stats_before = feed.send(GetFeedStats).await.unwrap();
    producer.drain();
    ticks_for_every_token(&mut producer, 2).await;
    let stats = feed.send(GetFeedStats).await.unwrap();
    assert_eq!(stats.connects, 1, "no reconnect was needed");
    assert!(
        stats.malformed_frames + stats.packet_errors >= 4,
        "every bad frame counted: {stats:?}"
    );
    assert!(stats.ticks > stats_before.ticks);
}

#[actix::test]
async fn order_updates_on_the_ticker_reach_the_execution_side() {
    let (sim, registry) = simulator().await;
    let producer = Probe::<Publish>::acking_producer();
    let mut orders = Probe::<KiteOrderUpdate>::new();
    let mut args_targets = targets(&registry);
    args_targets.truncate(1);
    let feed = MarketFeed::new(MarketFeedArgs {
        liveness: Duration::from_secs(5),
        order_updates: Some(orders.recipient()),
        market_hours: None,
        ..args(&sim, args_targets, &producer)
    })
    .start();
    wait_status(&sim, "connected", |s| !s.subscriptions.is_empty()).await;
    sim.send_text(r#"{"type":"order","data":{"order_id":"151220000000000","status":"COMPLETE","tag":"ap-1"}}"#.into());
    let KiteOrderUpdate(update) = orders.expect_msg(WAIT).await;
    assert_eq!(update.order_id(), Some("151220000000000"));
    assert_eq!(update.status(), Some("COMPLETE"));
    assert_eq!(feed.send(GetFeedStats).await.unwrap().order_updates, 1);
}

#[actix::test]
async fn with_market_hours_enforced_the_feed_stays_away_while_the_market_is_closed() {
    let (sim, registry) = simulator().await;
    let producer = Probe::<Publish>::acking_producer();
    // Today (IST) is declared a holiday: closed all day.
    let today = crate::market::hours::MarketCalendar::ist_date(chrono::Utc::now());
    let calendar = crate::market::hours::MarketCalendar::new([today]);
    let feed = MarketFeed::new(MarketFeedArgs {
        liveness: Duration::from_secs(5),
        order_updates: None,
        market_hours: Some(calendar),
        ..args(&sim, targets(&registry), &producer)
    })
    .start();
    let mut status = sim.status();
    let connected =
        tokio::time::timeout(Duration::from_secs(1), status.wait_for(|s| s.accepted > 0)).await;
    assert!(
        connected.is_err(),
        "no connection while the market is closed"
    );
    assert_eq!(feed.send(GetFeedStats).await.unwrap().connects, 0);
}

/// A server that accepts TCP and never answers the WebSocket handshake used to stop the
/// feed for good (no log line, no retry): now the dial times out and is tried again.
#[actix::test]
async fn a_handshake_that_never_completes_is_given_up_and_dialled_again() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, mut accepts) = tokio::sync::watch::channel(0_usize);
    tokio::spawn(async move {
        let mut held = Vec::new(); // Open and silent, each of them.
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            accepted.send_replace(held.len());
        }
    });
    let (sim, registry) = simulator().await;
    let producer = Probe::<Publish>::acking_producer();
    let mut feed_args = args(&sim, targets(&registry), &producer);
    feed_args.endpoint.url = format!("ws://127.0.0.1:{port}");
    let feed = MarketFeed::new(feed_args).start();
    tokio::time::timeout(WAIT, accepts.wait_for(|n| *n >= 2))
        .await
        .expect("the feed dialled again after the silent handshake")
        .unwrap();
    let stats = feed.send(GetFeedStats).await.unwrap();
    assert_eq!(stats.connects, 0, "no connection ever completed: {stats:?}");
}

/// A TCP front for the simulator: while `hang` is set it accepts connections and never
/// answers (a ticker stuck in the handshake); once cleared, it relays new connections to
/// the simulator. Returns its port and how many connections it accepted so far.
async fn hanging_front(
    simulator: std::net::SocketAddr,
    hang: tokio::sync::watch::Receiver<bool>,
) -> (u16, tokio::sync::watch::Receiver<usize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, accepts) = tokio::sync::watch::channel(0_usize);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            accepted.send_modify(|n| *n += 1);
            if *hang.borrow() {
                held.push(socket);
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(simulator).await {
                    let _ = tokio::io::copy_bidirectional(&mut socket, &mut upstream).await;
                }
            });
        }
    });
    (port, accepts)
}

/// Polls the feed's counters until `done` holds (or fails the test at the deadline).
async fn stats_until(
    feed: &Addr<MarketFeed>,
    what: &str,
    done: impl Fn(&FeedStatsSnapshot) -> bool,
) -> FeedStatsSnapshot {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let stats = feed.send(GetFeedStats).await.unwrap();
        if done(&stats) {
            return stats;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: {stats:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The whole story of a hanging ticker: every silent handshake is a counted connect
/// failure, the health says disconnected with the cause, the feed keeps dialling, and once
/// the server answers it connects, ticks are published and the health turns ready.
#[actix::test]
async fn a_hanging_ticker_is_retried_counted_and_recovered_from() {
    let (sim, registry) = simulator().await;
    let (hang, hanging) = tokio::sync::watch::channel(true);
    let (port, mut accepts) = hanging_front(sim.local_addr(), hanging).await;
    let mut producer = Probe::<Publish>::acking_producer();
    let mut feed_args = args(&sim, targets(&registry), &producer);
    feed_args.endpoint.url = format!("ws://127.0.0.1:{port}");
    feed_args.liveness = Duration::from_millis(200);
    let health = FeedHealth::default();
    let feed = MarketFeed::with_health(feed_args, health.clone()).start();

    let stats = stats_until(&feed, "two failed dials", |s| s.connect_failures >= 2).await;
    assert_eq!(stats.connects, 0, "{stats:?}");
    assert!(*accepts.borrow() >= 2, "each failure was a real dial");
    assert!(producer.drain().is_empty(), "nothing published");
    let check = health.readiness(chrono::Utc::now(), true, DEFAULT_STALE_AFTER);
    assert!(!check.ready, "{check:?}");
    assert!(
        check
            .detail
            .contains("cannot connect (handshake step): no TLS/WebSocket handshake within 200ms"),
        "{check:?}"
    );
    assert!(!check.detail.contains("token"), "no credentials: {check:?}");

    hang.send_replace(false);
    let before = *accepts.borrow();
    tokio::time::timeout(WAIT, accepts.wait_for(|n| *n > before))
        .await
        .expect("the feed kept dialling")
        .unwrap();
    wait_status(&sim, "subscribed through the front", |s| {
        s.subscriptions == expected_modes()
    })
    .await;
    ticks_for_every_token(&mut producer, 2).await;
    let stats = feed.send(GetFeedStats).await.unwrap();
    assert_eq!(stats.connects, 1, "{stats:?}");
    assert!(
        stats.connect_failures >= 2 && stats.published >= 6,
        "{stats:?}"
    );
    let check = health.readiness(chrono::Utc::now(), true, DEFAULT_STALE_AFTER);
    assert!(check.ready, "{check:?}");
    assert!(check.detail.starts_with("connected since"), "{check:?}");
}

/// A refused TCP connection is a failure of the tcp step, counted and retried.
#[actix::test]
async fn a_refused_connection_is_a_counted_tcp_failure() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }; // Dropped: nothing listens there now.
    let (sim, registry) = simulator().await;
    let producer = Probe::<Publish>::acking_producer();
    let mut feed_args = args(&sim, targets(&registry), &producer);
    feed_args.endpoint.url = format!("ws://127.0.0.1:{closed}");
    let health = FeedHealth::default();
    let feed = MarketFeed::with_health(feed_args, health.clone()).start();
    stats_until(&feed, "two refused dials", |s| s.connect_failures >= 2).await;
    let detail = health
        .readiness(chrono::Utc::now(), false, DEFAULT_STALE_AFTER)
        .detail;
    assert!(
        detail.contains("cannot connect (tcp step): 127.0.0.1:"),
        "{detail}"
    );
}

/// Valid packets for an instrument nobody subscribed were published with symbol null; a
/// tick the checks refuse (a zero last price) reached every service, to be dead-lettered
/// by each. Neither is published now; both are counted.
#[actix::test]
async fn only_subscribed_and_sane_ticks_are_published() {
    let (sim, registry) = simulator().await;
    let mut producer = Probe::<Publish>::acking_producer();
    let feed = start_feed(&sim, targets(&registry), &producer);
    wait_status(&sim, "subscribed", |s| s.subscriptions == expected_modes()).await;
    ticks_for_every_token(&mut producer, 1).await;
    let subscribed: BTreeSet<u32> = expected_modes().into_keys().collect();
    let stranger: u32 = 1_025; // NSE segment, not subscribed
    assert!(!subscribed.contains(&stranger));
    let ltp = |token: u32, paise: i32| {
        let mut frame = vec![0, 1, 0, 8];
        frame.extend_from_slice(&token.to_be_bytes());
        frame.extend_from_slice(&paise.to_be_bytes());
        frame
    };
    let known = *subscribed.iter().next().unwrap();
    sim.send_binary(ltp(stranger, 150_000));
    sim.send_binary(ltp(known, 0));
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let stats = feed.send(GetFeedStats).await.unwrap();
        if stats.unsubscribed >= 1 && stats.invalid >= 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not counted: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Ticks go on; none of them is the stranger's or a zero price.
    let after = ticks_for_every_token(&mut producer, 2).await;
    let published: Vec<MarketTick> = producer.drain().iter().map(tick_of).chain(after).collect();
    assert!(
        published
            .iter()
            .all(|t| subscribed.contains(&t.token) && t.last_price > rust_decimal::Decimal::ZERO),
        "{published:?}"
    );
}
