//! One topic, several owners: a record decoded once and handed to each (the process's tick
//! consumer: every service that reads ticks gets each tick from one fetch and one decode).
//!
//! The record is complete when every owner has handled it and every output they published
//! is acknowledged. An owner that handled it is not sent it again when another owner's
//! failure makes the consumer retry (a strategy must not see a tick twice); the outputs of
//! those that succeeded are kept and awaited with the final attempt's.

use super::routing::{Dispatch, HANDLER_TIMEOUT, Route, Routes, admit};
use super::{Completion, Deliver, HandlerError, HandlerResult};
use crate::messages::{DecodeError, Envelope, Payload, RecordOrigin, decode};
use crate::streaming::Topic;
use crate::streaming::producer::PendingDelivery;
use actix::{MailboxError, Recipient};
use futures::future::{BoxFuture, join_all};
use std::any::Any;
use std::sync::{Arc, Mutex, PoisonError};

/// An owner: its service name (in errors) and where its records go.
pub type Owner<T> = (&'static str, Recipient<Deliver<T>>);

struct FanOutRoute<T: Payload> {
    owners: Arc<[Owner<T>]>,
}

impl Routes {
    /// Routes `topic`'s records, decoded once as `T`, to every one of `owners`; no owner:
    /// no route.
    pub fn fan_out<T: Payload>(mut self, topic: Topic, owners: Vec<Owner<T>>) -> Self {
        if !owners.is_empty() {
            self.insert(
                topic.name(),
                Box::new(FanOutRoute {
                    owners: owners.into(),
                }),
            );
        }
        self
    }
}

impl<T: Payload> Route for FanOutRoute<T> {
    fn decode(&self, value: &[u8], origin: RecordOrigin) -> Result<Box<dyn Dispatch>, DecodeError> {
        let envelope = decode::<T>(value)?;
        Ok(Box::new(FanOutDispatch::new(
            self.owners.clone(),
            envelope,
            origin,
        )))
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
        Some(FanOutDispatch::new(self.owners.clone(), envelope, origin).send())
    }
}

struct FanOutDispatch<T: Payload> {
    owners: Arc<[Owner<T>]>,
    deliver: Deliver<T>,
    state: Arc<Mutex<Progress>>,
}

/// What earlier attempts achieved.
#[derive(Default)]
struct Progress {
    /// Per owner: it has handled the record.
    handled: Vec<bool>,
    /// The outputs of the owners that handled it, not yet handed to the consumer.
    deliveries: Vec<PendingDelivery>,
}

impl<T: Payload> FanOutDispatch<T> {
    fn new(owners: Arc<[Owner<T>]>, envelope: Envelope<T>, origin: RecordOrigin) -> Self {
        let handled = vec![false; owners.len()];
        FanOutDispatch {
            owners,
            deliver: Deliver { envelope, origin },
            state: Arc::new(Mutex::new(Progress {
                handled,
                deliveries: Vec::new(),
            })),
        }
    }
}

impl<T: Payload> Dispatch for FanOutDispatch<T> {
    fn send(&self) -> BoxFuture<'static, HandlerResult> {
        let pending: Vec<usize> = {
            let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            (0..self.owners.len())
                .filter(|i| !state.handled[*i])
                .collect()
        };
        let requests: Vec<_> = pending
            .iter()
            .map(|&i| {
                self.owners[i]
                    .1
                    .send(self.deliver.clone())
                    .timeout(HANDLER_TIMEOUT)
            })
            .collect();
        let (owners, state) = (self.owners.clone(), self.state.clone());
        Box::pin(async move {
            let answers = join_all(requests).await;
            let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
            let mut failure: Option<HandlerError> = None;
            for (i, answer) in pending.into_iter().zip(answers) {
                let service = owners[i].0;
                match answer {
                    Ok(Ok(completion)) => {
                        state.handled[i] = true;
                        state.deliveries.extend(completion.deliveries);
                    }
                    Ok(Err(e)) => failure = Some(worst(failure, named(service, e))),
                    Err(e) => failure = Some(worst(failure, unanswered(service, e))),
                }
            }
            match failure {
                Some(e) => Err(e),
                None => Ok(Completion::after(std::mem::take(&mut state.deliveries))),
            }
        })
    }

    fn message_type(&self) -> &'static str {
        T::TYPE.as_str()
    }
}

/// The error that decides what the consumer does: a dependency down (wait) over a
/// transient failure (retry) over a permanent one (dead-letter).
fn worst(a: Option<HandlerError>, b: HandlerError) -> HandlerError {
    fn rank(e: &HandlerError) -> u8 {
        match e {
            HandlerError::Unavailable(_) => 2,
            HandlerError::Transient(_) => 1,
            HandlerError::Permanent(_) => 0,
        }
    }
    match a {
        Some(a) if rank(&a) >= rank(&b) => a,
        _ => b,
    }
}

fn named(service: &str, e: HandlerError) -> HandlerError {
    match e {
        HandlerError::Transient(m) => HandlerError::Transient(format!("{service}: {m}")),
        HandlerError::Permanent(m) => HandlerError::Permanent(format!("{service}: {m}")),
        HandlerError::Unavailable(m) => HandlerError::Unavailable(format!("{service}: {m}")),
    }
}

fn unanswered(service: &str, e: MailboxError) -> HandlerError {
    HandlerError::Transient(match e {
        MailboxError::Closed => {
            format!("{service}: handler mailbox closed (actor stopped or restarting)")
        }
        MailboxError::Timeout => {
            format!("{service}: handler did not answer within {HANDLER_TIMEOUT:?}")
        }
    })
}
