//! A run sending: the runtime, the one client, Ctrl-C and the journal, and phases of work each
//! drained by one collector; then `Sent`, what it came to, for the join with the input rows.
//! Built by `Session::connect`; the one place phases run and the journal gets its last note.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::Command;
use super::collector::{Collected, Collector, Sink, View};
use super::crash::{self, Point};
use super::queue::{Queue, Work};
use super::stop::StopReason;
use super::worker::{self, Cx, Event};
use crate::record::journal::{Journal, RowRecord};
use crate::report::summary::RequestStats;
use crate::send::{Client, Server};

/// A run sending.
pub struct Live {
    pub(super) rt: tokio::runtime::Runtime,
    pub(super) client: Client,
    pub(super) interrupted: Arc<AtomicBool>,
    pub(super) ctrl_c: tokio::task::JoinHandle<()>,
    pub(super) journal: Journal,
    pub(super) outcomes: BTreeMap<usize, RowRecord>,
    pub(super) doubt: BTreeSet<usize>,
    pub(super) stop: Option<StopReason>,
    pub(super) quiet: bool,
    pub(super) drain: Duration,
    pub(super) concurrency: usize,
    pub(super) server: Server,
}

impl Live {
    /// True once the run is stopping (a stop reason, Ctrl-C): start no further phase.
    pub fn stopping(&self) -> bool {
        self.client.pacer().stop_signal().is_stopped()
    }

    /// The outcomes so far (an earlier run's, on `--resume`, included), by key: what a later
    /// phase is built from (`export --with-clients` fetches the clients the cases name).
    pub fn outcomes(&self) -> &BTreeMap<usize, RowRecord> {
        &self.outcomes
    }

    /// Run one journaled phase to its end: its outcomes join the run's.
    pub fn send<C: Command>(&mut self, cmd: C, work: Work<C::Item>, batch: usize, view: View) {
        self.send_recorded(cmd, work, batch, view, None);
    }

    /// [`Live::send`], with every outcome also written to `sink` (the ledger) as it is journaled.
    pub fn send_recorded<C: Command>(
        &mut self,
        cmd: C,
        work: Work<C::Item>,
        batch: usize,
        view: View,
        sink: Option<&mut dyn Sink>,
    ) {
        let prior = self.doubt.clone();
        let Some(collected) = self.phase(cmd, work, batch, view, true, &prior, sink) else {
            return;
        };
        self.outcomes.extend(collected.outcomes);
        // The collector started from the earlier doubt and settled what it could.
        self.doubt = collected.doubt;
        if self.stop.is_none() {
            self.stop = collected.stop;
        }
    }

    /// Run a phase that is not journaled (GETs that change nothing, e.g. a backup before a
    /// delete) and hand back what it came to.
    pub fn side<C: Command>(
        &mut self,
        cmd: C,
        work: Work<C::Item>,
        batch: usize,
        view: View,
    ) -> Collected {
        self.phase(cmd, work, batch, view, false, &BTreeSet::new(), None)
            .unwrap_or_default()
    }

    #[allow(clippy::too_many_arguments)]
    fn phase<C: Command>(
        &mut self,
        cmd: C,
        work: Work<C::Item>,
        batch: usize,
        view: View,
        journaled: bool,
        prior_doubt: &BTreeSet<usize>,
        sink: Option<&mut dyn Sink>,
    ) -> Option<Collected> {
        if work.is_empty() || self.stopping() {
            return None;
        }
        let batch = batch.max(1);
        let queue = Arc::new(Queue::new(batch, work));
        let workers = self.concurrency.min(queue.left().div_ceil(batch)).max(1);
        let cmd = Arc::new(cmd);
        let journal = journaled.then_some(&mut self.journal);
        let collector = Collector::new(journal, view, self.quiet, &self.client, prior_doubt, sink);
        let (client, interrupted, drain) = (&self.client, &*self.interrupted, self.drain);
        let collected = self.rt.block_on(async {
            let (tx, rx) = mpsc::channel::<Event>(256);
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    let cx = Cx::<C>::new(client.clone(), tx.clone(), queue.clone());
                    tokio::spawn(worker::work(cmd.clone(), cx))
                })
                .collect();
            drop(tx);
            let collected = collector.run(rx, client, interrupted, drain).await;
            for h in &handles {
                h.abort();
            }
            collected
        });
        Some(collected)
    }

    /// End sending: note why in the journal, stop watching Ctrl-C, and hand over the outcomes.
    pub fn end(mut self) -> Sent {
        let interrupted = self.interrupted.load(Ordering::SeqCst);
        let note = match (&self.stop, interrupted) {
            (_, true) => Some("interrupted (Ctrl-C)".to_string()),
            (Some(r), _) => Some(format!("stopped: {}", r.message())),
            _ => None,
        };
        if let Some(n) = note {
            let _ = self.journal.note(n);
        }
        self.ctrl_c.abort();
        crash::at(Point::BeforeResults);
        Sent {
            outcomes: std::mem::take(&mut self.outcomes),
            doubt: std::mem::take(&mut self.doubt),
            stop: self.stop.take(),
            interrupted,
            stats: Some(self.client.stats()),
            server: Some(std::mem::take(&mut self.server)),
        }
    }
}

/// What a run's sending came to.
#[derive(Debug, Default)]
pub struct Sent {
    pub outcomes: BTreeMap<usize, RowRecord>,
    /// Keys a request carried that may have been applied and have no outcome.
    pub doubt: BTreeSet<usize>,
    pub stop: Option<StopReason>,
    pub interrupted: bool,
    pub stats: Option<RequestStats>,
    /// The server the run's journal belongs to, for the summary.
    pub server: Option<Server>,
}

/// Where one key stands at the end.
#[derive(Debug, PartialEq)]
pub enum Settled<'a> {
    Done(&'a RowRecord),
    /// Carried by a request that may have been applied, with no answer on record.
    InDoubt,
    NotSent,
}

impl Sent {
    /// Nothing was sent: no outcome, no stop.
    pub fn nothing() -> Sent {
        Sent::default()
    }

    pub fn settle(&self, key: usize) -> Settled<'_> {
        match self.outcomes.get(&key) {
            Some(r) => Settled::Done(r),
            None if self.doubt.contains(&key) => Settled::InDoubt,
            None => Settled::NotSent,
        }
    }

    /// Why an item was not sent: "not sent" when it simply was not, else the reason and what
    /// to do. `verb` is what sending means for the command ("sent", "fetched").
    pub fn not_sent(&self, verb: &str) -> String {
        match (&self.stop, self.interrupted) {
            (_, true) => format!("not {verb}: the run was interrupted; run again with --resume"),
            (Some(r), _) => format!("not {verb}: {}; run again with --resume", r.message()),
            (None, false) => format!("not {verb}"),
        }
    }
}
