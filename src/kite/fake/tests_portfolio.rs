//! Tests of `GET /portfolio/positions`, `GET /portfolio/holdings` and untagged (external)
//! trades over HTTP.

use super::tests::{Harness, dec, limit_order, with};
use super::*;
use crate::kite::rest::{KiteHolding, KitePositions};

/// The entry of `list` for (exchange, tradingsymbol, product).
fn entry<'a>(list: &'a Value, exchange: &str, symbol: &str, product: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["exchange"] == exchange && p["tradingsymbol"] == symbol && p["product"] == product
        })
        .unwrap_or_else(|| panic!("no {exchange}:{symbol} {product} in {list}"))
}

/// The named fields of a position, as text (JSON numbers from decimal text).
fn fields(position: &Value, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|name| position[*name].to_string())
        .collect()
}

#[actix::test]
async fn positions_follow_trades_including_untagged_ones() {
    let h = Harness::start().await;
    h.kite.set_last_price("NSE", "INFY", dec("1510"));
    let id = h.place(&limit_order("ap1")).await;
    h.kite.fill(&id, 4, dec("1500"));
    h.kite.fill(&id, 6, dec("1501"));
    let (square_off, trade) = h
        .kite
        .auto_square_off("NSE", "INFY", "SELL", 10, dec("1505"));

    let (status, body) = h.get("/portfolio/positions").await;
    assert_eq!(status, 200, "{body}");
    let net = entry(&body["data"]["net"], "NSE", "INFY", "MIS");
    let names = [
        "quantity",
        "overnight_quantity",
        "average_price",
        "buy_quantity",
        "buy_price",
        "buy_value",
        "sell_quantity",
        "sell_price",
        "sell_value",
        "value",
        "last_price",
        "pnl",
        "m2m",
        "realised",
        "unrealised",
        "multiplier",
        "instrument_token",
    ];
    let expected = [
        "0", "0", "0", "10", "1500.6", "15006", "10", "1505", "15050", "44", "1510", "44", "44",
        "44", "0", "1", "0",
    ];
    assert_eq!(fields(net, &names), expected);
    assert_eq!(body["data"]["day"], body["data"]["net"]);
    let day_names = [
        "day_buy_quantity",
        "day_buy_price",
        "day_buy_value",
        "day_sell_quantity",
        "day_sell_price",
        "day_sell_value",
    ];
    assert_eq!(
        fields(net, &day_names),
        ["10", "1500.6", "15006", "10", "1505", "15050"]
    );

    // The square-off is an untagged COMPLETE order with its trade.
    let order = h.kite.order(&square_off).unwrap();
    assert_eq!(
        (
            order.status.as_str(),
            order.tag.as_deref(),
            order.placed_by.as_str()
        ),
        ("COMPLETE", None, AUTO_SQUARE_OFF_PLACED_BY)
    );
    let (_, orders) = h.get("/orders").await;
    let shown = &orders["data"][1];
    assert_eq!(shown["order_id"], square_off.as_str());
    assert_eq!(
        (
            shown["placed_by"].clone(),
            shown["tag"].clone(),
            shown["tags"].clone()
        ),
        (json!("ADMINSQF"), Value::Null, Value::Null)
    );
    assert_eq!(orders["data"][0]["placed_by"], FAKE_USER_ID);
    assert_eq!(
        (
            shown["average_price"].to_string(),
            shown["transaction_type"].clone()
        ),
        ("1505".to_owned(), json!("SELL"))
    );
    let (_, trades) = h.get("/trades").await;
    let last = &trades["data"][2];
    assert_eq!(
        (last["trade_id"].clone(), last["order_id"].clone()),
        (json!(trade), json!(square_off))
    );
    assert_eq!(last["product"], "MIS");
}

#[actix::test]
async fn overnight_positions_are_in_net_only_until_traded() {
    let h = Harness::start().await;
    h.kite
        .set_overnight_position("NFO", "NIFTY26APRFUT", "NRML", 75, dec("24000"));
    h.kite
        .set_last_price("NFO", "NIFTY26APRFUT", dec("24100.5"));
    h.kite
        .set_overnight_position("NFO", "BANKNIFTY26APRFUT", "NRML", -30, dec("50000"));
    let (_, trade) =
        h.kite
            .external_trade("NFO", "BANKNIFTY26APRFUT", "NRML", "BUY", 15, dec("49900"));
    assert_eq!(trade.len(), 8);
    let (_, body) = h.get("/portfolio/positions").await;
    let (net, day) = (&body["data"]["net"], &body["data"]["day"]);
    assert_eq!(net.as_array().unwrap().len(), 2);
    assert_eq!(day.as_array().unwrap().len(), 1);

    let names = [
        "quantity",
        "overnight_quantity",
        "average_price",
        "buy_quantity",
        "buy_value",
        "sell_quantity",
        "sell_value",
        "close_price",
        "last_price",
        "pnl",
        "realised",
        "unrealised",
        "day_buy_quantity",
        "day_sell_quantity",
    ];
    let nifty = entry(net, "NFO", "NIFTY26APRFUT", "NRML");
    assert_eq!(
        fields(nifty, &names),
        [
            "75", "75", "24000", "75", "1800000", "0", "0", "24000", "24100.5", "7537.5", "0",
            "7537.5", "0", "0"
        ]
    );
    // Short 30 overnight, bought 15 today; no last price set: the last trade's.
    let bank = entry(net, "NFO", "BANKNIFTY26APRFUT", "NRML");
    assert_eq!(
        fields(bank, &names),
        [
            "-15", "-30", "50000", "15", "748500", "30", "1500000", "50000", "49900", "3000",
            "1500", "1500", "15", "0"
        ]
    );
    let bank_day = entry(day, "NFO", "BANKNIFTY26APRFUT", "NRML");
    assert_eq!(
        fields(bank_day, &names),
        [
            "15", "0", "49900", "15", "748500", "0", "0", "50000", "49900", "0", "0", "0", "15",
            "0"
        ]
    );

    // The client reads them.
    let positions: KitePositions = serde_json::from_value(body["data"].clone()).unwrap();
    assert_eq!(
        (
            positions.net[1].quantity,
            positions.net[1].overnight_quantity
        ),
        (-15, -30)
    );
    assert_eq!(positions.net[0].average_price, dec("24000"));

    // Setting 0 removes an overnight position.
    h.kite
        .set_overnight_position("NFO", "NIFTY26APRFUT", "NRML", 0, dec("0"));
    let (_, body) = h.get("/portfolio/positions").await;
    assert_eq!(body["data"]["net"].as_array().unwrap().len(), 1);
}

#[actix::test]
async fn holdings_are_what_the_test_set_with_kites_fields() {
    let h = Harness::start().await;
    assert_eq!(h.get("/portfolio/holdings").await.1["data"], json!([]));
    h.kite.set_holding("NSE", "INFY", 10, 5, dec("1400"));
    h.kite.set_holding("NSE", "TCS", 3, 0, dec("4000.25"));
    h.kite.set_last_price("NSE", "INFY", dec("1510"));
    // A delivery sale today: used, still held until settlement.
    let sell = with(
        &with(&limit_order("ap1"), "product", "CNC"),
        "transaction_type",
        "SELL",
    );
    let id = h.place(&with(&sell, "quantity", "3")).await;
    h.kite.fill(&id, 3, dec("1510"));

    let (status, body) = h.get("/portfolio/holdings").await;
    assert_eq!(status, 200, "{body}");
    let infy = &body["data"][0];
    let names = [
        "tradingsymbol",
        "exchange",
        "instrument_token",
        "isin",
        "product",
        "quantity",
        "t1_quantity",
        "realised_quantity",
        "opening_quantity",
        "used_quantity",
        "collateral_quantity",
        "average_price",
        "last_price",
        "close_price",
        "pnl",
        "day_change",
        "day_change_percentage",
    ];
    assert_eq!(
        fields(infy, &names),
        [
            "\"INFY\"",
            "\"NSE\"",
            "0",
            "\"INEFAKE00001\"",
            "\"CNC\"",
            "10",
            "5",
            "10",
            "15",
            "3",
            "0",
            "1400",
            "1510",
            "1400",
            "1650",
            "110",
            "7.8571"
        ]
    );
    let tcs = &body["data"][1];
    assert_eq!(
        fields(tcs, &["last_price", "pnl", "day_change", "used_quantity"]),
        ["4000.25", "0", "0", "0"]
    );
    let holdings: Vec<KiteHolding> = serde_json::from_value(body["data"].clone()).unwrap();
    assert_eq!(
        (holdings[0].total(), holdings[1].average_price),
        (15, dec("4000.25"))
    );

    // Setting again replaces; zero quantities remove.
    h.kite.set_holding("NSE", "INFY", 0, 0, dec("0"));
    h.kite.set_holding("NSE", "TCS", 4, 0, dec("4000"));
    let (_, body) = h.get("/portfolio/holdings").await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["data"][0]["quantity"], 4);
}

#[actix::test]
#[should_panic(expected = "bad side \"HOLD\": BUY or SELL")]
async fn an_external_trade_needs_a_side() {
    let h = Harness::start().await;
    h.kite
        .external_trade("NSE", "INFY", "MIS", "HOLD", 1, dec("1"));
}
