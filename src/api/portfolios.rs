//! Reading portfolios from the read model for the API: the index `{broker}:portfolios`,
//! then each `{broker}:portfolio:{strategy}`.
//!
//! Values are served as the portfolio manager stored them
//! ([`Portfolio::read_model`](crate::portfolio::Portfolio::read_model): the portfolio with a
//! `fill_count`, and `day`, the trading day's figures — the IST date, today's realized P&L,
//! unrealized P&L, charges, turnover and fill count, and the positions carried into the day
//! ([`DayFigures`](crate::portfolio::DayFigures))) minus `applied_fill_ids`, which read
//! models written by earlier versions carry (it grows with every fill of the day and says
//! nothing a reader needs). A key listed in the index but gone from the store is skipped (a
//! reader racing a reset); a stored value that is not a JSON object is the server's fault
//! (500), never silently dropped.

use serde_json::{Map, Value};

use super::errors::ApiError;
use crate::messages::Broker;
use crate::portfolio::curve::points_of_day;
use crate::store::{Store, StoreError};

/// The field left out of every served portfolio.
const OMITTED: &str = "applied_fill_ids";

/// A portfolio as served: the stored JSON object without [`OMITTED`].
pub(super) type PortfolioView = Map<String, Value>;

use crate::actors::portfolio_manager::{
    pnl_curve_key, portfolio_index as index, portfolio_key as key,
};

fn unavailable(error: StoreError) -> ApiError {
    ApiError::Unavailable(error.to_string())
}

/// Every portfolio of `broker`, in key order.
///
/// # Errors
/// [`ApiError::Unavailable`] if the store fails; [`ApiError::Internal`] for a stored value
/// that is not a JSON object.
pub(super) async fn of_broker(
    store: &dyn Store,
    broker: Broker,
) -> Result<Vec<PortfolioView>, ApiError> {
    let keys = store.members(&index(broker)).await.map_err(unavailable)?;
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(view) = at_key(store, &key).await? {
            out.push(view);
        }
    }
    Ok(out)
}

/// Every portfolio of every broker in `brokers`, broker by broker.
///
/// # Errors
/// As for [`of_broker`].
pub(super) async fn of_brokers(
    store: &dyn Store,
    brokers: &[Broker],
) -> Result<Vec<PortfolioView>, ApiError> {
    let mut out = Vec::new();
    for broker in brokers {
        out.extend(of_broker(store, *broker).await?);
    }
    Ok(out)
}

/// The portfolio of `strategy_id` on `broker`, if stored.
///
/// # Errors
/// As for [`of_broker`].
pub(super) async fn one(
    store: &dyn Store,
    broker: Broker,
    strategy_id: &str,
) -> Result<Option<PortfolioView>, ApiError> {
    at_key(store, &key(broker, strategy_id)).await
}

async fn at_key(store: &dyn Store, key: &str) -> Result<Option<PortfolioView>, ApiError> {
    let Some(text) = store.get(key).await.map_err(unavailable)? else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(mut fields)) => {
            fields.remove(OMITTED);
            Ok(Some(fields))
        }
        Ok(_) => Err(ApiError::Internal(format!(
            "the stored portfolio {key} is not a JSON object"
        ))),
        Err(error) => Err(ApiError::Internal(format!(
            "the stored portfolio {key} is not valid JSON: {error}"
        ))),
    }
}

/// The day's P&L curve of `strategy_id` on `broker` (`GET
/// /api/v1/portfolios/{broker}/{strategy}/curve`): `{broker, strategy_id, day, points}`,
/// the points of the portfolio's current day oldest first
/// ([`CurvePoint`](crate::portfolio::curve::CurvePoint)), read in one step with the
/// portfolio so both are of the same write; `None` if no such portfolio is stored. A
/// portfolio without a trading day yet has no points.
///
/// # Errors
/// As for [`of_broker`].
pub(super) async fn curve(
    store: &dyn Store,
    broker: Broker,
    strategy_id: &str,
) -> Result<Option<Value>, ApiError> {
    let portfolio_key = key(broker, strategy_id);
    let curve_key = pnl_curve_key(broker, strategy_id);
    let read = store
        .get_with_lists(&portfolio_key, &[curve_key.as_str()])
        .await
        .map_err(unavailable)?;
    let Some(text) = read.value else {
        return Ok(None);
    };
    let portfolio: Value = serde_json::from_str(&text).map_err(|error| {
        ApiError::Internal(format!(
            "the stored portfolio {portfolio_key} is not valid JSON: {error}"
        ))
    })?;
    let day = portfolio["day"]["date"]
        .as_str()
        .and_then(|d| d.parse::<chrono::NaiveDate>().ok());
    let members = read.lists.into_iter().next().unwrap_or_default();
    let points = match day {
        Some(day) => {
            let (points, unreadable) = points_of_day(&members, day);
            if unreadable > 0 {
                tracing::warn!(list = %curve_key, unreadable, "curve points not readable; skipped");
            }
            points
        }
        None => Vec::new(),
    };
    Ok(Some(serde_json::json!({
        "broker": broker,
        "strategy_id": strategy_id,
        "day": day,
        "points": points,
    })))
}

/// The positions of `portfolios`, flat, each object led by the portfolio's `broker` and
/// `strategy_id` (a position's own fields win on a clash, which the format never has).
pub(super) fn positions(portfolios: &[PortfolioView]) -> Vec<Value> {
    let mut out = Vec::new();
    for portfolio in portfolios {
        let Some(Value::Array(positions)) = portfolio.get("positions") else {
            continue;
        };
        for position in positions {
            let mut row = Map::new();
            for field in ["broker", "strategy_id"] {
                if let Some(value) = portfolio.get(field) {
                    row.insert(field.to_owned(), value.clone());
                }
            }
            if let Value::Object(fields) = position {
                row.extend(fields.clone());
            }
            out.push(Value::Object(row));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{Fees, OrderFilled, OrderRef, Side};
    use crate::portfolio::Book;
    use crate::store::MemoryStore;
    use chrono::{DateTime, Utc};
    use rust_decimal::Decimal;
    use serde_json::json;

    fn fill(id: &str, side: Side, quantity: u32, price: i64, at: &str) -> OrderFilled {
        OrderFilled {
            order: OrderRef {
                client_order_id: format!("co-{id}"),
                broker_order_id: None,
                strategy_id: "s".into(),
                broker: Broker::Paper,
                token: 738_561,
                symbol: "RELIANCE".into(),
                side,
            },
            fill_id: id.into(),
            quantity,
            price: Decimal::from(price),
            fees: Fees {
                brokerage: Decimal::ONE,
                total: Decimal::ONE,
                ..Fees::default()
            },
            cumulative_quantity: quantity,
            order_quantity: quantity,
            filled_at: DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc),
        }
    }

    #[actix_web::test]
    async fn a_portfolio_is_served_with_its_trading_days_figures() {
        let mut book = Book::new(Decimal::from(10_000));
        // 2026-11-25 IST: 10 bought @ 100, 2 sold @ 104 (realized 8); 2026-11-26: 3 sold
        // @ 105 (realized 15). Each fill pays 1.
        book.apply_fill(&fill("a", Side::Buy, 10, 100, "2026-11-25T04:00:00Z"))
            .unwrap();
        book.apply_fill(&fill("b", Side::Sell, 2, 104, "2026-11-25T05:00:00Z"))
            .unwrap();
        book.apply_fill(&fill("c", Side::Sell, 3, 105, "2026-11-26T04:00:00Z"))
            .unwrap();
        book.mark(738_561, Decimal::from(106));
        let portfolio = book.get(Broker::Paper, "s").unwrap();
        let store = MemoryStore::default();
        let text = serde_json::to_string(&portfolio.read_model()).unwrap();
        store
            .put(&index(Broker::Paper), &key(Broker::Paper, "s"), text)
            .await
            .unwrap();

        let served = one(&store, Broker::Paper, "s").await.unwrap().unwrap();

        assert_eq!(
            served["day"],
            json!({
                "date": "2026-11-26",
                "realized_pnl": "15",
                "unrealized_pnl": "30",
                "charges": "1",
                "turnover": "315",
                "fill_count": 1,
                "carried": [{"token": 738_561, "symbol": "RELIANCE", "quantity": 8, "average_price": "100"}],
            })
        );
        assert_eq!(of_broker(&store, Broker::Paper).await.unwrap(), [served]);
    }

    #[actix_web::test]
    async fn the_curve_is_the_portfolios_days_points_read_with_it() {
        use crate::portfolio::curve::CurvePoint;
        use crate::store::ListWrite;

        let mut book = Book::new(Decimal::from(10_000));
        book.apply_fill(&fill("a", Side::Buy, 10, 100, "2026-11-25T04:00:00Z"))
            .unwrap();
        book.apply_fill(&fill("b", Side::Sell, 4, 103, "2026-11-26T04:00:00Z"))
            .unwrap();
        let portfolio = book.get(Broker::Paper, "s").unwrap();
        let day = portfolio.day().unwrap();
        let at = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
        let today = CurvePoint::from_day(&day, at("2026-11-26T04:00:00Z"));
        let yesterday = CurvePoint {
            day: day.date.pred_opt().unwrap(),
            ..CurvePoint::from_day(&day, at("2026-11-25T04:00:00Z"))
        };
        let members = [&yesterday, &today]
            .iter()
            .map(|p| serde_json::to_string(p).unwrap())
            .collect();
        let store = MemoryStore::default();
        let text = serde_json::to_string(&portfolio.read_model()).unwrap();
        store
            .put_with_lists(
                &index(Broker::Paper),
                &key(Broker::Paper, "s"),
                text,
                vec![ListWrite::append(
                    pnl_curve_key(Broker::Paper, "s"),
                    members,
                    10,
                )],
            )
            .await
            .unwrap();

        let served = curve(&store, Broker::Paper, "s").await.unwrap().unwrap();

        assert_eq!(served["day"], "2026-11-26");
        assert_eq!(served["points"].as_array().unwrap().len(), 1, "{served}");
        // 4 sold at 103 against 100: realized 12; charges 1 today; unmarked: unrealized 0.
        assert_eq!(served["points"][0]["net"], "11");
        assert!(
            curve(&store, Broker::Paper, "other")
                .await
                .unwrap()
                .is_none()
        );
    }
}
