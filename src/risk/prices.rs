//! An order's price and value as every rule reads them, and money shown to the paisa:
//! shared by the rules, the F&O exposure and the loss limits, so none imports another
//! for them.

use rust_decimal::Decimal;

use crate::messages::TradingSignal;

/// Quantity × (limit price, else trigger price, else reference price); saturates.
pub(crate) fn order_value(signal: &TradingSignal) -> Decimal {
    order_price(signal).saturating_mul(Decimal::from(signal.quantity))
}

/// The limit price, else the trigger price, else the reference price.
pub(crate) fn order_price(signal: &TradingSignal) -> Decimal {
    signal
        .price
        .or(signal.trigger_price)
        .unwrap_or(signal.reference_price)
}

/// `amount` rounded (half to even) to the paisa and always shown with two decimals.
pub(crate) fn to_paisa(amount: Decimal) -> Decimal {
    let mut rounded = amount.round_dp(2);
    rounded.rescale(2);
    rounded
}
