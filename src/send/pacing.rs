//! Pacing: one limiter shared by every worker of a run. It spends a fixed-window budget from
//! `--rate-limit`, obeys the server's `X-RateLimit-*` headers and 429 pauses, holds every worker
//! while the server is down (an outage: one probe at a time, growing waits), and counts the
//! `--budget` cap. It never touches the network; time is tokio's clock, so tests pause it.
//!
//! It is our own, not `governor`: Kayse counts requests in a fixed window and says in every
//! answer how many are left and when the window resets, and those headers must win over any
//! count of ours. governor's GCRA spreads requests evenly over a sliding interval and has no way
//! to take a "8 left, reset at 14:00" from the server, so it would either overrun the server's
//! window or waste it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::send::rate::RateSpec;
use crate::send::retry::{Gate, Health, RetryPolicy, Verdict};

/// A wait longer than this prints a line with its end time, on a terminal or not.
pub const LONG_WAIT: Duration = Duration::from_secs(60);
/// How long the run waits out an outage by default (`--outage-wait`).
pub const DEFAULT_OUTAGE_WAIT: Duration = Duration::from_secs(15 * 60);

/// Below this, a Reset header is read as seconds from now; above, as epoch seconds.
const EPOCH_THRESHOLD: u64 = 1_000_000_000;
/// The shortest pause after a 429 whose headers promise an earlier reset (guards a busy loop when
/// the server rounds its reset down).
const MIN_429_PAUSE: Duration = Duration::from_millis(250);
/// Added to every wait for a server's Reset: clocks and float conversions can wake us a hair
/// early, and a request that lands a microsecond before the window turns is a 429.
pub const RESET_MARGIN: Duration = Duration::from_millis(30);

/// Why a request may not leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Halt {
    /// `--budget` is spent.
    Budget,
    /// The run is stopping (Ctrl-C, a rejected key): take nothing new.
    Stopped,
}

/// A cooperative stop signal shared by every task of a run.
#[derive(Debug, Default)]
pub struct StopSignal {
    stopped: AtomicBool,
    notify: Notify,
}

impl StopSignal {
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Resolves once `stop` has been called.
    pub async fn stopped(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }
}

/// What the server said about its window in one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateHeaders {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// The raw Reset value: epoch seconds, or seconds from now when small.
    pub reset: Option<u64>,
    /// `Retry-After` in seconds, if given.
    pub retry_after: Option<u64>,
}

impl RateHeaders {
    /// Read the headers of an answer; unparsable values count as absent.
    pub fn from_map(h: &reqwest::header::HeaderMap) -> RateHeaders {
        let num = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(|v| v.ceil() as u64)
        };
        RateHeaders {
            limit: num("x-ratelimit-limit"),
            remaining: num("x-ratelimit-remaining"),
            reset: num("x-ratelimit-reset"),
            retry_after: num("retry-after"),
        }
    }
}

/// How long until a Reset value, given the wall clock in epoch seconds (pure).
pub fn reset_delay(reset: u64, now_epoch: f64) -> Duration {
    if reset < EPOCH_THRESHOLD {
        return Duration::from_secs(reset);
    }
    let secs = reset as f64 - now_epoch;
    if secs > 0.0 {
        Duration::from_secs_f64(secs)
    } else {
        Duration::ZERO
    }
}

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// What the server last told us about its window: `remaining` as of the answer to request
/// `seq` (the freshest, i.e. lowest, count seen in this window). Every request we sent after
/// `seq` is assumed not yet counted in it, so our own traffic never overruns the window.
#[derive(Debug, Clone, Copy)]
struct ServerWindow {
    remaining: u64,
    seq: u64,
    reset: Instant,
}

impl ServerWindow {
    fn left(&self, last_seq: u64) -> u64 {
        self.remaining
            .saturating_sub(last_seq.saturating_sub(self.seq))
    }
}

/// A request's place in the order requests left; answers report back with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

#[derive(Debug)]
struct State {
    local_start: Option<Instant>,
    local_count: u32,
    server: Option<ServerWindow>,
    paused_until: Option<Instant>,
    budget_left: Option<u64>,
    used: u64,
    waited: Duration,
    waiting_until: Option<Instant>,
    last_remaining: Option<u64>,
    /// The number of the last request that took a slot.
    seq: u64,
    health: Health,
    /// The end of the last long wait announced, so each is announced once, not per worker.
    announced: Option<Instant>,
    /// Lines for people, printed by the run's collector (it owns the progress display).
    notices: Vec<String>,
    /// Whether an answer has told us about the server's window yet.
    heard: bool,
    /// The server's window as its first answer told it, when that is not what the plan assumed.
    news: Option<WindowNews>,
}

/// The server's window, as its first answer tells it, when the plan assumed otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowNews {
    /// What the plan assumed was left: a full window of `--rate-limit`.
    pub assumed: u64,
    /// What the server says is left now.
    pub remaining: u64,
    /// The rate to plan with from now on: ours, or the server's lower limit.
    pub rate: RateSpec,
}

/// Why a request may not leave yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocked {
    Budget,
    /// Wait until then, for this reason.
    Until(Instant, &'static str),
    /// An outage probe is out: wait for its fate.
    Probe,
}

/// A snapshot for the progress display and the summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacerView {
    pub used: u64,
    pub budget_left: Option<u64>,
    /// Total time workers spent waiting for a window (counted once per wait, not per worker).
    pub waited: Duration,
    /// When the current wait ends, if one is in progress.
    pub waiting_until: Option<Instant>,
    /// What the server last said was left in its window.
    pub server_remaining: Option<u64>,
    /// True while Kayse is taken to be down (an outage is being waited out).
    pub down: bool,
}

/// The shared limiter. Every request of a run calls `acquire` before it leaves and `observe` with
/// the answer's headers.
#[derive(Debug)]
pub struct Pacer {
    spec: RateSpec,
    state: Mutex<State>,
    stop: std::sync::Arc<StopSignal>,
    /// Woken when an answer may have opened room, so waiters recheck before their deadline.
    changed: Notify,
    /// Outage waits grow by this policy's ceilings, for at most `outage_limit` in all.
    policy: RetryPolicy,
    outage_limit: Duration,
}

impl Pacer {
    pub fn new(spec: RateSpec, budget: Option<u64>, stop: std::sync::Arc<StopSignal>) -> Pacer {
        Pacer {
            spec,
            stop,
            state: Mutex::new(State {
                local_start: None,
                local_count: 0,
                server: None,
                paused_until: None,
                budget_left: budget,
                used: 0,
                waited: Duration::ZERO,
                waiting_until: None,
                last_remaining: None,
                seq: 0,
                health: Health::default(),
                announced: None,
                notices: Vec::new(),
                heard: false,
                news: None,
            }),
            changed: Notify::new(),
            policy: RetryPolicy::default(),
            outage_limit: DEFAULT_OUTAGE_WAIT,
        }
    }

    /// How outages are waited out: growing by `policy`, for at most `limit`.
    pub fn with_outage(mut self, policy: RetryPolicy, limit: Duration) -> Pacer {
        self.policy = policy;
        self.outage_limit = limit;
        self
    }

    /// Lines for people since the last call (outages, long waits), oldest first.
    pub fn notices(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().notices)
    }

    /// The server's window as its first answer told it, once, when it is not what the plan
    /// assumed (e.g. 8 requests left, not 500): the collector prints the corrected plan.
    pub fn window_news(&self) -> Option<WindowNews> {
        self.lock().news.take()
    }

    /// Queue a line for people.
    pub fn notice(&self, line: String) {
        self.lock().notices.push(line);
    }

    /// The server answered (any status but 5xx): it is up. Ends an outage if one was running.
    pub fn answered(&self) {
        let mut s = self.lock();
        let Some(d) = s.health.answered(Instant::now()) else {
            return;
        };
        s.notices.push(format!(
            "Kayse answers again after {} down; carrying on",
            crate::plan::human_duration(d.as_secs_f64())
        ));
        drop(s);
        self.changed.notify_waiters();
    }

    /// A transient failure (5xx, or the network): what the call that met it should do.
    pub fn failed(&self, last: &str) -> Verdict {
        let mut s = self.lock();
        let v = s
            .health
            .failed(Instant::now(), &self.policy, self.outage_limit);
        if let Verdict::Down { first: true, .. } = v {
            s.notices.push(format!(
                "Kayse is not answering ({last}): every request waits and is retried with growing waits for up to {} (--outage-wait); past that the run stops, ready to --resume",
                crate::plan::human_duration(self.outage_limit.as_secs_f64())
            ));
        }
        drop(s);
        self.changed.notify_waiters();
        v
    }

    pub fn spec(&self) -> RateSpec {
        self.spec
    }

    pub fn stop_signal(&self) -> &StopSignal {
        &self.stop
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn view(&self) -> PacerView {
        let s = self.lock();
        PacerView {
            used: s.used,
            budget_left: s.budget_left,
            waited: s.waited,
            waiting_until: s.waiting_until.filter(|t| *t > Instant::now()),
            server_remaining: s.last_remaining,
            down: s.health.down(),
        }
    }

    /// The budget left, if `--budget` was given.
    pub fn budget_left(&self) -> Option<u64> {
        self.lock().budget_left
    }

    /// Decide, at `now`, whether a request may leave: a ticket takes a slot, else why not yet.
    /// Pure apart from the state it updates.
    fn try_take(&self, s: &mut State, now: Instant) -> Result<Ticket, Blocked> {
        if s.budget_left == Some(0) {
            return Err(Blocked::Budget);
        }
        if let Some(start) = s.local_start
            && start + self.spec.window <= now
        {
            s.local_start = None;
            s.local_count = 0;
        }
        if let Some(w) = s.server
            && w.reset <= now
        {
            // The server's window rolled over: ours follows it, so both stay in phase.
            s.server = None;
            s.local_start = None;
            s.local_count = 0;
        }
        if let Some(p) = s.paused_until
            && p <= now
        {
            s.paused_until = None;
        }
        let mut until: Option<(Instant, &'static str)> = s
            .paused_until
            .map(|p| (p, "Kayse answered 429 too many requests"));
        let mut later = |t: Instant, why: &'static str| {
            if until.is_none_or(|(u, _)| t > u) {
                until = Some((t, why));
            }
        };
        if let Some(w) = s.server
            && w.left(s.seq) == 0
        {
            later(w.reset, "Kayse's rate window is used up");
        }
        if s.local_count >= self.spec.requests
            && let Some(start) = s.local_start
        {
            later(
                start + self.spec.window,
                "--rate-limit is used up for this window",
            );
        }
        if let Some((t, why)) = until {
            return Err(Blocked::Until(t, why));
        }
        match s.health.gate(now) {
            Gate::Open => {}
            Gate::Until(t) => return Err(Blocked::Until(t, "Kayse is down")),
            Gate::Probe => return Err(Blocked::Probe),
        }
        s.local_start.get_or_insert(now);
        s.local_count += 1;
        if let Some(b) = s.budget_left.as_mut() {
            *b -= 1;
        }
        s.used += 1;
        s.seq += 1;
        Ok(Ticket(s.seq))
    }

    /// Wait until a request may leave, then count it. Fails when the budget is spent or the run
    /// is stopping.
    pub async fn acquire(&self) -> Result<Ticket, Halt> {
        loop {
            if self.stop.is_stopped() {
                return Err(Halt::Stopped);
            }
            // Registered before the state is read, so a change in between is not missed.
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let now = Instant::now();
            let wait = {
                let mut s = self.lock();
                match self.try_take(&mut s, now) {
                    Ok(t) => return Ok(t),
                    Err(Blocked::Budget) => return Err(Halt::Budget),
                    // No deadline of its own: the probe's fate wakes us; the cap is a safety net.
                    Err(Blocked::Probe) => now + self.policy.cap,
                    Err(Blocked::Until(t, why)) => {
                        // Count the wait once, however many workers share it.
                        let prev = s.waiting_until.filter(|u| *u > now);
                        let from = prev.unwrap_or(now);
                        if t > from {
                            s.waited += t - from;
                        }
                        s.waiting_until = Some(prev.map_or(t, |u| u.max(t)));
                        if t - now > LONG_WAIT
                            && s.announced.is_none_or(|a| t > a + Duration::from_secs(1))
                        {
                            s.announced = Some(t);
                            s.notices.push(long_wait_line(t - now, why));
                        }
                        t
                    }
                }
            };
            tokio::select! {
                _ = tokio::time::sleep_until(wait) => {}
                _ = &mut changed => {}
                _ = self.stop.stopped() => return Err(Halt::Stopped),
            }
        }
    }

    /// Learn from an answer's rate-limit headers. The server always wins over our own count.
    pub fn observe(&self, t: Ticket, h: &RateHeaders) {
        self.observe_at(t, h, Instant::now(), now_epoch());
    }

    fn observe_at(&self, t: Ticket, h: &RateHeaders, now: Instant, epoch: f64) {
        let mut s = self.lock();
        if let Some(r) = h.remaining {
            s.last_remaining = Some(r);
            if !s.heard {
                s.heard = true;
                s.news = self.news(t, r, h.limit);
            }
        }
        let (Some(remaining), Some(reset)) = (h.remaining, h.reset) else {
            return;
        };
        let at = now + reset_delay(reset, epoch) + RESET_MARGIN;
        if at <= now {
            return; // an answer from a window that has already ended
        }
        if let Some(w) = s.server
            && at + Duration::from_secs(1) < w.reset
        {
            return; // a late answer from an earlier window
        }
        let fresh = ServerWindow {
            remaining,
            seq: t.0,
            reset: at,
        };
        s.server = Some(match s.server {
            // The same window (the reset moves by rounding only): the lowest count is the
            // freshest, whatever order the answers arrived in.
            Some(w) if at <= w.reset + Duration::from_secs(1) => {
                let reset = w.reset.max(at);
                if remaining < w.remaining || (remaining == w.remaining && t.0 < w.seq) {
                    ServerWindow { reset, ..fresh }
                } else {
                    ServerWindow { reset, ..w }
                }
            }
            _ => fresh,
        });
        drop(s);
        self.changed.notify_waiters();
    }

    /// Whether the first answer's window differs from the plan's assumption: fewer left than a
    /// full window of ours (counting our own requests before it), or a lower limit.
    fn news(&self, t: Ticket, remaining: u64, limit: Option<u64>) -> Option<WindowNews> {
        let ours = u64::from(self.spec.requests);
        let limit = limit.filter(|l| *l > 0 && *l < ours);
        let at_start = remaining.saturating_add(t.0);
        if at_start >= ours && limit.is_none() {
            return None;
        }
        let rate = RateSpec {
            requests: limit.map_or(self.spec.requests, |l| l as u32),
            window: self.spec.window,
        };
        Some(WindowNews {
            assumed: ours,
            remaining,
            rate,
        })
    }

    /// A 429: every worker waits until the reset (or Retry-After) before anything leaves again.
    pub fn rate_limited(&self, h: &RateHeaders) {
        self.rate_limited_at(h, Instant::now(), now_epoch());
    }

    fn rate_limited_at(&self, h: &RateHeaders, now: Instant, epoch: f64) {
        let delay = match (h.retry_after, h.reset) {
            (Some(secs), _) => Duration::from_secs(secs),
            (None, Some(reset)) => reset_delay(reset, epoch) + RESET_MARGIN,
            // Nothing said: wait out a whole window of our own spec, the safe reading.
            (None, None) => self.spec.window,
        }
        .max(MIN_429_PAUSE);
        let until = now + delay;
        let mut s = self.lock();
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
        s.server = Some(ServerWindow {
            remaining: 0,
            seq: s.seq,
            reset: until,
        });
        // The rejected request did not count against the budget of this run.
        s.used = s.used.saturating_sub(1);
        if let Some(b) = s.budget_left.as_mut() {
            *b += 1;
        }
    }
}

/// "waiting 58 min, until 14:03:05: Kayse's rate window is used up": one duration, and the end
/// as a local clock time, so a log read later says when the run went on.
fn long_wait_line(wait: Duration, why: &str) -> String {
    let end = chrono::Local::now()
        + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::zero());
    format!(
        "waiting {}, until {}: {why}",
        crate::plan::human_duration(wait.as_secs_f64()),
        end.format("%H:%M:%S")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn pacer(spec: &str, budget: Option<u64>) -> Pacer {
        Pacer::new(
            spec.parse().unwrap(),
            budget,
            Arc::new(StopSignal::default()),
        )
    }

    #[test]
    fn reset_readings() {
        let cases: &[(u64, f64, u64)] = &[
            (30, 1_700_000_000.0, 30_000),
            (0, 1_700_000_000.0, 0),
            (1_700_000_010, 1_700_000_000.0, 10_000),
            (1_700_000_000, 1_700_000_005.0, 0),
        ];
        for (reset, now, ms) in cases {
            assert_eq!(reset_delay(*reset, *now).as_millis() as u64, *ms, "{reset}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bursts_a_window_then_waits_for_the_next() {
        let p = pacer("3/10s", None);
        let t0 = Instant::now();
        for _ in 0..3 {
            p.acquire().await.unwrap();
        }
        assert_eq!(Instant::now(), t0, "a window's budget goes out as a burst");
        p.acquire().await.unwrap();
        assert_eq!(Instant::now() - t0, Duration::from_secs(10));
        assert_eq!(p.view().used, 4);
        assert_eq!(p.view().waited, Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn server_zero_remaining_waits_for_reset() {
        let p = pacer("100/h", None);
        let t0 = Instant::now();
        let t = p.acquire().await.unwrap();
        p.observe_at(
            t,
            &RateHeaders {
                remaining: Some(0),
                reset: Some(7),
                ..Default::default()
            },
            t0,
            0.0,
        );
        p.acquire().await.unwrap();
        assert_eq!(Instant::now() - t0, Duration::from_secs(7) + RESET_MARGIN);
    }

    #[tokio::test(start_paused = true)]
    async fn server_remaining_counts_down_with_our_requests() {
        let p = pacer("100/h", None);
        let t0 = Instant::now();
        p.observe_at(
            Ticket(0),
            &RateHeaders {
                remaining: Some(2),
                reset: Some(1_000_000_005),
                ..Default::default()
            },
            t0,
            1_000_000_000.0,
        );
        p.acquire().await.unwrap();
        p.acquire().await.unwrap();
        assert_eq!(Instant::now(), t0);
        p.acquire().await.unwrap();
        assert_eq!(Instant::now() - t0, Duration::from_secs(5) + RESET_MARGIN);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_everyone_and_gives_the_slot_back() {
        let p = Arc::new(pacer("100/h", Some(5)));
        let t0 = Instant::now();
        p.acquire().await.unwrap();
        p.rate_limited_at(
            &RateHeaders {
                retry_after: Some(3),
                ..Default::default()
            },
            t0,
            0.0,
        );
        assert_eq!(p.budget_left(), Some(5));
        let a = tokio::spawn({
            let p = p.clone();
            async move { p.acquire().await }
        });
        let b = tokio::spawn({
            let p = p.clone();
            async move { p.acquire().await }
        });
        assert!(a.await.unwrap().is_ok() && b.await.unwrap().is_ok());
        assert_eq!(Instant::now() - t0, Duration::from_secs(3));
        assert_eq!(p.view().waited, Duration::from_secs(3), "one wait, not two");
    }

    #[tokio::test(start_paused = true)]
    async fn budget_stops_cleanly() {
        let p = pacer("100/h", Some(2));
        assert!(p.acquire().await.is_ok());
        assert!(p.acquire().await.is_ok());
        assert_eq!(p.acquire().await, Err(Halt::Budget));
    }

    #[tokio::test(start_paused = true)]
    async fn stop_interrupts_a_wait() {
        let p = Arc::new(pacer("1/h", None));
        p.acquire().await.unwrap();
        let w = tokio::spawn({
            let p = p.clone();
            async move { p.acquire().await }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        p.stop_signal().stop();
        assert_eq!(w.await.unwrap(), Err(Halt::Stopped));
    }

    #[tokio::test(start_paused = true)]
    async fn answers_out_of_order_never_overrun_the_window() {
        let p = pacer("100/h", None);
        let t0 = Instant::now();
        let mut tickets = Vec::new();
        for _ in 0..3 {
            tickets.push(p.acquire().await.unwrap());
        }
        let h = |remaining| RateHeaders {
            remaining: Some(remaining),
            reset: Some(9),
            ..Default::default()
        };
        // The third request's answer comes first: 5 left after it.
        p.observe_at(tickets[2], &h(5), t0, 0.0);
        // The first request's answer, older news, arrives late: it must not raise the count.
        p.observe_at(tickets[0], &h(7), t0, 0.0);
        for _ in 0..5 {
            p.acquire().await.unwrap();
        }
        assert_eq!(Instant::now(), t0);
        p.acquire().await.unwrap();
        assert_eq!(Instant::now() - t0, Duration::from_secs(9) + RESET_MARGIN);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_sent_after_an_answer_are_not_trusted_to_be_counted() {
        let p = pacer("100/h", None);
        let t0 = Instant::now();
        let first = p.acquire().await.unwrap();
        p.acquire().await.unwrap();
        p.acquire().await.unwrap();
        // The first answer says 5 left; two requests left after it.
        p.observe_at(
            first,
            &RateHeaders {
                remaining: Some(5),
                reset: Some(9),
                ..Default::default()
            },
            t0,
            0.0,
        );
        for _ in 0..3 {
            p.acquire().await.unwrap();
        }
        assert_eq!(Instant::now(), t0);
        p.acquire().await.unwrap();
        assert_eq!(Instant::now() - t0, Duration::from_secs(9) + RESET_MARGIN);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_answer_from_an_old_window_is_ignored() {
        let p = pacer("100/h", None);
        let t0 = Instant::now();
        let h = |remaining, reset| RateHeaders {
            remaining: Some(remaining),
            reset: Some(reset),
            ..Default::default()
        };
        p.observe_at(Ticket(1), &h(50, 20), t0, 0.0);
        p.observe_at(Ticket(2), &h(0, 5), t0, 0.0);
        p.acquire().await.unwrap();
        assert_eq!(Instant::now(), t0);
    }

    /// Three failures in a row: every worker waits out the pause, then one probe goes and the
    /// others wait for its fate; its answer lets everyone go. On tokio's paused clock.
    #[tokio::test(start_paused = true)]
    async fn an_outage_holds_every_worker_and_sends_one_probe() {
        let p = Arc::new(
            pacer("100/h", None).with_outage(RetryPolicy::default(), Duration::from_secs(600)),
        );
        let t0 = Instant::now();
        for _ in 0..3 {
            p.acquire().await.unwrap();
        }
        assert_eq!(p.failed("Kayse answered 503: x"), Verdict::Again);
        assert_eq!(p.failed("Kayse answered 503: x"), Verdict::Again);
        let until = t0 + Duration::from_secs(1);
        assert_eq!(
            p.failed("Kayse answered 503: x"),
            Verdict::Down { until, first: true }
        );
        let spawn = || {
            let p = p.clone();
            tokio::spawn(async move {
                p.acquire().await.unwrap();
                Instant::now()
            })
        };
        let (a, b) = (spawn(), spawn());
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(a.is_finished() != b.is_finished(), "one probe, one waiting");
        p.answered();
        let (ta, tb) = (a.await.unwrap(), b.await.unwrap());
        assert_eq!(ta.min(tb), until, "the probe left when the pause ended");
        assert_eq!(
            ta.max(tb),
            t0 + Duration::from_secs(5),
            "the other, on the answer"
        );
        let notes = p.notices();
        assert!(notes[0].starts_with("Kayse is not answering (Kayse answered 503: x)"));
        assert!(notes[0].contains("10 min (--outage-wait)"), "{notes:?}");
        assert_eq!(notes[1], "Kayse answers again after 5 s down; carrying on");
        assert_eq!(p.view().used, 5);
    }

    /// The first answer that tells a window other than the plan's is news, once.
    #[test]
    fn the_first_answer_corrects_the_assumed_window_once() {
        let h = |remaining, limit| RateHeaders {
            remaining: Some(remaining),
            limit,
            reset: Some(30),
            ..Default::default()
        };
        // (our rate, the ticket answered, its headers, the news: remaining, rate to plan with)
        type Row = (&'static str, u64, RateHeaders, Option<(u64, u32)>);
        let table: &[Row] = &[
            ("500/h", 1, h(499, Some(500)), None),
            ("500/h", 3, h(497, None), None),
            ("500/h", 1, h(8, Some(500)), Some((8, 500))),
            ("500/h", 1, h(99, Some(100)), Some((99, 100))),
            ("100/h", 1, h(99, Some(500)), None),
        ];
        for (spec, ticket, headers, want) in table {
            let p = pacer(spec, None);
            p.observe_at(Ticket(*ticket), headers, Instant::now(), 0.0);
            let got = p.window_news().map(|n| (n.remaining, n.rate.requests));
            assert_eq!(got, *want, "{spec} {headers:?}");
            p.observe_at(Ticket(*ticket + 1), &h(2, None), Instant::now(), 0.0);
            assert_eq!(p.window_news(), None, "once");
        }
    }

    /// A wait over a minute is announced once, whichever worker meets it; a short one is not.
    #[tokio::test(start_paused = true)]
    async fn long_waits_are_announced_once() {
        let p = Arc::new(pacer("2/h", None));
        p.acquire().await.unwrap();
        p.acquire().await.unwrap();
        let (a, b) = (p.clone(), p.clone());
        let (ra, rb) = tokio::join!(a.acquire(), b.acquire());
        assert!(ra.is_ok() && rb.is_ok());
        let notes = p.notices();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("waiting 60 min, until "), "{notes:?}");
        assert!(notes[0].ends_with(": --rate-limit is used up for this window"));
        let short = pacer("1/30s", None);
        short.acquire().await.unwrap();
        short.acquire().await.unwrap();
        assert!(short.notices().is_empty());
    }

    #[test]
    fn a_long_wait_says_when_it_ends() {
        let line = long_wait_line(
            Duration::from_secs(58 * 60),
            "Kayse's rate window is used up",
        );
        let (head, tail) = line.split_once(", until ").unwrap();
        assert_eq!(head, "waiting 58 min");
        let (clock, why) = tail.split_once(": ").unwrap();
        assert!(
            chrono::NaiveTime::parse_from_str(clock, "%H:%M:%S").is_ok(),
            "{line}"
        );
        assert_eq!(why, "Kayse's rate window is used up");
    }
}
