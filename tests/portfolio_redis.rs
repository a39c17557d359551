//! The portfolio read model in a real Redis equals the live portfolio, and holds the
//! trading day's figures.

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
    fill_at(
        strategy,
        id,
        (side, quantity, price),
        "0",
        chrono::Utc::now(),
    )
}

/// A fill of `(side, quantity, price)` with `fees` (all brokerage), filled and sent at `at`.
fn fill_at(
    strategy: &str,
    id: &str,
    (side, quantity, price): (Side, u32, i64),
    fees: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Deliver<OrderFilled> {
    let fees: Decimal = fees.parse().unwrap();
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
        fees: Fees {
            brokerage: fees,
            total: fees,
            ..Fees::default()
        },
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: at,
    };
    Deliver {
        envelope: Envelope::root(f, "paper_execution", at),
        origin: RecordOrigin {
            topic: "paper.orders.filled".into(),
            partition: 0,
            offset: 0,
        },
    }
}

async fn redis_and_portfolio_manager() -> Option<(Arc<dyn Store>, Addr<PortfolioManager>)> {
    let url = common::redis_url()?;
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
    Some((store, pm))
}

/// Sends `fills` in order, each complete with its outputs (the Redis write, the snapshot)
/// before the next, like the consumer.
async fn book(pm: &Addr<PortfolioManager>, fills: Vec<Deliver<OrderFilled>>) {
    for f in fills {
        let completion = pm.send(f).await.unwrap().unwrap();
        futures::future::try_join_all(completion.deliveries)
            .await
            .unwrap();
    }
}

#[actix::test]
async fn the_redis_read_model_equals_the_live_portfolio() {
    let Some((store, pm)) = redis_and_portfolio_manager().await else {
        return;
    };
    // A strategy id no other run uses, so the shared Redis holds only this test's portfolio.
    let strategy = format!("redis_{}", uuid::Uuid::new_v4().simple());
    book(
        &pm,
        vec![
            fill(&strategy, "1", Side::Buy, 10, 1500),
            fill(&strategy, "2", Side::Sell, 15, 1510),
        ],
    )
    .await;
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

#[actix::test]
async fn the_redis_read_model_holds_todays_figures_without_yesterdays() {
    let Some((store, pm)) = redis_and_portfolio_manager().await else {
        return;
    };
    let strategy = format!("redis_day_{}", uuid::Uuid::new_v4().simple());
    let at = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    #[rustfmt::skip]
    let fills = [
        // 2026-11-25 IST: a round trip (realized 3 × 5 = 15, charges 3) and 4 bought @ 1490.
        ("a", (Side::Buy, 3, 1480), "1.5", "2026-11-25T04:00:00Z"),
        ("b", (Side::Sell, 3, 1485), "1.5", "2026-11-25T05:00:00Z"),
        ("c", (Side::Buy, 4, 1490), "1", "2026-11-25T06:00:00Z"),
        // 2026-11-26 IST (the first at 00:10 IST, still the 25th in UTC): the 4 sold @ 1500.
        ("d", (Side::Sell, 4, 1500), "2", "2026-11-25T18:40:00Z"),
        ("e", (Side::Buy, 2, 1510), "0.25", "2026-11-26T04:00:00Z"),
    ];
    book(
        &pm,
        fills
            .iter()
            .map(|(id, trade, fees, when)| fill_at(&strategy, id, *trade, fees, at(when)))
            .collect(),
    )
    .await;
    // Expected from the fills by hand: today is the IST date of the latest fill; today's
    // fills are d and e; d closes the 4 carried in at 1490.
    let json = store
        .get(&portfolio_key(Broker::Paper, &strategy))
        .await
        .unwrap()
        .expect("read model written");
    let model: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        model["day"],
        serde_json::json!({
            "date": "2026-11-26",
            "realized_pnl": "40",        // (1500 − 1490) × 4; yesterday's 15 left out
            "unrealized_pnl": "0",       // 2 long, unmarked
            "charges": "2.25",           // 2 + 0.25; yesterday's 4 left out
            "turnover": "9020",          // 4 × 1500 + 2 × 1510
            "fill_count": 2,
            "carried": [{"token": 408_065, "symbol": "INFY", "quantity": 4, "average_price": "1490"}],
        }),
        "{model}"
    );
    let live = pm
        .send(GetPortfolio {
            broker: Broker::Paper,
            strategy: strategy.clone(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(json, serde_json::to_string(&live.read_model()).unwrap());
    assert_eq!(
        live.realized_pnl(),
        Decimal::from(55),
        "every day's: 15 + 40"
    );
}
