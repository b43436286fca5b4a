//! The retry policy: which failures are retried and how long to back off. Pure values, no clock
//! and no randomness of its own (the jitter draw is passed in), so it is tested exhaustively.

use std::time::Duration;

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
