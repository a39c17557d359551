//! Which instruments the paper venue can trade: not indices. An index (NIFTY 50, NIFTY
//! BANK: segment INDICES, token segment 9) has prices but no order book; Kite refuses
//! orders for it, and so does the venue. A strategy configured to trade one on paper is a
//! configuration error, found at start by [`index_problems`] rather than by a refused
//! order at the first signal.

use crate::market::InstrumentRegistry;

/// The problems of a strategy `strategy` trading `instruments` (registry symbols) on
/// paper: one `(setting key, message)` per index among them, in order. Symbols the
/// registry does not know are someone else's error and are skipped here.
pub fn index_problems(
    strategy: &str,
    instruments: &[String],
    registry: &InstrumentRegistry,
) -> Vec<(String, String)> {
    instruments
        .iter()
        .enumerate()
        .filter_map(|(i, symbol)| {
            let instrument = registry.by_symbol(symbol)?;
            let index = instrument.is_index() || instrument.segment.eq_ignore_ascii_case("INDICES");
            index.then(|| {
                (
                    format!("strategies.{strategy}.instruments[{i}]"),
                    format!(
                        "\"{symbol}\" is an index (segment {}): it has prices but cannot be \
                         traded, and the paper venue refuses its orders as Kite does; trade \
                         its futures or options, or use it only as a signal input",
                        instrument.segment
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_among_a_strategys_instruments_are_named_by_setting_key() {
        let registry = InstrumentRegistry::embedded().unwrap_or_default();
        let instruments: Vec<String> = ["RELIANCE", "NIFTY 50", "UNKNOWN", "NIFTY BANK"]
            .map(String::from)
            .into();
        let problems = index_problems("idx", &instruments, &registry);
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "strategies.idx.instruments[1]",
                "strategies.idx.instruments[3]"
            ]
        );
        assert!(
            problems[0]
                .1
                .starts_with("\"NIFTY 50\" is an index (segment INDICES)"),
            "{}",
            problems[0].1
        );
        let tradable = ["RELIANCE".to_owned(), "INFY".to_owned()];
        assert!(index_problems("ok", &tradable, &registry).is_empty());
    }
}
