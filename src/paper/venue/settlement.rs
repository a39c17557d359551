//! Futures and options in the venue: the contracts it knows (from the registry, and from
//! the journal at a restart), the charge column they choose, and the expiry settlement
//! (rules in [`crate::paper::expiry`]): on every event, the contracts whose settlement
//! instant has come are settled — their open orders cancelled, each open position closed by
//! one settlement fill at the contract's value.
//!
//! Which contracts are due is one look at the earliest of `pending_expiries` (every
//! contract a position was booked in, with its settlement instant), so a tick costs
//! nothing more until one is due. A contract with open positions but no price at all
//! stays pending and is tried again at every event until a price is known.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::PaperVenue;
use crate::market::{InstrumentRegistry, MarketCalendar};
use crate::messages::{OrderRef, Side, VenueEvent};
use crate::paper::accounts::{Execution, OpenPosition};
use crate::paper::charges::{ChargeColumn, Product};
use crate::paper::expiry::{self, Contract, expiry_settlement_id, settlement_fill};

impl PaperVenue {
    /// The same venue knowing `registry`'s futures and options ([`expiry::contracts`]):
    /// charged in the F&O columns, traded NRML or MIS, settled at expiry.
    /// `underlying_key` names the instrument pricing an underlying
    /// (`FnoSettings::underlying_key`).
    pub fn with_derivatives(
        mut self,
        registry: &InstrumentRegistry,
        underlying_key: impl Fn(&str) -> String,
    ) -> Self {
        self.contracts = expiry::contracts(registry, underlying_key);
        self
    }

    /// The contract of `token`, if it is a future or an option the venue knows.
    pub fn contract(&self, token: u32) -> Option<&Contract> {
        self.contracts.get(&token)
    }

    /// The charge column of an execution in `token` placed as `product`.
    pub(super) fn column(&self, token: u32, product: Product) -> ChargeColumn {
        self.contracts
            .get(&token)
            .map_or_else(|| ChargeColumn::from(product), Contract::column)
    }

    /// Settles every contract whose settlement instant is at or before `at`.
    pub(super) fn settle_expired(&mut self, at: DateTime<Utc>, events: &mut Vec<VenueEvent>) {
        let mut unpriced = Vec::new();
        while let Some(&(settles_at, token)) = self.pending_expiries.first() {
            if settles_at > at {
                break;
            }
            self.pending_expiries.pop_first();
            if !self.settle_contract(token, settles_at, events) {
                unpriced.push((settles_at, token));
            }
        }
        self.pending_expiries.extend(unpriced);
    }

    /// Cancels the open orders in `token` and settles its open positions; false when it
    /// has positions but no price to settle them at (nothing is done then).
    fn settle_contract(
        &mut self,
        token: u32,
        settles_at: DateTime<Utc>,
        events: &mut Vec<VenueEvent>,
    ) -> bool {
        let Some(contract) = self.contracts.get(&token).cloned() else {
            return true;
        };
        let positions = self.accounts.open_positions_in(token);
        let value = expiry::settlement_value(
            &contract,
            token,
            |t| self.last_price(t),
            |t| self.listed_price(t),
        );
        if !positions.is_empty() && value.is_none() {
            return false;
        }
        self.cancel_orders_in(token, &contract, events);
        let Some(value) = value else {
            return true;
        };
        for position in positions {
            events.push(self.settle(&contract, position, value, settles_at));
        }
        true
    }

    /// Cancels every open order in `token`, whose contract has expired.
    fn cancel_orders_in(&mut self, token: u32, contract: &Contract, events: &mut Vec<VenueEvent>) {
        let due: Vec<u64> = self
            .orders
            .iter()
            .filter(|(_, o)| o.order.token == token)
            .map(|(seq, _)| *seq)
            .collect();
        let why = format!(
            "the contract expired on {} and was settled: cancelled",
            contract.expiry
        );
        for seq in due {
            if let Some(order) = self.orders.remove(&seq) {
                events.push(order.cancelled(&why));
            }
        }
    }

    /// The settlement fill closing `position` at `value` per unit, booked with the
    /// settlement charges.
    fn settle(
        &mut self,
        contract: &Contract,
        position: OpenPosition,
        value: Decimal,
        settles_at: DateTime<Utc>,
    ) -> VenueEvent {
        let side = if position.quantity > 0 {
            Side::Sell
        } else {
            Side::Buy
        };
        // A position is a sum of u32 fills; one beyond u32 closes u32::MAX of it.
        let quantity = u32::try_from(position.quantity.unsigned_abs()).unwrap_or(u32::MAX);
        let fees = self
            .config
            .charges
            .settlement_charges(contract.column(), side, quantity, value);
        // The accounts' own booking: the contract is settled, nothing is pending any more.
        self.accounts.book(&Execution {
            strategy: &position.strategy,
            token: position.token,
            side,
            quantity,
            notional: Decimal::from(quantity).saturating_mul(value),
            fees: fees.total,
            product: position.product,
        });
        let date = MarketCalendar::ist_date(settles_at);
        let order = OrderRef {
            client_order_id: expiry_settlement_id(date, &position.strategy, position.token),
            broker_order_id: None,
            symbol: self
                .symbols
                .get(&position.token)
                .cloned()
                .unwrap_or_default(),
            strategy_id: position.strategy,
            broker: self.broker,
            token: position.token,
            side,
        };
        VenueEvent::Filled(settlement_fill(order, quantity, value, fees, settles_at))
    }

    /// The instrument master's last price of `token`, when positive.
    fn listed_price(&self, token: u32) -> Option<Decimal> {
        self.listings
            .get(&token)
            .map(|l| l.last_price)
            .filter(|p| *p > Decimal::ZERO)
    }
}
