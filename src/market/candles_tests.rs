//! The candle file format, its errors, and the ticks of a bar.

use super::*;
use chrono::TimeZone;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    IST.with_ymd_and_hms(2026, 1, 2, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn candle(open: &str, high: &str, low: &str, close: &str) -> Candle {
    let prices = Ohlc {
        open: d(open),
        high: d(high),
        low: d(low),
        close: d(close),
    };
    Candle::new(at(9, 15), 408_065, prices, 1200, None).unwrap()
}

fn read(text: &str) -> Vec<Result<Candle, CandleFileError>> {
    match CandleReader::new(text.as_bytes()) {
        Ok(reader) => reader.collect(),
        Err(e) => vec![Err(e)],
    }
}

#[test]
fn writes_then_reads_the_same_candles_with_ist_times_and_empty_oi() {
    let mut with_oi = candle("100", "101.5", "99.25", "100.05");
    with_oi.start = at(9, 16);
    with_oi.oi = Some(7_500);
    let candles = vec![candle("100", "101.5", "99.25", "100.05"), with_oi];
    let mut out = Vec::new();
    write_csv(&mut out, &candles).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "timestamp,token,open,high,low,close,volume,oi\n\
         2026-01-02T09:15:00+05:30,408065,100,101.5,99.25,100.05,1200,\n\
         2026-01-02T09:16:00+05:30,408065,100,101.5,99.25,100.05,1200,7500\n"
    );
    let back: Vec<Candle> = read(&text).into_iter().map(Result::unwrap).collect();
    assert_eq!(back, candles);
}

#[test]
fn reads_kites_offset_without_a_colon() {
    assert_eq!(
        parse_timestamp("2026-01-02T09:15:00+0530").unwrap(),
        at(9, 15)
    );
}

#[test]
fn a_bad_line_is_an_error_naming_its_line_and_field() {
    let header = CSV_HEADER;
    let good = "2026-01-02T09:15:00+05:30,1,10,11,9,10,5,";
    let cases = [
        ("2026-01-02 09:15,1,10,11,9,10,5,", 2, "timestamp"),
        ("2026-01-02T09:15:00+05:30,x,10,11,9,10,5,", 2, "token"),
        ("2026-01-02T09:15:00+05:30,0,10,11,9,10,5,", 2, "token"),
        ("2026-01-02T09:15:00+05:30,1,-10,11,9,10,5,", 2, "open"),
        ("2026-01-02T09:15:00+05:30,1,10,11,9,0,5,", 2, "close"),
        ("2026-01-02T09:15:00+05:30,1,10,11,9.00001,10,5,", 2, "low"),
        ("2026-01-02T09:15:00+05:30,1,10,9.5,9,10,5,", 2, "high"),
        ("2026-01-02T09:15:00+05:30,1,10,11,10.5,10,5,", 2, "low"),
        ("2026-01-02T09:15:00+05:30,1,10,11,9,10,-5,", 2, "volume"),
        ("2026-01-02T09:15:00+05:30,1,10,11,9,10,5,x", 2, "oi"),
        ("2026-01-02T09:15:00+05:30,1,10,11,9,10,5", 2, "line"),
    ];
    for (row, line, field) in cases {
        let results = read(&format!("{header}\n{row}\n"));
        let e = results.last().unwrap().as_ref().unwrap_err();
        assert_eq!(
            (e.line(), e.field()),
            (Some(line), Some(field)),
            "{row}: {e}"
        );
    }
    // Out of order: the second row repeats the first's (time, token).
    let results = read(&format!("{header}\n{good}\n\n{good}\n"));
    assert!(results[0].is_ok());
    let e = results[1].as_ref().unwrap_err();
    assert_eq!((e.line(), e.field()), (Some(4), Some("timestamp")));
    assert!(e.to_string().contains("on line 2"), "{e}");
    assert_eq!(results.len(), 2, "reading stops at the first error");
    // No header, or the wrong one.
    for text in ["", "timestamp,token,open\n", good] {
        let e = CandleReader::new(text.as_bytes()).err().unwrap();
        assert_eq!((e.line(), e.field()), (Some(1), Some("header")));
    }
}

#[test]
fn a_line_without_an_end_is_refused_after_the_bound() {
    let text = format!("{CSV_HEADER}\n{}", "1".repeat(MAX_LINE_BYTES + 10));
    let e = read(&text).pop().unwrap().unwrap_err();
    assert_eq!((e.line(), e.field()), (Some(2), Some("line")));
}

#[test]
fn a_bar_becomes_open_then_the_nearer_extreme_then_the_other_then_close() {
    // High is nearer the open (0.5 up vs 1 down): open, high, low, close.
    let up = synthesize(&candle("100", "100.5", "99", "99.5"), Interval::Minute);
    let roles: Vec<_> = up.iter().map(|t| (t.role, t.price)).collect();
    assert_eq!(
        roles,
        vec![
            ("open", d("100")),
            ("high", d("100.5")),
            ("low", d("99")),
            ("close", d("99.5"))
        ]
    );
    let times: Vec<_> = up.iter().map(|t| t.at).collect();
    let q = Duration::seconds(15);
    assert_eq!(
        times,
        vec![
            at(9, 15),
            at(9, 15) + q,
            at(9, 15) + q * 2,
            at(9, 15) + q * 3
        ]
    );
    // Low nearer: low first.
    let down = synthesize(&candle("100", "102", "99.5", "101"), Interval::Minute5);
    assert_eq!(down.map(|t| t.role), ["open", "low", "high", "close"]);
    assert_eq!(down[3].at - down[0].at, Duration::seconds(225));
    // A tie takes the low first.
    let tie = synthesize(&candle("100", "101", "99", "100"), Interval::Minute);
    assert_eq!(tie.map(|t| t.role), ["open", "low", "high", "close"]);
}

#[test]
fn a_day_bar_spans_the_normal_market_of_its_date() {
    let mut day = candle("100", "101", "99", "100");
    day.start = IST
        .with_ymd_and_hms(2026, 1, 2, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let ticks = synthesize(&day, Interval::Day);
    assert_eq!(ticks[0].at, at(9, 15));
    // 375 minutes: quarters of 93.75 minutes; the close at 13:56:15 (3 × 93.75 minutes after 09:15).
    assert_eq!(ticks[3].at, at(13, 56) + Duration::seconds(15));
}

#[test]
fn intervals_round_trip_by_kite_name_with_their_span_limits() {
    let spans: Vec<_> = Interval::ALL
        .iter()
        .map(|i| (i.name().parse::<Interval>().unwrap(), i.max_span_days()))
        .collect();
    let days: Vec<i64> = spans.iter().map(|s| s.1).collect();
    assert_eq!(days, vec![60, 100, 100, 100, 200, 200, 400, 2000]);
    assert!(
        "2minute"
            .parse::<Interval>()
            .unwrap_err()
            .contains("3minute")
    );
}
