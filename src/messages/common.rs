//! Small enums shared by several payloads.

use serde::{Deserialize, Serialize};
use std::fmt;

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
