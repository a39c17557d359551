//! The daemon's threads ([`ServiceThreads`]): with `own`, each service the
//! [catalog](super::catalog) marks `own_thread` runs on an arbiter (a thread) of its own;
//! everything else — the producer, the supervisors, the tick consumer and the trading
//! services with their consumers — stays on the main arbiter.
//!
//! Why only the market feed, by measurement (docs/PERFORMANCE.md): a consumer dispatches
//! one record at a time and waits for the handler's answer, so a service on another
//! thread than its consumer costs a cross-thread round trip per record; with the tick
//! consumer handing each tick to four services, the slowest thread gates every tick (tick
//! → signal went from 14 ms to 3.3 s at 10,000 ticks/s). The feed is different: it reads
//! the socket, decodes and publishes through its own producer without waiting on any
//! other actor.
//!
//! Dropping [`Threads`] stops every arbiter and waits for its thread to end, so a client
//! an actor held (a Kafka producer) is gone before what it talks to (the embedded broker).

use crate::settings::ServiceThreads;
use actix::{Arbiter, ArbiterHandle};

/// The arbiters made for one process's services.
pub struct Threads {
    mode: ServiceThreads,
    arbiters: Vec<Arbiter>,
}

impl Threads {
    pub fn new(mode: ServiceThreads) -> Self {
        Threads {
            mode,
            arbiters: Vec::new(),
        }
    }

    /// A new thread for `service` (named after it, for `top -H` and profilers) when the
    /// catalog gives it one (`own_thread`) and the mode allows; else `None`: the main
    /// thread.
    ///
    /// Must be called inside a running actix system.
    pub fn lane(&mut self, service: &str, own_thread: bool) -> Option<ArbiterHandle> {
        if self.mode == ServiceThreads::One || !own_thread {
            return None;
        }
        let arbiter = Arbiter::new();
        let name = thread_name(service);
        // Best effort: a name is for people reading `top -H`, nothing depends on it.
        arbiter.spawn_fn(move || {
            let _ = std::fs::write("/proc/thread-self/comm", name);
        });
        let handle = arbiter.handle();
        self.arbiters.push(arbiter);
        Some(handle)
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
        for arbiter in self.arbiters.drain(..) {
            // A thread that panicked has already ended; nothing is left to wait for.
            let _ = arbiter.join();
        }
    }
}

/// Linux keeps 15 bytes of a thread's name: `ap:` and the service's name, cut.
fn thread_name(service: &str) -> String {
    let mut name = format!("ap:{service}");
    name.truncate(15);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_names_fit_linux() {
        assert_eq!(thread_name("market_feed"), "ap:market_feed");
        assert_eq!(thread_name("portfolio_manager"), "ap:portfolio_ma");
    }
}
