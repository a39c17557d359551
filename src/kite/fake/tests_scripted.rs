//! Tests of the fake's scripted behaviours: fills, cancels, scripted placements, rate limits,
//! token expiry, sessions, delayed answers, GET failures and order-update frames.

use super::tests::{Harness, WAIT, assert_error, auth, dec, limit_order};
use super::*;
use crate::kite::text::ServerText;
use reqwest::Method;

#[actix::test]
async fn fills_partially_then_completely_with_exact_average_and_trades() {
    let h = Harness::start().await;
    let id = h.place(&limit_order("ap1")).await;
    let first_trade = h.kite.fill(&id, 4, dec("100.10"));
    let (_, body) = h.get(&format!("/orders/{id}")).await;
    let last = body["data"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["status"].clone(), last["filled_quantity"].clone()),
        (json!("OPEN"), json!(4))
    );
    assert_eq!(last["pending_quantity"], 6);

    let second_trade = h.kite.fill(&id, 6, dec("100.20"));
    assert!(second_trade > first_trade);
    assert_eq!(first_trade.len(), 8);
    let order = h.kite.order(&id).unwrap();
    assert_eq!(
        (order.status.as_str(), order.filled_quantity),
        ("COMPLETE", 10)
    );
    assert_eq!(order.average_price, dec("100.16"));

    let (_, history) = h.get(&format!("/orders/{id}")).await;
    let states: Vec<_> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["status"].as_str().unwrap().to_owned(),
                s["filled_quantity"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("OPEN".into(), 0),
            ("OPEN".into(), 4),
            ("COMPLETE".into(), 10)
        ]
    );
    assert_eq!(history["data"][2]["average_price"].to_string(), "100.16");

    let (_, trades) = h.get("/trades").await;
    let trades = trades["data"].as_array().unwrap().clone();
    assert_eq!(trades.len(), 2);
    assert_eq!(trades[0]["trade_id"], first_trade.as_str());
    assert_eq!(trades[0]["average_price"].to_string(), "100.1");
    assert_eq!(
        (trades[1]["quantity"].clone(), trades[1]["order_id"].clone()),
        (json!(6), json!(id))
    );
    let (_, own) = h.get(&format!("/orders/{id}/trades")).await;
    assert_eq!(own["data"].as_array().unwrap().len(), 2);
    let other = h.place(&limit_order("ap2")).await;
    let (_, none) = h.get(&format!("/orders/{other}/trades")).await;
    assert_eq!(none["data"], json!([]));
}

#[actix::test]
#[should_panic(expected = "cannot fill 11")]
async fn overfilling_panics_the_test() {
    let h = Harness::start().await;
    let id = h.place(&limit_order("ap1")).await;
    h.kite.fill(&id, 11, dec("1"));
}

#[actix::test]
async fn cancel_by_rest_and_by_script() {
    let h = Harness::start().await;
    let id = h.place(&limit_order("ap1")).await;
    h.kite.fill(&id, 3, dec("1500"));
    let reply = Harness::send(h.request(Method::DELETE, &format!("/orders/regular/{id}"))).await;
    assert_eq!(
        reply,
        (200, json!({"status": "success", "data": {"order_id": id}}))
    );
    let order = h.kite.order(&id).unwrap();
    assert_eq!(
        (order.status.as_str(), order.filled_quantity),
        ("CANCELLED", 3)
    );
    let (_, orders) = h.get("/orders").await;
    assert_eq!(orders["data"][0]["cancelled_quantity"], 7);

    let again = Harness::send(h.request(Method::DELETE, &format!("/orders/regular/{id}"))).await;
    assert_error(&again, 400, "OrderException");
    let unknown = Harness::send(h.request(Method::DELETE, "/orders/regular/999")).await;
    assert_error(&unknown, 400, "InputException");

    let scripted = h.place(&limit_order("ap2")).await;
    h.kite.cancel(&scripted);
    let order = h.kite.order(&scripted).unwrap();
    assert_eq!(order.status_message.as_deref(), Some("Cancelled by user"));
}

#[actix::test]
async fn scripted_rejections_and_server_errors() {
    let h = Harness::start().await;
    h.kite.script_next_placement(Placement::Reject {
        status: 400,
        error_type: "OrderException".into(),
        message: "Insufficient funds".into(),
    });
    h.kite
        .script_next_placement(Placement::ServerError { status: 500 });
    h.kite
        .script_next_placement(Placement::ServerErrorAfterCreate { status: 503 });
    h.kite.script_next_placement(Placement::AcceptAndReject {
        message: "RMS:Margin Exceeds".into(),
    });
    h.kite.script_next_placement(Placement::AcceptAndFill {
        price: dec("1499.95"),
    });

    let rejected = h.post("/orders/regular", &limit_order("ap1")).await;
    assert_error(&rejected, 400, "OrderException");
    assert_eq!(rejected.1["message"], "Insufficient funds");
    assert_error(
        &h.post("/orders/regular", &limit_order("ap2")).await,
        500,
        "GeneralException",
    );
    assert_eq!(h.kite.placements(), 0);

    assert_error(
        &h.post("/orders/regular", &limit_order("ap3")).await,
        503,
        "NetworkException",
    );
    assert_eq!(h.kite.order_by_tag("ap3").unwrap().status, "OPEN");

    let id = h.place(&limit_order("ap4")).await;
    let order = h.kite.order(&id).unwrap();
    assert_eq!(
        (order.status.as_str(), order.status_message.as_deref()),
        ("REJECTED", Some("RMS:Margin Exceeds"))
    );

    let id = h.place(&limit_order("ap5")).await;
    let order = h.kite.order(&id).unwrap();
    assert_eq!(
        (order.status.as_str(), order.average_price),
        ("COMPLETE", dec("1499.95"))
    );
    // The queue is empty again: plain acceptance.
    let id = h.place(&limit_order("ap6")).await;
    assert_eq!(h.kite.order(&id).unwrap().status, "OPEN");
    assert_eq!(h.kite.placements(), 4);
}

#[actix::test]
async fn rate_limited_requests_answer_429_and_have_no_effect() {
    let h = Harness::start().await;
    h.kite.rate_limit_next(2);
    let post = h.post("/orders/regular", &limit_order("ap1")).await;
    assert_error(&post, 429, "NetworkException");
    assert_eq!(post.1["message"], "Too many requests");
    assert_error(&h.get("/orders").await, 429, "NetworkException");
    assert!(h.kite.orders().is_empty());
    h.place(&limit_order("ap1")).await;
    let statuses: Vec<_> = h.kite.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
}

#[actix::test]
async fn an_expired_token_is_refused_until_a_new_one_is_set() {
    let h = Harness::start().await;
    let old = auth(&h.kite);
    h.kite.expire_token();
    let expired = h.get("/orders").await;
    assert_error(&expired, 403, "TokenException");
    assert_eq!(
        expired.1["message"],
        "Incorrect `api_key` or `access_token`."
    );
    assert_error(
        &h.post("/orders/regular", &limit_order("ap1")).await,
        403,
        "TokenException",
    );
    assert!(h.kite.orders().is_empty());

    h.kite.set_access_token("fake_access_token_renewed");
    assert_eq!(h.get("/orders").await.0, 200);
    let url = format!("{}/orders", h.kite.base_url());
    let stale = Harness::send(
        h.http
            .get(url)
            .header("X-Kite-Version", "3")
            .header("Authorization", old),
    )
    .await;
    assert_error(&stale, 403, "TokenException");
}

#[actix::test]
async fn session_token_with_a_good_checksum_opens_a_new_session() {
    let h = Harness::start().await;
    h.kite.register_request_token("req_token_1");
    let checksum = session_checksum("fake_api_key", "req_token_1", "fake_api_secret");
    assert_eq!(checksum.len(), 64);
    let form = [
        ("api_key", "fake_api_key"),
        ("request_token", "req_token_1"),
        ("checksum", checksum.as_str()),
    ];
    let session = |h: &Harness| {
        h.http
            .post(format!("{}/session/token", h.kite.base_url()))
            .header("X-Kite-Version", "3")
            .form(&form)
    };
    let (status, body) = Harness::send(session(&h)).await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["access_token"].as_str().unwrap().to_owned();
    assert_ne!(token, FakeKiteConfig::default().access_token);
    assert_eq!(body["data"]["user_id"], FAKE_USER_ID);
    assert_eq!(h.kite.access_token(), token);
    assert_eq!(h.get("/orders").await.0, 200);
    // Request tokens are single use.
    assert_error(&Harness::send(session(&h)).await, 403, "TokenException");
}

#[actix::test]
async fn session_token_with_a_bad_checksum_or_unknown_request_token_is_refused() {
    let h = Harness::start().await;
    h.kite.register_request_token("req_token_1");
    let good = session_checksum("fake_api_key", "req_token_1", "fake_api_secret");
    let unknown = session_checksum("fake_api_key", "req_token_2", "fake_api_secret");
    let cases = [
        ("req_token_1", "0".repeat(64)),
        ("req_token_1", good.to_uppercase()),
        ("req_token_2", unknown),
    ];
    for (request_token, checksum) in cases {
        let request = h
            .http
            .post(format!("{}/session/token", h.kite.base_url()))
            .header("X-Kite-Version", "3")
            .form(&[
                ("api_key", "fake_api_key"),
                ("request_token", request_token),
                ("checksum", &checksum),
            ]);
        let reply = Harness::send(request).await;
        assert_error(&reply, 403, "TokenException");
        assert_eq!(reply.1["message"], "Token is invalid or has expired.");
    }
    let missing = h
        .http
        .post(format!("{}/session/token", h.kite.base_url()))
        .header("X-Kite-Version", "3")
        .form(&[
            ("api_key", "fake_api_key"),
            ("request_token", "req_token_1"),
        ]);
    let reply = Harness::send(missing).await;
    assert_error(&reply, 400, "InputException");
    assert_eq!(reply.1["message"], "Missing `checksum`");
    assert_eq!(
        h.kite.access_token(),
        FakeKiteConfig::default().access_token
    );
}

#[actix::test]
async fn a_delayed_placement_shows_in_get_orders_before_it_answers() {
    let h = Harness::start().await;
    h.kite
        .script_next_placement(Placement::AcceptThenDelay(Duration::from_millis(500)));
    let pending = tokio::spawn(Harness::send(
        h.request(Method::POST, "/orders/regular")
            .form(&limit_order("ap1")),
    ));
    tokio::time::timeout(WAIT, h.kite.wait_for_orders(1))
        .await
        .unwrap();
    let (status, orders) = h.get("/orders").await;
    assert_eq!(status, 200);
    assert_eq!(orders["data"][0]["tag"], "ap1");
    let (status, body) = pending.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["data"]["order_id"], orders["data"][0]["order_id"]);
}

#[actix::test]
async fn a_client_that_times_out_leaves_the_order_at_kite() {
    let h = Harness::start().await;
    h.kite
        .script_next_placement(Placement::AcceptThenDelay(Duration::from_secs(60)));
    let result = h
        .request(Method::POST, "/orders/regular")
        .form(&limit_order("ap1"))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(result.unwrap_err().is_timeout());
    assert_eq!(h.kite.order_by_tag("ap1").unwrap().status, "OPEN");
    h.kite.stop().await;
}

#[actix::test]
async fn failing_gets_answer_5xx_then_recover() {
    let h = Harness::start().await;
    h.kite.fail_next_gets(2, 503);
    h.place(&limit_order("ap1")).await;
    assert_error(&h.get("/orders").await, 503, "NetworkException");
    assert_error(&h.get("/trades").await, 503, "NetworkException");
    assert_eq!(h.get("/orders").await.0, 200);
}

#[actix::test]
async fn order_updates_and_history_follow_scripted_statuses() {
    let h = Harness::start().await;
    let id = h.place(&limit_order("ap7")).await;
    h.kite.set_status(&id, "TRIGGER PENDING");
    h.kite.fill(&id, 4, dec("1500.05"));
    let frame = h.kite.order_update_json(&id);
    assert_eq!(frame["type"], "order");
    assert_eq!(frame["data"]["unfilled_quantity"], 6);
    assert_eq!(frame["data"]["checksum"], "");
    assert_eq!(frame["data"]["user_id"], FAKE_USER_ID);
    let ServerText::Order(update) = ServerText::parse(&frame.to_string()).unwrap() else {
        panic!("not an order frame");
    };
    assert_eq!(
        (update.order_id(), update.tag()),
        (Some(id.as_str()), Some("ap7"))
    );
    assert_eq!(update.status(), Some("TRIGGER PENDING"));

    let (_, history) = h.get(&format!("/orders/{id}")).await;
    let statuses: Vec<_> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [
            json!("OPEN"),
            json!("TRIGGER PENDING"),
            json!("TRIGGER PENDING")
        ]
    );
    assert_error(
        &h.get("/orders/151220000099999").await,
        400,
        "InputException",
    );
}
