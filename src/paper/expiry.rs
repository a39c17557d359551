//! Expiry of futures and options in the paper venue: what a contract is, when it settles
//! and at what value, and the fill that books the settlement.
//!
//! Rules (NSE index derivatives are cash-settled; KITE.md, "F&O"):
//! - A contract settles at the close of its expiry date, 15:30 IST
//!   ([`Contract::settles_at`]), on the venue's clock: the first tick (of any instrument)
//!   or wall-clock sweep at or after that instant. On a tick, the settlement runs before
//!   the tick's own price is recorded, so it uses the prices as they stood at the close.
//! - The final settlement price is the underlying's last price at the close (NSE computes
//!   it from the last half hour; the venue takes the last price it saw). A future settles
//!   at it; an option at its intrinsic value, `max(0, S − K)` for a call and `max(0, K − S)`
//!   for a put: an option out of the money expires worthless, at 0.
//! - Which price is "the underlying's" ([`settlement_value`]), best first: the last tick of
//!   the underlying's own instrument (`fno.underlyings`, else `NSE:<name>`); the last tick
//!   of the future on the same underlying expiring the same day (it converges to the
//!   underlying at expiry; for a future, itself); the underlying's `last_price` in the
//!   instrument master (the previous close, in a morning's master). With none of them, the
//!   contract's own last price (tick, else master) stands in as its settlement value. With
//!   no price at all the position stays open and is settled at the first event that has
//!   one.
//! - Each open position is closed by one fill ([`settlement_fill`]): client order id
//!   [`expiry_settlement_id`] (`expiry-YYYYMMDD-token-strategy`), no `Submitted` (the
//!   clearing corporation settles, nobody places an order), dated at the settlement instant,
//!   with the settlement charges of the contract's column
//!   ([`ChargeSchedule::settlement_charges`](super::ChargeSchedule::settlement_charges)).
//!   The id is deterministic, so every life of the venue names a settlement alike.
//! - Once only: a settlement fill closes its position, and a restart rebuilds positions from
//!   the fills, so a settled position is flat and never settled again; a position whose
//!   settlement never got out (the venue was down at the close, or died before
//!   publishing) is still open at the start and is settled by the first event, with the
//!   prices the new life knows (the master's, until ticks arrive; see above).
//!
//! Pure: no clock, no I/O.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::charges::ChargeColumn;
use crate::market::hours::{IST, NORMAL_END};
use crate::market::{Instrument, InstrumentKind, InstrumentRegistry};
use crate::messages::{EXPIRY_SETTLEMENT_PREFIX, Fees, OrderFilled, OrderRef};

/// What a derivative contract is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContractKind {
    #[serde(rename = "FUT")]
    Future,
    #[serde(rename = "CE")]
    Call,
    #[serde(rename = "PE")]
    Put,
}

/// A future or an option, as the venue needs it to settle at expiry. Journaled with the
/// orders placed in it, so a restart can settle it after the day's master no longer
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    pub kind: ContractKind,
    pub expiry: NaiveDate,
    /// The strike of an option; 0 for a future.
    #[serde(with = "rust_decimal::serde::str")]
    pub strike: Decimal,
    /// The token of the instrument that prices the underlying, when the registry lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub underlying: Option<u32>,
    /// The token of the future on the same underlying and exchange expiring the same day
    /// (a future's own token), when the registry lists one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub future: Option<u32>,
}

impl Contract {
    /// The instant the contract settles: 15:30 IST on its expiry date.
    pub fn settles_at(&self) -> Option<DateTime<Utc>> {
        IST.from_local_datetime(&self.expiry.and_time(NORMAL_END))
            .single()
            .map(|local| local.with_timezone(&Utc))
    }

    /// Its value per unit when the underlying settles at `underlying`: the price itself
    /// for a future, the intrinsic value for an option (0 out of the money).
    pub fn value_at(&self, underlying: Decimal) -> Decimal {
        let value = match self.kind {
            ContractKind::Future => underlying,
            ContractKind::Call => underlying.saturating_sub(self.strike),
            ContractKind::Put => self.strike.saturating_sub(underlying),
        };
        value.max(Decimal::ZERO)
    }

    /// The charge column of its executions.
    pub fn column(&self) -> ChargeColumn {
        match self.kind {
            ContractKind::Future => ChargeColumn::Futures,
            ContractKind::Call | ContractKind::Put => ChargeColumn::Options,
        }
    }
}

/// Every future and option of `registry` with an expiry, by token. `underlying_key` names
/// the instrument that prices an underlying (Kite's `name`, e.g. `NIFTY`) as
/// `EXCHANGE:SYMBOL` (`FnoSettings::underlying_key`).
pub fn contracts(
    registry: &InstrumentRegistry,
    underlying_key: impl Fn(&str) -> String,
) -> BTreeMap<u32, Contract> {
    // Indexed first, so each option finds its future in one look-up.
    let futures: BTreeMap<(&str, &str, NaiveDate), u32> = registry
        .iter()
        .filter(|i| i.kind == InstrumentKind::Future)
        .filter_map(|i| Some(((i.exchange.as_str(), i.name.as_str(), i.expiry?), i.token)))
        .collect();
    let mut underlyings: BTreeMap<&str, Option<u32>> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for instrument in registry.iter() {
        let Some((kind, expiry)) = kind_and_expiry(instrument) else {
            continue;
        };
        let name = instrument.name.as_str();
        let underlying = *underlyings
            .entry(name)
            .or_insert_with(|| registry.by_symbol(&underlying_key(name)).map(|u| u.token));
        let future = futures
            .get(&(instrument.exchange.as_str(), name, expiry))
            .copied();
        let contract = Contract {
            kind,
            expiry,
            strike: instrument.strike,
            underlying,
            future,
        };
        out.insert(instrument.token, contract);
    }
    out
}

fn kind_and_expiry(instrument: &Instrument) -> Option<(ContractKind, NaiveDate)> {
    let kind = match instrument.kind {
        InstrumentKind::Future => ContractKind::Future,
        InstrumentKind::Call => ContractKind::Call,
        InstrumentKind::Put => ContractKind::Put,
        _ => return None,
    };
    Some((kind, instrument.expiry?))
}

/// The settlement value per unit of `contract` (token `token`), from the prices the venue
/// knows: `last` (its ticks') and `listed` (the instrument master's `last_price`, `None`
/// when not positive). See the module documentation for the order; `None`: no price at
/// all.
pub fn settlement_value(
    contract: &Contract,
    token: u32,
    last: impl Fn(u32) -> Option<Decimal>,
    listed: impl Fn(u32) -> Option<Decimal>,
) -> Option<Decimal> {
    let underlying = contract
        .underlying
        .and_then(&last)
        .or_else(|| contract.future.and_then(&last))
        .or_else(|| contract.underlying.and_then(&listed));
    match underlying {
        Some(price) => Some(contract.value_at(price)),
        None => last(token).or_else(|| listed(token)),
    }
}

/// The client order id of the settlement of `strategy`'s position in `token` at the expiry
/// `date`: deterministic, so every life of the venue names it alike.
pub fn expiry_settlement_id(date: NaiveDate, strategy: &str, token: u32) -> String {
    format!(
        "{EXPIRY_SETTLEMENT_PREFIX}{}-{token}-{strategy}",
        date.format("%Y%m%d")
    )
}

/// The fill closing `quantity` of a position at `value` per unit, as [`OrderRef`] `order`
/// (whose client order id is the [`expiry_settlement_id`]) at the settlement instant `at`.
pub fn settlement_fill(
    order: OrderRef,
    quantity: u32,
    value: Decimal,
    fees: Fees,
    at: DateTime<Utc>,
) -> OrderFilled {
    OrderFilled {
        fill_id: format!("{}-1", order.client_order_id),
        order,
        quantity,
        price: value,
        fees,
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: at,
    }
}
