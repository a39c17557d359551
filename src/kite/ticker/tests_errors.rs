//! Malformed frames: each error is reported as documented, good packets are kept, and the
//! iterator ends where it says it does.

use super::test_support::*;
use super::*;

#[test]
fn empty_frame_is_a_frame_error() {
    assert_eq!(parse_frame(&[]), Err(FrameError::Empty));
}

#[test]
fn one_byte_frame_is_a_heartbeat_but_two_and_three_bytes_are_short_headers() {
    assert_eq!(parse_frame(&[0x00]), Ok(Frame::Heartbeat));
    assert_eq!(
        parse_frame(&[0x00, 0x01]),
        Err(FrameError::ShortHeader { len: 2 })
    );
    assert_eq!(
        parse_frame(&[0x00, 0x00]),
        Err(FrameError::ShortHeader { len: 2 })
    );
    assert_eq!(
        parse_frame(&[0x00, 0x01, 0x00]),
        Err(FrameError::ShortHeader { len: 3 })
    );
}

#[test]
fn four_byte_frame_is_parsed_and_its_packet_reported_truncated() {
    // Count 1, length prefix 8, no body.
    let items = decode_all(&[0x00, 0x01, 0x00, 0x08]);
    assert_eq!(
        items,
        [Err(PacketError::Truncated {
            index: 0,
            needed: 8,
            available: 0
        })]
    );
}

#[test]
fn declared_count_larger_than_fits_yields_the_packets_then_truncated() {
    let a = ltp_packet(RELIANCE, 100);
    let b = ltp_packet(RELIANCE, 200);
    let bytes = frame_declaring(5, &[&a, &b]);
    let Ok(Frame::Packets(packets)) = parse_frame(&bytes) else {
        panic!("expected packets");
    };
    assert_eq!(packets.declared(), 5);
    let items: Vec<_> = packets.collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().last_price, dec("1"));
    assert_eq!(items[1].as_ref().unwrap().last_price, dec("2"));
    assert_eq!(
        items[2],
        Err(PacketError::Truncated {
            index: 2,
            needed: 2,
            available: 0
        })
    );
}

#[test]
fn truncated_last_packet_yields_truncated_and_ends_the_iterator() {
    let good = ltp_packet(RELIANCE, 245_035);
    let full = reliance_full_packet();
    let mut bytes = frame(&[&good, &full]);
    bytes.truncate(bytes.len() - 10); // the full packet loses its last 10 bytes
    let Ok(Frame::Packets(mut packets)) = parse_frame(&bytes) else {
        panic!("expected packets");
    };
    assert_eq!(packets.next().unwrap().unwrap().last_price, dec("2450.35"));
    assert_eq!(
        packets.next(),
        Some(Err(PacketError::Truncated {
            index: 1,
            needed: 184,
            available: 174
        }))
    );
    assert_eq!(packets.next(), None);
    assert_eq!(packets.next(), None, "fused");
}

#[test]
fn truncated_length_prefix_is_reported_with_the_bytes_left() {
    let good = ltp_packet(RELIANCE, 1);
    let mut bytes = frame_declaring(2, &[&good]);
    bytes.push(0x00); // half a length prefix
    let items = decode_all(&bytes);
    assert!(items[0].is_ok());
    assert_eq!(
        items[1],
        Err(PacketError::Truncated {
            index: 1,
            needed: 2,
            available: 1
        })
    );
    assert_eq!(items.len(), 2);
}

#[test]
fn unknown_packet_length_is_skipped_and_the_next_packet_still_decoded() {
    let unknown = [0xAB; 13];
    let good = ltp_packet(NIFTY, 2_245_035);
    let items = decode_all(&frame(&[&unknown, &good]));
    assert_eq!(
        items[0],
        Err(PacketError::UnknownLength { index: 0, len: 13 })
    );
    let tick = items[1].as_ref().unwrap();
    assert_eq!((tick.token, tick.last_price), (NIFTY, dec("22450.35")));
    assert_eq!(items.len(), 2);
}

#[test]
fn zero_length_packet_is_unknown_skipped_and_counted() {
    let good = ltp_packet(RELIANCE, 5);
    let items = decode_all(&frame(&[&[], &good]));
    assert_eq!(
        items[0],
        Err(PacketError::UnknownLength { index: 0, len: 0 })
    );
    assert!(items[1].is_ok());
    assert_eq!(items.len(), 2);
}

#[test]
fn trailing_bytes_after_the_declared_packets_yield_one_count_mismatch_at_the_end() {
    let a = ltp_packet(RELIANCE, 1);
    let b = ltp_packet(RELIANCE, 2);
    let bytes = frame_declaring(1, &[&a, &b]);
    let items = decode_all(&bytes);
    assert_eq!(items[0].as_ref().unwrap().last_price, dec("0.01"));
    assert_eq!(
        items[1],
        Err(PacketError::CountMismatch {
            declared: 1,
            trailing_bytes: 10
        })
    );
    assert_eq!(items.len(), 2);
}

#[test]
fn zero_declared_packets_with_bytes_is_a_count_mismatch() {
    let items = decode_all(&[0x00, 0x00, 0x12, 0x34, 0x56]);
    assert_eq!(
        items,
        [Err(PacketError::CountMismatch {
            declared: 0,
            trailing_bytes: 3
        })]
    );
}

#[test]
fn exact_frame_yields_no_error_and_size_hint_bounds_the_items() {
    let a = ltp_packet(RELIANCE, 1);
    let bytes = frame(&[&a, &a, &a]);
    let Ok(Frame::Packets(packets)) = parse_frame(&bytes) else {
        panic!("expected packets");
    };
    assert_eq!(packets.size_hint(), (0, Some(4)));
    assert_eq!(packets.filter(Result::is_ok).count(), 3);
}

#[test]
fn huge_declared_count_with_unknown_lengths_ends_at_the_frame_end() {
    // 0xFFFF declared, then zero-length packets until the bytes run out.
    let mut bytes = vec![0xFF, 0xFF];
    bytes.extend_from_slice(&[0u8; 20]);
    let items = decode_all(&bytes);
    assert_eq!(items.len(), 11);
    assert!(
        items[..10]
            .iter()
            .all(|i| matches!(i, Err(PacketError::UnknownLength { len: 0, .. })))
    );
    assert_eq!(
        items[10],
        Err(PacketError::Truncated {
            index: 10,
            needed: 2,
            available: 0
        })
    );
}

#[test]
fn errors_display_their_context() {
    let error = PacketError::Truncated {
        index: 3,
        needed: 184,
        available: 7,
    };
    assert_eq!(
        error.to_string(),
        "packet 3: needs 184 bytes, only 7 left in the frame"
    );
    assert!(
        FrameError::ShortHeader { len: 3 }
            .to_string()
            .contains("3 bytes")
    );
}
