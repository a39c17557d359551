//! [`RecentOrders`]: the latest state of the most recent orders of each broker, built from
//! the order events, for `GET /api/v1/orders`. Plain data; the hub actor feeds it.

use crate::messages::{Broker, OrderFailed, OrderFilled, OrderRef, OrderSubmitted, Side};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// Orders kept per broker; older ones are forgotten.
pub const KEPT_PER_BROKER: usize = 1000;

/// One order as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderView {
    pub broker: Broker,
    pub client_order_id: String,
    pub broker_order_id: Option<String>,
    pub strategy_id: String,
    pub token: u32,
    pub symbol: String,
    pub side: Side,
    pub quantity: u32,
    pub filled_quantity: u32,
    /// `submitted`, `partially_filled`, `filled`, or the failure kind (`rejected`,
    /// `cancelled`, `expired`, `not_placed`, ...).
    pub state: String,
    /// The venue's words for a failure.
    pub message: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Latest state per order, newest first, bounded per broker.
#[derive(Debug, Default)]
pub struct RecentOrders {
    by_broker: BTreeMap<Broker, (VecDeque<String>, BTreeMap<String, OrderView>)>,
}

impl RecentOrders {
    pub fn submitted(&mut self, s: &OrderSubmitted, at: DateTime<Utc>) {
        self.update(&s.order, s.quantity, at, |v| {
            if v.filled_quantity == 0 && v.state == "new" {
                v.state = "submitted".into();
            }
        });
    }

    pub fn filled(&mut self, f: &OrderFilled, at: DateTime<Utc>) {
        self.update(&f.order, f.order_quantity, at, |v| {
            v.filled_quantity = v.filled_quantity.max(f.cumulative_quantity);
            v.state = if v.filled_quantity >= v.quantity {
                "filled".into()
            } else {
                "partially_filled".into()
            };
        });
    }

    pub fn failed(&mut self, f: &OrderFailed, at: DateTime<Utc>) {
        self.update(&f.order, f.quantity, at, |v| {
            v.filled_quantity = v.filled_quantity.max(f.filled_quantity);
            v.state = serde_json::to_value(f.kind)
                .ok()
                .and_then(|k| k.as_str().map(str::to_owned))
                .unwrap_or_else(|| "failed".into());
            v.message = Some(f.message.clone());
        });
    }

    /// Up to `limit` orders, newest first: of `broker`, or of every broker.
    pub fn list(&self, broker: Option<Broker>, limit: usize) -> Vec<OrderView> {
        let mut out: Vec<OrderView> = self
            .by_broker
            .iter()
            .filter(|(b, _)| broker.is_none_or(|want| want == **b))
            .flat_map(|(_, (recency, views))| recency.iter().rev().filter_map(|id| views.get(id)))
            .cloned()
            .collect();
        out.sort_by_key(|v| std::cmp::Reverse(v.updated_at));
        out.truncate(limit);
        out
    }

    fn update(
        &mut self,
        order: &OrderRef,
        quantity: u32,
        at: DateTime<Utc>,
        change: impl FnOnce(&mut OrderView),
    ) {
        let (recency, views) = self.by_broker.entry(order.broker).or_default();
        let id = &order.client_order_id;
        let view = views.entry(id.clone()).or_insert_with(|| {
            recency.push_back(id.clone());
            OrderView {
                broker: order.broker,
                client_order_id: id.clone(),
                broker_order_id: None,
                strategy_id: order.strategy_id.clone(),
                token: order.token,
                symbol: order.symbol.clone(),
                side: order.side,
                quantity,
                filled_quantity: 0,
                state: "new".into(),
                message: None,
                updated_at: at,
            }
        });
        if order.broker_order_id.is_some() {
            view.broker_order_id.clone_from(&order.broker_order_id);
        }
        view.updated_at = view.updated_at.max(at);
        change(view);
        while recency.len() > KEPT_PER_BROKER {
            if let Some(old) = recency.pop_front() {
                views.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{Fees, OrderFailureKind};
    use chrono::TimeZone;

    fn order(id: &str) -> OrderRef {
        OrderRef {
            client_order_id: id.into(),
            broker_order_id: Some(format!("k{id}")),
            strategy_id: "s".into(),
            broker: Broker::Paper,
            token: 1,
            symbol: "INFY".into(),
            side: Side::Buy,
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    fn fill(id: &str, quantity: u32, cumulative: u32) -> OrderFilled {
        OrderFilled {
            order: order(id),
            fill_id: format!("{id}-{cumulative}"),
            quantity,
            price: rust_decimal::Decimal::ONE,
            fees: Fees::default(),
            cumulative_quantity: cumulative,
            order_quantity: 10,
            filled_at: at(0),
        }
    }

    #[test]
    fn follows_each_order_to_its_latest_state_newest_first() {
        let mut r = RecentOrders::default();
        r.filled(&fill("a", 4, 4), at(1));
        r.filled(&fill("a", 6, 10), at(2));
        r.failed(
            &OrderFailed {
                order: order("b"),
                quantity: 5,
                filled_quantity: 0,
                kind: OrderFailureKind::NotPlaced,
                message: "dry run".into(),
            },
            at(3),
        );
        let list = r.list(None, 10);
        let states: Vec<(&str, &str, u32)> = list
            .iter()
            .map(|v| {
                (
                    v.client_order_id.as_str(),
                    v.state.as_str(),
                    v.filled_quantity,
                )
            })
            .collect();
        assert_eq!(states, [("b", "not_placed", 0), ("a", "filled", 10)]);
        assert_eq!(r.list(Some(Broker::Zerodha), 10), []);
        assert_eq!(r.list(None, 1).len(), 1);
    }

    #[test]
    fn forgets_the_oldest_beyond_the_bound() {
        let mut r = RecentOrders::default();
        for i in 0..(KEPT_PER_BROKER + 5) {
            r.filled(&fill(&format!("o{i}"), 1, 1), at(i as i64));
        }
        let list = r.list(Some(Broker::Paper), usize::MAX);
        assert_eq!(list.len(), KEPT_PER_BROKER);
        assert_eq!(list[0].client_order_id, format!("o{}", KEPT_PER_BROKER + 4));
    }
}
