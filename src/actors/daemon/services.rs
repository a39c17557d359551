//! How each service of the [catalog](super::catalog) is built from the settings and the
//! shared [`Wiring`], on a [`Host`] (its supervisor in the daemon, the arbiter in the
//! backtest), and the arguments each is built with.

use super::wiring::{Built, Host, Wiring};
use super::{Services, routes};
use crate::actors::paper_execution::{self, PaperExecution, PaperExecutionArgs};
use crate::actors::portfolio_manager::{self, PortfolioArgs, PortfolioManager};
use crate::actors::risk_manager::{self, RiskManager, SetTradingState};
use crate::actors::strategy_runner::{self, RunnerArgs, StrategyRunner, StrategySlot};
use crate::actors::zerodha_execution::{self, ZerodhaExecution, ZerodhaExecutionArgs};
use crate::kite::rest::KiteClient;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::Broker;
use crate::settings::Settings;
use crate::store::Store;
use crate::strategy::StrategyRegistry;
use crate::streaming::{KafkaConnection, ProducerHandle};
use crate::telemetry::metrics;
use actix::Recipient;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// The strategy runner: one strategy instance per (strategy, broker); ticks through its
/// consumer, its orders' outcomes through its own tail (in-process in the backtest).
///
/// # Errors
/// A strategy names an unknown instrument, or its kind or parameters are refused.
pub(super) fn strategy_runner(
    w: &mut Wiring<'_>,
    host: &mut Host<'_>,
    services: &mut Services,
) -> Result<Built, String> {
    let slots = strategy_slots(w.settings, w.registry, w.strategies)?;
    let (settings, producer, history) = (w.settings.clone(), w.producer.clone(), w.history.clone());
    let intraday = runner_intraday(w.settings, history.is_some());
    // What strategies subscribe at runtime is resolved here.
    let instruments = Arc::new(w.registry.clone());
    let addr = host.spawn(strategy_runner::SERVICE, move || {
        let slots = slots.iter().map(|f| f()).collect::<Result<Vec<_>, _>>()?;
        let args = runner_args(&settings, slots, &producer, history.clone());
        Ok(StrategyRunner::new(args)
            .with_intraday(intraday.clone())
            .with_instruments(instruments.clone()))
    })?;
    services.strategy_runner = Some(addr.clone());
    let (ticks, outcomes, brokers) = (addr.clone(), addr, w.brokers.clone());
    Ok(Built {
        consumer: None,
        in_process: Some(Box::new(move || {
            strategy_runner::outcome_routes(&outcomes, &brokers)
        })),
        ticks: Some(ticks.recipient()),
    })
}

/// The risk manager: every broker's limits, sharing the holds other services set, rebuilt
/// from the topics at start when there is a history.
pub(super) fn risk_manager(
    w: &mut Wiring<'_>,
    host: &mut Host<'_>,
    services: &mut Services,
) -> Result<Built, String> {
    let limits = risk_limits(w.settings, &w.brokers);
    for broker in &w.brokers {
        metrics::risk_started(*broker);
    }
    let market = risk_market_rules(w.settings, w.registry, &w.brokers);
    let (producer, store, holds) = (w.producer.clone(), w.store.clone(), w.holds.clone());
    let history = w.history.clone();
    let addr = host.spawn(risk_manager::SERVICE, move || {
        Ok(
            RiskManager::new(limits.clone(), producer.clone(), store.clone())
                .with_market(market.clone())
                .with_holds(holds.clone())
                .with_history(history.clone()),
        )
    })?;
    services.risk_manager = Some(addr.clone());
    let brokers = w.brokers.clone();
    let ticks = Some(addr.clone().recipient());
    Ok(Built {
        consumer: Some(Box::new(move || routes::risk_manager(&addr, &brokers))),
        in_process: None,
        ticks,
    })
}

/// The paper venue (rebuilding its accounts from its fills when there is a history), with
/// the broker's auto square-off of the intraday day.
pub(super) fn paper_execution(
    w: &mut Wiring<'_>,
    host: &mut Host<'_>,
    services: &mut Services,
) -> Result<Built, String> {
    let args = paper_args(w.settings, &w.producer, &w.store, w.history.clone());
    metrics::venue_started(Broker::Paper);
    let intraday = w.settings.market_hours.intraday_day();
    // The daemon (with a history) stamps ticks with the wall clock and may see none at
    // 15:20: its wall clock advances the venue too. The backtest lives in event time.
    let wall_clock = w
        .history
        .is_some()
        .then_some(paper_execution::WALL_CLOCK_SWEEP);
    let registry = w.registry.clone();
    let market_hours = w.settings.market_hours.enforce;
    let fno = w.settings.fno.clone();
    let addr = host.spawn(paper_execution::SERVICE, move || {
        Ok(PaperExecution::new(args.clone())
            .with_intraday(intraday.clone())
            .with_wall_clock(wall_clock)
            .with_instruments(&registry)
            .with_derivatives(&registry, |name| fno.underlying_key(name))
            .with_market_hours(market_hours))
    })?;
    services.paper_execution = Some(addr.clone());
    let ticks = Some(addr.clone().recipient());
    Ok(Built {
        consumer: Some(Box::new(move || routes::paper_execution(&addr))),
        in_process: None,
        ticks,
    })
}

/// Live execution on Kite: holds zerodha HALTED until its start-up reconciliation, and
/// pulls the risk manager's kill switch on a token error when both run here.
///
/// # Errors
/// No Kite client was given.
pub(super) fn zerodha_execution(
    w: &mut Wiring<'_>,
    host: &mut Host<'_>,
    services: &mut Services,
) -> Result<Built, String> {
    let client = w
        .kite
        .take()
        .ok_or("brokers.enabled has zerodha but no Kite client was given")?;
    let kill_switch = services
        .risk_manager
        .as_ref()
        .map(|r| r.clone().recipient());
    let args = zerodha_args(w, client, kill_switch);
    metrics::venue_started(Broker::Zerodha);
    zerodha_execution::hold_until_reconciled(&w.holds);
    let addr = host.spawn(zerodha_execution::SERVICE, move || {
        Ok(ZerodhaExecution::new(args.clone()))
    })?;
    services.zerodha_execution = Some(addr.clone());
    Ok(Built {
        consumer: Some(Box::new(move || routes::zerodha_execution(&addr))),
        in_process: None,
        ticks: None,
    })
}

/// The portfolios (rebuilt from the fills topics when there is a history).
pub(super) fn portfolio_manager(
    w: &mut Wiring<'_>,
    host: &mut Host<'_>,
    services: &mut Services,
) -> Result<Built, String> {
    let history = w.history.clone().map(|c| (c, w.brokers.clone()));
    let args = portfolio_args(w.settings, &w.producer, &w.store, history);
    let addr = host.spawn(portfolio_manager::SERVICE, move || {
        Ok(PortfolioManager::new(args.clone()))
    })?;
    services.portfolio_manager = Some(addr.clone());
    let brokers = w.brokers.clone();
    let ticks = Some(addr.clone().recipient());
    Ok(Built {
        consumer: Some(Box::new(move || routes::portfolio_manager(&addr, &brokers))),
        in_process: None,
        ticks,
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

/// The market's rules for each broker in `brokers`: the registry's tick and lot sizes,
/// `[fno]`'s freeze quantities, slices and underlying prices, and the MIS entry cutoff of
/// `market_hours` (none with `intraday = false`) for the product each venue places an
/// order as: paper the signal's own, else `paper.product`; Zerodha the signal's own, else
/// its strategy's, else `zerodha.product`.
pub(crate) fn risk_market_rules(
    settings: &Settings,
    registry: &InstrumentRegistry,
    brokers: &[Broker],
) -> BTreeMap<Broker, crate::risk::MarketRules> {
    use crate::risk::{MarketRules, ProductRule};
    let base = MarketRules::new(registry).with_fno(risk_fno_rules(settings, registry));
    let products = |broker| match broker {
        Broker::Paper => ProductRule::PerStrategy {
            by_strategy: std::collections::BTreeMap::new(),
            default: settings.paper.product,
        },
        Broker::Zerodha => ProductRule::PerStrategy {
            by_strategy: settings
                .strategies
                .keys()
                .map(|id| (id.clone(), settings.order_kind(id).0))
                .collect(),
            default: settings.zerodha.product,
        },
    };
    brokers
        .iter()
        .map(|b| {
            let day = settings.market_hours.intraday_day();
            (*b, base.clone().with_entry_cutoff(day, products(*b)))
        })
        .collect()
}

/// `[fno]` as risk's rules: the freeze quantities and slices as set, and the token of
/// each underlying's price instrument (`fno.underlyings`, else `NSE:<name>`) for every
/// underlying of the registry's futures and options; one the registry does not list has
/// no price (its options' notional is then counted at their strike).
fn risk_fno_rules(settings: &Settings, registry: &InstrumentRegistry) -> crate::risk::FnoRules {
    let fno = &settings.fno;
    let underlying_tokens = registry
        .iter()
        .filter(|i| i.kind.is_derivative())
        .map(|i| i.name.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter_map(|name| {
            let token = registry.by_symbol(&fno.underlying_key(name))?.token;
            Some((name.to_owned(), token))
        })
        .collect();
    crate::risk::FnoRules::new(
        fno.freeze_quantities.clone(),
        fno.max_slices,
        underlying_tokens,
    )
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

/// How the strategy runner follows the intraday day: `market_hours`' deadlines; each
/// slot's product as its venue places it (paper: `paper.product`; zerodha: the strategy's
/// configured product, `Settings::order_kind`); the ticks' time, plus a wall-clock timer
/// when `wall_clock` (the daemon, which has a history; the backtest has none).
pub(crate) fn runner_intraday(
    settings: &Settings,
    wall_clock: bool,
) -> strategy_runner::IntradayArgs {
    use strategy_runner::{IntradayArgs, RunnerClock};
    let paper = settings.paper.product;
    let products = settings
        .strategies
        .keys()
        .flat_map(|id| {
            [
                ((id.clone(), Broker::Paper), paper),
                ((id.clone(), Broker::Zerodha), settings.order_kind(id).0),
            ]
        })
        .collect();
    IntradayArgs {
        day: settings.market_hours.intraday_day(),
        products,
        clock: if wall_clock {
            RunnerClock::wall()
        } else {
            RunnerClock::Ticks
        },
    }
}

/// Zerodha execution's arguments from the settings.
fn zerodha_args(
    w: &Wiring<'_>,
    client: KiteClient,
    kill_switch: Option<Recipient<SetTradingState>>,
) -> ZerodhaExecutionArgs {
    let settings = w.settings;
    let z = &settings.zerodha;
    ZerodhaExecutionArgs {
        client,
        dry_run: z.dry_run,
        registry: Arc::new(w.registry.clone()),
        order_kinds: settings
            .strategies
            .keys()
            .map(|id| (id.clone(), settings.order_kind(id)))
            .collect(),
        default_kind: (z.product, z.variety),
        market_protection: z.market_protection,
        limit_buffers: settings
            .strategies
            .iter()
            .filter_map(|(id, c)| Some((id.clone(), c.limit_buffer_pct?)))
            .collect(),
        charges: settings.paper.charges.clone(),
        fno: settings.fno.clone(),
        producer: w.producer.clone(),
        store: w.store.clone(),
        holds: w.holds.clone(),
        kill_switch,
        poll_interval: z.poll_interval(),
        settle: z.settle(),
        max_signal_age: z.max_signal_age(),
        order_timeout: z.order_timeout(),
        reconcile_interval: z.reconcile_interval(),
        reconcile_retry_initial: z.poll_interval(),
        reconcile_retry_max: Duration::from_secs(30),
    }
}

pub(crate) type SlotFactory = Box<dyn Fn() -> Result<StrategySlot, String> + Send>;

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
        // An index (NIFTY 50) has a price but cannot be bought or sold.
        if config.brokers.contains(&Broker::Paper)
            && let Some((key, message)) =
                crate::paper::index_problems(id, &config.instruments, registry)
                    .into_iter()
                    .next()
        {
            return Err(format!("{key}: {message}"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_prices_each_underlying_of_the_registry_by_its_configured_instrument() {
        let settings =
            Settings::load_from(None, &std::collections::HashMap::new()).expect("defaults load");
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("date");
        let registry = InstrumentRegistry::embedded_on(day).expect("embedded registry");
        let token = |key: &str| registry.by_symbol(key).expect(key).token;
        let expected = crate::risk::FnoRules::new(
            settings.fno.freeze_quantities.clone(),
            settings.fno.max_slices,
            BTreeMap::from([
                ("BANKNIFTY".to_owned(), token("NSE:NIFTY BANK")),
                ("NIFTY".to_owned(), token("NSE:NIFTY 50")),
            ]),
        );
        assert_eq!(risk_fno_rules(&settings, &registry), expected);
    }
}
