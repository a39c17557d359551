//! The tick consumer's fan-out: one decode, every owner once, and a retry that reaches only
//! the owners that have not handled the record.

use super::fan_out::Owner;
use super::routing::Routes;
use super::{Completion, Deliver, HandlerError, HandlerResult};
use crate::messages::{Envelope, MarketTick, RecordOrigin, encode};
use crate::streaming::Topic;
use actix::prelude::*;
use rust_decimal::Decimal;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Answers each delivery with the next scripted result, and records the offsets it saw.
struct Owner1 {
    script: VecDeque<Result<(), HandlerError>>,
    seen: Arc<Mutex<Vec<i64>>>,
}

impl Actor for Owner1 {
    type Context = Context<Self>;
}

impl Handler<Deliver<MarketTick>> for Owner1 {
    type Result = HandlerResult;
    fn handle(&mut self, d: Deliver<MarketTick>, _ctx: &mut Self::Context) -> HandlerResult {
        self.seen.lock().unwrap().push(d.origin.offset);
        self.script
            .pop_front()
            .unwrap_or(Ok(()))
            .map(|()| Completion::done())
    }
}

fn owner(
    name: &'static str,
    script: Vec<Result<(), HandlerError>>,
) -> (Owner<MarketTick>, Arc<Mutex<Vec<i64>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let addr = Owner1 {
        script: script.into(),
        seen: seen.clone(),
    }
    .start();
    ((name, addr.recipient()), seen)
}

fn record(offset: i64) -> (Vec<u8>, RecordOrigin) {
    let tick = MarketTick::ltp(256_265, Decimal::new(10_000, 2));
    let bytes = encode(&Envelope::root(tick, "test", chrono::Utc::now()));
    let origin = RecordOrigin {
        topic: Topic::MARKET_TICKS.name(),
        partition: 0,
        offset,
    };
    (bytes, origin)
}

#[actix::test]
async fn each_owner_gets_the_record_once_when_all_handle_it() {
    let (a, seen_a) = owner("a", vec![]);
    let (b, seen_b) = owner("b", vec![]);
    let routes = Routes::new().fan_out(Topic::MARKET_TICKS, vec![a, b]);
    let (bytes, origin) = record(7);
    let dispatch = routes.decode(&bytes, origin).unwrap().unwrap();
    assert!(dispatch.send().await.is_ok());
    assert_eq!(*seen_a.lock().unwrap(), vec![7]);
    assert_eq!(*seen_b.lock().unwrap(), vec![7]);
}

#[actix::test]
async fn a_retry_reaches_only_the_owner_that_failed_and_the_worst_error_decides() {
    let transient = HandlerError::Transient("store slow".into());
    let unavailable = HandlerError::Unavailable("redis down".into());
    let (ok, seen_ok) = owner("strategy_runner", vec![]);
    let (flaky, seen_flaky) = owner("portfolio_manager", vec![Err(transient.clone())]);
    let (down, seen_down) = owner("paper_execution", vec![Err(unavailable), Ok(())]);
    let routes = Routes::new().fan_out(Topic::MARKET_TICKS, vec![ok, flaky, down]);
    let (bytes, origin) = record(3);
    let dispatch = routes.decode(&bytes, origin).unwrap().unwrap();

    let first = dispatch.send().await.map(|_| ());
    assert_eq!(
        first,
        Err(HandlerError::Unavailable(
            "paper_execution: redis down".into()
        )),
        "a dependency down outranks a transient failure"
    );
    let second = dispatch.send().await;
    assert!(second.is_ok(), "{:?}", second.map(|_| ()));

    assert_eq!(
        *seen_ok.lock().unwrap(),
        vec![3],
        "handled once, never again"
    );
    assert_eq!(*seen_flaky.lock().unwrap(), vec![3, 3]);
    assert_eq!(*seen_down.lock().unwrap(), vec![3, 3]);
    let third = dispatch.send().await;
    assert!(third.is_ok());
    assert_eq!(
        *seen_flaky.lock().unwrap(),
        vec![3, 3],
        "once every owner handled it, nothing is sent"
    );
}

#[actix::test]
async fn no_owner_means_no_route() {
    let routes = Routes::new().fan_out::<MarketTick>(Topic::MARKET_TICKS, vec![]);
    assert!(routes.is_empty());
}
