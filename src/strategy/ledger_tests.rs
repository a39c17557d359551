//! The [`Ledger`] as tables of event sequences: each case lists the events, which fills
//! count, which orders end (how, having filled how much) and what stays pending. The
//! position of every instrument is checked against an independent recomputation: the sum
//! of the signed quantities of the fills the case says count.

use super::{EndKind, Ledger};
use crate::messages::{
    Broker, Fees, OrderFailed, OrderFailureKind, OrderFilled, OrderRef, OrderType, RejectionCode,
    Side, TradingSignal, Validity, client_order_id_of_signal,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use OrderFailureKind::{Cancelled, Rejected};
use Side::{Buy, Sell};

const A: u32 = 1;
const B: u32 = 2;
const TOKENS: [u32; 2] = [A, B];

/// The orders every case may use, by index: (token, side, quantity).
const ORDERS: [(u32, Side, u32); 5] = [
    (A, Buy, 10),
    (A, Sell, 6),
    (B, Buy, 5),
    (A, Buy, 3),
    (A, Sell, 8),
];

/// Every venue failure (the match fails to compile when a kind is added).
pub(super) fn failure_kinds() -> Vec<OrderFailureKind> {
    use OrderFailureKind::*;
    let all = vec![
        Rejected,
        Cancelled,
        Expired,
        InsufficientFunds,
        ShortingNotAllowed,
        NotPlaced,
        RateLimited,
        Stale,
    ];
    for kind in &all {
        match kind {
            Rejected | Cancelled | Expired | InsufficientFunds | ShortingNotAllowed | NotPlaced
            | RateLimited | Stale => {}
        }
    }
    all
}

/// Every risk rule's code (the match fails to compile when a code is added).
pub(super) fn rejection_codes() -> Vec<RejectionCode> {
    use RejectionCode::*;
    let all = vec![
        MaxOrderQuantity,
        MaxOrderValue,
        MaxPosition,
        MaxDailyTrades,
        PriceBand,
        DailyLossLimit,
        MaxOpenOrders,
        TradingHalted,
        TradingReducing,
        NoMarketPrice,
        MarketClosed,
        TickSize,
        LotSize,
        EntryCutoff,
        MaxPositionValue,
        FreezeQuantity,
        MaxLotsPerUnderlying,
        MaxPremiumAtRisk,
        MaxNotional,
    ];
    for code in &all {
        match code {
            MaxOrderQuantity | MaxOrderValue | MaxPosition | MaxDailyTrades | PriceBand
            | DailyLossLimit | MaxOpenOrders | TradingHalted | TradingReducing | NoMarketPrice
            | MarketClosed | TickSize | LotSize | EntryCutoff | MaxPositionValue
            | FreezeQuantity | MaxLotsPerUnderlying | MaxPremiumAtRisk | MaxNotional => {}
        }
    }
    all
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    /// The signal of order `n` is sent at second `s`.
    Send(usize, i64),
    /// A venue acknowledges order `n`.
    Ack(usize),
    /// A fill of order `n`: its quantity and the order's cumulative filled quantity.
    Fill(usize, u32, u32),
    /// The risk manager rejects the signal of order `n`.
    Reject(usize, RejectionCode),
    /// The venue ends order `n` with `kind`, having filled this much.
    Fail(usize, OrderFailureKind, u32),
    /// `expire_unanswered(token, second)`.
    Expire(u32, i64),
}

use Ev::{Ack, Expire, Fail, Fill, Reject, Send};

struct Case {
    name: String,
    events: Vec<Ev>,
    /// Indices (into `events`) of the fills that count.
    counted: Vec<usize>,
    /// The orders that ended, in order: (order, how, filled when it ended).
    ended: Vec<(usize, EndKind, u32)>,
    /// What stays pending: (order, filled, acknowledged), oldest first per instrument.
    pending: Vec<(usize, u32, bool)>,
}

fn case(
    name: impl Into<String>,
    events: Vec<Ev>,
    counted: Vec<usize>,
    ended: Vec<(usize, EndKind, u32)>,
    pending: Vec<(usize, u32, bool)>,
) -> Case {
    Case {
        name: name.into(),
        events,
        counted,
        ended,
        pending,
    }
}

fn at(second: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0)
        .single()
        .expect("valid timestamp")
        + Duration::seconds(second)
}

fn signal_id(n: usize) -> Uuid {
    Uuid::from_u128(u128::try_from(n).expect("small index") + 1)
}

fn client_id(n: usize) -> String {
    client_order_id_of_signal(signal_id(n))
}

fn signed(side: Side, quantity: u32) -> i64 {
    match side {
        Buy => i64::from(quantity),
        Sell => -i64::from(quantity),
    }
}

fn signal(n: usize) -> TradingSignal {
    let (token, side, quantity) = ORDERS[n];
    TradingSignal {
        strategy_id: "s1".into(),
        broker: Broker::Paper,
        token,
        symbol: token.to_string(),
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

fn order_ref(n: usize) -> OrderRef {
    let (token, side, _) = ORDERS[n];
    OrderRef {
        client_order_id: client_id(n),
        broker_order_id: Some(format!("venue-{n}")),
        strategy_id: "s1".into(),
        broker: Broker::Paper,
        token,
        symbol: token.to_string(),
        side,
    }
}

fn fill(n: usize, quantity: u32, cumulative: u32) -> OrderFilled {
    OrderFilled {
        order: order_ref(n),
        fill_id: format!("{n}-{cumulative}"),
        quantity,
        price: Decimal::ONE_HUNDRED,
        fees: Fees::default(),
        cumulative_quantity: cumulative,
        order_quantity: ORDERS[n].2,
        filled_at: at(100),
    }
}

fn failed(n: usize, kind: OrderFailureKind, filled: u32) -> OrderFailed {
    OrderFailed {
        order: order_ref(n),
        quantity: ORDERS[n].2,
        filled_quantity: filled,
        kind,
        message: format!("{kind:?}"),
    }
}

fn order_index(client_order_id: &str) -> usize {
    (0..ORDERS.len())
        .find(|n| client_id(*n) == client_order_id)
        .unwrap_or_else(|| panic!("unknown order {client_order_id}"))
}

/// Applies the case's events, checking each fill's effect and collecting the ends.
fn run(case: &Case) -> Ledger {
    let name = &case.name;
    let mut ledger = Ledger::default();
    let mut ended = Vec::new();
    for (i, event) in case.events.iter().enumerate() {
        let ends = match *event {
            Send(n, second) => {
                ledger.sent(signal_id(n), &signal(n), at(second));
                Vec::new()
            }
            Ack(n) => {
                ledger.acknowledged(&client_id(n));
                Vec::new()
            }
            Fill(n, quantity, cumulative) => {
                let applied = ledger.filled(&fill(n, quantity, cumulative));
                let (token, side, total) = ORDERS[n];
                if case.counted.contains(&i) {
                    let applied = applied.unwrap_or_else(|| panic!("{name}: #{i} not counted"));
                    assert_eq!(applied.token, token, "{name}: #{i}");
                    assert_eq!(applied.delta, signed(side, quantity), "{name}: #{i}");
                    assert_eq!(applied.completed, cumulative >= total, "{name}: #{i}");
                } else {
                    assert_eq!(applied, None, "{name}: #{i} counted");
                }
                Vec::new()
            }
            Reject(n, code) => ledger
                .rejected(signal_id(n), vec![code], format!("{code}"))
                .into_iter()
                .collect(),
            Fail(n, kind, filled) => ledger
                .failed(&failed(n, kind, filled))
                .into_iter()
                .collect(),
            Expire(token, second) => ledger.expire_unanswered(token, at(second)),
        };
        for end in ends {
            let n = order_index(&end.order.client_order_id);
            assert_eq!(end.token, ORDERS[n].0, "{name}: #{i}");
            assert!(!end.message.is_empty(), "{name}: #{i}");
            ended.push((n, end.kind, end.order.filled));
        }
    }
    assert_eq!(ended, case.ended, "{name}: ended orders");
    ledger
}

/// Checks positions (against the counted fills), pending orders and `instruments()`.
fn check(case: &Case, ledger: &Ledger) {
    let name = &case.name;
    for token in TOKENS {
        let expected: i64 = case
            .counted
            .iter()
            .filter_map(|i| match case.events[*i] {
                Fill(n, quantity, _) if ORDERS[n].0 == token => Some(signed(ORDERS[n].1, quantity)),
                Fill(..) => None,
                other => panic!("{name}: #{i} is not a fill: {other:?}"),
            })
            .sum();
        assert_eq!(
            ledger.position(token),
            expected,
            "{name}: position of {token}"
        );
        let pending: Vec<(usize, u32, bool)> = ledger
            .pending(token)
            .iter()
            .map(|o| (order_index(&o.client_order_id), o.filled, o.acknowledged))
            .collect();
        let want: Vec<(usize, u32, bool)> = case
            .pending
            .iter()
            .copied()
            .filter(|(n, _, _)| ORDERS[*n].0 == token)
            .collect();
        assert_eq!(pending, want, "{name}: pending of {token}");
        for order in ledger.pending(token) {
            let n = order_index(&order.client_order_id);
            assert_eq!(
                (order.side, order.quantity),
                (ORDERS[n].1, ORDERS[n].2),
                "{name}"
            );
            assert!(order.filled < order.quantity, "{name}: {order:?}");
        }
    }
    let mut listed: Vec<u32> = ledger.instruments().map(|(token, _)| token).collect();
    listed.sort_unstable();
    let active: Vec<u32> = TOKENS
        .into_iter()
        .filter(|t| ledger.position(*t) != 0 || !ledger.pending(*t).is_empty())
        .collect();
    assert_eq!(listed, active, "{name}: instruments()");
}

fn run_table(cases: &[Case]) {
    for case in cases {
        let ledger = run(case);
        check(case, &ledger);
    }
}

#[test]
fn orders_and_fills_table() {
    run_table(&[
        case(
            "a sent order is pending and unacknowledged",
            vec![Send(0, 0)],
            vec![],
            vec![],
            vec![(0, 0, false)],
        ),
        case(
            "an acknowledgement marks it",
            vec![Send(0, 0), Ack(0)],
            vec![],
            vec![],
            vec![(0, 0, true)],
        ),
        case(
            "a signal seen twice is one order",
            vec![Send(0, 0), Send(0, 3)],
            vec![],
            vec![],
            vec![(0, 0, false)],
        ),
        case(
            "a full fill moves the position and clears pending",
            vec![Send(0, 0), Fill(0, 10, 10)],
            vec![1],
            vec![],
            vec![],
        ),
        case(
            "partial fills accumulate and the order stays pending",
            vec![Send(1, 0), Fill(1, 2, 2), Fill(1, 3, 5)],
            vec![1, 2],
            vec![],
            vec![(1, 5, true)],
        ),
        case(
            "the last partial fill completes the order",
            vec![Send(1, 0), Fill(1, 2, 2), Fill(1, 3, 5), Fill(1, 1, 6)],
            vec![1, 2, 3],
            vec![],
            vec![],
        ),
        case(
            "duplicate fills (same cumulative, or an older one) are ignored",
            vec![
                Send(0, 0),
                Fill(0, 4, 4),
                Fill(0, 4, 4),
                Fill(0, 6, 10),
                Fill(0, 6, 10),
                Fill(0, 4, 4),
            ],
            vec![1, 3],
            vec![],
            vec![],
        ),
        case(
            "orders of two instruments are kept apart",
            vec![
                Send(0, 0),
                Send(2, 0),
                Fill(2, 5, 5),
                Send(1, 1),
                Fill(1, 6, 6),
            ],
            vec![2, 4],
            vec![],
            vec![(0, 0, false)],
        ),
        case(
            "orders of one instrument stay in the order they were sent",
            vec![Send(4, 0), Send(0, 1), Send(3, 2), Fill(0, 1, 1)],
            vec![3],
            vec![],
            vec![(4, 0, false), (0, 1, true), (3, 0, false)],
        ),
        case(
            "a fill of an order never seen sent counts, once",
            vec![Fill(0, 10, 10), Fill(0, 10, 10)],
            vec![0],
            vec![],
            vec![],
        ),
        case(
            "a partial fill of an order never seen sent makes it pending",
            vec![Fill(1, 2, 2), Fill(1, 2, 2)],
            vec![0],
            vec![],
            vec![(1, 2, true)],
        ),
        case(
            "an order never seen sent completes like any other",
            vec![Fill(1, 2, 2), Fill(1, 4, 6), Fill(1, 4, 6)],
            vec![0, 1],
            vec![],
            vec![],
        ),
        case(
            "the send of an order read after its full fill adds nothing",
            vec![Fill(0, 10, 10), Send(0, 1)],
            vec![0],
            vec![],
            vec![],
        ),
        case(
            "the send of an order read after a partial fill adds no second order",
            vec![Fill(1, 2, 2), Send(1, 1)],
            vec![0],
            vec![],
            vec![(1, 2, true)],
        ),
    ]);
}

#[test]
fn every_risk_rejection_ends_the_order_once() {
    let cases: Vec<Case> = rejection_codes()
        .into_iter()
        .map(|code| {
            let how = EndKind::RejectedByRisk { codes: vec![code] };
            case(
                format!("rejected by {code}"),
                vec![Send(0, 0), Send(2, 0), Reject(0, code), Reject(0, code)],
                vec![],
                vec![(0, how, 0)],
                vec![(2, 0, false)],
            )
        })
        .collect();
    run_table(&cases);
}

#[test]
fn every_venue_failure_ends_the_order_once_and_keeps_partial_fills() {
    let mut cases = Vec::new();
    for kind in failure_kinds() {
        let how = EndKind::Failed { failure: kind };
        cases.push(case(
            format!("{kind:?} after a partial fill"),
            vec![
                Send(0, 0),
                Fill(0, 4, 4),
                Fail(0, kind, 4),
                Fail(0, kind, 4),
            ],
            vec![1],
            vec![(0, how.clone(), 4)],
            vec![],
        ));
        cases.push(case(
            format!("{kind:?} before any fill"),
            vec![Send(2, 0), Send(1, 0), Fail(2, kind, 0), Fail(2, kind, 0)],
            vec![],
            vec![(2, how.clone(), 0)],
            vec![(1, 0, false)],
        ));
        cases.push(case(
            format!("{kind:?} of an order that was never pending changes nothing"),
            vec![Fail(3, kind, 0), Send(0, 0)],
            vec![],
            vec![],
            vec![(0, 0, false)],
        ));
    }
    run_table(&cases);
}

#[test]
fn late_events_table() {
    let cancelled = EndKind::Failed { failure: Cancelled };
    run_table(&[
        case(
            "a fill after its order ended counts only the quantity above what it had filled",
            vec![
                Send(0, 0),
                Fill(0, 4, 4),
                Fail(0, Cancelled, 4),
                Fill(0, 4, 4),
                Fill(0, 2, 6),
                Fill(0, 2, 6),
            ],
            vec![1, 4],
            vec![(0, cancelled.clone(), 4)],
            vec![],
        ),
        case(
            "a fill read after the failure that followed it still counts",
            vec![
                Send(0, 0),
                Fail(0, Cancelled, 4),
                Fill(0, 4, 4),
                Fill(0, 4, 4),
            ],
            vec![2],
            vec![(0, cancelled.clone(), 0)],
            vec![],
        ),
        case(
            "a rejection by risk after a venue failure changes nothing",
            vec![
                Send(0, 0),
                Fail(0, Rejected, 0),
                Reject(0, RejectionCode::MaxPosition),
            ],
            vec![],
            vec![(0, EndKind::Failed { failure: Rejected }, 0)],
            vec![],
        ),
        case(
            "a rejection of a signal never seen sent changes nothing",
            vec![Reject(0, RejectionCode::MaxPosition), Send(1, 0)],
            vec![],
            vec![],
            vec![(1, 0, false)],
        ),
        case(
            "an order ended, then sent again from history, stays ended",
            vec![Send(0, 0), Reject(0, RejectionCode::PriceBand), Send(0, 0)],
            vec![],
            vec![(
                0,
                EndKind::RejectedByRisk {
                    codes: vec![RejectionCode::PriceBand],
                },
                0,
            )],
            vec![],
        ),
    ]);
}

#[test]
fn expire_unanswered_ends_only_unacknowledged_orders_older_than_the_deadline() {
    run_table(&[
        case(
            // 0: sent at 0, no answer → ends. 1: acknowledged. 3: partly filled (a fill
            // acknowledges). 4: sent at the deadline, not before it. 2: another instrument.
            "only the old unanswered order of the instrument ends",
            vec![
                Send(0, 0),
                Send(1, 1),
                Ack(1),
                Send(3, 2),
                Fill(3, 1, 1),
                Send(4, 5),
                Send(2, 0),
                Expire(A, 5),
                Expire(A, 5),
            ],
            vec![4],
            vec![(0, EndKind::Unanswered, 0)],
            vec![(1, 0, true), (3, 1, true), (4, 0, false), (2, 0, false)],
        ),
        case(
            "a later deadline ends the younger one too",
            vec![Send(0, 0), Send(4, 5), Expire(A, 5), Expire(A, 6)],
            vec![],
            vec![(0, EndKind::Unanswered, 0), (4, EndKind::Unanswered, 0)],
            vec![],
        ),
        case(
            "the time of the first send counts, not of a duplicate",
            vec![Send(0, 0), Send(0, 9), Expire(A, 5)],
            vec![],
            vec![(0, EndKind::Unanswered, 0)],
            vec![],
        ),
        case(
            "a fill of an unanswered order that still comes counts",
            vec![Send(0, 0), Expire(A, 10), Fill(0, 10, 10), Fill(0, 10, 10)],
            vec![2],
            vec![(0, EndKind::Unanswered, 0)],
            vec![],
        ),
        case(
            "a partial fill of an unanswered order counts without making it pending again",
            vec![Send(0, 0), Expire(A, 10), Fill(0, 3, 3), Expire(A, 20)],
            vec![2],
            vec![(0, EndKind::Unanswered, 0)],
            vec![],
        ),
    ]);
}

#[test]
fn pending_orders_carry_what_was_sent() {
    let mut ledger = Ledger::default();
    ledger.sent(signal_id(1), &signal(1), at(7));
    let order = &ledger.pending(A)[0];
    assert_eq!(order.signal_id, signal_id(1));
    assert_eq!(order.client_order_id, client_id(1));
    assert_eq!(
        (order.side, order.quantity, order.order_type, order.price),
        (Sell, 6, OrderType::Market, None)
    );
    assert_eq!(order.sent_at, at(7));
    // An order known only from its fill has no signal id.
    ledger.filled(&fill(2, 1, 1));
    assert_eq!(ledger.pending(B)[0].signal_id, Uuid::nil());
}

#[test]
fn replaying_an_overlapping_suffix_changes_nothing() {
    // A rebuild from the topics then live records that overlap it: every suffix of the
    // history applied again must leave positions and pending orders unchanged.
    let history = vec![
        Send(0, 0),
        Send(1, 0),
        Fill(0, 4, 4),
        Ack(1),
        Send(2, 1),
        Fill(1, 6, 6),
        Fail(0, Cancelled, 4),
        Reject(2, RejectionCode::MaxOpenOrders),
        Send(3, 2),
        Fill(3, 1, 1),
        Send(4, 3),
        Expire(A, 10),
    ];
    let mut reference = Ledger::default();
    apply_all(&mut reference, &history);
    for start in 0..history.len() {
        let mut events = history.clone();
        events.extend_from_slice(&history[start..]);
        let mut replayed = Ledger::default();
        apply_all(&mut replayed, &events);
        for token in TOKENS {
            assert_eq!(
                replayed.position(token),
                reference.position(token),
                "replay from #{start}: position of {token}"
            );
            assert_eq!(
                replayed.pending(token),
                reference.pending(token),
                "replay from #{start}: pending of {token}"
            );
        }
    }
    // The history itself: A holds +4 (order 0, then cancelled) − 6 (order 1) + 1 (order 3);
    // order 3 stays pending (its fill acknowledged it), order 4 expired unanswered.
    assert_eq!(reference.position(A), -1);
    assert_eq!(reference.position(B), 0);
    let pending: Vec<usize> = reference
        .pending(A)
        .iter()
        .map(|o| order_index(&o.client_order_id))
        .collect();
    assert_eq!(pending, [3]);
}

fn apply_all(ledger: &mut Ledger, events: &[Ev]) {
    for event in events {
        match *event {
            Send(n, second) => ledger.sent(signal_id(n), &signal(n), at(second)),
            Ack(n) => ledger.acknowledged(&client_id(n)),
            Fill(n, quantity, cumulative) => {
                ledger.filled(&fill(n, quantity, cumulative));
            }
            Reject(n, code) => {
                ledger.rejected(signal_id(n), vec![code], code.to_string());
            }
            Fail(n, kind, filled) => {
                ledger.failed(&failed(n, kind, filled));
            }
            Expire(token, second) => {
                ledger.expire_unanswered(token, at(second));
            }
        }
    }
}

#[test]
fn a_duplicate_end_after_a_late_fill_changes_nothing() {
    // Order 0 fills 4, is cancelled (filled 4), then a late fill brings it to 6. The
    // cancellation and the late fill are both delivered again (a rebuild overlapping live
    // records): the late fill must not count twice.
    run_table(&[case(
        "cancelled, late fill, both again",
        vec![
            Send(0, 0),
            Fill(0, 4, 4),
            Fail(0, Cancelled, 4),
            Fill(0, 2, 6),
            Fail(0, Cancelled, 4),
            Fill(0, 2, 6),
        ],
        vec![1, 3],
        vec![(0, EndKind::Failed { failure: Cancelled }, 4)],
        vec![],
    )]);
}

#[test]
fn the_average_price_follows_the_fills_of_the_open_position() {
    use crate::strategy::InstrumentBook;
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let mut book = InstrumentBook::default();
    // Sell 65 at 120, then 65 more at 130: short 130 at (65×120 + 65×130) / 130 = 125.
    book.apply(-65, d("120"));
    book.apply(-65, d("130"));
    assert_eq!((book.position, book.average_price), (-130, d("125")));
    // Buying back part leaves the average where it was.
    book.apply(65, d("150"));
    assert_eq!((book.position, book.average_price), (-65, d("125")));
    // Through zero: the rest is a new long at the fill's price.
    book.apply(100, d("140"));
    assert_eq!((book.position, book.average_price), (35, d("140")));
    book.apply(-35, d("141"));
    assert_eq!((book.position, book.average_price), (0, Decimal::ZERO));
}
