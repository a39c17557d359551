//! From a validated signal to its Kite orders: one, or the slices of an order above the
//! freeze quantity of its underlying ([`crate::zerodha::slicing`]).
//!
//! The journal entry is the claim: it is created atomically (`SET NX`) under the client
//! order id derived from the signal id, before anything is sent, and it never expires. A
//! signal whose entry exists is never placed from scratch again, whatever the dedup
//! window, the consumer group or the process: its entry says what happened.
//!
//! Slices: the entry holds the whole plan (and each slice's tag is journaled as the
//! order's) before anything is sent. Slices go out one after the other, in order, through
//! the rate limiter, each journaled as "may be at Kite" before its request. A slice Kite
//! refuses (4xx), or that the deadline or the signal's age stops, ends the slices not
//! sent yet as not placed; a slice whose answer is lost is settled by polling, like any
//! order, while the next ones go out: each slice has its own tag and none is ever sent
//! twice, so there is nothing to wait for. Slices not sent when the process died are
//! sent after the restart's reconciliation (or on the signal's redelivery) if the signal
//! is still younger than `zerodha.max_signal_age_secs` — the strategy asked for the whole
//! quantity while its signal is fresh — and otherwise end as stale: the order then ends
//! with what the sent slices filled.

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
        let Some(mut busy) = self.wait_until_free(&id, started).await else {
            return Err(HandlerError::Transient(format!("order {id} is busy")));
        };
        let mut record = match self.load(&id).await? {
            Some(record) => record,
            None => {
                let Some(record) = self.journal_new(&id, envelope).await? else {
                    return Ok(Completion::done());
                };
                return Ok(self.send_in_background(record, started, busy, true));
            }
        };
        if record.has_unknown() {
            // Journaled by an earlier handling that may have sent it: Kite's order book
            // decides, never a second placement.
            tracing::warn!(order = %id, "placement outcome unknown; looking the order up by tag");
            self.state.borrow_mut().open.insert(id.clone(), record);
            drop(busy);
            self.clone().poll().await;
            // Slices not sent yet go out whatever the lookup found: their tags are
            // their own.
            busy = self
                .wait_until_free(&id, started)
                .await
                .ok_or_else(|| HandlerError::Transient(format!("order {id} is busy")))?;
            let Some(now) = self.load(&id).await? else {
                return Ok(Completion::done());
            };
            record = now;
        }
        if record.is_settled() || record.next_unsent().is_none() {
            tracing::info!(order = %id, "validated signal already executed; nothing sent");
            return Ok(Completion::done());
        }
        Ok(self.send_in_background(record, started, busy, false))
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
        fresh: bool,
    ) -> Completion {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let core = self.clone();
        actix::spawn(async move {
            let result = core.send(record, started, fresh).await;
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
        let signal = &envelope.data.signal;
        let planned = order_target(&envelope.data, &args.registry, product, variety)
            .and_then(|t| args.shape(t, signal))
            .and_then(|t| Ok((t, args.slices(signal)?)));
        let refusal = match planned {
            Ok((target, slices)) => {
                let record = OrderRecord::sliced(id.to_owned(), envelope, target, &slices, now);
                match record.params(0).form() {
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
                if record.slices.len() > 1 {
                    // Before the entry: whoever finds the entry finds its slices' tags.
                    self.journal_slice_tags(&record).await?;
                }
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

    /// Sends a journaled order's Kite orders that are due, in order: the first (already
    /// claimed by the entry's creation) when `fresh`, then every slice not sent yet.
    pub(super) async fn send(
        self: &Rc<Self>,
        mut record: OrderRecord,
        started: Instant,
        fresh: bool,
    ) -> HandlerResult {
        let deadline = self.send_deadline(&record, started);
        let mut due = if fresh { Some(0) } else { record.next_unsent() };
        while let Some(index) = due {
            // Every path leaves slice `index` claimed, placed or not placed: no loop.
            record = self.send_slice(record, index, deadline).await?;
            due = record.next_unsent();
        }
        Ok(Completion::done())
    }

    /// Sends slice `index` and acts on the answer; returns the record as committed.
    async fn send_slice(
        self: &Rc<Self>,
        mut record: OrderRecord,
        index: usize,
        deadline: SendDeadline,
    ) -> Result<OrderRecord, HandlerError> {
        let args = &self.args;
        let params = record.params(index);
        let form = params.form().map_err(HandlerError::Permanent)?;
        let id = record.client_order_id.clone();
        let (tag, slices) = (params.tag.clone(), record.slices.len());
        if let Some((kind, reason)) = self.refuse_to_send(&record) {
            tracing::warn!(order = %id, %tag, request = %format!("POST {}/orders/{} {}", args.client.base_url(), params.variety, serde_urlencoded::to_string(&form).unwrap_or_default()), "{reason}");
            let events = record.not_placed_from(index, kind, &reason);
            self.commit(record.clone(), events).await?;
            return Ok(record);
        }
        // The journal must say "may exist at Kite" before the request goes out, and the
        // order is watched from now on, so polling settles it if anything below fails.
        if !matches!(record.slices[index].placement, Placement::Claimed { .. }) {
            record.claim(index, Utc::now());
            self.persist(&record).await?;
        }
        self.state
            .borrow_mut()
            .open
            .insert(id.clone(), record.clone());
        self.state.borrow_mut().stats.placements_sent += 1;
        let answer = args.client.place_order_by(&params, Some(deadline.at)).await;
        let mut next = record.clone();
        let correlation_id = record.signal.correlation_id;
        let events = match answer {
            Ok(order_id) => {
                tracing::info!(order = %id, %tag, slice = index + 1, slices, broker_order = %order_id, %correlation_id, "order placed on Kite");
                next.placed(index, &order_id, Utc::now())
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
                tracing::warn!(order = %id, %tag, %correlation_id, %message, "{why}: order not placed");
                next.not_placed_from(index, kind, &format!("{why}: {message}"))
            }
            Err(e) if e.rejects_order() => {
                if e.is_token_error() {
                    self.halt_on_token_error(&e);
                }
                tracing::warn!(order = %id, %tag, error = %e, %correlation_id, "Kite refused the order");
                next.not_placed_from(index, OrderFailureKind::Rejected, e.message())
            }
            Err(e) => {
                // Timeout or 5xx: it may exist at Kite. The settle time counts from now,
                // when the answer was lost; polling settles it by tag.
                tracing::warn!(order = %id, %tag, error = %e, %correlation_id, "placement outcome unknown; polling Kite's order book to settle it");
                next.claim(index, Utc::now());
                if let Err(e) = self.persist(&next).await {
                    tracing::warn!(order = %id, error = %e, "journal not updated; the earlier claim stands");
                }
                self.state.borrow_mut().open.insert(id, next.clone());
                return Ok(next);
            }
        };
        self.commit(next.clone(), events).await?;
        Ok(next)
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
