//! What the services of the [catalog](super::catalog) are built from and on: the shared
//! [`Wiring`], the [`Host`] an actor runs on (its supervisor in the daemon, the arbiter in
//! the backtest), and what a build gives back ([`Built`]).

use super::Services;
use crate::actors::risk_manager::TradingHolds;
use crate::kite::rest::KiteClient;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::Broker;
use crate::messages::MarketTick;
use crate::settings::Settings;
use crate::store::Store;
use crate::strategy::StrategyRegistry;
use crate::streaming::consumer::{Deliver, Routes};
use crate::streaming::{KafkaConnection, ProducerHandle};
use crate::supervision::SupervisorSpec;
use actix::{Actor, Addr, ArbiterHandle, Context, Recipient, Supervised};
use std::sync::Arc;

/// What every service is built from.
pub struct Wiring<'a> {
    pub settings: &'a Settings,
    pub registry: &'a InstrumentRegistry,
    pub strategies: &'a StrategyRegistry,
    pub store: Arc<dyn Store>,
    pub producer: ProducerHandle,
    /// Reasons other services hold a broker HALTED (shared with the risk manager).
    pub holds: TradingHolds,
    /// The broker namespaces served (the backtest: paper only).
    pub brokers: Vec<Broker>,
    /// Where services rebuild their state from at start, and the runner tails its
    /// outcomes; `None` in the backtest (everything is delivered in-process).
    pub history: Option<KafkaConnection>,
    /// The Kite REST client, taken by zerodha execution.
    pub kite: Option<KiteClient>,
}

/// Where a service's actor runs.
pub enum Host<'a> {
    /// Under a supervisor (the daemon): restarted by its policy; on `arbiter`'s thread when
    /// given (a service on the tick path), else on the supervisor's.
    Supervised {
        spec: &'a mut SupervisorSpec,
        arbiter: Option<ArbiterHandle>,
    },
    /// Started at once on the current arbiter (the backtest).
    Direct,
}

impl Host<'_> {
    /// Runs the actor `factory` builds, named `name`.
    ///
    /// # Errors
    /// Direct: the factory's error.
    pub fn spawn<A>(
        &mut self,
        name: &str,
        mut factory: impl FnMut() -> Result<A, String> + Send + 'static,
    ) -> Result<Addr<A>, String>
    where
        A: Actor<Context = Context<A>> + Supervised,
    {
        match self {
            Host::Supervised {
                spec,
                arbiter: Some(arbiter),
            } => Ok(spec.worker_on(name, arbiter, factory)),
            Host::Supervised {
                spec,
                arbiter: None,
            } => Ok(spec.worker(name, factory)),
            Host::Direct => Ok(factory()?.start()),
        }
    }
}

/// Builds a routing table (again for each consumer incarnation).
pub type RouteFactory = Box<dyn Fn() -> Routes + Send>;

/// What building a service gives besides its address (recorded in [`Services`]).
#[derive(Default)]
pub struct Built {
    /// Its consumer's routing table (records of the shared consumer group).
    pub consumer: Option<RouteFactory>,
    /// Records it follows by itself in the daemon (the runner's outcomes, tailed per
    /// process), which the backtest delivers in-process like any other.
    pub in_process: Option<RouteFactory>,
    /// Where its ticks go, when it takes ticks: the process's one tick consumer hands
    /// each tick to every such service.
    pub ticks: Option<Recipient<Deliver<MarketTick>>>,
}

/// Builds one service on `host`, recording its address in the [`Services`].
pub type BuildFn = fn(&mut Wiring<'_>, &mut Host<'_>, &mut Services) -> Result<Built, String>;
