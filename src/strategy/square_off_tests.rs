//! The square-off as tables: a ledger with a position and orders in flight, and what is
//! uncovered, what the closing order is, and which decisions open or grow a position;
//! then the back-off of one slot's closing orders through fills and failures.

use super::Ledger;
use super::square_off::{SQUARE_OFF_REASON, SquareOff, closing_intent, opens_or_grows, uncovered};
use crate::messages::{
    Broker, Fees, OrderFilled, OrderRef, OrderType, Product, Side, TradingSignal, Validity,
    client_order_id_of_signal,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use Side::{Buy, Sell};

const T: u32 = 7;

/// Orders in flight: (side, quantity, filled so far).
type InFlight = Vec<(Side, u32, u32)>;

/// (name, opened, in flight, uncovered, closing order (side, quantity)).
type ClosingCase = (&'static str, i64, InFlight, i64, Option<(Side, u32)>);

/// (name, opened, in flight, decision (side, quantity), opens or grows).
type DecisionCase = (&'static str, i64, InFlight, (Side, u32), bool);

fn at(second: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 9, 45, 0)
        .single()
        .expect("valid timestamp")
        + Duration::seconds(second)
}

fn signal(side: Side, quantity: u32) -> TradingSignal {
    TradingSignal {
        strategy_id: "s".into(),
        broker: Broker::Paper,
        token: T,
        symbol: "T".into(),
        side,
        quantity,
        order_type: OrderType::Market,
        price: None,
        trigger_price: None,
        validity: Validity::Day,
        reference_price: Decimal::ONE_HUNDRED,
        reason: "test".into(),
        product: None,
        position: 0,
    }
}

fn fill(id: &str, side: Side, quantity: u32, cumulative: u32, of: u32) -> OrderFilled {
    OrderFilled {
        order: OrderRef {
            client_order_id: id.into(),
            broker_order_id: None,
            strategy_id: "s".into(),
            broker: Broker::Paper,
            token: T,
            symbol: "T".into(),
            side,
        },
        fill_id: format!("{id}-{cumulative}"),
        quantity,
        price: Decimal::ONE_HUNDRED,
        fees: Fees::default(),
        cumulative_quantity: cumulative,
        order_quantity: of,
        filled_at: at(0),
    }
}

/// A ledger that opened `position` (one complete fill) and has these orders in flight:
/// (side, quantity, filled so far; what they filled moves the position too).
fn ledger(position: i64, pending: &[(Side, u32, u32)]) -> Ledger {
    let mut ledger = Ledger::default();
    if position != 0 {
        let side = if position > 0 { Buy } else { Sell };
        let quantity = u32::try_from(position.unsigned_abs()).expect("small position");
        ledger.filled(&fill("opening", side, quantity, quantity, quantity));
    }
    for (n, (side, quantity, filled)) in pending.iter().enumerate() {
        let id = Uuid::from_u128(u128::try_from(n).expect("small") + 1);
        ledger.sent(id, &signal(*side, *quantity), at(0));
        if *filled > 0 {
            let client = client_order_id_of_signal(id);
            ledger.filled(&fill(&client, *side, *filled, *filled, *quantity));
        }
    }
    ledger
}

#[test]
fn the_uncovered_position_and_its_closing_order() {
    #[rustfmt::skip]
    let cases: Vec<ClosingCase> = vec![
        ("flat", 0, vec![], 0, None),
        ("long", 10, vec![], 10, Some((Sell, 10))),
        ("short", -10, vec![], -10, Some((Buy, 10))),
        ("fully covered", 10, vec![(Sell, 10, 0)], 0, None),
        ("partly covered", 10, vec![(Sell, 4, 0)], 6, Some((Sell, 6))),
        ("a partial fill of the closing order counts once", 10, vec![(Sell, 10, 4)], 0, None),
        ("partly filled and partly covered", 10, vec![(Sell, 4, 3)], 6, Some((Sell, 6))),
        ("over-covered", 10, vec![(Sell, 15, 0)], 0, None),
        ("an order away from zero is not counted", 10, vec![(Buy, 5, 0)], 10, Some((Sell, 10))),
        ("short, partly covered", -10, vec![(Buy, 3, 0), (Sell, 2, 0)], -7, Some((Buy, 7))),
        ("flat with an opening order in flight", 0, vec![(Buy, 10, 0)], 0, None),
    ];
    for (name, opened, pending, open, closing) in cases {
        let ledger = ledger(opened, &pending);
        let filled: i64 = pending
            .iter()
            .map(|(side, _, filled)| match side {
                Buy => i64::from(*filled),
                Sell => -i64::from(*filled),
            })
            .sum();
        assert_eq!(ledger.position(T), opened + filled, "{name}: the fixture");
        assert_eq!(uncovered(&ledger, T), open, "{name}: uncovered");
        let intent = closing_intent(&ledger, T);
        assert_eq!(
            intent.as_ref().map(|i| (i.side, i.quantity)),
            closing,
            "{name}: closing order"
        );
        if let Some(i) = intent {
            assert_eq!(i.order_type, OrderType::Market, "{name}");
            assert_eq!(i.validity, Validity::Day, "{name}");
            assert_eq!(i.product, Some(Product::Mis), "{name}");
            assert_eq!(i.reason, SQUARE_OFF_REASON, "{name}");
        }
    }
}

#[test]
fn only_a_reduction_within_the_uncovered_position_does_not_open_or_grow() {
    #[rustfmt::skip]
    let cases: Vec<DecisionCase> = vec![
        ("an entry from flat", 0, vec![], (Buy, 10), true),
        ("a short entry from flat", 0, vec![], (Sell, 10), true),
        ("adding to a long", 10, vec![], (Buy, 1), true),
        ("adding to a short", -10, vec![], (Sell, 1), true),
        ("closing a long", 10, vec![], (Sell, 10), false),
        ("reducing a long", 10, vec![], (Sell, 4), false),
        ("covering a short", -10, vec![], (Buy, 10), false),
        ("flipping a long", 10, vec![], (Sell, 11), true),
        ("flipping a short", -10, vec![], (Buy, 20), true),
        ("closing what a closing order already closes", 10, vec![(Sell, 10, 0)], (Sell, 10), true),
        ("closing the rest", 10, vec![(Sell, 6, 0)], (Sell, 4), false),
    ];
    for (name, position, pending, (side, quantity), expected) in cases {
        let ledger = ledger(position, &pending);
        assert_eq!(
            opens_or_grows(&ledger, T, side, quantity),
            expected,
            "{name}"
        );
    }
}

#[test]
fn a_failed_closing_order_is_sent_again_after_the_back_off_and_a_fill_resets_it() {
    let mut square_off = SquareOff::default();
    let mut book = ledger(10, &[]);
    let first = square_off
        .closing(&book, T, at(0))
        .expect("a long to close");
    assert_eq!((first.side, first.quantity), (Sell, 10));

    // Sent: pending in the ledger, nothing more to send.
    let id = Uuid::from_u128(1);
    let client = client_order_id_of_signal(id);
    book.sent(id, &signal(Sell, 10), at(0));
    square_off.sent(client.clone());
    assert!(square_off.is_closing(&client));
    assert_eq!(square_off.closing(&book, T, at(0)), None, "covered");

    // It fails: 1 s of back-off, then the whole position again.
    book.rejected(id, vec![], String::new());
    square_off.ended(&client, T, at(5));
    assert!(!square_off.is_closing(&client));
    assert_eq!(square_off.closing(&book, T, at(5)), None, "backing off");
    let again = square_off.closing(&book, T, at(6)).expect("after 1 s");
    assert_eq!((again.side, again.quantity), (Sell, 10));

    // A second failure doubles the wait.
    let id = Uuid::from_u128(2);
    let client = client_order_id_of_signal(id);
    book.sent(id, &signal(Sell, 10), at(6));
    square_off.sent(client.clone());
    book.rejected(id, vec![], String::new());
    square_off.ended(&client, T, at(6));
    assert_eq!(square_off.closing(&book, T, at(7)), None);
    assert!(square_off.closing(&book, T, at(8)).is_some());

    // A partial fill of the next one resets the back-off; its end leaves the rest.
    let id = Uuid::from_u128(3);
    let client = client_order_id_of_signal(id);
    book.sent(id, &signal(Sell, 10), at(8));
    square_off.sent(client.clone());
    book.filled(&fill(&client, Sell, 4, 4, 10));
    square_off.filled(&client, T, false);
    assert!(square_off.is_closing(&client), "not complete yet");
    book.rejected(id, vec![], String::new());
    square_off.ended(&client, T, at(8));
    assert_eq!(square_off.closing(&book, T, at(8)), None);
    let rest = square_off
        .closing(&book, T, at(9))
        .expect("1 s again: reset");
    assert_eq!((rest.side, rest.quantity), (Sell, 6));

    // Orders that are not closing orders never start a back-off.
    square_off.ended("someone-else", T, at(20));
    assert!(square_off.closing(&book, T, at(20)).is_some());
}
