//! The run summary: counts, value lists, warnings and request statistics. Built by the commands,
//! shown on stderr for people, on stdout with `--json`, and on the results workbook's Summary sheet.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::outcome::Outcome;

/// Request statistics of a networked run.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RequestStats {
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub waited_secs: f64,
    pub elapsed_secs: f64,
    /// What the server said was left in the window at the end, if it said.
    pub remaining: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub command: String,
    /// The command line that produced the results (never holds the key: it cannot be a flag).
    pub command_line: String,
    pub input: String,
    pub results: Option<String>,
    pub format: Option<String>,
    pub encoding: Option<String>,
    pub rows_read: u64,
    pub blank_rows: u64,
    /// Rows per `kayse_result` word.
    pub counts: BTreeMap<String, u64>,
    pub creates: u64,
    pub updates: u64,
    /// Fields a `--update-blanks clear` import would set to null.
    pub fields_cleared: u64,
    pub warnings: Vec<String>,
    /// Distinct `status` values with their counts, most frequent first.
    pub statuses: Vec<(String, u64)>,
    pub types: Vec<(String, u64)>,
    /// The plan line (requests needed, time at the rate limit).
    pub plan: Option<String>,
    pub requests: Option<RequestStats>,
    pub exit_code: i32,
}

impl Summary {
    pub fn count(&mut self, outcome: Outcome) {
        *self.counts.entry(outcome.as_str().to_string()).or_default() += 1;
    }

    pub fn get(&self, outcome: Outcome) -> u64 {
        self.counts.get(outcome.as_str()).copied().unwrap_or(0)
    }

    /// True when some row ended invalid, failed, unknown or not found.
    pub fn has_problems(&self) -> bool {
        crate::outcome::ALL
            .iter()
            .any(|o| o.is_problem() && self.get(*o) > 0)
    }

    /// `(label, value)` pairs in display order: what the stderr summary and the Summary sheet show.
    pub fn lines(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("command".to_string(), self.command_line.clone()),
            ("input".to_string(), self.input.clone()),
        ];
        if let Some(r) = &self.results {
            out.push(("results".into(), r.clone()));
        }
        if let Some(e) = &self.encoding {
            out.push(("encoding".into(), e.clone()));
        }
        out.push(("rows read".into(), self.rows_read.to_string()));
        for (k, v) in &self.counts {
            out.push((k.replace('_', " "), v.to_string()));
        }
        if self.creates + self.updates > 0 {
            out.push(("creates".into(), self.creates.to_string()));
            out.push(("updates".into(), self.updates.to_string()));
        }
        if self.fields_cleared > 0 {
            out.push((
                "fields an update would clear".into(),
                self.fields_cleared.to_string(),
            ));
        }
        out.push(("blank rows skipped".into(), self.blank_rows.to_string()));
        let list = |v: &[(String, u64)]| {
            v.iter()
                .map(|(s, n)| format!("{s} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !self.statuses.is_empty() {
            out.push(("statuses".into(), list(&self.statuses)));
        }
        if !self.types.is_empty() {
            out.push(("types".into(), list(&self.types)));
        }
        if let Some(p) = &self.plan {
            out.push(("plan".into(), p.clone()));
        }
        if let Some(r) = &self.requests {
            out.push(("requests used".into(), r.requests.to_string()));
            out.push(("retries".into(), r.retries.to_string()));
            out.push(("429 answers".into(), r.rate_limited.to_string()));
            out.push((
                "waiting for rate windows".into(),
                format!("{:.1} s", r.waited_secs),
            ));
            out.push(("elapsed".into(), format!("{:.1} s", r.elapsed_secs)));
        }
        for w in &self.warnings {
            out.push(("warning".into(), w.clone()));
        }
        out
    }

    /// The human summary for stderr.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for (k, v) in self.lines() {
            s.push_str(&format!("{k:>28}: {v}\n"));
        }
        s
    }
}
