//! Runtime subscriptions against the Kite simulator: a wish delivered to the feed (as the
//! `market.subscriptions` tail delivers it) is sent on the live connection as
//! subscribe/mode/unsubscribe requests, its instruments' ticks are published, and after the
//! connection drops the new connection is subscribed to the configured ∪ runtime set, in
//! their modes, without what was unsubscribed. The simulator's status is what it was sent
//! on its most recent connection, so every wait is on what actually arrived there.

use super::tests::{
    INFY, WAIT, expected_modes, simulator, start_feed, targets, tick_of, wait_status,
};
use super::*;
use crate::messages::{
    Broker, Envelope, RecordOrigin, SubscriptionsChanged, TickMode, WantedInstrument,
};
use crate::streaming::Topic;
use crate::streaming::consumer::Deliver;
use crate::streaming::producer::Publish;
use crate::testkit::Probe;
use actix::Addr;
use std::collections::BTreeMap;

const TCS: u32 = 2_953_217;
const HDFCBANK: u32 = 341_249;

/// `strategy`'s whole wish, delivered as the tail would.
fn wish(strategy: &str, instruments: &[(u32, &str, TickMode)]) -> Deliver<SubscriptionsChanged> {
    let data = SubscriptionsChanged {
        strategy_id: strategy.into(),
        broker: Broker::Paper,
        instruments: instruments
            .iter()
            .map(|(token, symbol, mode)| WantedInstrument {
                token: *token,
                symbol: (*symbol).into(),
                mode: *mode,
            })
            .collect(),
    };
    Deliver {
        envelope: Envelope::root(data, "strategy_runner", chrono::Utc::now()),
        origin: RecordOrigin {
            topic: Topic::MARKET_SUBSCRIPTIONS.name(),
            partition: 0,
            offset: 0,
        },
    }
}

/// The ticks published up to (bounded) the first TCS tick in full mode, which is last.
async fn until_full_tcs_tick(producer: &mut Probe<Publish>) -> Vec<crate::messages::MarketTick> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let tick = tick_of(&producer.expect_msg(left).await);
        let done = tick.token == TCS && tick.mode == TickMode::Full;
        seen.push(tick);
        if done {
            return seen;
        }
    }
}

async fn apply(feed: &Addr<MarketFeed>, wish: Deliver<SubscriptionsChanged>) {
    let completion = feed.send(wish).await.unwrap().unwrap();
    assert!(
        completion.deliveries.is_empty(),
        "the feed publishes nothing for a wish"
    );
}

#[actix::test]
async fn subscriptions_changed_at_runtime_reach_the_live_connection_and_survive_a_reconnect() {
    let (sim, registry) = simulator().await;
    let mut producer = Probe::<Publish>::acking_producer();
    let feed = start_feed(&sim, targets(&registry), &producer);
    wait_status(&sim, "configured set", |s| {
        s.subscriptions == expected_modes()
    })
    .await;

    // `a` wants TCS in full, HDFCBANK in ltp and INFY (configured in quote) in full; `b`
    // wants HDFCBANK too.
    apply(
        &feed,
        wish(
            "a",
            &[
                (INFY, "INFY", TickMode::Full),
                (HDFCBANK, "HDFCBANK", TickMode::Ltp),
                (TCS, "TCS", TickMode::Full),
            ],
        ),
    )
    .await;
    apply(&feed, wish("b", &[(HDFCBANK, "HDFCBANK", TickMode::Ltp)])).await;
    let mut live: BTreeMap<u32, TickMode> = expected_modes();
    live.extend([
        (INFY, TickMode::Full),
        (HDFCBANK, TickMode::Ltp),
        (TCS, TickMode::Full),
    ]);
    wait_status(&sim, "the runtime set on the live connection", |s| {
        s.accepted == 1 && s.subscriptions == live
    })
    .await;
    // The new instrument's ticks are published, with its symbol, in its mode.
    let seen = until_full_tcs_tick(&mut producer).await;
    assert_eq!(seen.last().and_then(|t| t.symbol.as_deref()), Some("TCS"));

    // `a` keeps only TCS: HDFCBANK stays (`b` wants it), INFY stays (configured) in its
    // configured mode.
    apply(&feed, wish("a", &[(TCS, "TCS", TickMode::Full)])).await;
    live.insert(INFY, TickMode::Quote);
    wait_status(&sim, "a's drops applied on the live connection", |s| {
        s.accepted == 1 && s.subscriptions == live
    })
    .await;
    // `b` withdraws: HDFCBANK is unsubscribed at the ticker.
    apply(&feed, wish("b", &[])).await;
    live.remove(&HDFCBANK);
    wait_status(&sim, "b's withdrawal on the live connection", |s| {
        s.accepted == 1 && s.subscriptions == live
    })
    .await;

    sim.drop_connections();
    wait_status(
        &sim,
        "the new connection subscribed to configured ∪ runtime",
        |s| s.accepted == 2 && s.subscriptions == live,
    )
    .await;
    producer.drain();
    let mut published: Vec<u32> = until_full_tcs_tick(&mut producer)
        .await
        .iter()
        .map(|t| t.token)
        .collect();
    published.extend(producer.drain().iter().map(|p| tick_of(p).token));
    assert!(
        !published.contains(&HDFCBANK),
        "unsubscribed: {published:?}"
    );
    let stats = feed.send(GetFeedStats).await.unwrap();
    assert_eq!((stats.connects, stats.disconnects), (2, 1));
    assert_eq!(
        (stats.subscription_changes, stats.subscriptions_refused),
        (3, 0),
        "a's wish, a's drops, b's withdrawal ({stats:?}); b's HDFCBANK, already streamed \
         for a, changed nothing"
    );
}

/// A wish that changes nothing the feed streams (the configured instrument in its
/// configured mode) sends nothing and counts no change.
#[actix::test]
async fn a_wish_for_what_is_already_streamed_changes_nothing() {
    let (sim, registry) = simulator().await;
    let producer = Probe::<Publish>::acking_producer();
    let feed = start_feed(&sim, targets(&registry), &producer);
    wait_status(&sim, "configured set", |s| {
        s.subscriptions == expected_modes()
    })
    .await;
    apply(&feed, wish("a", &[(INFY, "INFY", TickMode::Quote)])).await;
    apply(&feed, wish("a", &[])).await;
    let stats = feed.send(GetFeedStats).await.unwrap();
    assert_eq!(stats.subscription_changes, 0, "{stats:?}");
    assert_eq!(sim.status().borrow().subscriptions, expected_modes());
}
