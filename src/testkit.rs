//! Probe actors for actor-level tests: put a probe where an actor sends its outputs, send
//! the actor messages, then assert what arrived in the probe's mailbox — and what did not
//! within a time bound.
//!
//! ```
//! use alpha_panda::testkit::Probe;
//! use actix::prelude::*;
//! use std::time::Duration;
//!
//! #[derive(Debug, PartialEq, Message)]
//! #[rtype(result = "()")]
//! struct Ping(u32);
//!
//! #[actix::main]
//! async fn main() {
//!     let mut probe = Probe::<Ping>::new();
//!     let to = probe.recipient();
//!     to.do_send(Ping(1));
//!     assert_eq!(probe.expect_msg(Duration::from_secs(1)).await, Ping(1));
//!     probe.expect_no_msg(Duration::from_millis(50)).await;
//!     to.do_send(Ping(2));
//!     to.do_send(Ping(3));
//!     assert_eq!(probe.expect_msgs(2, Duration::from_secs(1)).await, vec![Ping(2), Ping(3)]);
//!     assert!(probe.drain().is_empty());
//! }
//! ```

use crate::messages::Payload;
use crate::store::StoreError;
use crate::streaming::consumer::{Completion, Deliver, HandlerResult};
use crate::streaming::producer::{Delivered, Publish, PublishError};
use actix::dev::MessageResponse;
use actix::prelude::*;
use futures::future::BoxFuture;
use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

type Reply<M> = Box<dyn Fn(&M) -> <M as Message>::Result + Send>;

/// The actor half: records every message and answers with the configured reply.
pub struct ProbeActor<M: Message + Send> {
    seen: mpsc::UnboundedSender<M>,
    reply: Reply<M>,
}

impl<M> Actor for ProbeActor<M>
where
    M: Message + Send + Unpin + 'static,
{
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // A probe must never be the bottleneck of the test.
        ctx.set_mailbox_capacity(1 << 20);
    }
}

impl<M> Handler<M> for ProbeActor<M>
where
    M: Message + Send + Unpin + 'static,
    M::Result: Send + MessageResponse<ProbeActor<M>, M>,
{
    type Result = M::Result;

    fn handle(&mut self, msg: M, _ctx: &mut Self::Context) -> M::Result {
        let answer = (self.reply)(&msg);
        let _ = self.seen.send(msg);
        answer
    }
}

/// The test half: a recipient to hand out and a recorded mailbox to assert on.
pub struct Probe<M: Message + Send + Unpin + 'static> {
    addr: Addr<ProbeActor<M>>,
    seen: mpsc::UnboundedReceiver<M>,
}

impl<M> Probe<M>
where
    M: Message + Send + Unpin + Debug + 'static,
    M::Result: Send + MessageResponse<ProbeActor<M>, M>,
{
    /// A probe answering with `M::Result::default()`.
    pub fn new() -> Self
    where
        M::Result: Default,
    {
        Self::with_reply(|_| Default::default())
    }

    /// A probe answering each message with `reply(&msg)`.
    pub fn with_reply(reply: impl Fn(&M) -> M::Result + Send + 'static) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let addr = ProbeActor {
            seen: tx,
            reply: Box::new(reply),
        }
        .start();
        Probe { addr, seen: rx }
    }

    pub fn recipient(&self) -> Recipient<M> {
        self.addr.clone().recipient()
    }

    pub fn addr(&self) -> Addr<ProbeActor<M>> {
        self.addr.clone()
    }

    /// The next message, waiting at most `timeout`.
    ///
    /// # Panics
    /// No message arrived in time — the test fails with that statement.
    pub async fn expect_msg(&mut self, timeout: Duration) -> M {
        match tokio::time::timeout(timeout, self.seen.recv()).await {
            Ok(Some(m)) => m,
            Ok(None) => panic!("probe closed before a message arrived"),
            Err(_) => panic!("no message arrived within {timeout:?}"),
        }
    }

    /// The next `n` messages, in arrival order, all within `timeout`.
    ///
    /// # Panics
    /// Fewer than `n` arrived in time.
    pub async fn expect_msgs(&mut self, n: usize, timeout: Duration) -> Vec<M> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            match tokio::time::timeout_at(deadline, self.seen.recv()).await {
                Ok(Some(m)) => out.push(m),
                Ok(None) => panic!("probe closed after {} of {n} messages", out.len()),
                Err(_) => panic!(
                    "only {} of {n} messages arrived within {timeout:?}: {out:?}",
                    out.len()
                ),
            }
        }
        out
    }

    /// Asserts that nothing arrives for `within`.
    ///
    /// # Panics
    /// Something arrived — the test fails naming it.
    pub async fn expect_no_msg(&mut self, within: Duration) {
        if let Ok(Some(m)) = tokio::time::timeout(within, self.seen.recv()).await {
            panic!("expected no message within {within:?}, got {m:?}");
        }
    }

    /// Everything received so far and not yet taken.
    pub fn drain(&mut self) -> Vec<M> {
        let mut out = Vec::new();
        while let Ok(m) = self.seen.try_recv() {
            out.push(m);
        }
        out
    }
}

impl<M> Default for Probe<M>
where
    M: Message + Send + Unpin + Debug + 'static,
    M::Result: Send + Default + MessageResponse<ProbeActor<M>, M>,
{
    fn default() -> Self {
        Self::new()
    }
}

impl Probe<Publish> {
    /// A stand-in producer: records each `Publish` and acknowledges it at increasing offsets.
    pub fn acking_producer() -> Self {
        let next = AtomicI64::new(0);
        Self::with_reply(move |_| -> Result<Delivered, PublishError> {
            Ok(Delivered {
                partition: 0,
                offset: next.fetch_add(1, Ordering::Relaxed),
            })
        })
    }
}

impl<T: Payload + Unpin> Probe<Deliver<T>> {
    /// A stand-in service: records each delivery and answers "handled, nothing published".
    pub fn handling() -> Self {
        Self::with_reply(|_| -> HandlerResult { Ok(Completion::done()) })
    }
}

/// A store that is down: every call fails with "connection refused", as a Redis that went
/// away does. For testing that handlers treat the store's failures as transient.
pub struct DownStore;

impl crate::store::Store for DownStore {
    fn put(&self, _: &str, _: &str, _: String) -> BoxFuture<'static, Result<(), StoreError>> {
        refused()
    }
    fn create(&self, _: &str, _: &str, _: String) -> BoxFuture<'static, Result<bool, StoreError>> {
        refused()
    }
    fn put_and_move(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: String,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        refused()
    }
    fn get(&self, _: &str) -> BoxFuture<'static, Result<Option<String>, StoreError>> {
        refused()
    }
    fn members(&self, _: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        refused()
    }
    fn put_with_lists(
        &self,
        _: &str,
        _: &str,
        _: String,
        _: Vec<crate::store::ListWrite>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        refused()
    }
    fn get_with_lists(
        &self,
        _: &str,
        _: &[&str],
    ) -> BoxFuture<'static, Result<crate::store::ValueWithLists, StoreError>> {
        refused()
    }
}

/// A store that can be taken down and brought back: while down every call fails as
/// [`DownStore`]'s do; while up every call goes to the store it wraps.
pub struct SwitchableStore {
    inner: std::sync::Arc<dyn crate::store::Store>,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SwitchableStore {
    pub fn new(inner: std::sync::Arc<dyn crate::store::Store>) -> Self {
        SwitchableStore {
            inner,
            down: std::sync::Arc::default(),
        }
    }

    /// The switch: `set_down(true)` takes the store down.
    pub fn switch(&self) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        self.down.clone()
    }

    fn is_down(&self) -> bool {
        self.down.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl crate::store::Store for SwitchableStore {
    fn put(&self, i: &str, k: &str, v: String) -> BoxFuture<'static, Result<(), StoreError>> {
        if self.is_down() {
            refused()
        } else {
            self.inner.put(i, k, v)
        }
    }
    fn create(&self, i: &str, k: &str, v: String) -> BoxFuture<'static, Result<bool, StoreError>> {
        if self.is_down() {
            refused()
        } else {
            self.inner.create(i, k, v)
        }
    }
    fn put_and_move(
        &self,
        from: &str,
        to: &str,
        k: &str,
        v: String,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        if self.is_down() {
            refused()
        } else {
            self.inner.put_and_move(from, to, k, v)
        }
    }
    fn get(&self, k: &str) -> BoxFuture<'static, Result<Option<String>, StoreError>> {
        if self.is_down() {
            refused()
        } else {
            self.inner.get(k)
        }
    }
    fn members(&self, i: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        if self.is_down() {
            refused()
        } else {
            self.inner.members(i)
        }
    }
    fn put_with_lists(
        &self,
        i: &str,
        k: &str,
        v: String,
        lists: Vec<crate::store::ListWrite>,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        if self.is_down() {
            refused()
        } else {
            self.inner.put_with_lists(i, k, v, lists)
        }
    }
    fn get_with_lists(
        &self,
        k: &str,
        lists: &[&str],
    ) -> BoxFuture<'static, Result<crate::store::ValueWithLists, StoreError>> {
        if self.is_down() {
            refused()
        } else {
            self.inner.get_with_lists(k, lists)
        }
    }
}

fn refused<T: Send + 'static>() -> BoxFuture<'static, Result<T, StoreError>> {
    Box::pin(async { Err(StoreError("connection refused".into())) })
}

/// Sample values for tests and benchmarks.
pub mod fixtures {
    use crate::messages::{DepthLevel, MarketDepth, MarketTick, Ohlc, TickMode};
    use chrono::{DateTime, TimeZone, Utc};
    use rust_decimal::Decimal;

    /// A validated market order (DAY) of strategy `momentum_1` for INFY (token 408065)
    /// on `broker`, as a root envelope stamped now (execution refuses stale signals).
    pub fn validated_signal(
        broker: crate::messages::Broker,
        side: crate::messages::Side,
        quantity: u32,
    ) -> crate::messages::Envelope<crate::messages::ValidatedSignal> {
        use crate::messages::{Envelope, OrderType, TradingSignal, ValidatedSignal, Validity};
        let signal = TradingSignal {
            strategy_id: "momentum_1".into(),
            broker,
            token: 408_065,
            symbol: "INFY".into(),
            side,
            quantity,
            order_type: OrderType::Market,
            price: None,
            trigger_price: None,
            validity: Validity::Day,
            reference_price: Decimal::new(150_000, 2),
            reason: "test".into(),
            product: None,
            position: 0,
        };
        Envelope::root(ValidatedSignal { signal }, "test", chrono::Utc::now())
    }

    /// 2026-11-26 04:00 UTC (09:30 IST, a trading day).
    pub fn sample_time() -> DateTime<Utc> {
        Utc.timestamp_opt(1_795_665_600, 0)
            .single()
            .unwrap_or_default()
    }

    /// A full-mode RELIANCE tick with every optional field set and five depth levels a
    /// side: the largest tick Kite sends.
    pub fn full_tick() -> MarketTick {
        let price = |cents: i64| Decimal::new(cents, 2);
        let level = |quantity: u32, cents: i64, orders: u16| DepthLevel {
            quantity,
            price: price(cents),
            orders,
        };
        MarketTick {
            token: 738_561,
            symbol: Some("RELIANCE".into()),
            mode: TickMode::Full,
            tradable: true,
            last_price: price(245_035),
            last_traded_quantity: Some(12),
            average_traded_price: Some(price(244_710)),
            volume_traded: Some(3_000_000_000),
            total_buy_quantity: Some(120_000),
            total_sell_quantity: Some(98_000),
            ohlc: Some(Ohlc {
                open: price(244_000),
                high: price(246_050),
                low: price(243_105),
                close: price(243_890),
            }),
            change: Some(price(1_145)),
            last_trade_time: Some(sample_time()),
            oi: Some(0),
            oi_day_high: Some(0),
            oi_day_low: Some(0),
            exchange_timestamp: Some(sample_time()),
            depth: Some(MarketDepth {
                bids: (0..5).map(|i| level(100 + i, 245_030, 3)).collect(),
                asks: (0..5).map(|i| level(90 + i, 245_040, 2)).collect(),
            }),
        }
    }
}

/// Captures the log lines the process emits, for asserting what was (and was not — a
/// secret) logged.
pub mod logs {
    use std::io::Write;
    use std::sync::{Arc, Mutex, PoisonError};
    use tracing_subscriber::fmt::MakeWriter;

    /// The captured text; clone it to read while capturing.
    #[derive(Clone, Default)]
    pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

    impl CapturedLogs {
        /// Everything logged so far.
        pub fn text(&self) -> String {
            let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }

    /// Writes into a [`CapturedLogs`].
    pub struct Writer(Arc<Mutex<Vec<u8>>>);

    impl Write for Writer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for CapturedLogs {
        type Writer = Writer;
        fn make_writer(&'a self) -> Writer {
            Writer(self.0.clone())
        }
    }

    /// Captures every event at every level (dependencies' included) of the whole process,
    /// from the first call on. Use it in a test binary of its own (an integration test):
    /// a per-thread subscriber misses events when tests running in parallel threads share
    /// tracing's global callsite caches, so log assertions need the process-wide one.
    ///
    /// # Panics
    /// Another global subscriber was installed first in this process.
    pub fn capture_global() -> CapturedLogs {
        static LOGS: std::sync::OnceLock<CapturedLogs> = std::sync::OnceLock::new();
        LOGS.get_or_init(|| {
            let logs = CapturedLogs::default();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(logs.clone())
                .with_max_level(tracing::Level::TRACE)
                .with_ansi(false)
                .finish();
            if let Err(e) = tracing::subscriber::set_global_default(subscriber) {
                panic!("capture_global needs a test binary of its own: {e}");
            }
            logs
        })
        .clone()
    }
}
