//! Runtime subscriptions: instruments a strategy asks for while it runs, besides the
//! `instruments` of its configuration (an options strategy subscribes the strikes around
//! the money once it has seen the underlying's price, and drops them later).
//!
//! The API is on the context ([`StrategyContext::subscribe`],
//! [`StrategyContext::unsubscribe`]), callable from every callback; a request is checked at
//! once against the instrument registry and answered (an unknown symbol is an error the
//! strategy sees, and may `?` into a fault or handle; it is logged as a WARN either way). What it changes is the slot's
//! [`RuntimeSubscriptions`]; after the callback the runner (or the harness) routes ticks of
//! the slot's configured ∪ runtime instruments to the strategy and publishes the slot's
//! whole runtime set to `market.subscriptions` for the feed
//! ([`crate::messages::SubscriptionsChanged`]).
//!
//! Rules:
//! - Instruments are named by registry symbol (`"NFO:NIFTY26D0826000CE"`, or a bare
//!   unambiguous `"INFY"`) or by token ([`InstrumentRef`]).
//! - Subscribing again changes the mode; unsubscribing what is not subscribed is a no-op
//!   (both idempotent). Unsubscribing never stops a configured instrument: those are the
//!   strategy's for the run.
//! - At most [`MAX_INSTRUMENTS_PER_CONNECTION`] runtime instruments per slot (one ticker
//!   connection's worth); the feed enforces the same limit on the union of everything it
//!   streams and refuses (logs and counts) a request beyond it, which a strategy cannot see.
//! - The set survives a restart of the runner: the runner rebuilds it from
//!   `market.subscriptions` (each requester's latest record), like the ledger from the
//!   order topics, so a strategy keeps the ticks of the contracts it holds.
//!
//! Pure domain code: interior mutability (`RefCell`) because the context is shared (`&`)
//! with the strategy; nothing here is shared between threads.

use super::StrategyContext;
use crate::market::instruments::InstrumentRegistry;
use crate::messages::{TickMode, WantedInstrument};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;

pub use crate::kite::ticker::MAX_INSTRUMENTS_PER_CONNECTION;

/// An instrument as a strategy names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstrumentRef {
    Token(u32),
    /// A registry symbol: `"NFO:NIFTY26D0826000CE"` or a bare unambiguous one.
    Symbol(String),
}

impl From<u32> for InstrumentRef {
    fn from(token: u32) -> Self {
        InstrumentRef::Token(token)
    }
}

impl From<&str> for InstrumentRef {
    fn from(symbol: &str) -> Self {
        InstrumentRef::Symbol(symbol.to_owned())
    }
}

impl From<String> for InstrumentRef {
    fn from(symbol: String) -> Self {
        InstrumentRef::Symbol(symbol)
    }
}

impl From<&String> for InstrumentRef {
    fn from(symbol: &String) -> Self {
        InstrumentRef::Symbol(symbol.clone())
    }
}

impl fmt::Display for InstrumentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstrumentRef::Token(t) => write!(f, "token {t}"),
            InstrumentRef::Symbol(s) => write!(f, "`{s}`"),
        }
    }
}

/// Why a subscription request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SubscriptionError {
    #[error("unknown instrument {0} (not in the instrument registry)")]
    Unknown(InstrumentRef),
    #[error(
        "subscribing {instrument} would make {wanted} runtime instruments, above the \
         ticker's {MAX_INSTRUMENTS_PER_CONNECTION} per connection"
    )]
    TooMany {
        instrument: InstrumentRef,
        wanted: usize,
    },
    /// The context was built without subscriptions (a benchmark, a hand-made context).
    #[error("this context takes no subscriptions")]
    NotAvailable,
}

/// One slot's runtime subscriptions (token → instrument and mode), and whether they
/// changed since the runner last looked.
#[derive(Debug, Default)]
pub struct RuntimeSubscriptions {
    wanted: RefCell<BTreeMap<u32, WantedInstrument>>,
    changed: Cell<bool>,
}

impl RuntimeSubscriptions {
    /// The set a rebuild found (not a change: it is what was last published).
    pub fn restored(instruments: Vec<WantedInstrument>) -> Self {
        RuntimeSubscriptions {
            wanted: RefCell::new(instruments.into_iter().map(|w| (w.token, w)).collect()),
            changed: Cell::new(false),
        }
    }

    /// Adds `instrument` in `mode` (or changes its mode); answers its token.
    ///
    /// # Errors
    /// The registry does not know it, or the set would pass
    /// [`MAX_INSTRUMENTS_PER_CONNECTION`].
    pub fn subscribe(
        &self,
        registry: &InstrumentRegistry,
        instrument: InstrumentRef,
        mode: TickMode,
    ) -> Result<u32, SubscriptionError> {
        let found = match &instrument {
            InstrumentRef::Token(t) => registry.by_token(*t),
            InstrumentRef::Symbol(s) => registry.by_symbol(s),
        };
        let Some(found) = found else {
            return Err(SubscriptionError::Unknown(instrument));
        };
        let mut wanted = self.wanted.borrow_mut();
        let token = found.token;
        let count = wanted.len();
        match wanted.get_mut(&token) {
            Some(w) if w.mode == mode => {}
            Some(w) => {
                w.mode = mode;
                self.changed.set(true);
            }
            None if count >= MAX_INSTRUMENTS_PER_CONNECTION => {
                return Err(SubscriptionError::TooMany {
                    instrument,
                    wanted: count + 1,
                });
            }
            None => {
                let symbol = found.symbol.clone();
                wanted.insert(
                    token,
                    WantedInstrument {
                        token,
                        symbol,
                        mode,
                    },
                );
                self.changed.set(true);
            }
        }
        Ok(token)
    }

    /// Drops `instrument` (nothing happens when it is not subscribed).
    ///
    /// # Errors
    /// A symbol the registry does not know.
    pub fn unsubscribe(
        &self,
        registry: &InstrumentRegistry,
        instrument: InstrumentRef,
    ) -> Result<(), SubscriptionError> {
        let token = match &instrument {
            InstrumentRef::Token(t) => *t,
            InstrumentRef::Symbol(s) => match registry.by_symbol(s) {
                Some(i) => i.token,
                None => return Err(SubscriptionError::Unknown(instrument)),
            },
        };
        if self.wanted.borrow_mut().remove(&token).is_some() {
            self.changed.set(true);
        }
        Ok(())
    }

    /// Whether `token` is subscribed at runtime.
    pub fn contains(&self, token: u32) -> bool {
        self.wanted.borrow().contains_key(&token)
    }

    /// The runtime instruments, sorted by token.
    pub fn wanted(&self) -> Vec<WantedInstrument> {
        self.wanted.borrow().values().cloned().collect()
    }

    /// The runtime tokens, sorted.
    pub fn tokens(&self) -> Vec<u32> {
        self.wanted.borrow().keys().copied().collect()
    }

    /// Whether the set changed since the last call (and forgets it).
    pub fn take_changed(&self) -> bool {
        self.changed.replace(false)
    }

    /// Drops the instruments `registry` no longer knows (contracts that expired since
    /// they were subscribed); answers them. Marks the set changed when any was dropped.
    pub fn retain_known(&self, registry: &InstrumentRegistry) -> Vec<WantedInstrument> {
        let mut wanted = self.wanted.borrow_mut();
        let gone: Vec<u32> = wanted
            .keys()
            .copied()
            .filter(|t| registry.by_token(*t).is_none())
            .collect();
        let dropped: Vec<WantedInstrument> = gone.iter().filter_map(|t| wanted.remove(t)).collect();
        if !dropped.is_empty() {
            self.changed.set(true);
        }
        dropped
    }
}

impl<'a> StrategyContext<'a> {
    /// This context with the slot's runtime subscriptions and the registry that resolves
    /// their names (the runner and the harness build it so).
    pub fn with_subscriptions(
        mut self,
        registry: &'a InstrumentRegistry,
        subscriptions: &'a RuntimeSubscriptions,
    ) -> Self {
        self.subscriptions = Some((registry, subscriptions));
        self
    }

    /// Asks for ticks of `instrument` in `mode` from now on (or a new mode); answers its
    /// token. Ticks of it reach [`crate::strategy::Strategy::on_tick`] once the feed
    /// streams it.
    ///
    /// # Errors
    /// An instrument the registry does not know, too many runtime instruments
    /// ([`MAX_INSTRUMENTS_PER_CONNECTION`]), or a context without subscriptions.
    pub fn subscribe(
        &self,
        instrument: impl Into<InstrumentRef>,
        mode: TickMode,
    ) -> Result<u32, SubscriptionError> {
        let (registry, subscriptions) =
            self.subscriptions.ok_or(SubscriptionError::NotAvailable)?;
        subscriptions
            .subscribe(registry, instrument.into(), mode)
            .inspect_err(|e| self.refused(e))
    }

    /// Stops the ticks of a runtime-subscribed `instrument` (a configured one keeps
    /// coming); a no-op when it is not subscribed.
    ///
    /// # Errors
    /// A symbol the registry does not know, or a context without subscriptions.
    pub fn unsubscribe(
        &self,
        instrument: impl Into<InstrumentRef>,
    ) -> Result<(), SubscriptionError> {
        let (registry, subscriptions) =
            self.subscriptions.ok_or(SubscriptionError::NotAvailable)?;
        subscriptions
            .unsubscribe(registry, instrument.into())
            .inspect_err(|e| self.refused(e))
    }

    /// Logs a refused request (the strategy gets the error too, and may not log it).
    fn refused(&self, error: &SubscriptionError) {
        tracing::warn!(strategy = %self.strategy_id, broker = %self.broker, %error, "runtime subscription refused");
    }

    /// Whether `token` is subscribed at runtime (configured instruments aside).
    pub fn is_subscribed(&self, token: u32) -> bool {
        self.subscriptions.is_some_and(|(_, s)| s.contains(token))
    }

    /// The runtime subscriptions, sorted by token (after a restart: those rebuilt).
    pub fn subscribed(&self) -> Vec<WantedInstrument> {
        self.subscriptions
            .map(|(_, s)| s.wanted())
            .unwrap_or_default()
    }

    /// The instrument registry, when the context has one.
    pub fn instruments(&self) -> Option<&'a InstrumentRegistry> {
        self.subscriptions.map(|(registry, _)| registry)
    }
}
