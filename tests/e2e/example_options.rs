//! The options example (examples/options, config/examples/options.toml) on the embedded
//! defaults: it picks its strikes by rule, sells them in lots on paper, and the
//! portfolio's charges are the F&O options schedule applied to its fills, recomputed here
//! by hand from KITE.md's table.
//!
//! The example binary is built by `scripts/test.sh` (`cargo build --example options`)
//! next to the main binary; this test names it from there.

use crate::daemon::Daemon;
use alpha_panda::market::{ChainRule, InstrumentRegistry, OptionChains, RuleInputs};
use rust_decimal::{Decimal, RoundingStrategy};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The example binary beside `alpha-panda` (target/<profile>/examples/options).
fn example_binary() -> PathBuf {
    let main = Path::new(env!("CARGO_BIN_EXE_alpha-panda"));
    let binary = main
        .parent()
        .map(|dir| dir.join("examples").join("options"))
        .expect("the binary's directory");
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build --example options` (scripts/test.sh does)",
        binary.display()
    );
    binary
}

fn d(text: &str) -> Decimal {
    text.parse().expect("a decimal")
}

fn paisa(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// KITE.md's option schedule for a SELL of `quantity` at `premium`: ₹20 brokerage, STT
/// 0.15 % of the premium turnover, exchange 0.03503 %, SEBI ₹10 a crore, no stamp duty on
/// a sell, GST 18 % on brokerage + exchange + SEBI; each rounded to the paisa.
fn option_sell_charges(quantity: i64, premium: Decimal) -> Decimal {
    let turnover = Decimal::from(quantity) * premium;
    let brokerage = d("20");
    let stt = paisa(turnover * d("0.0015"));
    let exchange = paisa(turnover * d("0.0003503"));
    let sebi = paisa(turnover * d("10") / d("10000000"));
    let gst = paisa((brokerage + exchange + sebi) * d("0.18"));
    brokerage + stt + exchange + sebi + gst
}

/// The contracts `NIFTY:CE,PE:ATM:current_week` names today, as the daemon resolves it.
fn expected_contracts() -> Vec<String> {
    let registry = InstrumentRegistry::embedded().expect("the embedded registry");
    let chains = OptionChains::build(&registry);
    let rule: ChainRule = "NIFTY:CE,PE:ATM:current_week".parse().expect("the rule");
    let nifty = registry.by_symbol("NSE:NIFTY 50").expect("NIFTY 50");
    let inputs = RuleInputs {
        today: alpha_panda::market::MarketCalendar::ist_date(chrono::Utc::now()),
        price: Some(nifty.last_price),
    };
    let tokens = rule.resolve(&chains, inputs).expect("the rule resolves");
    tokens
        .iter()
        .map(|t| {
            registry
                .by_token(*t)
                .expect("a listed token")
                .symbol
                .clone()
        })
        .collect()
}

#[test]
fn the_options_example_sells_rule_picked_strikes_in_lots_with_the_option_charges() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples/options.toml");
    let mut daemon = Daemon::start_binary(
        &example_binary(),
        &config,
        &[],
        &[("ALPHA_PANDA__API__LISTEN", "127.0.0.1:0")],
    );
    let expected = expected_contracts();
    assert_eq!(expected.len(), 2, "a call and a put: {expected:?}");

    // Both legs sold: two short positions (the read model follows the fills).
    let deadline = Instant::now() + Duration::from_secs(60);
    let portfolio = loop {
        let body = daemon.get_ok("/api/v1/portfolios", Duration::from_secs(10));
        let all: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        let straddle = all
            .as_array()
            .and_then(|a| a.iter().find(|p| p["strategy_id"] == "straddle_1"))
            .cloned();
        let shorts = straddle.as_ref().map_or(0, |p| {
            p["positions"].as_array().map_or(0, |ps| {
                ps.iter()
                    .filter(|x| x["quantity"].as_i64() < Some(0))
                    .count()
            })
        });
        if let Some(p) = straddle.filter(|_| shorts == 2) {
            break p;
        }
        assert!(
            Instant::now() < deadline,
            "no straddle within 60 s: {body}\n{}",
            daemon.tail()
        );
        daemon.drain();
        // Polling the read model with a deadline, not sleeping in place of an event.
        std::thread::sleep(Duration::from_millis(200));
    };

    let positions = portfolio["positions"].as_array().expect("positions");
    let mut symbols: Vec<String> = positions
        .iter()
        .map(|p| p["symbol"].as_str().unwrap_or_default().to_owned())
        .collect();
    symbols.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(symbols, want, "the strikes the rule picked");
    let mut total = Decimal::ZERO;
    for position in positions {
        let quantity = position["quantity"].as_i64().expect("quantity");
        assert_eq!(quantity, -65, "one NIFTY lot sold: {position}");
        // One fill per leg so far, so its average price is the fill's premium.
        assert_eq!(portfolio["fill_count"], 2, "{portfolio}");
        let premium = d(position["average_price"].as_str().expect("average price"));
        let charges = d(position["charges"].as_str().expect("charges"));
        assert_eq!(
            charges,
            option_sell_charges(quantity.abs(), premium),
            "the option schedule on {} × {premium}: {position}",
            quantity.abs()
        );
        total += charges;
    }
    let day_charges = d(portfolio["day"]["charges"].as_str().expect("day charges"));
    assert_eq!(
        day_charges, total,
        "the day's charges are the legs' charges"
    );

    let (code, _, lines) = daemon.sigterm();
    assert_eq!(code, Some(0), "clean shutdown:\n{}", lines.join("\n"));
}
