//! Which orders a restart puts back, and in what state.

use super::*;
use crate::messages::{Broker, Fees, OrderRef, OrderType, Side, Validity};
use chrono::TimeZone;

fn order(id: &str) -> OrderRef {
    OrderRef {
        client_order_id: id.into(),
        broker_order_id: Some(format!("paper-{}", id.len())),
        strategy_id: "s".into(),
        broker: Broker::Paper,
        token: 1,
        symbol: "X".into(),
        side: Side::Buy,
    }
}

fn submitted(id: &str, quantity: u32) -> VenueEvent {
    VenueEvent::Submitted(OrderSubmitted {
        order: order(id),
        quantity,
        order_type: OrderType::Limit,
        price: Some(Decimal::ONE),
        trigger_price: None,
        validity: Validity::Day,
    })
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 4, minute, 0)
        .single()
        .unwrap_or_default()
}

fn fill(id: &str, quantity: u32, cumulative: u32, of: u32) -> OrderFilled {
    OrderFilled {
        order: order(id),
        fill_id: format!("{id}-{cumulative}"),
        quantity,
        price: Decimal::ONE,
        fees: Fees {
            brokerage: Decimal::new(5, 1),
            total: Decimal::new(5, 1),
            ..Fees::default()
        },
        cumulative_quantity: cumulative,
        order_quantity: of,
        filled_at: at(1),
    }
}

fn failed(id: &str, kind: OrderFailureKind) -> OrderFailed {
    OrderFailed {
        order: order(id),
        quantity: 10,
        filled_quantity: 0,
        kind,
        message: String::new(),
    }
}

fn entry(events: Vec<VenueEvent>, submitted_at: Option<DateTime<Utc>>) -> JournalEntry {
    JournalEntry {
        submitted_at,
        events,
        cause: None,
        product: None,
        contract: None,
    }
}

/// `(id, filled, fills, brokerage paid, submitted at, triggered)` of a restored order.
type Restored<'a> = (&'a str, u32, u32, Decimal, DateTime<Utc>, bool);

#[test]
fn open_orders_come_back_with_their_fills_time_and_trigger_and_ended_ones_do_not() {
    let journal = vec![
        // Filled at once (journaled fill): done.
        entry(
            vec![
                submitted("a", 10),
                VenueEvent::Filled(fill("a", 10, 10, 10)),
            ],
            Some(at(0)),
        ),
        // Filled later on ticks (topic fills): done.
        entry(vec![submitted("b", 10)], Some(at(0))),
        // 4 of 10 filled on a later tick, then the venue died: back with 4 and one fill.
        entry(vec![submitted("c", 10)], Some(at(2))),
        // Never filled, a legacy entry with no time: the Submitted envelope's time.
        entry(vec![submitted("d", 10)], None),
        // Expired on the topic: done.
        entry(vec![submitted("e", 10)], Some(at(0))),
        // Refused at once (journaled failure, no submission): nothing.
        entry(
            vec![VenueEvent::Failed(failed(
                "f",
                OrderFailureKind::ShortingNotAllowed,
            ))],
            Some(at(0)),
        ),
        // Open, legacy, and no Submitted on the topic either: cannot be timed.
        entry(vec![submitted("g", 7)], None),
    ];
    let fills = [
        fill("b", 6, 6, 10),
        fill("b", 4, 10, 10),
        fill("c", 4, 4, 10),
        // The same fill read twice (a redelivered publication) counts once.
        fill("c", 4, 4, 10),
    ];
    let failures = [failed("e", OrderFailureKind::Expired)];
    let submitted_at = BTreeMap::from([("d".to_owned(), at(3))]);
    let triggered = BTreeSet::from(["c".to_owned()]);
    let history = History {
        journal: &journal,
        fills: &fills,
        failures: &failures,
        submitted_at: &submitted_at,
        triggered: &triggered,
    };
    let restored = restoration(&history);
    let got: Vec<Restored<'_>> = restored
        .resting
        .iter()
        .map(|r| {
            let id = r.submitted.order.client_order_id.as_str();
            (
                id,
                r.filled,
                r.fills,
                r.brokerage_paid,
                r.submitted_at,
                r.triggered,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("c", 4, 1, Decimal::new(5, 1), at(2), true),
            ("d", 0, 0, Decimal::ZERO, at(3), false),
        ]
    );
    let orphans: Vec<(&str, u32, u32, OrderFailureKind)> = restored
        .orphans
        .iter()
        .map(|o| {
            let id = o.order.client_order_id.as_str();
            (id, o.quantity, o.filled_quantity, o.kind)
        })
        .collect();
    assert_eq!(orphans, [("g", 7, 0, OrderFailureKind::Cancelled)]);
    assert!(restored.orphans.iter().all(|o| o.message == ORPHAN_MESSAGE));

    // A second restart after g's cancellation and c's completion on the topics: only d.
    let failures = [&failures[..], &restored.orphans[..]].concat();
    let fills = [&fills[..], &[fill("c", 6, 10, 10)]].concat();
    let again = restoration(&History {
        fills: &fills,
        failures: &failures,
        ..history
    });
    let ids: Vec<&str> = again
        .resting
        .iter()
        .map(|r| r.submitted.order.client_order_id.as_str())
        .collect();
    assert_eq!(ids, ["d"]);
    assert!(again.orphans.is_empty());
}

#[test]
fn journal_entries_read_in_both_shapes() {
    let events = vec![submitted("a", 3)];
    let legacy = serde_json::to_string(&events).unwrap_or_default();
    assert_eq!(
        JournalEntry::from_json(&legacy).ok(),
        Some(entry(events.clone(), None)),
        "the bare list of events written before entries carried the time"
    );
    let current = entry(events, Some(at(5)));
    let json = current.to_json().unwrap_or_default();
    assert!(json.contains("\"submitted_at\""), "{json}");
    assert_eq!(JournalEntry::from_json(&json).ok(), Some(current));
    assert!(JournalEntry::from_json("{\"events\": 5}").is_err());
}
