//! The service workers under the `services` supervisor, each built only when this process
//! runs it (and, for execution, when its broker is enabled).

use super::{ServiceSet, Services};
use crate::actors::paper_execution::{self, PaperExecution, PaperExecutionArgs};
use crate::actors::portfolio_manager::{self, PortfolioArgs, PortfolioManager};
use crate::actors::risk_manager::{self, RiskManager, SetTradingState, TradingHolds};
use crate::actors::strategy_runner::{self, RunnerArgs, StrategyRunner, StrategySlot};
use crate::actors::zerodha_execution::{self, ZerodhaExecution, ZerodhaExecutionArgs};
use crate::kite::rest::KiteClient;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::Broker;
use crate::settings::Settings;
use crate::store::Store;
use crate::strategy::StrategyRegistry;
use crate::streaming::{KafkaConnection, ProducerHandle};
use crate::supervision::SupervisorSpec;
use actix::Recipient;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// What the services are built from.
pub(super) struct Inputs<'a> {
    pub settings: &'a Settings,
    pub connection: &'a KafkaConnection,
    pub registry: &'a InstrumentRegistry,
    pub strategies: &'a StrategyRegistry,
    pub store: Arc<dyn Store>,
    pub kite: Option<KiteClient>,
    pub selected: &'a ServiceSet,
}

/// Registers every selected service with `spec`; returns their addresses.
///
/// # Errors
/// A strategy names an unknown instrument or has invalid parameters; zerodha is enabled
/// and selected but no Kite client was given.
pub(super) fn register(
    spec: &mut SupervisorSpec,
    mut parts: Inputs<'_>,
    producer: &ProducerHandle,
    holds: &TradingHolds,
) -> Result<Services, String> {
    let settings = parts.settings;
    let selected = parts.selected;
    let brokers = &settings.brokers.enabled;
    let runs = |service: &str| selected.runs(service);
    let strategy_runner = match runs(strategy_runner::SERVICE) {
        true => Some(runner(spec, &parts, producer)?),
        false => None,
    };
    let risk_manager = runs(risk_manager::SERVICE).then(|| {
        let limits = risk_limits(settings, brokers);
        let (producer, store, holds) = (producer.clone(), parts.store.clone(), holds.clone());
        spec.worker(risk_manager::SERVICE, move || {
            Ok(
                RiskManager::new(limits.clone(), producer.clone(), store.clone())
                    .with_holds(holds.clone()),
            )
        })
    });
    let paper_execution = (brokers.contains(&Broker::Paper) && runs(paper_execution::SERVICE))
        .then(|| {
            let args = paper_args(
                settings,
                producer,
                &parts.store,
                Some(parts.connection.clone()),
            );
            spec.worker(paper_execution::SERVICE, move || {
                Ok(PaperExecution::new(args.clone()))
            })
        });
    let zerodha_execution =
        if brokers.contains(&Broker::Zerodha) && runs(zerodha_execution::SERVICE) {
            let client = parts
                .kite
                .take()
                .ok_or("brokers.enabled has zerodha but no Kite client was given")?;
            let kill_switch = risk_manager.as_ref().map(|r| r.clone().recipient());
            let args = zerodha_args(&parts, client, producer, holds, kill_switch);
            zerodha_execution::hold_until_reconciled(holds);
            Some(spec.worker(zerodha_execution::SERVICE, move || {
                Ok(ZerodhaExecution::new(args.clone()))
            }))
        } else {
            None
        };
    let portfolio_manager = runs(portfolio_manager::SERVICE).then(|| {
        let history = Some((parts.connection.clone(), brokers.clone()));
        let args = portfolio_args(settings, producer, &parts.store, history);
        spec.worker(portfolio_manager::SERVICE, move || {
            Ok(PortfolioManager::new(args.clone()))
        })
    });
    Ok(Services {
        strategy_runner,
        risk_manager,
        paper_execution,
        zerodha_execution,
        portfolio_manager,
    })
}

/// The risk limits of each broker in `brokers`.
pub(crate) fn risk_limits(
    settings: &Settings,
    brokers: &[Broker],
) -> BTreeMap<Broker, crate::risk::RiskLimits> {
    brokers
        .iter()
        .map(|b| (*b, settings.risk.limits(*b).clone()))
        .collect()
}

/// The paper venue's arguments: with `history`, it rebuilds its accounts from its fills
/// topic at start (the daemon).
pub(crate) fn paper_args(
    settings: &Settings,
    producer: &ProducerHandle,
    store: &Arc<dyn Store>,
    history: Option<KafkaConnection>,
) -> PaperExecutionArgs {
    PaperExecutionArgs {
        config: settings.paper.clone(),
        producer: producer.clone(),
        store: store.clone(),
        calendar: settings.market_hours.calendar(),
        history,
    }
}

/// The portfolio manager's arguments: with `history`, it rebuilds from the fills topics
/// and flushes throttled snapshots on a wall-clock timer (the daemon); without, it starts
/// empty and lives in event time (the backtest).
pub(crate) fn portfolio_args(
    settings: &Settings,
    producer: &ProducerHandle,
    store: &Arc<dyn Store>,
    history: Option<(KafkaConnection, Vec<Broker>)>,
) -> PortfolioArgs {
    PortfolioArgs {
        producer: producer.clone(),
        store: store.clone(),
        starting_cash: settings.portfolio.starting_cash,
        snapshot_interval: settings.portfolio.snapshot_interval(),
        flush_timer: history.is_some(),
        history,
    }
}

/// The strategy runner's arguments: with `history`, it rebuilds its ledgers from the
/// order topics and tails them (the daemon); without, outcomes arrive as messages.
pub(crate) fn runner_args(
    settings: &Settings,
    slots: Vec<StrategySlot>,
    producer: &ProducerHandle,
    history: Option<KafkaConnection>,
) -> RunnerArgs {
    RunnerArgs {
        slots,
        producer: producer.clone(),
        history,
        // Past Zerodha's own age limit twice over: by then no venue will act on it.
        unanswered_after: settings.zerodha.max_signal_age() * 2,
    }
}

/// Refuses a selection that names an execution service whose broker is not enabled (it
/// would silently run nothing).
pub(super) fn check_selection(settings: &Settings, selected: &ServiceSet) -> Result<(), String> {
    for def in super::catalog::CATALOG {
        let (service, Some(broker)) = (def.name, def.venue) else {
            continue;
        };
        if selected.names(service) && !def.enabled(settings) {
            return Err(format!(
                "--services names {service}, but brokers.enabled does not have {broker}"
            ));
        }
    }
    Ok(())
}

fn runner(
    spec: &mut SupervisorSpec,
    parts: &Inputs<'_>,
    producer: &ProducerHandle,
) -> Result<actix::Addr<StrategyRunner>, String> {
    let (settings, connection) = (parts.settings, parts.connection);
    let slots = strategy_slots(settings, parts.registry, parts.strategies)?;
    let (settings, producer, connection) = (settings.clone(), producer.clone(), connection.clone());
    Ok(spec.worker(strategy_runner::SERVICE, move || {
        let slots = slots.iter().map(|f| f()).collect::<Result<Vec<_>, _>>()?;
        let args = runner_args(&settings, slots, &producer, Some(connection.clone()));
        Ok(StrategyRunner::new(args))
    }))
}

/// Zerodha execution's arguments from the settings.
fn zerodha_args(
    parts: &Inputs<'_>,
    client: KiteClient,
    producer: &ProducerHandle,
    holds: &TradingHolds,
    kill_switch: Option<Recipient<SetTradingState>>,
) -> ZerodhaExecutionArgs {
    let settings = parts.settings;
    let z = &settings.zerodha;
    ZerodhaExecutionArgs {
        client,
        dry_run: z.dry_run,
        registry: Arc::new(parts.registry.clone()),
        order_kinds: settings
            .strategies
            .keys()
            .map(|id| (id.clone(), settings.order_kind(id)))
            .collect(),
        default_kind: (z.product, z.variety),
        market_protection: z.market_protection,
        charges: settings.paper.charges.clone(),
        producer: producer.clone(),
        store: parts.store.clone(),
        holds: holds.clone(),
        kill_switch,
        poll_interval: z.poll_interval(),
        settle: z.settle(),
        max_signal_age: z.max_signal_age(),
        reconcile_retry_initial: z.poll_interval(),
        reconcile_retry_max: Duration::from_secs(30),
    }
}

pub(crate) type SlotFactory = Box<dyn Fn() -> Result<StrategySlot, String>>;

/// One factory per enabled strategy and broker it trades on (paper and zerodha never
/// share a strategy's state); a restart builds fresh strategy state.
///
/// # Errors
/// A strategy names an instrument the registry does not know, or its kind or parameters
/// are refused by the strategy registry.
pub(crate) fn strategy_slots(
    settings: &Settings,
    registry: &InstrumentRegistry,
    strategies: &StrategyRegistry,
) -> Result<Vec<SlotFactory>, String> {
    let mut out: Vec<SlotFactory> = Vec::new();
    for (id, config) in settings.strategies.iter().filter(|(_, c)| c.enabled) {
        let mut tokens = Vec::new();
        for symbol in &config.instruments {
            let instrument = registry.by_symbol(symbol).ok_or_else(|| {
                format!("strategies.{id}.instruments: unknown instrument `{symbol}`")
            })?;
            tokens.push(instrument.token);
        }
        // Fail at start-up, not at the first restart.
        strategies
            .build(&config.params)
            .map_err(|e| format!("strategies.{id}.params: {e}"))?;
        for broker in config
            .brokers
            .iter()
            .copied()
            .filter(|b| settings.brokers.enabled.contains(b))
        {
            let (id, params, tokens) = (id.clone(), config.params.clone(), tokens.clone());
            let strategies = strategies.clone();
            out.push(Box::new(move || {
                Ok(StrategySlot {
                    id: id.clone(),
                    broker,
                    tokens: tokens.clone(),
                    strategy: strategies
                        .build(&params)
                        .map_err(|e| format!("strategies.{id}.params: {e}"))?,
                })
            }));
        }
    }
    Ok(out)
}
