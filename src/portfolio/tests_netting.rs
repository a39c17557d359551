//! Average-cost netting checked against hand-computed figures, to the paisa.

use rust_decimal::Decimal;

use super::Portfolio;
use super::position::Position;
use super::tests_support::{RELIANCE, d, fill};
use crate::messages::{Broker, Side};

/// What one step of [`long_short_long_sequence_matches_hand_computed_figures`] does.
enum Step {
    /// `(fill id, side, quantity, price, fees)`
    Fill(&'static str, Side, u32, &'static str, &'static str),
    /// Mark RELIANCE at a price.
    Mark(&'static str),
}

/// The portfolio after a step; all money in rupees.
struct Expected {
    changed: bool,
    quantity: i64,
    cost_basis: &'static str,
    average: &'static str,
    realized: &'static str,
    unrealized: &'static str,
    cash: &'static str,
    charges: &'static str,
}

const fn expect(
    changed: bool,
    quantity: i64,
    [cost_basis, average]: [&'static str; 2],
    [realized, unrealized]: [&'static str; 2],
    [cash, charges]: [&'static str; 2],
) -> Expected {
    Expected {
        changed,
        quantity,
        cost_basis,
        average,
        realized,
        unrealized,
        cash,
        charges,
    }
}

#[test]
fn long_short_long_sequence_matches_hand_computed_figures() {
    use Side::{Buy, Sell};
    use Step::{Fill, Mark};
    // Starting cash 10,00,000.00. Columns: changed, quantity, [entry value, average],
    // [realized, unrealized], [cash, charges].
    #[rustfmt::skip]
    let steps = [
        // 1. Buy 10 @ 2500, fees 3. Entry 10×2500 = 25000, avg 2500. Unmarked: unrealized 0.
        //    Cash 1000000 − 25000 − 3 = 974997.
        (Fill("f1", Buy, 10, "2500.00", "3.00"),
         expect(true, 10, ["25000", "2500"], ["0", "0"], ["974997.00", "3.00"])),
        // 2. Buy 5 @ 2530, fees 2. Entry 25000 + 12650 = 37650, avg 37650/15 = 2510.
        //    Cash 974997 − 12650 − 2 = 962345.
        (Fill("f2", Buy, 5, "2530.00", "2.00"),
         expect(true, 15, ["37650", "2510"], ["0", "0"], ["962345.00", "5.00"])),
        // 3. Mark 2520: unrealized (2520 − 2510) × 15 = 150.
        (Mark("2520.00"),
         expect(true, 15, ["37650", "2510"], ["0", "150.00"], ["962345.00", "5.00"])),
        // 4. Sell 6 @ 2540, fees 2.50. Releases 37650×6/15 = 15060; realized 6×2540 − 15060
        //    = 15240 − 15060 = 180. Entry 22590 for 9, avg 2510; unrealized (2520−2510)×9 = 90.
        //    Cash 962345 + 15240 − 2.50 = 977582.50.
        (Fill("f3", Sell, 6, "2540.00", "2.50"),
         expect(true, 9, ["22590", "2510"], ["180.00", "90.00"], ["977582.50", "7.50"])),
        // 5. Sell 14 @ 2490, fees 4: flip. Closes 9: realized 9×2490 − 22590 = 22410 − 22590
        //    = −180, total 0. Opens short 5 @ 2490: entry 12450. Unrealized (2520−2490)×(−5)
        //    = −150. Cash 977582.50 + 14×2490 (34860) − 4 = 1012438.50.
        (Fill("f4", Sell, 14, "2490.00", "4.00"),
         expect(true, -5, ["12450", "2490"], ["0.00", "-150.00"], ["1012438.50", "11.50"])),
        // 6. Mark 2480: unrealized (2480 − 2490) × (−5) = 50.
        (Mark("2480.00"),
         expect(true, -5, ["12450", "2490"], ["0.00", "50.00"], ["1012438.50", "11.50"])),
        // 7. Sell 3 @ 2470, fees 1.50: adds to the short. Entry 12450 + 7410 = 19860 for 8,
        //    avg 2482.50; unrealized 2480×(−8) + 19860 = 20. Cash + 7410 − 1.50 = 1019847.
        (Fill("f5", Sell, 3, "2470.00", "1.50"),
         expect(true, -8, ["19860", "2482.5"], ["0.00", "20.00"], ["1019847.00", "13.00"])),
        // 8. Buy 2 @ 2475, fees 1: covers 2. Releases 19860×2/8 = 4965; realized 4965 − 4950
        //    = 15. Entry 14895 for 6, avg 2482.50; unrealized (2480 − 2482.50)×(−6) = 15.
        //    Cash 1019847 − 4950 − 1 = 1014896.
        (Fill("f6", Buy, 2, "2475.00", "1.00"),
         expect(true, -6, ["14895", "2482.5"], ["15.00", "15.00"], ["1014896.00", "14.00"])),
        // 9. Buy 10 @ 2460, fees 3: flip back. Closes 6: realized 14895 − 6×2460 (14760) = 135,
        //    total 150. Opens long 4 @ 2460: entry 9840; unrealized (2480−2460)×4 = 80.
        //    Cash 1014896 − 24600 − 3 = 990293.
        (Fill("f7", Buy, 10, "2460.00", "3.00"),
         expect(true, 4, ["9840", "2460"], ["150.00", "80.00"], ["990293.00", "17.00"])),
        // 10. The same fill again (redelivery): ignored, nothing moves.
        (Fill("f7", Buy, 10, "2460.00", "3.00"),
         expect(false, 4, ["9840", "2460"], ["150.00", "80.00"], ["990293.00", "17.00"])),
        // 11. Mark 2450: unrealized (2450 − 2460) × 4 = −40.
        (Mark("2450.00"),
         expect(true, 4, ["9840", "2460"], ["150.00", "-40.00"], ["990293.00", "17.00"])),
        // 12. The same mark again: nothing changes.
        (Mark("2450.00"),
         expect(false, 4, ["9840", "2460"], ["150.00", "-40.00"], ["990293.00", "17.00"])),
        // 13. Sell 4 @ 2455, fees 1: flat. Realized 4×2455 − 9840 = 9820 − 9840 = −20, total
        //    130; average reset to 0. Cash 990293 + 9820 − 1 = 1000112 = start + (130 − 18).
        (Fill("f8", Sell, 4, "2455.00", "1.00"),
         expect(true, 0, ["0", "0"], ["130.00", "0"], ["1000112.00", "18.00"])),
    ];
    let mut portfolio = Portfolio::new(Broker::Paper, "momentum", d("1000000.00"));
    for (number, (step, expected)) in steps.iter().enumerate() {
        let number = number + 1;
        let changed = match *step {
            Fill(id, side, quantity, price, fees) => {
                let fill = fill(id, "momentum", RELIANCE, side, quantity, d(price), d(fees));
                portfolio.apply_fill(&fill).unwrap()
            }
            Mark(price) => portfolio.mark(RELIANCE, d(price)),
        };
        assert_eq!(changed, expected.changed, "step {number}: changed");
        let position = portfolio.position(RELIANCE).unwrap();
        assert_eq!(
            position.quantity, expected.quantity,
            "step {number}: quantity"
        );
        assert_eq!(
            position.cost_basis,
            d(expected.cost_basis),
            "step {number}: entry"
        );
        assert_eq!(
            position.average_price,
            d(expected.average),
            "step {number}: average"
        );
        assert_eq!(
            portfolio.realized_pnl(),
            d(expected.realized),
            "step {number}: realized"
        );
        assert_eq!(position.realized_pnl, d(expected.realized), "step {number}");
        let unrealized = d(expected.unrealized);
        assert_eq!(
            portfolio.unrealized_pnl(),
            unrealized,
            "step {number}: unrealized"
        );
        assert_eq!(position.unrealized(), unrealized, "step {number}");
        assert_eq!(portfolio.cash(), d(expected.cash), "step {number}: cash");
        assert_eq!(
            portfolio.charges(),
            d(expected.charges),
            "step {number}: charges"
        );
        assert_eq!(position.charges, d(expected.charges), "step {number}");
        let net = d(expected.realized) + unrealized - d(expected.charges);
        assert_eq!(portfolio.net_pnl(), net, "step {number}: net");
        assert_eq!(
            portfolio.equity(),
            d("1000000.00") + net,
            "step {number}: equity"
        );
    }
    assert_eq!(portfolio.fill_count(), 8);
}

#[test]
fn non_terminating_average_realizes_exactly_over_the_round_trip() {
    let mut portfolio = Portfolio::new(Broker::Paper, "s", d("1000"));
    // (fill id, side, quantity, price) → (held, entry value, average, realized)
    #[rustfmt::skip]
    let steps = [
        (("a", Side::Buy, 1, "100"), (1, "100", "100", "0")),
        // Entry 100 + 2×101 = 302 for 3: average 100.666… shown as 100.6667.
        (("b", Side::Buy, 2, "101"), (3, "302", "100.6667", "0")),
        // Sell 1 @ 102 releases 302/3 = 100.666… at full precision (never rounded):
        // realized 102 − 100.666… = 1.333…; entry 201.333… for 2, shown as 100.6667.
        (("c", Side::Sell, 1, "102"), (2, "201.33333333333333333333333333", "100.6667", "1.33333333333333333333333333")),
        // Sell 2 @ 102 releases the rest exactly: realized 4 in all = sells 306 − buys
        // 302, with no paisa lost to an earlier rounding.
        (("d", Side::Sell, 2, "102"), (0, "0", "0", "4")),
    ];
    for ((id, side, quantity, price), (held, cost, average, realized)) in steps {
        let fill = fill(id, "s", RELIANCE, side, quantity, d(price), Decimal::ZERO);
        assert!(portfolio.apply_fill(&fill).unwrap(), "fill {id}");
        let position = portfolio.position(RELIANCE).unwrap();
        assert_eq!(position.quantity, held, "fill {id}");
        assert_eq!(position.cost_basis, d(cost), "fill {id}");
        assert_eq!(position.average_price, d(average), "fill {id}");
        assert_eq!(position.realized_pnl, d(realized), "fill {id}");
    }
    assert_eq!(portfolio.cash(), d("1004"));
}

#[test]
fn single_executions_net_by_the_rules() {
    // (held, entry value, delta, price) → (held, entry value, average, realized)
    #[rustfmt::skip]
    let cases = [
        // Opening from flat, either way.
        ((0, "0"), (3, "10"), (3, "30", "10", "0")),
        ((0, "0"), (-3, "10"), (-3, "30", "10", "0")),
        // Adding moves the weighted average: (30 + 14) / 4 = 11.
        ((3, "30"), (1, "14"), (4, "44", "11", "0")),
        ((-2, "24"), (-2, "10"), (-4, "44", "11", "0")),
        // Reducing a long realizes (exit − avg) × qty: (12 − 11) × 1.
        ((4, "44"), (-1, "12"), (3, "33", "11", "1")),
        // Closing a long at a loss: (10 − 11) × 3, average reset.
        ((3, "33"), (-3, "10"), (0, "0", "0", "-3")),
        // Long 3 → short 2: realizes (12 − 11) × 3, opens 2 @ 12.
        ((3, "33"), (-5, "12"), (-2, "24", "12", "3")),
        // Reducing a short realizes (avg − exit) × qty: (12 − 10) × 1.
        ((-2, "24"), (1, "10"), (-1, "12", "12", "2")),
        ((-2, "24"), (2, "13"), (0, "0", "0", "-2")),
        // Short 2 → long 4: realizes (12 − 11) × 2, opens 4 @ 11.
        ((-2, "24"), (6, "11"), (4, "44", "11", "2")),
        // A third of 100.00 is 33.333… released at full precision (never rounded to the
        // paisa): realized 40 − 33.333… = 6.666…, shown as 6.67 only when displayed.
        ((3, "100.00"), (-1, "40"), (2, "66.666666666666666666666666667", "33.3333", "6.666666666666666666666666667")),
        // Half of 100.01 is exactly 50.005: nothing is lost to a rounding.
        ((2, "100.01"), (-1, "50"), (1, "50.005", "50.005", "-0.005")),
    ];
    for ((held, cost), (delta, price), (quantity, next_cost, average, realized)) in cases {
        let start = Position {
            quantity: held,
            cost_basis: d(cost),
            ..Position::flat(RELIANCE, "RELIANCE", None)
        };
        let next = start.execute(delta, d(price), d("0.50")).unwrap();
        let case = format!("{held} @ {cost} then {delta} @ {price}");
        assert_eq!(next.quantity, quantity, "{case}");
        assert_eq!(next.cost_basis, d(next_cost), "{case}");
        assert_eq!(next.average_price, d(average), "{case}");
        assert_eq!(next.realized_pnl, d(realized), "{case}");
        assert_eq!(next.charges, d("0.50"), "{case}");
    }
}

#[test]
fn unmarked_position_has_no_unrealized_pnl_and_is_valued_at_cost() {
    let short = Position {
        quantity: -4,
        cost_basis: d("400"),
        average_price: d("100"),
        ..Position::flat(RELIANCE, "RELIANCE", None)
    };
    #[rustfmt::skip]
    let cases = [
        (None, "0", "-400"),
        (Some("90"), "40", "-360"),   // (90 − 100) × (−4)
        (Some("110"), "-40", "-440"), // (110 − 100) × (−4)
    ];
    for (last, unrealized, value) in cases {
        let position = Position {
            last_price: last.map(d),
            ..short.clone()
        };
        assert_eq!(position.unrealized(), d(unrealized), "last {last:?}");
        assert_eq!(position.market_value(), d(value), "last {last:?}");
    }
}
