//! `export --all-known --refresh-budget N`: the reporting export built on the ledger. It reads
//! again from Kayse the N known cases the ledger has gone longest without seeing (never read
//! first, then the oldest read, ties by id), then writes the report from the ledger: every live
//! case, with `last_seen`. A case Kayse answers 404 for is marked gone in the ledger and left
//! out (it is named on the `Errors` sheet). Run nightly, it keeps a full picture at a bounded
//! cost; `--refresh-budget 0` sends no request at all.
//!
//! It holds the ledger's run lock while it runs: two overlapping refreshes would read the same
//! stalest cases twice. A second one stops at once with exit 3 naming the first, or waits with
//! `--wait`.

use std::collections::BTreeMap;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::Args;
use super::stalest::{Choice, choose};
use crate::cli::Global;
use crate::engine::fetch::{self, Fetch};
use crate::engine::ledger::{Keyed, RunLedger};
use crate::engine::session::{InFlight, Input, Session, Spec, show_plan};
use crate::engine::{Sent, View, Work, finish};
use crate::entity::CASES;
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::outcome::Outcome;
use crate::plan;
use crate::plan::refresh::{grouped, refresh_line};
use crate::record::journal::{Basis, Fingerprint, Journal, hex};
use crate::record::ledger::{Ledger, RunStart};
use crate::report::changes;
use crate::report::{known, sheet};

/// The journal's fingerprint of a refresh: the same for every refresh, so a stopped one resumes
/// (its list is chosen again from the ledger, not kept); the budget is checked as an option.
fn fingerprint() -> Fingerprint {
    Fingerprint {
        sha256: hex(&Sha256::digest(b"export --all-known --refresh-budget")),
        size: 0,
        basis: Basis::Ids,
    }
}

fn plan_line(c: &Choice, budget: u64, requests: u64, args: &Args) -> String {
    let mut line = refresh_line(c.known, c.never, budget);
    if requests > 0 {
        line.push_str("; ");
        line.push_str(&plan::export_line(
            requests,
            args.pacing.rate_limit,
            args.pacing.budget,
        ));
    }
    line
}

pub fn run(args: Args, budget: u64, g: &Global) -> CmdResult {
    let started = Instant::now();
    if args.run.dry_run {
        // No lock, no journal, no request: the plan from the ledger as it is.
        let ledger = crate::engine::ledger::open_at(&crate::engine::ledger::path(g, &args.conn)?)?;
        let choice = choose(&ledger, budget as usize, |_| false)?;
        let line = plan_line(&choice, budget, choice.ids.len() as u64, &args);
        show_plan(&line, g);
        let mut summary = finish::summary(
            "export",
            format!("{} known cases in the ledger", grouped(choice.known)),
            Some(&args.out),
        );
        summary.rows_read = choice.known;
        summary.plan = Some(line);
        summary.ledger = Some(ledger.path().display().to_string());
        return finish::conclude(summary, g, None, started, |_| Ok(()));
    }
    let out = args.out.display().to_string();
    let start = RunStart {
        command: "export",
        input: None,
        results: Some(&out),
    };
    // The ledger's lock before anything else: an overlapping run stops here, having read nothing.
    let mut book = RunLedger::open(g, &args.conn, start, true, "cases", Keyed::Id)?;
    let done = refresh(&args, budget, g, &mut book, started);
    book.end(&done);
    done
}

fn refresh(
    args: &Args,
    budget: u64,
    g: &Global,
    book: &mut RunLedger,
    started: Instant,
) -> CmdResult {
    let journal = Journal::path_for(&args.out);
    // Read before any request (and before --out is replaced, when it is the same file).
    let previous = match &args.changes_from {
        Some(p) => Some((p.clone(), super::previous::read(p, &CASES)?)),
        None => None,
    };
    let spec = Spec {
        command: "export",
        input: Input::Ids(budget as usize),
        journal: journal.clone(),
        fingerprint: fingerprint(),
        options: BTreeMap::from([("refresh-budget".to_string(), budget.to_string())]),
        checked: Some("--refresh-budget"),
        refuse_fresh: None,
        in_flight: InFlight::Resend,
        retry_failed: true,
        server: crate::send::Server::of(&args.conn, g)?,
    };
    let session = Session::open(spec, args.run.resume)?;
    // What an earlier attempt read is in the ledger before choosing: it counts in this run's N.
    book.replay(session.prior.values())?;
    let settled = session.prior.len() as u64;
    let choice = choose(
        book.ledger(),
        budget.saturating_sub(settled) as usize,
        |id| session.prior.contains_key(&(id as usize)),
    )?;
    let (doubtful, todo) = session.split(choice.ids.clone(), |id: &u64| *id as usize);
    let requests = (todo.len() + doubtful.iter().map(|j| j.items.len()).sum::<usize>()) as u64;
    let line = plan_line(&choice, budget, requests, args);
    show_plan(&line, g);
    let mut summary = finish::summary(
        "export",
        format!("{} known cases in the ledger", grouped(choice.known)),
        Some(&args.out),
    );
    summary.rows_read = choice.known;
    summary.plan = Some(line);
    summary.ledger = Some(book.path_text());
    let work = Work {
        doubtful,
        lists: vec![todo],
    };
    let sent = if work.is_empty() {
        session.skip_sending()
    } else {
        super::ask_budget(args, requests, "refresh")?;
        let mut live = session.connect(&args.conn, &args.pacing, g)?;
        let view = View {
            label: "refresh",
            total: requests,
            per_request: 1,
            shown: fetch::SHOWN,
        };
        live.send_recorded(Fetch(&CASES), work, 1, view, Some(book));
        live.end()
    };
    let errors = tally(&choice.ids, &sent, &mut summary);
    // Unfinished: the report goes to a partial file; --out is left as it was.
    let target = finish::output_for(&args.out, &sent);
    let partial = finish::partial_path(&args.out);
    let extras = report_extras(args, book.ledger(), previous, &mut summary)?;
    let written = known::write(&target, &CASES, book.ledger(), &errors, &extras)
        .map_err(|e| Fatal::from_error(ExitCode::Stopped, e))?;
    summary.counts.insert("exported".into(), written.rows);
    if written.never_seen > 0 {
        summary
            .counts
            .insert("never_read".into(), written.never_seen);
    }
    summary.warnings.extend(written.excel);
    if !errors.is_empty() {
        summary.warnings.push(format!(
            "{} ids could not be read again: see {}",
            errors.len(),
            super::join::errors_where(&target)
        ));
    }
    super::join::note_unfinished(
        &args.out,
        &target,
        "the refresh did not finish: the report is in",
        &mut summary,
    );
    let done = finish::conclude(summary, g, Some(&sent), started, |_| Ok(()));
    if done.is_ok() {
        let _ = std::fs::remove_file(&journal);
        let _ = std::fs::remove_file(sheet::errors_csv_path(&partial));
        let _ = std::fs::remove_file(&partial);
    }
    done
}

/// The report's Summary sheet (XLSX only), counted from the ledger with each case's
/// `last_seen`, and its Changes against the `--changes-from` report, counted in the summary.
fn report_extras(
    args: &Args,
    ledger: &Ledger,
    previous: Option<(std::path::PathBuf, changes::States)>,
    summary: &mut crate::report::summary::Summary,
) -> Result<sheet::Extras, Fatal> {
    let to_csv = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if to_csv && previous.is_none() {
        // A CSV file holds one table, and there is nothing to compare with: no pass to make.
        return Ok(sheet::Extras::default());
    }
    let now = chrono::Local::now();
    let (tally, list, read) = known::extras(
        &CASES,
        ledger,
        now.date_naive(),
        previous.as_ref().map(|(path, p)| (path.as_path(), p)),
    )?;
    let changes = match (previous, list) {
        (Some((path, before)), Some(list)) => {
            summary.changes = Some(changes::Since {
                since: path.display().to_string(),
                counts: changes::Counts::of(&list),
            });
            Some(changes::rows(&list, &before, &read))
        }
        _ => None,
    };
    let title = format!(
        "{} known cases, reported {} from the ledger",
        tally.total,
        now.format("%Y-%m-%d %H:%M")
    );
    Ok(sheet::Extras {
        summary: (!to_csv).then_some((tally, title)),
        changes,
        linked: None,
    })
}

/// Count what reading came to (`refreshed`, `gone`, `failed`, `skipped`) and list the ids that
/// were not read, with why, for the `Errors` sheet. A case gone (404: deleted or merged in
/// Kayse) is not a failure: it is marked gone in the ledger and left out of the report.
fn tally(
    chosen: &[u64],
    sent: &Sent,
    summary: &mut crate::report::summary::Summary,
) -> Vec<(u64, String)> {
    let mut errors = Vec::new();
    let mut add = |k: &str| *summary.counts.entry(k.to_string()).or_default() += 1;
    for r in sent.outcomes.values() {
        let id = r.id.unwrap_or(r.row as u64);
        let why = r.error.clone().unwrap_or_default();
        match r.outcome {
            Outcome::Valid => add("refreshed"),
            Outcome::NotFound => {
                add("gone");
                errors.push((
                    id,
                    format!("{why}: deleted or merged in Kayse; marked gone in the ledger and left out of the report"),
                ));
            }
            _ => {
                add(Outcome::Failed.as_str());
                errors.push((id, why));
            }
        }
    }
    let skipped = chosen
        .iter()
        .filter(|id| !sent.outcomes.contains_key(&(**id as usize)))
        .count() as u64;
    if skipped > 0 {
        summary.counts.insert("skipped".into(), skipped);
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_journal_is_never_taken_for_an_id_list() {
        assert_eq!(fingerprint(), fingerprint());
        for ids in [&[][..], &[1, 2, 3]] {
            assert_ne!(fingerprint(), super::super::ids::fingerprint_ids(ids));
        }
    }
}
