//! The service workers under the `services` supervisor, each built only when this process
//! runs it (and, for execution, when its broker is enabled).

use super::{ServiceSet, Services};
use crate::actors::paper_execution::{self, PaperExecution, PaperExecutionArgs};
use crate::actors::portfolio_manager::{self, PortfolioArgs, PortfolioManager};
use crate::actors::risk_manager::{self, RiskManager, SetTradingState, TradingHolds};
use crate::actors::strategy_runner::{self, StrategyRunner, StrategySlot};
use crate::actors::supervisor::SupervisorSpec;
use crate::actors::zerodha_execution::{self, ZerodhaExecution, ZerodhaExecutionArgs};
use crate::kite::rest::KiteClient;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::Broker;
use crate::settings::Settings;
use crate::store::Store;
use crate::streaming::{KafkaConnection, ProducerHandle};
use actix::Recipient;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// What the services are built from.
pub(super) struct Inputs<'a> {
    pub settings: &'a Settings,
    pub connection: &'a KafkaConnection,
    pub registry: &'a InstrumentRegistry,
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
        true => Some(runner(spec, settings, parts.registry, producer)?),
        false => None,
    };
    let risk_manager = runs(risk_manager::SERVICE).then(|| {
        let limits: BTreeMap<Broker, _> = brokers
            .iter()
            .map(|b| (*b, settings.risk.limits(*b).clone()))
            .collect();
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
            let args = PaperExecutionArgs {
                config: settings.paper.clone(),
                producer: producer.clone(),
                store: parts.store.clone(),
                calendar: settings.market_hours.calendar(),
            };
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
        let args = PortfolioArgs {
            producer: producer.clone(),
            store: parts.store.clone(),
            starting_cash: settings.portfolio.starting_cash,
            snapshot_interval: settings.portfolio.snapshot_interval(),
            history: Some((parts.connection.clone(), brokers.clone())),
            flush_timer: true,
        };
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

/// Refuses a selection that names an execution service whose broker is not enabled (it
/// would silently run nothing).
pub(super) fn check_selection(settings: &Settings, selected: &ServiceSet) -> Result<(), String> {
    for (service, broker) in [
        (paper_execution::SERVICE, Broker::Paper),
        (zerodha_execution::SERVICE, Broker::Zerodha),
    ] {
        if selected.names(service) && !settings.brokers.enabled.contains(&broker) {
            return Err(format!(
                "--services names {service}, but brokers.enabled does not have {broker}"
            ));
        }
    }
    Ok(())
}

fn runner(
    spec: &mut SupervisorSpec,
    settings: &Settings,
    registry: &InstrumentRegistry,
    producer: &ProducerHandle,
) -> Result<actix::Addr<StrategyRunner>, String> {
    let slots = strategy_slots(settings, registry)?;
    let producer = producer.clone();
    Ok(spec.worker(strategy_runner::SERVICE, move || {
        let slots = slots.iter().map(|f| f()).collect::<Result<Vec<_>, _>>()?;
        Ok(StrategyRunner::new(slots, producer.clone()))
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

/// One factory per enabled strategy (a restart builds fresh strategy state).
pub(crate) fn strategy_slots(
    settings: &Settings,
    registry: &InstrumentRegistry,
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
        let brokers: Vec<Broker> = config
            .brokers
            .iter()
            .copied()
            .filter(|b| settings.brokers.enabled.contains(b))
            .collect();
        // Fail at start-up, not at the first restart.
        crate::strategy::try_build(id, &config.params).map_err(|e| e.to_string())?;
        let (id, params) = (id.clone(), config.params.clone());
        out.push(Box::new(move || {
            Ok(StrategySlot {
                id: id.clone(),
                brokers: brokers.clone(),
                tokens: tokens.clone(),
                strategy: crate::strategy::try_build(&id, &params).map_err(|e| e.to_string())?,
            })
        }));
    }
    Ok(out)
}
