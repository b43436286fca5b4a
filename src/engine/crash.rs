//! Test-only fault injection, confined here: named points in the engine that every networked
//! command passes. `KAYSE_BULK_CRASH_AT=point[:N]` aborts the process at the Nth passage of the
//! point, as a `kill -9` or a power cut would stop it, with no cleanup. `KAYSE_BULK_PAUSE_AT=
//! point[:N]` instead says `paused at POINT` on stderr there and waits until the run is told to
//! stop (Ctrl-C), so a test can interrupt a run at a known moment without a timer; with
//! `point:N:hold` it then says `held at POINT` and never goes on, so a second signal finds the
//! run still draining. Unset in
//! normal use, where a passage costs one comparison. Nothing else in the crate reads them.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::send::StopSignal;

/// The places a run can be stopped dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// The journal exists and the client is ready; nothing has been sent.
    BeforeFirstRequest,
    /// An answer is in hand and not yet on disk: the worst moment to die.
    AnswerNotJournaled,
    /// An answer is in the journal and not yet in the ledger.
    JournaledNotRecorded,
    /// Sending is over; the results file is not written yet.
    BeforeResults,
}

impl Point {
    pub fn name(self) -> &'static str {
        match self {
            Point::BeforeFirstRequest => "before-first-request",
            Point::AnswerNotJournaled => "answer-not-journaled",
            Point::JournaledNotRecorded => "journaled-not-recorded",
            Point::BeforeResults => "before-results",
        }
    }
}

/// A variable's reading: the point's name, the passage it fires at, and whether a pause holds
/// for good once the run is stopped.
type Spec = (String, u32, bool);

/// One variable's spec and the passages so far.
struct Hook {
    spec: OnceLock<Option<Spec>>,
    hits: AtomicU32,
    var: &'static str,
}

impl Hook {
    const fn new(var: &'static str) -> Hook {
        Hook {
            spec: OnceLock::new(),
            hits: AtomicU32::new(0),
            var,
        }
    }

    /// `Some(hold)` when this passage of `point` is the one the variable names.
    fn fires(&self, point: Point) -> Option<bool> {
        let spec = self
            .spec
            .get_or_init(|| parse(&std::env::var(self.var).ok()?));
        match spec {
            Some((name, n, hold)) if name == point.name() => {
                (self.hits.fetch_add(1, Ordering::SeqCst) + 1 == *n).then_some(*hold)
            }
            _ => None,
        }
    }
}

/// `point`, `point:N` or `point:N:hold` (N counts from 1; anything unreadable is 1).
fn parse(v: &str) -> Option<Spec> {
    let (v, hold) = match v.strip_suffix(":hold") {
        Some(rest) => (rest, true),
        None => (v, false),
    };
    let (name, n) = v.split_once(':').unwrap_or((v, "1"));
    if name.is_empty() {
        return None;
    }
    Some((name.to_string(), n.parse().unwrap_or(1).max(1), hold))
}

static CRASH: Hook = Hook::new("KAYSE_BULK_CRASH_AT");
static PAUSE: Hook = Hook::new("KAYSE_BULK_PAUSE_AT");

/// Abort here if `KAYSE_BULK_CRASH_AT` names this passage.
pub fn at(point: Point) {
    if CRASH.fires(point).is_some() {
        std::process::abort();
    }
}

/// `at`, then, if `KAYSE_BULK_PAUSE_AT` names this passage, wait for the run to be stopped.
pub async fn pass(point: Point, stop: &StopSignal) {
    at(point);
    if let Some(hold) = PAUSE.fires(point) {
        eprintln!("paused at {}", point.name());
        stop.stopped().await;
        if hold {
            eprintln!("held at {}", point.name());
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        // (the variable's text, what it reads as)
        type Row<'a> = (&'a str, Option<(&'a str, u32, bool)>);
        let table: &[Row] = &[
            ("before-results", Some(("before-results", 1, false))),
            (
                "answer-not-journaled:3",
                Some(("answer-not-journaled", 3, false)),
            ),
            (
                "answer-not-journaled:x",
                Some(("answer-not-journaled", 1, false)),
            ),
            (
                "answer-not-journaled:0",
                Some(("answer-not-journaled", 1, false)),
            ),
            (
                "answer-not-journaled:2:hold",
                Some(("answer-not-journaled", 2, true)),
            ),
            ("before-results:hold", Some(("before-results", 1, true))),
            ("", None),
            (":2", None),
            (":hold", None),
        ];
        for (text, want) in table {
            let got = parse(text);
            let want = want.map(|(n, k, h)| (n.to_string(), k, h));
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn a_hook_fires_once_at_its_passage() {
        let hook = Hook::new("KAYSE_BULK_TEST_HOOK_NEVER_SET");
        let _ = hook.spec.set(Some(("before-results".into(), 2, false)));
        let fired: Vec<bool> = (0..4)
            .map(|_| hook.fires(Point::BeforeResults).is_some())
            .collect();
        assert_eq!(fired, vec![false, true, false, false]);
        assert!(hook.fires(Point::BeforeFirstRequest).is_none());
        let unset = Hook::new("KAYSE_BULK_TEST_HOOK_NEVER_SET");
        assert!(unset.fires(Point::BeforeResults).is_none());
    }
}
