//! Tests of the market checks over HTTP: tick size, lot size and limit price protection on
//! placement.

use super::tests::{Harness, assert_error, dec, limit_order, with, without};
use super::*;

fn nifty_option(price: &'static str, quantity: &'static str) -> Vec<(&'static str, &'static str)> {
    let form = with(&limit_order("ap1"), "exchange", "NFO");
    let form = with(&form, "tradingsymbol", "NIFTY26APR24000CE");
    let form = with(&form, "product", "NRML");
    with(&with(&form, "price", price), "quantity", quantity)
}

#[actix::test]
async fn unknown_instruments_have_tick_0_05_and_lot_1() {
    let h = Harness::start().await;
    let reply = h
        .post(
            "/orders/regular",
            &with(&limit_order("ap1"), "price", "1500.03"),
        )
        .await;
    assert_error(&reply, 400, "InputException");
    assert_eq!(
        reply.1["message"],
        "Tick size for this script is 0.05. Kindly enter a price in multiples of tick size for \
         this script."
    );
    h.place(&with(&limit_order("ap2"), "quantity", "7")).await;
    assert_eq!(h.kite.placements(), 1);
}

#[actix::test]
async fn off_grid_prices_triggers_and_quantities_are_refused_and_create_nothing() {
    let h = Harness::start().await;
    h.kite
        .set_instrument("NFO", "NIFTY26APR24000CE", dec("0.05"), 75);
    h.kite
        .set_instrument("CDS", "USDINR26APRFUT", dec("0.0025"), 1);
    let stop = with(
        &with(&nifty_option("120.05", "75"), "order_type", "SL"),
        "trigger_price",
        "120.02",
    );
    let currency = with(
        &with(&limit_order("ap1"), "exchange", "CDS"),
        "tradingsymbol",
        "USDINR26APRFUT",
    );
    let cases = [
        (nifty_option("120.05", "50"), lot_size_message(75)),
        (nifty_option("120.05", "80"), lot_size_message(75)),
        // The lot is checked before the price.
        (nifty_option("120.01", "50"), lot_size_message(75)),
        (nifty_option("120.01", "75"), tick_size_message(dec("0.05"))),
        (stop, tick_size_message(dec("0.05"))),
        (
            with(&currency, "price", "83.2510"),
            tick_size_message(dec("0.0025")),
        ),
    ];
    for (form, message) in cases {
        let reply = h.post("/orders/regular", &form).await;
        assert_error(&reply, 400, "InputException");
        assert_eq!(reply.1["message"], message.as_str(), "{form:?}");
    }
    assert_eq!(
        lot_size_message(75),
        "Quantity should be a multiple of lot size 75."
    );
    assert_eq!(
        tick_size_message(dec("0.0025")),
        "Tick size for this script is 0.0025. Kindly enter a price in multiples of tick size \
         for this script."
    );
    assert!(h.kite.orders().is_empty());
    assert_eq!(h.kite.placements(), 0);
    let statuses: Vec<u16> = h.kite.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400; 6]);

    // On the grid: accepted.
    h.place(&nifty_option("120.05", "150")).await;
    h.place(&with(&currency, "price", "83.2525")).await;
    let market = without(
        &with(&nifty_option("120.05", "75"), "order_type", "MARKET"),
        "price",
    );
    h.place(&with(&market, "market_protection", "-1")).await;
    assert_eq!(h.kite.placements(), 3);
}

#[actix::test]
async fn a_refused_placement_does_not_consume_the_script() {
    let h = Harness::start().await;
    h.kite
        .script_next_placement(Placement::AcceptAndFill { price: dec("1500") });
    let refused = h
        .post(
            "/orders/regular",
            &with(&limit_order("ap1"), "price", "1500.01"),
        )
        .await;
    assert_error(&refused, 400, "InputException");
    let id = h.place(&limit_order("ap2")).await;
    assert_eq!(h.kite.order(&id).unwrap().status, "COMPLETE");
}

#[actix::test]
async fn a_limit_price_outside_the_band_is_rejected_by_the_exchange() {
    let h = Harness::start().await;
    h.kite.set_last_price("NSE", "INFY", dec("1500"));
    // The default band is 5 %: 1425 ..= 1575, bounds included.
    let cases = [
        ("1424.95", "REJECTED"),
        ("1425", "OPEN"),
        ("1575", "OPEN"),
        ("1575.05", "REJECTED"),
    ];
    for (price, status) in cases {
        let (code, body) = h
            .post(
                "/orders/regular",
                &with(&limit_order("ap1"), "price", price),
            )
            .await;
        assert_eq!(code, 200, "{body}");
        let id = body["data"]["order_id"].as_str().unwrap();
        let order = h.kite.order(id).unwrap();
        assert_eq!(order.status, status, "{price}");
        let expected = (status == "REJECTED").then_some(LPP_REJECTION);
        assert_eq!(order.status_message.as_deref(), expected);
    }
    assert_eq!(
        LPP_REJECTION,
        "Price exceeds circuit limits for the instrument. Place an order within the daily range."
    );
    let (_, orders) = h.get("/orders").await;
    assert_eq!(orders["data"][0]["status_message"], LPP_REJECTION);
    assert_eq!(h.kite.placements(), 4);
}

#[actix::test]
async fn lpp_checks_the_limit_price_of_sl_orders_but_not_market_orders_or_triggers() {
    let h = Harness::start().await;
    h.kite.set_last_price("NSE", "INFY", dec("1000"));
    h.kite.set_lpp_band_pct(dec("2"));
    let sl = |price: &'static str, trigger: &'static str| {
        let form = with(&limit_order("ap1"), "order_type", "SL");
        with(&with(&form, "price", price), "trigger_price", trigger)
    };
    let market = with(
        &without(&with(&limit_order("ap1"), "order_type", "MARKET"), "price"),
        "market_protection",
        "-1",
    );
    let sl_market = with(
        &with(&market, "order_type", "SL-M"),
        "trigger_price",
        "1500",
    );
    let cases = [
        (sl("1020.05", "1000"), "REJECTED"),
        (sl("1020", "1500"), "OPEN"),
        (market, "OPEN"),
        (sl_market, "OPEN"),
        (with(&limit_order("ap1"), "price", "979.95"), "REJECTED"),
        (with(&limit_order("ap1"), "price", "980"), "OPEN"),
    ];
    for (form, status) in cases {
        let id = h.place(&form).await;
        assert_eq!(h.kite.order(&id).unwrap().status, status, "{form:?}");
    }
}

#[actix::test]
async fn without_a_reference_price_there_is_no_lpp_check() {
    let h = Harness::start().await;
    h.kite.set_last_price("NSE", "TCS", dec("4000"));
    let id = h
        .place(&with(&limit_order("ap1"), "price", "9999.95"))
        .await;
    assert_eq!(h.kite.order(&id).unwrap().status, "OPEN");
}

#[actix::test]
async fn a_scripted_fill_or_rejection_decides_over_lpp() {
    let h = Harness::start().await;
    h.kite.set_last_price("NSE", "INFY", dec("1000"));
    h.kite.script_next_placement(Placement::AcceptAndFill {
        price: dec("1500.05"),
    });
    h.kite.script_next_placement(Placement::AcceptAndReject {
        message: "RMS:Margin Exceeds".into(),
    });
    let filled = h.place(&limit_order("ap1")).await;
    assert_eq!(h.kite.order(&filled).unwrap().status, "COMPLETE");
    let rejected = h.place(&limit_order("ap2")).await;
    let order = h.kite.order(&rejected).unwrap();
    assert_eq!(order.status_message.as_deref(), Some("RMS:Margin Exceeds"));
}

#[actix::test]
#[should_panic(expected = "bad instrument NFO:X: tick 0, lot 75")]
async fn a_zero_tick_size_panics_the_test() {
    let h = Harness::start().await;
    h.kite.set_instrument("NFO", "X", dec("0"), 75);
}

#[actix::test]
async fn a_quantity_above_the_freeze_is_refused_on_placement_and_modify() {
    let h = Harness::start().await;
    h.kite
        .set_instrument("NFO", "NIFTY26APR24000CE", dec("0.05"), 75);
    h.kite.set_freeze_quantity("NFO", "NIFTY26APR24000CE", 1800);
    // 24 lots is the most one order may carry; the lot is checked before the freeze.
    let id = h.place(&nifty_option("120.05", "1800")).await;
    let cases = [
        ("1875", freeze_quantity_message(1800)),
        ("1880", lot_size_message(75)),
    ];
    for (quantity, message) in cases {
        let reply = h
            .post("/orders/regular", &nifty_option("120.05", quantity))
            .await;
        assert_error(&reply, 400, "InputException");
        assert_eq!(reply.1["message"], message.as_str(), "{quantity}");
    }
    let modify = h
        .request(reqwest::Method::PUT, &format!("/orders/regular/{id}"))
        .form(&[("quantity", "1875")]);
    let reply = Harness::send(modify).await;
    assert_error(&reply, 400, "InputException");
    assert_eq!(reply.1["message"], freeze_quantity_message(1800).as_str());
    assert_eq!(h.kite.order(&id).unwrap().quantity, 1800, "unchanged");
    assert_eq!(h.kite.placements(), 1);
    // Setting the contract again keeps its freeze quantity.
    h.kite
        .set_instrument("NFO", "NIFTY26APR24000CE", dec("0.05"), 75);
    let again = h
        .post("/orders/regular", &nifty_option("120.05", "1875"))
        .await;
    assert_eq!(again.1["message"], freeze_quantity_message(1800).as_str());
}

#[actix::test]
async fn an_order_for_a_contract_nobody_set_is_refused_on_nfo_only() {
    let h = Harness::start().await;
    let reply = h
        .post("/orders/regular", &nifty_option("120.05", "75"))
        .await;
    assert_error(&reply, 400, "InputException");
    assert_eq!(reply.1["message"], UNKNOWN_CONTRACT);
    let bfo = with(&nifty_option("120.05", "75"), "exchange", "BFO");
    assert_eq!(
        h.post("/orders/regular", &bfo).await.1["message"],
        UNKNOWN_CONTRACT
    );
    // NSE equities keep their defaults (tick 0.05, lot 1).
    h.place(&with(&limit_order("ap2"), "quantity", "7")).await;
    assert_eq!(h.kite.placements(), 1);
}

#[actix::test]
#[should_panic(expected = "set_instrument NFO:X first")]
async fn a_freeze_quantity_needs_its_instrument_set_first() {
    let h = Harness::start().await;
    h.kite.set_freeze_quantity("NFO", "X", 1800);
}
