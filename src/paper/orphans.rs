//! Orders a previous life of the paper venue left resting: placed (journaled as submitted),
//! neither fully filled nor ended on the topics. A new life does not restore resting
//! orders, so it ends each of them as cancelled — the truth for everyone who waits on them
//! (the strategy's ledger, the risk manager's open orders) instead of an order that is
//! silently gone and pending forever.

use crate::messages::{OrderFailed, OrderFailureKind, OrderFilled, VenueEvent};
use std::collections::{BTreeMap, BTreeSet};

/// The message the cancellations carry.
pub const ORPHAN_MESSAGE: &str =
    "the paper venue restarted; orders resting at the restart are not restored";

/// The cancellation of every orphaned order, given each journaled placement's events and
/// every fill and failure on the venue's topics; in client order id order.
pub fn orphaned_orders(
    journal: &[Vec<VenueEvent>],
    fills: &[OrderFilled],
    failures: &[OrderFailed],
) -> Vec<OrderFailed> {
    let journaled = || journal.iter().flatten();
    let journaled_fills = journaled().filter_map(|e| match e {
        VenueEvent::Filled(f) => Some(f),
        _ => None,
    });
    let mut filled: BTreeMap<&str, u32> = BTreeMap::new();
    for fill in fills.iter().chain(journaled_fills) {
        let most = filled
            .entry(fill.order.client_order_id.as_str())
            .or_insert(0);
        *most = (*most).max(fill.cumulative_quantity);
    }
    let journaled_failures = journaled().filter_map(|e| match e {
        VenueEvent::Failed(f) => Some(f),
        _ => None,
    });
    let ended: BTreeSet<&str> = failures
        .iter()
        .chain(journaled_failures)
        .map(|f| f.order.client_order_id.as_str())
        .collect();
    let mut out: Vec<OrderFailed> = journaled()
        .filter_map(|event| match event {
            VenueEvent::Submitted(s) => Some(s),
            _ => None,
        })
        .filter(|s| !ended.contains(s.order.client_order_id.as_str()))
        .filter_map(|s| {
            let done = filled
                .get(s.order.client_order_id.as_str())
                .copied()
                .unwrap_or(0);
            (done < s.quantity).then(|| OrderFailed {
                order: s.order.clone(),
                quantity: s.quantity,
                filled_quantity: done,
                kind: OrderFailureKind::Cancelled,
                message: ORPHAN_MESSAGE.to_owned(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.order.client_order_id.cmp(&b.order.client_order_id));
    out.dedup_by(|a, b| a.order.client_order_id == b.order.client_order_id);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{Broker, Fees, OrderRef, OrderSubmitted, OrderType, Side, Validity};
    use chrono::{TimeZone, Utc};
    use rust_decimal::Decimal;

    fn order(id: &str) -> OrderRef {
        OrderRef {
            client_order_id: id.into(),
            broker_order_id: None,
            strategy_id: "s".into(),
            broker: Broker::Paper,
            token: 1,
            symbol: "X".into(),
            side: Side::Buy,
        }
    }

    fn submitted(id: &str, quantity: u32) -> VenueEvent {
        VenueEvent::Submitted(OrderSubmitted {
            order: order(id),
            quantity,
            order_type: OrderType::Limit,
            price: Some(Decimal::ONE),
            trigger_price: None,
            validity: Validity::Day,
        })
    }

    fn fill(id: &str, quantity: u32, cumulative: u32, of: u32) -> OrderFilled {
        OrderFilled {
            order: order(id),
            fill_id: format!("{id}-{cumulative}"),
            quantity,
            price: Decimal::ONE,
            fees: Fees::default(),
            cumulative_quantity: cumulative,
            order_quantity: of,
            filled_at: Utc.with_ymd_and_hms(2026, 1, 1, 4, 0, 0).unwrap(),
        }
    }

    fn failed(id: &str, kind: OrderFailureKind) -> OrderFailed {
        OrderFailed {
            order: order(id),
            quantity: 10,
            filled_quantity: 0,
            kind,
            message: String::new(),
        }
    }

    #[test]
    fn only_orders_neither_filled_nor_ended_are_cancelled_with_what_they_filled() {
        let journal = vec![
            // Filled at once (journaled fill).
            vec![
                submitted("a", 10),
                VenueEvent::Filled(fill("a", 10, 10, 10)),
            ],
            // Filled later on ticks (topic fills).
            vec![submitted("b", 10)],
            // Partly filled on a tick, then the venue died: cancelled with 4 filled.
            vec![submitted("c", 10)],
            // Never filled, resting: cancelled with 0.
            vec![submitted("d", 10)],
            // Expired on the topic.
            vec![submitted("e", 10)],
            // Refused at once (journaled failure, no submission).
            vec![VenueEvent::Failed(failed(
                "f",
                OrderFailureKind::ShortingNotAllowed,
            ))],
        ];
        let fills = [
            fill("b", 6, 6, 10),
            fill("b", 4, 10, 10),
            fill("c", 4, 4, 10),
        ];
        let failures = [failed("e", OrderFailureKind::Expired)];
        let orphans = orphaned_orders(&journal, &fills, &failures);
        let got: Vec<(&str, u32, u32, OrderFailureKind)> = orphans
            .iter()
            .map(|o| {
                let id = o.order.client_order_id.as_str();
                (id, o.quantity, o.filled_quantity, o.kind)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("c", 10, 4, OrderFailureKind::Cancelled),
                ("d", 10, 0, OrderFailureKind::Cancelled),
            ]
        );
        assert!(orphans.iter().all(|o| o.message == ORPHAN_MESSAGE));
        // A second restart finds the cancellations on the topic: nothing more to end.
        assert!(
            orphaned_orders(&journal, &fills, &[&failures[..], &orphans[..]].concat()).is_empty()
        );
    }
}
