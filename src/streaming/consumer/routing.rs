//! The routing table: topic → decoder → the `Recipient` that owns the message type.
//! Built once when the consumer is created; no per-service wrapper re-derives topics.
//!
//! The door: a record reaches its owner only if it decodes and its payload passes
//! [`Payload::validate`] (a tick's price rules: [`crate::messages::MarketTick::check`]).
//! A decoded record is checked by [`decode`]; an envelope delivered in-process (the
//! backtest) is checked here and answered with [`HandlerError::Permanent`] without being
//! sent. Either way the owner never sees an invalid payload.

use super::{Deliver, HandlerError, HandlerResult};
use crate::messages::{DecodeError, Envelope, Payload, RecordOrigin, decode};
use crate::streaming::topics::Topic;
use actix::{MailboxError, Recipient};
use futures::future::BoxFuture;
use std::any::Any;
use std::collections::HashMap;
use std::time::Duration;

/// How long a handler may take to answer before the attempt counts as a transient failure.
pub const HANDLER_TIMEOUT: Duration = Duration::from_secs(30);

/// A decoded record, ready to be sent (again, on retry) to its owner.
pub(super) trait Dispatch: Send {
    fn send(&self) -> BoxFuture<'static, HandlerResult>;
    /// The envelope type's wire name, labelling the handler latency metric.
    fn message_type(&self) -> &'static str;
}

pub(super) trait Route: Send + Sync {
    fn decode(&self, value: &[u8], origin: RecordOrigin) -> Result<Box<dyn Dispatch>, DecodeError>;
    /// Sends an in-process envelope (an `Envelope<T>` behind `Any`) to the owner; `None` if
    /// it is not this route's type.
    fn send_envelope(
        &self,
        envelope: &(dyn Any + Send),
        origin: RecordOrigin,
    ) -> Option<BoxFuture<'static, HandlerResult>>;
}

struct TypedRoute<T: Payload> {
    recipient: Recipient<Deliver<T>>,
}

struct TypedDispatch<T: Payload> {
    recipient: Recipient<Deliver<T>>,
    deliver: Deliver<T>,
}

impl<T: Payload> Route for TypedRoute<T> {
    fn decode(&self, value: &[u8], origin: RecordOrigin) -> Result<Box<dyn Dispatch>, DecodeError> {
        let envelope = decode::<T>(value)?;
        Ok(Box::new(TypedDispatch {
            recipient: self.recipient.clone(),
            deliver: Deliver { envelope, origin },
        }))
    }

    fn send_envelope(
        &self,
        envelope: &(dyn Any + Send),
        origin: RecordOrigin,
    ) -> Option<BoxFuture<'static, HandlerResult>> {
        let envelope = match admit::<T>(envelope)? {
            Ok(envelope) => envelope,
            Err(refused) => return Some(Box::pin(async move { Err(refused) })),
        };
        let request = self.recipient.send(Deliver { envelope, origin });
        Some(Self::answer(request))
    }
}

/// The in-process door: an `Envelope<T>` behind `Any` (`None`: another type), cloned and
/// checked like a decoded record — a payload that breaks its invariants (a tick at a
/// negative price) never reaches an owner; it is a permanent failure.
pub(super) fn admit<T: Payload>(
    envelope: &(dyn Any + Send),
) -> Option<Result<Envelope<T>, HandlerError>> {
    let envelope = envelope.downcast_ref::<Envelope<T>>()?.clone();
    Some(match envelope.data.validate() {
        Ok(()) => Ok(envelope),
        Err(reason) => Err(HandlerError::Permanent(format!(
            "invalid `{}`: {reason}",
            T::TYPE
        ))),
    })
}

impl<T: Payload> TypedRoute<T> {
    fn answer(
        request: actix::dev::RecipientRequest<Deliver<T>>,
    ) -> BoxFuture<'static, HandlerResult> {
        Box::pin(async move {
            match request.await {
                Ok(result) => result,
                Err(e) => Err(HandlerError::Transient(format!("handler unavailable: {e}"))),
            }
        })
    }
}

impl<T: Payload> Dispatch for TypedDispatch<T> {
    fn send(&self) -> BoxFuture<'static, HandlerResult> {
        let request = self
            .recipient
            .send(self.deliver.clone())
            .timeout(HANDLER_TIMEOUT);
        Box::pin(async move {
            match request.await {
                Ok(result) => result,
                // The owner is restarting or overloaded: worth another try.
                Err(MailboxError::Closed) => Err(HandlerError::Transient(
                    "handler mailbox closed (actor stopped or restarting)".into(),
                )),
                Err(MailboxError::Timeout) => Err(HandlerError::Transient(format!(
                    "handler did not answer within {HANDLER_TIMEOUT:?}"
                ))),
            }
        })
    }

    fn message_type(&self) -> &'static str {
        T::TYPE.as_str()
    }
}

/// Topic name → route. Each topic has exactly one owner.
#[derive(Default)]
pub struct Routes {
    routes: HashMap<String, Box<dyn Route>>,
}

impl Routes {
    pub fn new() -> Self {
        Routes::default()
    }

    /// Routes `topic`'s records, decoded as `T`, to `recipient`. A later route for the same
    /// topic replaces the earlier one.
    pub fn route<T: Payload>(mut self, topic: Topic, recipient: Recipient<Deliver<T>>) -> Self {
        self.routes
            .insert(topic.name(), Box::new(TypedRoute { recipient }));
        self
    }

    /// Adds a route of another module's making (the fan-out's).
    pub(super) fn insert(&mut self, topic: String, route: Box<dyn Route>) {
        self.routes.insert(topic, route);
    }

    /// Whether no topic is routed.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The same, for a topic name outside the topic map (tests, benchmarks).
    pub fn route_name<T: Payload>(mut self, topic: &str, recipient: Recipient<Deliver<T>>) -> Self {
        self.routes
            .insert(topic.to_owned(), Box::new(TypedRoute { recipient }));
        self
    }

    /// The topics to subscribe to.
    pub fn topics(&self) -> Vec<String> {
        let mut t: Vec<String> = self.routes.keys().cloned().collect();
        t.sort();
        t
    }

    /// Sends an envelope published in-process (an `Envelope<T>` behind `Any`, see
    /// [`crate::streaming::Outbox`]) on `origin.topic` to its owner, without encoding it:
    /// the future answers with the handler's result. `None` if no route exists for the
    /// topic; `Some(Err)` if the envelope is not the route's type. For wiring without a
    /// consumer (the backtest delivers every published record this way).
    pub fn deliver_envelope(
        &self,
        envelope: &(dyn Any + Send),
        origin: RecordOrigin,
    ) -> Option<Result<BoxFuture<'static, HandlerResult>, String>> {
        let route = self.routes.get(&origin.topic)?;
        let topic = origin.topic.clone();
        Some(
            route
                .send_envelope(envelope, origin)
                .ok_or_else(|| format!("an envelope on `{topic}` is not of the topic's type")),
        )
    }

    /// Decodes a record of `origin.topic` and sends it to its owner (see
    /// [`Self::deliver_envelope`]; this is for raw records).
    ///
    /// # Errors
    /// The record does not decode as the route's type.
    pub fn deliver(
        &self,
        value: &[u8],
        origin: RecordOrigin,
    ) -> Option<Result<BoxFuture<'static, HandlerResult>, DecodeError>> {
        self.decode(value, origin)
            .map(|decoded| decoded.map(|dispatch| dispatch.send()))
    }

    /// Decodes a record for its owner; `Ok(None)` if no route exists for the topic.
    pub(super) fn decode(
        &self,
        value: &[u8],
        origin: RecordOrigin,
    ) -> Option<Result<Box<dyn Dispatch>, DecodeError>> {
        self.routes
            .get(&origin.topic)
            .map(|route| route.decode(value, origin))
    }
}

#[cfg(test)]
#[path = "routing_tests.rs"]
mod tests;
