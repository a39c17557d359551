//! The in-process stand-in for Kafka: the services' [`ProducerHandle`] points at a [`Bus`]
//! actor, which keeps each published record in an outbox instead of sending it to a broker.
//! The engine drains the outbox after every tick and delivers each record, in publication
//! order, through the daemon's own routing tables ([`crate::actors::daemon::routes`]).

use crate::streaming::ProducerHandle;
use crate::streaming::producer::{Delivered, OutboundRecord, Publish, PublishError};
use actix::prelude::*;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Records published and not yet delivered, in publication order.
#[derive(Clone, Default)]
pub struct Outbox(Arc<Mutex<VecDeque<OutboundRecord>>>);

impl Outbox {
    /// Everything published so far, oldest first; the outbox is left empty.
    pub fn take(&self) -> VecDeque<OutboundRecord> {
        std::mem::take(&mut *self.lock())
    }

    fn push(&self, record: OutboundRecord) {
        self.lock().push_back(record);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<OutboundRecord>> {
        // A panic while holding this lock cannot leave the queue half-updated.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The producer of a backtest: acknowledges every record at once (offsets count up from 0
/// on one partition) and queues it in the [`Outbox`].
pub struct Bus {
    outbox: Outbox,
    next_offset: i64,
}

impl Bus {
    /// Starts a bus on the current arbiter; the handle is what the services publish through.
    pub fn start(outbox: Outbox) -> ProducerHandle {
        let addr = Bus {
            outbox,
            next_offset: 0,
        }
        .start();
        ProducerHandle::new(addr.recipient())
    }
}

impl Actor for Bus {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // A handler may publish several records at once; none may wait for mailbox room.
        ctx.set_mailbox_capacity(65_536);
    }
}

impl Handler<Publish> for Bus {
    type Result = Result<Delivered, PublishError>;

    fn handle(&mut self, Publish(record): Publish, _ctx: &mut Self::Context) -> Self::Result {
        let offset = self.next_offset;
        self.next_offset += 1;
        self.outbox.push(record);
        Ok(Delivered {
            partition: 0,
            offset,
        })
    }
}
