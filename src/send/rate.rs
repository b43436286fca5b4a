//! Rate-limit specifications such as `500/h`, `60/10s` or `20/5s`, shared by the sandbox and the
//! client. Pure parsing, no clock.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A budget of `requests` per fixed `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateSpec {
    pub requests: u32,
    pub window: Duration,
}

impl RateSpec {
    /// Kayse's documented limit: 500 requests per hour per key.
    pub const KAYSE: RateSpec = RateSpec {
        requests: 500,
        window: Duration::from_secs(3600),
    };

    /// Seconds needed to send `n` requests from a fresh window, bursting each window in full.
    pub fn minimum_secs(&self, n: u64) -> f64 {
        if n == 0 || self.requests == 0 {
            return 0.0;
        }
        let windows = (n - 1) / u64::from(self.requests);
        windows as f64 * self.window.as_secs_f64()
    }
}

impl FromStr for RateSpec {
    type Err = String;

    /// `N/h`, `N/m`, `N/s`, or with a count of units: `N/10s`, `N/5m`, `N/2h`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "invalid rate limit '{s}': expected N/h, N/m, N/s or N/<k>s (e.g. 500/h, 60/10s)"
            )
        };
        let (n, per) = s.trim().split_once('/').ok_or_else(bad)?;
        let requests: u32 = n.trim().parse().map_err(|_| bad())?;
        if requests == 0 {
            return Err(bad());
        }
        let per = per.trim();
        let split = per.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (count, unit) = per.split_at(split);
        let count: u64 = if count.is_empty() {
            1
        } else {
            count.parse().map_err(|_| bad())?
        };
        let unit_secs = match unit {
            "s" | "sec" => 1,
            "m" | "min" => 60,
            "h" | "hr" | "hour" => 3600,
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(bad());
        }
        Ok(RateSpec {
            requests,
            window: Duration::from_secs(count * unit_secs),
        })
    }
}

impl fmt::Display for RateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.window.as_secs();
        match secs {
            3600 => write!(f, "{}/h", self.requests),
            60 => write!(f, "{}/m", self.requests),
            1 => write!(f, "{}/s", self.requests),
            s => write!(f, "{}/{}s", self.requests, s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let ok: &[(&str, u32, u64)] = &[
            ("500/h", 500, 3600),
            ("60/m", 60, 60),
            ("5/s", 5, 1),
            ("60/10s", 60, 10),
            ("20/5s", 20, 5),
            (" 100 / 2h ", 100, 7200),
        ];
        for (s, n, w) in ok {
            let r: RateSpec = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!((r.requests, r.window.as_secs()), (*n, *w), "{s}");
        }
        for bad in ["", "500", "0/h", "x/h", "5/", "5/d", "5/0s", "-1/h"] {
            assert!(bad.parse::<RateSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["500/h", "60/m", "5/s", "60/10s"] {
            assert_eq!(s.parse::<RateSpec>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn minimum_time() {
        let r: RateSpec = "60/10s".parse().unwrap();
        assert_eq!(r.minimum_secs(0), 0.0);
        assert_eq!(r.minimum_secs(60), 0.0);
        assert_eq!(r.minimum_secs(61), 10.0);
        assert_eq!(r.minimum_secs(200), 30.0);
    }
}
