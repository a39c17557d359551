//! Encoder → decoder round trips over random ticks (seeded, so failures reproduce), and the
//! encoder's refusals.

use super::test_support::*;
use super::tick::price_scale;
use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

/// Segments worth covering: equity-like (1, 2), CDS (3), BCD (6), indices (9), and any.
fn random_token(rng: &mut StdRng) -> u32 {
    let segment = match rng.random_range(0..6) {
        0 => 1,
        1 => 2,
        2 => u32::from(SEGMENT_CDS),
        3 => u32::from(SEGMENT_BCD),
        4 => u32::from(SEGMENT_INDICES),
        _ => rng.random_range(0..256),
    };
    (rng.random::<u32>() & !0xFF) | segment
}

/// A raw wire value: extremes, small values and anything in between.
fn random_raw(rng: &mut StdRng) -> i32 {
    match rng.random_range(0..8) {
        0 => i32::MIN,
        1 => i32::MAX,
        2 => 0,
        3 => rng.random_range(-10_000..10_000),
        _ => rng.random(),
    }
}

/// A price on the token's grid, sometimes written with extra trailing zeros.
fn random_price(rng: &mut StdRng, token: u32) -> Decimal {
    let raw = i64::from(random_raw(rng));
    let scale = price_scale(token);
    if rng.random_bool(0.2) {
        Decimal::try_new(raw * 1000, scale + 3).unwrap()
    } else {
        Decimal::try_new(raw, scale).unwrap()
    }
}

/// Quantities across the whole `u32` range, including above 2^31.
fn random_qty(rng: &mut StdRng) -> u32 {
    match rng.random_range(0..4) {
        0 => rng.random_range(2_147_483_648..=u32::MAX),
        1 => rng.random_range(0..1_000),
        _ => rng.random(),
    }
}

/// A tick with every field set at random, whatever its kind carries.
fn random_tick(rng: &mut StdRng) -> KiteTick {
    let kind = PacketKind::ALL[rng.random_range(0..PacketKind::ALL.len())];
    let token = random_token(rng);
    let mut t = KiteTick::empty(kind, token);
    t.last_price = random_price(rng, token);
    t.last_traded_quantity = random_qty(rng);
    t.average_traded_price = random_price(rng, token);
    t.volume_traded = random_qty(rng);
    t.total_buy_quantity = random_qty(rng);
    t.total_sell_quantity = random_qty(rng);
    t.open = random_price(rng, token);
    t.high = random_price(rng, token);
    t.low = random_price(rng, token);
    t.close = random_price(rng, token);
    t.change = random_price(rng, token);
    t.last_trade_time = rng.random();
    t.oi = random_qty(rng);
    t.oi_day_high = random_qty(rng);
    t.oi_day_low = random_qty(rng);
    t.exchange_timestamp = rng.random();
    for entry in t.bids.iter_mut().chain(t.asks.iter_mut()) {
        *entry = DepthEntry {
            quantity: random_qty(rng),
            price: random_price(rng, token),
            orders: rng.random(),
        };
    }
    t
}

/// What the decoder must give back: only the fields the kind carries, a tradable's change
/// recomputed as last - close (0 when close is 0).
fn carried(t: &KiteTick) -> KiteTick {
    let mut e = KiteTick::empty(t.kind, t.token);
    e.last_price = t.last_price;
    if t.kind == PacketKind::Ltp {
        return e;
    }
    (e.open, e.high, e.low, e.close) = (t.open, t.high, t.low, t.close);
    if t.kind.is_index() {
        e.change = t.change;
        if t.kind == PacketKind::IndexFull {
            e.exchange_timestamp = t.exchange_timestamp;
        }
        return e;
    }
    e.change = if t.close.is_zero() {
        Decimal::ZERO
    } else {
        t.last_price - t.close
    };
    e.last_traded_quantity = t.last_traded_quantity;
    e.average_traded_price = t.average_traded_price;
    e.volume_traded = t.volume_traded;
    e.total_buy_quantity = t.total_buy_quantity;
    e.total_sell_quantity = t.total_sell_quantity;
    if t.kind == PacketKind::Full {
        e.last_trade_time = t.last_trade_time;
        (e.oi, e.oi_day_high, e.oi_day_low) = (t.oi, t.oi_day_high, t.oi_day_low);
        e.exchange_timestamp = t.exchange_timestamp;
        (e.bids, e.asks) = (t.bids, t.asks);
    }
    e
}

#[test]
fn random_ticks_of_every_kind_round_trip_through_encode_and_decode() {
    let mut rng = StdRng::seed_from_u64(0x4B49_5445);
    let mut bytes = Vec::new();
    for case in 0..20_000 {
        let count = rng.random_range(1..8);
        let ticks: Vec<KiteTick> = (0..count).map(|_| random_tick(&mut rng)).collect();
        bytes.clear();
        encode_frame(&ticks, &mut bytes).unwrap();
        let expected_len: usize = 2 + ticks.iter().map(|t| 2 + t.kind.len()).sum::<usize>();
        assert_eq!(bytes.len(), expected_len, "case {case}");
        let decoded: Vec<KiteTick> = decode_all(&bytes)
            .into_iter()
            .map(|item| item.unwrap())
            .collect();
        let expected: Vec<KiteTick> = ticks.iter().map(carried).collect();
        assert_eq!(decoded, expected, "case {case}: {ticks:?}");
    }
}

#[test]
fn encoder_reproduces_hand_built_full_packet_bytes_except_padding() {
    let mut hand = reliance_full_packet();
    for level in 0..10 {
        put_u16(&mut hand, 64 + 12 * level + 10, 0); // the encoder writes zero padding
    }
    let tick = decode_one(&frame(&[&hand]));
    let mut bytes = Vec::new();
    encode_frame(&[tick], &mut bytes).unwrap();
    assert_eq!(bytes, frame(&[&hand]));
}

#[test]
fn encoder_appends_to_existing_bytes() {
    let mut out = vec![0xEE];
    let tick = KiteTick::empty(PacketKind::Ltp, RELIANCE);
    encode_frame(&[tick], &mut out).unwrap();
    assert_eq!(out, [0xEE, 0, 1, 0, 8, 0x00, 0x0B, 0x45, 0x01, 0, 0, 0, 0]);
}

#[test]
fn encoder_accepts_cds_price_on_the_1e7_grid_and_refuses_finer() {
    let mut tick = KiteTick::empty(PacketKind::Ltp, USDINR_CDS);
    tick.last_price = dec("83.2475");
    let mut out = Vec::new();
    encode_frame(&[tick], &mut out).unwrap();
    assert_eq!(&out[8..12], &832_475_000i32.to_be_bytes());

    tick.last_price = dec("83.24750001");
    assert!(matches!(
        encode_frame(&[tick], &mut Vec::new()),
        Err(EncodeError::PriceOffGrid {
            field: PriceField::LastPrice,
            ..
        })
    ));
}

#[test]
fn encoder_refuses_off_grid_price_and_leaves_the_buffer_unchanged() {
    let good = KiteTick::empty(PacketKind::Ltp, RELIANCE);
    let mut bad = KiteTick::empty(PacketKind::Full, RELIANCE);
    bad.asks[3].price = dec("2450.005");
    let mut out = vec![1, 2, 3];
    let error = encode_frame(&[good, bad], &mut out).unwrap_err();
    assert_eq!(
        error,
        EncodeError::PriceOffGrid {
            token: RELIANCE,
            field: PriceField::Ask(3),
            price: dec("2450.005"),
            divisor: dec("100"),
        }
    );
    assert_eq!(
        error.to_string(),
        format!("token {RELIANCE}: asks[3].price 2450.005 is not a multiple of 1/100")
    );
    assert_eq!(out, [1, 2, 3]);
}

#[test]
fn encoder_refuses_prices_beyond_i32_after_scaling_in_both_directions() {
    let mut tick = KiteTick::empty(PacketKind::Quote, RELIANCE);
    tick.close = dec("21474836.47"); // i32::MAX / 100: fits
    encode_frame(&[tick], &mut Vec::new()).unwrap();
    tick.close = dec("21474836.48");
    assert!(matches!(
        encode_frame(&[tick], &mut Vec::new()),
        Err(EncodeError::PriceOutOfRange {
            field: PriceField::Close,
            ..
        })
    ));
    tick.close = dec("-21474836.48"); // i32::MIN / 100: fits
    encode_frame(&[tick], &mut Vec::new()).unwrap();
    tick.close = dec("-21474836.49");
    assert!(encode_frame(&[tick], &mut Vec::new()).is_err());
    tick.close = Decimal::MAX;
    assert!(encode_frame(&[tick], &mut Vec::new()).is_err());
}

#[test]
fn encoder_refuses_more_than_u16_max_packets() {
    let ticks = vec![KiteTick::empty(PacketKind::Ltp, RELIANCE); 65_536];
    let mut out = Vec::new();
    assert_eq!(
        encode_frame(&ticks, &mut out),
        Err(EncodeError::TooManyPackets { count: 65_536 })
    );
    assert!(out.is_empty());
    encode_frame(&ticks[1..], &mut out).unwrap();
    assert_eq!(decode_all(&out).len(), 65_535);
}

#[test]
fn encoder_refuses_an_empty_tick_list_the_decoder_would_refuse() {
    let mut out = Vec::new();
    assert_eq!(encode_frame(&[], &mut out), Err(EncodeError::NoTicks));
    assert!(out.is_empty());
    assert_eq!(
        parse_frame(&[0, 0]),
        Err(FrameError::ShortHeader { len: 2 })
    );
}
