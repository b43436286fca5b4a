//! `kayse-bulk delete FILE`: delete the cases a spreadsheet lists, in `bulk_delete` requests of at
//! most 500 ids, after a typed confirmation (or `--yes`), optionally exporting them first
//! (`--backup`, through the engine's shared case fetch). What is particular to delete: which
//! rows hold ids (`rows`), and what an answer means for each id (`send`).
//!
//! Lost answers: resending `bulk_delete` is harmless (an id already gone just comes back absent),
//! so a chunk whose answer was lost is resent. But then an absent id cannot be told apart: it was
//! deleted by the lost attempt, or never existed. Such ids are marked `unknown` with that
//! explanation, never `deleted` (we only say deleted when an answer lists the id). Either way the
//! case is no longer in Kayse.
mod rows;
mod send;

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::check::ids;
use crate::cli::Global;
use crate::engine::fetch::{self, Fetch, Fetched};
use crate::engine::finish::{self, Results};
use crate::engine::ledger::{Keyed, RunLedger};
use crate::engine::options::{InputArgs, ResultsArgs, RunArgs};
use crate::engine::session::{InFlight, Input, Session, Spec, show_plan};
use crate::engine::{Live, View, Work, confirm};
use crate::entity::CASES;
use crate::error::{CmdResult, Fatal};
use crate::outcome::Outcome;
use crate::plan::{DeleteWork, MAX_DELETE_IDS};
use crate::record::journal::Journal;
use crate::record::ledger::RunStart;
use crate::send::{ConnectionArgs, PacingArgs};
use rows::Row;
use send::Delete;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Also delete the cases of rows hidden in the workbook, e.g. by a filter [default: hidden
    /// rows are left out, and the confirmation and the summary name them].
    #[arg(long)]
    pub include_hidden_rows: bool,
    /// The column holding the ids [default: kayse_id, id or case_id].
    #[arg(long, value_name = "NAME")]
    pub id_column: Option<String>,
    /// The input is an earlier delete's results file: delete only the rows that failed; rows
    /// already deleted are never sent again, with or without it.
    #[arg(long)]
    pub only_failed: bool,
    /// Also delete the clients linked to each case (with_clients: true).
    #[arg(long)]
    pub with_clients: bool,
    /// Export the cases to this .xlsx or .csv before deleting them (one GET per case).
    #[arg(long, value_name = "PATH")]
    pub backup: Option<PathBuf>,
    #[command(flatten)]
    pub results: ResultsArgs,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub pacing: PacingArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// What delete's progress line counts.
const SHOWN: &[(&str, Outcome)] = &[
    ("deleted", Outcome::Deleted),
    ("not found", Outcome::NotFound),
    ("failed", Outcome::Failed),
    ("unknown", Outcome::Unknown),
];

pub fn run(mut args: Args, g: &Global) -> CmdResult {
    let started = Instant::now();
    let results_path = args.results.path_for(&args.input.file, "delete")?;
    crate::engine::session::restore_reading(args.run.resume, &results_path, &mut args.input)?;
    let mut options = std::collections::BTreeMap::new();
    args.input.record(&mut options);
    let sheet = rows::read_rows(&args)?;
    let all = ids::dedupe(sheet.rows.iter().filter_map(|(_, r)| match r {
        Row::Id { id, .. } => Some(*id),
        _ => None,
    }));
    let mut session = open_session(&args, &results_path, &sheet.fingerprint, options, g)?;
    let (doubtful, fresh) = match &session {
        Some(s) => s.split(all, |id: &u64| *id as usize),
        None => (Vec::new(), all),
    };
    let todo: Vec<u64> = doubtful
        .iter()
        .flat_map(|j| j.items.iter().copied())
        .chain(fresh.iter().copied())
        .collect();
    // A resumed run whose backup is written does not fetch it again.
    let backup = args
        .backup
        .as_deref()
        .filter(|b| !(args.run.resume && b.exists()));
    let counts = DeleteWork {
        ids: todo.len() as u64,
        fresh: fresh.len() as u64,
        doubtful_groups: doubtful.len() as u64,
        backup_gets: backup.map_or(0, |_| todo.len() as u64),
        with_clients: args.with_clients,
    };
    let plan_line = counts.line(args.pacing.rate_limit);
    match session.as_mut() {
        Some(s) => s.plan(plan_line.clone(), g),
        None => show_plan(&plan_line, g),
    }
    let mut what = what(&todo, args.run.dry_run, args.with_clients);
    if let Some(note) = rows::hidden_note(&sheet.facts) {
        what = format!("{what}\n{note}");
    }
    let mut book = None;
    let sent = match session {
        None => {
            if !g.quiet && !todo.is_empty() {
                eprintln!("dry run: {what}");
            }
            None
        }
        Some(s) if todo.is_empty() => Some(s.skip_sending()),
        Some(s) => {
            confirm::confirm_action(args.run.yes, &what, todo.len() as u64, "delete")?;
            let b = book.insert(ledger_run(&args, &results_path, g)?);
            b.replay(s.prior.values())?;
            let mut live = s.connect(&args.conn, &args.pacing, g)?;
            if let Some(path) = backup {
                back_up(&mut live, &todo, path, g)?;
            }
            let view = View {
                label: "delete",
                total: todo.len() as u64,
                per_request: MAX_DELETE_IDS,
                shown: SHOWN,
            };
            let work = Work {
                doubtful,
                lists: vec![fresh],
            };
            let with_clients = args.with_clients;
            let sink: &mut dyn crate::engine::Sink = b;
            live.send_recorded(
                Delete { with_clients },
                work,
                MAX_DELETE_IDS as usize,
                view,
                Some(sink),
            );
            Some(live.end())
        }
    };
    let mut summary = finish::summary("delete", args.input.file.display(), Some(&results_path));
    sheet.facts.start(Some(&results_path), &mut summary);
    sheet.facts.finish(&mut summary);
    summary.plan = Some(plan_line);
    summary.blank_rows = sheet.blank;
    summary.ledger = book.as_ref().map(RunLedger::path_text);
    if args.run.dry_run {
        summary.warnings.push(format!(
            "dry run: nothing was deleted ({} cases would be)",
            todo.len()
        ));
    }
    let hidden = sheet.echo.columns(sheet.facts.hidden_columns());
    let headers = sheet.echo.headers(&sheet.headers);
    let mut results = Results::create(&results_path, &headers, &[], &hidden, summary)?;
    let header = &sheet.headers[sheet.col];
    let echo = &sheet.echo;
    rows::write_rows(
        &mut results,
        sheet.rows,
        header,
        sheet.col,
        echo,
        sent.as_ref(),
    )?;
    let done = results.finish(g, sent.as_ref(), started);
    if let Some(b) = book {
        b.end(&done);
    }
    // A finished delete leaves nothing that blocks next week's: the results hold what it did,
    // and deleting again is harmless (`not_found`), so its journal has no more to protect.
    if done.is_ok() && sent.is_some() {
        let _ = std::fs::remove_file(Journal::path_for(&results_path));
    }
    done
}

/// The run's journal session, none for a dry run.
fn open_session(
    args: &Args,
    results_path: &Path,
    fingerprint: &crate::engine::input::FingerprintSlot,
    options: std::collections::BTreeMap<String, String>,
    g: &Global,
) -> Result<Option<Session>, Fatal> {
    if args.run.dry_run {
        return Ok(None);
    }
    let spec = Spec {
        command: "delete",
        input: Input::File(args.input.file.clone()),
        journal: Journal::path_for(results_path),
        fingerprint: fingerprint.finished()?,
        options,
        checked: None,
        refuse_fresh: None,
        in_flight: InFlight::Resend,
        retry_failed: true,
        server: crate::send::Server::of(&args.conn, g)?,
    };
    Ok(Some(Session::open(spec, args.run.resume)?))
}

/// The ledger of a delete run: it marks each id deleted (or gone, on a 404).
fn ledger_run(args: &Args, results: &Path, g: &Global) -> Result<RunLedger, Fatal> {
    let (input, out) = (
        args.input.file.display().to_string(),
        results.display().to_string(),
    );
    let start = RunStart {
        command: "delete",
        input: Some(&input),
        results: Some(&out),
    };
    RunLedger::open(g, &args.conn, start, true, "cases", Keyed::Id)
}

/// What the confirmation (or the dry run) shows: the count and the first ten ids.
fn what(todo: &[u64], dry_run: bool, with_clients: bool) -> String {
    let preview: Vec<String> = todo.iter().take(10).map(u64::to_string).collect();
    format!(
        "{} {} cases{} from Kayse: ids {}{}",
        if dry_run {
            "Would delete"
        } else {
            "About to delete"
        },
        todo.len(),
        if with_clients {
            " and their clients"
        } else {
            ""
        },
        preview.join(", "),
        if todo.len() > 10 { ", …" } else { "" }
    )
}

/// `--backup`: fetch every case about to be deleted (through the shared case fetch, not
/// journaled: a GET changes nothing) and write them, or stop with nothing deleted.
fn back_up(live: &mut Live, todo: &[u64], path: &Path, g: &Global) -> Result<(), Fatal> {
    let view = View {
        label: "backup",
        total: todo.len() as u64,
        per_request: 1,
        shown: fetch::SHOWN,
    };
    let got = live.side(Fetch(&CASES), Work::list(todo.to_vec()), 1, view);
    if live.stopping() {
        let why = got
            .stop
            .map(|r| r.message())
            .unwrap_or_else(|| "the run was interrupted".into());
        return Err(Fatal::stopped(format!(
            "the backup stopped ({why}); nothing was deleted"
        )));
    }
    let f = Fetched::from_records(&CASES, got.outcomes.values());
    let failed: Vec<_> = f
        .errors
        .iter()
        .filter(|(id, _)| !f.not_found.contains(id))
        .collect();
    if let Some((id, e)) = failed.first() {
        return Err(Fatal::stopped(format!(
            "the backup could not fetch {} cases (e.g. {id}: {e}); nothing was deleted",
            failed.len()
        )));
    }
    let cases: Vec<_> = todo
        .iter()
        .filter_map(|id| f.records.get(id).cloned())
        .collect();
    let errs: Vec<_> = f.errors.into_iter().collect();
    crate::report::sheet::write(path, &CASES, &cases, &errs)
        .map_err(|e| Fatal::from_error(crate::error::ExitCode::Stopped, e))?;
    if !g.quiet {
        eprintln!(
            "backup: {} cases written to {}",
            cases.len(),
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_shown_before_deleting() {
        let ids: Vec<u64> = (1..=12).collect();
        let table = [
            (
                &ids[..2],
                false,
                false,
                "About to delete 2 cases from Kayse: ids 1, 2",
            ),
            (
                &ids[..1],
                true,
                true,
                "Would delete 1 cases and their clients from Kayse: ids 1",
            ),
            (
                &ids[..],
                false,
                false,
                "About to delete 12 cases from Kayse: ids 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, …",
            ),
        ];
        for (todo, dry, clients, want) in table {
            assert_eq!(what(todo, dry, clients), want);
        }
    }
}
