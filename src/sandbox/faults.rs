//! Fault and latency specifications for the sandbox (`--faults 500:0.1,drop:0.05`,
//! `--latency 100-300`) and how a random draw maps onto them. Pure: no clock, no RNG, no I/O.

use std::fmt;
use std::str::FromStr;

/// One way the sandbox can misbehave on a `/v1` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Answer 500 without doing anything.
    Status500,
    /// Answer 503 (maintenance) without doing anything.
    Status503,
    /// Close the connection before doing anything.
    Drop,
    /// Apply the request, then close the connection without answering.
    CommitDrop,
    /// Apply the request, then answer only after `slow_ms`.
    Slow,
}

impl Fault {
    /// Every kind, in the order stats list them.
    pub const ALL: [Fault; 5] = [
        Fault::Status500,
        Fault::Status503,
        Fault::Drop,
        Fault::CommitDrop,
        Fault::Slow,
    ];

    /// The spelling used in `--faults` and in `/sandbox/stats`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Status500 => "500",
            Fault::Status503 => "503",
            Fault::Drop => "drop",
            Fault::CommitDrop => "commit-drop",
            Fault::Slow => "slow",
        }
    }

    fn from_name(s: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// Which faults to inject and how often: `kind:probability` pairs whose probabilities add up to at
/// most 1. Empty means a well-behaved server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    pub entries: Vec<(Fault, f64)>,
}

impl FaultSpec {
    /// The fault a uniform draw in `[0, 1)` selects, if any. Entries take consecutive slices of
    /// the unit interval in the order given, so the same draw always picks the same fault.
    pub fn pick(&self, draw: f64) -> Option<Fault> {
        let mut upto = 0.0;
        for &(fault, p) in &self.entries {
            upto += p;
            if draw < upto {
                return Some(fault);
            }
        }
        None
    }
}

impl FromStr for FaultSpec {
    type Err = String;

    /// `500:0.1,503:0.05,drop:0.1,commit-drop:0.1,slow:0.02`; `""` or `none` for no faults.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() || s == "none" {
            return Ok(FaultSpec::default());
        }
        let mut entries: Vec<(Fault, f64)> = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            let bad = || {
                format!(
                    "invalid fault '{part}': expected kind:probability, kind one of 500, 503, drop, commit-drop, slow (e.g. 500:0.1)"
                )
            };
            let (kind, p) = part.split_once(':').ok_or_else(bad)?;
            let fault = Fault::from_name(kind.trim()).ok_or_else(bad)?;
            let p: f64 = p.trim().parse().map_err(|_| bad())?;
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "invalid fault '{part}': probability must be between 0 and 1"
                ));
            }
            if entries.iter().any(|(f, _)| *f == fault) {
                return Err(format!("fault '{}' is given twice", fault.name()));
            }
            entries.push((fault, p));
        }
        let total: f64 = entries.iter().map(|(_, p)| p).sum();
        if total > 1.0 + 1e-9 {
            return Err(format!(
                "fault probabilities add up to {total}, more than 1"
            ));
        }
        Ok(FaultSpec { entries })
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .entries
            .iter()
            .map(|(fault, p)| format!("{}:{p}", fault.name()))
            .collect();
        write!(f, "{}", parts.join(","))
    }
}

/// Extra delay before each `/v1` request is handled: a fixed `MS` or a uniform `LO-HI` range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    pub lo_ms: u64,
    pub hi_ms: u64,
}

impl Latency {
    /// The delay a uniform draw in `[0, 1)` selects, in milliseconds.
    pub fn pick(&self, draw: f64) -> u64 {
        if self.hi_ms <= self.lo_ms {
            return self.lo_ms;
        }
        let span = self.hi_ms - self.lo_ms + 1;
        let offset = (draw.clamp(0.0, 1.0) * span as f64) as u64;
        self.lo_ms + offset.min(span - 1)
    }
}

impl FromStr for Latency {
    type Err = String;

    /// `200` or `100-300` (milliseconds).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "invalid latency '{s}': expected MS or LO-HI in milliseconds (e.g. 200 or 100-300)"
            )
        };
        let s = s.trim();
        let (lo, hi) = match s.split_once('-') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => (s, s),
        };
        let lo: u64 = lo.parse().map_err(|_| bad())?;
        let hi: u64 = hi.parse().map_err(|_| bad())?;
        if hi < lo {
            return Err(bad());
        }
        Ok(Latency {
            lo_ms: lo,
            hi_ms: hi,
        })
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo_ms == self.hi_ms {
            write!(f, "{}", self.lo_ms)
        } else {
            write!(f, "{}-{}", self.lo_ms, self.hi_ms)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fault_specs() {
        let spec: FaultSpec = "500:0.1,503:0.05,drop:0.1,commit-drop:0.1,slow:0.02"
            .parse()
            .unwrap();
        assert_eq!(spec.entries.len(), 5);
        assert_eq!(
            spec.to_string(),
            "500:0.1,503:0.05,drop:0.1,commit-drop:0.1,slow:0.02"
        );
        assert_eq!("".parse::<FaultSpec>().unwrap(), FaultSpec::default());
        assert_eq!("none".parse::<FaultSpec>().unwrap(), FaultSpec::default());
        for bad in [
            "500",
            "404:0.1",
            "500:x",
            "500:1.5",
            "500:-0.1",
            "500:0.6,503:0.6",
            "drop:0.1,drop:0.2",
        ] {
            assert!(bad.parse::<FaultSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn pick_uses_consecutive_slices() {
        let spec: FaultSpec = "500:0.25,drop:0.25".parse().unwrap();
        let cases: &[(f64, Option<Fault>)] = &[
            (0.0, Some(Fault::Status500)),
            (0.24, Some(Fault::Status500)),
            (0.25, Some(Fault::Drop)),
            (0.49, Some(Fault::Drop)),
            (0.5, None),
            (0.99, None),
        ];
        for (draw, want) in cases {
            assert_eq!(spec.pick(*draw), *want, "{draw}");
        }
        let always: FaultSpec = "slow:1".parse().unwrap();
        assert_eq!(always.pick(0.999), Some(Fault::Slow));
    }

    #[test]
    fn parses_latency() {
        let ok: &[(&str, u64, u64)] = &[("200", 200, 200), ("100-300", 100, 300), ("0", 0, 0)];
        for (s, lo, hi) in ok {
            let l: Latency = s.parse().unwrap();
            assert_eq!((l.lo_ms, l.hi_ms), (*lo, *hi), "{s}");
            assert_eq!(l.to_string(), *s);
        }
        for bad in ["", "x", "300-100", "1-", "-5"] {
            assert!(bad.parse::<Latency>().is_err(), "{bad}");
        }
        let l: Latency = "100-300".parse().unwrap();
        assert_eq!(l.pick(0.0), 100);
        assert_eq!(l.pick(0.9999), 300);
        assert!((100..=300).contains(&l.pick(0.5)));
    }
}
