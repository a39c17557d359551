//! The simulator over its socket: derivatives subscribed as a Kite client would, alone or
//! with their underlying.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tokio_tungstenite::tungstenite::Message;

use super::black76::{self, Inputs};
use super::{Derivatives, Simulator, SimulatorOptions};
use crate::kite::text::Request;
use crate::kite::ticker::{Frame, KiteTick, parse_frame};
use crate::market::instruments::{Instrument, InstrumentKind, InstrumentRegistry};
use crate::messages::TickMode;

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A bound on waiting for frames, not a pause: frames come 20 times a second.
const WAIT: Duration = Duration::from_secs(20);

async fn connect(tokens: &[u32]) -> (Simulator, Client) {
    let registry = InstrumentRegistry::embedded().unwrap();
    let sim = Simulator::start(
        SimulatorOptions {
            listen: "127.0.0.1:0".parse().unwrap(),
            ticks_per_sec: 20,
            seed: 13,
            derivatives: Derivatives::default(),
        },
        &registry,
    )
    .await
    .unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(sim.url()).await.unwrap();
    for request in [
        Request::Subscribe(tokens.to_vec()),
        Request::Mode(TickMode::Full, tokens.to_vec()),
    ] {
        ws.send(Message::text(request.to_json())).await.unwrap();
    }
    (sim, ws)
}

/// The ticks of the next frame carrying all of `tokens` in full mode.
async fn frame_with(ws: &mut Client, tokens: &[u32]) -> Vec<KiteTick> {
    let read = async {
        loop {
            let Some(Ok(Message::Binary(bytes))) = ws.next().await else {
                continue;
            };
            let Ok(Frame::Packets(packets)) = parse_frame(&bytes) else {
                continue;
            };
            let ticks: Vec<KiteTick> = packets.map(Result::unwrap).collect();
            let full = |t: &u32| {
                ticks
                    .iter()
                    .any(|k| k.token == *t && k.exchange_timestamp > 0)
            };
            if tokens.iter().all(full) {
                return ticks;
            }
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("a frame in time")
}

/// The NIFTY call of the latest sample expiry nearest the money (a contract far from
/// its expiry whatever the day the test runs).
fn far_call(registry: &InstrumentRegistry) -> Instrument {
    registry
        .iter()
        .filter(|i| i.name == "NIFTY" && i.kind == InstrumentKind::Call)
        .max_by_key(|i| (i.expiry, -(i.strike - Decimal::from(26_000)).abs()))
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn an_option_subscribed_alone_ticks_in_full_with_oi() {
    let registry = InstrumentRegistry::embedded().unwrap();
    let call = far_call(&registry);
    let (_sim, mut ws) = connect(&[call.token]).await;
    for _ in 0..3 {
        let ticks = frame_with(&mut ws, &[call.token]).await;
        let tick = ticks.iter().find(|t| t.token == call.token).unwrap();
        assert_eq!(tick.to_market_tick(None).check(), Ok(()));
        assert!(tick.last_price > Decimal::ZERO);
        assert!(
            tick.oi > 0 && tick.oi.is_multiple_of(call.lot_size),
            "{tick:?}"
        );
        assert!(tick.bids[0].quantity.is_multiple_of(call.lot_size));
    }
}

#[tokio::test]
async fn an_option_and_its_index_in_one_frame_agree_by_black_76() {
    let registry = InstrumentRegistry::embedded().unwrap();
    let call = far_call(&registry);
    let index = registry.by_symbol("NSE:NIFTY 50").unwrap().token;
    let (_sim, mut ws) = connect(&[call.token, index]).await;
    let p = Derivatives::default().pricing;
    for _ in 0..3 {
        let ticks = frame_with(&mut ws, &[call.token, index]).await;
        let spot = ticks.iter().find(|t| t.token == index).unwrap().last_price;
        let option = ticks.iter().find(|t| t.token == call.token).unwrap();
        let expiry = call.expiry.unwrap().and_hms_opt(10, 0, 0).unwrap(); // 15:30 IST
        let years = (expiry.and_utc().timestamp() - i64::from(option.exchange_timestamp)) as f64
            / (365.0 * 86_400.0);
        let spot = spot.to_f64().unwrap();
        let expected = black76::call(&Inputs {
            forward: spot * (1.0 + p.futures_basis * years),
            strike: call.strike.to_f64().unwrap(),
            years,
            rate: p.risk_free_rate,
            volatility: p.volatility,
        });
        let got = option.last_price.to_f64().unwrap();
        assert!((got - expected).abs() <= 0.05, "{got} vs {expected}");
    }
}
