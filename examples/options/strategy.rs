//! `short_straddle`: sell the call and the put of the strikes a subscription rule picked
//! (e.g. `NIFTY:CE,PE:ATM:current_week`), each with its own stop, written as a user's own
//! strategy kind on the public API only (`alpha_panda::strategy`).
//!
//! Per option instrument (ticks of anything else, such as the index, are ignored):
//! - Flat, inside the entry window, not yet closed today → SELL `lots` lots at market
//!   (the quantity is `lots × lot size`, the lot size from the instrument master through
//!   [`StrategyContext::lot_size`]).
//! - Short, and the option's last price reaches the stop — the average sell price
//!   ([`StrategyContext::average_price`], derived from the fills) raised by
//!   `stop_loss_pct` — → BUY the whole position back at market.
//! - Short at `exit_at` (IST) → BUY it back.
//! - Long (left by a partial buy-back or another run) → SELL it back to flat.
//!
//! Invariants, as the built-in kinds keep them:
//! - It decides from the real position and the real average price (both from fills),
//!   never from what it sent; at most one order per instrument is in flight.
//! - A leg bought back is not sold again the same IST day (one straddle a day). This
//!   memory comes from the fills the strategy is told while it runs: after a restart the
//!   position and its average price are rebuilt from the fills, but a leg closed earlier
//!   that day may be sold again — set `entry_until` to bound that.
//! - After a refusal it waits before trying that instrument again ([`Retry`]).
//!
//! Entry and exit times are IST times of day on the event clock (tick time: wall time in
//! the daemon, the ticks' time in a backtest). Without them it enters at the first tick
//! and leaves only by its stop (or the intraday square-off of MIS positions).

use alpha_panda::market::hours::IST;
use alpha_panda::messages::{MarketTick, OrderFilled, Side};
use alpha_panda::strategy::{
    Decision, OrderEnded, OrderIntent, ParamsError, Retry, Strategy, StrategyContext,
    StrategyParams,
};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::HashMap;

/// The kind name the factory is registered under.
pub const KIND: &str = "short_straddle";

/// Most lots one leg may sell (a guard against a typo selling a fortune).
pub const MAX_LOTS: u32 = 100;

/// `[strategies.<id>.params]` of the `short_straddle` kind (besides `kind`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StraddleParams {
    /// Lots sold per leg (1..=[`MAX_LOTS`]).
    pub lots: u32,
    /// Buy a leg back when its price rises this many percent above its average sell
    /// price (above 0, at most 1000), e.g. "30".
    #[serde(with = "rust_decimal::serde::str")]
    pub stop_loss_pct: Decimal,
    /// IST time of day from which legs are sold ("HH:MM"); absent: from the first tick.
    #[serde(default)]
    pub entry_from: Option<String>,
    /// IST time of day after which no leg is sold ("HH:MM"); absent: no limit.
    #[serde(default)]
    pub entry_until: Option<String>,
    /// IST time of day at which open legs are bought back ("HH:MM"); absent: never.
    #[serde(default)]
    pub exit_at: Option<String>,
}

/// The parsed, checked parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub lots: u32,
    pub stop_loss_pct: Decimal,
    pub entry_from: Option<NaiveTime>,
    pub entry_until: Option<NaiveTime>,
    pub exit_at: Option<NaiveTime>,
}

impl StraddleParams {
    /// The plan, or every problem as `(field, message)`.
    pub fn plan(&self) -> Result<Plan, Vec<(String, String)>> {
        let mut problems = Vec::new();
        if !(1..=MAX_LOTS).contains(&self.lots) {
            problems.push((
                "lots".to_owned(),
                format!("must be between 1 and {MAX_LOTS} (got {})", self.lots),
            ));
        }
        if self.stop_loss_pct <= Decimal::ZERO || self.stop_loss_pct > Decimal::from(1000) {
            problems.push((
                "stop_loss_pct".to_owned(),
                format!(
                    "must be above 0 and at most 1000 (got {})",
                    self.stop_loss_pct
                ),
            ));
        }
        let mut time = |field: &str, text: &Option<String>| {
            let text = text.as_deref()?;
            let parsed = NaiveTime::parse_from_str(text.trim(), "%H:%M").ok();
            if parsed.is_none() {
                problems.push((
                    field.to_owned(),
                    format!("expected an IST time HH:MM, got {text:?}"),
                ));
            }
            parsed
        };
        let entry_from = time("entry_from", &self.entry_from);
        let entry_until = time("entry_until", &self.entry_until);
        let exit_at = time("exit_at", &self.exit_at);
        if problems.is_empty() {
            Ok(Plan {
                lots: self.lots,
                stop_loss_pct: self.stop_loss_pct,
                entry_from,
                entry_until,
                exit_at,
            })
        } else {
            Err(problems)
        }
    }
}

/// The factory registered with `Daemon::builder().strategy(KIND, factory)`.
///
/// # Errors
/// Every problem with `params`, each naming its field.
pub fn factory(params: &StrategyParams) -> Result<Box<dyn Strategy>, ParamsError> {
    let params: StraddleParams = params.parse()?;
    let plan = params
        .plan()
        .map_err(|p| ParamsError::check(p).unwrap_err())?;
    Ok(Box::new(ShortStraddle::new(plan)))
}

/// The `short_straddle` strategy; see the module docs.
#[derive(Debug, Clone)]
pub struct ShortStraddle {
    plan: Plan,
    /// The IST day each leg was last bought back to flat.
    closed_on: HashMap<u32, NaiveDate>,
    backoff: Retry,
}

impl ShortStraddle {
    pub fn new(plan: Plan) -> Self {
        ShortStraddle {
            plan,
            closed_on: HashMap::new(),
            backoff: Retry::default(),
        }
    }
}

/// The instant in India Standard Time.
fn ist(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&IST)
}

impl Strategy for ShortStraddle {
    fn on_tick(&mut self, tick: &MarketTick, ctx: &StrategyContext<'_>) -> Decision {
        let is_option = ctx.instrument().is_some_and(|i| i.kind.is_option());
        if !is_option || ctx.has_pending() || !self.backoff.ready(tick.token, ctx.now) {
            return Ok(None);
        }
        let now = ist(ctx.now);
        let state = Leg {
            position: ctx.position(),
            average_price: ctx.average_price(),
            closed_today: self.closed_on.get(&tick.token) == Some(&now.date_naive()),
        };
        Ok(decide(
            &self.plan,
            state,
            tick.last_price,
            now.time(),
            ctx.lot_size(),
        ))
    }

    fn on_fill(&mut self, fill: &OrderFilled, ctx: &StrategyContext<'_>) {
        self.backoff.filled(fill.order.token);
        if fill.order.side == Side::Buy && ctx.position() == 0 {
            self.closed_on
                .insert(fill.order.token, ist(ctx.now).date_naive());
        }
    }

    fn on_order_ended(&mut self, ended: &OrderEnded, ctx: &StrategyContext<'_>) {
        self.backoff.refused(ended.token, ctx.now);
    }
}

/// What the strategy knows of one leg when it decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    pub position: i64,
    pub average_price: Option<Decimal>,
    pub closed_today: bool,
}

/// The decision for one leg with no order in flight (pure: tested as a table).
pub fn decide(
    plan: &Plan,
    leg: Leg,
    price: Decimal,
    now: NaiveTime,
    lot_size: u32,
) -> Option<OrderIntent> {
    if leg.position > 0 {
        return OrderIntent::towards(leg.position, 0, "short-only: closing a long position");
    }
    if leg.position < 0 {
        if plan.exit_at.is_some_and(|exit| now >= exit) {
            return OrderIntent::towards(leg.position, 0, format!("exit time {now}"));
        }
        let entry = leg.average_price?;
        let stop = entry * (Decimal::ONE_HUNDRED + plan.stop_loss_pct) / Decimal::ONE_HUNDRED;
        if price >= stop {
            return OrderIntent::towards(
                leg.position,
                0,
                format!(
                    "stop: {price} reached {stop} ({}% above {entry})",
                    plan.stop_loss_pct
                ),
            );
        }
        return None;
    }
    let before_window = plan.entry_from.is_some_and(|from| now < from);
    let after_window = plan.entry_until.is_some_and(|until| now > until)
        || plan.exit_at.is_some_and(|exit| now >= exit);
    if leg.closed_today || before_window || after_window {
        return None;
    }
    let quantity = plan.lots.checked_mul(lot_size)?;
    Some(OrderIntent::market(
        Side::Sell,
        quantity,
        format!(
            "straddle leg: sell {} lot(s) of {lot_size} at {price}",
            plan.lots
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn t(text: &str) -> NaiveTime {
        NaiveTime::parse_from_str(text, "%H:%M").unwrap()
    }

    fn plan() -> Plan {
        Plan {
            lots: 2,
            stop_loss_pct: d("30"),
            entry_from: Some(t("09:20")),
            entry_until: Some(t("14:00")),
            exit_at: Some(t("15:10")),
        }
    }

    fn leg(position: i64, average: Option<&str>, closed_today: bool) -> Leg {
        Leg {
            position,
            average_price: average.map(d),
            closed_today,
        }
    }

    /// A case: its name, the leg, the price, the IST time, and the order expected.
    type Case = (
        &'static str,
        Leg,
        &'static str,
        &'static str,
        Option<(Side, u32)>,
    );

    #[test]
    fn decisions_as_a_table() {
        #[rustfmt::skip]
        let cases: [Case; 10] = [
            ("flat before the window", leg(0, None, false), "100", "09:19", None),
            ("flat in the window: sell 2 lots of 65", leg(0, None, false), "100", "09:20", Some((Side::Sell, 130))),
            ("flat after entry_until", leg(0, None, false), "100", "14:01", None),
            ("closed today: no second entry", leg(0, None, true), "100", "10:00", None),
            ("short below the stop", leg(-130, Some("100"), false), "129.95", "10:00", None),
            ("short at the stop (100 + 30 %)", leg(-130, Some("100"), false), "130", "10:00", Some((Side::Buy, 130))),
            ("short at exit time", leg(-130, Some("100"), false), "90", "15:10", Some((Side::Buy, 130))),
            ("short, average unknown: holds", leg(-130, None, false), "500", "10:00", None),
            ("long leftover is sold", leg(65, Some("100"), false), "100", "10:00", Some((Side::Sell, 65))),
            ("flat at exit time: no entry", leg(0, None, false), "100", "15:10", None),
        ];
        for (case, leg, price, now, expected) in cases {
            let found = decide(&plan(), leg, d(price), t(now), 65).map(|i| (i.side, i.quantity));
            assert_eq!(found, expected, "{case}");
        }
    }

    #[test]
    fn parameters_are_checked_by_field() {
        let params = StraddleParams {
            lots: 0,
            stop_loss_pct: d("0"),
            entry_from: Some("9.20".into()),
            entry_until: None,
            exit_at: Some("15:10".into()),
        };
        let problems = params.plan().unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["lots", "stop_loss_pct", "entry_from"]);
    }
}
