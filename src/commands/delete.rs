//! `kayse-bulk delete FILE`: delete the cases a spreadsheet lists, in `bulk_delete` requests of at
//! most 500 ids, after a typed confirmation (or `--yes`), optionally exporting them first
//! (`--backup`). Every request and outcome is journaled so `--resume` continues safely.
//!
//! Lost answers: resending `bulk_delete` is harmless (an id already gone just comes back absent),
//! so a chunk whose answer was lost is resent. But then an absent id cannot be told apart: it was
//! deleted by the lost attempt, or never existed. Such ids are marked `unknown` with that
//! explanation, never `deleted` (we only say deleted when an answer lists the id). Either way the
//! case is no longer in Kayse.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::cell::Cell;
use crate::cli::Global;
use crate::commands::export::{self, earlier_journal, runtime, watch_ctrl_c};
use crate::commands::validate;
use crate::error::{CmdResult, Fatal};
use crate::outcome::{Outcome, ResultRow, RowError};
use crate::read::{self, ReadOptions};
use crate::record::journal::{Fingerprint, Header, Journal, Record, RowRecord};
use crate::report::results::ResultsWriter;
use crate::report::summary::Summary;
use crate::send::{self, CallError, Client, ConnectionArgs, PacingArgs, StopSignal};

/// The API's documented maximum of ids per `bulk_delete`.
pub const MAX_IDS: usize = 500;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Spreadsheet listing the cases to delete (a kayse_id, id or case_id column).
    pub file: PathBuf,
    /// The column holding the ids [default: kayse_id, id or case_id].
    #[arg(long, value_name = "NAME")]
    pub id_column: Option<String>,
    /// Workbook sheet to read, by name or 0-based index.
    #[arg(long, value_name = "NAME|INDEX")]
    pub sheet: Option<String>,
    /// Also delete the clients linked to each case (with_clients: true).
    #[arg(long)]
    pub with_clients: bool,
    /// Export the cases to this .xlsx or .csv before deleting them (one GET per case).
    #[arg(long, value_name = "PATH")]
    pub backup: Option<PathBuf>,
    /// Results file, .xlsx or .csv [default: <input stem>.results.xlsx beside the input].
    #[arg(long, value_name = "PATH")]
    pub results: Option<PathBuf>,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub pacing: PacingArgs,
    /// Show what would be deleted; send nothing (no network at all).
    #[arg(long)]
    pub dry_run: bool,
    /// Continue the run recorded in the journal beside the results file.
    #[arg(long)]
    pub resume: bool,
    /// Delete without asking (required when there is no terminal to ask on).
    #[arg(long)]
    pub yes: bool,
}

/// One input row as read.
enum Row {
    Blank,
    Bad {
        cells: Vec<Cell>,
        error: String,
    },
    /// The id cell is empty (e.g. an invalid row of an import's results file): nothing to delete.
    NoId {
        cells: Vec<Cell>,
    },
    Id {
        cells: Vec<Cell>,
        id: u64,
    },
}

const LOST: &str = "an earlier attempt of this request lost its answer, and the case is not in the resent request's deleted_ids: it was either deleted by that attempt or never existed. Either way it is no longer in Kayse";

/// Outcomes of one chunk from its answer. `in_doubt`: an earlier attempt may have been applied.
fn judge(
    chunk: &[u64],
    deleted: &BTreeSet<u64>,
    in_doubt: bool,
) -> Vec<(u64, Outcome, Option<String>)> {
    chunk
        .iter()
        .map(|id| {
            if deleted.contains(id) {
                (*id, Outcome::Deleted, None)
            } else if in_doubt {
                (*id, Outcome::Unknown, Some(LOST.to_string()))
            } else {
                (
                    *id,
                    Outcome::NotFound,
                    Some(format!("case {id} does not exist in Kayse")),
                )
            }
        })
        .collect()
}

pub fn run(args: Args, g: &Global) -> CmdResult {
    let started = std::time::Instant::now();
    let results_path = args
        .results
        .clone()
        .unwrap_or_else(|| validate::default_results_path(&args.file));
    validate::check_results_path(&results_path)?;
    let opts = ReadOptions {
        sheet: args.sheet.clone(),
        ..Default::default()
    };
    let table = read::open(&args.file, &opts).map_err(|e| Fatal::usage(e.to_string()))?;
    let headers = table.headers.clone();
    let col = crate::check::ids::find_column(&headers, args.id_column.as_deref())
        .map_err(|e| Fatal::usage(format!("{}: {e}", args.file.display())))?;
    let mut rows: Vec<(usize, Row)> = Vec::new();
    for raw in table.rows {
        let raw = raw.map_err(|e| Fatal::usage(e.to_string()))?;
        if raw.is_blank() {
            rows.push((raw.source_row, Row::Blank));
            continue;
        }
        let r = match crate::check::ids::from_cell(raw.cells.get(col).unwrap_or(&Cell::Empty)) {
            Ok(Some(id)) => Row::Id {
                cells: raw.cells,
                id,
            },
            Ok(None) => Row::NoId { cells: raw.cells },
            Err(e) => Row::Bad {
                cells: raw.cells,
                error: e.to_string(),
            },
        };
        rows.push((raw.source_row, r));
    }
    let ids = crate::check::ids::dedupe(rows.iter().filter_map(|(_, r)| match r {
        Row::Id { id, .. } => Some(*id),
        _ => None,
    }));

    let journal_path = Journal::path_for(&results_path);
    let fp = Fingerprint::of_file(&args.file).map_err(|e| Fatal::usage(e.to_string()))?;
    let earlier = if args.dry_run {
        None
    } else {
        earlier_journal(&journal_path, args.resume, &fp, "delete", "input file")?
    };
    let mut outcomes: BTreeMap<u64, (Outcome, Option<String>)> = BTreeMap::new();
    let mut doubtful: Vec<Vec<u64>> = Vec::new();
    if let Some((_, st)) = &earlier {
        for rec in st.outcomes.values() {
            if rec.outcome != Outcome::Failed {
                outcomes.insert(rec.row as u64, (rec.outcome, rec.error.clone()));
            }
        }
        for g in &st.in_flight {
            doubtful.push(g.iter().map(|r| *r as u64).collect());
        }
    }
    let in_doubt: BTreeSet<u64> = doubtful.iter().flatten().copied().collect();
    let fresh: Vec<u64> = ids
        .iter()
        .copied()
        .filter(|id| !outcomes.contains_key(id) && !in_doubt.contains(id))
        .collect();
    let todo: Vec<u64> = doubtful
        .iter()
        .flatten()
        .copied()
        .chain(fresh.iter().copied())
        .collect();
    let requests = doubtful.len() as u64 + fresh.len().div_ceil(MAX_IDS) as u64;
    let backup_gets = if args.backup.is_some()
        && !(args.resume && args.backup.as_ref().is_some_and(|b| b.exists()))
    {
        todo.len() as u64
    } else {
        0
    };
    let mut plan = format!(
        "{} cases to delete{} in {requests} bulk_delete request{} (at most {MAX_IDS} ids each)",
        todo.len(),
        if args.with_clients {
            " with their clients"
        } else {
            ""
        },
        if requests == 1 { "" } else { "s" }
    );
    if backup_gets > 0 {
        plan.push_str(&format!(", plus {backup_gets} GETs for --backup"));
    }
    plan.push_str(&format!(
        "; {}",
        validate::plan_text(requests + backup_gets, args.pacing.rate_limit, None)
    ));
    if !g.quiet {
        eprintln!("plan: {plan}");
    }

    let mut stop: Option<String> = None;
    let mut interrupted = false;
    let mut stats = None;
    let preview: Vec<String> = todo.iter().take(10).map(u64::to_string).collect();
    let what = format!(
        "{} {} cases{} from Kayse: ids {}{}",
        if args.dry_run {
            "Would delete"
        } else {
            "About to delete"
        },
        todo.len(),
        if args.with_clients {
            " and their clients"
        } else {
            ""
        },
        preview.join(", "),
        if todo.len() > 10 { ", …" } else { "" }
    );
    if args.dry_run && !g.quiet && !todo.is_empty() {
        eprintln!("dry run: {what}");
    }
    if !args.dry_run && !todo.is_empty() {
        crate::engine::confirm::confirm_action(args.yes, &what, todo.len() as u64, "delete")?;
        let rt = runtime()?;
        rt.block_on(async {
            let conn = send::connect(&args.conn, g).await?;
            let sig_stop = Arc::new(StopSignal::default());
            let client = Client::new(&conn, &args.pacing, sig_stop.clone())?;
            let (sig, flag) = watch_ctrl_c(sig_stop, g.quiet, args.conn.timeout);
            let mut journal = match earlier {
                Some((mut j, _)) => {
                    let _ = j.note("resumed");
                    j
                }
                None => Journal::create(&journal_path, Header::new("delete", &args.file, &fp))
                    .map_err(|e| Fatal::usage(e.to_string()))?,
            };
            if backup_gets > 0
                && let Some(path) = &args.backup
            {
                let f = export::fetch(&client, &todo, args.pacing.concurrency as usize, None, g.quiet, "backup").await;
                if let Some(s) = f.stop {
                    sig.abort();
                    return Err(Fatal::stopped(format!("the backup stopped ({s}); nothing was deleted")));
                }
                let failed = f.errors.len() - f.not_found.len();
                if failed > 0 {
                    sig.abort();
                    return Err(Fatal::stopped(format!(
                        "the backup could not fetch {failed} cases (e.g. {}); nothing was deleted",
                        f.errors.iter().find(|(id, _)| !f.not_found.contains(id)).map(|(id, e)| format!("{id}: {e}")).unwrap_or_default()
                    )));
                }
                let cases: Vec<_> = todo.iter().filter_map(|id| f.cases.get(id).cloned()).collect();
                let errs: Vec<_> = f.errors.into_iter().collect();
                crate::report::sheet::write(path, &crate::entity::CASES, &cases, &errs)
                    .map_err(|e| Fatal::from_error(crate::error::ExitCode::Stopped, e))?;
                if !g.quiet {
                    eprintln!("backup: {} cases written to {}", cases.len(), path.display());
                }
            }
            let chunks: Vec<(Vec<u64>, bool)> = doubtful
                .iter()
                .map(|c| (c.clone(), true))
                .chain(fresh.chunks(MAX_IDS).map(|c| (c.to_vec(), false)))
                .collect();
            let n_chunks = chunks.len();
            for (k, (chunk, doubt)) in chunks.into_iter().enumerate() {
                if !g.quiet && n_chunks > 1 {
                    eprintln!("bulk_delete {} of {n_chunks} ({} ids)", k + 1, chunk.len());
                }
                if client.pacer().stop_signal().is_stopped() {
                    break;
                }
                let rows: Vec<usize> = chunk.iter().map(|i| *i as usize).collect();
                let batch = match journal.sent(&rows) {
                    Ok(b) => b,
                    Err(e) => {
                        stop = Some(e.to_string());
                        break;
                    }
                };
                let judged = match client.bulk_delete(&chunk, args.with_clients).await {
                    Ok((deleted, lost)) => {
                        judge(&chunk, &deleted.into_iter().collect(), doubt || lost)
                    }
                    Err(e @ (CallError::KeyRejected { .. } | CallError::Halted { .. })) => {
                        if !e.maybe_applied() && !doubt {
                            let _ = journal.append(&[Record::Released { batch, rows }]);
                        }
                        stop = Some(export::stop_reason(&e));
                        break;
                    }
                    Err(e) => {
                        let (o, msg) = if e.maybe_applied() || doubt {
                            (Outcome::Unknown, format!("{e}; the request may have been applied: run again with --resume to settle it"))
                        } else {
                            (Outcome::Failed, e.to_string())
                        };
                        chunk.iter().map(|id| (*id, o, Some(msg.clone()))).collect()
                    }
                };
                let recs: Vec<Record> = judged
                    .iter()
                    .map(|(id, o, e)| {
                        Record::Row(RowRecord {
                            row: *id as usize,
                            batch: Some(batch),
                            outcome: *o,
                            id: Some(*id),
                            error: e.clone(),
                            data: None,
                        })
                    })
                    .collect();
                if let Err(e) = journal.append(&recs) {
                    stop = Some(e.to_string());
                    break;
                }
                for (id, o, e) in judged {
                    outcomes.insert(id, (o, e));
                }
            }
            sig.abort();
            interrupted = flag.load(Ordering::SeqCst);
            if interrupted {
                let _ = journal.note("interrupted (Ctrl-C)");
            } else if let Some(s) = &stop {
                let _ = journal.note(format!("stopped: {s}"));
            }
            stats = Some(client.stats());
            Ok(())
        })?;
    }

    // Results: one row per input row.
    let mut writer = ResultsWriter::create(&results_path, &headers, &[])
        .map_err(|e| Fatal::stopped(e.to_string()))?;
    let mut summary = Summary {
        command: "delete".into(),
        command_line: validate::command_line(),
        input: args.file.display().to_string(),
        results: Some(results_path.display().to_string()),
        plan: Some(plan),
        ..Default::default()
    };
    let not_sent = if interrupted {
        "not sent: the run was interrupted; run again with --resume".to_string()
    } else if let Some(s) = &stop {
        format!("not sent: {s}; run again with --resume")
    } else {
        "not sent".to_string()
    };
    let mut first_row: BTreeMap<u64, usize> = BTreeMap::new();
    for (source_row, r) in rows {
        let (outcome, id, errors, cells) = match r {
            Row::Blank => {
                summary.blank_rows += 1;
                continue;
            }
            Row::NoId { cells } => (
                Outcome::Skipped,
                None,
                vec![
                    RowError::new(headers[col].clone(), "no id in this row; nothing to delete")
                        .at(Some(col)),
                ],
                cells,
            ),
            Row::Bad { cells, error } => {
                let value = cells.get(col).map(Cell::to_text).unwrap_or_default();
                let mut e = RowError::new(headers[col].clone(), error).at(Some(col));
                if !value.trim().is_empty() {
                    e = e.with_value(value);
                }
                (Outcome::Invalid, None, vec![e], cells)
            }
            Row::Id { cells, id } => {
                let mut errors = Vec::new();
                let first = *first_row.entry(id).or_insert(source_row);
                if first != source_row {
                    errors.push(RowError::new(
                        "id",
                        format!("same id as row {first}; sent once"),
                    ));
                }
                let o = if args.dry_run {
                    Outcome::Valid
                } else if let Some((o, e)) = outcomes.get(&id) {
                    if let Some(e) = e {
                        errors.insert(0, RowError::new("kayse", e.clone()));
                    }
                    *o
                } else {
                    errors.insert(0, RowError::new("kayse", not_sent.clone()));
                    Outcome::Skipped
                };
                (o, Some(id), errors, cells)
            }
        };
        summary.rows_read += 1;
        summary.count(outcome);
        writer
            .write(&ResultRow {
                source_row,
                outcome,
                kayse_id: id,
                errors,
                cells,
                extra: Vec::new(),
            })
            .map_err(|e| Fatal::stopped(e.to_string()))?;
    }
    if let Some(mut s) = stats {
        s.elapsed_secs = started.elapsed().as_secs_f64();
        summary.requests = Some(s);
    }
    if args.dry_run {
        summary.warnings.push(format!(
            "dry run: nothing was deleted ({} cases would be)",
            todo.len()
        ));
    }
    validate::finish_run(summary, writer, g, interrupted, stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judging_a_chunk() {
        let deleted: BTreeSet<u64> = [1, 3].into_iter().collect();
        let plain = judge(&[1, 2, 3], &deleted, false);
        assert_eq!(
            plain.iter().map(|(i, o, _)| (*i, *o)).collect::<Vec<_>>(),
            vec![
                (1, Outcome::Deleted),
                (2, Outcome::NotFound),
                (3, Outcome::Deleted)
            ]
        );
        let doubt = judge(&[1, 2], &deleted, true);
        assert_eq!(doubt[0].1, Outcome::Deleted);
        assert_eq!(doubt[1].1, Outcome::Unknown);
        assert!(doubt[1].2.as_deref().unwrap().contains("never existed"));
    }
}
