//! Round trips: hand-worked cases, then an identity against the fills' cash flows.

use chrono::TimeDelta;
use rust_decimal::Decimal;

use super::{Direction, RoundTrips};
use crate::backtest::report::tests_support::{RELIANCE, TCS, at, d, fill};
use crate::messages::{OrderFilled, Side};

/// A fill `minutes` after 09:15 IST on 2026-11-26, all fees brokerage.
fn f(
    id: &str,
    token: u32,
    side: Side,
    qty: u32,
    price: &str,
    fees: &str,
    minutes: i64,
) -> OrderFilled {
    let mut fill = fill(id, "s", token, side, qty, price, fees);
    fill.filled_at = at("2026-11-26T03:45:00Z") + TimeDelta::minutes(minutes);
    fill
}

fn trips(fills: &[OrderFilled]) -> RoundTrips {
    let mut trips = RoundTrips::default();
    for fill in fills {
        trips.push(fill);
    }
    trips
}

#[test]
fn a_partial_close_splits_the_entry_and_shares_its_fees_by_quantity() {
    let t = trips(&[
        f("1", RELIANCE, Side::Buy, 10, "100", "2", 0),
        f("2", RELIANCE, Side::Sell, 4, "110", "1", 30),
        f("3", RELIANCE, Side::Sell, 6, "90", "1.5", 90),
    ]);
    let closed = t.closed();
    assert_eq!(closed.len(), 2);
    // 4 × (110 − 100) = 40; entry fees 2 × 4/10 = 0.80, exit fees 1.
    assert_eq!(closed[0].quantity, 4);
    assert_eq!(closed[0].direction, Direction::Long);
    assert_eq!(closed[0].gross_pnl, d("40"));
    assert_eq!(closed[0].charges, d("1.80"));
    assert_eq!(closed[0].net_pnl(), d("38.20"));
    assert_eq!(closed[0].duration(), TimeDelta::minutes(30));
    // 6 × (90 − 100) = −60; the entry's remaining 1.20 and the exit's 1.5.
    assert_eq!(closed[1].quantity, 6);
    assert_eq!(closed[1].gross_pnl, d("-60"));
    assert_eq!(closed[1].charges, d("2.70"));
    assert_eq!(closed[1].entry_at, at("2026-11-26T03:45:00Z"));
    assert_eq!(closed[1].duration(), TimeDelta::minutes(90));
    assert_eq!(t.open_cost(), Decimal::ZERO);
}

#[test]
fn one_exit_closing_two_lots_is_one_round_trip_at_their_average_price() {
    let t = trips(&[
        f("1", RELIANCE, Side::Buy, 5, "100", "1", 0),
        f("2", RELIANCE, Side::Buy, 5, "104", "1", 10),
        f("3", RELIANCE, Side::Sell, 10, "103", "2", 20),
    ]);
    let [trip] = t.closed() else {
        panic!("{:?}", t.closed())
    };
    assert_eq!(trip.quantity, 10);
    assert_eq!(trip.entry_price, d("102"));
    // 5 × 3 + 5 × (−1) = 10.
    assert_eq!(trip.gross_pnl, d("10"));
    assert_eq!(trip.charges, d("4"));
    assert_eq!(trip.entry_at, at("2026-11-26T03:45:00Z"));
    assert_eq!(trip.exit_price, d("103"));
}

#[test]
fn a_flip_closes_the_position_and_opens_the_rest_short() {
    let t = trips(&[
        f("1", TCS, Side::Buy, 3, "50", "1", 0),
        f("2", TCS, Side::Sell, 5, "55", "1", 5),
        f("3", TCS, Side::Buy, 2, "50", "0.30", 9),
    ]);
    let closed = t.closed();
    assert_eq!(closed.len(), 2);
    // Long 3: 3 × 5 = 15; its entry fee 1 and 3/5 of the exit's 1.
    assert_eq!(
        (
            closed[0].direction,
            closed[0].quantity,
            closed[0].gross_pnl,
            closed[0].charges
        ),
        (Direction::Long, 3, d("15"), d("1.60"))
    );
    // Short 2 from 55, covered at 50: 2 × 5 = 10; the flip's remaining 0.40 and 0.30.
    assert_eq!(
        (
            closed[1].direction,
            closed[1].quantity,
            closed[1].gross_pnl,
            closed[1].charges
        ),
        (Direction::Short, 2, d("10"), d("0.70"))
    );
    assert_eq!(closed[1].entry_at, at("2026-11-26T03:50:00Z"));
}

#[test]
fn fee_shares_round_to_the_paisa_and_add_up_to_the_fees() {
    let t = trips(&[
        f("1", RELIANCE, Side::Buy, 3, "10", "1.00", 0),
        f("2", RELIANCE, Side::Sell, 1, "10", "0", 1),
        f("3", RELIANCE, Side::Sell, 1, "10", "0", 2),
        f("4", RELIANCE, Side::Sell, 1, "10", "0", 3),
    ]);
    let charges: Vec<Decimal> = t.closed().iter().map(|r| r.charges).collect();
    // 1.00 / 3 = 0.33; then 0.67 / 2 = 0.335 → 0.34 (half away from zero); then the rest.
    assert_eq!(charges, [d("0.33"), d("0.34"), d("0.33")]);
}

#[test]
fn instruments_are_matched_separately() {
    let t = trips(&[
        f("1", RELIANCE, Side::Buy, 1, "100", "0", 0),
        f("2", TCS, Side::Sell, 1, "200", "0", 1),
        f("3", RELIANCE, Side::Sell, 1, "101", "0", 2),
    ]);
    let [trip] = t.closed() else {
        panic!("{:?}", t.closed())
    };
    assert_eq!((trip.token, trip.gross_pnl), (RELIANCE, d("1")));
    assert_eq!(t.open_cost(), d("200"));
}

/// Σ gross of the round trips = the fills' cash flow (sells − buys) + the open lots' cost
/// (long lots were paid for, short lots were received); and every rupee of fees is either
/// in a round trip or still on an open lot.
#[test]
fn gross_pnl_and_charges_add_up_to_the_cash_flows_over_a_random_sequence() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut fills = Vec::new();
    for i in 0..400 {
        let side = if next(2) == 0 { Side::Buy } else { Side::Sell };
        let qty = 1 + u32::try_from(next(9)).unwrap();
        let price = Decimal::new(i64::try_from(9_000 + next(2_000)).unwrap(), 2);
        let fees = Decimal::new(i64::try_from(next(300)).unwrap(), 2);
        fills.push(f(
            &i.to_string(),
            RELIANCE,
            side,
            qty,
            &price.to_string(),
            &fees.to_string(),
            i,
        ));
    }
    let t = trips(&fills);
    let cash_flow = fills.iter().fold(Decimal::ZERO, |sum, f| {
        let value = f.price * Decimal::from(f.quantity);
        match f.order.side {
            Side::Buy => sum - value,
            Side::Sell => sum + value,
        }
    });
    let signed_open: Decimal = t
        .open
        .values()
        .flat_map(|o| o.lots.iter().map(move |l| (o.side, l)))
        .map(|(side, l)| {
            let cost = l.price * Decimal::from(l.quantity);
            if side == Side::Buy { cost } else { -cost }
        })
        .sum();
    let gross: Decimal = t.closed().iter().map(|r| r.gross_pnl).sum();
    assert!(t.closed().len() > 50, "{}", t.closed().len());
    assert_eq!(gross, cash_flow + signed_open);
    let fees: Decimal = fills.iter().map(|f| f.fees.total).sum();
    let charged: Decimal = t.closed().iter().map(|r| r.charges).sum();
    assert_eq!(charged + t.open_fees(), fees);
}
