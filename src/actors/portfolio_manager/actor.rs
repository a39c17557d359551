//! The actor shell around the portfolio book.

use super::{SERVICE, portfolio_index, portfolio_key};
use crate::actors::supervisor::{fail, handling};
use crate::messages::{Broker, Envelope, MarketTick, OrderFilled};
use crate::portfolio::{Book, Portfolio};
use crate::store::Store;
use crate::streaming::consumer::{Completion, Deliver, HandlerError, HandlerResult};
use crate::streaming::history::read_history;
use crate::streaming::producer::PendingDelivery;
use crate::streaming::{KafkaConnection, ProducerHandle, Stream, Topic};
use actix::prelude::*;
use rust_decimal::Decimal;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct PortfolioArgs {
    pub producer: ProducerHandle,
    pub store: Arc<dyn Store>,
    pub starting_cash: Decimal,
    pub snapshot_interval: Duration,
    /// Where to rebuild from at start (`None`: start empty — tests without a broker).
    pub history: Option<(KafkaConnection, Vec<Broker>)>,
}

pub struct PortfolioManager {
    args: PortfolioArgs,
    book: Book,
    last_published: HashMap<(Broker, String), Instant>,
    dirty: BTreeSet<(Broker, String)>,
}

crate::supervised!(PortfolioManager);

impl PortfolioManager {
    pub fn new(args: PortfolioArgs) -> Self {
        PortfolioManager {
            book: Book::new(args.starting_cash),
            args,
            last_published: HashMap::new(),
            dirty: BTreeSet::new(),
        }
    }

    /// The outputs of a change: unless throttled, the read model and the snapshot; a fill
    /// (`force`) always writes both. Throttled changes are flushed by the timer.
    fn outputs(&mut self, broker: Broker, strategy: &str, force: bool) -> Vec<PendingDelivery> {
        let Some(portfolio) = self.book.get(broker, strategy) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let key = (broker, strategy.to_owned());
        let due = self
            .last_published
            .get(&key)
            .is_none_or(|t| t.elapsed() >= self.args.snapshot_interval);
        if force || due {
            out.push(write(&*self.args.store, broker, strategy, portfolio));
            let snapshot = portfolio.snapshot(chrono::Utc::now());
            let envelope = Envelope::root(snapshot, SERVICE, chrono::Utc::now());
            out.push(
                self.args
                    .producer
                    .publish_envelope(Topic::of(broker, Stream::PnlSnapshots), &envelope),
            );
            self.last_published.insert(key.clone(), Instant::now());
            self.dirty.remove(&key);
        } else {
            self.dirty.insert(key);
        }
        out
    }
}

fn write(store: &dyn Store, broker: Broker, strategy: &str, p: &Portfolio) -> PendingDelivery {
    let json = serde_json::to_string(p).unwrap_or_default();
    crate::store::as_output(store.put(
        &portfolio_index(broker),
        &portfolio_key(broker, strategy),
        json,
    ))
}

impl Actor for PortfolioManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let interval = self.args.snapshot_interval;
        ctx.run_interval(interval, |act, _ctx| {
            for (broker, strategy) in std::mem::take(&mut act.dirty) {
                for pending in act.outputs(broker, &strategy, true) {
                    actix::spawn(async move {
                        if let Err(e) = pending.await {
                            tracing::warn!(error = %e, "throttled snapshot not delivered");
                        }
                    });
                }
            }
        });
        let Some((connection, brokers)) = self.args.history.clone() else {
            return;
        };
        // Rebuild from the fills topics before handling anything (the mailbox waits).
        let rebuild = tokio::task::spawn_blocking(move || {
            let mut fills = Vec::new();
            for broker in brokers {
                let topic = Topic::of(broker, Stream::OrdersFilled).name();
                let (envelopes, _bad) =
                    read_history::<OrderFilled>(&connection, &topic, Duration::from_secs(10))
                        .map_err(|e| e.to_string())?;
                fills.extend(envelopes.into_iter().map(|e| e.data));
            }
            Ok::<_, String>(fills)
        });
        ctx.wait(rebuild.into_actor(self).map(|result, act, ctx| {
            match result.map_err(|e| e.to_string()).and_then(|r| r) {
                Ok(fills) => {
                    let n = fills.len();
                    let touched: BTreeSet<(Broker, String)> = fills
                        .iter()
                        .filter(|f| matches!(act.book.apply_fill(f), Ok(Some(_))))
                        .map(|f| (f.order.broker, f.order.strategy_id.clone()))
                        .collect();
                    tracing::info!(
                        fills = n,
                        portfolios = touched.len(),
                        "portfolios rebuilt from the fills topics"
                    );
                    act.dirty.extend(touched);
                }
                Err(e) => fail::<Self>(ctx, format!("cannot rebuild portfolios: {e}")),
            }
        }));
    }
}

impl Handler<Deliver<OrderFilled>> for PortfolioManager {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<OrderFilled>, _ctx: &mut Self::Context) -> HandlerResult {
        let _handling = handling::<Deliver<OrderFilled>>();
        let fill = &d.envelope.data;
        match self.book.apply_fill(fill) {
            Ok(Some(_)) => {}
            Ok(None) => {
                tracing::debug!(fill_id = %fill.fill_id, "duplicate fill ignored");
                return Ok(Completion::done());
            }
            // Arithmetic that would overflow: the fill can never be booked.
            Err(e) => return Err(HandlerError::Permanent(e.to_string())),
        }
        tracing::info!(broker = %fill.order.broker, strategy = %fill.order.strategy_id, token = fill.order.token, quantity = fill.quantity, price = %fill.price, correlation_id = %d.envelope.correlation_id, "fill booked");
        let (broker, strategy) = (fill.order.broker, fill.order.strategy_id.clone());
        Ok(Completion::after(self.outputs(broker, &strategy, true)))
    }
}

impl Handler<Deliver<MarketTick>> for PortfolioManager {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<MarketTick>, _ctx: &mut Self::Context) -> HandlerResult {
        let changed = self
            .book
            .mark(d.envelope.data.token, d.envelope.data.last_price);
        let mut deliveries = Vec::new();
        for (broker, strategy) in changed {
            deliveries.extend(self.outputs(broker, &strategy, false));
        }
        Ok(Completion::after(deliveries))
    }
}

/// A copy of one portfolio.
#[derive(Debug, Message)]
#[rtype(result = "Option<Portfolio>")]
pub struct GetPortfolio {
    pub broker: Broker,
    pub strategy: String,
}

impl Handler<GetPortfolio> for PortfolioManager {
    type Result = Option<Portfolio>;
    fn handle(&mut self, m: GetPortfolio, _ctx: &mut Self::Context) -> Self::Result {
        self.book.get(m.broker, &m.strategy).cloned()
    }
}
