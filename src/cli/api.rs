//! Starting the HTTP API for `run`: the context it reads from (the supervision board, the
//! store, the event hub, the risk manager's kill switch, the strategy runner, the symbols
//! of the strategies' instruments, the metrics registry).

use crate::actors::daemon::{EventHubParts, Health, Services};
use crate::actors::event_hub::{self, SharedOrders};
use crate::api::{ApiContext, ApiEvent, ApiServer, RunnerLink, StrategyInfo};
use crate::market::instruments::InstrumentRegistry;
use crate::settings::Settings;
use crate::store::Store;
use crate::supervision::Board;
use anyhow::Context as _;
use futures::FutureExt;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Events buffered per SSE subscriber before it counts as lagging.
const EVENT_BUFFER: usize = 1024;

/// What the API and the event hub share, made before the tree is built.
pub(super) struct ApiWiring {
    events: broadcast::Sender<ApiEvent>,
    orders: SharedOrders,
}

impl ApiWiring {
    pub(super) fn new() -> ApiWiring {
        ApiWiring {
            events: broadcast::channel(EVENT_BUFFER).0,
            orders: SharedOrders::default(),
        }
    }

    /// The event hub's part of the tree.
    pub(super) fn hub(&self, settings: &Settings) -> EventHubParts {
        EventHubParts {
            events: self.events.clone(),
            orders: self.orders.clone(),
            instance_id: settings.service.instance_id.clone(),
        }
    }

    /// Serves the API on `api.listen`.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub(super) async fn serve(
        self,
        settings: &Settings,
        registry: &InstrumentRegistry,
        services: &Services,
        health: &Health,
        board: Board,
        store: Arc<dyn Store>,
    ) -> anyhow::Result<ApiServer> {
        let orders = self.orders;
        let tree_board = board.clone();
        let context = ApiContext {
            brokers: settings.brokers.enabled.clone(),
            store: store.clone(),
            strategies: StrategyInfo::from_settings(&settings.strategies),
            control_token: settings.api.control_token.clone(),
            kill_switch: services
                .risk_manager
                .as_ref()
                .map(|r| r.clone().recipient()),
            flatten: services
                .risk_manager
                .as_ref()
                .map(|r| r.clone().recipient()),
            risk_view: services
                .risk_manager
                .as_ref()
                .map(|r| r.clone().recipient()),
            strategy_runner: services.strategy_runner.as_ref().map(RunnerLink::of),
            symbols: strategy_symbols(settings, registry),
            tree: Arc::new(move || tree_board.snapshot()),
            readiness: {
                let health = health.clone();
                let stale_after = settings.feed.stale_after();
                let max_lag = settings.kafka.ready_max_lag;
                Arc::new(move || {
                    super::readiness::checks(
                        board.clone(),
                        store.clone(),
                        health.clone(),
                        stale_after,
                        max_lag,
                    )
                    .boxed()
                })
            },
            metrics: Arc::new(crate::telemetry::metrics::render),
            events: self.events,
            orders: Arc::new(move |broker, limit| {
                event_hub::list_orders(&orders, broker, limit)
                    .into_iter()
                    .filter_map(|o| serde_json::to_value(o).ok())
                    .collect()
            }),
        };
        let listen = settings.api.listen;
        let server = crate::api::serve(listen, context)
            .await
            .with_context(|| format!("serving the HTTP API on {listen}"))?;
        tracing::info!(addr = %server.addr, "HTTP API listening");
        Ok(server)
    }
}

/// Token → symbol of every instrument a configured strategy names, so the strategies' live
/// views show symbols.
fn strategy_symbols(settings: &Settings, registry: &InstrumentRegistry) -> HashMap<u32, String> {
    settings
        .strategies
        .values()
        .flat_map(|config| &config.instruments)
        .filter_map(|symbol| registry.by_symbol(symbol))
        .map(|instrument| (instrument.token, instrument.symbol.clone()))
        .collect()
}
