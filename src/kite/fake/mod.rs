//! A fake Kite Connect REST server for tests: a real actix-web server on 127.0.0.1 that
//! checks requests the way Kite does and answers in Kite's wire shapes, with an order book
//! the test can inspect and script.
//!
//! Why: the REST client and the Zerodha execution actor must be tested against the wire —
//! headers, form bodies, error envelopes, timeouts, 5xx after the order exists — without the
//! real broker. A hand-written fake keeps every behaviour visible and scriptable.
//!
//! Use: [`FakeKite::start`] under an actix System (`#[actix::test]`) or any Tokio runtime,
//! point the client at [`FakeKite::base_url`], script with [`FakeKite::script_next_placement`],
//! [`FakeKite::fill`], [`FakeKite::rate_limit_next`], …, then inspect
//! [`FakeKite::requests`] and [`FakeKite::orders`]. Synchronise with
//! [`FakeKite::wait_until`] (no sleeps).
//!
//! What it enforces as Kite does today (KITE.md, "Rules in force since 1 April 2026"):
//! market protection on MARKET/SL-M (`form`); tick size, lot size and freeze quantity per
//! instrument (NFO/BFO contracts must be set), and limit price protection around the last
//! price (`market`: [`FakeKite::set_instrument`], [`FakeKite::set_freeze_quantity`],
//! [`FakeKite::set_last_price`], [`FakeKite::set_lpp_band_pct`]); 10 order requests a
//! second and 200 a minute (`rate`: [`FakeKite::rate_violations`]). What it serves beyond
//! placing: modify and cancel (`modify`, `routes`), positions and holdings (`portfolio`:
//! [`FakeKite::set_overnight_position`], [`FakeKite::set_holding`]), untagged trades and
//! opt-in auto-execution for soak tests (`execution`: [`FakeKite::external_trade`],
//! [`FakeKite::auto_square_off`], [`FakeKite::auto_execute`]), and the instrument master
//! (`instruments`: a generated ~100k-row master gzipped, or a scripted one,
//! [`FakeKite::serve_instruments`]), and historical candles (`historical`: deterministic
//! candles within Kite's span limits, [`FakeKite::historical_requests`],
//! [`FakeKite::malform_next_historical`]).
//!
//! Invariants:
//! - Requests are checked in a fixed order (see `routes`); a refused request changes nothing
//!   but is still recorded with the status it got.
//! - Scripted behaviours (`rate_limit_next`, `fail_next_gets`, `script_next_placement`) are
//!   consumed by the requests they apply to, in arrival order, and only by those.
//! - Prices are exact [`Decimal`]s inside and JSON numbers written from their decimal text
//!   outside.
//! - The fake never logs a header, a form field or a token (debug-level method, path and
//!   status only).

mod execution;
mod form;
mod historical;
pub mod instruments;
mod market;
mod modify;
mod portfolio;
mod rate;
mod reply;
mod routes;
mod script;
mod session;
mod state;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_auto;
#[cfg(test)]
mod tests_market;
#[cfg(test)]
mod tests_modify;
#[cfg(test)]
mod tests_portfolio;
#[cfg(test)]
mod tests_rate;
#[cfg(test)]
mod tests_scripted;

/// The session checksum (shared with the client: it is a formula, checked against a
/// published test vector in the client's tests).
pub use crate::kite::rest::session_checksum;
pub use execution::{AUTO_SQUARE_OFF_PLACED_BY, AutoExecution, ExternalTrade};
pub use form::MARKET_PROTECTION_REQUIRED;
pub use historical::HistoricalRequest;
pub use instruments::{DEFAULT_MASTER_ROWS, MasterReply, generated_master};
pub use market::{
    DEFAULT_LOT_SIZE, DEFAULT_LPP_BAND_PCT, DEFAULT_TICK_SIZE, LPP_REJECTION, UNKNOWN_CONTRACT,
    freeze_quantity_message, lot_size_message, tick_size_message,
};
pub use modify::filled_quantity_message;
pub use rate::{ManualClock, OrderRateLimits};
pub use reply::TOO_MANY_REQUESTS;
pub use state::{FAKE_USER_ID, FakeOrder, FakeTrade};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use state::State;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// The credentials the fake accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct FakeKiteConfig {
    pub api_key: String,
    /// For the `POST /session/token` checksum.
    pub api_secret: String,
    /// The access token valid at start (replaced by `set_access_token` or a new session).
    pub access_token: String,
}

impl Default for FakeKiteConfig {
    fn default() -> Self {
        FakeKiteConfig {
            api_key: "fake_api_key".to_owned(),
            api_secret: "fake_api_secret".to_owned(),
            access_token: "fake_access_token_0123456789".to_owned(),
        }
    }
}

impl fmt::Debug for FakeKiteConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeKiteConfig")
            .field("api_key", &self.api_key)
            .field("api_secret", &"<redacted>")
            .field("access_token", &"<redacted>")
            .finish()
    }
}

/// What the fake does with the next valid `POST /orders/{variety}` (queued FIFO; a request
/// refused before it — headers, rate windows, body, fields, tick and lot — does not consume
/// an entry). With `Accept`, `AcceptThenDelay` and `ServerErrorAfterCreate` the created order
/// then meets limit price protection and auto-execution; `AcceptAndFill` and
/// `AcceptAndReject` decide its fate themselves.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Create an OPEN order and answer its id (the default when nothing is queued).
    Accept,
    /// Create the order and fill its whole quantity at `price` in one trade (COMPLETE).
    AcceptAndFill { price: Decimal },
    /// Create the order, answer its id, but the order is already REJECTED with `message`
    /// (Kite's RMS refuses after accepting the request).
    AcceptAndReject { message: String },
    /// Answer this error and create nothing (a definitive refusal).
    Reject {
        status: u16,
        error_type: String,
        message: String,
    },
    /// Create the order at once, answer only after the delay (the client times out while
    /// the order exists at Kite).
    AcceptThenDelay(Duration),
    /// Create the order, then answer a 5xx error envelope.
    ServerErrorAfterCreate { status: u16 },
    /// Create nothing and answer a 5xx error envelope.
    ServerError { status: u16 },
}

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, `PUT`, `DELETE`, …
    pub method: String,
    /// Without the query string, e.g. `/orders/regular`.
    pub path: String,
    /// The raw query string (`""` when none).
    pub query: String,
    /// The decoded form fields of a POST/PUT, in order (empty otherwise or when malformed).
    pub form: Vec<(String, String)>,
    /// The `Authorization` header exactly as received.
    pub authorization: Option<String>,
    /// The HTTP status answered (for a delayed placement: the status it is answered with).
    pub status: u16,
}

/// State shared by the handlers and the test.
struct Shared {
    config: FakeKiteConfig,
    state: Mutex<State>,
    /// Ticks after every change, for [`FakeKite::wait_until`].
    changed: watch::Sender<()>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test helper never holds the lock, so poison carries no broken state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn notify(&self) {
        self.changed.send_replace(());
    }
}

/// A running fake Kite REST server. Dropping it stops the server too.
pub struct FakeKite {
    shared: Arc<Shared>,
    addr: SocketAddr,
    handle: ServerHandle,
}

impl FakeKite {
    /// Binds 127.0.0.1 on a free port and serves (one worker) on the current runtime.
    ///
    /// # Errors
    /// The socket could not be bound.
    pub async fn start(config: FakeKiteConfig) -> std::io::Result<FakeKite> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(config.access_token.clone())),
            config,
            changed: watch::channel(()).0,
        });
        let data = web::Data::from(Arc::clone(&shared));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(routes::dispatch))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .bind(("127.0.0.1", 0))?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| std::io::Error::other("fake Kite bound no address"))?;
        let server = server.run();
        let handle = server.handle();
        // The server's own result only reports shutdown; `stop` and `Drop` end it.
        tokio::spawn(server);
        Ok(FakeKite {
            shared,
            addr,
            handle,
        })
    }

    /// `http://127.0.0.1:PORT`, the REST base URL to give the client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server without waiting for pending (delayed) answers.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.lock()
    }

    /// Runs `change` on the state, wakes waiters, then panics with the error if any (outside
    /// the lock, so the mutex is never poisoned).
    fn script<T>(&self, change: impl FnOnce(&mut State) -> Result<T, String>) -> T {
        let result = change(&mut self.lock());
        self.shared.notify();
        result.unwrap_or_else(|why| panic!("fake Kite: {why}"))
    }

    // ----- inspection -----

    /// Every request received, in the order the fake acted on them.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Every order (latest state), in creation order.
    pub fn orders(&self) -> Vec<FakeOrder> {
        self.lock().orders().cloned().collect()
    }

    /// One order's latest state.
    pub fn order(&self, order_id: &str) -> Option<FakeOrder> {
        self.lock().order(order_id).cloned()
    }

    /// The first order created with this `tag`.
    pub fn order_by_tag(&self, tag: &str) -> Option<FakeOrder> {
        self.lock()
            .orders()
            .find(|order| order.tag.as_deref() == Some(tag))
            .cloned()
    }

    /// How many orders `POST /orders/{variety}` created (including ones whose answer was
    /// delayed or a 5xx, and ones the LPP check then REJECTED; not scripted rejections or
    /// refused requests, nor external trades).
    pub fn placements(&self) -> usize {
        self.lock().placements
    }

    /// Every trade, in execution order.
    pub fn trades(&self) -> Vec<FakeTrade> {
        self.lock().trades().to_vec()
    }

    /// The access token currently accepted.
    pub fn access_token(&self) -> String {
        self.lock().access_token.clone()
    }

    /// The ticker text frame Kite pushes for the order's latest state:
    /// `{"type":"order","data":{...order, "user_id", "unfilled_quantity", "checksum":""}}`.
    ///
    /// # Panics
    /// Unknown order.
    pub fn order_update_json(&self, order_id: &str) -> Value {
        self.script(|state| {
            let order = state
                .order(order_id)
                .ok_or_else(|| format!("no order {order_id}"))?;
            let mut data = order.to_json();
            if let Value::Object(fields) = &mut data {
                fields.insert("user_id".into(), FAKE_USER_ID.into());
                fields.insert("account_id".into(), FAKE_USER_ID.into());
                let unfilled = order.quantity.saturating_sub(order.filled_quantity);
                fields.insert("unfilled_quantity".into(), unfilled.into());
                fields.insert("checksum".into(), "".into());
            }
            Ok(json!({"type": "order", "data": data}))
        })
    }

    /// Waits until `done(self)` holds; re-checked after every request and script change.
    /// Wrap it in a timeout: it waits forever if the condition never comes.
    pub async fn wait_until(&self, mut done: impl FnMut(&FakeKite) -> bool) {
        let mut changes = self.shared.changed.subscribe();
        while !done(self) {
            if changes.changed().await.is_err() {
                // Unreachable: `self` owns the sender; wait forever rather than lie.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Waits until at least `count` orders exist (see [`FakeKite::wait_until`]).
    pub async fn wait_for_orders(&self, count: usize) {
        self.wait_until(|kite| kite.lock().orders().count() >= count)
            .await;
    }
}

impl Drop for FakeKite {
    fn drop(&mut self) {
        // The stop command is sent synchronously; completion is not awaited here.
        drop(self.handle.stop(false));
    }
}
