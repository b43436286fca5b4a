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
    /// What was left of `--budget` at the end, when one was given.
    pub budget_left: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub command: String,
    /// The command line that produced the results (never holds the key: it cannot be a flag).
    pub command_line: String,
    pub input: String,
    pub results: Option<String>,
    /// The ledger of Kayse ids the run used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
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
    /// Why the run stopped before its work was done (`error::STOP_REASONS`); `None`: it finished.
    pub stop_reason: Option<String>,
    /// The exact command to run next, or `None` when nothing is left to do.
    pub next: Option<String>,
    /// What to do before running `next`, for people ("fix the 5 invalid rows in X").
    #[serde(skip)]
    pub next_first: Option<String>,
    /// The server the run sent to (base URL, or the embedded sandbox).
    pub server: Option<String>,
    /// Whether that server was a sandbox (embedded, or on this machine).
    pub sandbox: Option<bool>,
    /// What reading the input noticed: header row, hidden rows and columns, Total row, sheets.
    pub reading: Reading,
    /// A report's changes since the previous one (`export --changes-from`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<crate::report::changes::Since>,
    /// An import of a case sheet naming its clients: the distinct clients per `kayse_result`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub clients: BTreeMap<String, u64>,
    /// `reconcile`: the clients in doubt it found (their cases go with them on the next import).
    #[serde(skip)]
    pub clients_recovered: u64,
    /// `reconcile`: the clients table the settled run joined (`--clients FILE`, as its journal
    /// recorded it), which the import it advises must join again.
    #[serde(skip)]
    pub joined: Option<String>,
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
        let client = |o: Outcome| self.clients.get(o.as_str()).copied();
        crate::outcome::ALL
            .iter()
            .any(|o| o.is_problem() && (self.get(*o) > 0 || client(*o).unwrap_or(0) > 0))
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
        if let Some(server) = &self.server {
            let line = match self.sandbox {
                Some(true) if server.starts_with("embedded") => format!("{server}, not Kayse"),
                Some(true) => format!("{server} (a sandbox on this machine, not Kayse)"),
                _ => server.clone(),
            };
            out.push(("server".into(), line));
        }
        if let Some(l) = &self.ledger {
            out.push(("ledger".into(), l.clone()));
        }
        if let Some(e) = &self.encoding {
            out.push(("encoding".into(), e.clone()));
        }
        out.push(("rows read".into(), self.rows_read.to_string()));
        for (k, v) in &self.counts {
            out.push((k.replace('_', " "), v.to_string()));
        }
        // What a run would do, only when nothing was done: never `creates: 20` beside `created: 20`.
        let done = self.get(Outcome::Created) + self.get(Outcome::Updated);
        if self.creates + self.updates > 0 && done == 0 {
            out.push(("creates".into(), self.creates.to_string()));
            out.push(("updates".into(), self.updates.to_string()));
        }
        if self.fields_cleared > 0 {
            out.push((
                "fields an update would clear".into(),
                self.fields_cleared.to_string(),
            ));
        }
        if !self.clients.is_empty() {
            let line: Vec<String> = self
                .clients
                .iter()
                .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
                .collect();
            out.push(("clients".into(), line.join(", ")));
        }
        out.push(("blank rows skipped".into(), self.blank_rows.to_string()));
        out.extend(self.reading.lines());
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
        if let Some(c) = &self.changes {
            out.push(("changes".into(), c.line()));
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
            if let Some(b) = r.budget_left {
                out.push(("budget left".into(), b.to_string()));
            }
        }
        for w in &self.warnings {
            out.push(("warning".into(), w.clone()));
        }
        if let Some(line) = self.next_line() {
            out.push(("next".into(), line));
        }
        out
    }

    /// The human summary for stderr.
    pub fn render(&self) -> String {
        self.render_without(&[])
    }

    /// The human summary without the lines labelled `skip` (the plan, when stderr showed it
    /// before the first request: printed once).
    pub fn render_without(&self, skip: &[&str]) -> String {
        let mut s = String::new();
        for (k, v) in self.lines() {
            if !skip.contains(&k.as_str()) {
                s.push_str(&format!("{k:>28}: {v}\n"));
            }
        }
        s
    }

    /// "fix the 5 invalid rows in X, then run: kayse-bulk import X --only-failed".
    pub fn next_line(&self) -> Option<String> {
        match (&self.next_first, &self.next) {
            (Some(first), Some(cmd)) => Some(format!("{first}, then run: {cmd}")),
            (Some(first), None) => Some(first.clone()),
            (None, Some(cmd)) => Some(format!("run: {cmd}")),
            (None, None) => None,
        }
    }

    /// The `--json` object: the summary, with `invalid`, `failed` and `unknown` always counted
    /// (0 included), so a scheduler reads them without checking for absent keys.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(counts) = v.get_mut("counts").and_then(|c| c.as_object_mut()) {
            for k in ["invalid", "failed", "unknown"] {
                counts.entry(k).or_insert(serde_json::json!(0));
            }
        }
        v
    }
}

/// The `--json` object of a run that ended before it had a summary (a usage error, a refusal, a
/// bad profile): the same keys a scanner reads, with counts of 0 and the error's one line.
pub fn error_json(
    command: Option<&str>,
    exit_code: i32,
    stop_reason: Option<&str>,
    next: Option<&str>,
    error: &str,
) -> serde_json::Value {
    serde_json::json!({
        "command": command,
        "exit_code": exit_code,
        "stop_reason": stop_reason,
        "counts": {"invalid": 0, "failed": 0, "unknown": 0},
        "next": next,
        "error": error,
    })
}

/// What reading the input noticed that a person should know, beside the counts.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Reading {
    /// The header row, when a title or other rows above it were passed over.
    pub header_row: Option<usize>,
    /// The first non-empty row, when the header was found below it.
    pub header_below: Option<usize>,
    /// Columns hidden in the workbook, by header.
    pub hidden_columns: Vec<String>,
    /// True when the results are CSV, which cannot hide a column: the hidden ones are left out.
    pub hidden_columns_left_out: bool,
    /// Rows hidden in the workbook that were read, or left out with `--skip-hidden-rows`.
    pub hidden_rows: crate::read::RowList,
    pub hidden_rows_skipped: bool,
    /// Leaving hidden rows out is the command's default (`delete`): the flag that changes it is
    /// `--include-hidden-rows`, not `--skip-hidden-rows`. Wording only: not in the JSON.
    #[serde(skip)]
    pub hidden_rows_skipped_by_default: bool,
    /// The sheet has a filter (so the hidden rows are most likely filtered out).
    pub filtered: bool,
    /// A trailing Total row left out: its row and label.
    pub total_row: Option<(usize, String)>,
    /// The workbook's sheets that were not read.
    pub other_sheets: Vec<String>,
    /// Date columns whose order of day and month their own values proved, one line each.
    pub dates: Vec<String>,
    /// The preset the headers were recognised as: "looks like a Clio matters export: preset clio".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
}

impl Reading {
    /// Summary lines, in the order a person checks them.
    pub fn lines(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(p) = &self.preset {
            out.push(("preset".to_string(), p.clone()));
        }
        if let (Some(row), Some(first)) = (self.header_row, self.header_below) {
            let above = if first + 1 >= row {
                format!("row {first}")
            } else {
                format!("rows {first}-{}", row - 1)
            };
            out.push((
                "header".to_string(),
                format!(
                    "row {row}, below a title or notes in {above} (they name fewer fields); --header-row N reads another row"
                ),
            ));
        }
        if !self.hidden_columns.is_empty() {
            let what = if self.hidden_columns_left_out {
                "left out of the CSV results, which cannot hide a column"
            } else {
                "kept hidden in the results"
            };
            out.push((
                "hidden columns".to_string(),
                format!("{} ({what})", self.hidden_columns.join(", ")),
            ));
        }
        if self.hidden_rows.count > 0 {
            let how = if self.filtered {
                "hidden by a filter in the workbook"
            } else {
                "hidden in the workbook"
            };
            let n = self.hidden_rows.count;
            let (noun, verb) = if n == 1 {
                ("row", "was")
            } else {
                ("rows", "were")
            };
            let rows = self.hidden_rows.describe();
            let text = match (
                self.hidden_rows_skipped,
                self.hidden_rows_skipped_by_default,
            ) {
                (true, false) => {
                    format!("{n} {noun} {how} {verb} skipped (--skip-hidden-rows): {rows}")
                }
                (false, false) => format!(
                    "{n} {noun} {how} {verb} read: {rows} (--skip-hidden-rows leaves them out)"
                ),
                (true, true) => format!(
                    "{n} {noun} {how} {verb} left out: {rows} (--include-hidden-rows reads them)"
                ),
                (false, true) => {
                    format!("{n} {noun} {how} {verb} read (--include-hidden-rows): {rows}")
                }
            };
            out.push(("hidden rows".to_string(), text));
        }
        if let Some((row, label)) = &self.total_row {
            out.push((
                "total row skipped".to_string(),
                format!("row {row} ('{label}' and numbers) is a Total row, not a case"),
            ));
        }
        if !self.other_sheets.is_empty() {
            out.push((
                "other sheets not read".to_string(),
                format!(
                    "{} (--sheet NAME reads another)",
                    self.other_sheets.join(", ")
                ),
            ));
        }
        for line in &self.dates {
            out.push(("dates".to_string(), line.clone()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_object_always_counts_the_three_problems_and_says_what_next() {
        let mut s = Summary {
            command: "import".into(),
            next: Some("kayse-bulk import r.xlsx --only-failed".into()),
            next_first: Some("fix the 1 invalid row in r.xlsx".into()),
            ..Default::default()
        };
        s.count(Outcome::Created);
        s.count(Outcome::Invalid);
        let v = s.to_json();
        assert_eq!(v["counts"]["created"], 1);
        assert_eq!(v["counts"]["invalid"], 1);
        assert_eq!(v["counts"]["failed"], 0);
        assert_eq!(v["counts"]["unknown"], 0);
        assert_eq!(v["stop_reason"], serde_json::Value::Null);
        assert_eq!(v["next"], "kayse-bulk import r.xlsx --only-failed");
        assert!(v.get("next_first").is_none());
        let last = s.lines().pop().unwrap();
        assert_eq!(
            last,
            (
                "next".to_string(),
                "fix the 1 invalid row in r.xlsx, then run: kayse-bulk import r.xlsx --only-failed"
                    .to_string()
            )
        );
        // Printed once; never a plan's `creates` beside what was `created`.
        s.plan = Some("1 request".into());
        s.creates = 1;
        let text = s.render_without(&["plan"]);
        assert!(
            !text.contains("plan:") && !text.contains("creates:"),
            "{text}"
        );
        assert!(s.render().contains("plan: 1 request"));
        let e = error_json(Some("sms"), 2, Some("usage"), None, "bad");
        assert_eq!(e["counts"]["unknown"], 0);
        assert_eq!(e["exit_code"], 2);
        assert_eq!(e["next"], serde_json::Value::Null);
    }

    #[test]
    fn the_budget_left_is_said_only_when_a_budget_was_given() {
        for (left, line) in [(Some(3), Some("3")), (Some(0), Some("0")), (None, None)] {
            let s = Summary {
                requests: Some(RequestStats {
                    requests: 2,
                    budget_left: left,
                    ..Default::default()
                }),
                ..Default::default()
            };
            let got = s.lines().into_iter().find(|(k, _)| k == "budget left");
            assert_eq!(got.map(|(_, v)| v).as_deref(), line, "{left:?}");
            assert_eq!(
                s.to_json()["requests"]["budget_left"],
                serde_json::json!(left)
            );
        }
    }

    #[test]
    fn reading_lines_say_what_was_noticed() {
        assert!(Reading::default().lines().is_empty());
        let mut rows = crate::read::RowList::default();
        for r in [7, 9, 12] {
            rows.push(r);
        }
        let r = Reading {
            header_row: Some(3),
            header_below: Some(1),
            hidden_columns: vec!["SSN".into()],
            hidden_columns_left_out: false,
            hidden_rows: rows.clone(),
            hidden_rows_skipped: false,
            hidden_rows_skipped_by_default: false,
            filtered: true,
            total_row: Some((57, "Total".into())),
            other_sheets: vec!["Notes".into(), "Archive (hidden)".into()],
            dates: Vec::new(),
            ..Default::default()
        };
        let lines = r.lines();
        let text: Vec<String> = lines.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        assert_eq!(
            text,
            [
                "header: row 3, below a title or notes in rows 1-2 (they name fewer fields); --header-row N reads another row",
                "hidden columns: SSN (kept hidden in the results)",
                "hidden rows: 3 rows hidden by a filter in the workbook were read: rows 7, 9, 12 (--skip-hidden-rows leaves them out)",
                "total row skipped: row 57 ('Total' and numbers) is a Total row, not a case",
                "other sheets not read: Notes, Archive (hidden) (--sheet NAME reads another)",
            ]
        );
        let csv_skipping = Reading {
            hidden_columns: vec!["SSN".into(), "DOB".into()],
            hidden_columns_left_out: true,
            hidden_rows: rows,
            hidden_rows_skipped: true,
            ..Reading::default()
        };
        let text: Vec<String> = csv_skipping
            .lines()
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        assert_eq!(
            text,
            [
                "hidden columns: SSN, DOB (left out of the CSV results, which cannot hide a column)",
                "hidden rows: 3 rows hidden in the workbook were skipped (--skip-hidden-rows): rows 7, 9, 12",
            ]
        );
        let one = Reading {
            header_row: Some(2),
            header_below: Some(1),
            hidden_rows: {
                let mut l = crate::read::RowList::default();
                l.push(4);
                l
            },
            ..Reading::default()
        };
        let text: Vec<String> = one
            .lines()
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        assert_eq!(
            text,
            [
                "header: row 2, below a title or notes in row 1 (they name fewer fields); --header-row N reads another row",
                "hidden rows: 1 row hidden in the workbook was read: row 4 (--skip-hidden-rows leaves them out)",
            ]
        );
    }

    #[test]
    fn hidden_rows_name_the_flag_that_changes_what_was_done() {
        let mut rows = crate::read::RowList::default();
        rows.push(4);
        rows.push(6);
        let table = [
            (true, false, "skipped (--skip-hidden-rows): rows 4, 6"),
            (
                false,
                false,
                "read: rows 4, 6 (--skip-hidden-rows leaves them out)",
            ),
            (
                true,
                true,
                "left out: rows 4, 6 (--include-hidden-rows reads them)",
            ),
            (false, true, "read (--include-hidden-rows): rows 4, 6"),
        ];
        for (skipped, by_default, tail) in table {
            let r = Reading {
                hidden_rows: rows.clone(),
                hidden_rows_skipped: skipped,
                hidden_rows_skipped_by_default: by_default,
                filtered: true,
                ..Reading::default()
            };
            let want = format!("2 rows hidden by a filter in the workbook were {tail}");
            assert_eq!(r.lines(), [("hidden rows".to_string(), want)]);
        }
    }
}
