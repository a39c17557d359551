//! The in-process door: an envelope delivered without encoding passes the same payload
//! checks as a decoded record.

use super::*;
use crate::messages::MarketTick;
use crate::testkit::Probe;
use rust_decimal::Decimal;

const TOPIC: &str = "market.ticks";

fn origin(offset: i64) -> RecordOrigin {
    RecordOrigin {
        topic: TOPIC.into(),
        partition: 0,
        offset,
    }
}

fn envelope(price: Decimal) -> Envelope<MarketTick> {
    Envelope::root(MarketTick::ltp(256_265, price), "test", chrono::Utc::now())
}

#[actix::test]
async fn an_invalid_envelope_delivered_in_process_is_refused_as_permanent_and_never_sent() {
    let mut owner = Probe::<Deliver<MarketTick>>::handling();
    let routes = Routes::new().route_name(TOPIC, owner.recipient());

    let invalid = envelope(Decimal::new(-10_000, 2));
    let answer = routes
        .deliver_envelope(&invalid, origin(0))
        .expect("a route")
        .expect("the route's type")
        .await;
    assert_eq!(
        answer.map(|_| ()),
        Err(HandlerError::Permanent(
            "invalid `market_tick`: last_price: -100.00 is not above zero (0 means no trade \
             yet: no price to act on)"
                .into()
        ))
    );

    let valid = envelope(Decimal::new(10_000, 2));
    let answer = routes
        .deliver_envelope(&valid, origin(1))
        .expect("a route")
        .expect("the route's type")
        .await;
    assert!(answer.is_ok());
    // The mailbox is in order: had the invalid one been sent, it would come first.
    let got = owner.expect_msg(std::time::Duration::from_secs(5)).await;
    assert_eq!(got.origin.offset, 1);
    assert!(owner.drain().is_empty());
}
