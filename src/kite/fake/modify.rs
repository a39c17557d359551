//! `PUT /orders/{variety}/{order_id}`: changes what the form sends of `quantity`, `price`,
//! `trigger_price`, `order_type`, `validity` (with `validity_ttl` for TTL),
//! `disclosed_quantity` and `market_protection`; other fields are ignored and the rest of
//! the order stays.
//!
//! Why: the engine modifies resting orders (reprices, resizes); Kite checks the changed
//! order as it checks a new one, and refuses to touch an order that has ended.
//!
//! Checks, in order (each refusal changes nothing; the words are fixed here):
//! - variety: 400 InputException "Invalid `variety`.";
//! - order exists: 400 InputException "Couldn't find that `order_id`.";
//! - not terminal: 400 OrderException "Order cannot be modified as it is complete." (or
//!   "cancelled", "rejected": the status in lower case, as the cancel route words it);
//! - each sent field as on placement ("Invalid `quantity`.", …); a new quantity not above
//!   the filled quantity: 400 InputException "Quantity should be greater than the filled
//!   quantity 4.";
//! - the changed order as a whole: a LIMIT/SL without price or an SL/SL-M without trigger
//!   ("Missing `price`" when it is 0 and not sent, "Invalid `price`." when sent as 0), a
//!   MARKET/SL-M without market protection (`MARKET_PROTECTION_REQUIRED`), a disclosed
//!   quantity above the quantity ("Invalid `disclosed_quantity`.");
//! - contract, lot, freeze and tick, then LPP (see `market`): 400 InputException, then 400
//!   OrderException.
//!
//! On success the order takes the changes, `modified` becomes true, its history gets one
//! snapshot, the answer is `{"order_id": "..."}`, and auto-execution (when on) may fill it.

use super::form::{
    MARKET_PROTECTION_REQUIRED, ORDER_TYPES, VALIDITIES, count, field, invalid, is_variety,
    market_protection, one_of, optional_price, positive_count,
};
use super::reply::{INPUT, NO_ORDER, ORDER, Reply, error, success};
use super::state::{FakeOrder, State};
use rust_decimal::Decimal;
use serde_json::json;

/// The refusal of a quantity that would not leave anything to fill.
pub fn filled_quantity_message(filled_quantity: u64) -> String {
    format!("Quantity should be greater than the filled quantity {filled_quantity}.")
}

pub(super) fn modify(
    state: &mut State,
    variety: &str,
    order_id: &str,
    form: &[(String, String)],
) -> Reply {
    if !is_variety(variety) {
        return error(400, INPUT, invalid("variety"));
    }
    let Some(order) = state.order(order_id) else {
        return error(400, INPUT, NO_ORDER);
    };
    if order.is_terminal() {
        let message = format!(
            "Order cannot be modified as it is {}.",
            order.status.to_lowercase()
        );
        return error(400, ORDER, message);
    }
    let changed = match changed(order, form) {
        Ok(changed) => changed,
        Err(message) => return error(400, INPUT, message),
    };
    if let Err(message) = state.market.check_grid(&changed.terms()) {
        return error(400, INPUT, message);
    }
    if let Err(message) = state.market.check_lpp(&changed.terms()) {
        return error(400, ORDER, message);
    }
    let applied = state
        .update(order_id, |order| {
            *order = FakeOrder {
                modified: true,
                ..changed
            };
            Ok(())
        })
        .and_then(|()| state.execute(order_id));
    match applied {
        Ok(()) => success(json!({ "order_id": order_id })),
        // Unreachable: the order exists and is not terminal (checked under the same lock).
        Err(why) => error(500, "GeneralException", why),
    }
}

/// The order with the form's changes, checked field by field and as a whole.
fn changed(order: &FakeOrder, form: &[(String, String)]) -> Result<FakeOrder, String> {
    let mut next = order.clone();
    if field(form, "order_type").is_some() {
        next.order_type = one_of(form, "order_type", ORDER_TYPES)?;
    }
    if field(form, "quantity").is_some() {
        next.quantity = positive_count(form, "quantity")?;
        if next.quantity <= order.filled_quantity {
            return Err(filled_quantity_message(order.filled_quantity));
        }
    }
    if field(form, "price").is_some() {
        next.price = optional_price(form, "price")?;
    }
    if field(form, "trigger_price").is_some() {
        next.trigger_price = optional_price(form, "trigger_price")?;
    }
    if field(form, "validity").is_some() {
        next.validity = one_of(form, "validity", VALIDITIES)?;
        next.validity_ttl = match next.validity.as_str() {
            "TTL" => Some(positive_count(form, "validity_ttl")?),
            _ => None,
        };
    }
    if let Some(text) = field(form, "disclosed_quantity") {
        next.disclosed_quantity = count(text, "disclosed_quantity")?;
    }
    if field(form, "market_protection").is_some() {
        next.market_protection = market_protection(form)?;
    }
    check_whole(&next, form)?;
    Ok(next)
}

/// What the changed order's type needs.
fn check_whole(order: &FakeOrder, form: &[(String, String)]) -> Result<(), String> {
    let needs = |name: &str, value: Decimal| match (value.is_zero(), field(form, name)) {
        (false, _) => Ok(()),
        (true, Some(_)) => Err(invalid(name)),
        (true, None) => Err(format!("Missing `{name}`")),
    };
    let order_type = order.order_type.as_str();
    if matches!(order_type, "LIMIT" | "SL") {
        needs("price", order.price)?;
    }
    if matches!(order_type, "SL" | "SL-M") {
        needs("trigger_price", order.trigger_price)?;
    }
    if matches!(order_type, "MARKET" | "SL-M") && order.market_protection == 0 {
        return Err(MARKET_PROTECTION_REQUIRED.to_owned());
    }
    if order.disclosed_quantity > order.quantity {
        return Err(invalid("disclosed_quantity"));
    }
    Ok(())
}
