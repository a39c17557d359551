//! Tests of the fake's request checks and placements, and the shared test harness (a fake
//! plus a `reqwest` client that sends Kite's headers); scripted behaviours are in
//! `tests_scripted`.

use super::form::{MARKET_PROTECTION_REQUIRED, decode_form, validate_order};
use super::*;
use reqwest::Method;
use std::str::FromStr;

pub(super) const WAIT: Duration = Duration::from_secs(10);

pub(super) fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub(super) fn auth(kite: &FakeKite) -> String {
    format!("token fake_api_key:{}", kite.access_token())
}

/// A fake plus a client that sends Kite's headers.
pub(super) struct Harness {
    pub(super) kite: FakeKite,
    pub(super) http: reqwest::Client,
}

impl Harness {
    pub(super) async fn start() -> Harness {
        Harness {
            kite: FakeKite::start(FakeKiteConfig::default()).await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    pub(super) fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.kite.base_url()))
            .header("X-Kite-Version", "3")
            .header("Authorization", auth(&self.kite))
    }

    pub(super) async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub(super) async fn get(&self, path: &str) -> (u16, Value) {
        Self::send(self.request(Method::GET, path)).await
    }

    pub(super) async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        Self::send(self.request(Method::POST, path).form(form)).await
    }

    pub(super) async fn place(&self, form: &[(&str, &str)]) -> String {
        let (status, body) = self.post("/orders/regular", form).await;
        assert_eq!(status, 200, "{body}");
        body["data"]["order_id"].as_str().unwrap().to_owned()
    }
}

pub(super) fn limit_order(tag: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("exchange", "NSE"),
        ("tradingsymbol", "INFY"),
        ("transaction_type", "BUY"),
        ("quantity", "10"),
        ("product", "MIS"),
        ("order_type", "LIMIT"),
        ("price", "1500.05"),
        ("validity", "DAY"),
        ("tag", tag),
    ]
}

pub(super) fn with(
    form: &[(&'static str, &'static str)],
    key: &'static str,
    value: &'static str,
) -> Vec<(&'static str, &'static str)> {
    let mut form = without(form, key);
    form.push((key, value));
    form
}

pub(super) fn without(
    form: &[(&'static str, &'static str)],
    key: &str,
) -> Vec<(&'static str, &'static str)> {
    form.iter().copied().filter(|(k, _)| *k != key).collect()
}

pub(super) fn assert_error(reply: &(u16, Value), status: u16, error_type: &str) {
    assert_eq!(reply.0, status, "{}", reply.1);
    assert_eq!(reply.1["status"], "error");
    assert_eq!(reply.1["error_type"], error_type, "{}", reply.1);
    assert_eq!(reply.1["data"], Value::Null);
}

#[actix::test]
async fn rejects_requests_without_the_kite_version_header() {
    let h = Harness::start().await;
    let url = format!("{}/orders", h.kite.base_url());
    let missing = Harness::send(h.http.get(&url).header("Authorization", auth(&h.kite))).await;
    assert_error(&missing, 400, "InputException");
    let wrong = Harness::send(
        h.http
            .get(&url)
            .header("Authorization", auth(&h.kite))
            .header("X-Kite-Version", "2"),
    )
    .await;
    assert_error(&wrong, 400, "InputException");
    assert!(h.kite.requests().iter().all(|r| r.status == 400));
}

#[actix::test]
async fn rejects_missing_or_wrong_authorization_with_token_exception() {
    let h = Harness::start().await;
    let url = format!("{}/orders", h.kite.base_url());
    let missing = Harness::send(h.http.get(&url).header("X-Kite-Version", "3")).await;
    assert_error(&missing, 403, "TokenException");
    assert_eq!(
        missing.1["message"],
        "Incorrect `api_key` or `access_token`."
    );
    let wrong = Harness::send(
        h.http
            .get(&url)
            .header("X-Kite-Version", "3")
            .header("Authorization", "token fake_api_key:nope"),
    )
    .await;
    assert_error(&wrong, 403, "TokenException");
    let seen: Vec<_> = h
        .kite
        .requests()
        .into_iter()
        .map(|r| (r.authorization, r.status))
        .collect();
    assert_eq!(
        seen,
        [
            (None, 403),
            (Some("token fake_api_key:nope".to_owned()), 403)
        ]
    );
}

#[actix::test]
async fn unknown_routes_answer_404_with_the_error_envelope() {
    let h = Harness::start().await;
    assert_error(&h.get("/nowhere").await, 404, "GeneralException");
    let put = Harness::send(h.request(Method::PUT, "/orders").form(&[("a", "b")])).await;
    assert_error(&put, 404, "GeneralException");
}

#[actix::test]
async fn rejects_malformed_form_bodies_and_creates_nothing() {
    let h = Harness::start().await;
    let json = h
        .request(Method::POST, "/orders/regular")
        .header("Content-Type", "application/json")
        .body(r#"{"exchange":"NSE"}"#);
    assert_error(&Harness::send(json).await, 400, "InputException");
    for body in [
        &b"exchange=NSE&tradingsymbol=%ZZ"[..],
        &b"tradingsymbol=\xff"[..],
        &b"tag=%FF"[..],
    ] {
        let request = h
            .request(Method::POST, "/orders/regular")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_vec());
        assert_error(&Harness::send(request).await, 400, "InputException");
    }
    assert_eq!(h.kite.placements(), 0);
    assert!(h.kite.orders().is_empty());
}

/// Path, form, expected message.
type FieldCase = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
);

#[actix::test]
async fn order_fields_are_validated_naming_the_field() {
    let h = Harness::start().await;
    // 24 order requests in a burst: this test is about the field checks, not the rate.
    h.kite.set_order_rate_limits(OrderRateLimits {
        per_second: 100,
        per_minute: 1000,
    });
    let good = limit_order("ap1");
    let cases: Vec<FieldCase> = vec![
        (
            "/orders/regular",
            without(&good, "tradingsymbol"),
            "Missing `tradingsymbol`",
        ),
        (
            "/orders/regular",
            with(&good, "tradingsymbol", ""),
            "Missing `tradingsymbol`",
        ),
        (
            "/orders/regular",
            with(&good, "quantity", "0"),
            "Invalid `quantity`.",
        ),
        (
            "/orders/regular",
            with(&good, "quantity", "1.5"),
            "Invalid `quantity`.",
        ),
        (
            "/orders/regular",
            with(&good, "quantity", "-3"),
            "Invalid `quantity`.",
        ),
        (
            "/orders/regular",
            with(&good, "exchange", "NYSE"),
            "Invalid `exchange`.",
        ),
        (
            "/orders/regular",
            with(&good, "transaction_type", "HOLD"),
            "Invalid `transaction_type`.",
        ),
        (
            "/orders/regular",
            with(&good, "product", "XYZ"),
            "Invalid `product`.",
        ),
        (
            "/orders/regular",
            with(&good, "validity", "GTC"),
            "Invalid `validity`.",
        ),
        (
            "/orders/regular",
            without(&good, "price"),
            "Missing `price`",
        ),
        (
            "/orders/regular",
            with(&good, "price", "0"),
            "Invalid `price`.",
        ),
        (
            "/orders/regular",
            with(&good, "order_type", "SL"),
            "Missing `trigger_price`",
        ),
        (
            "/orders/regular",
            with(&good, "order_type", "SL-M"),
            "Missing `trigger_price`",
        ),
        (
            "/orders/regular",
            with(&good, "tag", "a23456789012345678901"),
            "Invalid `tag`.",
        ),
        (
            "/orders/regular",
            with(&good, "tag", "ap-1"),
            "Invalid `tag`.",
        ),
        ("/orders/weird", good.clone(), "Invalid `variety`."),
        // Since April 2026: API market orders need market protection (-1 or 1..=100).
        (
            "/orders/regular",
            without(&with(&good, "order_type", "MARKET"), "price"),
            MARKET_PROTECTION_REQUIRED,
        ),
        (
            "/orders/regular",
            with(
                &without(&with(&good, "order_type", "MARKET"), "price"),
                "market_protection",
                "0",
            ),
            MARKET_PROTECTION_REQUIRED,
        ),
        (
            "/orders/regular",
            with(
                &with(&with(&good, "order_type", "SL-M"), "trigger_price", "1490"),
                "market_protection",
                "0",
            ),
            MARKET_PROTECTION_REQUIRED,
        ),
        (
            "/orders/regular",
            with(
                &without(&with(&good, "order_type", "MARKET"), "price"),
                "market_protection",
                "101",
            ),
            "Invalid `market_protection`.",
        ),
    ];
    for (path, form, message) in cases {
        let reply = h.post(path, &form).await;
        assert_error(&reply, 400, "InputException");
        assert_eq!(reply.1["message"], message, "{form:?}");
    }
    assert_eq!(h.kite.placements(), 0);
    // The boundaries that are fine.
    h.place(&with(&good, "tag", "a2345678901234567890")).await;
    let market = without(&with(&good, "order_type", "MARKET"), "price");
    h.place(&with(&market, "market_protection", "-1")).await;
    h.place(&with(&market, "market_protection", "100")).await;
    h.place(&with(
        &with(&with(&good, "order_type", "SL-M"), "trigger_price", "1490"),
        "market_protection",
        "5",
    ))
    .await;
    assert_eq!(h.kite.placements(), 4);
}

#[actix::test]
async fn a_placement_round_trips_through_get_orders_with_its_tag() {
    let h = Harness::start().await;
    let first = h.place(&limit_order("ap0123456789abcdef01")).await;
    let second = h.place(&limit_order("ap2")).await;
    assert_eq!(first.len(), 15);
    assert!(first.bytes().all(|b| b.is_ascii_digit()));
    assert!(second.parse::<u64>().unwrap() > first.parse::<u64>().unwrap());

    let (status, body) = h.get("/orders").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "success");
    let order = &body["data"][0];
    assert_eq!(order["order_id"], first.as_str());
    assert_eq!(order["status"], "OPEN");
    assert_eq!(order["tag"], "ap0123456789abcdef01");
    assert_eq!(order["tags"], json!(["ap0123456789abcdef01"]));
    assert_eq!(order["quantity"], 10);
    assert_eq!(order["pending_quantity"], 10);
    assert_eq!(order["variety"], "regular");
    assert_eq!(order["price"].to_string(), "1500.05");
    assert_eq!(body["data"].as_array().unwrap().len(), 2);

    let fake = h.kite.order_by_tag("ap0123456789abcdef01").unwrap();
    assert_eq!(
        (fake.order_id.as_str(), fake.price),
        (first.as_str(), dec("1500.05"))
    );
    assert_eq!(fake.form[0], ("exchange".to_owned(), "NSE".to_owned()));
    let posts: Vec<_> = h
        .kite
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].path, "/orders/regular");
    assert_eq!(
        posts[0].authorization.as_deref(),
        Some(auth(&h.kite).as_str())
    );
    assert!(
        posts[0]
            .form
            .contains(&("tag".to_owned(), "ap0123456789abcdef01".to_owned()))
    );
}

#[tokio::test]
async fn also_runs_on_a_plain_tokio_runtime() {
    let h = Harness::start().await;
    h.place(&limit_order("ap1")).await;
    assert_eq!(h.get("/orders").await.1["data"][0]["tag"], "ap1");
    h.kite.stop().await;
}

#[test]
fn form_decoding_is_strict() {
    let ok = decode_form(b"a=b+c&d=%41%e2%82%b9&&e").unwrap();
    let expected =
        [("a", "b c"), ("d", "A₹"), ("e", "")].map(|(k, v)| (k.to_owned(), v.to_owned()));
    assert_eq!(ok, expected);
    for bad in [&b"a=%4"[..], b"a=%zz", b"a=%ff", b"\xff=1"] {
        assert!(decode_form(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn ttl_validity_needs_a_positive_validity_ttl() {
    let form = |extra: &[(&str, &str)]| {
        let mut form: Vec<(String, String)> = with(&limit_order("ap1"), "validity", "TTL")
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        form.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        form
    };
    assert_eq!(
        validate_order("regular", &form(&[])).err().unwrap(),
        "Missing `validity_ttl`"
    );
    assert_eq!(
        validate_order("regular", &form(&[("validity_ttl", "0")]))
            .err()
            .unwrap(),
        "Invalid `validity_ttl`."
    );
    assert_eq!(
        validate_order("regular", &form(&[("validity_ttl", "5")]))
            .unwrap()
            .validity_ttl,
        Some(5)
    );
}
