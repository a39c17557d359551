//! Tests of the strict order windows over HTTP. The burst tests use the real clock and
//! assume a burst of sequential local requests arrives within 1 s; they measure the burst
//! and fail naming that premise if it did not. The rest use a manual clock.

use super::tests::{Harness, assert_error, auth, limit_order};
use super::*;
use reqwest::Method;

async fn cancel(h: &Harness, order_id: &str) -> (u16, Value) {
    Harness::send(h.request(Method::DELETE, &format!("/orders/regular/{order_id}"))).await
}

/// Statuses of the recorded requests, in order.
fn statuses(kite: &FakeKite) -> Vec<u16> {
    kite.requests().iter().map(|r| r.status).collect()
}

#[actix::test]
async fn the_eleventh_order_request_in_a_burst_answers_429_and_has_no_effect() {
    let h = Harness::start().await;
    let start = std::time::Instant::now();
    let mut replies = Vec::new();
    for _ in 0..11 {
        replies.push(h.post("/orders/regular", &limit_order("ap1")).await);
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "premise failed: the burst took {took:?}, not under 1 s"
    );
    assert!(replies[..10].iter().all(|(status, _)| *status == 200));
    assert_error(&replies[10], 429, "NetworkException");
    assert_eq!(replies[10].1["message"], TOO_MANY_REQUESTS);
    assert_eq!(h.kite.placements(), 10);
    assert_eq!(h.kite.orders().len(), 10);
    assert_eq!(h.kite.rate_violations(), 1);
    // Reads are not order requests.
    assert_eq!(h.get("/orders").await.0, 200);
    assert_eq!(h.kite.rate_violations(), 1);
}

#[actix::test]
async fn modify_and_cancel_count_with_placements() {
    let h = Harness::start().await;
    let clock = h.kite.use_manual_clock();
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(h.place(&limit_order("ap1")).await);
    }
    for id in &ids[..3] {
        let path = format!("/orders/regular/{id}");
        let reply = Harness::send(h.request(Method::PUT, &path).form(&[("quantity", "20")])).await;
        assert_eq!(reply.0, 200, "{}", reply.1);
    }
    for id in &ids[..3] {
        assert_eq!(cancel(&h, id).await.0, 200);
    }
    let refused = cancel(&h, &ids[3]).await;
    assert_error(&refused, 429, "NetworkException");
    assert_eq!(h.kite.order(&ids[3]).unwrap().status, "OPEN");
    assert_eq!(h.kite.rate_violations(), 1);
    clock.advance(Duration::from_secs(1));
    assert_eq!(cancel(&h, &ids[3]).await.0, 200);
    assert_eq!(h.kite.order(&ids[3]).unwrap().status, "CANCELLED");
}

#[actix::test]
async fn at_most_two_hundred_order_requests_in_any_minute() {
    let h = Harness::start().await;
    let clock = h.kite.use_manual_clock();
    // Cancels of an unknown order: refused by the endpoint (400), counted by the windows.
    for _ in 0..20 {
        for _ in 0..10 {
            assert_eq!(cancel(&h, "1").await.0, 400);
        }
        clock.advance(Duration::from_secs(1));
    }
    // 59.999 s after the first ten.
    clock.advance(Duration::from_secs(40) - Duration::from_millis(1));
    assert_error(&cancel(&h, "1").await, 429, "NetworkException");
    clock.advance(Duration::from_millis(1));
    // 60 s after the first ten: their room is free again.
    for _ in 0..10 {
        assert_eq!(cancel(&h, "1").await.0, 400);
    }
    assert_error(&cancel(&h, "1").await, 429, "NetworkException");
    assert_eq!(h.kite.rate_violations(), 2);
    let counts = statuses(&h.kite).iter().fold([0; 2], |mut c, s| {
        c[usize::from(*s == 429)] += 1;
        c
    });
    assert_eq!(counts, [210, 2]);
}

#[actix::test]
async fn scripted_and_refused_requests_are_not_counted() {
    let h = Harness::start().await;
    let _clock = h.kite.use_manual_clock();
    h.kite.rate_limit_next(3);
    for _ in 0..3 {
        assert_error(
            &h.post("/orders/regular", &limit_order("ap1")).await,
            429,
            "NetworkException",
        );
    }
    // Not authorised: refused before the windows.
    for _ in 0..5 {
        let request = h
            .http
            .post(format!("{}/orders/regular", h.kite.base_url()))
            .header("X-Kite-Version", "3")
            .header("Authorization", "token fake_api_key:nope")
            .form(&limit_order("ap1"));
        assert_error(&Harness::send(request).await, 403, "TokenException");
    }
    assert_eq!(h.kite.rate_violations(), 0);
    for _ in 0..10 {
        h.place(&limit_order("ap1")).await;
    }
    assert_error(
        &h.post("/orders/regular", &limit_order("ap1")).await,
        429,
        "NetworkException",
    );
    assert_eq!(h.kite.rate_violations(), 1);
    assert_eq!(
        statuses(&h.kite),
        [vec![429; 3], vec![403; 5], vec![200; 10], vec![429]].concat()
    );
    assert!(auth(&h.kite).starts_with("token fake_api_key:"));
}

#[actix::test]
async fn the_limits_can_be_raised() {
    let h = Harness::start().await;
    let _clock = h.kite.use_manual_clock();
    h.kite.set_order_rate_limits(OrderRateLimits {
        per_second: 20,
        per_minute: 400,
    });
    for _ in 0..20 {
        h.place(&limit_order("ap1")).await;
    }
    assert_error(
        &h.post("/orders/regular", &limit_order("ap1")).await,
        429,
        "NetworkException",
    );
    assert_eq!(h.kite.rate_violations(), 1);
}
