//! Where a signal's order goes on Kite and in what shape: exchange and trading symbol
//! from the registry, product and variety from the strategy's settings, market protection
//! or a LIMIT price in place of a market order, and the charges column of the product.

use crate::kite::orders::{Product, Variety};
use crate::market::{InstrumentKind, InstrumentRegistry};
use crate::messages::{OrderType, Side, ValidatedSignal};
use crate::paper::ChargeColumn;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Where and how a signal's order goes on Kite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTarget {
    pub exchange: String,
    pub tradingsymbol: String,
    pub product: Product,
    pub variety: Variety,
    /// The `market_protection` sent with the order: set for MARKET and SL-M orders
    /// ([`OrderTarget::protected`]), `None` otherwise (and in journal entries written
    /// before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub market_protection: Option<i32>,
    /// A market order sent as a LIMIT at this price instead ([`market_as_limit`]).
    #[serde(
        default,
        with = "rust_decimal::serde::str_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit_price: Option<Decimal>,
}

impl OrderTarget {
    /// The target with `protection` for an order of `order_type` that needs it (MARKET
    /// and SL-M: Kite rejects them without it since April 2026).
    pub fn protected(mut self, order_type: OrderType, protection: i32) -> Self {
        self.market_protection =
            matches!(order_type, OrderType::Market | OrderType::StopMarket).then_some(protection);
        self
    }

    /// The target of a market order sent as a LIMIT at `price` (no market protection).
    pub fn as_limit(mut self, price: Decimal) -> Self {
        self.limit_price = Some(price);
        self.market_protection = None;
        self
    }
}

/// The LIMIT price a market order goes out at: `last` ± `buffer_pct` percent (a buy above,
/// a sell below), rounded to `tick` towards `last` (a buy down, a sell up), so the order
/// stays within the buffer and on the exchange's price grid. `None` when no positive price
/// on the grid remains (a sell buffer of 100 %, a tick of zero).
pub fn market_as_limit(
    side: Side,
    last: Decimal,
    buffer_pct: Decimal,
    tick: Decimal,
) -> Option<Decimal> {
    if tick <= Decimal::ZERO {
        return None;
    }
    let factor = buffer_pct / Decimal::ONE_HUNDRED;
    let price = match side {
        Side::Buy => (last * (Decimal::ONE + factor) / tick).floor() * tick,
        Side::Sell => (last * (Decimal::ONE - factor) / tick).ceil() * tick,
    };
    (price > Decimal::ZERO).then(|| price.normalize())
}

/// The target of `signal`'s order.
///
/// # Errors
/// The instrument is unknown to the registry, or an index (not tradable).
pub fn order_target(
    signal: &ValidatedSignal,
    registry: &InstrumentRegistry,
    product: Product,
    variety: Variety,
) -> Result<OrderTarget, String> {
    let token = signal.signal.token;
    let instrument = registry
        .by_token(token)
        .ok_or_else(|| format!("instrument token {token} is not in the instrument registry"))?;
    if instrument.is_index() {
        return Err(format!(
            "{} is an index and cannot be traded",
            instrument.symbol
        ));
    }
    Ok(OrderTarget {
        exchange: instrument.exchange.clone(),
        tradingsymbol: instrument.symbol.clone(),
        product,
        variety,
        market_protection: None,
        limit_price: None,
    })
}

/// The charges column of an execution in an instrument of `kind` placed as `product`: a
/// future or an option is F&O whatever its product (NRML and MIS alike); an equity is
/// intraday for MIS, delivery otherwise.
pub fn charge_column(product: Product, kind: &InstrumentKind) -> ChargeColumn {
    ChargeColumn::of(kind, product)
}

/// The kind of the instrument Kite names `tradingsymbol` on `exchange`, as its master
/// writes it: on a derivatives exchange (NFO, BFO, MCX, CDS, BCD) every contract's
/// tradingsymbol ends in `FUT`, `CE` or `PE`; anything else is taken for an equity. For an
/// order record, which keeps the tradingsymbol but not the registry's row.
pub fn kind_of_symbol(exchange: &str, tradingsymbol: &str) -> InstrumentKind {
    const DERIVATIVE_EXCHANGES: [&str; 5] = ["NFO", "BFO", "MCX", "CDS", "BCD"];
    if !DERIVATIVE_EXCHANGES.contains(&exchange) {
        return InstrumentKind::Equity;
    }
    if tradingsymbol.ends_with("FUT") {
        InstrumentKind::Future
    } else if tradingsymbol.ends_with("CE") {
        InstrumentKind::Call
    } else if tradingsymbol.ends_with("PE") {
        InstrumentKind::Put
    } else {
        InstrumentKind::Other(String::new())
    }
}
