//! The retry policy: which failures are retried, how long to back off, and when a run of
//! failures across calls means the server is down (an outage, waited out by every worker
//! together). Pure values: no clock of its own (the time is passed in) and no randomness (the
//! jitter draw is passed in), so it is tested exhaustively.

use std::time::Duration;

use tokio::time::Instant;

/// Exponential backoff with full jitter: attempt `n` (0-based) waits a uniform draw in
/// `[0, min(cap, base · 2ⁿ)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    /// Attempts in all, the first included.
    pub attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            attempts: 6,
        }
    }
}

impl RetryPolicy {
    /// The ceiling of the wait after failed attempt `n` (0-based).
    pub fn ceiling(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait after failed attempt `n`, for a uniform draw `u` in `[0, 1)`.
    pub fn delay(&self, n: u32, u: f64) -> Duration {
        self.ceiling(n).mul_f64(u.clamp(0.0, 1.0))
    }

    /// Whether another attempt is allowed after `done` attempts.
    pub fn may_retry(&self, done: u32) -> bool {
        done < self.attempts
    }
}

/// Transient failures in a row, across every call of the run and with no answer between them,
/// that mean the server is down rather than one request unlucky.
pub const DOWN_AFTER: u32 = 3;

/// What the run knows of the server's health: the transient failures (5xx, network) since its
/// last answer of any kind. Shared by every call through the pacer; each failure and each answer
/// is reported here, and no request leaves while an outage pause runs.
#[derive(Debug, Clone, Default)]
pub struct Health {
    /// When the first failure of the current run of failures happened.
    since: Option<Instant>,
    failures: u32,
    /// Outage pauses so far (each one waits longer).
    pauses: u32,
    /// While down: nothing leaves before this.
    until: Option<Instant>,
    /// While down and past `until`: one request (the probe) is out; the others wait for its fate.
    probing: bool,
}

/// What a transient failure means for the call that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The server is not known to be down: back off on the call's own schedule.
    Again,
    /// The server is down: every worker waits until `until`, then one probe goes. `first`: this
    /// failure declared the outage.
    Down { until: Instant, first: bool },
    /// Down for longer than the run may wait, by `waited`: stop, ready to resume.
    Over { waited: Duration },
}

/// Whether a request may leave now, as far as the server's health goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// An outage pause runs until then.
    Until(Instant),
    /// The probe of an outage is out: wait for its answer.
    Probe,
}

impl Health {
    /// True while the server is taken to be down.
    pub fn down(&self) -> bool {
        self.failures >= DOWN_AFTER
    }

    /// An answer of any kind came (2xx, 4xx, 429): the server is up. Returns how long it was
    /// down when this answer ends an outage.
    pub fn answered(&mut self, now: Instant) -> Option<Duration> {
        let ended = self
            .down()
            .then(|| now.saturating_duration_since(self.since.unwrap_or(now)));
        *self = Health::default();
        ended
    }

    /// A transient failure at `now`. The outage waits grow as the policy's backoff ceilings do;
    /// the last pause ends exactly `limit` after the first failure, and a failure past it is
    /// `Over`.
    pub fn failed(&mut self, now: Instant, policy: &RetryPolicy, limit: Duration) -> Verdict {
        let since = *self.since.get_or_insert(now);
        self.failures += 1;
        self.probing = false;
        if !self.down() {
            return Verdict::Again;
        }
        let deadline = since + limit;
        if now >= deadline {
            return Verdict::Over {
                waited: now - since,
            };
        }
        let first = self.failures == DOWN_AFTER;
        if let Some(u) = self.until
            && u > now
        {
            // An answer to a request sent before the pause began: it joins that pause.
            return Verdict::Down { until: u, first };
        }
        let until = (now + policy.ceiling(self.pauses)).min(deadline);
        self.pauses += 1;
        self.until = Some(until);
        Verdict::Down { until, first }
    }

    /// Whether a request may leave at `now`; taking the gate while down makes that request the
    /// probe.
    pub fn gate(&mut self, now: Instant) -> Gate {
        if !self.down() {
            return Gate::Open;
        }
        if let Some(u) = self.until
            && u > now
        {
            return Gate::Until(u);
        }
        if self.probing {
            return Gate::Probe;
        }
        self.probing = true;
        Gate::Open
    }
}

/// A length of time as people type it: `15m`, `90s`, `1h`, `500ms`, or bare seconds (`30`).
pub fn parse_wait(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let bad =
        || format!("invalid wait '{s}': expected a number with ms, s, m or h (e.g. 15m, 90s)");
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let ms = match unit.trim() {
        "ms" => 1,
        "" | "s" | "sec" => 1000,
        "m" | "min" => 60_000,
        "h" | "hr" | "hour" => 3_600_000,
        _ => return Err(bad()),
    };
    n.checked_mul(ms)
        .filter(|ms| *ms <= 7 * 24 * 3_600_000)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("invalid wait '{s}': at most a week"))
}

/// Whether a recorded error is a transient failure (a 5xx, or the network), as runs before
/// outages were waited out recorded one on a `failed` row: "Kayse answered 503: ... (after 6
/// attempts)". Such a row was never refused by Kayse, so `--resume` sends it again.
pub fn transient_failure(error: &str) -> bool {
    let e = error.strip_prefix("not sent: ").unwrap_or(error);
    let transient = [
        "Kayse answered 5",
        "cannot connect to Kayse",
        "no answer in time",
    ]
    .iter()
    .any(|p| e.starts_with(p));
    transient && e.ends_with(" attempts)")
}

/// HTTP statuses worth another try: the server or a proxy failed, not the request.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_then_cap() {
        let p = RetryPolicy::default();
        let want = [1, 2, 4, 8, 16, 32, 60, 60];
        for (n, secs) in want.iter().enumerate() {
            assert_eq!(
                p.ceiling(n as u32),
                Duration::from_secs(*secs),
                "attempt {n}"
            );
        }
        assert_eq!(p.ceiling(200), Duration::from_secs(60));
    }

    #[test]
    fn jitter_spans_zero_to_ceiling() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(3, 0.0), Duration::ZERO);
        assert_eq!(p.delay(3, 0.5), Duration::from_secs(4));
        assert_eq!(p.delay(3, 7.0), Duration::from_secs(8));
    }

    #[test]
    fn waits_as_people_type_them() {
        let table: &[(&str, Option<u64>)] = &[
            ("15m", Some(900_000)),
            ("90s", Some(90_000)),
            ("30", Some(30_000)),
            ("1h", Some(3_600_000)),
            ("250ms", Some(250)),
            (" 2 min", Some(120_000)),
            ("0s", Some(0)),
            ("m", None),
            ("-1s", None),
            ("1.5h", None),
            ("5d", None),
            ("9999h", None),
        ];
        for (text, want) in table {
            let got = parse_wait(text).ok().map(|d| d.as_millis() as u64);
            assert_eq!(got, *want, "{text}");
        }
    }

    #[test]
    fn transient_failures_of_earlier_runs() {
        let table = [
            ("Kayse answered 503: maintenance (after 6 attempts)", true),
            (
                "not sent: Kayse answered 500: boom (after 6 attempts)",
                true,
            ),
            ("cannot connect to Kayse (after 6 attempts)", true),
            ("no answer in time (timeout) (after 6 attempts)", true),
            ("Kayse answered 400: status is required", false),
            ("case_number X already exists", false),
            ("Kayse answered 404: not found (after 6 attempts)", false),
            (
                "Kayse kept answering 429 too many requests (after 50 attempts)",
                false,
            ),
            ("Kayse answered 503: maintenance", false),
        ];
        for (error, want) in table {
            assert_eq!(transient_failure(error), want, "{error}");
        }
    }

    #[test]
    fn attempts_and_statuses() {
        let p = RetryPolicy::default();
        assert!(p.may_retry(5));
        assert!(!p.may_retry(6));
        for (s, want) in [
            (500, true),
            (502, true),
            (503, true),
            (504, true),
            (501, false),
            (429, false),
            (400, false),
        ] {
            assert_eq!(retryable_status(s), want, "{s}");
        }
    }
}

#[cfg(test)]
mod health_tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    /// A run of events against one `Health`, each at a second offset from t0, with what each
    /// must give: the failures' verdicts, the answers' outage lengths, the gates.
    #[derive(Debug, Clone, Copy)]
    enum Step {
        Fail(u64, Want),
        Answer(u64, Option<u64>),
        Gate(u64, G),
    }
    #[derive(Debug, Clone, Copy)]
    enum Want {
        Again,
        /// Down until t0 + secs; first?
        Down(u64, bool),
        Over(u64),
    }
    #[derive(Debug, Clone, Copy)]
    enum G {
        Open,
        Until(u64),
        Probe,
    }

    fn run(steps: &[Step]) {
        let policy = RetryPolicy::default(); // ceilings 1, 2, 4, 8, ... 60 s
        let limit = Duration::from_secs(20);
        let t0 = Instant::now();
        let at = |secs: u64| t0 + S * secs as u32;
        let mut h = Health::default();
        for (i, step) in steps.iter().enumerate() {
            match *step {
                Step::Fail(t, want) => {
                    let got = h.failed(at(t), &policy, limit);
                    let want = match want {
                        Want::Again => Verdict::Again,
                        Want::Down(u, first) => Verdict::Down {
                            until: at(u),
                            first,
                        },
                        Want::Over(w) => Verdict::Over {
                            waited: S * w as u32,
                        },
                    };
                    assert_eq!(got, want, "step {i}: {step:?}");
                }
                Step::Answer(t, want) => {
                    let got = h.answered(at(t));
                    assert_eq!(got, want.map(|w| S * w as u32), "step {i}: {step:?}");
                }
                Step::Gate(t, want) => {
                    let want = match want {
                        G::Open => Gate::Open,
                        G::Until(u) => Gate::Until(at(u)),
                        G::Probe => Gate::Probe,
                    };
                    assert_eq!(h.gate(at(t)), want, "step {i}: {step:?}");
                }
            }
        }
    }

    #[test]
    fn a_lone_failure_or_two_is_not_an_outage() {
        use Step::*;
        run(&[
            Fail(0, Want::Again),
            Fail(0, Want::Again),
            Gate(0, G::Open),
            Answer(1, None),
            Fail(2, Want::Again),
            Fail(2, Want::Again),
            Gate(2, G::Open),
            Gate(2, G::Open),
        ]);
    }

    #[test]
    fn three_in_a_row_pause_everyone_then_one_probe_goes() {
        use Step::*;
        run(&[
            Fail(0, Want::Again),
            Fail(0, Want::Again),
            Fail(1, Want::Down(2, true)),
            // an answer to a request sent before the pause joins it
            Fail(1, Want::Down(2, false)),
            Gate(1, G::Until(2)),
            Gate(2, G::Open),
            Gate(2, G::Probe),
            Gate(2, G::Probe),
            // the probe fails: the next pause is longer (2 s), then another probe
            Fail(3, Want::Down(5, false)),
            Gate(4, G::Until(5)),
            Gate(5, G::Open),
            Gate(5, G::Probe),
            // it is answered: the outage (since t0) is over, everyone goes
            Answer(6, Some(6)),
            Gate(6, G::Open),
            Gate(6, G::Open),
        ]);
    }

    #[test]
    fn the_last_pause_ends_at_the_limit_and_a_failure_past_it_is_over() {
        use Step::*;
        run(&[
            Fail(0, Want::Again),
            Fail(0, Want::Again),
            Fail(0, Want::Down(1, true)),
            Fail(1, Want::Down(3, false)),
            Fail(3, Want::Down(7, false)),
            Fail(7, Want::Down(15, false)),
            // 15 + 16 would pass the 20 s limit: the last pause ends at it
            Fail(15, Want::Down(20, false)),
            Gate(20, G::Open),
            Fail(20, Want::Over(20)),
        ]);
    }

    #[test]
    fn a_new_run_of_failures_starts_from_the_first_wait() {
        use Step::*;
        run(&[
            Fail(0, Want::Again),
            Fail(0, Want::Again),
            Fail(0, Want::Down(1, true)),
            Fail(1, Want::Down(3, false)),
            Answer(3, Some(3)),
            Fail(10, Want::Again),
            Fail(10, Want::Again),
            Fail(10, Want::Down(11, true)),
        ]);
    }
}
