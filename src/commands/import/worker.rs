//! Import's workers: take a batch from the shared queue, send it through the shared client, and
//! turn what happened into row records for the collector. Workers never touch the journal, the
//! progress bar or the summary: they ask the collector over the channel (STYLE §9).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::answer::{self, Item};
use crate::outcome::Outcome;
use crate::record::journal::RowRecord;
use crate::send::{CallError, Client, Halt};

/// Why a run stopped before its work was done. The first reason wins.
#[derive(Debug, Clone, PartialEq)]
pub enum StopReason {
    KeyRejected(u16),
    Budget,
    Network(String),
    Journal(String),
}

impl StopReason {
    pub fn message(&self) -> String {
        match self {
            StopReason::KeyRejected(s) => format!(
                "the API key was rejected (HTTP {s}): check KAYSE_API_KEY or --api-key-file"
            ),
            StopReason::Budget => "the --budget of requests for this run is spent".into(),
            StopReason::Network(last) => format!("Kayse cannot be reached: {last}"),
            StopReason::Journal(e) => format!("the journal cannot be written: {e}"),
        }
    }
}

/// What workers tell the collector.
pub enum Event {
    /// A request carrying these rows is about to leave: journal it, then answer with its number.
    Sent {
        rows: Vec<usize>,
        reply: oneshot::Sender<Option<u64>>,
    },
    /// The request `batch` was certainly not applied.
    Released {
        batch: u64,
        rows: Vec<usize>,
    },
    /// Final outcomes of rows.
    Done(Vec<RowRecord>),
    Stop(StopReason),
}

/// One unit of work: rows to send together, and whether an earlier attempt at exactly these rows
/// may have been applied (a lost answer in a previous run, or an `unknown` in a results file).
#[derive(Debug, Clone)]
pub struct Job {
    pub items: Vec<Item>,
    pub in_doubt: bool,
}

/// The shared queue of work. Batches are cut when taken, so a halved batch size applies at once.
#[derive(Debug, Default)]
pub struct Queue {
    inner: Mutex<QueueInner>,
    batch: AtomicUsize,
}

#[derive(Debug, Default)]
struct QueueInner {
    doubtful: VecDeque<Job>,
    creates: VecDeque<Item>,
    updates: VecDeque<Item>,
}

impl Queue {
    pub fn new(batch: usize, doubtful: Vec<Job>, creates: Vec<Item>, updates: Vec<Item>) -> Queue {
        Queue {
            inner: Mutex::new(QueueInner {
                doubtful: doubtful.into(),
                creates: creates.into(),
                updates: updates.into(),
            }),
            batch: AtomicUsize::new(batch.max(1)),
        }
    }

    pub fn batch_size(&self) -> usize {
        self.batch.load(Ordering::SeqCst)
    }

    /// Lower the batch size for the rest of the run (never raises it).
    pub fn shrink_batch(&self, to: usize) {
        self.batch.fetch_min(to.max(1), Ordering::SeqCst);
    }

    /// The next job: doubtful groups first, then creates, then updates (never mixed, so a lost
    /// answer's "already exists" can only mean one thing).
    pub fn take(&self) -> Option<Job> {
        let n = self.batch_size();
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let q = &mut *guard;
        if let Some(j) = q.doubtful.pop_front() {
            return Some(j);
        }
        for list in [&mut q.creates, &mut q.updates] {
            if !list.is_empty() {
                let k = n.min(list.len());
                return Some(Job {
                    items: list.drain(..k).collect(),
                    in_doubt: false,
                });
            }
        }
        None
    }

    /// Rows not yet taken.
    pub fn left(&self) -> usize {
        let q = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        q.creates.len() + q.updates.len() + q.doubtful.iter().map(|j| j.items.len()).sum::<usize>()
    }
}

/// Whether the worker goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Go,
    Stop,
}

/// A worker's handles.
#[derive(Clone)]
pub struct Worker {
    pub client: Client,
    pub tx: mpsc::Sender<Event>,
    pub queue: Arc<Queue>,
    pub keep_blanks: bool,
}

impl Worker {
    pub async fn run(self) {
        while !self.client.pacer().stop_signal().is_stopped() {
            let Some(job) = self.queue.take() else {
                break;
            };
            if self.job(job).await == Flow::Stop {
                break;
            }
        }
    }

    async fn done(&self, recs: Vec<RowRecord>) {
        if !recs.is_empty() {
            let _ = self.tx.send(Event::Done(recs)).await;
        }
    }

    async fn stop(&self, why: StopReason) -> Flow {
        let _ = self.tx.send(Event::Stop(why)).await;
        Flow::Stop
    }

    async fn sent(&self, items: &[Item]) -> Option<u64> {
        let (reply, rx) = oneshot::channel();
        let rows = items.iter().map(|(r, _)| *r).collect();
        self.tx.send(Event::Sent { rows, reply }).await.ok()?;
        rx.await.ok().flatten()
    }

    async fn release(&self, batch: u64, items: &[Item]) {
        let rows = items.iter().map(|(r, _)| *r).collect();
        let _ = self.tx.send(Event::Released { batch, rows }).await;
    }

    /// A call that ended the run's sending (stop, budget, key, network).
    async fn halted(&self, e: &CallError) -> Flow {
        match e {
            CallError::KeyRejected { status } => self.stop(StopReason::KeyRejected(*status)).await,
            CallError::Halted {
                halt: Halt::Budget, ..
            } => self.stop(StopReason::Budget).await,
            CallError::GaveUp { last, .. } => self.stop(StopReason::Network(last.clone())).await,
            _ => Flow::Stop,
        }
    }

    async fn job(&self, job: Job) -> Flow {
        let mut items = job.items;
        if self.keep_blanks && items.iter().any(|(_, c)| c.id.is_some()) {
            let mut kept = Vec::with_capacity(items.len());
            for (row, case) in items {
                let Some(id) = case.id else {
                    kept.push((row, case));
                    continue;
                };
                match self.client.get(case.entity(), id).await {
                    Ok(stored) => kept.push((row, case.fill_blanks(&stored))),
                    Err(CallError::Rejected { status: 404, .. }) => {
                        self.done(vec![answer::record(
                            row,
                            None,
                            Outcome::Failed,
                            Some(id),
                            Some(format!("{} {id} was not found in Kayse", case.entity().one)),
                        )])
                        .await
                    }
                    Err(
                        e @ (CallError::KeyRejected { .. }
                        | CallError::Halted { .. }
                        | CallError::GaveUp { network: true, .. }),
                    ) => return self.halted(&e).await,
                    Err(e) => {
                        self.done(vec![answer::record(
                            row,
                            None,
                            Outcome::Failed,
                            Some(id),
                            Some(format!(
                                "could not read {} {id} to keep its blank fields: {e}",
                                case.entity().one
                            )),
                        )])
                        .await
                    }
                }
            }
            items = kept;
        }
        if job.in_doubt {
            self.send(items, true).await
        } else {
            let n = self.queue.batch_size();
            for chunk in items.chunks(n) {
                if self.send(chunk.to_vec(), false).await == Flow::Stop {
                    return Flow::Stop;
                }
            }
            Flow::Go
        }
    }

    /// Send `items` as one bulk request and settle every row: bisect definite rejections, learn
    /// cheaply from lost answers, never guess an id.
    fn send(&self, items: Vec<Item>, in_doubt: bool) -> BoxFuture<'_, Flow> {
        Box::pin(async move {
            if items.is_empty() {
                return Flow::Go;
            }
            let Some(batch) = self.sent(&items).await else {
                return Flow::Stop;
            };
            let cases: Vec<_> = items.iter().map(|(_, c)| c.clone()).collect();
            let entity = cases[0].entity();
            let res = self.client.bulk_upsert(entity, &cases).await;
            drop(cases);
            let b = Some(batch);
            match res {
                Ok(ans) => {
                    self.done(answer::match_answer(&items, &ans.records, b))
                        .await;
                    Flow::Go
                }
                Err(e @ CallError::KeyRejected { .. }) => {
                    self.release(batch, &items).await;
                    self.halted(&e).await
                }
                Err(e @ CallError::Halted { .. }) => {
                    if !(in_doubt || e.maybe_applied()) {
                        self.release(batch, &items).await;
                    }
                    self.halted(&e).await
                }
                Err(CallError::Rejected {
                    status,
                    message,
                    lost_before,
                }) => {
                    let doubt = in_doubt || lost_before;
                    if answer::too_many(&message) && items.len() > 1 {
                        // Rejected whole, this time and any earlier time at this size.
                        self.release(batch, &items).await;
                        let half = items.len().div_ceil(2);
                        self.queue.shrink_batch(half);
                        // Re-read the size before each piece: a piece may shrink it again.
                        let mut rest = items;
                        while !rest.is_empty() {
                            let n = self.queue.batch_size().min(rest.len());
                            let tail = rest.split_off(n);
                            if self.send(rest, false).await == Flow::Stop {
                                return Flow::Stop;
                            }
                            rest = tail;
                        }
                        return Flow::Go;
                    }
                    if doubt && answer::already_exists(&message) {
                        return self.probe(items, batch, message).await;
                    }
                    if !doubt {
                        self.release(batch, &items).await;
                    }
                    if items.len() == 1 {
                        let msg = if status == 400 {
                            message
                        } else {
                            format!("Kayse answered {status}: {message}")
                        };
                        self.done(answer::all(&items, b, Outcome::Failed, &msg))
                            .await;
                        return Flow::Go;
                    }
                    let mut left = items;
                    let right = left.split_off(left.len() / 2);
                    if self.send(left, doubt).await == Flow::Stop {
                        return Flow::Stop;
                    }
                    self.send(right, doubt).await
                }
                Err(e @ CallError::GaveUp { network: true, .. }) => {
                    if !(in_doubt || e.maybe_applied()) {
                        self.release(batch, &items).await;
                    }
                    self.halted(&e).await
                }
                Err(e @ (CallError::GaveUp { .. } | CallError::Lost { .. })) => {
                    if in_doubt || e.maybe_applied() {
                        let why = e.to_string();
                        self.done(answer::all_unknown(&items, b, Some(&why))).await;
                    } else {
                        self.done(answer::all(&items, b, Outcome::Failed, &e.to_string()))
                            .await;
                    }
                    Flow::Go
                }
                Err(e @ CallError::BadAnswer { .. }) => {
                    // A 2xx was received: the batch was applied, but its ids cannot be read.
                    let why = e.to_string();
                    self.done(answer::all_unknown(&items, b, Some(&why))).await;
                    Flow::Go
                }
            }
        })
    }

    /// A batch whose earlier attempt lost its answer now meets "already exists". Either that
    /// attempt was applied (batches are atomic: then every row exists), or one row clashed with a
    /// case already there. Send one row the message does not name, alone: if it too exists, the
    /// batch was applied and its rows are `unknown`; if it is created, the batch was not applied
    /// and the rest is settled as a plain rejection. At most one request more.
    async fn probe(&self, mut items: Vec<Item>, batch: u64, message: String) -> Flow {
        let b = Some(batch);
        if items.len() == 1 {
            self.done(answer::all_unknown(&items, b, None)).await;
            return Flow::Go;
        }
        let pick = items
            .iter()
            .position(|(_, c)| !names(&message, c.lookup().1))
            .unwrap_or(0);
        let one = vec![items.remove(pick)];
        let Some(pb) = self.sent(&one).await else {
            return Flow::Stop;
        };
        let res = self
            .client
            .bulk_upsert(one[0].1.entity(), &[one[0].1.clone()])
            .await;
        match res {
            Ok(ans) => {
                self.done(answer::match_answer(&one, &ans.records, Some(pb)))
                    .await;
                // The lost attempt was not applied: the rest is a plain rejected batch.
                self.release(batch, &items).await;
                self.send(items, false).await
            }
            Err(CallError::Rejected { message: m, .. }) if answer::already_exists(&m) => {
                self.done(answer::all_unknown(&one, Some(pb), None)).await;
                self.done(answer::all_unknown(&items, b, None)).await;
                Flow::Go
            }
            Err(CallError::Rejected { message: m, .. }) => {
                self.release(pb, &one).await;
                self.done(answer::all(&one, Some(pb), Outcome::Failed, &m))
                    .await;
                self.done(answer::all_unknown(&items, b, None)).await;
                Flow::Go
            }
            Err(
                e @ (CallError::KeyRejected { .. }
                | CallError::Halted { .. }
                | CallError::GaveUp { network: true, .. }),
            ) => self.halted(&e).await,
            Err(e) => {
                let why = e.to_string();
                self.done(answer::all_unknown(&one, Some(pb), Some(&why)))
                    .await;
                self.done(answer::all_unknown(&items, b, None)).await;
                Flow::Go
            }
        }
    }
}

/// Whether a server message names this case_number (as a whole token, so `A-1` is not `A-10`).
fn names(message: &str, case_number: &str) -> bool {
    if case_number.is_empty() {
        return false;
    }
    message.match_indices(case_number).any(|(i, _)| {
        let before = message[..i].chars().next_back();
        let after = message[i + case_number.len()..].chars().next();
        let edge = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '-' && c != '_');
        edge(before) && edge(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_whole_tokens() {
        assert!(names("case_number 'A-1' already exists", "A-1"));
        assert!(!names("case_number 'A-10' already exists", "A-1"));
        assert!(names("A-1 already exists", "A-1"));
        assert!(!names("anything", ""));
    }

    #[test]
    fn queue_cuts_batches_at_take_time() {
        let item = |r: usize| (r, crate::entity::Record::new(&crate::entity::CASES));
        let q = Queue::new(
            3,
            vec![Job {
                items: vec![item(1)],
                in_doubt: true,
            }],
            (10..17).map(item).collect(),
            vec![item(20)],
        );
        assert!(q.take().unwrap().in_doubt);
        assert_eq!(q.take().unwrap().items.len(), 3);
        q.shrink_batch(2);
        q.shrink_batch(5);
        assert_eq!(q.batch_size(), 2);
        assert_eq!(q.take().unwrap().items.len(), 2);
        assert_eq!(q.left(), 3);
        assert_eq!(q.take().unwrap().items.len(), 2);
        assert_eq!(q.take().unwrap().items[0].0, 20);
        assert!(q.take().is_none());
    }
}
