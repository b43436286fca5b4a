//! Which known cases a refresh reads again: the `n` the ledger has gone longest without seeing
//! (never read first, then the oldest read, ties by id), chosen from a stream of the ledger so a
//! 100,000-case ledger is never held whole. Pure but for the one ledger query. No network.

use std::collections::BinaryHeap;

use chrono::{DateTime, Utc};

use crate::error::Fatal;
use crate::record::ledger::{Ledger, LedgerError};

/// The `n` stalest of a stream of (id, last read) pairs, kept `n` at a time: a 100,000-case
/// ledger is never held whole to choose 100 of it.
#[derive(Debug)]
pub struct Stalest {
    n: usize,
    /// A max-heap on staleness order: its top is the freshest kept, the first to give way.
    heap: BinaryHeap<(Option<DateTime<Utc>>, u64)>,
}

impl Stalest {
    pub fn new(n: usize) -> Stalest {
        Stalest {
            n,
            heap: BinaryHeap::with_capacity(n.min(100_000) + 1),
        }
    }

    /// Consider case `id`, last read at `seen` (`None`: never, the stalest of all).
    pub fn offer(&mut self, id: u64, seen: Option<DateTime<Utc>>) {
        if self.n == 0 {
            return;
        }
        // `None` orders before every time: never-read cases are the stalest.
        self.heap.push((seen, id));
        if self.heap.len() > self.n {
            self.heap.pop();
        }
    }

    /// The ids kept, stalest first.
    pub fn ids(self) -> Vec<u64> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|(_, id)| id)
            .collect()
    }
}

/// What the ledger holds before the run chooses: live cases, those never read, and the stalest
/// `n` of them that an earlier attempt of this run did not settle.
pub struct Choice {
    pub known: u64,
    pub never: u64,
    pub ids: Vec<u64>,
}

pub fn choose(ledger: &Ledger, n: usize, settled: impl Fn(u64) -> bool) -> Result<Choice, Fatal> {
    let (mut known, mut never) = (0u64, 0u64);
    let mut pick = Stalest::new(n);
    ledger
        .for_each_seen("cases", |id, seen| {
            known += 1;
            never += u64::from(seen.is_none());
            if !settled(id) {
                pick.offer(id, seen);
            }
            Ok::<(), LedgerError>(())
        })
        .map_err(Fatal::from)?;
    if known == 0 {
        return Err(Fatal::usage(format!(
            "the ledger {} knows no live case to report: import some, or `kayse-bulk ledger add` a results file",
            ledger.path().display()
        )));
    }
    Ok(Choice {
        known,
        never,
        ids: pick.ids(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// The `n` cases to read again: never read first, then the oldest read, ties by id.
    fn stalest(cases: Vec<(u64, Option<DateTime<Utc>>)>, n: usize) -> Vec<u64> {
        let mut s = Stalest::new(n);
        for (id, seen) in cases {
            s.offer(id, seen);
        }
        s.ids()
    }

    fn at(secs: i64) -> Option<DateTime<Utc>> {
        Some(Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap())
    }

    #[test]
    fn the_stalest_are_read_first_never_read_then_oldest_ties_by_id() {
        let cases = vec![
            (5, at(30)),
            (1, at(10)),
            (9, None),
            (2, at(10)),
            (7, at(20)),
            (3, None),
        ];
        let table: &[(usize, &[u64])] = &[
            (0, &[]),
            (1, &[3]),
            (2, &[3, 9]),
            (3, &[3, 9, 1]),
            (4, &[3, 9, 1, 2]),
            (5, &[3, 9, 1, 2, 7]),
            (6, &[3, 9, 1, 2, 7, 5]),
            (100, &[3, 9, 1, 2, 7, 5]),
        ];
        for (n, want) in table {
            assert_eq!(stalest(cases.clone(), *n), *want, "n = {n}");
        }
        // The order the ledger streams them in does not matter.
        let mut reversed = cases.clone();
        reversed.reverse();
        assert_eq!(stalest(reversed, 4), vec![3, 9, 1, 2]);
        assert!(stalest(Vec::new(), 10).is_empty());
    }

    #[test]
    fn nightly_runs_cover_every_case_before_reading_any_twice() {
        // 10 cases never read, 3 a run: each run reads the stalest, which then become the
        // freshest; after ⌈10 / 3⌉ = 4 runs every case has been read, and the 5th run starts
        // again with the first read.
        let mut seen: Vec<(u64, Option<DateTime<Utc>>)> = (1..=10).map(|id| (id, None)).collect();
        let mut runs = Vec::new();
        for night in 1..=5 {
            let ids = stalest(seen.clone(), 3);
            for (id, s) in seen.iter_mut() {
                if ids.contains(id) {
                    *s = at(night);
                }
            }
            runs.push(ids);
        }
        let want: Vec<Vec<u64>> = vec![
            vec![1, 2, 3],
            vec![4, 5, 6],
            vec![7, 8, 9],
            vec![10, 1, 2],
            vec![3, 4, 5],
        ];
        assert_eq!(runs, want);
    }
}
