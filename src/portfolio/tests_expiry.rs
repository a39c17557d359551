//! The expiry settlement of an option as the portfolio books it: the paper venue's
//! settlement fill (price 0 when worthless) closes the position like any other fill, with
//! its charges; the figures are recomputed here from the fills' terms.

use rust_decimal::Decimal;

use super::Book;
use super::tests_support::{at, d, fill};
use crate::messages::{Broker, Fees, OrderFilled, Side, is_expiry_settlement};
use crate::paper::expiry_settlement_id;

const CALL: u32 = 0x0010_0102;

/// The settlement fill of the paper venue (see `paper::expiry`): its client order id,
/// dated at 15:30 IST on the expiry date (10:00 UTC).
fn settlement(side: Side, quantity: u32, value: &str, fees: Fees) -> OrderFilled {
    let expiry = chrono::NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
    let mut f = fill("x", "s", CALL, side, quantity, d(value), d("0"));
    f.order.client_order_id = expiry_settlement_id(expiry, "s", CALL);
    f.order.broker_order_id = None;
    f.fill_id = format!("{}-1", f.order.client_order_id);
    f.fees = fees;
    f.filled_at = at("2026-03-03T10:00:00Z");
    f
}

#[test]
fn a_long_call_expiring_worthless_loses_its_premium_and_its_entry_charges() {
    let mut book = Book::new(d("100000"));
    let entry = fill("e", "s", CALL, Side::Buy, 65, d("120.50"), d("32.40"));
    let expired = settlement(Side::Sell, 65, "0", Fees::default());
    assert!(is_expiry_settlement(&expired.order.client_order_id));
    for f in [&entry, &expired] {
        assert!(book.apply_fill(f).unwrap().is_some(), "{}", f.fill_id);
    }
    let p = book.get(Broker::Paper, "s").unwrap();
    let premium = d("120.50") * d("65");
    assert_eq!(p.position(CALL).map(|x| x.quantity), Some(0));
    assert_eq!(p.realized_pnl(), -premium);
    assert_eq!(p.charges(), d("32.40"));
    assert_eq!(p.cash(), d("100000") - premium - d("32.40"));
    assert_eq!(p.net_pnl(), -premium - d("32.40"));
    assert_eq!(p.equity(), p.cash(), "nothing open");
}

#[test]
fn a_short_call_assigned_in_the_money_pays_its_intrinsic_value_and_the_close_out_charges() {
    let mut book = Book::new(d("100000"));
    let entry = fill("e", "s", CALL, Side::Sell, 65, d("120.50"), d("68.54"));
    // Assigned at 150.40: ₹20 brokerage + ₹3.60 GST, no STT for the writer.
    let fees = Fees {
        brokerage: d("20"),
        gst: d("3.60"),
        total: d("23.60"),
        ..Fees::default()
    };
    let assigned = settlement(Side::Buy, 65, "150.40", fees);
    for f in [&entry, &assigned, &assigned] {
        book.apply_fill(f).unwrap();
    }
    let p = book.get(Broker::Paper, "s").unwrap();
    let realized = (d("120.50") - d("150.40")) * d("65");
    assert_eq!(p.realized_pnl(), realized);
    assert_eq!(p.charges(), d("68.54") + d("23.60"), "the settlement once");
    assert_eq!(p.net_pnl(), realized - d("68.54") - d("23.60"));
    assert_eq!(p.fill_count(), 2);
    assert_eq!(p.position(CALL).map(|x| x.quantity), Some(0));
    assert_eq!(p.unrealized_pnl(), Decimal::ZERO);
}
