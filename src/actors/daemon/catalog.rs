//! The catalog: every service a process can run, declared once — its name, where it sits
//! in supervision, the broker it needs (an execution venue), which topics its consumer
//! reads and where each record goes. `run`, `run --services`, `backtest`, `bench`, the
//! `[supervision.actors]` name check and the command line's help all read it.
//!
//! How a service is built from the settings and the shared wiring is its `build` function
//! in [`super::services`] (the daemon registers it under its supervisor; the backtest
//! starts the same actor with the same arguments).
//!
//! Adding a service: its module under `src/actors/<service>/` (the actor, `SERVICE`), one
//! [`ServiceDef`] here, its routes in [`super::routes`], its `build` in [`super::services`].
//! Adding a venue: its execution module, a [`crate::messages::Broker`] variant, and an entry
//! here with `venue: Some(broker)`.

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
#[derive(Debug, Clone, Copy)]
pub struct ServiceDef {
    /// Its name: in logs, envelopes, `--services`, its consumer group and supervision.
    pub name: &'static str,
    pub placement: Placement,
    /// The broker namespace an execution venue serves; it runs only when that broker is in
    /// `brokers.enabled`.
    pub venue: Option<Broker>,
    /// Whether it runs in the backtest (the trading services; the venue only for paper).
    pub in_backtest: bool,
}

impl ServiceDef {
    /// Whether the settings let it run (a venue needs its broker enabled).
    pub fn enabled(&self, settings: &Settings) -> bool {
        self.venue
            .is_none_or(|b| settings.brokers.enabled.contains(&b))
    }
}

/// Every service, in start order.
pub const CATALOG: [ServiceDef; 6] = [
    ServiceDef {
        name: strategy_runner::SERVICE,
        placement: Placement::Service,
        venue: None,
        in_backtest: true,
    },
    ServiceDef {
        name: risk_manager::SERVICE,
        placement: Placement::Service,
        venue: None,
        in_backtest: true,
    },
    ServiceDef {
        name: paper_execution::SERVICE,
        placement: Placement::Service,
        venue: Some(Broker::Paper),
        in_backtest: true,
    },
    ServiceDef {
        name: zerodha_execution::SERVICE,
        placement: Placement::Service,
        venue: Some(Broker::Zerodha),
        in_backtest: false,
    },
    ServiceDef {
        name: portfolio_manager::SERVICE,
        placement: Placement::Service,
        venue: None,
        in_backtest: true,
    },
    ServiceDef {
        name: market_feed::SERVICE,
        placement: Placement::Feed,
        venue: None,
        in_backtest: false,
    },
];

/// The catalog entry named `name`.
pub fn service(name: &str) -> Option<&'static ServiceDef> {
    CATALOG.iter().find(|s| s.name == name)
}

/// Every service's name, in start order.
pub fn names() -> impl Iterator<Item = &'static str> {
    CATALOG.iter().map(|s| s.name)
}
