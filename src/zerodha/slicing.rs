//! Slicing: how one signal's quantity becomes at most `fno.max_slices` Kite orders when
//! it is above the exchange's freeze quantity for the instrument's underlying.
//!
//! The plan ([`plan_slices`]) is a pure function of the quantity and the [`SliceRules`]:
//! - Slice size: the largest multiple of the lot size not above the freeze quantity. A
//!   freeze quantity below one lot (a configuration error: the exchange always admits a
//!   lot) gives one-lot slices, so the orders still go out and Kite's answer decides.
//! - Full slices, then the remainder: `ceil(Q / size)` slices, every one of `size` but the
//!   last, which carries what is left. That is what Kite's own auto-slicing does, and it
//!   puts the most quantity in the earliest slices (the first in the exchange's queue).
//!   Equal slices would be no fewer orders and no better priced.
//! - More slices than `max_slices` refuses the order with a reason naming the numbers: the
//!   risk manager should have refused it already, but execution does not trust that.
//! - A quantity that is not a whole number of lots is refused as well: every slice after
//!   the first would be refused by Kite anyway, after the first had filled.
//! - No freeze quantity (not a derivative, or an underlying not configured): one order.
//! - Only exchanges whose order quantities are in units (NSE, BSE, NFO, BFO) have lots
//!   and freezes checked here: MCX and the currency segments take quantities in lots, so
//!   their orders go out as the signal says, as before.
//!
//! Each slice is its own Kite order with its own tag ([`slice_tag`]); an order that is
//! not sliced keeps the signal's client order id as its tag.

use crate::market::Instrument;
use crate::settings::FnoSettings;

/// What decides how an order is sliced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceRules {
    /// Units per lot (an instrument master's 0 counts as 1).
    pub lot_size: u32,
    /// The largest quantity the exchange accepts in one order; `None`: no limit known.
    pub freeze_quantity: Option<u32>,
    /// The most orders one signal may become (`fno.max_slices`).
    pub max_slices: u32,
}

/// Exchanges whose order quantities are in units, a multiple of the lot size.
const UNIT_EXCHANGES: [&str; 4] = ["NSE", "BSE", "NFO", "BFO"];

impl SliceRules {
    /// The rules of an order for `instrument`: its lot size, and for a future or an
    /// option the freeze quantity of its underlying (`Instrument.name`, e.g. `NIFTY`).
    /// Neither on an exchange that counts lots (see the module docs).
    pub fn of(instrument: &Instrument, fno: &FnoSettings) -> SliceRules {
        let units = UNIT_EXCHANGES.contains(&instrument.exchange.as_str());
        let freeze_quantity = (units && instrument.kind.is_derivative())
            .then(|| fno.freeze_quantity(&instrument.name))
            .flatten();
        SliceRules {
            lot_size: if units { instrument.lot_size } else { 1 },
            freeze_quantity,
            max_slices: fno.max_slices,
        }
    }
}

/// The quantity of each slice of an order of `quantity` units, in placement order; one
/// entry when the order is not sliced.
///
/// # Errors
/// A zero quantity, a quantity that is not a whole number of lots, or one that needs more
/// than `max_slices` slices; the message names the numbers.
pub fn plan_slices(quantity: u32, rules: &SliceRules) -> Result<Vec<u32>, String> {
    let lot = rules.lot_size.max(1);
    if quantity == 0 {
        return Err("quantity 0: nothing to order".into());
    }
    if !quantity.is_multiple_of(lot) {
        return Err(format!(
            "quantity {quantity} is not a multiple of the lot size {lot}"
        ));
    }
    let Some(freeze) = rules.freeze_quantity else {
        return Ok(vec![quantity]);
    };
    let size = (freeze / lot).max(1) * lot;
    let count = quantity.div_ceil(size);
    if count > rules.max_slices {
        return Err(format!(
            "quantity {quantity} needs {count} orders of at most {size} (freeze quantity \
             {freeze}, lot {lot}), more than fno.max_slices ({})",
            rules.max_slices
        ));
    }
    let mut slices = vec![size; count as usize - 1];
    slices.push(quantity - size * (count - 1));
    Ok(slices)
}

/// Kite's tag of slice `index` (from 0) of the order `client_order_id` when the order is
/// sliced: the order id's first 17 characters, `s`, and the slice's number from 01 to 10.
/// Still 20 alphanumeric characters (Kite's limit, which the order id fills already), and
/// never another order's id: after `ap` an order id has hex digits only, and `s` is none.
pub fn slice_tag(client_order_id: &str, index: usize) -> String {
    let stem = client_order_id.get(..17).unwrap_or(client_order_id);
    format!("{stem}s{:02}", index + 1)
}

/// Whether `tag` has the shape of a [`slice_tag`] (the order it belongs to is found
/// through the journal, not from the tag).
pub fn is_slice_tag(tag: &str) -> bool {
    tag.len() == 20
        && tag.starts_with("ap")
        && tag.as_bytes()[17] == b's'
        && tag[18..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(lot_size: u32, freeze_quantity: Option<u32>, max_slices: u32) -> SliceRules {
        SliceRules {
            lot_size,
            freeze_quantity,
            max_slices,
        }
    }

    /// Independent checks of any plan: every slice a whole number of lots, none above the
    /// slice size, the sum the quantity, full slices first.
    fn check(plan: &[u32], quantity: u32, lot: u32, size: u32) {
        assert_eq!(plan.iter().sum::<u32>(), quantity, "{plan:?}");
        assert!(plan.iter().all(|q| q % lot == 0 && *q > 0 && *q <= size));
        assert!(plan[..plan.len() - 1].iter().all(|q| *q == size));
    }

    #[test]
    fn boundaries_of_the_freeze_quantity() {
        // NIFTY-like: lot 75, freeze 1800 = 24 lots exactly.
        let r = rules(75, Some(1800), 10);
        let cases: [(u32, &[u32]); 5] = [
            (75, &[75]),
            (1800, &[1800]),
            (1800 + 75, &[1800, 75]),
            (10 * 1800, &[1800; 10]),
            (3 * 1800 + 150, &[1800, 1800, 1800, 150]),
        ];
        for (quantity, expected) in cases {
            let plan = plan_slices(quantity, &r).unwrap();
            assert_eq!(plan, expected, "Q = {quantity}");
            check(&plan, quantity, 75, 1800);
        }
    }

    #[test]
    fn more_than_max_slices_is_refused_naming_the_numbers() {
        let r = rules(75, Some(1800), 10);
        let error = plan_slices(10 * 1800 + 75, &r).unwrap_err();
        assert_eq!(
            error,
            "quantity 18075 needs 11 orders of at most 1800 (freeze quantity 1800, lot 75), \
             more than fno.max_slices (10)"
        );
        let three = rules(75, Some(1800), 3);
        assert!(plan_slices(3 * 1800, &three).is_ok());
        assert!(plan_slices(3 * 1800 + 75, &three).is_err());
    }

    #[test]
    fn a_freeze_quantity_that_is_not_a_multiple_of_the_lot_slices_at_whole_lots_below_it() {
        // Lot 65, freeze 1800: 27 lots = 1755 per slice (28 lots would be 1820).
        let r = rules(65, Some(1800), 10);
        let quantity = 3 * 1755 + 65;
        let plan = plan_slices(quantity, &r).unwrap();
        assert_eq!(plan, [1755, 1755, 1755, 65]);
        check(&plan, quantity, 65, 1755);
        assert_eq!(plan_slices(1755, &r).unwrap(), [1755]);
        assert_eq!(plan_slices(1820, &r).unwrap(), [1755, 65]);
        assert_eq!(plan_slices(10 * 1755, &r).unwrap(), [1755; 10]);
        assert!(plan_slices(10 * 1755 + 65, &r).is_err());
    }

    #[test]
    fn a_freeze_below_one_lot_sends_one_lot_per_slice() {
        let r = rules(100, Some(60), 10);
        assert_eq!(plan_slices(300, &r).unwrap(), [100, 100, 100]);
    }

    #[test]
    fn without_a_freeze_quantity_the_order_is_not_sliced() {
        assert_eq!(plan_slices(50_000, &rules(1, None, 10)).unwrap(), [50_000]);
        assert_eq!(
            plan_slices(7, &rules(0, None, 10)).unwrap(),
            [7],
            "lot 0 is 1"
        );
    }

    #[test]
    fn quantities_off_the_lot_or_zero_are_refused() {
        assert_eq!(
            plan_slices(100, &rules(75, Some(1800), 10)).unwrap_err(),
            "quantity 100 is not a multiple of the lot size 75"
        );
        assert!(plan_slices(100, &rules(75, None, 10)).is_err());
        assert!(plan_slices(0, &rules(1, None, 10)).is_err());
    }

    #[test]
    fn slice_tags_are_20_alphanumerics_distinct_from_order_ids() {
        let id = crate::messages::client_order_id(uuid::Uuid::new_v4());
        let tags: Vec<String> = (0..10).map(|i| slice_tag(&id, i)).collect();
        assert_eq!(tags[0], format!("{}s01", &id[..17]));
        assert_eq!(tags[9], format!("{}s10", &id[..17]));
        for tag in &tags {
            assert_eq!(tag.len(), 20);
            assert!(tag.chars().all(|c| c.is_ascii_alphanumeric()));
            assert!(is_slice_tag(tag));
            assert!(crate::zerodha::positions::is_our_tag(tag));
        }
        assert!(!is_slice_tag(&id), "an order id is not a slice tag");
        let distinct: std::collections::BTreeSet<&String> = tags.iter().collect();
        assert_eq!(distinct.len(), 10);
    }

    #[test]
    fn rules_come_from_the_underlying_of_a_derivative_only() {
        let registry = crate::market::InstrumentRegistry::embedded().unwrap();
        let mut fno = crate::settings::Settings::load_from(None, &Default::default())
            .unwrap()
            .fno;
        fno.max_slices = 7;
        let option = registry
            .iter()
            .find(|i| i.name == "NIFTY" && i.kind.is_option())
            .unwrap();
        assert_eq!(
            SliceRules::of(option, &fno),
            rules(option.lot_size, fno.freeze_quantity("NIFTY"), 7)
        );
        let infy = registry.by_symbol("NSE:INFY").unwrap();
        assert_eq!(SliceRules::of(infy, &fno).freeze_quantity, None);
        // A commodity future counts lots: no lot or freeze check here.
        let mut crude = option.clone();
        crude.exchange = "MCX".into();
        crude.name = "NIFTY".into();
        assert_eq!(SliceRules::of(&crude, &fno), rules(1, None, 7));
    }
}
