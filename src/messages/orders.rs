//! Order lifecycle events written by execution venues (paper, zerodha).

use super::common::{Broker, OrderType, Side, Validity};
use super::envelope::{EventType, Payload};
use super::signals::strategy_key;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The client order id of the order a validated signal becomes: `ap` and 18 hex digits of
/// a UUIDv5 of the validated signal's id — deterministic (a redelivered signal maps to the
/// same order) and 20 characters, Kite's `tag` limit.
pub fn client_order_id(validated_signal_id: uuid::Uuid) -> String {
    let derived = super::envelope::derive_child_id(
        validated_signal_id,
        super::envelope::EventType::OrderSubmitted,
        "client_order_id",
    );
    let hex = derived.simple().to_string();
    format!("ap{}", &hex[..18])
}

/// The client order id of the order a raw signal becomes once validated: the risk manager
/// derives the validated signal's id from the raw signal's ([`Envelope::child`] with no
/// discriminator), so the strategy runner knows its order's id when it sends the signal.
///
/// [`Envelope::child`]: super::Envelope::child
pub fn client_order_id_of_signal(signal_id: uuid::Uuid) -> String {
    client_order_id(super::envelope::derive_child_id(
        signal_id,
        super::envelope::EventType::ValidatedSignal,
        "",
    ))
}

/// Client order id prefix of fills the Zerodha execution books for Kite trades it never
/// placed (auto square-off, RMS, manual): `ext-{Kite order id}`.
pub const EXTERNAL_ORDER_PREFIX: &str = "ext-";
/// Client order id prefix of the paper venue's own auto square-off orders.
pub const AUTO_SQUARE_OFF_PREFIX: &str = "autosq-";
/// Client order id prefix of the paper venue's cash settlements of expired futures and
/// options: their fills are the one kind of fill whose price may be 0 (an option expiring
/// worthless).
pub const EXPIRY_SETTLEMENT_PREFIX: &str = "expiry-";

/// An order the venue made itself, not one a validated signal asked for.
pub fn is_venue_initiated(client_order_id: &str) -> bool {
    client_order_id.starts_with(EXTERNAL_ORDER_PREFIX)
        || client_order_id.starts_with(AUTO_SQUARE_OFF_PREFIX)
        || is_expiry_settlement(client_order_id)
}

/// True for the client order id of an expiry settlement ([`EXPIRY_SETTLEMENT_PREFIX`]).
pub fn is_expiry_settlement(client_order_id: &str) -> bool {
    client_order_id.starts_with(EXPIRY_SETTLEMENT_PREFIX)
}

/// Identifies an order in every lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRef {
    /// Our id, derived deterministically from the validated signal (Kite's `tag`).
    pub client_order_id: String,
    /// The venue's id, once it has answered.
    pub broker_order_id: Option<String>,
    pub strategy_id: String,
    pub broker: Broker,
    pub token: u32,
    pub symbol: String,
    pub side: Side,
}

impl OrderRef {
    fn check(&self) -> Result<(), String> {
        if self.client_order_id.is_empty() {
            return Err("order.client_order_id: must not be empty".into());
        }
        if self.strategy_id.is_empty() {
            return Err("order.strategy_id: must not be empty".into());
        }
        Ok(())
    }
}

/// The venue accepted the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSubmitted {
    pub order: OrderRef,
    pub quantity: u32,
    pub order_type: OrderType,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub price: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub trigger_price: Option<Decimal>,
    pub validity: Validity,
}

/// Charges on one execution, each rounded to the paisa; `total` is their sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    #[serde(with = "rust_decimal::serde::str")]
    pub brokerage: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub stt: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub exchange_txn: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub sebi: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub stamp_duty: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub gst: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
}

impl Fees {
    fn check(&self) -> Result<(), String> {
        let parts = [
            self.brokerage,
            self.stt,
            self.exchange_txn,
            self.sebi,
            self.stamp_duty,
            self.gst,
        ];
        if parts.iter().any(|p| p.is_sign_negative()) {
            return Err("fees: charges must not be negative".into());
        }
        // Checked: a crafted record of huge charges is refused, never a panic.
        let Some(sum) = parts
            .iter()
            .try_fold(Decimal::ZERO, |sum, p| sum.checked_add(*p))
        else {
            return Err("fees: the charges add up beyond any amount".into());
        };
        if sum != self.total {
            return Err(format!(
                "fees.total: {} is not the sum of the charges ({sum})",
                self.total
            ));
        }
        Ok(())
    }
}

/// One execution (a partial or the final fill) of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderFilled {
    pub order: OrderRef,
    /// Unique per execution (Kite's trade id, or derived by the paper venue).
    pub fill_id: String,
    pub quantity: u32,
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    pub fees: Fees,
    /// Filled so far, this execution included.
    pub cumulative_quantity: u32,
    pub order_quantity: u32,
    pub filled_at: DateTime<Utc>,
}

/// Why an order ended without (complete) execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderFailureKind {
    /// The venue refused it (Kite 4xx, or the paper venue's own checks).
    Rejected,
    Cancelled,
    /// DAY order reached the session close; IOC/FOK could not fill.
    Expired,
    InsufficientFunds,
    ShortingNotAllowed,
    /// The venue has no record of it: its placement never reached the venue (Kite had no
    /// order with its tag long after a placement whose answer was lost), a dry run, or a
    /// session Kite refused earlier. Never re-sent.
    NotPlaced,
    /// Not sent: the rate limits (ours, or Kite's 429s) allowed no slot before the
    /// placement's deadline. Never re-sent.
    RateLimited,
    /// Not sent: the signal was older than `zerodha.max_signal_age_secs` when its order
    /// would have gone out. Never re-sent.
    Stale,
}

impl OrderFailureKind {
    /// Every kind, in declaration order (the metrics declare one series per kind at start).
    pub const ALL: [OrderFailureKind; 8] = [
        OrderFailureKind::Rejected,
        OrderFailureKind::Cancelled,
        OrderFailureKind::Expired,
        OrderFailureKind::InsufficientFunds,
        OrderFailureKind::ShortingNotAllowed,
        OrderFailureKind::NotPlaced,
        OrderFailureKind::RateLimited,
        OrderFailureKind::Stale,
    ];
}

/// A terminal failure of an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderFailed {
    pub order: OrderRef,
    pub quantity: u32,
    /// Quantity filled before the order ended (partial fills stay valid).
    pub filled_quantity: u32,
    pub kind: OrderFailureKind,
    /// The venue's own words (Kite's message) or ours.
    pub message: String,
}

/// What an execution venue (paper or Kite) reports about an order; the execution actors
/// turn each into an envelope on its topic. Serialisable so a venue can journal what a
/// placement produced and publish exactly that again after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum VenueEvent {
    Submitted(OrderSubmitted),
    Filled(OrderFilled),
    Failed(OrderFailed),
}

macro_rules! order_payload {
    ($ty:ty, $event:expr, $check:expr) => {
        impl Payload for $ty {
            const TYPE: EventType = $event;
            fn partition_key(&self) -> String {
                strategy_key(&self.order.strategy_id, self.order.token)
            }
            fn broker(&self) -> Option<Broker> {
                Some(self.order.broker)
            }
            fn validate(&self) -> Result<(), String> {
                self.order.check()?;
                let check: fn(&$ty) -> Result<(), String> = $check;
                check(self)
            }
        }
    };
}

order_payload!(OrderSubmitted, EventType::OrderSubmitted, |o| {
    if o.quantity == 0 {
        return Err("quantity: must be positive".into());
    }
    Ok(())
});

order_payload!(OrderFilled, EventType::OrderFilled, |f| {
    if f.quantity == 0 {
        return Err("quantity: a fill must be positive".into());
    }
    // An option expiring worthless settles at 0; every traded price is positive.
    let worthless = f.price.is_zero() && is_expiry_settlement(&f.order.client_order_id);
    if f.price <= Decimal::ZERO && !worthless {
        return Err(format!(
            "price: a fill price must be positive, got {}",
            f.price
        ));
    }
    if f.cumulative_quantity < f.quantity || f.cumulative_quantity > f.order_quantity {
        return Err(format!(
            "cumulative_quantity: {} must lie between the fill ({}) and the order quantity ({})",
            f.cumulative_quantity, f.quantity, f.order_quantity
        ));
    }
    f.fees.check()
});

order_payload!(OrderFailed, EventType::OrderFailed, |f| {
    if f.filled_quantity >= f.quantity && f.quantity > 0 {
        return Err("filled_quantity: a fully filled order cannot fail".into());
    }
    Ok(())
});
