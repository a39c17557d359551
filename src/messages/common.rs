//! Small enums shared by several payloads.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The execution namespace. `paper` and `zerodha` never share topics, keys or state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Broker {
    Paper,
    Zerodha,
}

impl Broker {
    /// Every broker namespace, in a stable order.
    pub const ALL: [Broker; 2] = [Broker::Paper, Broker::Zerodha];

    /// The namespace as it appears in topic names and keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Broker::Paper => "paper",
            Broker::Zerodha => "zerodha",
        }
    }
}

impl fmt::Display for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    Buy,
    Sell,
}

/// Order types as Kite names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderType {
    #[serde(rename = "MARKET")]
    Market,
    #[serde(rename = "LIMIT")]
    Limit,
    /// Stop-loss limit: triggers at `trigger_price`, then rests at `price`.
    #[serde(rename = "SL")]
    StopLimit,
    /// Stop-loss market: triggers at `trigger_price`, then fills at market.
    #[serde(rename = "SL-M")]
    StopMarket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Validity {
    Day,
    Ioc,
    /// Fill-or-kill: paper trading only; Kite has no FOK validity.
    Fok,
}

/// Kite's `product` (margin treatment), as a strategy may ask for it; only Zerodha
/// orders carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Product {
    /// Delivery (cash and carry).
    Cnc,
    /// Normal: overnight F&O positions.
    Nrml,
    /// Intraday, squared off by the broker before the close.
    Mis,
    /// Margin trading facility.
    Mtf,
}

impl Product {
    pub const ALL: [Product; 4] = [Product::Cnc, Product::Nrml, Product::Mis, Product::Mtf];

    pub fn as_str(self) -> &'static str {
        match self {
            Product::Cnc => "CNC",
            Product::Nrml => "NRML",
            Product::Mis => "MIS",
            Product::Mtf => "MTF",
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Product {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Product::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Product::ALL.iter().map(|v| v.as_str()).collect();
                format!("expected a product: {}, got {s:?}", known.join(", "))
            })
    }
}
