//! The work of a run: items waiting to be sent, cut into batches when a worker takes them, so a
//! batch size lowered mid-run applies at once. Groups an earlier attempt may have applied go
//! first and whole; then each list in turn, never mixed in one batch. No I/O.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Items to send together, and whether an earlier attempt at exactly these items may have been
/// applied (a lost answer in a previous run, or an `unknown` in a results file).
#[derive(Debug, Clone)]
pub struct Job<I> {
    pub items: Vec<I>,
    pub in_doubt: bool,
}

/// What a run will send: groups in doubt, then lists (import: creates, then updates).
#[derive(Debug)]
pub struct Work<I> {
    pub doubtful: Vec<Job<I>>,
    pub lists: Vec<Vec<I>>,
}

impl<I> Default for Work<I> {
    fn default() -> Self {
        Work {
            doubtful: Vec::new(),
            lists: Vec::new(),
        }
    }
}

impl<I> Work<I> {
    /// One list, nothing in doubt.
    pub fn list(items: Vec<I>) -> Work<I> {
        Work {
            doubtful: Vec::new(),
            lists: vec![items],
        }
    }

    /// Items not yet sent.
    pub fn len(&self) -> usize {
        self.doubtful.iter().map(|j| j.items.len()).sum::<usize>()
            + self.lists.iter().map(Vec::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Move the items `pred` picks out of `items` into a new vector, both in their order. Only the
/// items taken get new memory: std collects a vector's own `into_iter().filter_map()` back into
/// its buffer (a run's items can be most of its memory, and two new vectors would hold them twice).
pub fn take_where<I>(items: &mut Vec<I>, pred: impl Fn(&I) -> bool) -> Vec<I> {
    let mut taken = Vec::new();
    *items = std::mem::take(items)
        .into_iter()
        .filter_map(|i| {
            if pred(&i) {
                taken.push(i);
                None
            } else {
                Some(i)
            }
        })
        .collect();
    taken
}

/// The shared queue of a run's work.
#[derive(Debug)]
pub struct Queue<I> {
    inner: Mutex<Inner<I>>,
    batch: AtomicUsize,
}

#[derive(Debug)]
struct Inner<I> {
    doubtful: VecDeque<Job<I>>,
    lists: Vec<VecDeque<I>>,
}

impl<I> Queue<I> {
    pub fn new(batch: usize, work: Work<I>) -> Queue<I> {
        Queue {
            inner: Mutex::new(Inner {
                doubtful: work.doubtful.into(),
                lists: work.lists.into_iter().map(VecDeque::from).collect(),
            }),
            batch: AtomicUsize::new(batch.max(1)),
        }
    }

    pub fn batch_size(&self) -> usize {
        self.batch.load(Ordering::SeqCst)
    }

    /// Lower the batch size for the rest of the run (never raises it). True when this call
    /// lowered it, so what follows from a lower size is said once.
    pub fn shrink_batch(&self, to: usize) -> bool {
        let to = to.max(1);
        self.batch.fetch_min(to, Ordering::SeqCst) > to
    }

    /// The next job: a doubtful group whole, else up to a batch from the first list with items.
    pub fn take(&self) -> Option<Job<I>> {
        let n = self.batch_size();
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let q = &mut *guard;
        if let Some(j) = q.doubtful.pop_front() {
            return Some(j);
        }
        let list = q.lists.iter_mut().find(|l| !l.is_empty())?;
        let k = n.min(list.len());
        Some(Job {
            items: list.drain(..k).collect(),
            in_doubt: false,
        })
    }

    /// Items not yet taken.
    pub fn left(&self) -> usize {
        let q = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        q.lists.iter().map(VecDeque::len).sum::<usize>()
            + q.doubtful.iter().map(|j| j.items.len()).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_cut_at_take_time() {
        let q = Queue::new(
            3,
            Work {
                doubtful: vec![Job {
                    items: vec![1],
                    in_doubt: true,
                }],
                lists: vec![(10..17).collect(), vec![20]],
            },
        );
        assert_eq!(q.left(), 9);
        let first = q.take().unwrap();
        assert!(first.in_doubt && first.items == vec![1]);
        assert_eq!(q.take().unwrap().items, vec![10, 11, 12]);
        assert!(q.shrink_batch(2));
        assert!(!q.shrink_batch(5));
        assert!(!q.shrink_batch(2), "already there");
        assert_eq!(q.batch_size(), 2, "never raised");
        assert_eq!(q.take().unwrap().items, vec![13, 14]);
        assert_eq!(q.left(), 3);
        assert_eq!(q.take().unwrap().items, vec![15, 16]);
        let last = q.take().unwrap();
        assert_eq!(last.items, vec![20], "lists are never mixed in one batch");
        assert!(!last.in_doubt);
        assert!(q.take().is_none());
    }

    #[test]
    fn taking_keeps_both_orders() {
        let table: &[(&[u32], &[u32], &[u32])] = &[
            (&[1, 2, 3, 4, 5, 6], &[1, 3, 5], &[2, 4, 6]),
            (&[], &[], &[]),
            (&[2, 4], &[], &[2, 4]),
            (&[1, 3], &[1, 3], &[]),
            (&[9, 8, 7, 6], &[9, 7], &[8, 6]),
        ];
        for (all, odd, even) in table {
            let mut items = all.to_vec();
            let taken = take_where(&mut items, |i| i % 2 == 1);
            assert_eq!(taken, odd.to_vec(), "{all:?}");
            assert_eq!(items, even.to_vec(), "{all:?}");
        }
    }

    #[test]
    fn a_batch_is_never_empty_or_zero() {
        let q = Queue::new(0, Work::list(vec!['a', 'b']));
        assert_eq!(q.batch_size(), 1);
        assert!(!q.shrink_batch(0));
        assert_eq!(q.take().unwrap().items, vec!['a']);
        let empty: Queue<u8> = Queue::new(4, Work::default());
        assert!(empty.take().is_none());
        assert!(Work::<u8>::default().is_empty());
        assert_eq!(Work::list(vec![1, 2]).len(), 2);
    }
}
