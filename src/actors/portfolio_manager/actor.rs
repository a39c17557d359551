//! The actor shell around the portfolio book.

use super::{SERVICE, pnl_curve_key, portfolio_index, portfolio_key};
use crate::messages::{Broker, Envelope, MarketTick, OrderFilled, Payload};
use crate::portfolio::curve::{CURVE_CAP, CurvePoint, CurveWrite, LastPoint, curve_write};
use crate::portfolio::{Book, Portfolio};
use crate::store::{ListWrite, Store};
use crate::streaming::consumer::{Completion, Deliver, HandlerError, HandlerResult};
use crate::streaming::history::{HistoryError, decode_all, read_topics_for};
use crate::streaming::producer::PendingDelivery;
use crate::streaming::{KafkaConnection, ProducerHandle, Stream, Topic};
use crate::supervision::{fail, handling};
use crate::telemetry::metrics;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// How long the rebuild waits for any one answer of the broker.
const HISTORY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct PortfolioArgs {
    pub producer: ProducerHandle,
    pub store: Arc<dyn Store>,
    pub starting_cash: Decimal,
    pub snapshot_interval: Duration,
    /// Where to rebuild from at start (`None`: start empty — tests without a broker).
    pub history: Option<(KafkaConnection, Vec<Broker>)>,
    /// Also flush throttled changes on a wall-clock timer (the daemon: the last change goes
    /// out even when no further event comes). A backtest, whose time is the ticks', sets it
    /// false: throttled changes then go out on the next event due at event time.
    pub flush_timer: bool,
}

pub struct PortfolioManager {
    args: PortfolioArgs,
    book: Book,
    /// When each portfolio's snapshot was last published, in event time (the time of the
    /// tick or fill that caused it), so throttling is the same live and in a backtest.
    /// (A B-tree: a handful of keys, read on every tick; cheaper than hashing the id.)
    last_published: BTreeMap<(Broker, String), DateTime<Utc>>,
    dirty: BTreeSet<(Broker, String)>,
    /// The last P&L curve point written of each portfolio (none yet since start).
    last_curve_point: BTreeMap<(Broker, String), LastPoint>,
    /// `args.snapshot_interval` in event time (converted once: it is read on every tick).
    interval: chrono::Duration,
}

crate::supervised!(PortfolioManager);

impl PortfolioManager {
    pub fn new(args: PortfolioArgs) -> Self {
        PortfolioManager {
            book: Book::new(args.starting_cash),
            interval: chrono::Duration::from_std(args.snapshot_interval)
                .unwrap_or(chrono::Duration::MAX),
            args,
            last_published: BTreeMap::new(),
            dirty: BTreeSet::new(),
            last_curve_point: BTreeMap::new(),
        }
    }

    fn start_flush_timer(&self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.args.snapshot_interval, |act, _ctx| {
            for key in std::mem::take(&mut act.dirty) {
                for pending in act.outputs::<OrderFilled>(key, true, Utc::now(), None) {
                    actix::spawn(async move {
                        if let Err(e) = pending.await {
                            tracing::warn!(error = %e, "throttled snapshot not delivered");
                        }
                    });
                }
            }
        });
    }

    /// A new trading day began: every portfolio's day figures changed (to nothing done yet),
    /// so each read model is rewritten once it is due.
    fn day_rolled(&mut self) {
        tracing::info!(day = ?self.book.today(), "a new trading day");
        let keys = self
            .book
            .iter()
            .map(|p| (p.broker(), p.strategy_id().to_owned()));
        self.dirty.extend(keys);
    }

    /// Whether `key`'s snapshot may be published again at event time `now`.
    fn due(&self, key: &(Broker, String), now: DateTime<Utc>) -> bool {
        self.last_published
            .get(key)
            .is_none_or(|t| now.signed_duration_since(*t) >= self.interval)
    }

    /// The curve's list write for `portfolio` at event time `now`, if a point is due (and
    /// then it counts as written: a failed store write loses one dot, not money).
    fn curve_point(
        last_points: &mut BTreeMap<(Broker, String), LastPoint>,
        key: &(Broker, String),
        portfolio: &Portfolio,
        now: DateTime<Utc>,
    ) -> Option<ListWrite> {
        let point = CurvePoint::of(portfolio, now)?;
        let write = curve_write(last_points.get(key).copied(), &point);
        let list = curve_list(key.0, &key.1, &point, write)?;
        let last = LastPoint {
            at: point.at,
            day: point.day,
        };
        last_points.insert(key.clone(), last);
        Some(list)
    }

    /// The outputs of a change at event time `now`: unless throttled, the read model and the
    /// snapshot; a fill (`force`) always writes both. Throttled changes go out on a later
    /// event (or the timer). The snapshot is a child of `cause` (a deterministic id), or a
    /// root event when the timer flushes it.
    fn outputs<C: Payload>(
        &mut self,
        key: (Broker, String),
        force: bool,
        now: DateTime<Utc>,
        cause: Option<&Envelope<C>>,
    ) -> Vec<PendingDelivery> {
        let (broker, strategy) = (key.0, key.1.as_str());
        let Some(portfolio) = self.book.get(broker, strategy) else {
            return Vec::new();
        };
        if !(force || self.due(&key, now)) {
            if !self.dirty.contains(&key) {
                self.dirty.insert(key);
            }
            return Vec::new();
        }
        let snapshot = portfolio.snapshot(now);
        // The board's P&L moves with the read model: same throttle, same figures.
        metrics::pnl(
            broker,
            strategy,
            &metrics::PnlFigures {
                realized: portfolio.realized_pnl(),
                unrealized: portfolio.unrealized_pnl(),
                charges: portfolio.charges(),
                net: portfolio.net_pnl(),
            },
        );
        let envelope = match cause {
            Some(cause) => cause.child(snapshot, SERVICE, &format!("{broker}/{strategy}"), now),
            None => Envelope::root(snapshot, SERVICE, now),
        };
        let mut out = Vec::with_capacity(2);
        let index = portfolio_index(broker);
        // A backtest's store keeps no read model (nothing reads it): no JSON to build.
        if self.args.store.keeps(&index) {
            let curve = Self::curve_point(&mut self.last_curve_point, &key, portfolio, now);
            out.push(write(
                &*self.args.store,
                &index,
                broker,
                strategy,
                portfolio,
                curve,
            ));
        }
        out.push(
            self.args
                .producer
                .publish_envelope(Topic::of(broker, Stream::PnlSnapshots), &envelope),
        );
        self.dirty.remove(&key);
        self.last_published.insert(key, now);
        out
    }
}

/// Writes the read model, with the curve's list write in the same step when a point is due.
fn write(
    store: &dyn Store,
    index: &str,
    broker: Broker,
    strategy: &str,
    p: &Portfolio,
    curve: Option<ListWrite>,
) -> PendingDelivery {
    let json = serde_json::to_string(&p.read_model()).unwrap_or_default();
    let key = portfolio_key(broker, strategy);
    crate::store::as_output(match curve {
        Some(list) => store.put_with_lists(index, &key, json, vec![list]),
        None => store.put(index, &key, json),
    })
}

/// The list write of a curve point, or `None` when it is skipped.
fn curve_list(
    broker: Broker,
    strategy: &str,
    point: &CurvePoint,
    write: CurveWrite,
) -> Option<ListWrite> {
    let member = serde_json::to_string(point).ok()?;
    let list = pnl_curve_key(broker, strategy);
    match write {
        CurveWrite::Skip => None,
        CurveWrite::Append => Some(ListWrite::append(list, vec![member], CURVE_CAP)),
        CurveWrite::Restart => Some(ListWrite::replace(list, vec![member], CURVE_CAP)),
    }
}

impl Actor for PortfolioManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.args.flush_timer {
            self.start_flush_timer(ctx);
        }
        let Some((connection, brokers)) = self.args.history.clone() else {
            return;
        };
        // Rebuild from the fills topics before handling anything (the mailbox waits).
        let rebuild = tokio::task::spawn_blocking(move || read_fills(&connection, &brokers));
        ctx.wait(rebuild.into_actor(self).map(|result, act, ctx| {
            let fills = match result {
                Ok(Ok(fills)) => fills,
                Ok(Err(e)) => return fail::<Self>(ctx, format!("cannot rebuild portfolios: {e}")),
                Err(e) => return fail::<Self>(ctx, format!("cannot rebuild portfolios: {e}")),
            };
            let n = fills.len();
            let touched: BTreeSet<(Broker, String)> = fills
                .iter()
                .filter(|f| matches!(act.book.apply_fill(f), Ok(Some(_))))
                .map(|f| (f.order.broker, f.order.strategy_id.clone()))
                .collect();
            tracing::info!(
                fills = n,
                portfolios = touched.len(),
                day = ?act.book.today(),
                "portfolios rebuilt from the fills topics"
            );
            act.dirty.extend(touched);
        }));
    }
}

/// Every fill of `brokers`' fills topics, up to the later of each partition's high
/// watermark and this service's committed offset (what the live consumer resumes after):
/// a short watermark must not lose fills the consumer group has handled already.
fn read_fills(
    connection: &KafkaConnection,
    brokers: &[Broker],
) -> Result<Vec<OrderFilled>, HistoryError> {
    let topics: Vec<String> = brokers
        .iter()
        .map(|b| Topic::of(*b, Stream::OrdersFilled).name())
        .collect();
    let history = read_topics_for(connection, SERVICE, &topics, HISTORY_TIMEOUT)?;
    let (envelopes, _undecodable) = decode_all::<OrderFilled>(&history.records);
    Ok(envelopes.into_iter().map(|e| e.data).collect())
}

impl Handler<Deliver<OrderFilled>> for PortfolioManager {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<OrderFilled>, _ctx: &mut Self::Context) -> HandlerResult {
        let _handling = handling::<Deliver<OrderFilled>>();
        let fill = &d.envelope.data;
        let day = self.book.today();
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
        if self.book.today() != day {
            self.day_rolled();
        }
        let key = (fill.order.broker, fill.order.strategy_id.clone());
        let now = d.envelope.ts;
        Ok(Completion::after(self.outputs(
            key,
            true,
            now,
            Some(&d.envelope),
        )))
    }
}

impl Handler<Deliver<MarketTick>> for PortfolioManager {
    type Result = HandlerResult;

    fn handle(&mut self, d: Deliver<MarketTick>, _ctx: &mut Self::Context) -> HandlerResult {
        if self.book.advance_to(d.envelope.ts) {
            self.day_rolled();
        }
        let changed = self
            .book
            .mark(d.envelope.data.token, d.envelope.data.last_price);
        let now = d.envelope.ts;
        let mut deliveries = Vec::new();
        for key in changed {
            deliveries.extend(self.outputs(key, false, now, Some(&d.envelope)));
        }
        // Changes throttled earlier whose interval has passed by this event's time.
        let due: Vec<(Broker, String)> = self
            .dirty
            .iter()
            .filter(|key| self.due(key, now))
            .cloned()
            .collect();
        for key in due {
            deliveries.extend(self.outputs(key, true, now, Some(&d.envelope)));
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
