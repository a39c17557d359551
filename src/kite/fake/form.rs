//! Request bodies: strict `application/x-www-form-urlencoded` decoding and the field rules
//! of `POST /orders/{variety}`.
//!
//! The modify form (`PUT /orders/{variety}/{id}`) reuses the field rules (see `modify`).
//!
//! Invariants: a body decodes only when it is UTF-8, every `%` starts a two-digit hex escape
//! and the decoded bytes are UTF-8 again (no lossy replacement); the first occurrence of a
//! field wins; an empty value counts as missing. Validation reports the first bad field, by
//! name, in Kite's words ("Missing `tradingsymbol`", "Invalid `quantity`.").

use super::state::{FAKE_USER_ID, NewOrder};
use rust_decimal::Decimal;
use std::str::FromStr;

const VARIETIES: &[&str] = &["regular", "amo", "co", "iceberg", "auction"];
const EXCHANGES: &[&str] = &["NSE", "BSE", "NFO", "CDS", "BCD", "MCX", "BFO"];
const TRANSACTION_TYPES: &[&str] = &["BUY", "SELL"];
const PRODUCTS: &[&str] = &["CNC", "NRML", "MIS", "MTF"];
pub(super) const ORDER_TYPES: &[&str] = &["MARKET", "LIMIT", "SL", "SL-M"];
pub(super) const VALIDITIES: &[&str] = &["DAY", "IOC", "TTL"];
const TAG_MAX_CHARS: usize = 20;

/// Whether `variety` is one of Kite's order varieties (a path segment).
pub(super) fn is_variety(variety: &str) -> bool {
    VARIETIES.contains(&variety)
}

/// Whether `content_type` (the header's value) names a form body.
pub(super) fn is_form_content_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

/// Decodes a form body into its fields, in order.
///
/// # Errors
/// A description of the first malformed part.
pub(super) fn decode_form(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_owned())?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode_component(name)?, decode_component(value)?))
        })
        .collect()
}

fn decode_component(text: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        match first {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = tail
                    .get(..2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent escape in `{text}`"))?;
                bytes.push(hex);
                rest = &tail[2..];
                continue;
            }
            other => bytes.push(other),
        }
        rest = tail;
    }
    String::from_utf8(bytes).map_err(|_| format!("`{text}` does not decode to UTF-8"))
}

/// The first value of `name`, `None` when absent or empty.
pub(super) fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
        .filter(|value| !value.is_empty())
}

/// The first value of `name`, or Kite's "Missing" message.
///
/// # Errors
/// "Missing `name`" when absent or empty.
pub(super) fn required<'a>(form: &'a [(String, String)], name: &str) -> Result<&'a str, String> {
    field(form, name).ok_or_else(|| format!("Missing `{name}`"))
}

pub(super) fn invalid(name: &str) -> String {
    format!("Invalid `{name}`.")
}

pub(super) fn one_of(
    form: &[(String, String)],
    name: &str,
    allowed: &[&str],
) -> Result<String, String> {
    let value = required(form, name)?;
    if allowed.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(invalid(name))
    }
}

/// A non-negative integer: digits only (no sign, no fraction).
pub(super) fn count(value: &str, name: &str) -> Result<u64, String> {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        value.parse().map_err(|_| invalid(name))
    } else {
        Err(invalid(name))
    }
}

/// An optional price: absent → 0; present → a non-negative decimal.
pub(super) fn optional_price(form: &[(String, String)], name: &str) -> Result<Decimal, String> {
    match field(form, name) {
        None => Ok(Decimal::ZERO),
        Some(text) => Decimal::from_str(text)
            .ok()
            .filter(|p| !p.is_sign_negative())
            .ok_or_else(|| invalid(name)),
    }
}

/// A price the order type needs: present and > 0.
fn needed_price(form: &[(String, String)], name: &str) -> Result<Decimal, String> {
    required(form, name)?;
    let value = optional_price(form, name)?;
    if value > Decimal::ZERO {
        Ok(value)
    } else {
        Err(invalid(name))
    }
}

/// A required integer > 0.
pub(super) fn positive_count(form: &[(String, String)], name: &str) -> Result<u64, String> {
    match count(required(form, name)?, name)? {
        0 => Err(invalid(name)),
        n => Ok(n),
    }
}

fn disclosed_quantity(form: &[(String, String)], quantity: u64) -> Result<u64, String> {
    match field(form, "disclosed_quantity") {
        None => Ok(0),
        Some(text) => count(text, "disclosed_quantity")
            .ok()
            .filter(|d| *d <= quantity)
            .ok_or_else(|| invalid("disclosed_quantity")),
    }
}

/// Kite's answer to a MARKET or SL-M order without market protection.
pub const MARKET_PROTECTION_REQUIRED: &str = "Market orders without market protection are not \
     allowed via API. Please set market protection or use a Limit order.";

/// Kite's market protection: a percentage, or -1 for automatic.
pub(super) fn market_protection(form: &[(String, String)]) -> Result<i64, String> {
    match field(form, "market_protection") {
        None => Ok(0),
        Some(text) => i64::from_str(text)
            .ok()
            .filter(|m| (-1..=100).contains(m))
            .ok_or_else(|| invalid("market_protection")),
    }
}

fn tag(form: &[(String, String)]) -> Result<Option<String>, String> {
    match field(form, "tag") {
        Some(tag)
            if tag.chars().count() > TAG_MAX_CHARS
                || !tag.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            Err(invalid("tag"))
        }
        tag => Ok(tag.map(str::to_owned)),
    }
}

/// Checks a `POST /orders/{variety}` the way Kite does.
///
/// # Errors
/// Kite's message naming the first missing or invalid field (or the variety).
pub(super) fn validate_order(variety: &str, form: &[(String, String)]) -> Result<NewOrder, String> {
    if !is_variety(variety) {
        return Err(invalid("variety"));
    }
    let exchange = one_of(form, "exchange", EXCHANGES)?;
    let tradingsymbol = required(form, "tradingsymbol")?.to_owned();
    let transaction_type = one_of(form, "transaction_type", TRANSACTION_TYPES)?;
    let order_type = one_of(form, "order_type", ORDER_TYPES)?;
    let quantity = positive_count(form, "quantity")?;
    let product = one_of(form, "product", PRODUCTS)?;
    let validity = one_of(form, "validity", VALIDITIES)?;
    let price = match order_type.as_str() {
        "LIMIT" | "SL" => needed_price(form, "price")?,
        _ => optional_price(form, "price")?,
    };
    let trigger_price = match order_type.as_str() {
        "SL" | "SL-M" => needed_price(form, "trigger_price")?,
        _ => optional_price(form, "trigger_price")?,
    };
    let market_protection = market_protection(form)?;
    // Since 1 April 2026 (KITE.md): API market orders need market protection.
    if matches!(order_type.as_str(), "MARKET" | "SL-M") && market_protection == 0 {
        return Err(MARKET_PROTECTION_REQUIRED.to_owned());
    }
    let validity_ttl = match validity.as_str() {
        "TTL" => Some(positive_count(form, "validity_ttl")?),
        _ => None,
    };
    Ok(NewOrder {
        variety: variety.to_owned(),
        exchange,
        tradingsymbol,
        transaction_type,
        order_type,
        product,
        validity,
        validity_ttl,
        quantity,
        disclosed_quantity: disclosed_quantity(form, quantity)?,
        price,
        trigger_price,
        market_protection,
        tag: tag(form)?,
        placed_by: FAKE_USER_ID.to_owned(),
        form: form.to_vec(),
    })
}
