//! The load generator: the Kite simulator, open loop at the requested total rate, on a
//! thread and runtime of its own.
//!
//! The daemon's actors all run on the one actix arbiter thread; a simulator spawned there
//! would take that thread's time for generating, encoding and sending ticks, which a
//! daemon fed by Kite over the network never spends. On its own thread it competes for
//! the machine's cores only, as a network peer on the same host would.

use super::BenchError;
use crate::market::instruments::InstrumentRegistry;
use crate::sim::{Derivatives, Pacing, Simulator, SimulatorOptions};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// A simulator running on its own thread; dropping it stops both.
pub struct Load {
    sim: Simulator,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Load {
    /// Starts the simulator on loopback, `ticks_per_sec` in total per connection.
    ///
    /// # Errors
    /// The thread, its runtime or the listener could not be started.
    pub async fn start(
        registry: &InstrumentRegistry,
        ticks_per_sec: u32,
        seed: u64,
    ) -> Result<Load, BenchError> {
        let registry = registry.clone();
        let (started_tx, started_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-simulator".into())
            .spawn(move || serve(&registry, ticks_per_sec, seed, started_tx, stop_rx))
            .map_err(|e| BenchError::Setup(format!("starting the simulator thread: {e}")))?;
        let sim = started_rx
            .await
            .map_err(|_| BenchError::Setup("the simulator thread ended at start".into()))??;
        Ok(Load {
            sim,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The simulator (its controls and counters work from any thread).
    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        // Ends the runtime, and with it every simulator task.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread's body: a current-thread runtime serving the simulator until `stop`.
fn serve(
    registry: &InstrumentRegistry,
    ticks_per_sec: u32,
    seed: u64,
    started: oneshot::Sender<Result<Simulator, BenchError>>,
    stop: oneshot::Receiver<()>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = started.send(Err(BenchError::Setup(format!("simulator runtime: {e}"))));
            return;
        }
    };
    runtime.block_on(async move {
        let options = SimulatorOptions {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            // Not used under `Pacing::Total`.
            ticks_per_sec: 1,
            seed,
            // The benchmark's load is equities: the derivative model's settings do not
            // change its rate.
            derivatives: Derivatives::default(),
        };
        let sim = Simulator::start_with_pacing(options, Pacing::Total { ticks_per_sec }, registry)
            .await
            .map_err(|e| BenchError::Setup(format!("starting the simulator: {e}")));
        if started.send(sim).is_ok() {
            let _ = stop.await;
        }
    });
}
