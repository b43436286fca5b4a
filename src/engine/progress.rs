//! The progress report of a networked run on stderr: an indicatif bar on a terminal, a log line
//! every 10 s otherwise, nothing with `--quiet`. Owned by the run's collector; it only displays
//! what it is given.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::time::Instant;

use crate::send::PacerView;
use crate::send::rate::RateSpec;

const LOG_EVERY: Duration = Duration::from_secs(10);

/// Counts the collector keeps as rows settle: rows done, and per-outcome counts to show
/// (e.g. `[("created", 10), ("failed", 1)]`; zero counts after the first three are hidden).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub done: u64,
    pub counts: Vec<(&'static str, u64)>,
}

pub struct Progress {
    label: &'static str,
    bar: Option<ProgressBar>,
    log: bool,
    last_log: Instant,
    started: Instant,
    total: u64,
    rate: RateSpec,
    batch: u64,
}

impl Progress {
    /// `batch` is rows per request, for the ETA at the rate limit.
    pub fn new(
        label: &'static str,
        total: u64,
        quiet: bool,
        rate: RateSpec,
        batch: u64,
    ) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = (!quiet && tty).then(|| {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} rows · {msg}")
            {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        Progress {
            label,
            bar,
            log: !quiet && !tty,
            last_log: Instant::now(),
            started: Instant::now(),
            total,
            rate,
            batch: batch.max(1),
        }
    }

    /// The ETA: the larger of the pace so far and what the rate limit allows for the rest,
    /// plus any wait in progress.
    fn eta(&self, t: &Tally, v: &PacerView) -> Duration {
        let left_rows = self.total.saturating_sub(t.done);
        if left_rows == 0 {
            return Duration::ZERO;
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        let pace = if t.done > 0 {
            elapsed / t.done as f64 * left_rows as f64
        } else {
            0.0
        };
        let reqs = left_rows.div_ceil(self.batch);
        let wait = v
            .waiting_until
            .map(|u| u.saturating_duration_since(Instant::now()).as_secs_f64())
            .unwrap_or(0.0);
        Duration::from_secs_f64(pace.max(self.rate.minimum_secs(reqs) + wait))
    }

    fn text(&self, t: &Tally, v: &PacerView) -> String {
        let mut s = t
            .counts
            .iter()
            .enumerate()
            .filter(|(i, (_, n))| *i < 3 || *n > 0)
            .map(|(_, (k, n))| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(" · ");
        s.push_str(&format!(" · {} requests", v.used));
        if let Some(b) = v.budget_left {
            s.push_str(&format!(" · budget left {b}"));
        }
        if let Some(until) = v.waiting_until {
            let secs = until.saturating_duration_since(Instant::now()).as_secs();
            if v.down {
                s.push_str(&format!(" · Kayse is down: next try in {secs} s"));
            } else {
                s.push_str(&format!(" · waiting {secs} s for the rate window"));
            }
        } else if v.down {
            s.push_str(" · Kayse is down: trying one request");
        }
        let eta = self.eta(t, v).as_secs_f64();
        if eta > 0.0 {
            s.push_str(&format!(
                " · about {} left",
                crate::plan::human_duration(eta)
            ));
        }
        s
    }

    pub fn update(&mut self, t: &Tally, v: &PacerView) {
        if let Some(b) = &self.bar {
            b.set_position(t.done);
            b.set_message(self.text(t, v));
        } else if self.log && self.last_log.elapsed() >= LOG_EVERY {
            self.last_log = Instant::now();
            eprintln!(
                "{}: {}/{} rows · {}",
                self.label,
                t.done,
                self.total,
                self.text(t, v)
            );
        }
    }

    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// A line for people that `--quiet` silences (an outage, a long wait), above the bar.
    pub fn note(&self, line: &str) {
        if self.bar.is_some() || self.log {
            self.println(line);
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
