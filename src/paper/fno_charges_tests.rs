//! F&O charges: the futures and options columns against a hand computation from KITE.md's
//! table, the column chosen by instrument kind before product, and both venues — paper
//! and live Zerodha — charging an NRML option as an option, never as equity delivery.

use rust_decimal::{Decimal, RoundingStrategy};

use super::charges::{ChargeColumn, ChargeSchedule, Product};
use crate::market::InstrumentKind;
use crate::messages::{Fees, Side};

fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|e| panic!("bad decimal {s}: {e}"))
}

/// Half-up to the paisa, written here again so the test does not lean on the code's.
fn round(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// One column of KITE.md's F&O table, typed in from the table (not read from the code).
struct Table {
    brokerage_rate: &'static str,
    brokerage_cap: &'static str,
    brokerage_flat: &'static str,
    stt_sell: &'static str,
    exchange: &'static str,
    stamp_buy: &'static str,
}

const FUTURES: Table = Table {
    brokerage_rate: "0.0003", // 0.03 %
    brokerage_cap: "20",
    brokerage_flat: "0",
    stt_sell: "0.0005",    // 0.05 %
    exchange: "0.0000173", // 0.00173 %
    stamp_buy: "0.00002",  // 0.002 %
};

const OPTIONS: Table = Table {
    brokerage_rate: "0",
    brokerage_cap: "0",
    brokerage_flat: "20",  // flat ₹20 per executed order
    stt_sell: "0.0015",    // 0.15 % of premium
    exchange: "0.0003503", // 0.03503 % of premium
    stamp_buy: "0.00003",  // 0.003 %
};

/// The charges of one whole order, from the table: each part rounded, GST 18 % on the
/// rounded brokerage + exchange + SEBI (₹10 per crore).
fn by_hand(t: &Table, side: Side, quantity: u32, price: &str) -> Fees {
    let turnover = Decimal::from(quantity) * d(price);
    let brokerage =
        round((d(t.brokerage_rate) * turnover).min(d(t.brokerage_cap))) + d(t.brokerage_flat);
    let (stt, stamp_duty) = match side {
        Side::Buy => (d("0"), round(d(t.stamp_buy) * turnover)),
        Side::Sell => (round(d(t.stt_sell) * turnover), d("0")),
    };
    let exchange_txn = round(d(t.exchange) * turnover);
    let sebi = round(d("10") * turnover / d("10000000"));
    let gst = round(d("0.18") * (brokerage + exchange_txn + sebi));
    Fees {
        brokerage,
        stt,
        exchange_txn,
        sebi,
        stamp_duty,
        gst,
        total: brokerage + stt + exchange_txn + sebi + stamp_duty + gst,
    }
}

#[test]
fn a_futures_round_trip_is_charged_as_the_table_says() {
    let schedule = ChargeSchedule::default();
    // NIFTY future, one lot of 65: buy at 26,012.35, sell at 26,100.10.
    let buy = schedule.charges(ChargeColumn::Futures, Side::Buy, 65, d("26012.35"));
    let sell = schedule.charges(ChargeColumn::Futures, Side::Sell, 65, d("26100.10"));
    assert_eq!(buy, by_hand(&FUTURES, Side::Buy, 65, "26012.35"));
    assert_eq!(sell, by_hand(&FUTURES, Side::Sell, 65, "26100.10"));
    // Worked once by hand, so the helper above is checked too. Buy: turnover
    // 16,90,802.75; brokerage 507.24 → capped 20; exch 29.2509 → 29.25; SEBI 1.69;
    // stamp 33.8161 → 33.82; GST 18 % × 50.94 = 9.17; total 93.93. Sell: turnover
    // 16,96,506.50; brokerage 20; STT 0.05 % = 848.25; exch 29.35; SEBI 1.70; GST 18 % ×
    // 51.05 = 9.19; total 908.49.
    assert_eq!((buy.total, sell.total), (d("93.93"), d("908.49")));
}

#[test]
fn an_options_round_trip_pays_the_flat_fee_and_premium_taxes() {
    let schedule = ChargeSchedule::default();
    // NIFTY 26000 CE, two lots (130): buy at 152.35, sell at 180.60.
    let buy = schedule.charges(ChargeColumn::Options, Side::Buy, 130, d("152.35"));
    let sell = schedule.charges(ChargeColumn::Options, Side::Sell, 130, d("180.60"));
    assert_eq!(buy, by_hand(&OPTIONS, Side::Buy, 130, "152.35"));
    assert_eq!(sell, by_hand(&OPTIONS, Side::Sell, 130, "180.60"));
    // Buy: premium 19,805.50; ₹20; exch 6.9379 → 6.94; SEBI 0.02; stamp 0.59; GST 18 % ×
    // 26.96 = 4.85; total 32.40. Sell: premium 23,478; ₹20; STT 35.22; exch 8.22; SEBI
    // 0.02; GST 18 % × 28.24 = 5.08; total 68.54.
    assert_eq!((buy.total, sell.total), (d("32.40"), d("68.54")));
    // A later partial fill of the same order finds the flat fee paid.
    let second =
        schedule.charges_for_fill(ChargeColumn::Options, Side::Buy, 65, d("152.35"), d("20"));
    let premium = d("65") * d("152.35");
    let exchange = round(d("0.0003503") * premium);
    let sebi = round(d("10") * premium / d("10000000"));
    assert_eq!(second.brokerage, d("0"));
    assert_eq!(second.gst, round(d("0.18") * (exchange + sebi)));
}

#[test]
fn the_column_is_the_instruments_kind_first_then_the_product() {
    let cases = [
        (InstrumentKind::Future, Product::Nrml, ChargeColumn::Futures),
        (InstrumentKind::Future, Product::Mis, ChargeColumn::Futures),
        (InstrumentKind::Call, Product::Nrml, ChargeColumn::Options),
        (InstrumentKind::Put, Product::Mis, ChargeColumn::Options),
        (InstrumentKind::Equity, Product::Mis, ChargeColumn::Intraday),
        (InstrumentKind::Equity, Product::Cnc, ChargeColumn::Delivery),
        (
            InstrumentKind::Equity,
            Product::Nrml,
            ChargeColumn::Delivery,
        ),
    ];
    for (kind, product, column) in cases {
        assert_eq!(
            ChargeColumn::of(&kind, product),
            column,
            "{kind:?} {product}"
        );
    }
}

#[test]
fn settlement_charges_are_exercise_stt_and_the_close_out_brokerage_only() {
    let schedule = ChargeSchedule::default();
    let options = ChargeColumn::Options;
    // A long call settled 142.5 in the money, 130 units: STT 0.15 % × 18,525 = 27.7875 →
    // 27.79; ₹20 brokerage with GST 3.60; nothing else (no exchange trade).
    let long = schedule.settlement_charges(options, Side::Sell, 130, d("142.5"));
    let stt = round(d("0.0015") * d("130") * d("142.5"));
    let gst = round(d("0.18") * d("20"));
    assert_eq!(
        (long.brokerage, long.stt, long.gst, long.total),
        (d("20"), stt, gst, d("20") + stt + gst)
    );
    assert_eq!(long.exchange_txn + long.sebi + long.stamp_duty, d("0"));
    // The short side of the same contract (assigned): brokerage only, no STT.
    let short = schedule.settlement_charges(options, Side::Buy, 130, d("142.5"));
    assert_eq!((short.stt, short.total), (d("0"), d("20") + gst));
    // Worthless: nothing at all.
    let otm = schedule.settlement_charges(options, Side::Sell, 130, d("0"));
    assert_eq!(otm, Fees::default());
    // A future: nothing by default.
    let future = schedule.settlement_charges(ChargeColumn::Futures, Side::Sell, 65, d("26050"));
    assert_eq!(future.total, d("0"));
}

#[test]
fn the_fno_columns_are_validated_by_key() {
    let mut schedule = ChargeSchedule::default();
    schedule.options.stt_exercise_rate = d("2");
    schedule.futures.settlement_brokerage = d("-1");
    schedule.options.brokerage_per_order = d("100001");
    let keys: Vec<String> = schedule
        .validate("paper.charges")
        .iter()
        .filter_map(|p| p.split(':').next().map(str::to_owned))
        .collect();
    assert_eq!(
        keys,
        [
            "paper.charges.futures.settlement_brokerage",
            "paper.charges.options.stt_exercise_rate",
            "paper.charges.options.brokerage_per_order",
        ]
    );
}

/// A live NRML fill of an option on Kite is charged in the options column (it was charged
/// as equity delivery before: 0.1 % STT on the buy, no brokerage).
#[test]
fn a_live_nrml_option_fill_is_charged_as_an_option() {
    use crate::kite::orders::Variety;
    use crate::kite::rest::{KiteOrder, KiteTrade};
    use crate::market::InstrumentRegistry;
    use crate::messages::{Broker, VenueEvent, client_order_id};
    use crate::testkit::fixtures::{sample_time, validated_signal};
    use crate::zerodha::{OrderRecord, charge_column, kind_of_symbol, order_target};

    let registry = InstrumentRegistry::embedded().unwrap_or_default();
    let Some(call) = registry.iter().find(|i| i.kind == InstrumentKind::Call) else {
        panic!("the embedded registry has sample options");
    };
    let mut signal = validated_signal(Broker::Zerodha, Side::Buy, call.lot_size);
    signal.data.signal.token = call.token;
    signal.data.signal.symbol = call.symbol.clone();
    let target = order_target(&signal.data, &registry, Product::Nrml, Variety::Regular)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        charge_column(
            Product::Nrml,
            &kind_of_symbol(&target.exchange, &target.tradingsymbol)
        ),
        ChargeColumn::Options
    );
    let mut record = OrderRecord::new(client_order_id(signal.id), signal, target, sample_time());
    let order: KiteOrder = serde_json::from_value(serde_json::json!({
        "order_id": "1", "status": "COMPLETE", "quantity": call.lot_size,
        "filled_quantity": call.lot_size, "status_message": null, "tag": "x"
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let trade: KiteTrade = serde_json::from_value(serde_json::json!({
        "trade_id": "t1", "order_id": "1", "quantity": call.lot_size,
        "average_price": 152.35, "exchange_timestamp": "2026-03-02 10:00:00"
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let schedule = ChargeSchedule::default();
    let events = record.apply(0, &order, &[trade], &schedule, sample_time());
    let fees: Vec<Fees> = events
        .into_iter()
        .filter_map(|e| match e {
            VenueEvent::Filled(f) => Some(f.fees),
            _ => None,
        })
        .collect();
    assert_eq!(
        fees,
        [by_hand(&OPTIONS, Side::Buy, call.lot_size, "152.35")]
    );
}
