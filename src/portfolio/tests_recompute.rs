//! Property-style check: for a seeded random day of 1,000 fills (with redeliveries) and
//! interleaved marks, the live book equals [`recompute`], survives a JSON restore, and agrees
//! with totals summed straight from the fills.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use super::tests_support::{INFY, RELIANCE, TCS, fill, fill_on};
use super::{Book, Portfolio, recompute};
use crate::messages::{Broker, OrderFilled, Side};

const TOKENS: [u32; 4] = [RELIANCE, TCS, INFY, 5_633];
const STRATEGIES: [&str; 3] = ["alpha", "beta", "gamma"];

/// A price on the 0.05 tick between 100.00 and 3000.00 (or 0 / negative, rarely, for marks).
fn price(rng: &mut StdRng) -> Decimal {
    Decimal::new(rng.random_range(2_000..=60_000) * 5, 2)
}

fn random_fill(rng: &mut StdRng, number: usize) -> OrderFilled {
    let broker = Broker::ALL[rng.random_range(0..Broker::ALL.len())];
    let strategy = STRATEGIES[rng.random_range(0..STRATEGIES.len())];
    let token = TOKENS[rng.random_range(0..TOKENS.len())];
    let side = if rng.random_bool(0.5) {
        Side::Buy
    } else {
        Side::Sell
    };
    let quantity = rng.random_range(1..=200);
    let fees = Decimal::new(rng.random_range(0..=2_000), 2);
    let id = format!("fill-{number}");
    fill_on(
        broker,
        fill(&id, strategy, token, side, quantity, price(rng), fees),
    )
}

/// The day: fills (with redeliveries) in order, the marks in order, and the live book fed
/// both interleaved, restored from JSON now and then as after a restart.
fn random_day(seed: u64, fill_count: usize) -> (Vec<OrderFilled>, Vec<(u32, Decimal)>, Book) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut live = Book::new(Decimal::new(1_000_000, 0));
    let (mut fills, mut marks) = (Vec::new(), Vec::new());
    for number in 0..fill_count {
        let next = if !fills.is_empty() && rng.random_bool(0.05) {
            let earlier: &OrderFilled = &fills[rng.random_range(0..fills.len())];
            earlier.clone()
        } else {
            random_fill(&mut rng, number)
        };
        live.apply_fill(&next).unwrap();
        fills.push(next);
        while rng.random_bool(0.3) {
            let token = TOKENS[rng.random_range(0..TOKENS.len())];
            let mark = if rng.random_bool(0.05) {
                Decimal::ZERO
            } else {
                price(&mut rng)
            };
            live.mark(token, mark);
            marks.push((token, mark));
        }
        if number % 250 == 249 {
            let saved: Vec<String> = live
                .iter()
                .map(|p| serde_json::to_string(p).unwrap())
                .collect();
            for text in saved {
                live.insert(serde_json::from_str::<Portfolio>(&text).unwrap());
            }
        }
    }
    (fills, marks, live)
}

/// Totals of one portfolio summed straight from its distinct fills.
#[derive(Default)]
struct Sums {
    cash_flow: Decimal,
    fees: Decimal,
    /// Fills that took a position from long to short or back.
    flips: usize,
    /// token → (signed quantity, sells − buys, fees)
    by_token: BTreeMap<u32, (i64, Decimal, Decimal)>,
}

fn sums_by_portfolio(fills: &[OrderFilled]) -> BTreeMap<(Broker, String), Sums> {
    let mut seen = BTreeSet::new();
    let mut sums: BTreeMap<(Broker, String), Sums> = BTreeMap::new();
    for f in fills {
        let key = (f.order.broker, f.order.strategy_id.clone());
        if !seen.insert((key.clone(), f.fill_id.clone())) {
            continue;
        }
        let value = f.price * Decimal::from(f.quantity);
        let (quantity, flow) = match f.order.side {
            Side::Buy => (i64::from(f.quantity), -value),
            Side::Sell => (-i64::from(f.quantity), value),
        };
        let portfolio = sums.entry(key).or_default();
        portfolio.cash_flow += flow;
        portfolio.fees += f.fees.total;
        let token = portfolio.by_token.entry(f.order.token).or_default();
        let before = token.0;
        token.0 += quantity;
        if (before > 0 && token.0 < 0) || (before < 0 && token.0 > 0) {
            portfolio.flips += 1;
        }
        token.1 += flow;
        token.2 += f.fees.total;
    }
    sums
}

fn is_paisa(amount: Decimal) -> bool {
    amount.round_dp(2) == amount
}

#[test]
fn recompute_equals_the_live_book_over_1000_random_fills() {
    let (fills, marks, live) = random_day(0x00A1_FA9A_DA00, 1_000);
    assert_eq!(fills.len(), 1_000);
    let distinct: BTreeSet<_> = fills.iter().map(|f| f.fill_id.clone()).collect();
    assert!(distinct.len() < 980, "some fills are redelivered");
    assert!(marks.len() > 200, "marks interleave");

    let rebuilt = recompute(&fills, &marks, Decimal::new(1_000_000, 0));
    assert_eq!(rebuilt, live);

    // Marks applied before any fill, or fills alone then marks: same end state.
    let mut marks_first = Book::new(Decimal::new(1_000_000, 0));
    for &(token, price) in &marks {
        marks_first.mark(token, price);
    }
    for f in &fills {
        marks_first.apply_fill(f).unwrap();
    }
    assert_eq!(marks_first, live);
}

#[test]
fn live_book_agrees_with_totals_summed_from_the_fills() {
    let (fills, _, live) = random_day(0x00A1_FA9A_DA00, 1_000);
    let sums = sums_by_portfolio(&fills);
    assert_eq!(live.len(), sums.len());
    for portfolio in live.iter() {
        let key = (portfolio.broker(), portfolio.strategy_id().to_owned());
        let expected = &sums[&key];
        let start = portfolio.starting_cash();
        assert_eq!(
            portfolio.cash(),
            start + expected.cash_flow - expected.fees,
            "{key:?}"
        );
        assert_eq!(portfolio.charges(), expected.fees, "{key:?}");
        let net = portfolio.realized_pnl() + portfolio.unrealized_pnl() - portfolio.charges();
        assert_eq!(portfolio.net_pnl(), net, "{key:?}");
        // Two routes to equity (cash + market value, start + net P&L) agree to the paisa:
        // each sum is exact but rounds at decimal's 28 significant digits.
        assert_eq!(
            portfolio.equity().round_dp(2),
            (start + net).round_dp(2),
            "{key:?}"
        );
        assert!(is_paisa(portfolio.cash()));
        for position in portfolio.positions() {
            let (quantity, flow, fees) = expected.by_token[&position.token];
            let case = format!("{key:?} {}", position.token);
            assert_eq!(position.quantity, quantity, "{case}");
            assert_eq!(position.charges, fees, "{case}");
            // realized − signed entry value = sells − buys: exact up to decimal's 28
            // significant digits, so equal to the paisa.
            assert_eq!(
                (position.realized_pnl - position.signed_cost()).round_dp(2),
                flow,
                "{case}"
            );
            assert_eq!(
                position.last_price,
                live.last_price(position.token),
                "{case}"
            );
            if let Some(last) = position.last_price {
                let unrealized = last * Decimal::from(quantity) - position.signed_cost();
                assert_eq!(position.unrealized(), unrealized, "{case}");
            }
            if position.cost_basis.is_zero() != position.is_flat() {
                panic!("{case}: entry value and quantity disagree: {position:?}");
            }
        }
    }
    let flips: usize = sums.values().map(|s| s.flips).sum();
    assert!(flips >= 50, "the day flips positions often ({flips})");
}
