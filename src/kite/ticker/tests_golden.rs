//! Golden tests: hand-built bytes at explicit offsets (never the encoder) with known values,
//! one or more per packet kind.

use super::test_support::*;
use super::*;
use rust_decimal::Decimal;

#[test]
fn ltp_packet_nse_equity_literal_bytes_decode_with_divisor_100() {
    #[rustfmt::skip]
    let bytes = [
        0x00, 0x01,             // 1 packet
        0x00, 0x08,             // 8 bytes: ltp
        0x00, 0x0B, 0x45, 0x01, // token 738561 (segment 1)
        0x00, 0x03, 0xBD, 0x2B, // 245035 -> 2450.35
    ];
    let tick = decode_one(&bytes);
    let mut expected = KiteTick::empty(PacketKind::Ltp, RELIANCE);
    expected.last_price = dec("2450.35");
    assert_eq!(tick, expected);
    assert_eq!(tick.segment(), 1);
    assert_eq!(tick.last_price.to_string(), "2450.35");
}

#[test]
fn ltp_packet_cds_usdinr_uses_divisor_1e7() {
    #[rustfmt::skip]
    let bytes = [
        0x00, 0x01, 0x00, 0x08,
        0x00, 0x04, 0xD2, 0x03, // token (1234 << 8) | 3: segment 3 (CDS)
        0x31, 0x9E, 0x8F, 0x78, // 832475000 -> 83.2475000
    ];
    let tick = decode_one(&bytes);
    assert_eq!(tick.segment(), SEGMENT_CDS);
    assert_eq!(tick.last_price, dec("83.2475"));
    assert_eq!(tick.last_price.to_string(), "83.2475000");
}

#[test]
fn ltp_packet_bcd_uses_divisor_1e4() {
    #[rustfmt::skip]
    let bytes = [
        0x00, 0x01, 0x00, 0x08,
        0x00, 0x02, 0x37, 0x06, // token (567 << 8) | 6: segment 6 (BCD)
        0x00, 0x0C, 0xB3, 0xDB, // 832475 -> 83.2475
    ];
    let tick = decode_one(&bytes);
    assert_eq!(tick.segment(), SEGMENT_BCD);
    assert_eq!(tick.last_price.to_string(), "83.2475");
}

#[test]
fn ltp_packet_negative_price_decodes_as_signed() {
    #[rustfmt::skip]
    let bytes = [
        0x00, 0x01, 0x00, 0x08,
        0x00, 0x0B, 0x45, 0x01,
        0xFF, 0xFF, 0xFB, 0x1E, // -1250 -> -12.50 (a spread)
    ];
    assert_eq!(decode_one(&bytes).last_price, dec("-12.50"));
}

#[test]
fn index_quote_packet_reads_high_low_open_close_in_that_order() {
    let mut p = [0u8; 28];
    put_u32(&mut p, 0, NIFTY);
    put_i32(&mut p, 4, 2_245_035); // last 22450.35
    put_i32(&mut p, 8, 2_250_000); // high 22500.00
    put_i32(&mut p, 12, 2_238_010); // low 22380.10
    put_i32(&mut p, 16, 2_240_000); // open 22400.00
    put_i32(&mut p, 20, 2_239_000); // close 22390.00
    put_i32(&mut p, 24, 6_035); // change 60.35
    let tick = decode_one(&frame(&[&p]));
    assert_eq!(tick.kind, PacketKind::IndexQuote);
    assert_eq!(tick.token, NIFTY);
    assert_eq!(tick.segment(), SEGMENT_INDICES);
    assert_eq!(tick.last_price, dec("22450.35"));
    assert_eq!(tick.high, dec("22500"));
    assert_eq!(tick.low, dec("22380.10"));
    assert_eq!(tick.open, dec("22400"));
    assert_eq!(tick.close, dec("22390"));
    assert_eq!(tick.change, dec("60.35"));
    assert_eq!(tick.volume_traded, 0);
    assert_eq!(tick.exchange_timestamp, 0);
}

#[test]
fn index_full_packet_reads_negative_change_and_exchange_timestamp_at_28() {
    let mut p = [0u8; 32];
    put_u32(&mut p, 0, NIFTY);
    put_i32(&mut p, 4, 2_230_000); // last 22300.00
    put_i32(&mut p, 8, 2_241_000); // high
    put_i32(&mut p, 12, 2_229_500); // low
    put_i32(&mut p, 16, 2_240_500); // open
    put_i32(&mut p, 20, 2_239_000); // close
    put_i32(&mut p, 24, -9_000); // change -90.00
    put_u32(&mut p, 28, 1_764_129_600);
    let tick = decode_one(&frame(&[&p]));
    let mut expected = KiteTick::empty(PacketKind::IndexFull, NIFTY);
    expected.last_price = dec("22300");
    expected.high = dec("22410");
    expected.low = dec("22295");
    expected.open = dec("22405");
    expected.close = dec("22390");
    expected.change = dec("-90");
    expected.exchange_timestamp = 1_764_129_600;
    assert_eq!(tick, expected);
}

#[test]
fn quote_packet_reads_open_high_low_close_and_volume_above_2_pow_31() {
    let mut p = [0u8; 44];
    put_u32(&mut p, 0, RELIANCE);
    put_i32(&mut p, 4, 245_035);
    put_u32(&mut p, 8, 12);
    put_i32(&mut p, 12, 244_710);
    put_u32(&mut p, 16, 3_000_000_000);
    put_u32(&mut p, 20, 120_000);
    put_u32(&mut p, 24, 98_000);
    put_i32(&mut p, 28, 244_000); // open
    put_i32(&mut p, 32, 246_050); // high
    put_i32(&mut p, 36, 243_105); // low
    put_i32(&mut p, 40, 243_890); // close
    let tick = decode_one(&frame(&[&p]));
    let mut expected = KiteTick::empty(PacketKind::Quote, RELIANCE);
    expected.last_price = dec("2450.35");
    expected.last_traded_quantity = 12;
    expected.average_traded_price = dec("2447.10");
    expected.volume_traded = 3_000_000_000;
    expected.total_buy_quantity = 120_000;
    expected.total_sell_quantity = 98_000;
    expected.open = dec("2440");
    expected.high = dec("2460.50");
    expected.low = dec("2431.05");
    expected.close = dec("2438.90");
    expected.change = dec("11.45"); // last - close
    assert_eq!(tick, expected);
}

#[test]
fn quote_packet_change_is_zero_when_close_is_zero() {
    let mut p = [0u8; 44];
    put_u32(&mut p, 0, RELIANCE);
    put_i32(&mut p, 4, 245_035);
    let tick = decode_one(&frame(&[&p]));
    assert_eq!(tick.close, Decimal::ZERO);
    assert_eq!(tick.change, Decimal::ZERO);
}

#[test]
fn full_packet_reads_oi_timestamps_and_distinct_depth_at_every_level() {
    let tick = decode_one(&frame(&[&reliance_full_packet()]));
    assert_eq!(tick.kind, PacketKind::Full);
    assert_eq!(tick.last_price, dec("2450.35"));
    assert_eq!(tick.volume_traded, 3_000_000_000);
    assert_eq!(
        (tick.open, tick.high, tick.low, tick.close),
        (dec("2440"), dec("2460.5"), dec("2431.05"), dec("2438.9"))
    );
    assert_eq!(tick.change, dec("11.45"));
    assert_eq!(tick.last_trade_time, 1_764_129_600);
    assert_eq!(tick.oi, 4_000_000_000);
    assert_eq!(tick.oi_day_high, 4_100_000_000);
    assert_eq!(tick.oi_day_low, 3_900_000_000);
    assert_eq!(tick.exchange_timestamp, 1_764_129_601);
    let bids = ["2450.30", "2450.25", "2450.20", "2450.15", "2450.10"];
    let asks = ["2450.40", "2450.45", "2450.50", "2450.55", "2450.60"];
    for level in 0..5 {
        let l = level as u32;
        let bid = DepthEntry {
            quantity: 100 + l,
            price: dec(bids[level]),
            orders: 10 + l as u16,
        };
        let ask = DepthEntry {
            quantity: 200 + l,
            price: dec(asks[level]),
            orders: 20 + l as u16,
        };
        assert_eq!(tick.bids[level], bid, "bid level {level}");
        assert_eq!(tick.asks[level], ask, "ask level {level}");
    }
}

#[test]
fn full_packet_cds_prices_and_depth_use_divisor_1e7() {
    let mut p = [0u8; 184];
    put_u32(&mut p, 0, USDINR_CDS);
    put_i32(&mut p, 4, 832_475_000); // 83.2475
    put_i32(&mut p, 40, 832_000_000); // close 83.2
    put_u32(&mut p, 64, 5_000); // best bid quantity
    put_i32(&mut p, 68, 832_450_000); // best bid 83.2450
    put_u16(&mut p, 72, 3);
    put_u32(&mut p, 124, 7_000); // best ask quantity
    put_i32(&mut p, 128, 832_500_000); // best ask 83.25
    put_u16(&mut p, 132, 4);
    let tick = decode_one(&frame(&[&p]));
    assert_eq!(tick.last_price, dec("83.2475"));
    assert_eq!(tick.change, dec("0.0475"));
    assert_eq!(tick.bids[0].price, dec("83.245"));
    assert_eq!(tick.asks[0].price, dec("83.25"));
    assert_eq!((tick.bids[0].quantity, tick.bids[0].orders), (5_000, 3));
    assert_eq!((tick.asks[0].quantity, tick.asks[0].orders), (7_000, 4));
    assert_eq!(tick.bids[1], DepthEntry::default());
}

#[test]
fn heartbeat_is_a_single_byte_frame_whatever_its_value() {
    for byte in [0u8, 1, 0x7F, 0xFF] {
        assert_eq!(parse_frame(&[byte]), Ok(Frame::Heartbeat));
    }
    assert_eq!(parse_frame(&heartbeat()), Ok(Frame::Heartbeat));
}

#[test]
fn multi_packet_frame_mixing_kinds_decodes_each_in_order() {
    let ltp = ltp_packet(USDINR_CDS, 832_475_000);
    let mut index = [0u8; 28];
    put_u32(&mut index, 0, NIFTY);
    put_i32(&mut index, 4, 2_245_035);
    let mut quote = [0u8; 44];
    put_u32(&mut quote, 0, USDINR_BCD);
    put_i32(&mut quote, 4, 832_475);
    put_i32(&mut quote, 40, 830_000);
    let full = reliance_full_packet();
    let mut index_full = [0u8; 32];
    put_u32(&mut index_full, 0, NIFTY);
    put_u32(&mut index_full, 28, 42);

    let ticks: Vec<KiteTick> = decode_all(&frame(&[&ltp, &index, &quote, &full, &index_full]))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let kinds: Vec<PacketKind> = ticks.iter().map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        [
            PacketKind::Ltp,
            PacketKind::IndexQuote,
            PacketKind::Quote,
            PacketKind::Full,
            PacketKind::IndexFull
        ]
    );
    assert_eq!(ticks[0].last_price, dec("83.2475"));
    assert_eq!(ticks[1].last_price, dec("22450.35"));
    assert_eq!(ticks[2].last_price, dec("83.2475"));
    assert_eq!(ticks[2].change, dec("0.2475"));
    assert_eq!(ticks[3].bids[4].price, dec("2450.10"));
    assert_eq!(ticks[4].exchange_timestamp, 42);
}

#[test]
fn price_divisor_depends_only_on_the_segment_byte() {
    assert_eq!(price_divisor(RELIANCE), dec("100"));
    assert_eq!(price_divisor(NIFTY), dec("100"));
    assert_eq!(price_divisor(USDINR_CDS), dec("10000000"));
    assert_eq!(price_divisor(USDINR_BCD), dec("10000"));
    assert_eq!(price_divisor(0xFFFF_FF03), dec("10000000"));
}

#[test]
fn packet_kind_lengths_modes_and_index_flags_agree() {
    use crate::messages::TickMode;
    let expected = [
        (PacketKind::Ltp, 8, TickMode::Ltp, false),
        (PacketKind::IndexQuote, 28, TickMode::Quote, true),
        (PacketKind::IndexFull, 32, TickMode::Full, true),
        (PacketKind::Quote, 44, TickMode::Quote, false),
        (PacketKind::Full, 184, TickMode::Full, false),
    ];
    for (kind, len, mode, index) in expected {
        assert_eq!(kind.len(), len);
        assert_eq!(PacketKind::from_len(len), Some(kind));
        assert_eq!(kind.mode(), mode);
        assert_eq!(kind.is_index(), index);
    }
    assert_eq!(PacketKind::from_len(0), None);
    assert_eq!(PacketKind::from_len(183), None);
}
