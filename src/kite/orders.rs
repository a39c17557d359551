//! The Kite order vocabulary that our own messages do not carry: the variety (the `POST /orders/{variety}` path segment). Order type,
//! side, validity and product (re-exported here) come from the signal ([`crate::messages`]).

pub use crate::messages::Product;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Kite's order `variety`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variety {
    Regular,
    /// After-market order.
    Amo,
    /// Cover order.
    Co,
    Iceberg,
    Auction,
}

impl Variety {
    pub const ALL: [Variety; 5] = [
        Variety::Regular,
        Variety::Amo,
        Variety::Co,
        Variety::Iceberg,
        Variety::Auction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Variety::Regular => "regular",
            Variety::Amo => "amo",
            Variety::Co => "co",
            Variety::Iceberg => "iceberg",
            Variety::Auction => "auction",
        }
    }
}

macro_rules! text_enum {
    ($ty:ty, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                <$ty>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| {
                        let known: Vec<&str> = <$ty>::ALL.iter().map(|v| v.as_str()).collect();
                        format!("expected {} {}, got {s:?}", $what, known.join(", "))
                    })
            }
        }
    };
}

text_enum!(Variety, "a variety:");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_and_varieties_round_trip_through_their_kite_names() {
        for p in Product::ALL {
            assert_eq!(p.as_str().parse::<Product>(), Ok(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        for v in Variety::ALL {
            assert_eq!(v.as_str().parse::<Variety>(), Ok(v));
        }
        assert_eq!(
            "mis".parse::<Product>(),
            Err("expected a product: CNC, NRML, MIS, MTF, got \"mis\"".to_owned())
        );
    }
}
