//! Dedup, isolation, marks, errors, snapshots and the JSON read model.

use rust_decimal::Decimal;
use serde_json::json;

use super::tests_support::{INFY, RELIANCE, TCS, at, d, fill, fill_on};
use super::{Book, Portfolio, PortfolioError};
use crate::messages::{Broker, PnlSnapshot, PositionSnapshot, Side};

#[test]
fn duplicate_fill_is_ignored_by_portfolio_and_book() {
    let first = fill("f1", "s", RELIANCE, Side::Buy, 10, d("100"), d("1.00"));
    // Same id, different content: the id alone decides.
    let mut again = first.clone();
    again.quantity = 99;

    let mut portfolio = Portfolio::new(Broker::Paper, "s", d("10000"));
    assert_eq!(portfolio.apply_fill(&first), Ok(true));
    let after_first = portfolio.clone();
    for duplicate in [&first, &again] {
        assert_eq!(portfolio.apply_fill(duplicate), Ok(false));
        assert_eq!(portfolio, after_first);
    }
    assert!(portfolio.has_applied("f1"));
    assert_eq!(portfolio.fill_count(), 1);

    let mut book = Book::new(d("10000"));
    assert_eq!(book.apply_fill(&first).unwrap(), Some(&after_first));
    assert_eq!(book.apply_fill(&again).unwrap(), None);
    assert_eq!(book.get(Broker::Paper, "s"), Some(&after_first));
}

#[test]
fn instruments_strategies_and_brokers_are_isolated() {
    let mut book = Book::new(d("100000"));
    #[rustfmt::skip]
    let fills = [
        fill("a1", "alpha", RELIANCE, Side::Buy, 10, d("2500"), d("2")),
        fill("a2", "alpha", TCS, Side::Sell, 5, d("4000"), d("3")),
        fill("b1", "beta", RELIANCE, Side::Sell, 4, d("2510"), d("1")),
        // The same fill id in another broker's namespace is another fill.
        fill_on(Broker::Zerodha, fill("a1", "alpha", RELIANCE, Side::Buy, 1, d("2490"), d("0.5"))),
    ];
    for f in &fills {
        assert!(book.apply_fill(f).unwrap().is_some(), "{}", f.fill_id);
    }
    assert_eq!(book.len(), 3);
    // (broker, strategy, token) → (quantity, cash, charges)
    #[rustfmt::skip]
    let cases = [
        // alpha: cash 100000 − 25000 − 2 + 20000 − 3 = 94995.
        (Broker::Paper, "alpha", RELIANCE, 10, "94995", "5"),
        (Broker::Paper, "alpha", TCS, -5, "94995", "5"),
        // beta: cash 100000 + 10040 − 1 = 110039.
        (Broker::Paper, "beta", RELIANCE, -4, "110039", "1"),
        // zerodha alpha: cash 100000 − 2490 − 0.5 = 97509.5.
        (Broker::Zerodha, "alpha", RELIANCE, 1, "97509.5", "0.5"),
    ];
    for (broker, strategy, token, quantity, cash, charges) in cases {
        let portfolio = book.get(broker, strategy).unwrap();
        let case = format!("{broker}/{strategy}/{token}");
        assert_eq!(
            portfolio.position(token).unwrap().quantity,
            quantity,
            "{case}"
        );
        assert_eq!(portfolio.cash(), d(cash), "{case}");
        assert_eq!(portfolio.charges(), d(charges), "{case}");
    }
    assert!(
        book.get(Broker::Paper, "beta")
            .unwrap()
            .position(TCS)
            .is_none()
    );
    assert!(book.get(Broker::Zerodha, "beta").is_none());

    // A RELIANCE tick changes the three portfolios holding it, in (broker, strategy) order.
    let changed = book.mark(RELIANCE, d("2520"));
    let expected = [
        (Broker::Paper, "alpha".to_owned()),
        (Broker::Paper, "beta".to_owned()),
        (Broker::Zerodha, "alpha".to_owned()),
    ];
    assert_eq!(changed, expected);
    let unrealized: Vec<Decimal> = book.iter().map(Portfolio::unrealized_pnl).collect();
    // (2520 − 2500)×10 = 200; (2520 − 2510)×(−4) = −40; (2520 − 2490)×1 = 30.
    assert_eq!(unrealized, [d("200"), d("-40"), d("30")]);
    // TCS moves alpha only; INFY nobody.
    assert_eq!(
        book.mark(TCS, d("3990")),
        [(Broker::Paper, "alpha".to_owned())]
    );
    assert!(book.mark(INFY, d("1500")).is_empty());
}

#[test]
fn marks_that_change_nothing_or_are_not_prices_are_ignored() {
    let mut book = Book::new(d("1000"));
    book.apply_fill(&fill(
        "f",
        "s",
        RELIANCE,
        Side::Buy,
        1,
        d("100"),
        Decimal::ZERO,
    ))
    .unwrap();
    #[rustfmt::skip]
    let cases = [
        ("101", true),
        ("101", false),   // same price
        ("101.00", false), // same price, other scale
        ("0", false),     // Kite's "no trade yet"
        ("-5", false),
        ("99", true),
    ];
    for (price, changes) in cases {
        assert_eq!(
            book.mark(RELIANCE, d(price)).len(),
            usize::from(changes),
            "{price}"
        );
    }
    assert_eq!(book.last_price(RELIANCE), Some(d("99")));
    let portfolio = book.get(Broker::Paper, "s").unwrap();
    assert_eq!(portfolio.unrealized_pnl(), d("-1"));
    let mut lone = Portfolio::new(Broker::Paper, "s", d("1000"));
    assert!(!lone.mark(RELIANCE, d("100")), "no position in RELIANCE");
}

#[test]
fn position_opened_after_a_mark_starts_marked_in_a_book_only() {
    let mut book = Book::new(d("1000"));
    assert!(book.mark(RELIANCE, d("105")).is_empty());
    let buy = fill("f", "s", RELIANCE, Side::Buy, 2, d("100"), Decimal::ZERO);
    let portfolio = book.apply_fill(&buy).unwrap().unwrap();
    let position = portfolio.position(RELIANCE).unwrap();
    assert_eq!(position.last_price, Some(d("105")));
    assert_eq!(position.unrealized(), d("10")); // (105 − 100) × 2

    let mut lone = Portfolio::new(Broker::Paper, "s", d("1000"));
    lone.apply_fill(&buy).unwrap();
    assert_eq!(lone.position(RELIANCE).unwrap().last_price, None);
    assert_eq!(lone.unrealized_pnl(), Decimal::ZERO);
}

#[test]
fn fill_for_another_portfolio_is_an_error_and_changes_nothing() {
    let mut portfolio = Portfolio::new(Broker::Paper, "s", d("1000"));
    #[rustfmt::skip]
    let cases = [
        fill("x", "other", RELIANCE, Side::Buy, 1, d("10"), Decimal::ZERO),
        fill_on(Broker::Zerodha, fill("y", "s", RELIANCE, Side::Buy, 1, d("10"), Decimal::ZERO)),
    ];
    for wrong in cases {
        let error = portfolio.apply_fill(&wrong).unwrap_err();
        assert!(
            matches!(error, PortfolioError::WrongPortfolio { .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("not for portfolio paper/s"),
            "{error}"
        );
    }
    assert_eq!(portfolio, Portfolio::new(Broker::Paper, "s", d("1000")));
}

#[test]
fn overflowing_fill_is_an_error_and_changes_nothing() {
    let mut book = Book::new(d("1000"));
    let huge = fill(
        "h",
        "s",
        RELIANCE,
        Side::Buy,
        u32::MAX,
        Decimal::MAX,
        Decimal::ZERO,
    );
    let overflow = Err(PortfolioError::Overflow {
        fill_id: "h".into(),
    });
    assert_eq!(book.apply_fill(&huge), overflow);
    assert!(book.is_empty(), "no portfolio is created by a refused fill");

    let ok = fill("ok", "s", RELIANCE, Side::Buy, 1, d("10"), Decimal::ZERO);
    book.apply_fill(&ok).unwrap();
    let before = book.clone();
    assert_eq!(book.apply_fill(&huge), overflow);
    assert_eq!(book, before);
    assert!(!book.get(Broker::Paper, "s").unwrap().has_applied("h"));
}

/// Long RELIANCE marked, short TCS unmarked, INFY traded flat.
fn three_position_portfolio() -> Portfolio {
    let mut portfolio = Portfolio::new(Broker::Zerodha, "momentum", d("50000.00"));
    #[rustfmt::skip]
    let fills = [
        fill("1", "momentum", RELIANCE, Side::Buy, 4, d("2500.50"), d("1.25")),
        fill("2", "momentum", TCS, Side::Sell, 2, d("4000.00"), d("2.10")),
        fill("3", "momentum", INFY, Side::Buy, 3, d("1500.00"), d("0.90")),
        fill("4", "momentum", INFY, Side::Sell, 3, d("1510.00"), d("1.75")),
    ];
    for f in fills {
        let f = fill_on(Broker::Zerodha, f);
        assert!(portfolio.apply_fill(&f).unwrap());
    }
    assert!(portfolio.mark(RELIANCE, d("2510.00")));
    portfolio
}

#[test]
fn snapshot_reports_every_position_and_the_totals() {
    let snapshot = three_position_portfolio().snapshot(at("2026-11-26T05:00:00Z"));
    let position = |token,
                    symbol: &str,
                    quantity,
                    [average, last]: [&str; 2],
                    [realized, unrealized]: [&str; 2]| {
        PositionSnapshot {
            token,
            symbol: symbol.into(),
            quantity,
            average_price: d(average),
            last_price: d(last),
            realized_pnl: d(realized),
            unrealized_pnl: d(unrealized),
        }
    };
    let expected = PnlSnapshot {
        broker: Broker::Zerodha,
        strategy_id: "momentum".into(),
        // Token order: INFY 408065, RELIANCE 738561, TCS 2953217.
        positions: vec![
            // INFY flat: realized (1510 − 1500) × 3 = 30; no mark, average reset: last 0.
            position(INFY, "INFY", 0, ["0", "0"], ["30", "0"]),
            // RELIANCE: (2510 − 2500.50) × 4 = 38.
            position(
                RELIANCE,
                "RELIANCE",
                4,
                ["2500.50", "2510.00"],
                ["0", "38.00"],
            ),
            // TCS unmarked: last shown as the average, unrealized 0.
            position(TCS, "TCS", -2, ["4000", "4000"], ["0", "0"]),
        ],
        // 50000 − 10002 + 8000 − 4500 + 4530 − (1.25 + 2.10 + 0.90 + 1.75 = 6) = 48022.
        cash: d("48022.00"),
        realized_pnl: d("30"),
        unrealized_pnl: d("38"),
        fees: d("6.00"),
        as_of: at("2026-11-26T05:00:00Z"),
    };
    assert_eq!(snapshot, expected);
    // equity = cash + 4×2510 − 2×4000 (TCS at cost) = 48022 + 10040 − 8000 = 50062
    //        = 50000 + (30 + 38 − 6).
    let portfolio = three_position_portfolio();
    assert_eq!(portfolio.net_pnl(), d("62"));
    assert_eq!(portfolio.equity(), d("50062"));
}

#[test]
fn portfolio_json_is_readable_and_round_trips() {
    let portfolio = three_position_portfolio();
    let value = serde_json::to_value(&portfolio).unwrap();
    assert_eq!(value["broker"], json!("zerodha"));
    assert_eq!(value["strategy_id"], json!("momentum"));
    assert_eq!(value["starting_cash"], json!("50000.00"));
    assert_eq!(value["cash"], json!("48022.00"));
    assert_eq!(value["applied_fill_ids"], json!(["1", "2", "3", "4"]));
    assert_eq!(
        value["positions"][1],
        json!({
            "token": RELIANCE,
            "symbol": "RELIANCE",
            "quantity": 4,
            "average_price": "2500.50",
            "cost_basis": "10002.00",
            "last_price": "2510.00",
            "realized_pnl": "0",
            "charges": "1.25",
        })
    );
    assert_eq!(value["positions"][2]["last_price"], json!(null));

    let text = serde_json::to_string(&portfolio).unwrap();
    let back: Portfolio = serde_json::from_str(&text).unwrap();
    assert_eq!(back, portfolio);
    assert_eq!(serde_json::to_string(&back).unwrap(), text, "stable text");

    let mut book = Book::new(d("1"));
    book.mark(TCS, d("3990"));
    assert_eq!(book.insert(back), None);
    let restored = book.get(Broker::Zerodha, "momentum").unwrap();
    // Restored positions take the book's last marks: (3990 − 4000) × (−2) = 20.
    assert_eq!(restored.position(TCS).unwrap().unrealized(), d("20"));
}

#[test]
fn portfolio_json_with_a_token_listed_twice_is_refused() {
    let mut value = serde_json::to_value(three_position_portfolio()).unwrap();
    let first = value["positions"][0].clone();
    value["positions"].as_array_mut().unwrap().push(first);
    let error = serde_json::from_value::<Portfolio>(value).unwrap_err();
    assert!(
        error.to_string().contains("token 408065 is listed twice"),
        "{error}"
    );
}
