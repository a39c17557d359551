//! The test's levers on a running [`FakeKite`]: executions, cancellations, rejections,
//! interim statuses, the placement script, rate limits, GET failures and token changes.
//!
//! Invariants: every lever changes state under the shared lock and wakes
//! [`FakeKite::wait_until`]; a lever misused by the test (unknown order, overfill, changing a
//! terminal order) panics outside the lock, so the fake stays usable for the assertion that
//! follows.

use super::{FakeKite, Placement};
use rust_decimal::Decimal;

impl FakeKite {
    /// Executes `quantity` of the order at `price`; COMPLETE when fully filled. Returns the
    /// trade id.
    ///
    /// # Panics
    /// Unknown or terminal order, zero quantity, or more than the unfilled quantity.
    pub fn fill(&self, order_id: &str, quantity: u64, price: Decimal) -> String {
        self.script(|state| state.fill(order_id, quantity, price))
    }

    /// Cancels the order with status_message "Cancelled by user".
    ///
    /// # Panics
    /// Unknown or terminal order.
    pub fn cancel(&self, order_id: &str) {
        self.cancel_with_message(order_id, "Cancelled by user");
    }

    /// Cancels the order with this status_message.
    ///
    /// # Panics
    /// Unknown or terminal order.
    pub fn cancel_with_message(&self, order_id: &str, message: &str) {
        self.finish(order_id, "CANCELLED", message);
    }

    /// Rejects the order (status REJECTED, status_message `message`).
    ///
    /// # Panics
    /// Unknown or terminal order.
    pub fn reject(&self, order_id: &str, message: &str) {
        self.finish(order_id, "REJECTED", message);
    }

    fn finish(&self, order_id: &str, status: &str, message: &str) {
        self.script(|state| {
            state.update(order_id, |order| {
                if order.is_terminal() {
                    return Err(format!("order {order_id} is already {}", order.status));
                }
                order.status = status.to_owned();
                order.status_message = Some(message.to_owned());
                Ok(())
            })
        });
    }

    /// Sets any status (e.g. "TRIGGER PENDING"), without checks, appending a history state.
    ///
    /// # Panics
    /// Unknown order.
    pub fn set_status(&self, order_id: &str, status: &str) {
        self.script(|state| {
            state.update(order_id, |order| {
                order.status = status.to_owned();
                Ok(())
            })
        });
    }

    /// Queues what the next valid `POST /orders/{variety}` does.
    pub fn script_next_placement(&self, placement: Placement) {
        self.script(|state| {
            state.script.push_back(placement);
            Ok(())
        });
    }

    /// The next `n` requests of any kind answer 429 NetworkException and have no effect.
    pub fn rate_limit_next(&self, n: usize) {
        self.script(|state| {
            state.rate_limited += n;
            Ok(())
        });
    }

    /// The next `n` authorised GET requests answer `status` (a 5xx error envelope).
    pub fn fail_next_gets(&self, n: usize, status: u16) {
        self.script(|state| {
            state.failing_gets = n;
            state.failing_get_status = status;
            Ok(())
        });
    }

    /// From now on every authenticated request answers 403 TokenException, until
    /// `set_access_token` or a new session.
    pub fn expire_token(&self) {
        self.script(|state| {
            state.token_expired = true;
            Ok(())
        });
    }

    /// Makes `token` the only valid access token (and ends an expiry).
    pub fn set_access_token(&self, token: &str) {
        self.script(|state| {
            state.access_token = token.to_owned();
            state.token_expired = false;
            Ok(())
        });
    }

    /// Makes `request_token` exchangeable (once) at `POST /session/token`.
    pub fn register_request_token(&self, request_token: &str) {
        self.script(|state| {
            state.request_tokens.insert(request_token.to_owned());
            Ok(())
        });
    }
}
