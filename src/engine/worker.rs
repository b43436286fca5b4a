//! A worker's side of a run: take a job from the queue, let the command send it through the
//! shared client, and report over the channel. Workers never touch the journal, the tallies or
//! the progress bar: they ask the collector (STYLE §9). `Cx` is all a command sees of the run.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::queue::Queue;
use super::stop::StopReason;
use super::{Command, Flow};
use crate::record::journal::RowRecord;
use crate::send::{CallError, Client};

/// What workers tell the collector.
pub(crate) enum Event {
    /// A request carrying these rows is about to leave: journal it, then answer with its number
    /// (`None`: it could not be journaled, so it must not leave).
    Sent {
        rows: Vec<usize>,
        reply: oneshot::Sender<Option<u64>>,
    },
    /// The request `batch` was certainly not applied.
    Released { batch: u64, rows: Vec<usize> },
    /// Final outcomes of rows.
    Done(Vec<RowRecord>),
    /// Sending must stop, for this reason.
    Stop(StopReason),
}

/// A command's handle on the run while it sends one job.
pub struct Cx<C: Command> {
    client: Client,
    tx: mpsc::Sender<Event>,
    queue: Arc<Queue<C::Item>>,
}

impl<C: Command> Clone for Cx<C> {
    fn clone(&self) -> Self {
        Cx {
            client: self.client.clone(),
            tx: self.tx.clone(),
            queue: self.queue.clone(),
        }
    }
}

impl<C: Command> Cx<C> {
    pub(crate) fn new(client: Client, tx: mpsc::Sender<Event>, queue: Arc<Queue<C::Item>>) -> Self {
        Cx { client, tx, queue }
    }

    /// The one client every worker shares (pacer, budget, retries, stop signal).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Items per request now (it may have shrunk since the job was cut).
    pub fn batch_size(&self) -> usize {
        self.queue.batch_size()
    }

    /// Lower the batch size for the rest of the run.
    pub fn shrink_batch(&self, to: usize) {
        self.queue.shrink_batch(to);
    }

    /// Kayse named its maximum per request (`max`) when it refused a request of `sent` items:
    /// use it for the rest of the run, and say so once, with the corrected plan. `sent` items
    /// are back in the caller's hands, on top of what the queue holds.
    pub fn learned_max(&self, max: usize, sent: usize, noun: &str) {
        let was = self.queue.batch_size();
        if !self.queue.shrink_batch(max) {
            return;
        }
        let left = self.queue.left() + sent;
        self.client.pacer().notice(format!(
            "Kayse takes at most {max} {noun} per request: sending {max} per request from now on, not {was}; {}",
            crate::plan::corrected_batches(left as u64, max as u64)
        ));
    }

    /// Journal a request carrying `items` before it leaves; its batch number, or `None` when it
    /// must not leave (the journal failed, or the run is over).
    pub async fn sent(&self, items: &[C::Item]) -> Option<u64> {
        let (reply, rx) = oneshot::channel();
        let rows = items.iter().map(C::key).collect();
        self.tx.send(Event::Sent { rows, reply }).await.ok()?;
        rx.await.ok().flatten()
    }

    /// The request `batch` carrying `items` was certainly not applied.
    pub async fn release(&self, batch: u64, items: &[C::Item]) {
        let rows = items.iter().map(C::key).collect();
        let _ = self.tx.send(Event::Released { batch, rows }).await;
    }

    /// Final outcomes.
    pub async fn done(&self, recs: Vec<RowRecord>) {
        if !recs.is_empty() {
            let _ = self.tx.send(Event::Done(recs)).await;
        }
    }

    /// Stop the run's sending for `why`.
    pub async fn stop(&self, why: StopReason) -> Flow {
        let _ = self.tx.send(Event::Stop(why)).await;
        Flow::Stop
    }

    /// A call that ends the run's sending (rejected key, budget, network down, stopping).
    pub async fn halted(&self, e: &CallError) -> Flow {
        match StopReason::of_call(e) {
            Some(why) => self.stop(why).await,
            None => Flow::Stop,
        }
    }

    /// True once the run is stopping: take no new work.
    pub fn stopping(&self) -> bool {
        self.client.pacer().stop_signal().is_stopped()
    }
}

/// One worker: jobs until the queue is empty, the run stops, or the command says stop.
pub(crate) async fn work<C: Command>(cmd: Arc<C>, cx: Cx<C>) {
    while !cx.stopping() {
        let Some(job) = cx.queue.take() else {
            break;
        };
        if cmd.send(&cx, job).await == Flow::Stop {
            break;
        }
    }
}
