//! Subscription rules in the settings, resolved once at start: every rule in
//! `feed.subscriptions` (`NIFTY:CE,PE:ATM±3:current_week:quote`) and in a strategy's
//! `instruments` (`NIFTY:CE,PE:ATM:current_week`) becomes the contracts it names, so
//! everything after start-up (the feed, the strategy runner, risk, the API) sees plain
//! `EXCHANGE:SYMBOL` entries. Grammar: [`ChainRule`].
//!
//! Decisions:
//! - The underlying's price for ATM comes from the caller ([`UnderlyingPrice`]): the
//!   daemon and `config check` use the price the master carries (`last_price`; the
//!   simulator starts the indices there). A rule relative to ATM whose underlying has no
//!   price is refused, naming the underlying and where its price was looked for.
//! - Resolution happens in one process at start; a rule is not re-resolved while running
//!   (the strikes a strategy trades do not drift under it). Strategies that want to roll
//!   strikes during the day subscribe at runtime.
//! - A contract a rule names that an earlier entry already subscribes is not subscribed
//!   twice; the earlier entry's mode stands.

use std::collections::HashSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::error::{Problem, SettingsError};
use super::{Settings, Subscription};
use crate::market::{ChainRule, Instrument, InstrumentRegistry, OptionChains, RuleInputs};

/// Where an underlying's price comes from: `None` when it is unknown.
pub type UnderlyingPrice<'a> = &'a dyn Fn(&Instrument) -> Option<Decimal>;

/// One rule of the settings and what it became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRule {
    /// The setting it came from (`feed.subscriptions[3]`).
    pub key: String,
    /// The rule as written.
    pub rule: String,
    /// The underlying's price instrument and the price used, if the rule needed one.
    pub price: Option<(String, Decimal)>,
    /// The contracts, `EXCHANGE:SYMBOL`, in chain order.
    pub contracts: Vec<String>,
}

impl Settings {
    /// These settings with every rule replaced by the contracts it names on `today`,
    /// and what each rule became.
    ///
    /// # Errors
    /// One problem per rule that does not parse or resolve, keyed by its setting.
    pub fn resolve_rules(
        &self,
        registry: &InstrumentRegistry,
        today: NaiveDate,
        price_of: UnderlyingPrice<'_>,
    ) -> Result<(Settings, Vec<ResolvedRule>), SettingsError> {
        let has_rules = self
            .feed
            .subscriptions
            .iter()
            .map(|s| s.symbol.as_str())
            .chain(
                self.strategies
                    .values()
                    .flat_map(|c| c.instruments.iter().map(String::as_str)),
            )
            .any(ChainRule::looks_like_rule);
        if !has_rules {
            return Ok((self.clone(), Vec::new()));
        }
        let resolver = Resolver {
            settings: self,
            registry,
            chains: OptionChains::build(registry),
            today,
            price_of,
        };
        let mut problems = Vec::new();
        let mut resolved = Vec::new();
        let mut out = self.clone();

        let mut subscriptions = Vec::new();
        let mut seen = HashSet::new();
        for (index, subscription) in self.feed.subscriptions.iter().enumerate() {
            if !ChainRule::looks_like_rule(&subscription.symbol) {
                subscriptions.push(subscription.clone());
                if let Some(i) = registry.by_symbol(&subscription.symbol) {
                    seen.insert(i.token);
                }
                continue;
            }
            let key = format!("feed.subscriptions[{index}]");
            match resolver.resolve(&key, &subscription.symbol) {
                Ok((rule, tokens)) => {
                    for token in tokens.into_iter().filter(|t| seen.insert(*t)) {
                        if let Some(i) = registry.by_token(token) {
                            subscriptions.push(Subscription {
                                symbol: i.key(),
                                mode: subscription.mode,
                            });
                        }
                    }
                    resolved.push(rule);
                }
                Err(problem) => problems.push(problem),
            }
        }
        out.feed.subscriptions = subscriptions;

        for (id, config) in &self.strategies {
            let mut instruments = Vec::new();
            for (index, entry) in config.instruments.iter().enumerate() {
                if !ChainRule::looks_like_rule(entry) {
                    instruments.push(entry.clone());
                    continue;
                }
                let key = format!("strategies.{id}.instruments[{index}]");
                match resolver.resolve(&key, entry) {
                    Ok((rule, _)) => {
                        for contract in &rule.contracts {
                            if !instruments.contains(contract) {
                                instruments.push(contract.clone());
                            }
                        }
                        resolved.push(rule);
                    }
                    Err(problem) => problems.push(problem),
                }
            }
            if let Some(entry) = out.strategies.get_mut(id) {
                entry.instruments = instruments;
            }
        }
        if problems.is_empty() {
            Ok((out, resolved))
        } else {
            Err(SettingsError::new(problems))
        }
    }
}

struct Resolver<'a> {
    settings: &'a Settings,
    registry: &'a InstrumentRegistry,
    chains: OptionChains,
    today: NaiveDate,
    price_of: UnderlyingPrice<'a>,
}

impl Resolver<'_> {
    /// The rule in `text` (at setting `key`), resolved.
    fn resolve(&self, key: &str, text: &str) -> Result<(ResolvedRule, Vec<u32>), Problem> {
        let fail = |message: String| Problem::new(key, message);
        let rule: ChainRule = text.parse().map_err(fail)?;
        let price_key = self.settings.fno.underlying_key(&rule.underlying);
        let price = self
            .registry
            .by_symbol(&price_key)
            .and_then(|i| (self.price_of)(i))
            .filter(|p| *p > Decimal::ZERO);
        let inputs = RuleInputs {
            today: self.today,
            price,
        };
        let tokens = rule.resolve(&self.chains, inputs).map_err(|message| {
            if message.contains("price is unknown") {
                fail(format!(
                    "{message} (looked for the price of {price_key}, fno.underlyings.{})",
                    rule.underlying
                ))
            } else {
                fail(message)
            }
        })?;
        let contracts = tokens
            .iter()
            .filter_map(|t| self.registry.by_token(*t))
            .map(Instrument::key)
            .collect();
        let needs_price = !matches!(
            rule.contracts,
            crate::market::chain_rule::Contracts::Future
                | crate::market::chain_rule::Contracts::Options {
                    strikes: crate::market::chain_rule::Strikes::At(_),
                    ..
                }
        );
        let resolved = ResolvedRule {
            key: key.to_owned(),
            rule: text.to_owned(),
            price: price.filter(|_| needs_price).map(|p| (price_key, p)),
            contracts,
        };
        Ok((resolved, tokens))
    }
}

/// The price the master carries (`last_price`), or `None` when it is 0.
pub fn master_price(instrument: &Instrument) -> Option<Decimal> {
    (instrument.last_price > Decimal::ZERO).then_some(instrument.last_price)
}
