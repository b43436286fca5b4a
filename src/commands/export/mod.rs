//! `kayse-bulk export`: fetch cases by id (the engine's shared fetch, one paced GET each) and
//! write them as a valid import file; with `--with-clients`, then fetch each distinct client
//! those cases link to, once, onto a `Clients` sheet. What is particular to export: where the
//! ids come from (`ids`) and how the fetched records are laid out (`report::sheet`). It never
//! formats cells itself.

mod ids;
mod join;
mod previous;
mod refresh;
mod stalest;

use std::path::PathBuf;
use std::time::Instant;

use crate::cli::Global;
use crate::engine::fetch::{self, Fetch, Fetched};
use crate::engine::ledger::{Keyed, RunLedger};
use crate::engine::options::RunArgs;
use crate::engine::session::{InFlight, Input, Session, Spec, show_plan};
use crate::engine::{View, Work, confirm, finish};
use crate::entity::{CASES, CLIENTS};
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::plan;
use crate::record::journal::Journal;
use crate::record::ledger::RunStart;
use crate::report::sheet;
use crate::send::{ConnectionArgs, PacingArgs};
use ids::fingerprint_ids;

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
    /// Also fetch each distinct client of the cases (one GET each) onto a Clients sheet (a CSV
    /// export writes them to <out>.clients.csv); the cases' client_ids name them by id.
    #[arg(long)]
    pub with_clients: bool,
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
    // Read before any request (and before --out is replaced, when it is the same file).
    let before = match &args.changes_from {
        Some(p) => Some((p.clone(), previous::read(p, &CASES)?)),
        None => None,
    };
    let journal = Journal::path_for(&args.out);
    let (ids, warnings) = ids::to_export(&args, &journal, g)?;
    let session = open_session(&args, &ids, &journal, g)?;
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
    ask_budget(&args, requests, "export")?;
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
    let (sent, clients) = fetch_all(&args, g, session, work, requests, &ids, &mut book)?;
    let (cases, mut errors) = join::join(&ids, &sent, &mut summary);
    let clients = clients.map(|(client_ids, fetched)| {
        let (records, client_errors) = join::join_clients(&client_ids, fetched, &mut summary);
        errors.extend(client_errors);
        records
    });
    if args.with_clients && clients.is_none() {
        summary
            .warnings
            .push("the clients were not fetched: the run stopped first".to_string());
    }
    if !errors.is_empty() {
        summary.warnings.push(format!(
            "{} ids could not be exported: see {}",
            errors.len(),
            join::errors_where(&args.out)
        ));
    }
    let to_csv = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !to_csv {
        // Nothing is cut without a word: a workbook's cell and calendar have limits.
        summary.warnings.extend(sheet::excel_limits(&cases));
        summary
            .warnings
            .extend(clients.iter().flat_map(|c| sheet::excel_limits(c)));
    }
    // Unfinished: what was fetched goes to a partial file; --out is left as it was.
    let target = finish::output_for(&args.out, &sent);
    let partial = finish::partial_path(&args.out);
    join::note_unfinished(
        &args.out,
        &target,
        "the export did not finish: what was fetched is in",
        &mut summary,
    );
    let changes = before
        .map(|(path, before)| join::changes_since(&path, &before, &cases, &sent, &mut summary));
    let extras = sheet::Extras {
        summary: (!to_csv).then(|| join::report_summary(&cases)),
        changes,
        linked: clients.map(|c| (&CLIENTS, c)),
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

/// The clients `--with-clients` asked for, in order, and what fetching them brought.
type Clients = (Vec<u64>, Fetched);

/// Fetch the cases (recorded in the ledger as they come), then with `--with-clients` each
/// distinct client they link to, once, unless the run is stopping. The clients come back with
/// the ids asked for, in order.
fn fetch_all(
    args: &Args,
    g: &Global,
    session: Session,
    work: Work<u64>,
    requests: u64,
    ids: &[u64],
    book: &mut RunLedger,
) -> Result<(crate::engine::Sent, Option<Clients>), Fatal> {
    Ok(if work.is_empty() && !args.with_clients {
        (session.skip_sending(), None)
    } else {
        let mut live = session.connect(&args.conn, &args.pacing, g)?;
        let view = View {
            label: "export",
            total: requests,
            per_request: 1,
            shown: fetch::SHOWN,
        };
        if !work.is_empty() {
            live.send_recorded(Fetch(&CASES), work, 1, view, Some(book));
        }
        let clients = if args.with_clients && !live.stopping() {
            let fetched = Fetched::from_records(&CASES, live.outcomes().values());
            let client_ids = join::client_ids_of(ids, &fetched);
            if !g.quiet && !client_ids.is_empty() {
                eprintln!(
                    "--with-clients: {} distinct clients, one request each",
                    client_ids.len()
                );
            }
            let view = View {
                label: "clients",
                total: client_ids.len() as u64,
                per_request: 1,
                shown: fetch::SHOWN,
            };
            let got = live.side(Fetch(&CLIENTS), Work::list(client_ids.clone()), 1, view);
            Some((
                client_ids,
                Fetched::from_records(&CLIENTS, got.outcomes.values()),
            ))
        } else {
            None
        };
        (live.end(), clients)
    })
}

/// The run's journal session, none for a dry run. The journal records the id list, so a
/// `--resume` needs no `--ids` again.
fn open_session(
    args: &Args,
    ids: &[u64],
    journal: &std::path::Path,
    g: &Global,
) -> Result<Option<Session>, Fatal> {
    if args.run.dry_run {
        return Ok(None);
    }
    let spec = Spec {
        command: "export",
        input: Input::Ids(ids.len()),
        journal: journal.to_path_buf(),
        fingerprint: fingerprint_ids(ids),
        options: [(ids::RECORDED.to_string(), ids::compact(ids))].into(),
        checked: None,
        refuse_fresh: None,
        in_flight: InFlight::Resend,
        retry_failed: true,
        server: crate::send::Server::of(&args.conn, g)?,
    };
    Ok(Some(Session::open(spec, args.run.resume)?))
}

/// On a terminal, ask before a run whose `requests` will not fit in the budget left (`--budget`,
/// else the rate limit's window); `--yes` answers for it. `what` names the run.
fn ask_budget(args: &Args, requests: u64, what: &str) -> Result<(), Fatal> {
    let left = args
        .pacing
        .budget
        .unwrap_or(u64::from(args.pacing.rate_limit.requests));
    confirm::ask_if_over_budget(
        args.run.yes,
        requests,
        left,
        &format!(
            "This {what} needs {requests} requests and will not fit in the budget left ({left}). Start now? (run again with --resume if it stops)"
        ),
        "export cancelled; nothing was fetched",
    )
}
