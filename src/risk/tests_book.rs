//! Average-cost netting: hand-computed positions, cost bases and realized P&L for longs,
//! shorts, flips and averages that do not terminate.

use super::book::{Book, Position};
use super::test_support::*;
use crate::messages::Side;

struct NettingCase {
    name: &'static str,
    /// (side, quantity, price, realized P&L of this fill)
    fills: &'static [(Side, u32, &'static str, &'static str)],
    quantity: i64,
    cost_basis: &'static str,
}

#[test]
fn netting_realizes_at_average_cost_long_short_and_through_flips() {
    use Side::{Buy, Sell};
    let cases = [
        NettingCase {
            // 100 × 2450.35 + 50 × 2460.10 = 368040.00, average 2453.60;
            // 120 × (2445.55 − 2453.60) = -966.00; 30 left at 73608.00.
            name: "long adds then partly closes",
            fills: &[
                (Buy, 100, "2450.35", "0"),
                (Buy, 50, "2460.10", "0"),
                (Sell, 120, "2445.55", "-966.00"),
            ],
            quantity: 30,
            cost_basis: "73608.00",
        },
        NettingCase {
            // 100 × 500 + 50 × 510 = 75500, average 503.33…; 60 bought back at 490:
            // 75500 × 60 / 150 = 30200 closed, 30200 − 29400 = +800.00.
            name: "short adds then partly covers at a profit",
            fills: &[
                (Sell, 100, "500.00", "0"),
                (Sell, 50, "510.00", "0"),
                (Buy, 60, "490.00", "800.00"),
            ],
            quantity: -90,
            cost_basis: "45300.00",
        },
        NettingCase {
            // Long 10 at 100 closed at 90 (-100.00); 15 more open short at 90.
            name: "long flips to short",
            fills: &[(Buy, 10, "100.00", "0"), (Sell, 25, "90.00", "-100.00")],
            quantity: -15,
            cost_basis: "1350.00",
        },
        NettingCase {
            // Short 10 at 100 covered at 110 (-100.00); 15 more open long at 110.
            name: "short flips to long",
            fills: &[(Sell, 10, "100.00", "0"), (Buy, 25, "110.00", "-100.00")],
            quantity: 15,
            cost_basis: "1650.00",
        },
        NettingCase {
            name: "closing exactly leaves flat with no cost",
            fills: &[(Buy, 40, "99.95", "0"), (Sell, 40, "100.05", "4.00")],
            quantity: 0,
            cost_basis: "0",
        },
    ];
    for case in cases {
        let mut book = Book::default();
        for (i, (side, quantity, price, realized)) in case.fills.iter().enumerate() {
            let got = book.apply(STRATEGY, TOKEN, *side, *quantity, dec(price));
            assert_eq!(got, dec(realized), "{}: fill {i}", case.name);
        }
        assert_eq!(
            book.get(STRATEGY, TOKEN),
            Position {
                quantity: case.quantity,
                cost_basis: dec(case.cost_basis),
            },
            "{}",
            case.name
        );
        if case.quantity == 0 {
            assert_eq!(book.iter().count(), 0, "{}: flat is dropped", case.name);
        }
    }
}

/// Cost 30.02 over 3 (average 10.00666…, not a finite decimal): the first close realizes
/// 11 − 30.02/3 rounded at 28 digits, the second takes exactly the remaining cost basis,
/// so the total is 33 − 30.02 = 2.98 to the paisa and no rounding residue is left behind.
#[test]
fn non_terminating_average_total_realized_is_exact() {
    let mut book = Book::default();
    let mut total = dec("0");
    for (side, quantity, price) in [
        (Side::Buy, 1, "10.00"),
        (Side::Buy, 2, "10.01"),
        (Side::Sell, 1, "11.00"),
        (Side::Sell, 2, "11.00"),
    ] {
        total += book.apply(STRATEGY, TOKEN, side, quantity, dec(price));
    }
    assert_eq!(total, dec("2.98"));
    assert_eq!(book.get(STRATEGY, TOKEN), Position::default());
}

#[test]
fn reducing_means_toward_zero_without_crossing() {
    let at = |quantity| Position {
        quantity,
        cost_basis: dec("0"),
    };
    let cases = [
        ("long, partial sell", at(100), Side::Sell, 40, true),
        ("long, sell to flat", at(100), Side::Sell, 100, true),
        ("long, sell through zero", at(100), Side::Sell, 101, false),
        ("long, buy more", at(100), Side::Buy, 1, false),
        ("flat, buy", at(0), Side::Buy, 1, false),
        ("flat, sell", at(0), Side::Sell, 1, false),
        ("short, buy to flat", at(-50), Side::Buy, 50, true),
        ("short, buy through zero", at(-50), Side::Buy, 51, false),
        ("short, sell more", at(-50), Side::Sell, 1, false),
    ];
    for (name, position, side, quantity, reduces) in cases {
        assert_eq!(position.is_reduced_by(side, quantity), reduces, "{name}");
    }
}
