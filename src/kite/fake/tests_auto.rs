//! Tests of auto-execution: marketable orders fill at the last price on placement, modify
//! and price changes; partial steps; stops; IOC; and the plain rule functions.

use super::execution::fill_quantity;
use super::tests::{Harness, dec, limit_order, with, without};
use super::*;
use reqwest::Method;

fn sell(price: &'static str) -> Vec<(&'static str, &'static str)> {
    with(
        &with(&limit_order("ap2"), "transaction_type", "SELL"),
        "price",
        price,
    )
}

fn market_buy() -> Vec<(&'static str, &'static str)> {
    with(
        &without(&with(&limit_order("ap3"), "order_type", "MARKET"), "price"),
        "market_protection",
        "-1",
    )
}

/// (quantity, price) of each trade of the order, in order.
fn fills(kite: &FakeKite, order_id: &str) -> Vec<(u64, Decimal)> {
    kite.trades()
        .into_iter()
        .filter(|t| t.order_id == order_id)
        .map(|t| (t.quantity, t.price))
        .collect()
}

#[actix::test]
async fn off_by_default() {
    let h = Harness::start().await;
    h.kite.set_last_price("NSE", "INFY", dec("1500"));
    let id = h.place(&limit_order("ap1")).await;
    assert_eq!(h.kite.order(&id).unwrap().status, "OPEN");
    assert!(h.kite.trades().is_empty());
}

#[actix::test]
async fn marketable_orders_fill_at_the_last_price_and_resting_ones_when_it_moves() {
    let h = Harness::start().await;
    h.kite.auto_execute(AutoExecution::default());
    h.kite.set_last_price("NSE", "INFY", dec("1500"));
    let buy = h.place(&limit_order("ap1")).await; // 1500.05 >= 1500
    let resting = h.place(&sell("1500.10")).await; // 1500.10 > 1500
    let market = h.place(&market_buy()).await;
    assert_eq!(fills(&h.kite, &buy), [(10, dec("1500"))]);
    assert_eq!(fills(&h.kite, &market), [(10, dec("1500"))]);
    assert_eq!(h.kite.order(&resting).unwrap().status, "OPEN");

    h.kite.set_last_price("NSE", "INFY", dec("1500.05"));
    assert!(fills(&h.kite, &resting).is_empty());
    h.kite.set_last_price("NSE", "INFY", dec("1500.15"));
    assert_eq!(fills(&h.kite, &resting), [(10, dec("1500.15"))]);
    let order = h.kite.order(&resting).unwrap();
    assert_eq!(
        (order.status.as_str(), order.average_price),
        ("COMPLETE", dec("1500.15"))
    );
    // Trades look like manual ones: 8-digit ids, IST timestamps.
    let trade = &h.kite.trades()[2];
    assert_eq!(trade.trade_id.len(), 8);
    assert_eq!(trade.fill_timestamp.len(), "2026-04-01 09:15:00".len());
}

#[actix::test]
async fn without_a_last_price_nothing_fills() {
    let h = Harness::start().await;
    h.kite.auto_execute(AutoExecution::default());
    let id = h.place(&market_buy()).await;
    assert_eq!(h.kite.order(&id).unwrap().status, "OPEN");
    h.kite.set_last_price("NSE", "TCS", dec("4000"));
    assert_eq!(h.kite.order(&id).unwrap().status, "OPEN");
    h.kite.set_last_price("NSE", "INFY", dec("1499"));
    assert_eq!(fills(&h.kite, &id), [(10, dec("1499"))]);
}

#[actix::test]
async fn partial_steps_fill_half_rounded_down_to_lots_at_least_one_lot() {
    let h = Harness::start().await;
    h.kite
        .set_instrument("NFO", "NIFTY26APR24000CE", dec("0.05"), 75);
    h.kite
        .set_last_price("NFO", "NIFTY26APR24000CE", dec("120"));
    h.kite.auto_execute(AutoExecution::partial(dec("0.5")));
    let form = with(&limit_order("ap1"), "exchange", "NFO");
    let form = with(&form, "tradingsymbol", "NIFTY26APR24000CE");
    let form = with(&with(&form, "price", "121"), "quantity", "375");
    let id = h.place(&with(&form, "product", "NRML")).await;
    assert_eq!(fills(&h.kite, &id), [(150, dec("120"))]);
    for price in ["120.5", "120.25", "120.1"] {
        h.kite
            .set_last_price("NFO", "NIFTY26APR24000CE", dec(price));
    }
    assert_eq!(
        fills(&h.kite, &id),
        [
            (150, dec("120")),
            (75, dec("120.5")),
            (75, dec("120.25")),
            (75, dec("120.1"))
        ]
    );
    assert_eq!(h.kite.order(&id).unwrap().status, "COMPLETE");
}

#[actix::test]
async fn stops_fill_once_the_last_price_reaches_the_trigger() {
    let h = Harness::start().await;
    h.kite.set_last_price("NSE", "INFY", dec("1500"));
    h.kite.auto_execute(AutoExecution::default());
    let stop_sell = with(
        &with(&sell("1500"), "order_type", "SL-M"),
        "trigger_price",
        "1490",
    );
    let stop_sell = h
        .place(&with(
            &without(&stop_sell, "price"),
            "market_protection",
            "-1",
        ))
        .await;
    let stop_buy = with(&limit_order("ap1"), "order_type", "SL");
    let stop_buy = with(&with(&stop_buy, "trigger_price", "1510"), "price", "1512");
    let stop_buy = h.place(&stop_buy).await;
    h.kite.set_last_price("NSE", "INFY", dec("1490.05"));
    assert!(h.kite.trades().is_empty());
    h.kite.set_last_price("NSE", "INFY", dec("1490"));
    assert_eq!(fills(&h.kite, &stop_sell), [(10, dec("1490"))]);
    // Triggered (1513 >= 1510) but above the limit 1512: not marketable.
    h.kite.set_last_price("NSE", "INFY", dec("1513"));
    assert!(fills(&h.kite, &stop_buy).is_empty());
    h.kite.set_last_price("NSE", "INFY", dec("1511"));
    assert_eq!(fills(&h.kite, &stop_buy), [(10, dec("1511"))]);
}

#[actix::test]
async fn a_modify_that_makes_an_order_marketable_fills_it() {
    let h = Harness::start().await;
    h.kite.set_last_price("NSE", "INFY", dec("1500"));
    h.kite.auto_execute(AutoExecution::default());
    let id = h.place(&with(&limit_order("ap1"), "price", "1495")).await;
    assert!(fills(&h.kite, &id).is_empty());
    let path = format!("/orders/regular/{id}");
    let reply = Harness::send(h.request(Method::PUT, &path).form(&[("price", "1500")])).await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert_eq!(fills(&h.kite, &id), [(10, dec("1500"))]);
}

#[actix::test]
async fn ioc_leftovers_are_cancelled_and_lpp_rejections_never_fill() {
    let h = Harness::start().await;
    h.kite.set_last_price("NSE", "INFY", dec("1500"));
    h.kite.auto_execute(AutoExecution::default());
    let ioc = h
        .place(&with(
            &with(&limit_order("ap1"), "price", "1495"),
            "validity",
            "IOC",
        ))
        .await;
    let order = h.kite.order(&ioc).unwrap();
    assert_eq!(
        (order.status.as_str(), order.filled_quantity),
        ("CANCELLED", 0)
    );
    let far = h.place(&with(&limit_order("ap2"), "price", "1600")).await;
    let order = h.kite.order(&far).unwrap();
    assert_eq!(order.status, "REJECTED");
    assert!(h.kite.trades().is_empty());
}

#[actix::test]
async fn turning_it_on_fills_marketable_resting_orders_but_not_interim_ones() {
    let h = Harness::start().await;
    h.kite.set_last_price("NSE", "INFY", dec("1500"));
    let open = h.place(&limit_order("ap1")).await;
    let pending = h.place(&limit_order("ap2")).await;
    h.kite.set_status(&pending, "OPEN PENDING");
    let triggered = h.place(&limit_order("ap3")).await;
    h.kite.set_status(&triggered, "TRIGGER PENDING");
    h.kite.auto_execute(AutoExecution::default());
    assert_eq!(fills(&h.kite, &open), [(10, dec("1500"))]);
    assert_eq!(fills(&h.kite, &triggered), [(10, dec("1500"))]);
    assert!(fills(&h.kite, &pending).is_empty());
    h.kite.stop_auto_execution();
    let later = h.place(&limit_order("ap4")).await;
    assert_eq!(h.kite.order(&later).unwrap().status, "OPEN");
}

#[test]
fn one_step_fills_the_fraction_rounded_down_to_lots_at_least_one_lot() {
    // (unfilled, lot, fraction, filled)
    let cases = [
        (10, 1, "1", 10),
        (10, 1, "0.5", 5),
        (9, 1, "0.5", 4),
        (1, 1, "0.5", 1),
        (375, 75, "0.5", 150),
        (150, 75, "0.5", 75),
        (75, 75, "0.5", 75),
        (375, 75, "1", 375),
        // After an odd manual fill: never more than what is unfilled.
        (40, 75, "0.5", 40),
        (100, 75, "1", 75),
    ];
    for (unfilled, lot, fraction, filled) in cases {
        assert_eq!(
            fill_quantity(unfilled, lot, dec(fraction)),
            filled,
            "{unfilled} {lot} {fraction}"
        );
    }
}

#[actix::test]
#[should_panic(expected = "bad fill fraction 1.5")]
async fn a_fill_fraction_above_one_panics_the_test() {
    let h = Harness::start().await;
    h.kite.auto_execute(AutoExecution::partial(dec("1.5")));
}
