//! A restart of the venue is invisible: a venue rebuilt from what the last life recorded
//! and published (its journal entries, its fills, its trigger records) emits exactly what
//! the venue that never stopped emits, tick after tick.

use std::collections::{BTreeMap, BTreeSet};

use super::config::PaperConfig;
use super::restore::{History, JournalEntry, restoration};
use super::testutil::{STRATEGY, TOKEN, d, depth_tick, fills, ist, limit, market, signal, venue};
use super::venue::{PaperVenue, VenueEvent};
use crate::messages::{OrderFilled, OrderType, Side, Validity};

fn config() -> PaperConfig {
    PaperConfig {
        allow_short: true,
        depth_limited: true,
        order_timeout_secs: 600,
        ..PaperConfig::default()
    }
}

fn filled(events: &[VenueEvent]) -> Vec<OrderFilled> {
    events
        .iter()
        .filter_map(|e| match e {
            VenueEvent::Filled(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_venue_restored_from_its_records_goes_on_exactly_as_the_one_that_never_stopped() {
    let mut life = venue(config());
    let mut journal = Vec::new();
    let mut published = Vec::new();
    life.on_tick(
        &depth_tick("100.5", ("100.45", 500), ("100.55", 500)),
        ist(10, 0),
    );
    // A buy limit resting at 100; a sell stop-limit (trigger 100.2, limit 100.1); a buy
    // limit far below that only the timeout ends.
    let sl = signal(
        Side::Sell,
        5,
        OrderType::StopLimit,
        Some("100.1"),
        Some("100.2"),
        Validity::Day,
    );
    for (id, order) in [
        ("o1", limit(Side::Buy, 10, "100")),
        ("sl", sl),
        ("o3", limit(Side::Buy, 1, "90")),
    ] {
        let events = life.submit(id, &order, ist(10, 0));
        published.extend(filled(&events));
        journal.push(JournalEntry {
            submitted_at: Some(ist(10, 0)),
            events,
            cause: None,
            product: None,
            contract: None,
        });
    }
    // 10:01: the stop triggers (last 100.2) but the bid (100.00) is below its limit: it
    // rests as a limit, triggered. 10:02: the ask at 100 shows 4: o1 fills 4 of 10.
    let ticks = [
        (
            depth_tick("100.2", ("100", 500), ("100.25", 500)),
            ist(10, 1),
        ),
        (depth_tick("100", ("99.95", 500), ("100", 4)), ist(10, 2)),
    ];
    let mut triggered = BTreeSet::new();
    for (tick, at) in &ticks {
        published.extend(filled(&life.on_tick(tick, *at)));
        triggered.extend(life.take_triggered().into_iter().map(|t| t.client_order_id));
    }
    assert_eq!(triggered, BTreeSet::from(["sl".to_owned()]));
    assert_eq!(
        fills(
            &published
                .iter()
                .cloned()
                .map(VenueEvent::Filled)
                .collect::<Vec<_>>()
        ),
        [(4, d("100"))]
    );

    // The restart: only what was recorded and published.
    let mut reborn = venue(config());
    for fill in &published {
        assert!(reborn.restore_fill(fill));
    }
    let restored = restoration(&History {
        journal: &journal,
        fills: &published,
        failures: &[],
        submitted_at: &BTreeMap::new(),
        triggered: &triggered,
    });
    assert!(restored.orphans.is_empty());
    assert!(reborn.restore_orders(restored.resting).is_empty());
    assert_eq!(reborn.open_orders(), life.open_orders());
    assert_eq!(reborn.cash(STRATEGY), life.cash(STRATEGY));
    assert_eq!(
        reborn.position(STRATEGY, TOKEN),
        life.position(STRATEGY, TOKEN)
    );

    // From here both see the same ticks and signals and must say the same things.
    // 10:03: last 100.25 is above the trigger, but the stop had triggered: it fills 5 at
    //        its limit 100.1 against the bid at 100.15 (restored untriggered, it would not).
    // 10:04: the ask at 99.90 shows 100: o1 fills its remaining 6 at its limit, fill o1-2.
    // 10:05: a new market order: paper-3 in both lives.
    // 10:10: o3 times out, 600 s after its submission at 10:00.
    let later = [
        (
            depth_tick("100.25", ("100.15", 500), ("100.3", 500)),
            ist(10, 3),
        ),
        (
            depth_tick("99.9", ("99.85", 500), ("99.9", 100)),
            ist(10, 4),
        ),
    ];
    let mut seen = Vec::new();
    for (tick, at) in &later {
        let (a, b) = (life.on_tick(tick, *at), reborn.on_tick(tick, *at));
        assert_eq!(b, a, "at {at}");
        seen.extend(a);
    }
    let got: Vec<(String, u32, rust_decimal::Decimal, u32)> = filled(&seen)
        .into_iter()
        .map(|f| (f.fill_id, f.quantity, f.price, f.cumulative_quantity))
        .collect();
    assert_eq!(
        got,
        [
            ("sl-1".to_owned(), 5, d("100.1"), 5),
            ("o1-2".to_owned(), 6, d("100"), 10),
        ]
    );
    let (a, b) = (
        life.submit("n", &market(Side::Buy, 1), ist(10, 5)),
        reborn.submit("n", &market(Side::Buy, 1), ist(10, 5)),
    );
    assert_eq!(b, a);
    let broker_id = |events: &[VenueEvent]| match events.first() {
        Some(VenueEvent::Submitted(s)) => s.order.broker_order_id.clone(),
        _ => None,
    };
    assert_eq!(broker_id(&b).as_deref(), Some("paper-3"));
    let tick = depth_tick("99.9", ("99.85", 500), ("99.9", 100));
    let (a, b) = (
        life.on_tick(&tick, ist(10, 10)),
        reborn.on_tick(&tick, ist(10, 10)),
    );
    assert_eq!(b, a);
    let ended: Vec<&str> = a
        .iter()
        .filter_map(|e| match e {
            VenueEvent::Failed(f) => Some(f.message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        ended,
        ["unfilled after paper.order_timeout_secs (600 s): cancelled; 0 of 1 filled"]
    );
    assert_eq!(reborn.cash(STRATEGY), life.cash(STRATEGY));
    assert_eq!(reborn.open_orders(), 0);
    assert_restored_twice_is_harmless(&mut reborn, &published);
}

/// Fills and orders restored again (a redelivered journal entry) change nothing.
fn assert_restored_twice_is_harmless(v: &mut PaperVenue, fills: &[OrderFilled]) {
    let cash = v.cash(STRATEGY);
    assert!(fills.iter().all(|f| !v.restore_fill(f)));
    assert_eq!(v.cash(STRATEGY), cash);
}
