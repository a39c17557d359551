//! The `--sweep` grammar: `name=start..end:step` (inclusive end) or `name=a|b|c`, parts
//! separated by commas, e.g. `fast=5..20:5,slow=20..60:10`. Pure text to values; which
//! strategy a name means is [`super::plan`]'s business.
//!
//! Invariants: a range's values are exact (`Decimal` arithmetic, never floats); a range whose
//! bounds and step are all integers gives integer values (TOML integers), any other gives
//! decimal values (TOML strings, which the strategies' decimal fields read exactly); no
//! range is expanded before its length is known to be at most [`MAX_COMBINATIONS`].

use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// The most combinations a sweep may have (and so the most values one part may give).
pub const MAX_COMBINATIONS: u64 = 10_000;

/// One value a parameter takes in a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Integer(i64),
    /// Exact; written into the params as a string (`"0.0005"`).
    Decimal(Decimal),
    /// A list item that is not a number (a kind's enum-like field).
    Text(String),
}

impl ParamValue {
    /// The value as the strategy's `params` table holds it.
    pub fn to_toml(&self) -> toml::Value {
        match self {
            ParamValue::Integer(i) => toml::Value::Integer(*i),
            ParamValue::Decimal(d) => toml::Value::String(d.normalize().to_string()),
            ParamValue::Text(t) => toml::Value::String(t.clone()),
        }
    }

    /// The value as a number, for ordering and colouring; `None` for text.
    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            ParamValue::Integer(i) => Some(Decimal::from(*i)),
            ParamValue::Decimal(d) => Some(*d),
            ParamValue::Text(_) => None,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Integer(i) => write!(f, "{i}"),
            ParamValue::Decimal(d) => write!(f, "{}", d.normalize()),
            ParamValue::Text(t) => f.write_str(t),
        }
    }
}

/// One part of the spec: a parameter name as written and its values, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxisSpec {
    /// `strategy_id` of a qualified name (`ema_cross_1.fast`), `None` for a bare one.
    pub strategy: Option<String>,
    pub param: String,
    pub values: Vec<ParamValue>,
}

impl AxisSpec {
    /// The name as written.
    pub fn name(&self) -> String {
        match &self.strategy {
            Some(id) => format!("{id}.{}", self.param),
            None => self.param.clone(),
        }
    }
}

/// A spec that cannot be swept; the message names the part and says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SweepError {
    /// A part of the text is malformed or out of range.
    #[error("--sweep part `{part}`: {reason}")]
    Part { part: String, reason: String },
    /// The combinations are too many.
    #[error("--sweep gives {count} combinations, more than the {max} allowed; use fewer values")]
    TooMany { count: String, max: u64 },
}

fn part_error(part: &str, reason: impl Into<String>) -> SweepError {
    SweepError::Part {
        part: part.to_owned(),
        reason: reason.into(),
    }
}

/// Parses the whole spec.
///
/// # Errors
/// The first malformed part (empty, no `=`, a bad name, a bad range or list, a name given
/// twice), or more than [`MAX_COMBINATIONS`] combinations.
pub fn parse(spec: &str) -> Result<Vec<AxisSpec>, SweepError> {
    if spec.trim().is_empty() {
        return Err(part_error(
            spec,
            "empty; expected e.g. fast=5..20:5,slow=20..60:10",
        ));
    }
    let mut axes: Vec<AxisSpec> = Vec::new();
    let mut count: u64 = 1;
    for part in spec.split(',') {
        let axis = parse_part(part.trim())?;
        if axes.iter().any(|a| a.name() == axis.name()) {
            return Err(part_error(part, "this parameter is already swept"));
        }
        let len = u64::try_from(axis.values.len()).unwrap_or(u64::MAX);
        count = count.saturating_mul(len);
        if count > MAX_COMBINATIONS {
            return Err(SweepError::TooMany {
                count: too_many(&axes, &axis),
                max: MAX_COMBINATIONS,
            });
        }
        axes.push(axis);
    }
    Ok(axes)
}

/// The count of combinations once `last` joins `axes`, as text (it may overflow u64).
fn too_many(axes: &[AxisSpec], last: &AxisSpec) -> String {
    let product = axes
        .iter()
        .chain(std::iter::once(last))
        .try_fold(1u64, |n, a| {
            n.checked_mul(u64::try_from(a.values.len()).ok()?)
        });
    match product {
        Some(n) => n.to_string(),
        None => "more than 2^64".to_owned(),
    }
}

fn parse_part(part: &str) -> Result<AxisSpec, SweepError> {
    let Some((name, values)) = part.split_once('=') else {
        return Err(part_error(
            part,
            "expected name=start..end:step or name=a|b|c",
        ));
    };
    let (strategy, param) = match name.trim().split_once('.') {
        Some((id, param)) => (Some(check_name(part, id, "strategy id")?), param),
        None => (None, name.trim()),
    };
    let param = check_name(part, param, "parameter name")?;
    let values = values.trim();
    let values = if values.contains("..") {
        parse_range(part, values)?
    } else {
        parse_list(part, values)?
    };
    Ok(AxisSpec {
        strategy,
        param,
        values,
    })
}

/// Ids and parameter names: ASCII letters, digits, `_` and `-`, not empty.
fn check_name(part: &str, name: &str, what: &str) -> Result<String, SweepError> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(part_error(
            part,
            format!("{what} {name:?} must be ASCII letters, digits, '_' and '-'"),
        ))
    }
}

fn number(part: &str, what: &str, text: &str) -> Result<Decimal, SweepError> {
    Decimal::from_str(text.trim())
        .map_err(|_| part_error(part, format!("{what} {:?} is not a number", text.trim())))
}

fn parse_range(part: &str, text: &str) -> Result<Vec<ParamValue>, SweepError> {
    let (bounds, step) = match text.split_once(':') {
        Some((bounds, step)) => (bounds, Some(step)),
        None => (text, None),
    };
    let Some((start, end)) = bounds.split_once("..") else {
        return Err(part_error(part, "expected start..end:step"));
    };
    let start = number(part, "start", start)?;
    let end = number(part, "end", end)?;
    let step = match step {
        Some(step) => number(part, "step", step)?,
        None => Decimal::ONE,
    };
    if step <= Decimal::ZERO {
        return Err(part_error(
            part,
            format!("step must be above 0, got {step}"),
        ));
    }
    if end < start {
        return Err(part_error(
            part,
            format!("end {end} is below start {start}"),
        ));
    }
    let steps = (end - start)
        .checked_div(step)
        .map(|s| s.floor())
        .ok_or_else(|| part_error(part, "too many values"))?;
    if steps >= Decimal::from(MAX_COMBINATIONS) {
        return Err(part_error(
            part,
            format!("gives more than {MAX_COMBINATIONS} values; use a larger step"),
        ));
    }
    let integers = [start, end, step].iter().all(|d| d.fract().is_zero());
    let mut values = Vec::new();
    let mut value = start;
    while value <= end {
        values.push(if integers {
            let i = i64::try_from(value)
                .map_err(|_| part_error(part, format!("{value} is out of the integer range")))?;
            ParamValue::Integer(i)
        } else {
            ParamValue::Decimal(value)
        });
        value = value
            .checked_add(step)
            .ok_or_else(|| part_error(part, "the range overflows"))?;
    }
    Ok(values)
}

fn parse_list(part: &str, text: &str) -> Result<Vec<ParamValue>, SweepError> {
    let mut values = Vec::new();
    for item in text.split('|').map(str::trim) {
        if item.is_empty() {
            return Err(part_error(
                part,
                "empty value; expected start..end:step or a|b|c",
            ));
        }
        let value = match (item.parse::<i64>(), Decimal::from_str(item)) {
            (Ok(i), _) => ParamValue::Integer(i),
            (Err(_), Ok(d)) => ParamValue::Decimal(d),
            _ => ParamValue::Text(item.to_owned()),
        };
        if values.contains(&value) {
            return Err(part_error(part, format!("{item} is listed twice")));
        }
        values.push(value);
    }
    Ok(values)
}
