//! The risk manager's restart against the embedded broker: a new life rebuilds its book
//! from the topics (validated and rejected signals, fills, failures), so what it knew is
//! what the events say — the position, the orders still in flight and what is left of
//! them, and every raw signal's verdict. A signal redelivered after the restart gets the
//! verdict it got before (the same event again), and exposure counts the order that was
//! in flight at the crash.

mod common;

use actix::prelude::*;
use alpha_panda::actors::risk_manager::RiskManager;
use alpha_panda::messages::{
    Broker, Envelope, Fees, OrderFailed, OrderFailureKind, OrderFilled, OrderRef, OrderType,
    RecordOrigin, RejectedSignal, RejectionCode, Side, TradingSignal, ValidatedSignal, Validity,
    client_order_id_of_signal,
};
use alpha_panda::risk::RiskLimits;
use alpha_panda::store::{MemoryStore, Store};
use alpha_panda::streaming::consumer::{Deliver, HandlerResult};
use alpha_panda::streaming::history::read_history;
use alpha_panda::streaming::{
    EmbeddedBroker, KafkaConnection, ProducerActor, ProducerHandle, Stream, Topic, TopicMap,
};
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const STRATEGY: &str = "rebuilt";
const INFY: u32 = 408_065;

/// Today 09:30 IST (the rebuild counts today's events toward today).
fn at() -> chrono::DateTime<Utc> {
    let today = alpha_panda::market::MarketCalendar::ist_date(Utc::now());
    let local = today.and_hms_opt(4, 0, 0).expect("time");
    Utc.from_utc_datetime(&local)
}

fn origin() -> RecordOrigin {
    RecordOrigin {
        topic: "t".into(),
        partition: 0,
        offset: 0,
    }
}

fn signal(side: Side, quantity: u32) -> Envelope<TradingSignal> {
    let s = TradingSignal {
        strategy_id: STRATEGY.into(),
        broker: Broker::Paper,
        token: INFY,
        symbol: "INFY".into(),
        side,
        quantity,
        order_type: OrderType::Limit,
        price: Some(Decimal::from(1500)),
        trigger_price: None,
        validity: Validity::Day,
        reference_price: Decimal::from(1500),
        reason: "test".into(),
        product: None,
        position: 0,
    };
    Envelope::root(s, "strategy_runner", at())
}

fn deliver<T: alpha_panda::messages::Payload>(envelope: Envelope<T>) -> Deliver<T> {
    Deliver {
        envelope,
        origin: origin(),
    }
}

fn order_of(raw: &Envelope<TradingSignal>) -> OrderRef {
    OrderRef {
        client_order_id: client_order_id_of_signal(raw.id),
        broker_order_id: None,
        strategy_id: STRATEGY.into(),
        broker: Broker::Paper,
        token: INFY,
        symbol: "INFY".into(),
        side: raw.data.side,
    }
}

async fn completed(answer: HandlerResult) {
    for delivery in answer.expect("handled").deliveries {
        delivery.await.expect("delivered");
    }
}

struct Rig {
    _broker: EmbeddedBroker,
    connection: KafkaConnection,
    producer: ProducerHandle,
    store: Arc<dyn Store>,
}

impl Rig {
    async fn new() -> Rig {
        let mut settings = common::settings();
        settings.kafka.group_prefix = format!("risk-rebuild-{}", uuid::Uuid::new_v4().simple());
        let broker =
            EmbeddedBroker::start(&TopicMap::new(&settings.topics)).expect("embedded broker");
        let connection = broker.connection(&settings.kafka);
        let (_actor, producer) = ProducerActor::connect(&connection, Duration::from_secs(10))
            .await
            .expect("producer")
            .start_with_handle();
        Rig {
            _broker: broker,
            connection,
            producer,
            store: Arc::new(MemoryStore::default()),
        }
    }

    /// A life of the risk manager: ±45 per position; it rebuilds from the topics first.
    fn life(&self) -> Addr<RiskManager> {
        let limits = RiskLimits {
            max_position: Some(45),
            ..RiskLimits::default()
        };
        RiskManager::new(
            BTreeMap::from([(Broker::Paper, limits)]),
            self.producer.clone(),
            self.store.clone(),
        )
        .with_history(Some(self.connection.clone()))
        .start()
    }

    /// What the venue would publish.
    async fn publish<T: alpha_panda::messages::Payload>(&self, stream: Stream, data: T) {
        let envelope = Envelope::root(data, "paper_execution", at());
        self.producer
            .publish_envelope(Topic::of(Broker::Paper, stream), &envelope)
            .await
            .expect("published");
    }

    async fn read<T: alpha_panda::messages::Payload + Send + 'static>(
        &self,
        stream: Stream,
    ) -> Vec<Envelope<T>> {
        let connection = self.connection.clone();
        let topic = Topic::of(Broker::Paper, stream).name();
        tokio::task::spawn_blocking(move || {
            read_history::<T>(&connection, &topic, Duration::from_secs(10))
        })
        .await
        .expect("reader")
        .expect("history")
        .0
    }
}

#[actix::test]
async fn a_restarted_risk_manager_knows_positions_orders_in_flight_and_verdicts_from_the_topics() {
    let rig = Rig::new().await;
    let first = rig.life();
    let (a, b, c) = (
        signal(Side::Sell, 25),
        signal(Side::Sell, 25),
        signal(Side::Buy, 10),
    );
    // A: validated (−25 in flight). B: −50 if both fill, refused. C: validated.
    for raw in [&a, &b, &c] {
        completed(first.send(deliver(raw.clone())).await.expect("alive")).await;
    }
    // The venue fills 10 of A and C fails; the first life dies before it sees either.
    rig.publish(
        Stream::OrdersFilled,
        OrderFilled {
            order: order_of(&a),
            fill_id: "a-1".into(),
            quantity: 10,
            price: Decimal::from(1500),
            fees: Fees::default(),
            cumulative_quantity: 10,
            order_quantity: 25,
            filled_at: at(),
        },
    )
    .await;
    rig.publish(
        Stream::OrdersFailed,
        OrderFailed {
            order: order_of(&c),
            quantity: 10,
            filled_quantity: 0,
            kind: OrderFailureKind::Cancelled,
            message: "test".into(),
        },
    )
    .await;
    drop(first);

    let second = rig.life();
    // B again (its offset was not committed): refused again, the same event.
    completed(second.send(deliver(b.clone())).await.expect("alive")).await;
    // A again: validated again, not counted twice.
    completed(second.send(deliver(a.clone())).await.expect("alive")).await;
    // D: short 10 filled, 15 of A in flight: another 21 would make −46.
    let d = signal(Side::Sell, 21);
    completed(second.send(deliver(d.clone())).await.expect("alive")).await;
    // E: 20 fits (−45): C's failure freed nothing it held, A's fill was counted once.
    let e = signal(Side::Sell, 20);
    completed(second.send(deliver(e.clone())).await.expect("alive")).await;

    let validated = rig.read::<ValidatedSignal>(Stream::SignalsValidated).await;
    let rejected = rig.read::<RejectedSignal>(Stream::SignalsRejected).await;
    let verdicts = |raw: &Envelope<TradingSignal>| {
        let v: Vec<_> = validated
            .iter()
            .filter(|x| x.causation_id == Some(raw.id))
            .map(|x| x.id)
            .collect();
        let r: Vec<_> = rejected
            .iter()
            .filter(|x| x.causation_id == Some(raw.id))
            .map(|x| (x.id, x.data.reasons.clone()))
            .collect();
        (v, r)
    };
    let (a_valid, a_rejected) = verdicts(&a);
    assert_eq!(a_valid.len(), 2, "published again after the restart");
    assert_eq!(a_valid[0], a_valid[1], "with the same id");
    assert!(a_rejected.is_empty(), "never also rejected");
    let (b_valid, b_rejected) = verdicts(&b);
    assert!(b_valid.is_empty(), "never validated after the restart");
    assert_eq!(b_rejected.len(), 2);
    assert_eq!(b_rejected[0], b_rejected[1], "the same rejection again");
    assert_eq!(b_rejected[0].1[0].code, RejectionCode::MaxPosition);

    let (d_valid, d_rejected) = verdicts(&d);
    assert!(d_valid.is_empty());
    assert_eq!(
        d_rejected[0].1[0].message,
        "position after the order -46 exceeds ±45 (now -10 (-15 in flight), order -21)"
    );
    let (e_valid, e_rejected) = verdicts(&e);
    assert_eq!((e_valid.len(), e_rejected.len()), (1, 0));
}

/// A fill reached the loss limit and the process died before the closing orders went
/// out: the next life finds the limit reached in the topics and sends them, once.
#[actix::test]
async fn closing_orders_a_crash_cut_short_are_sent_at_the_next_start() {
    let rig = Rig::new().await;
    let fill = |id: &str, side: Side, quantity: u32, price: i64| OrderFilled {
        order: OrderRef {
            client_order_id: format!("ext-{id}"),
            broker_order_id: None,
            strategy_id: STRATEGY.into(),
            broker: Broker::Paper,
            token: INFY,
            symbol: "INFY".into(),
            side,
        },
        fill_id: id.into(),
        quantity,
        price: Decimal::from(price),
        fees: Fees::default(),
        cumulative_quantity: quantity,
        order_quantity: quantity,
        filled_at: at(),
    };
    // Long 30 at 1500, 10 sold at 1400: realized −1000, the limit.
    rig.publish(Stream::OrdersFilled, fill("b", Side::Buy, 30, 1500))
        .await;
    rig.publish(Stream::OrdersFilled, fill("s", Side::Sell, 10, 1400))
        .await;
    let limits = RiskLimits {
        daily_loss_limit: Some(Decimal::from(1000)),
        loss_limit_basis: alpha_panda::risk::LossBasis::Realized,
        on_loss_limit: alpha_panda::risk::LossAction::Flatten,
        ..RiskLimits::default()
    };
    let life = || {
        RiskManager::new(
            BTreeMap::from([(Broker::Paper, limits.clone())]),
            rig.producer.clone(),
            rig.store.clone(),
        )
        .with_history(Some(rig.connection.clone()))
        .start()
    };
    let first = life();
    // The start is done once the actor answers (its mailbox waited for the rebuild).
    let view = first
        .send(alpha_panda::actors::risk_manager::GetRiskView(
            Broker::Paper,
        ))
        .await
        .expect("alive")
        .expect("paper");
    assert!(view.loss_limit_reached);
    let closing = |validated: &[Envelope<ValidatedSignal>]| -> Vec<(Side, u32)> {
        validated
            .iter()
            .filter(|v| v.data.signal.strategy_id == STRATEGY)
            .map(|v| (v.data.signal.side, v.data.signal.quantity))
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let sent = loop {
        let sent = closing(&rig.read::<ValidatedSignal>(Stream::SignalsValidated).await);
        if !sent.is_empty() || std::time::Instant::now() > deadline {
            break sent;
        }
    };
    assert_eq!(sent, [(Side::Sell, 20)]);
    drop(first);
    // Another start: the order is in flight (on the topic), nothing is sent again.
    let second = life();
    let view = second
        .send(alpha_panda::actors::risk_manager::GetRiskView(
            Broker::Paper,
        ))
        .await
        .expect("alive")
        .expect("paper");
    assert_eq!(view.open_orders.len(), 1);
    let validated = rig.read::<ValidatedSignal>(Stream::SignalsValidated).await;
    assert_eq!(closing(&validated), [(Side::Sell, 20)]);
}

/// F&O exposure is derived too: an option buy validated by one life and partly filled
/// after it died still counts in the next life's premium at risk — its filled lot at the
/// fill price, its open lot at its order price.
#[actix::test]
async fn a_restarted_risk_manager_counts_option_premium_in_flight_and_filled_from_the_topics() {
    let rig = Rig::new().await;
    let registry = alpha_panda::market::InstrumentRegistry::embedded().expect("registry");
    let call = registry
        .iter()
        .find(|i| i.kind == alpha_panda::market::InstrumentKind::Call && i.name == "NIFTY")
        .expect("a NIFTY call in the embedded registry")
        .clone();
    let lot = call.lot_size;
    let premium = |lots: u32, price: i64| Decimal::from(lots * lot) * Decimal::from(price);
    // Three lots at 150 are the limit.
    let limits = RiskLimits {
        max_premium_at_risk: Some(premium(3, 150)),
        ..RiskLimits::default()
    };
    let rules = alpha_panda::risk::MarketRules::new(&registry);
    let life = || {
        RiskManager::new(
            BTreeMap::from([(Broker::Paper, limits.clone())]),
            rig.producer.clone(),
            rig.store.clone(),
        )
        .with_market(BTreeMap::from([(Broker::Paper, rules.clone())]))
        .with_history(Some(rig.connection.clone()))
        .start()
    };
    let buy = |lots: u32| {
        let mut raw = signal(Side::Buy, lots * lot);
        raw.data.token = call.token;
        raw.data.symbol = call.symbol.clone();
        raw.data.price = Some(Decimal::from(150));
        raw.data.reference_price = Decimal::from(150);
        raw
    };
    let first = life();
    let a = buy(2);
    completed(first.send(deliver(a.clone())).await.expect("alive")).await;
    let mut filled = order_of(&a);
    (filled.token, filled.symbol) = (call.token, call.symbol.clone());
    rig.publish(
        Stream::OrdersFilled,
        OrderFilled {
            order: filled,
            fill_id: "call-1".into(),
            quantity: lot,
            price: Decimal::from(140),
            fees: Fees::default(),
            cumulative_quantity: lot,
            order_quantity: 2 * lot,
            filled_at: at(),
        },
    )
    .await;
    drop(first);

    let second = life();
    // 1 lot at 140 filled + 1 lot at 150 in flight + 2 lots at 150 > 3 lots at 150.
    let b = buy(2);
    completed(second.send(deliver(b.clone())).await.expect("alive")).await;
    // + 1 lot at 150 is 10 × lot under the limit: passes.
    let c = buy(1);
    completed(second.send(deliver(c.clone())).await.expect("alive")).await;

    let validated = rig.read::<ValidatedSignal>(Stream::SignalsValidated).await;
    let rejected = rig.read::<RejectedSignal>(Stream::SignalsRejected).await;
    let refused: Vec<_> = rejected
        .iter()
        .filter(|r| r.causation_id == Some(b.id))
        .map(|r| r.data.reasons.clone())
        .collect();
    let now = premium(1, 140) + premium(1, 150);
    let after = now + premium(2, 150);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0][0].code, RejectionCode::MaxPremiumAtRisk);
    assert!(
        refused[0][0].message.starts_with(&format!(
            "option premium at risk after the order {after:.2} exceeds {} (now {now:.2})",
            premium(3, 150)
        )),
        "{}",
        refused[0][0].message
    );
    assert!(validated.iter().any(|v| v.causation_id == Some(c.id)));
}
