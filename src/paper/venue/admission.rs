//! What the venue refuses at placement, as Kite refuses it before an order exists (one
//! `Failed(Rejected)`, no `Submitted`): a malformed signal, an index, a product the
//! instrument cannot be traded as (CNC for a future or an option, NRML for an equity, MTF
//! which the venue does not model), a contract past its expiry settlement, a MARKET order
//! outside the normal session when market hours are enforced, and stops whose prices
//! break Kite's rules (see [`Stage::of`] and [`Stage::refusal_at`]).
//!
//! The product of an order: its signal's, else `paper.product` made the instrument's
//! ([`PaperConfig::product_for`](crate::paper::PaperConfig::product_for)).
//!
//! A stop's trigger is judged against the last price the venue has seen; with no tick of
//! the instrument yet there is nothing to judge it against, and it is accepted.

use chrono::{DateTime, Utc};

use super::PaperVenue;
use crate::market::hours::{IST, NORMAL_END, NORMAL_START};
use crate::market::instruments::INDEX_SEGMENT;
use crate::market::{MarketCalendar, Session};
use crate::messages::{OrderType, TradingSignal};
use crate::paper::book::Stage;
use crate::paper::charges::Product;

impl PaperVenue {
    /// The order a signal becomes at `at` and the product it is placed as, or why Kite
    /// would refuse it.
    pub(super) fn admit(
        &self,
        client_order_id: &str,
        signal: &TradingSignal,
        at: DateTime<Utc>,
    ) -> Result<(Stage, Product), String> {
        if signal.broker != self.broker {
            return Err(format!(
                "signal for broker {} reached the {} venue",
                signal.broker, self.broker
            ));
        }
        if client_order_id.is_empty() || signal.strategy_id.is_empty() {
            return Err("client_order_id and strategy_id must not be empty".into());
        }
        if signal.quantity == 0 {
            return Err("quantity must be positive".into());
        }
        if self.is_index(signal.token) {
            return Err(format!(
                "{} (token {}) is an index (segment INDICES): it has prices but cannot be \
                 traded; trade its futures or options instead",
                signal.symbol, signal.token
            ));
        }
        let product = self.product_of(signal)?;
        if let Some(refusal) = self.expired_contract(signal, at) {
            return Err(refusal);
        }
        if let Some(refusal) = self.closed_for_market_orders(signal.order_type, at) {
            return Err(refusal);
        }
        let stage = Stage::of(
            signal.side,
            signal.order_type,
            signal.price,
            signal.trigger_price,
        )?;
        match self.last_price(signal.token) {
            Some(last) => stage
                .refusal_at(signal.side, last)
                .map_or(Ok((stage, product)), Err),
            None => Ok((stage, product)),
        }
    }

    /// The product `signal`'s order is placed as, or why it cannot be: its own product,
    /// else `paper.product` made the instrument's; CNC for a derivative, NRML for anything
    /// else and MTF are refused, as Kite refuses them.
    pub fn product_of(&self, signal: &TradingSignal) -> Result<Product, String> {
        let derivative = self.contracts.contains_key(&signal.token);
        let Some(product) = signal.product else {
            return Ok(self.config.product_for(derivative));
        };
        let what = match (product, derivative) {
            (Product::Mtf, _) => "MTF (margin trading) is not modelled by the paper venue",
            (Product::Cnc, true) => {
                "CNC (delivery) is for equities; a future or an option is traded NRML \
                 (carried overnight) or MIS (intraday)"
            }
            (Product::Nrml, false) => {
                "NRML is for futures and options; an equity is traded CNC (delivery) or MIS \
                 (intraday)"
            }
            _ => return Ok(product),
        };
        Err(format!(
            "product {product} refused for {} (token {}): {what}",
            signal.symbol, signal.token
        ))
    }

    /// Why `signal` may not be placed at `at` in a contract that has expired, if it is one:
    /// its settlement instant has come.
    fn expired_contract(&self, signal: &TradingSignal, at: DateTime<Utc>) -> Option<String> {
        let contract = self.contracts.get(&signal.token)?;
        let settles_at = contract.settles_at()?;
        (settles_at <= at).then(|| {
            format!(
                "{} (token {}) expired on {} and was settled at {} IST: it can no longer be \
                 traded",
                signal.symbol,
                signal.token,
                contract.expiry,
                settles_at.with_timezone(&IST).format("%H:%M")
            )
        })
    }

    /// True for an index: the registry says so, or (unlisted) the token's segment is 9.
    fn is_index(&self, token: u32) -> bool {
        self.listings
            .get(&token)
            .map_or(token & 0xFF == INDEX_SEGMENT, |l| l.index)
    }

    /// Why a MARKET order may not be placed at `at`, if it may not: market hours are
    /// enforced and the normal session (09:15–15:30 IST on a trading day) is not running.
    /// Pre-open counts as closed: its call auction is not modelled, and Kite's API takes
    /// market orders then only as AMO, which the venue does not model either.
    fn closed_for_market_orders(&self, order_type: OrderType, at: DateTime<Utc>) -> Option<String> {
        if !self.market_hours_enforced || order_type != OrderType::Market {
            return None;
        }
        let session = self.calendar.session_at(at);
        if session == Session::Normal {
            return None;
        }
        let state = match session {
            Session::PreOpen => "the pre-open session",
            _ if !self.calendar.is_trading_day(MarketCalendar::ist_date(at)) => "not a trading day",
            _ => "the market is closed",
        };
        Some(format!(
            "Markets are closed right now: MARKET orders are accepted only in the normal \
             session ({}–{} IST on trading days); it is {} IST, {state}",
            NORMAL_START.format("%H:%M"),
            NORMAL_END.format("%H:%M"),
            at.with_timezone(&IST).format("%Y-%m-%d %H:%M"),
        ))
    }
}
