//! `kayse-bulk export`: fetch cases by id (the engine's shared case fetch, one paced GET each)
//! and write them as a valid import file. What is particular to export: where the ids come from
//! (`ids`) and how the fetched cases are laid out (`report::sheet`). It never formats cells
//! itself.

mod ids;
mod previous;
mod refresh;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Instant;

use crate::cli::Global;
use crate::engine::fetch::{self, FetchCases, Fetched};
use crate::engine::ledger::{Keyed, RunLedger};
use crate::engine::options::{HiddenRows, RunArgs};
use crate::engine::session::{InFlight, Input, Session, Spec, show_plan};
use crate::engine::{Sent, View, Work, confirm, finish};
use crate::entity::{CASES, Record};
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::outcome::Outcome;
use crate::plan;
use crate::record::journal::Journal;
use crate::record::ledger::RunStart;
use crate::report::changes::{self, States};
use crate::report::sheet;
use crate::report::summary::Summary;
use crate::report::summary_sheet::{self, CaseFacts, Tally};
use crate::send::{ConnectionArgs, PacingArgs};
use ids::{collect_ids, fingerprint_ids};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Case ids to export, e.g. 1001-1050,1060 (repeatable).
    #[arg(long, value_name = "LIST")]
    pub ids: Vec<String>,
    /// Spreadsheets whose kayse_id, id or case_id column lists the cases (results files, earlier
    /// exports, a firm's own list). Accepts several files.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub ids_from: Vec<PathBuf>,
    /// The column of the --ids-from files holding the ids [default: kayse_id, id or case_id].
    #[arg(long, value_name = "NAME", requires = "ids_from")]
    pub id_column: Option<String>,
    /// Every case id the ledger knows (not those this tool deleted), one GET each.
    #[arg(long)]
    pub all_known: bool,
    /// With --all-known: read again only the N cases the ledger has gone longest without seeing
    /// (never read first), then write the report from the ledger: every known case, with
    /// last_seen. 0 sends no request.
    #[arg(long, value_name = "N", requires = "all_known", conflicts_with_all = ["ids", "ids_from"])]
    pub refresh_budget: Option<u64>,
    /// In --ids-from workbooks (XLSX and XLSM), leave out rows hidden, e.g. by a filter
    /// [default: read them].
    #[arg(long)]
    pub skip_hidden_rows: bool,
    /// Where to write the cases: .xlsx or .csv.
    #[arg(long, default_value = "kayse-export.xlsx", value_name = "PATH")]
    pub out: PathBuf,
    /// An earlier export of these cases (.xlsx or .csv, it may be --out itself): add a Changes
    /// sheet (or <out>.changes.csv) with the cases new since, each changed field old -> new, and
    /// the cases gone (404).
    #[arg(long, value_name = "FILE")]
    pub changes_from: Option<PathBuf>,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub pacing: PacingArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

pub fn run(args: Args, g: &Global) -> CmdResult {
    let started = Instant::now();
    if crate::report::results::ResultsFormat::from_path(&args.out).is_none() {
        return Err(Fatal::usage(format!(
            "--out {} must end in .xlsx or .csv",
            args.out.display()
        )));
    }
    if let Some(n) = args.refresh_budget {
        return refresh::run(args, n, g);
    }
    let hidden = HiddenRows {
        skip: args.skip_hidden_rows,
        skip_by_default: false,
    };
    // Read before any request (and before --out is replaced, when it is the same file).
    let before = match &args.changes_from {
        Some(p) => Some((p.clone(), previous::read(p, &CASES)?)),
        None => None,
    };
    let journal = Journal::path_for(&args.out);
    let no_ids = args.ids.is_empty() && args.ids_from.is_empty();
    // A resume fetches what is left of the list its journal recorded, --all-known's included.
    let from_journal = args.run.resume && no_ids;
    let (mut ids, warnings) = if from_journal {
        (recorded_ids(&journal)?, Vec::new())
    } else if args.all_known && no_ids {
        Default::default()
    } else {
        collect_ids(&args.ids, &args.ids_from, args.id_column.as_deref(), hidden)?
    };
    if args.all_known && !from_journal {
        ids.extend(crate::engine::ledger::known_ids(g, &args.conn, "cases")?);
        ids = crate::check::ids::dedupe(ids);
    }
    if ids.is_empty() {
        return Err(Fatal::usage(
            "no case ids found in --ids / --ids-from / --all-known",
        ));
    }
    let session = if args.run.dry_run {
        None
    } else {
        let spec = Spec {
            command: "export",
            input: Input::Ids(ids.len()),
            journal: journal.clone(),
            fingerprint: fingerprint_ids(&ids),
            options: [(ids::RECORDED.to_string(), ids::compact(&ids))].into(),
            checked: None,
            refuse_fresh: None,
            in_flight: InFlight::Resend,
            retry_failed: true,
            server: crate::send::Server::of(&args.conn, g)?,
        };
        Some(Session::open(spec, args.run.resume)?)
    };
    let (doubtful, todo) = match &session {
        Some(s) => s.split(ids.clone(), |id: &u64| *id as usize),
        None => (Vec::new(), ids.clone()),
    };
    let requests = (todo.len() + doubtful.iter().map(|j| j.items.len()).sum::<usize>()) as u64;
    let plan_line = plan::export_line(requests, args.pacing.rate_limit, args.pacing.budget);
    if !g.quiet {
        for w in &warnings {
            eprintln!("warning: {w}");
        }
    }
    show_plan(&plan_line, g);
    let mut summary = finish::summary(
        "export",
        format!("{} distinct ids", ids.len()),
        Some(&args.out),
    );
    summary.rows_read = ids.len() as u64;
    summary.plan = Some(plan_line);
    summary.warnings = warnings;
    let Some(session) = session else {
        return finish::conclude(summary, g, None, started, |_| Ok(()));
    };
    let left = args
        .pacing
        .budget
        .unwrap_or(u64::from(args.pacing.rate_limit.requests));
    confirm::ask_if_over_budget(
        args.run.yes,
        requests,
        left,
        &format!(
            "This export needs {requests} requests and will not fit in the budget left ({left}). Start now? (run again with --resume if it stops)"
        ),
        "export cancelled; nothing was fetched",
    )?;
    let work = Work {
        doubtful,
        lists: vec![todo],
    };
    let out = args.out.display().to_string();
    let start = RunStart {
        command: "export",
        input: None,
        results: Some(&out),
    };
    let mut book = RunLedger::open(g, &args.conn, start, false, "cases", Keyed::Id)?;
    book.replay(session.prior.values())?;
    summary.ledger = Some(book.path_text());
    let sent = if work.is_empty() {
        session.skip_sending()
    } else {
        let mut live = session.connect(&args.conn, &args.pacing, g)?;
        let view = View {
            label: "export",
            total: requests,
            per_request: 1,
            shown: fetch::SHOWN,
        };
        live.send_recorded(FetchCases, work, 1, view, Some(&mut book));
        live.end()
    };
    let (cases, errors) = join(&ids, &sent, &mut summary);
    if !errors.is_empty() {
        let csv = args
            .out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let where_ = if csv {
            sheet::errors_csv_path(&args.out).display().to_string()
        } else {
            format!("the Errors sheet of {}", args.out.display())
        };
        summary.warnings.push(format!(
            "{} ids could not be exported: see {where_}",
            errors.len()
        ));
    }
    let to_csv = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !to_csv {
        // Nothing is cut without a word: a workbook's cell and calendar have limits.
        summary.warnings.extend(sheet::excel_limits(&cases));
    }
    // Unfinished: what was fetched goes to a partial file; --out is left as it was.
    let target = finish::output_for(&args.out, &sent);
    let partial = finish::partial_path(&args.out);
    if target != args.out {
        summary.results = Some(target.display().to_string());
        summary.warnings.push(format!(
            "the export did not finish: what was fetched is in {}; {} is left as it was, and --resume completes it there",
            target.display(),
            args.out.display()
        ));
    }
    let changes = before.map(|(path, before)| {
        // A workbook cut its long texts: compare with what it could hold.
        let text = path.extension().is_some_and(|e| {
            ["csv", "txt", "tab", "tsv"]
                .iter()
                .any(|t| e.eq_ignore_ascii_case(t))
        });
        let read: States = cases
            .iter()
            .filter_map(|c| {
                let state = c.to_json();
                Some((
                    c.id?,
                    if text {
                        state
                    } else {
                        changes::as_a_workbook_holds(&state)
                    },
                ))
            })
            .collect();
        let list = changes::diff(&before, &read, &gone(&sent));
        summary.changes = Some(changes::Since {
            since: path.display().to_string(),
            counts: changes::Counts::of(&list),
        });
        changes::rows(&list, &before, &read)
    });
    let extras = sheet::Extras {
        summary: (!to_csv).then(|| report_summary(&cases)),
        changes,
    };
    let done = finish::conclude(summary, g, Some(&sent), started, |_| {
        sheet::write_with(&target, &CASES, &cases, &errors, &extras)
            .map_err(|e| Fatal::from_error(ExitCode::Stopped, e))
    });
    // A complete export needs its journal and partial file no more: the data is in --out, and
    // a later export of the same ids should fetch fresh answers.
    if done.is_ok() {
        let _ = std::fs::remove_file(&journal);
        let _ = std::fs::remove_file(sheet::errors_csv_path(&partial));
        let _ = std::fs::remove_file(&partial);
    }
    book.end(&done);
    done
}

/// `--resume` without `--ids` or `--ids-from`: the ids the journal beside `--out` recorded.
fn recorded_ids(journal: &std::path::Path) -> Result<Vec<u64>, Fatal> {
    if !journal.exists() {
        return Err(Fatal::usage(format!(
            "nothing to resume: no journal at {}",
            journal.display()
        )));
    }
    let recorded = crate::engine::session::recorded_options(journal)?;
    let text = recorded.get(ids::RECORDED).ok_or_else(|| {
        Fatal::usage(format!(
            "the journal {} does not record its ids (an older version wrote it): give the --ids or --ids-from of the first run",
            journal.display()
        ))
    })?;
    ids::expand(text).map_err(|e| {
        Fatal::usage(format!(
            "the journal {} records an unreadable id list: {e}",
            journal.display()
        ))
    })
}

/// The Summary sheet of this export: every case was seen just now (the ledger knows older dates).
fn report_summary(cases: &[Record]) -> (Tally, String) {
    let now = chrono::Local::now();
    let today = now.date_naive();
    let tally = summary_sheet::tally(cases.iter().map(|c| CaseFacts::of(c, Some(today))), today);
    let title = format!(
        "{} cases exported {}",
        cases.len(),
        now.format("%Y-%m-%d %H:%M")
    );
    (tally, title)
}

/// The ids Kayse answered 404 for: deleted or merged since.
fn gone(sent: &Sent) -> BTreeSet<u64> {
    Fetched::from_records(sent.outcomes.values())
        .not_found
        .into_iter()
        .collect()
}

/// The fetched cases in the order the ids were given, and an error for every other id, each
/// counted in the summary.
fn join(ids: &[u64], sent: &Sent, summary: &mut Summary) -> (Vec<Record>, Vec<(u64, String)>) {
    let fetched = Fetched::from_records(sent.outcomes.values());
    let not_fetched = sent.not_sent("fetched");
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        if let Some(c) = fetched.cases.get(id) {
            cases.push(c.clone());
            *summary.counts.entry("exported".into()).or_default() += 1;
        } else if let Some(e) = fetched.errors.get(id) {
            errors.push((*id, e.clone()));
            summary.count(if fetched.not_found.contains(id) {
                Outcome::NotFound
            } else {
                Outcome::Failed
            });
        } else {
            errors.push((*id, not_fetched.clone()));
            summary.count(Outcome::Skipped);
        }
    }
    (cases, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetched_cases_join_the_ids_in_order() {
        use crate::record::journal::RowRecord;
        let rec =
            |id: u64, outcome, data: Option<serde_json::Value>, error: Option<&str>| RowRecord {
                row: id as usize,
                batch: None,
                outcome,
                id: Some(id),
                error: error.map(str::to_string),
                data,
            };
        let mut sent = Sent::nothing();
        sent.stop = Some(crate::engine::StopReason::Budget);
        for r in [
            rec(3, Outcome::Valid, Some(serde_json::json!({"id": 3})), None),
            rec(1, Outcome::NotFound, None, Some("case 1 not found (404)")),
            rec(2, Outcome::Failed, None, Some("Kayse answered 500")),
        ] {
            sent.outcomes.insert(r.row, r);
        }
        let mut summary = Summary::default();
        let (cases, errors) = join(&[3, 1, 2, 4], &sent, &mut summary);
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].id, Some(3));
        let want: Vec<(u64, String)> = vec![
            (1, "case 1 not found (404)".into()),
            (2, "Kayse answered 500".into()),
            (
                4,
                "not fetched: the --budget is spent; run again with --resume".into(),
            ),
        ];
        assert_eq!(errors, want);
        for (word, n) in [
            ("exported", 1),
            ("not_found", 1),
            ("failed", 1),
            ("skipped", 1),
        ] {
            assert_eq!(summary.counts.get(word), Some(&n), "{word}");
        }
    }
}
