//! The request arithmetic of a run and the plan line each command prints before its first
//! request: how many requests, whether they fit in the window, how long they take at the rate
//! limit. Pure: counts in, text out; no I/O, no clock. It never decides what is sent.

pub mod refresh;

use crate::send::rate::RateSpec;

/// Requests to carry `items` at `per_request` each (at least one item per request).
pub fn batches(items: u64, per_request: u64) -> u64 {
    items.div_ceil(per_request.max(1))
}

/// "N requests; fits in the current window" or "about H hours at 500/h". `remaining` is what
/// the server said is left in its window; without it the figures are our assumption (a full
/// window of `rate`), and the line says so until Kayse's first answer corrects it.
pub fn plan_text(requests: u64, rate: RateSpec, remaining: Option<u64>) -> String {
    let left = remaining.unwrap_or(u64::from(rate.requests));
    let noun = if requests == 1 { "request" } else { "requests" };
    let assumed = if remaining.is_none() {
        ", assumed until Kayse's first answer"
    } else {
        ""
    };
    if requests <= left {
        return format!(
            "{requests} {noun}; fits in the current window ({left} left of {rate}{assumed})"
        );
    }
    let windows = (requests - left).div_ceil(u64::from(rate.requests));
    let secs = windows as f64 * rate.window.as_secs_f64();
    format!(
        "{requests} {noun}; about {} at {rate} ({left} left in the current window{assumed})",
        human_duration(secs)
    )
}

/// The plan corrected by the server's first answer, when its window is not what the plan
/// assumed: "plan corrected by Kayse's answer: 8 requests left in its window, not 500; 12
/// requests to go; about 60 min at 500/h (8 left in the current window)". One duration.
pub fn corrected_window(requests: u64, rate: RateSpec, assumed: u64, remaining: u64) -> String {
    format!(
        "plan corrected by Kayse's answer: {remaining} requests left in its window, not {assumed}; {}",
        plan_text(requests, rate, Some(remaining))
    )
}

/// What is left once the batch size is corrected: "the 40 rows left go in 4 requests".
pub fn corrected_batches(rows: u64, per_request: u64) -> String {
    let n = batches(rows, per_request);
    format!(
        "the {rows} row{} left go in {n} request{}",
        if rows == 1 { "" } else { "s" },
        if n == 1 { "" } else { "s" }
    )
}

/// `45 s`, `12 min`, `4.0 hours`.
pub fn human_duration(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 5400.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} hours", secs / 3600.0)
    }
}

/// The requests a plan counts assume every batch goes in whole; a batch Kayse rejects is split in
/// halves until each bad row is found, which costs more.
pub const BISECT_NOTE: &str =
    "; more if Kayse rejects rows (a rejected batch is split in halves to find them)";

/// What `validate` (and `import --dry-run`, at its `--rate-limit`) says an import would cost: one
/// bulk request per batch of creates and of updates, plus one GET per update to keep its blank
/// fields.
pub fn validate_line(creates: u64, updates: u64, batch: u64, rate: RateSpec) -> String {
    let bulk = batches(creates, batch) + batches(updates, batch);
    let mut plan = plan_text(bulk + updates, rate, None);
    if batch > 1 && bulk > 0 {
        plan.push_str(BISECT_NOTE);
    }
    if updates > 0 {
        plan.push_str(&format!(
            " (includes {updates} GETs to keep blank fields on updates; --update-blanks clear skips them)"
        ));
    }
    plan
}

/// What an import of a case sheet with client columns would cost: the new clients in bulk
/// first, then the cases with their `client_ids`, as `validate_line` counts them.
pub fn linked_line(
    clients: u64,
    known: u64,
    (creates, updates): (u64, u64),
    batch: u64,
    rate: RateSpec,
) -> String {
    let client_requests = batches(clients, batch);
    let bulk = client_requests + batches(creates, batch) + batches(updates, batch);
    let known = if known > 0 {
        format!(" ({known} more known to the ledger, no request)")
    } else {
        String::new()
    };
    let mut plan = format!(
        "{clients} clients to create in {client_requests} request{}{known}, then {} cases; {}",
        if client_requests == 1 { "" } else { "s" },
        creates + updates,
        plan_text(bulk + updates, rate, None)
    );
    if updates > 0 {
        plan.push_str(&format!(
            " (includes {updates} GETs to keep blank fields on updates; --update-blanks clear skips them)"
        ));
    }
    plan
}

/// What an import will send: rows by kind, and the groups an earlier attempt left in doubt
/// (each resent alone, as it was).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportWork {
    pub creates: u64,
    pub updates: u64,
    /// Rows to recheck, in `doubtful_groups` requests.
    pub doubtful: u64,
    pub doubtful_groups: u64,
    /// Updates among the doubtful rows (they need a GET too under `--update-blanks keep`).
    pub doubtful_updates: u64,
    pub batch: u64,
    /// `--update-blanks keep`: one GET per update first.
    pub keep_blanks: bool,
}

impl ImportWork {
    pub fn gets(&self) -> u64 {
        if self.keep_blanks {
            self.updates + self.doubtful_updates
        } else {
            0
        }
    }

    pub fn requests(&self) -> u64 {
        batches(self.creates, self.batch)
            + batches(self.updates, self.batch)
            + self.doubtful_groups
            + self.gets()
    }

    pub fn rows(&self) -> u64 {
        self.creates + self.updates + self.doubtful
    }

    /// The plan line of an import.
    pub fn line(&self, rate: RateSpec, budget: Option<u64>) -> String {
        self.line_after(None, rate, budget)
    }

    /// The plan line of an import that sends a case sheet's clients first: `clients` is their
    /// work, `known` how many the ledger already has (linked with no request).
    pub fn linked_line(
        &self,
        clients: &ImportWork,
        known: u64,
        rate: RateSpec,
        budget: Option<u64>,
    ) -> String {
        self.line_after(Some((clients, known)), rate, budget)
    }

    fn line_after(
        &self,
        clients: Option<(&ImportWork, u64)>,
        rate: RateSpec,
        budget: Option<u64>,
    ) -> String {
        let requests = self.requests() + clients.map_or(0, |(c, _)| c.requests());
        let recheck = |w: &ImportWork| {
            if w.doubtful > 0 {
                format!(", {} to recheck", w.doubtful)
            } else {
                String::new()
            }
        };
        let before = match clients {
            Some((c, known)) => format!(
                "{} clients to send ({} creates, {} updates{}; {known} known to the ledger, no request), then ",
                c.rows(),
                c.creates,
                c.updates,
                recheck(c)
            ),
            None => String::new(),
        };
        let mut line = format!(
            "{before}{} rows to send ({} creates, {} updates{}); {}",
            self.rows(),
            self.creates,
            self.updates,
            recheck(self),
            plan_text(requests, rate, None)
        );
        let sending = |w: &ImportWork| w.creates + w.updates + w.doubtful;
        if self.batch > 1 && sending(self) + clients.map_or(0, |(c, _)| sending(c)) > 0 {
            line.push_str(BISECT_NOTE);
        }
        let gets = self.gets() + clients.map_or(0, |(c, _)| c.gets());
        if gets > 0 {
            line.push_str(&format!(
                "; includes {gets} GETs to keep blank fields (--update-blanks clear skips them)"
            ));
        }
        match budget {
            Some(b) if b < requests => line.push_str(&format!(
                "; budget {b} requests: the run will stop early, then --resume continues"
            )),
            Some(b) => line.push_str(&format!("; budget {b} requests")),
            None => line.push_str("; no --budget"),
        }
        line
    }
}

/// The plan line for fetching `n` cases, one GET each.
pub fn export_line(n: u64, rate: RateSpec, budget: Option<u64>) -> String {
    let mut s = format!(
        "{n} cases to fetch, one GET each; {}",
        plan_text(n, rate, None)
    );
    if let Some(b) = budget {
        s.push_str(&format!("; budget {b} requests"));
    }
    if n > u64::from(rate.requests) {
        // The duration is plan_text's: one per line.
        s.push_str(
            "; more than one window: if it stops or is interrupted, run again with --resume",
        );
    }
    s
}

/// The API's documented maximum of ids per `bulk_delete`.
pub const MAX_DELETE_IDS: u64 = 500;

/// What a delete will send: fresh ids in requests of at most [`MAX_DELETE_IDS`], the groups an
/// earlier attempt left in doubt (resent as they were), and the GETs of `--backup`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteWork {
    pub ids: u64,
    pub fresh: u64,
    pub doubtful_groups: u64,
    pub backup_gets: u64,
    pub with_clients: bool,
}

impl DeleteWork {
    pub fn requests(&self) -> u64 {
        self.doubtful_groups + batches(self.fresh, MAX_DELETE_IDS)
    }

    pub fn line(&self, rate: RateSpec) -> String {
        let requests = self.requests();
        let mut plan = format!(
            "{} cases to delete{} in {requests} bulk_delete request{} (at most {MAX_DELETE_IDS} ids each)",
            self.ids,
            if self.with_clients {
                " with their clients"
            } else {
                ""
            },
            if requests == 1 { "" } else { "s" }
        );
        if self.backup_gets > 0 {
            plan.push_str(&format!(", plus {} GETs for --backup", self.backup_gets));
        }
        plan.push_str(&format!(
            "; {}",
            plan_text(requests + self.backup_gets, rate, None)
        ));
        plan
    }
}

/// The plan line of `sms` or `email`: one request per message, plus one GET per distinct case
/// unless the opt-out check is off (`gets` is `None`).
pub fn message_line(messages: u64, noun: &str, gets: Option<u64>, rate: RateSpec) -> String {
    let mut plan = format!("{messages} {noun} to send");
    match gets {
        None => plan.push_str(", no opt-out check (--no-opt-out-check)"),
        Some(g) => plan.push_str(&format!(
            ", plus {g} GETs to skip opted-out cases (--no-opt-out-check skips them)"
        )),
    }
    plan.push_str(&format!(
        "; {}",
        plan_text(messages + gets.unwrap_or(0), rate, None)
    ));
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const KAYSE: RateSpec = RateSpec::KAYSE;

    #[test]
    fn plan_texts() {
        let table: &[(u64, Option<u64>, &str)] = &[
            (
                3,
                None,
                "3 requests; fits in the current window (500 left of 500/h, assumed until Kayse's first answer)",
            ),
            (
                2000,
                None,
                "2000 requests; about 3.0 hours at 500/h (500 left in the current window, assumed until Kayse's first answer)",
            ),
            (
                2000,
                Some(500),
                "2000 requests; about 3.0 hours at 500/h (500 left in the current window)",
            ),
            (
                3,
                Some(8),
                "3 requests; fits in the current window (8 left of 500/h)",
            ),
            (
                1,
                Some(0),
                "1 request; about 60 min at 500/h (0 left in the current window)",
            ),
        ];
        for (requests, left, want) in table {
            assert_eq!(plan_text(*requests, KAYSE, *left), *want);
        }
    }

    /// The figure: 1,200 people on 2,000 case rows cost 12 + 20 requests.
    #[test]
    fn linked_lines_count_clients_then_cases() {
        let table: &[(u64, u64, u64, &str)] = &[
            (
                1200,
                2000,
                0,
                "1200 clients to create in 12 requests, then 2000 cases; 32 requests; fits in the current window",
            ),
            (
                1,
                3,
                1,
                "1 clients to create in 1 request, then 4 cases; 4 requests; fits in the current window",
            ),
            (
                0,
                5,
                0,
                "0 clients to create in 0 requests, then 5 cases; 1 request; fits",
            ),
        ];
        for (clients, creates, updates, want) in table {
            let got = linked_line(*clients, 0, (*creates, *updates), 100, KAYSE);
            assert!(got.starts_with(want), "{got}");
        }
        let got = linked_line(3, 2, (5, 0), 100, KAYSE);
        assert!(
            got.starts_with(
                "3 clients to create in 1 request (2 more known to the ledger, no request), then 5 cases; 2 requests"
            ),
            "{got}"
        );
    }

    #[test]
    fn durations() {
        for (secs, want) in [
            (0.0, "0 s"),
            (89.0, "89 s"),
            (90.0, "2 min"),
            (5399.0, "90 min"),
            (5400.0, "1.5 hours"),
            (14_400.0, "4.0 hours"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn batches_round_up_and_never_divide_by_zero() {
        for (items, per, want) in [
            (0, 100, 0),
            (1, 100, 1),
            (100, 100, 1),
            (101, 100, 2),
            (5, 0, 5),
        ] {
            assert_eq!(batches(items, per), want, "{items}/{per}");
        }
    }

    #[test]
    fn validate_lines() {
        // (creates, updates, batch size, line)
        let table = [
            (
                20,
                0,
                100,
                "1 request; fits in the current window (500 left of 500/h, assumed until Kayse's first answer); more if Kayse rejects rows (a rejected batch is split in halves to find them)",
            ),
            (
                150,
                3,
                100,
                "6 requests; fits in the current window (500 left of 500/h, assumed until Kayse's first answer); more if Kayse rejects rows (a rejected batch is split in halves to find them) (includes 3 GETs to keep blank fields on updates; --update-blanks clear skips them)",
            ),
            (
                2,
                0,
                1,
                "2 requests; fits in the current window (500 left of 500/h, assumed until Kayse's first answer)",
            ),
            (
                0,
                0,
                100,
                "0 requests; fits in the current window (500 left of 500/h, assumed until Kayse's first answer)",
            ),
        ];
        for (creates, updates, batch, want) in table {
            assert_eq!(validate_line(creates, updates, batch, KAYSE), want);
        }
        // A dry run plans at its --rate-limit, not at Kayse's 500/h.
        assert_eq!(
            validate_line(150, 0, 10, "5/m".parse().unwrap()),
            "15 requests; about 2 min at 5/m (5 left in the current window, assumed until Kayse's first answer); more if Kayse rejects rows (a rejected batch is split in halves to find them)"
        );
    }

    #[test]
    fn import_requests() {
        let w = |creates, updates, doubtful, groups, doubtful_updates, keep| ImportWork {
            creates,
            updates,
            doubtful,
            doubtful_groups: groups,
            doubtful_updates,
            batch: 10,
            keep_blanks: keep,
        };
        // (work, requests, rows)
        let table = [
            (w(0, 0, 0, 0, 0, true), 0, 0),
            (w(25, 0, 0, 0, 0, true), 3, 25),
            (w(25, 5, 0, 0, 0, true), 3 + 1 + 5, 30),
            (w(25, 5, 0, 0, 0, false), 3 + 1, 30),
            (w(0, 0, 12, 2, 1, true), 2 + 1, 12),
            (w(10, 10, 4, 1, 0, false), 1 + 1 + 1, 24),
        ];
        for (i, (work, requests, rows)) in table.iter().enumerate() {
            assert_eq!(work.requests(), *requests, "case {i}");
            assert_eq!(work.rows(), *rows, "case {i}");
        }
    }

    #[test]
    fn import_lines() {
        let work = ImportWork {
            creates: 20,
            updates: 2,
            doubtful: 3,
            doubtful_groups: 1,
            doubtful_updates: 0,
            batch: 10,
            keep_blanks: true,
        };
        let line = work.line(KAYSE, None);
        assert_eq!(
            line,
            "25 rows to send (20 creates, 2 updates, 3 to recheck); 6 requests; fits in the current window (500 left of 500/h, assumed until Kayse's first answer); more if Kayse rejects rows (a rejected batch is split in halves to find them); includes 2 GETs to keep blank fields (--update-blanks clear skips them); no --budget"
        );
        assert!(
            work.line(KAYSE, Some(3))
                .ends_with("; budget 3 requests: the run will stop early, then --resume continues")
        );
        assert!(work.line(KAYSE, Some(6)).ends_with("; budget 6 requests"));
        // A case sheet's clients go first: their requests and GETs count too.
        let clients = ImportWork {
            creates: 1200,
            updates: 1,
            batch: 100,
            keep_blanks: true,
            ..ImportWork::default()
        };
        let cases = ImportWork {
            creates: 2000,
            batch: 100,
            keep_blanks: true,
            ..ImportWork::default()
        };
        assert_eq!(
            cases.linked_line(&clients, 7, KAYSE, None),
            "1201 clients to send (1200 creates, 1 updates; 7 known to the ledger, no request), then 2000 rows to send (2000 creates, 0 updates); 34 requests; fits in the current window (500 left of 500/h, assumed until Kayse's first answer); more if Kayse rejects rows (a rejected batch is split in halves to find them); includes 1 GETs to keep blank fields (--update-blanks clear skips them); no --budget"
        );
    }

    #[test]
    fn export_lines_state_the_cost() {
        let p = export_line(2000, KAYSE, None);
        assert!(
            p.starts_with("2000 cases to fetch, one GET each; 2000 requests"),
            "{p}"
        );
        assert!(p.contains("about 3.0 hours at 500/h"), "{p}");
        assert!(p.contains("--resume"), "{p}");
        assert_eq!(p.matches(" hours").count(), 1, "one duration per line: {p}");
        let p = export_line(20, KAYSE, Some(10));
        assert!(
            p.contains("fits in the current window") && p.ends_with("budget 10 requests"),
            "{p}"
        );
    }

    #[test]
    fn delete_lines() {
        let table = [
            (
                DeleteWork {
                    ids: 1200,
                    fresh: 1200,
                    ..Default::default()
                },
                "1200 cases to delete in 3 bulk_delete requests (at most 500 ids each); 3 requests; fits in the current window (500 left of 500/h, assumed until Kayse's first answer)",
            ),
            (
                DeleteWork {
                    ids: 12,
                    fresh: 2,
                    doubtful_groups: 1,
                    backup_gets: 12,
                    with_clients: true,
                },
                "12 cases to delete with their clients in 2 bulk_delete requests (at most 500 ids each), plus 12 GETs for --backup; 14 requests; fits in the current window (500 left of 500/h, assumed until Kayse's first answer)",
            ),
            (
                DeleteWork {
                    ids: 1,
                    fresh: 1,
                    ..Default::default()
                },
                "1 cases to delete in 1 bulk_delete request (at most 500 ids each); 1 request; fits in the current window (500 left of 500/h, assumed until Kayse's first answer)",
            ),
        ];
        for (work, want) in table {
            assert_eq!(work.line(KAYSE), want);
        }
    }

    #[test]
    fn message_lines() {
        assert_eq!(
            message_line(4, "SMS", Some(2), KAYSE),
            "4 SMS to send, plus 2 GETs to skip opted-out cases (--no-opt-out-check skips them); 6 requests; fits in the current window (500 left of 500/h, assumed until Kayse's first answer)"
        );
        assert_eq!(
            message_line(40, "emails", None, KAYSE),
            "40 emails to send, no opt-out check (--no-opt-out-check); 40 requests; fits in the current window (500 left of 500/h, assumed until Kayse's first answer)"
        );
    }

    #[test]
    fn corrections() {
        assert_eq!(
            corrected_window(12, KAYSE, 500, 8),
            "plan corrected by Kayse's answer: 8 requests left in its window, not 500; 12 requests; about 60 min at 500/h (8 left in the current window)"
        );
        assert_eq!(
            corrected_window(3, KAYSE, 500, 8),
            "plan corrected by Kayse's answer: 8 requests left in its window, not 500; 3 requests; fits in the current window (8 left of 500/h)"
        );
        for (rows, per, want) in [
            (40, 10, "the 40 rows left go in 4 requests"),
            (1, 200, "the 1 row left go in 1 request"),
            (401, 200, "the 401 rows left go in 3 requests"),
        ] {
            assert_eq!(corrected_batches(rows, per), want);
        }
    }

    /// Every plan line states one duration at most: two that disagree confuse more than none.
    #[test]
    fn one_duration_per_line() {
        let lines = [
            export_line(5000, KAYSE, Some(10)),
            ImportWork {
                creates: 100_000,
                batch: 100,
                ..Default::default()
            }
            .line(KAYSE, None),
            DeleteWork {
                ids: 900_000,
                fresh: 900_000,
                backup_gets: 900_000,
                ..Default::default()
            }
            .line(KAYSE),
            message_line(3000, "SMS", Some(3000), KAYSE),
            corrected_window(5000, KAYSE, 500, 3),
        ];
        for line in lines {
            let n = [" s ", " s;", " min", " hours"]
                .iter()
                .map(|u| line.matches(u).count())
                .sum::<usize>();
            assert_eq!(n, 1, "{line}");
        }
    }
}
