//! From a validated signal to at most one Kite order.
//!
//! The journal entry is the claim: it is created atomically (`SET NX`) under the client
//! order id derived from the signal id, before anything is sent, and it never expires. A
//! signal whose entry exists is never placed from scratch again, whatever the dedup
//! window, the consumer group or the process: its entry says what happened.

use super::core::{Busy, Core, OPEN_INDEX};
use crate::kite::rest::KiteError;
use crate::messages::{Envelope, OrderFailureKind, ValidatedSignal, client_order_id};
use crate::streaming::consumer::{Completion, HANDLER_TIMEOUT, HandlerError, HandlerResult};
use crate::streaming::producer::{Delivered, PublishError};
use crate::zerodha::{OrderRecord, OrderTarget, Placement, order_target};
use chrono::Utc;
use std::rc::Rc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a signal waits for the start-up reconciliation: less than the consumer's
/// 30 s handler timeout, so the consumer sees a clean transient failure, never an
/// abandoned handler that might act later.
const RECONCILIATION_WAIT: Duration = Duration::from_secs(20);

/// Longest wait of a redelivered signal for an earlier handling of it to finish: below the
/// consumer's handler timeout.
const BUSY_WAIT: Duration = Duration::from_secs(25);

/// Kept free at the end of a handling for the journal write and the publication that
/// follow the placement's answer.
const COMMIT_MARGIN: Duration = Duration::from_secs(5);

/// The last instant a placement may go out, and what sets it.
#[derive(Debug, Clone, Copy)]
struct SendDeadline {
    at: Instant,
    /// The signal's age limit sets it (else the handler's own time).
    by_age: bool,
}

impl Core {
    /// A validated signal: place its order once, whatever happens around it.
    pub(super) async fn on_signal(
        self: Rc<Self>,
        envelope: Envelope<ValidatedSignal>,
    ) -> HandlerResult {
        let mut reconciled = self.reconciled.subscribe();
        match tokio::time::timeout(RECONCILIATION_WAIT, reconciled.wait_for(|done| *done)).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return Err(HandlerError::Transient("execution is stopping".into())),
            Err(_) => {
                return Err(HandlerError::Transient(
                    "reconciliation with Kite has not succeeded yet; zerodha is HALTED".into(),
                ));
            }
        }
        let started = Instant::now();
        let id = client_order_id(envelope.id);
        let Some(busy) = self.wait_until_free(&id, started).await else {
            return Err(HandlerError::Transient(format!("order {id} is busy")));
        };
        let record = match self.load(&id).await? {
            Some(record) => record,
            None => {
                let Some(record) = self.journal_new(&id, envelope).await? else {
                    return Ok(Completion::done());
                };
                return Ok(self.send_in_background(record, started, busy));
            }
        };
        match &record.placement {
            Placement::Claimed { .. } => {
                // Journaled by an earlier handling that may have sent it: Kite's order
                // book decides, never a second placement.
                tracing::warn!(order = %id, "placement outcome unknown; looking the order up by tag");
                self.state.borrow_mut().open.insert(id, record);
                drop(busy);
                self.poll().await;
                Ok(Completion::done())
            }
            Placement::NotSent => Ok(self.send_in_background(record, started, busy)),
            Placement::Placed { .. } | Placement::NotPlaced => {
                tracing::info!(order = %id, "validated signal already executed; nothing sent");
                Ok(Completion::done())
            }
        }
    }

    /// Claims `id`, waiting while another handling has it busy (a redelivery of a signal
    /// whose placement is still on its way waits for that placement's outcome instead of
    /// failing and being dead-lettered). `None` if it stays busy for [`BUSY_WAIT`].
    async fn wait_until_free(self: &Rc<Self>, id: &str, started: Instant) -> Option<Busy> {
        loop {
            // Registered before the check, so a release in between is not missed.
            let released = self.released.notified();
            if let Some(busy) = self.claim_busy(id) {
                return Some(busy);
            }
            tokio::time::timeout_at(started + BUSY_WAIT, released)
                .await
                .ok()?;
        }
    }

    /// Sends the placement on its own task and answers at once: the consumer goes on with
    /// the next signals while this one waits for the rate limiter or Kite, and completes
    /// the record (commits its offset) only when the placement has its outcome. A
    /// transient failure (a journal write, a publication) fails the record's completion,
    /// so the consumer redelivers it and the journal decides what happens next.
    fn send_in_background(
        self: &Rc<Self>,
        record: OrderRecord,
        started: Instant,
        busy: Busy,
    ) -> Completion {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let core = self.clone();
        actix::spawn(async move {
            let result = core.send(record, started).await;
            drop(busy);
            // The receiver is gone only if the consumer stopped; the journal has the outcome.
            let _ = done.send(result.map(|_| ()).map_err(|e| e.to_string()));
        });
        Completion::after(vec![Box::pin(async move {
            let topic = "zerodha.orders (placement)".to_owned();
            match outcome.await {
                Ok(Ok(())) => Ok(Delivered {
                    partition: -1,
                    offset: -1,
                }),
                Ok(Err(reason)) => Err(PublishError::Transient { topic, reason }),
                Err(_) => Err(PublishError::Unavailable(
                    "zerodha execution stopped before the placement's outcome".into(),
                )),
            }
        })])
    }

    /// Creates the journal entry of a new order. `None`: no order will be sent — the
    /// signal cannot become a Kite order (its failure was published), or another
    /// handling created the entry first (an error, so the signal is looked at again).
    async fn journal_new(
        self: &Rc<Self>,
        id: &str,
        envelope: Envelope<ValidatedSignal>,
    ) -> Result<Option<OrderRecord>, HandlerError> {
        let args = &self.args;
        let (product, variety) = args.order_kind(&envelope.data.signal);
        let now = Utc::now();
        let target = order_target(&envelope.data, &args.registry, product, variety)
            .and_then(|t| args.shape(t, &envelope.data.signal));
        let refusal = match target {
            Ok(target) => {
                let record = OrderRecord::new(id.to_owned(), envelope, target, now);
                match record.params().form() {
                    Ok(_) => Ok(record),
                    Err(message) => Err((record, message)),
                }
            }
            Err(message) => {
                let target = OrderTarget {
                    exchange: String::new(),
                    tradingsymbol: envelope.data.signal.symbol.clone(),
                    product,
                    variety,
                    market_protection: None,
                    limit_price: None,
                };
                Err((
                    OrderRecord::new(id.to_owned(), envelope, target, now),
                    message,
                ))
            }
        };
        match refusal {
            Ok(record) => {
                let json = serde_json::to_string(&record)
                    .map_err(|e| HandlerError::Permanent(format!("journal entry: {e}")))?;
                let created = args
                    .store
                    .create(OPEN_INDEX, &OrderRecord::key(id), json)
                    .await
                    .map_err(|e| HandlerError::Unavailable(format!("journal write: {e}")))?;
                if !created {
                    return Err(HandlerError::Transient(format!(
                        "order {id} was journaled concurrently; looking again"
                    )));
                }
                Ok(Some(record))
            }
            Err((mut record, message)) => {
                // Journaled (settled) too, so a redelivery finds it.
                let events = record.not_placed(OrderFailureKind::Rejected, &message);
                self.commit(record, events).await?;
                Ok(None)
            }
        }
    }

    /// The last instant this handling may send the placement: early enough that the
    /// request (up to the client's timeout) and the commit finish inside the consumer's
    /// handler timeout, and no later than the signal's age limit. A placement never
    /// outlives its handler, so the consumer never retries a signal whose order is on
    /// its way, and a signal never waits behind the limiter past its usefulness.
    fn send_deadline(&self, record: &OrderRecord, started: Instant) -> SendDeadline {
        let handler =
            started + HANDLER_TIMEOUT.saturating_sub(self.args.client.timeout() + COMMIT_MARGIN);
        let age_left = chrono::TimeDelta::from_std(self.args.max_signal_age)
            .ok()
            .and_then(|limit| (record.signal.ts + limit - Utc::now()).to_std().ok())
            .unwrap_or(Duration::ZERO);
        let by_age = Instant::now() + age_left;
        if by_age < handler {
            SendDeadline {
                at: by_age,
                by_age: true,
            }
        } else {
            SendDeadline {
                at: handler,
                by_age: false,
            }
        }
    }

    /// Sends the placement of a journaled order and acts on the answer.
    async fn send(self: &Rc<Self>, mut record: OrderRecord, started: Instant) -> HandlerResult {
        let args = &self.args;
        let params = record.params();
        let form = params.form().map_err(HandlerError::Permanent)?;
        let id = record.client_order_id.clone();
        if let Some((kind, reason)) = self.refuse_to_send(&record) {
            tracing::warn!(order = %id, request = %format!("POST {}/orders/{} {}", args.client.base_url(), params.variety, serde_urlencoded::to_string(&form).unwrap_or_default()), "{reason}");
            let events = record.not_placed(kind, &reason);
            self.commit(record, events).await?;
            return Ok(Completion::done());
        }
        let deadline = self.send_deadline(&record, started);
        // The journal must say "may exist at Kite" before the request goes out, and the
        // order is watched from now on, so polling settles it if anything below fails.
        if !matches!(record.placement, Placement::Claimed { .. }) {
            record.placement = Placement::Claimed { since: Utc::now() };
            self.persist(&record).await?;
        }
        self.state
            .borrow_mut()
            .open
            .insert(id.clone(), record.clone());
        self.state.borrow_mut().stats.placements_sent += 1;
        let answer = args.client.place_order_by(&params, Some(deadline.at)).await;
        let mut next = record.clone();
        let events = match answer {
            Ok(order_id) => {
                tracing::info!(order = %id, broker_order = %order_id, correlation_id = %record.signal.correlation_id, "order placed on Kite");
                next.placed(&order_id, Utc::now())
            }
            Err(KiteError::RateLimited { message }) => {
                // Nothing reached Kite (every 429 had no effect) and the deadline is
                // over: one definitive outcome, never a retry that might send it late.
                let (kind, why) = if deadline.by_age {
                    (
                        OrderFailureKind::Stale,
                        format!(
                            "not sent before the signal became older than zerodha.max_signal_age_secs ({} s)",
                            args.max_signal_age.as_secs()
                        ),
                    )
                } else {
                    (
                        OrderFailureKind::RateLimited,
                        "rate limits allowed no placement within the handler's time".to_owned(),
                    )
                };
                tracing::warn!(order = %id, correlation_id = %record.signal.correlation_id, %message, "{why}: order not placed");
                next.not_placed(kind, &format!("{why}: {message}"))
            }
            Err(e) if e.rejects_order() => {
                if e.is_token_error() {
                    self.halt_on_token_error(&e);
                }
                tracing::warn!(order = %id, error = %e, correlation_id = %record.signal.correlation_id, "Kite refused the order");
                next.not_placed(OrderFailureKind::Rejected, e.message())
            }
            Err(e) => {
                // Timeout or 5xx: it may exist at Kite. The settle time counts from now,
                // when the answer was lost; polling settles it by tag.
                tracing::warn!(order = %id, error = %e, correlation_id = %record.signal.correlation_id, "placement outcome unknown; polling Kite's order book to settle it");
                next.placement = Placement::Claimed { since: Utc::now() };
                if let Err(e) = self.persist(&next).await {
                    tracing::warn!(order = %id, error = %e, "journal not updated; the earlier claim stands");
                }
                self.state.borrow_mut().open.insert(id, next);
                return Ok(Completion::done());
            }
        };
        self.commit(next, events).await?;
        Ok(Completion::done())
    }

    /// Why this order must not go out at all, if it must not, and how it then fails.
    fn refuse_to_send(&self, record: &OrderRecord) -> Option<(OrderFailureKind, String)> {
        let args = &self.args;
        if args.dry_run {
            return Some((
                OrderFailureKind::NotPlaced,
                "dry run: order not sent".into(),
            ));
        }
        if self.state.borrow().token_rejected {
            return Some((
                OrderFailureKind::NotPlaced,
                "Kite rejected the access token earlier in this run: not sent; log in again and restart"
                    .into(),
            ));
        }
        let age = Utc::now() - record.signal.ts;
        let limit =
            chrono::TimeDelta::from_std(args.max_signal_age).unwrap_or(chrono::TimeDelta::MAX);
        (age > limit).then(|| {
            let why = format!(
                "stale signal: validated {} s ago, more than zerodha.max_signal_age_secs ({}): not sent",
                age.num_seconds(),
                args.max_signal_age.as_secs()
            );
            (OrderFailureKind::Stale, why)
        })
    }
}
