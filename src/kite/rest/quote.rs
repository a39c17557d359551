//! `GET /quote/ltp`: the last traded price of instruments named `EXCHANGE:SYMBOL`.
//!
//! Used at start to find the underlying's price for subscription rules relative to ATM
//! (Kite's master carries no live price for an index). Kite answers only the instruments
//! it knows, keyed as asked; one it does not know is simply absent.

use std::collections::BTreeMap;

use reqwest::Method;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::client::KiteClient;
use super::error::KiteError;
use super::rate::Budget;
use super::types::decimal;

/// Most instruments one `GET /quote/ltp` may name (Kite's limit).
pub const MAX_LTP_INSTRUMENTS: usize = 1000;

/// One instrument of the answer.
#[derive(Debug, Clone, Deserialize)]
struct Ltp {
    #[serde(deserialize_with = "decimal")]
    last_price: Decimal,
}

impl KiteClient {
    /// The last price of each of `instruments` (`NSE:NIFTY 50`) that Kite knows.
    ///
    /// # Errors
    /// More than [`MAX_LTP_INSTRUMENTS`] named ([`KiteError::Unknown`]), or as
    /// [`place_order`](Self::place_order).
    pub async fn ltp(
        &self,
        instruments: &[String],
    ) -> Result<BTreeMap<String, Decimal>, KiteError> {
        if instruments.len() > MAX_LTP_INSTRUMENTS {
            return Err(KiteError::Unknown {
                status: None,
                message: format!(
                    "at most {MAX_LTP_INSTRUMENTS} instruments in one quote request, got {}",
                    instruments.len()
                ),
            });
        }
        if instruments.is_empty() {
            return Ok(BTreeMap::new());
        }
        let pairs: Vec<(&str, &str)> = instruments.iter().map(|i| ("i", i.as_str())).collect();
        let query = serde_urlencoded::to_string(&pairs).map_err(|e| KiteError::Unknown {
            status: None,
            message: format!("cannot encode the quote request: {e}"),
        })?;
        let path = format!("/quote/ltp?{query}");
        let answer: BTreeMap<String, Ltp> =
            self.call(Budget::Other, Method::GET, &path, None).await?;
        Ok(answer
            .into_iter()
            .map(|(key, ltp)| (key, ltp.last_price))
            .collect())
    }
}
