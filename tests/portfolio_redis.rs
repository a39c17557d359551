//! The portfolio read model in a real Redis equals the live portfolio.

mod common;

use actix::prelude::*;
use alpha_panda::actors::portfolio_manager::{
    GetPortfolio, PortfolioArgs, PortfolioManager, portfolio_index, portfolio_key,
};
use alpha_panda::messages::{Broker, Envelope, Fees, OrderFilled, OrderRef, RecordOrigin, Side};
use alpha_panda::portfolio::Portfolio;
use alpha_panda::store::{RedisStore, Store};
use alpha_panda::streaming::ProducerHandle;
use alpha_panda::streaming::consumer::Deliver;
use alpha_panda::streaming::producer::Publish;
use alpha_panda::testkit::Probe;
use rust_decimal::Decimal;
use std::sync::Arc;
use std::time::Duration;

fn fill(strategy: &str, id: &str, side: Side, quantity: u32, price: i64) -> Deliver<OrderFilled> {
    let f = OrderFilled {
        order: OrderRef {
            client_order_id: format!("ap-{id}"),
            broker_order_id: None,
            strategy_id: strategy.into(),
            broker: Broker::Paper,
            token: 408_065,
            symbol: "INFY".into(),
            side,
        },
        fill_id: id.into(),
        quantity,
        price: Decimal::from(price),
        fees: Fees::default(),
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: chrono::Utc::now(),
    };
    Deliver {
        envelope: Envelope::root(f, "paper_execution", chrono::Utc::now()),
        origin: RecordOrigin {
            topic: "paper.orders.filled".into(),
            partition: 0,
            offset: 0,
        },
    }
}

#[actix::test]
async fn the_redis_read_model_equals_the_live_portfolio() {
    let Some(url) = common::redis_url() else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(
        RedisStore::connect(&url, Duration::from_secs(2), Duration::from_secs(2))
            .await
            .unwrap(),
    );
    let producer = Probe::<Publish>::acking_producer();
    let pm = PortfolioManager::new(PortfolioArgs {
        producer: ProducerHandle::new(producer.recipient()),
        store: store.clone(),
        starting_cash: Decimal::from(50_000),
        snapshot_interval: Duration::from_secs(60),
        history: None,
        flush_timer: true,
    })
    .start();
    // A strategy id no other run uses, so the shared Redis holds only this test's portfolio.
    let strategy = format!("redis_{}", uuid::Uuid::new_v4().simple());
    // Like the consumer: a record is complete once its outputs (the Redis write, the
    // snapshot) have completed.
    for f in [
        fill(&strategy, "1", Side::Buy, 10, 1500),
        fill(&strategy, "2", Side::Sell, 15, 1510),
    ] {
        let completion = pm.send(f).await.unwrap().unwrap();
        futures::future::try_join_all(completion.deliveries)
            .await
            .unwrap();
    }
    let live = pm
        .send(GetPortfolio {
            broker: Broker::Paper,
            strategy: strategy.clone(),
        })
        .await
        .unwrap()
        .unwrap();
    let key = portfolio_key(Broker::Paper, &strategy);
    let json = store.get(&key).await.unwrap().expect("read model written");
    // The read model is the portfolio with a fill count in place of the fill ids.
    let model: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(model["fill_count"], live.fill_count());
    assert_eq!(json, serde_json::to_string(&live.read_model()).unwrap());
    let stored: Portfolio = serde_json::from_str(&json).unwrap();
    assert_eq!(
        stored.realized_pnl(),
        Decimal::from(100),
        "10 × (1510 − 1500)"
    );
    assert!(
        store
            .members(&portfolio_index(Broker::Paper))
            .await
            .unwrap()
            .contains(&key)
    );
}
