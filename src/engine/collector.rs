//! The one collector of a run's phase: it owns the journal (when the phase is journaled), the
//! tallies and the progress bar, and is the only task that touches them. Workers talk to it over
//! a channel (`Event`). It decides when an outcome counts: once it is on disk. It never sends.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::crash::{self, Point};
use super::progress::{Progress, Tally};
use super::stop::StopReason;
use super::worker::Event;
use crate::outcome::Outcome;
use crate::record::journal::{Journal, Record, RowRecord};
use crate::send::Client;

/// A second record of outcomes beside the journal (the ledger): told of every outcome in the
/// same step that journals it, after the journal has it, so the journal stays the crash-safe
/// record and `--resume` can bring the sink up to date. An error stops the run's sending.
pub trait Sink {
    fn record(&mut self, recs: &[RowRecord]) -> Result<(), String>;
}

/// How a phase shows itself: its progress label, the rows it will settle, rows per request (for
/// the ETA), and the outcomes its progress line counts, in order. An outcome not listed counts
/// under the `Failed` entry.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub label: &'static str,
    pub total: u64,
    pub per_request: u64,
    pub shown: &'static [(&'static str, Outcome)],
}

/// What a phase came to.
#[derive(Debug, Default)]
pub struct Collected {
    /// Outcomes settled in this phase, by key.
    pub outcomes: BTreeMap<usize, RowRecord>,
    /// Keys a request carried that may have been applied and have no outcome.
    pub doubt: BTreeSet<usize>,
    /// Why sending stopped early, if it did (Ctrl-C aside).
    pub stop: Option<StopReason>,
}

/// The collector's state while a phase runs.
pub(crate) struct Collector<'a, 's> {
    /// `None`: the phase is not journaled (a backup before deleting); batch numbers are local.
    journal: Option<&'a mut Journal>,
    sink: Option<&'s mut dyn Sink>,
    next_local: u64,
    progress: Progress,
    tally: Tally,
    shown: &'static [(&'static str, Outcome)],
    /// Rows the phase settles and rows per request, for a corrected plan.
    total: u64,
    per_request: u64,
    /// Per key: requests carrying it not yet released.
    doubt: BTreeMap<usize, u32>,
    outcomes: BTreeMap<usize, RowRecord>,
    reason: Option<StopReason>,
}

impl<'a, 's> Collector<'a, 's> {
    /// `prior_doubt`: keys an earlier run left in flight, in doubt until settled here.
    pub(crate) fn new(
        journal: Option<&'a mut Journal>,
        view: View,
        quiet: bool,
        client: &Client,
        prior_doubt: &BTreeSet<usize>,
        sink: Option<&'s mut dyn Sink>,
    ) -> Self {
        Collector {
            journal,
            sink,
            next_local: 0,
            progress: Progress::new(
                view.label,
                view.total,
                quiet,
                client.rate(),
                view.per_request,
            ),
            tally: Tally {
                done: 0,
                counts: view.shown.iter().map(|(label, _)| (*label, 0)).collect(),
            },
            shown: view.shown,
            total: view.total,
            per_request: view.per_request.max(1),
            doubt: prior_doubt.iter().map(|k| (*k, 1)).collect(),
            outcomes: BTreeMap::new(),
            reason: None,
        }
    }

    /// Journal `records`; on failure the run stops, and what they say does not count.
    fn append(&mut self, records: &[Record], client: &Client) -> bool {
        let Some(j) = self.journal.as_deref_mut() else {
            return true;
        };
        match j.append(records) {
            Ok(()) => true,
            Err(e) => {
                self.reason
                    .get_or_insert(StopReason::Journal(e.to_string()));
                client.pacer().stop_signal().stop();
                false
            }
        }
    }

    fn sent(&mut self, rows: Vec<usize>, client: &Client) -> Option<u64> {
        let batch = match self.journal.as_deref_mut() {
            None => {
                self.next_local += 1;
                Ok(self.next_local - 1)
            }
            Some(j) => j.sent(&rows),
        };
        match batch {
            Ok(b) => {
                for r in rows {
                    *self.doubt.entry(r).or_default() += 1;
                }
                Some(b)
            }
            Err(e) => {
                self.reason
                    .get_or_insert(StopReason::Journal(e.to_string()));
                client.pacer().stop_signal().stop();
                None
            }
        }
    }

    fn done(&mut self, recs: Vec<RowRecord>, client: &Client) {
        let lines: Vec<Record> = recs.iter().cloned().map(Record::Row).collect();
        if !self.append(&lines, client) {
            return; // not on disk, so not done: these rows stay in doubt
        }
        if self.sink.is_some() {
            crash::at(Point::JournaledNotRecorded);
        }
        if let Some(sink) = self.sink.as_deref_mut()
            && let Err(e) = sink.record(&recs)
        {
            // Journaled, so counted: `--resume` brings the ledger up to date from the journal.
            self.reason.get_or_insert(StopReason::Ledger(e));
            client.pacer().stop_signal().stop();
        }
        for r in recs {
            self.doubt.remove(&r.row);
            self.tally.done += 1;
            let slot = self
                .shown
                .iter()
                .position(|(_, o)| *o == r.outcome)
                .or_else(|| self.shown.iter().position(|(_, o)| *o == Outcome::Failed));
            if let Some(slot) = slot {
                self.tally.counts[slot].1 += 1;
            }
            self.outcomes.insert(r.row, r);
        }
        self.notes(client);
        self.progress.update(&self.tally, &client.pacer().view());
    }

    /// What the client has to say (an outage, a long wait, a window other than the plan
    /// assumed, with the plan corrected for the rows still to send) goes above the bar.
    fn notes(&mut self, client: &Client) {
        if let Some(n) = client.pacer().window_news() {
            let rows = self.total.saturating_sub(self.tally.done);
            let requests = crate::plan::batches(rows, self.per_request);
            self.progress.note(&crate::plan::corrected_window(
                requests,
                n.rate,
                n.assumed,
                n.remaining,
            ));
        }
        for line in client.pacer().notices() {
            self.progress.note(&line);
        }
    }

    /// Take events until every worker is gone, or the drain after a stop runs out.
    pub(crate) async fn run(
        mut self,
        mut rx: mpsc::Receiver<Event>,
        client: &Client,
        interrupted: &AtomicBool,
        drain: Duration,
    ) -> Collected {
        let stop = client.pacer().stop_signal();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut drain_deadline: Option<tokio::time::Instant> = None;
        loop {
            if drain_deadline.is_none() && stop.is_stopped() {
                drain_deadline = Some(tokio::time::Instant::now() + drain);
            }
            let deadline = drain_deadline;
            tokio::select! {
                ev = rx.recv() => {
                    let Some(ev) = ev else { break };
                    match ev {
                        Event::Sent { rows, reply } => {
                            let _ = reply.send(self.sent(rows, client));
                        }
                        Event::Released { batch, rows } => {
                            for r in &rows {
                                if let Some(n) = self.doubt.get_mut(r) {
                                    *n = n.saturating_sub(1);
                                }
                            }
                            self.append(&[Record::Released { batch, rows }], client);
                        }
                        Event::Done(recs) => {
                            if self.journal.is_some() {
                                crash::pass(Point::AnswerNotJournaled, stop).await;
                            }
                            self.done(recs, client);
                        }
                        Event::Stop(why) => {
                            if self.reason.is_none() && !interrupted.load(Ordering::SeqCst) {
                                self.progress.println(&format!("stopping: {}", why.message()));
                            }
                            self.reason.get_or_insert(why);
                            stop.stop();
                        }
                    }
                }
                _ = tick.tick() => {
                    self.notes(client);
                    self.progress.update(&self.tally, &client.pacer().view());
                }
                _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {
                    self.progress.println(&format!(
                        "requests still in flight after {} s: leaving them as unknown",
                        drain.as_secs()
                    ));
                    break;
                }
            }
        }
        self.notes(client);
        self.progress.finish();
        Collected {
            outcomes: self.outcomes,
            doubt: self
                .doubt
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(r, _)| r)
                .collect(),
            stop: self.reason,
        }
    }
}
