//! The catalog: every service a process can run, declared once — its name, where it sits
//! in supervision, the broker it serves (an execution venue), whether the backtest runs it,
//! and how it is built from the settings and the shared
//! [`Wiring`](super::wiring::Wiring) ([`ServiceDef::build`]: the actor, its address for
//! the API, and its routing tables). `run`, `run --services`, `backtest`, `bench`, the
//! `[supervision.actors]` name check and the command line's help all read it.
//!
//! A service is built on a [`Host`](super::wiring::Host): under its supervisor in the
//! daemon, or started directly on the current arbiter in the backtest; the same build
//! function serves both.
//!
//! Adding a service: its module under `src/actors/<service>/` (the actor, `SERVICE`), its
//! build function in [`super::services`], one [`ServiceDef`] here, its address in
//! [`super::Services`], and its routing table in [`super::routes`] if it consumes. Adding
//! a venue: the same, with `venue: Some(broker)`, and a [`crate::messages::Broker`]
//! variant.

use super::ServiceSet;
use super::services;
use super::wiring::BuildFn;
use crate::actors::{
    market_feed, paper_execution, portfolio_manager, risk_manager, strategy_runner,
    zerodha_execution,
};
use crate::messages::Broker;
use crate::settings::Settings;

/// Which supervisor a service's worker sits under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The `services` supervisor; its consumer under `consumers`.
    Service,
    /// Its own `feed` supervisor, started last (it publishes into everything else).
    Feed,
}

/// One service as the daemon knows it.
#[derive(Clone, Copy)]
pub struct ServiceDef {
    /// Its name: in logs, envelopes, `--services`, its consumer group and supervision.
    pub name: &'static str,
    pub placement: Placement,
    /// The broker namespace an execution venue serves; it runs only when that broker is in
    /// `brokers.enabled`.
    pub venue: Option<Broker>,
    /// Whether it runs in the backtest (the trading services; the venue only for paper).
    pub in_backtest: bool,
    /// Whether it runs on a thread of its own (`service.threads = "own"`; see
    /// [`super::threads`] for why only the feed does).
    pub own_thread: bool,
    /// How it is built; `None` for the market feed, which the daemon builds last from the
    /// feed factory it is given (its endpoint, the simulator, subscriptions).
    pub build: Option<BuildFn>,
}

impl std::fmt::Debug for ServiceDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceDef")
            .field("name", &self.name)
            .field("placement", &self.placement)
            .field("venue", &self.venue)
            .field("in_backtest", &self.in_backtest)
            .field("own_thread", &self.own_thread)
            .finish_non_exhaustive()
    }
}

impl ServiceDef {
    /// Whether the settings let it run (a venue needs its broker enabled).
    pub fn enabled(&self, settings: &Settings) -> bool {
        self.venue
            .is_none_or(|b| settings.brokers.enabled.contains(&b))
    }
}

/// Every service, in start order (zerodha execution after the risk manager, whose kill
/// switch it pulls).
pub const CATALOG: [ServiceDef; 6] = [
    ServiceDef {
        name: strategy_runner::SERVICE,
        placement: Placement::Service,
        venue: None,
        in_backtest: true,
        own_thread: false,
        build: Some(services::strategy_runner),
    },
    ServiceDef {
        name: risk_manager::SERVICE,
        placement: Placement::Service,
        venue: None,
        in_backtest: true,
        own_thread: false,
        build: Some(services::risk_manager),
    },
    ServiceDef {
        name: paper_execution::SERVICE,
        placement: Placement::Service,
        venue: Some(Broker::Paper),
        in_backtest: true,
        own_thread: false,
        build: Some(services::paper_execution),
    },
    ServiceDef {
        name: zerodha_execution::SERVICE,
        placement: Placement::Service,
        venue: Some(Broker::Zerodha),
        in_backtest: false,
        own_thread: false,
        build: Some(services::zerodha_execution),
    },
    ServiceDef {
        name: portfolio_manager::SERVICE,
        placement: Placement::Service,
        venue: None,
        in_backtest: true,
        own_thread: false,
        build: Some(services::portfolio_manager),
    },
    ServiceDef {
        name: market_feed::SERVICE,
        placement: Placement::Feed,
        venue: None,
        in_backtest: false,
        own_thread: true,
        build: None,
    },
];

/// The catalog entry named `name`.
pub fn service(name: &str) -> Option<&'static ServiceDef> {
    CATALOG.iter().find(|s| s.name == name)
}

/// Refuses a selection that names an execution service whose broker is not enabled (it
/// would silently run nothing).
///
/// # Errors
/// The first such service, named with its broker.
pub fn check_selection(settings: &Settings, selected: &ServiceSet) -> Result<(), String> {
    for def in CATALOG {
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

/// Every service's name, in start order.
pub fn names() -> impl Iterator<Item = &'static str> {
    CATALOG.iter().map(|s| s.name)
}
