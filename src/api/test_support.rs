//! The fixture of the API tests: an [`ApiContext`] over a memory store holding real
//! `Portfolio` JSON, a request helper over the real app (`init_service`), and a store that
//! is down.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use actix::Recipient;
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test::{self, TestRequest};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::*;
use crate::messages::{Fees, OrderFilled, OrderRef, Side};
use crate::portfolio::Portfolio;
use crate::store::MemoryStore;
use crate::supervision::{ActorInfo, ActorKind, ActorState};

pub(super) const TOKEN: &str = "ctl-token-4242";

pub(super) const RELIANCE: u32 = 738_561;

pub(super) const INFY: u32 = 408_065;

/// Calls to the `orders` closure: `(broker, limit)`.
type OrderCalls = Arc<Mutex<Vec<(Option<Broker>, usize)>>>;

/// The pieces of an [`ApiContext`], adjustable per test.
pub(super) struct Fixture {
    pub store: Arc<dyn Store>,
    pub brokers: Vec<Broker>,
    pub control_token: String,
    pub kill_switch: Option<Recipient<SetTradingState>>,
    pub flatten: Option<Recipient<crate::actors::risk_manager::Flatten>>,
    pub risk_view: Option<Recipient<crate::actors::risk_manager::GetRiskView>>,
    /// The configured strategies (`momentum_1` on paper, trading RELIANCE).
    pub strategies: Vec<StrategyInfo>,
    pub strategy_runner: Option<RunnerLink>,
    pub checks: Vec<ReadinessCheck>,
    pub events: broadcast::Sender<ApiEvent>,
    pub order_calls: OrderCalls,
}

impl Fixture {
    /// Paper enabled; two paper portfolios (one with a fill) and one zerodha portfolio in
    /// the store; every check ready; the control token set; no kill switch; one configured
    /// strategy and no strategy runner.
    pub async fn new() -> Fixture {
        let store = MemoryStore::default();
        let mut traded = Portfolio::new(Broker::Paper, "momentum_1", Decimal::from(100_000));
        traded.apply_fill(&fill("f-1", "momentum_1")).unwrap();
        for portfolio in [
            traded,
            Portfolio::new(Broker::Paper, "ema_cross_1", Decimal::from(50_000)),
            Portfolio::new(Broker::Zerodha, "momentum_1", Decimal::from(10_000)),
        ] {
            let (broker, id) = (portfolio.broker(), portfolio.strategy_id().to_owned());
            let text = serde_json::to_string(&portfolio).unwrap();
            let key = format!("{broker}:portfolio:{id}");
            store
                .put(&format!("{broker}:portfolios"), &key, text)
                .await
                .unwrap();
        }
        Fixture {
            store: Arc::new(store),
            brokers: vec![Broker::Paper],
            control_token: TOKEN.to_owned(),
            kill_switch: None,
            flatten: None,
            risk_view: None,
            strategies: vec![strategy()],
            strategy_runner: None,
            checks: vec![ReadinessCheck::ready("store", "memory")],
            events: broadcast::channel(16).0,
            order_calls: OrderCalls::default(),
        }
    }

    pub fn context(&self) -> ApiContext {
        let checks = self.checks.clone();
        let calls = Arc::clone(&self.order_calls);
        ApiContext {
            brokers: self.brokers.clone(),
            store: Arc::clone(&self.store),
            strategies: self.strategies.clone(),
            control_token: Secret::new(self.control_token.clone()),
            kill_switch: self.kill_switch.clone(),
            flatten: self.flatten.clone(),
            risk_view: self.risk_view.clone(),
            strategy_runner: self.strategy_runner.clone(),
            symbols: HashMap::from([(RELIANCE, "RELIANCE".to_owned()), (INFY, "INFY".to_owned())]),
            tree: Arc::new(tree),
            readiness: Arc::new(move || {
                let checks = checks.clone();
                Box::pin(async move { checks })
            }),
            metrics: Arc::new(|| "# TYPE ticks_total counter\nticks_total 7\n".to_owned()),
            events: self.events.clone(),
            orders: Arc::new(move |broker, limit| {
                calls.lock().unwrap().push((broker, limit));
                vec![json!({ "client_order_id": "co-1", "state": "FILLED" })]
            }),
        }
    }
}

/// What a request got back.
pub(super) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> &str {
        let value = self.headers.get(name);
        value
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }

    /// The `error` of a JSON error body.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap().to_owned()
    }
}

/// Sends `req` to a fresh app over `context`.
pub(super) async fn call(context: ApiContext, req: TestRequest) -> Answer {
    let app = test::init_service(app(ApiState::new(context))).await;
    let response = test::call_service(&app, req.to_request()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let body = test::read_body(response).await.to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

fn fill(fill_id: &str, strategy_id: &str) -> OrderFilled {
    let price = Decimal::from_str("2500.50").unwrap();
    let fees = Decimal::from_str("20.00").unwrap();
    OrderFilled {
        order: OrderRef {
            client_order_id: format!("co-{fill_id}"),
            broker_order_id: Some(format!("bo-{fill_id}")),
            strategy_id: strategy_id.to_owned(),
            broker: Broker::Paper,
            token: RELIANCE,
            symbol: "RELIANCE".to_owned(),
            side: Side::Buy,
        },
        fill_id: fill_id.to_owned(),
        quantity: 10,
        price,
        fees: Fees {
            brokerage: fees,
            total: fees,
            ..Fees::default()
        },
        cumulative_quantity: 10,
        order_quantity: 10,
        filled_at: DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap(),
    }
}

pub(super) fn strategy() -> StrategyInfo {
    StrategyInfo {
        id: "momentum_1".to_owned(),
        kind: "momentum".to_owned(),
        enabled: true,
        brokers: vec![Broker::Paper],
        instruments: vec!["RELIANCE".to_owned()],
    }
}

pub(super) fn tree() -> Tree {
    Tree {
        actors: vec![ActorInfo {
            name: "root".to_owned(),
            parent: None,
            kind: ActorKind::Supervisor,
            state: ActorState::Running,
            restarts_in_window: 0,
            restarts_total: 0,
            last_failure: None,
        }],
        restarts: BTreeMap::new(),
    }
}
