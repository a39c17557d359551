//! Subscription rules: a line naming derivatives by what they are, resolved against the
//! master at start (`NIFTY:CE,PE:ATM±3:current_week` is the 14 NIFTY options of the
//! nearest expiry whose strikes lie within three strikes of the money).
//!
//! Grammar (spaces around parts are ignored, words are case-insensitive):
//! ```text
//! UNDERLYING:RIGHTS:STRIKES:EXPIRY     options
//! UNDERLYING:FUT:EXPIRY                the future
//! RIGHTS  = CE | PE | CE,PE
//! STRIKES = ATM | ATM±N | ATM+-N       ATM and N strikes each side
//!         | ATM+N | ATM-N              the one strike N up / down the chain
//!         | OTMN | ITMN                N strikes out of / into the money, per right
//!         | 26000                      that strike
//! EXPIRY  = current_week | next_week | current_month | next_month | YYYY-MM-DD
//! ```
//! `UNDERLYING` is Kite's `name` of the derivatives (`NIFTY`, `BANKNIFTY`). In
//! `feed.subscriptions` a rule is followed by `:mode` like any symbol. A text whose second
//! part is not `CE`, `PE` or `FUT` is not a rule (`NSE:RELIANCE` stays a symbol).
//!
//! Resolution needs the day (for the expiry) and, for strikes relative to ATM, the
//! underlying's price; see [`OptionChains`] for how ATM and the expiry calendar are read.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::derivatives::{ExpiryChoice, OptionChains, Right};

/// Which strikes of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strikes {
    /// ATM and `n` listed strikes each side.
    AroundAtm(u32),
    /// The one strike `n` listed strikes up (n > 0) or down from ATM.
    FromAtm(i64),
    /// `n` strikes out of the money, per right.
    Otm(u32),
    /// `n` strikes in the money, per right.
    Itm(u32),
    /// This strike.
    At(Decimal),
}

/// What a rule selects: options of some rights and strikes, or the future.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contracts {
    Options {
        rights: Vec<Right>,
        strikes: Strikes,
    },
    Future,
}

/// A parsed subscription rule; `Display` writes it back in the grammar's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRule {
    /// Kite's `name` of the derivatives.
    pub underlying: String,
    pub contracts: Contracts,
    pub expiry: ExpiryChoice,
}

/// What a rule needs from outside the master to resolve.
#[derive(Debug, Clone, Copy)]
pub struct RuleInputs {
    /// The IST trading day: expiries before it are gone.
    pub today: NaiveDate,
    /// The underlying's price, for strikes relative to ATM.
    pub price: Option<Decimal>,
}

impl ChainRule {
    /// True if `text` is meant as a rule (its second part is `CE`, `PE` or `FUT`), so a
    /// parse error is the rule's error, not an unknown symbol.
    pub fn looks_like_rule(text: &str) -> bool {
        text.split(':').nth(1).is_some_and(|rights| {
            rights
                .split(',')
                .all(|r| matches!(r.trim().to_ascii_uppercase().as_str(), "CE" | "PE" | "FUT"))
        })
    }

    /// The tokens the rule selects on `inputs.today` at `inputs.price`, in chain order
    /// (strike ascending, calls before puts).
    ///
    /// # Errors
    /// The underlying has no derivatives, the expiry is not listed, the price is missing
    /// for an ATM-relative rule, or a strike lies beyond the chain.
    pub fn resolve(&self, chains: &OptionChains, inputs: RuleInputs) -> Result<Vec<u32>, String> {
        let underlying = self.underlying.as_str();
        if chains.expiries(underlying).is_empty() {
            let known = chains.underlyings();
            let shown: Vec<&str> = known.iter().take(12).copied().collect();
            return Err(format!(
                "{underlying} has no futures or options in the instrument master (underlyings: {}{})",
                shown.join(", "),
                if known.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            ));
        }
        let expiry = chains
            .expiry(underlying, self.expiry, inputs.today)
            .ok_or_else(|| {
                format!(
                    "{underlying} lists no {} expiry on or after {} (expiries: {})",
                    self.expiry.name(),
                    inputs.today,
                    listed(&chains.expiries(underlying))
                )
            })?;
        let (rights, strikes) = match &self.contracts {
            Contracts::Future => {
                return chains
                    .future(underlying, expiry)
                    .map(|token| vec![token])
                    .ok_or_else(|| format!("{underlying} lists no future expiring {expiry}"));
            }
            Contracts::Options { rights, strikes } => (rights, *strikes),
        };
        let mut picked: Vec<(Decimal, Right)> = Vec::new();
        for &right in rights {
            for strike in self.strikes_for(chains, expiry, strikes, right, inputs.price)? {
                picked.push((strike, right));
            }
        }
        picked.sort();
        picked.dedup();
        picked
            .into_iter()
            .map(|(strike, right)| {
                chains
                    .option(underlying, expiry, strike, right)
                    .ok_or_else(|| {
                        format!(
                            "{underlying} {expiry} lists no {} at strike {strike}",
                            right.as_str()
                        )
                    })
            })
            .collect()
    }

    fn strikes_for(
        &self,
        chains: &OptionChains,
        expiry: NaiveDate,
        strikes: Strikes,
        right: Right,
        price: Option<Decimal>,
    ) -> Result<Vec<Decimal>, String> {
        let underlying = self.underlying.as_str();
        if let Strikes::At(strike) = strikes {
            return Ok(vec![strike]);
        }
        let price = price.ok_or_else(|| {
            format!("{underlying}: the underlying's price is unknown, so ATM cannot be found")
        })?;
        let atm = chains
            .atm_strike(underlying, expiry, price)
            .ok_or_else(|| format!("{underlying} {expiry} lists no strikes"))?;
        let beyond = |steps: i64| {
            format!(
                "{underlying} {expiry}: {steps:+} strikes from ATM {atm} (price {price}) is \
                 beyond the listed strikes ({} to {})",
                chains
                    .strikes(underlying, expiry)
                    .first()
                    .copied()
                    .unwrap_or_default(),
                chains
                    .strikes(underlying, expiry)
                    .last()
                    .copied()
                    .unwrap_or_default()
            )
        };
        let one = |steps: i64| {
            chains
                .strike_offset(underlying, expiry, atm, steps)
                .ok_or_else(|| beyond(steps))
        };
        let per_right = |n: u32, otm: bool| {
            let n = i64::from(n);
            let up = if otm { n } else { -n };
            match right {
                Right::Call => up,
                Right::Put => -up,
            }
        };
        match strikes {
            Strikes::AroundAtm(n) => {
                let n = i64::from(n);
                (-n..=n).map(one).collect()
            }
            Strikes::FromAtm(steps) => Ok(vec![one(steps)?]),
            Strikes::Otm(n) => Ok(vec![one(per_right(n, true))?]),
            Strikes::Itm(n) => Ok(vec![one(per_right(n, false))?]),
            Strikes::At(_) => unreachable!("handled above"),
        }
    }
}

fn listed(dates: &[NaiveDate]) -> String {
    if dates.is_empty() {
        return "none".into();
    }
    let shown: Vec<String> = dates.iter().take(6).map(ToString::to_string).collect();
    shown.join(", ") + if dates.len() > 6 { ", …" } else { "" }
}

/// The grammar, as shown in errors.
pub const RULE_SHAPE: &str = "UNDERLYING:CE|PE|CE,PE:ATM|ATM±N|ATM+N|ATM-N|OTMN|ITMN|STRIKE:\
                              current_week|next_week|current_month|next_month|YYYY-MM-DD, or \
                              UNDERLYING:FUT:EXPIRY";

impl FromStr for ChainRule {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split(':').map(str::trim).collect();
        let bad = |what: String| format!("{what} in {text:?} (expected {RULE_SHAPE})");
        let underlying = parts.first().copied().unwrap_or_default();
        if underlying.is_empty() {
            return Err(bad("no underlying".into()));
        }
        let rights_text = parts
            .get(1)
            .copied()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let (contracts, expiry_text) = if rights_text == "FUT" {
            let [_, _, expiry] = parts[..] else {
                return Err(bad(format!(
                    "a future rule has 3 parts, got {}",
                    parts.len()
                )));
            };
            (Contracts::Future, expiry)
        } else {
            let [_, _, strikes, expiry] = parts[..] else {
                return Err(bad(format!(
                    "an option rule has 4 parts, got {}",
                    parts.len()
                )));
            };
            let mut rights = Vec::new();
            for right in rights_text.split(',').map(str::trim) {
                rights.push(match right {
                    "CE" => Right::Call,
                    "PE" => Right::Put,
                    other => return Err(bad(format!("right {other:?} is not CE or PE"))),
                });
            }
            let strikes = parse_strikes(strikes)
                .ok_or_else(|| bad(format!("strikes {strikes:?} are not understood")))?;
            (Contracts::Options { rights, strikes }, expiry)
        };
        let expiry = parse_expiry(expiry_text)
            .ok_or_else(|| bad(format!("expiry {expiry_text:?} is not understood")))?;
        Ok(ChainRule {
            underlying: underlying.to_ascii_uppercase(),
            contracts,
            expiry,
        })
    }
}

fn parse_strikes(text: &str) -> Option<Strikes> {
    let upper = text.to_ascii_uppercase();
    let number = |t: &str| t.trim().parse::<u32>().ok();
    if upper == "ATM" {
        return Some(Strikes::AroundAtm(0));
    }
    if let Some(rest) = upper.strip_prefix("ATM") {
        if let Some(n) = rest.strip_prefix('±').or_else(|| rest.strip_prefix("+-")) {
            return number(n).map(Strikes::AroundAtm);
        }
        if let Some(n) = rest.strip_prefix('+') {
            return number(n).map(|n| Strikes::FromAtm(i64::from(n)));
        }
        if let Some(n) = rest.strip_prefix('-') {
            return number(n).map(|n| Strikes::FromAtm(-i64::from(n)));
        }
        return None;
    }
    if let Some(n) = upper.strip_prefix("OTM") {
        return number(n).map(Strikes::Otm);
    }
    if let Some(n) = upper.strip_prefix("ITM") {
        return number(n).map(Strikes::Itm);
    }
    Decimal::from_str(text)
        .ok()
        .filter(|d| *d > Decimal::ZERO)
        .map(Strikes::At)
}

fn parse_expiry(text: &str) -> Option<ExpiryChoice> {
    Some(match text.to_ascii_lowercase().as_str() {
        "current_week" => ExpiryChoice::CurrentWeek,
        "next_week" => ExpiryChoice::NextWeek,
        "current_month" => ExpiryChoice::CurrentMonth,
        "next_month" => ExpiryChoice::NextMonth,
        date => ExpiryChoice::On(NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?),
    })
}

impl fmt::Display for ChainRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.contracts {
            Contracts::Future => write!(f, "{}:FUT:{}", self.underlying, self.expiry.name()),
            Contracts::Options { rights, strikes } => {
                let rights: Vec<&str> = rights.iter().map(|r| r.as_str()).collect();
                let strikes = match strikes {
                    Strikes::AroundAtm(0) => "ATM".to_owned(),
                    Strikes::AroundAtm(n) => format!("ATM±{n}"),
                    Strikes::FromAtm(n) => format!("ATM{n:+}"),
                    Strikes::Otm(n) => format!("OTM{n}"),
                    Strikes::Itm(n) => format!("ITM{n}"),
                    Strikes::At(strike) => strike.to_string(),
                };
                write!(
                    f,
                    "{}:{}:{strikes}:{}",
                    self.underlying,
                    rights.join(","),
                    self.expiry.name()
                )
            }
        }
    }
}
