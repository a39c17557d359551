//! Tests of `PUT /orders/{variety}/{id}` (modify) and `DELETE /orders/{variety}/{id}`
//! (cancel) over HTTP.

use super::tests::{Harness, assert_error, dec, limit_order, with, without};
use super::*;
use reqwest::Method;

async fn put(h: &Harness, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    Harness::send(h.request(Method::PUT, path).form(form)).await
}

async fn history_len(h: &Harness, order_id: &str) -> usize {
    let (_, history) = h.get(&format!("/orders/{order_id}")).await;
    history["data"].as_array().unwrap().len()
}

#[actix::test]
async fn a_modify_changes_the_order_and_appends_a_history_state() {
    let h = Harness::start().await;
    let id = h.place(&limit_order("ap1")).await;
    h.kite.fill(&id, 4, dec("1500"));
    let path = format!("/orders/regular/{id}");
    let form = [
        ("quantity", "12"),
        ("price", "1499.5"),
        ("validity", "TTL"),
        ("validity_ttl", "3"),
        ("disclosed_quantity", "2"),
        ("tag", "ignored"),
    ];
    let reply = put(&h, &path, &form).await;
    assert_eq!(
        reply,
        (200, json!({"status": "success", "data": {"order_id": id}}))
    );
    let order = h.kite.order(&id).unwrap();
    assert_eq!(
        (order.quantity, order.price, order.validity.as_str()),
        (12, dec("1499.5"), "TTL")
    );
    assert_eq!((order.validity_ttl, order.disclosed_quantity), (Some(3), 2));
    assert_eq!((order.filled_quantity, order.status.as_str()), (4, "OPEN"));
    assert_eq!(order.tag.as_deref(), Some("ap1"));
    assert!(order.modified);

    let (_, history) = h.get(&format!("/orders/{id}")).await;
    let states = history["data"].as_array().unwrap();
    assert_eq!(states.len(), 3);
    let last = &states[2];
    assert_eq!(last["modified"], true);
    assert_eq!(last["price"].to_string(), "1499.5");
    assert_eq!(
        (last["quantity"].clone(), last["pending_quantity"].clone()),
        (json!(12), json!(8))
    );
    assert_eq!(states[1]["modified"], false);

    // Order type changes: to SL-M with protection, then to LIMIT.
    let to_stop = [
        ("order_type", "SL-M"),
        ("trigger_price", "1490"),
        ("market_protection", "-1"),
    ];
    assert_eq!(put(&h, &path, &to_stop).await.0, 200);
    let order = h.kite.order(&id).unwrap();
    assert_eq!(
        (order.order_type.as_str(), order.trigger_price),
        ("SL-M", dec("1490"))
    );
    assert_eq!(order.market_protection, -1);
    assert_eq!(put(&h, &path, &[("order_type", "LIMIT")]).await.0, 200);
    assert_eq!(h.kite.order(&id).unwrap().order_type, "LIMIT");
    assert_eq!(history_len(&h, &id).await, 5);
}

#[actix::test]
async fn a_modify_of_an_ended_order_is_refused() {
    let h = Harness::start().await;
    let complete = h.place(&limit_order("ap1")).await;
    h.kite.fill(&complete, 10, dec("1500"));
    let cancelled = h.place(&limit_order("ap2")).await;
    h.kite.cancel(&cancelled);
    let rejected = h.place(&limit_order("ap3")).await;
    h.kite.reject(&rejected, "RMS:Margin Exceeds");
    let cases = [
        (&complete, "Order cannot be modified as it is complete."),
        (&cancelled, "Order cannot be modified as it is cancelled."),
        (&rejected, "Order cannot be modified as it is rejected."),
    ];
    for (id, message) in cases {
        let before = h.kite.order(id).unwrap();
        let reply = put(&h, &format!("/orders/regular/{id}"), &[("price", "1500.1")]).await;
        assert_error(&reply, 400, "OrderException");
        assert_eq!(reply.1["message"], message);
        assert_eq!(h.kite.order(id).unwrap(), before);
    }
    let unknown = put(&h, "/orders/regular/151220000099999", &[("price", "1")]).await;
    assert_error(&unknown, 400, "InputException");
    assert_eq!(unknown.1["message"], "Couldn't find that `order_id`.");
    let variety = put(&h, &format!("/orders/weird/{complete}"), &[("price", "1")]).await;
    assert_eq!(variety.1["message"], "Invalid `variety`.");
}

/// Form, error type, message.
type ModifyCase = (Vec<(&'static str, &'static str)>, &'static str, String);

#[actix::test]
async fn a_bad_modify_is_refused_naming_why_and_changes_nothing() {
    let h = Harness::start().await;
    h.kite.set_instrument("NSE", "INFY", dec("0.05"), 5);
    h.kite.set_last_price("NSE", "INFY", dec("1500"));
    let id = h.place(&limit_order("ap1")).await;
    h.kite.fill(&id, 5, dec("1500"));
    // 16 order requests in a burst: this test is about the checks, not the rate.
    h.kite.set_order_rate_limits(OrderRateLimits {
        per_second: 100,
        per_minute: 1000,
    });
    let before = h.kite.order(&id).unwrap();
    let path = format!("/orders/regular/{id}");
    let input = "InputException";
    let cases: Vec<ModifyCase> = vec![
        (vec![("quantity", "0")], input, "Invalid `quantity`.".into()),
        (vec![("quantity", "5")], input, filled_quantity_message(5)),
        (vec![("quantity", "12")], input, lot_size_message(5)),
        (vec![("price", "-1")], input, "Invalid `price`.".into()),
        (vec![("price", "0")], input, "Invalid `price`.".into()),
        (
            vec![("price", "1500.07")],
            input,
            tick_size_message(dec("0.05")),
        ),
        (
            vec![("order_type", "GTT")],
            input,
            "Invalid `order_type`.".into(),
        ),
        (
            vec![("validity", "GTC")],
            input,
            "Invalid `validity`.".into(),
        ),
        (
            vec![("validity", "TTL")],
            input,
            "Missing `validity_ttl`".into(),
        ),
        (
            vec![("disclosed_quantity", "11")],
            input,
            "Invalid `disclosed_quantity`.".into(),
        ),
        (
            vec![("order_type", "SL")],
            input,
            "Missing `trigger_price`".into(),
        ),
        (
            vec![("order_type", "MARKET")],
            input,
            MARKET_PROTECTION_REQUIRED.into(),
        ),
        (
            vec![("market_protection", "101")],
            input,
            "Invalid `market_protection`.".into(),
        ),
        (
            vec![("price", "1575.05")],
            "OrderException",
            LPP_REJECTION.into(),
        ),
    ];
    for (form, error_type, message) in cases {
        let reply = put(&h, &path, &form).await;
        assert_error(&reply, 400, error_type);
        assert_eq!(reply.1["message"], message.as_str(), "{form:?}");
    }
    assert_eq!(h.kite.order(&id).unwrap(), before);
    assert_eq!(history_len(&h, &id).await, 2);
    // Within the band and on the grid: fine.
    assert_eq!(put(&h, &path, &[("price", "1575")]).await.0, 200);
}

#[actix::test]
async fn a_limit_order_changed_from_market_needs_a_price() {
    let h = Harness::start().await;
    let market = with(
        &without(&with(&limit_order("ap1"), "order_type", "MARKET"), "price"),
        "market_protection",
        "-1",
    );
    let id = h.place(&market).await;
    let path = format!("/orders/regular/{id}");
    let reply = put(&h, &path, &[("order_type", "LIMIT")]).await;
    assert_error(&reply, 400, "InputException");
    assert_eq!(reply.1["message"], "Missing `price`");
    let form = [("order_type", "LIMIT"), ("price", "1500")];
    assert_eq!(put(&h, &path, &form).await.0, 200);
}

#[actix::test]
async fn cancel_leaves_the_fills_and_cancels_the_rest() {
    let h = Harness::start().await;
    let id = h.place(&limit_order("ap1")).await;
    h.kite.fill(&id, 3, dec("1500"));
    let path = format!("/orders/regular/{id}");
    let reply = Harness::send(h.request(Method::DELETE, &path)).await;
    assert_eq!(
        reply,
        (200, json!({"status": "success", "data": {"order_id": id}}))
    );
    let (_, orders) = h.get("/orders").await;
    let order = &orders["data"][0];
    assert_eq!(order["status"], "CANCELLED");
    assert_eq!(
        [
            &order["filled_quantity"],
            &order["pending_quantity"],
            &order["cancelled_quantity"]
        ],
        [&json!(3), &json!(0), &json!(7)]
    );
    let history = history_len(&h, &id).await;

    let complete = h.place(&limit_order("ap2")).await;
    h.kite.fill(&complete, 10, dec("1500"));
    let cases = [
        (id.clone(), "Order cannot be cancelled as it is cancelled."),
        (complete, "Order cannot be cancelled as it is complete."),
    ];
    for (order_id, message) in cases {
        let path = format!("/orders/regular/{order_id}");
        let reply = Harness::send(h.request(Method::DELETE, &path)).await;
        assert_error(&reply, 400, "OrderException");
        assert_eq!(reply.1["message"], message);
    }
    assert_eq!(history_len(&h, &id).await, history);
}
