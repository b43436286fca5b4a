//! `kayse-bulk export`: fetch cases by id (one paced `GET /v1/cases/{id}` each, through the shared
//! client) and write them as a valid import file. Also the shared pieces `delete` and the message
//! commands reuse: the runtime, Ctrl-C, the journal checks, and `fetch` for `delete --backup`.
//! The file layout lives in `writer`; this module never formats cells.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::case::CaseRecord;
use crate::cli::Global;
use crate::commands::validate;
use crate::engine::progress::{Progress, Tally};
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::outcome::Outcome;
use crate::read::{self, ReadOptions};
use crate::record::journal::{
    Fingerprint, Header, Journal, JournalError, JournalState, Record, RowRecord,
};
use crate::report::sheet;
use crate::report::summary::Summary;
use crate::send::{self, CallError, Client, ConnectionArgs, PacingArgs, StopSignal};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Case ids to export, e.g. 1001-1050,1060 (repeatable).
    #[arg(long, value_name = "LIST")]
    pub ids: Vec<String>,
    /// Spreadsheets whose kayse_id, id or case_id column lists the cases (results files, earlier
    /// exports, a firm's own list). Accepts several files.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub ids_from: Vec<PathBuf>,
    /// Where to write the cases: .xlsx or .csv.
    #[arg(long, default_value = "kayse-export.xlsx", value_name = "PATH")]
    pub out: PathBuf,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub pacing: PacingArgs,
    /// Show the plan and send nothing (no network at all).
    #[arg(long)]
    pub dry_run: bool,
    /// Continue the export recorded in the journal beside --out; fetched cases are not fetched again.
    #[arg(long)]
    pub resume: bool,
    /// Do not ask before a run that will not fit in the budget left.
    #[arg(long)]
    pub yes: bool,
}

/// A multi-threaded tokio runtime for a networked command.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Fatal> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::usage(format!("cannot start the async runtime: {e}")))
}

/// Ctrl-C: the first raises `stop` (no new requests; those in flight finish within the answer
/// timeout) and sets the flag; the second exits at once (the journal is already synced).
pub(crate) fn watch_ctrl_c(
    stop: Arc<StopSignal>,
    quiet: bool,
    timeout_secs: u64,
) -> (tokio::task::JoinHandle<()>, Arc<AtomicBool>) {
    send::on_ctrl_c(stop, quiet, std::time::Duration::from_secs(timeout_secs))
}

/// The journal of an earlier run, checked: `None` for a fresh run (refused if one exists, since
/// starting over could repeat what cannot be repeated), or the journal and its state on `--resume`.
pub(crate) fn earlier_journal(
    path: &Path,
    resume: bool,
    fp: &Fingerprint,
    command: &str,
    what: &str,
) -> Result<Option<(Journal, JournalState)>, Fatal> {
    if !resume {
        if path.exists() {
            return Err(Fatal::usage(format!(
                "a journal from an earlier {command} run is at {}: pass --resume to continue it, or move it away to start over",
                path.display()
            )));
        }
        return Ok(None);
    }
    let (j, st) = Journal::resume(path).map_err(|e| match e {
        JournalError::Io { .. } if !path.exists() => Fatal::usage(format!(
            "nothing to resume: no journal at {}",
            path.display()
        )),
        e => Fatal::usage(e.to_string()),
    })?;
    let h = st
        .header
        .clone()
        .ok_or_else(|| Fatal::usage("the journal has no header"))?;
    if h.command != command {
        return Err(Fatal::usage(format!(
            "refusing to resume: the journal {} records a '{}' run, not {command}",
            path.display(),
            h.command
        )));
    }
    if h.fingerprint() != *fp {
        return Err(Fatal::usage(format!(
            "refusing to resume: the journal {} belongs to a different {what}",
            path.display()
        )));
    }
    Ok(Some((j, st)))
}

/// Why a run stopped, as the end of "not sent: ..." (a halted call's own text starts with that).
pub(crate) fn stop_reason(e: &CallError) -> String {
    match e {
        CallError::Halted {
            halt: send::Halt::Budget,
            ..
        } => "the --budget is spent".into(),
        CallError::Halted { .. } => "the run was stopped".into(),
        e => e.to_string(),
    }
}

/// A fingerprint of an id list (export has no single input file).
pub(crate) fn fingerprint_ids(ids: &[u64]) -> Fingerprint {
    let text = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let digest = Sha256::digest(text.as_bytes());
    Fingerprint {
        sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        size: ids.len() as u64,
        basis: crate::record::journal::Basis::Ids,
    }
}

/// Every id the flags name, de-duplicated in first-seen order, plus warnings about cells skipped.
pub fn collect_ids(specs: &[String], files: &[PathBuf]) -> Result<(Vec<u64>, Vec<String>), Fatal> {
    let mut all = Vec::new();
    let mut warnings = Vec::new();
    for s in specs {
        all.extend(
            crate::check::ids::parse_spec(s).map_err(|e| Fatal::usage(format!("--ids: {e}")))?,
        );
    }
    for f in files {
        let t = read::open(f, &ReadOptions::default()).map_err(|e| Fatal::usage(e.to_string()))?;
        let col = crate::check::ids::find_column(&t.headers, None)
            .map_err(|e| Fatal::usage(format!("{}: {e}", f.display())))?;
        let mut bad = 0usize;
        for raw in t.rows {
            let raw = raw.map_err(|e| Fatal::usage(e.to_string()))?;
            match crate::check::ids::from_cell(
                raw.cells.get(col).unwrap_or(&crate::cell::Cell::Empty),
            ) {
                Ok(Some(id)) => all.push(id),
                Ok(None) => {}
                Err(e) => {
                    bad += 1;
                    if bad <= 5 {
                        warnings.push(format!(
                            "{} row {}, column {}: {e}; skipped",
                            f.display(),
                            raw.source_row,
                            t.headers[col]
                        ));
                    }
                }
            }
        }
        if bad > 5 {
            warnings.push(format!(
                "{}: {} more cells without a valid id skipped",
                f.display(),
                bad - 5
            ));
        }
    }
    if specs.is_empty() && files.is_empty() {
        return Err(Fatal::usage(
            "which cases? give --ids 1001-1050,1060 and/or --ids-from FILE (Kayse cannot list cases)",
        ));
    }
    Ok((crate::check::ids::dedupe(all), warnings))
}

/// What fetching came to.
#[derive(Debug, Default)]
pub struct Fetched {
    pub cases: BTreeMap<u64, CaseRecord>,
    /// Ids that could not be fetched, with the reason. `not_found` holds the 404s.
    pub errors: BTreeMap<u64, String>,
    pub not_found: Vec<u64>,
    /// Why fetching stopped early (budget, key, interrupt), if it did.
    pub stop: Option<String>,
}

/// Fetch `ids` through the shared client, `concurrency` at a time. Each answer is recorded in
/// `journal` (when given) before it counts, so a resumed export does not fetch it again.
pub async fn fetch(
    client: &Client,
    ids: &[u64],
    concurrency: usize,
    mut journal: Option<&mut Journal>,
    quiet: bool,
    label: &'static str,
) -> Fetched {
    let mut out = Fetched::default();
    let mut progress = Progress::new(label, ids.len() as u64, quiet, client.rate(), 1);
    let mut tally = Tally {
        done: 0,
        counts: vec![("fetched", 0), ("not found", 0), ("failed", 0)],
    };
    let mut stream = futures::stream::iter(ids.iter().copied())
        .map(|id| async move { (id, client.get_case(id).await) })
        .buffer_unordered(concurrency.max(1));
    while let Some((id, r)) = stream.next().await {
        let rec = match r {
            Ok(case) => RowRecord {
                row: id as usize,
                batch: None,
                outcome: Outcome::Valid,
                id: Some(id),
                error: None,
                data: serde_json::to_value(&case).ok(),
            },
            Err(CallError::Rejected { status: 404, .. }) => RowRecord {
                row: id as usize,
                batch: None,
                outcome: Outcome::NotFound,
                id: Some(id),
                error: Some(format!("case {id} not found (404)")),
                data: None,
            },
            Err(e @ CallError::KeyRejected { .. }) => {
                out.stop.get_or_insert(stop_reason(&e));
                continue;
            }
            Err(e @ CallError::Halted { .. }) => {
                out.stop.get_or_insert(stop_reason(&e));
                continue;
            }
            Err(e) => RowRecord {
                row: id as usize,
                batch: None,
                outcome: Outcome::Failed,
                id: Some(id),
                error: Some(e.to_string()),
                data: None,
            },
        };
        if let Some(j) = journal.as_deref_mut()
            && let Err(e) = j.append(&[Record::Row(rec.clone())])
        {
            out.stop.get_or_insert(e.to_string());
            client.pacer().stop_signal().stop();
        }
        absorb(&mut out, &rec);
        tally.done += 1;
        let k = match rec.outcome {
            Outcome::Valid => 0,
            Outcome::NotFound => 1,
            _ => 2,
        };
        tally.counts[k].1 += 1;
        progress.update(&tally, &client.pacer().view());
    }
    progress.finish();
    out
}

/// Fold one recorded fetch into the tally.
fn absorb(out: &mut Fetched, rec: &RowRecord) {
    let id = rec.id.unwrap_or(rec.row as u64);
    match rec.outcome {
        Outcome::Valid => {
            match rec
                .data
                .clone()
                .and_then(|d| serde_json::from_value::<CaseRecord>(d).ok())
            {
                Some(c) => {
                    out.cases.insert(id, c);
                }
                None => {
                    out.errors
                        .insert(id, "the recorded answer is unreadable".to_string());
                }
            }
        }
        Outcome::NotFound => {
            out.not_found.push(id);
            out.errors.insert(
                id,
                rec.error.clone().unwrap_or_else(|| "not found".to_string()),
            );
        }
        _ => {
            out.errors.insert(
                id,
                rec.error.clone().unwrap_or_else(|| "failed".to_string()),
            );
        }
    }
}

/// The plan line for fetching `n` cases.
pub fn plan(n: u64, pacing: &PacingArgs) -> String {
    let mut s = format!(
        "{n} cases to fetch, one GET each; {}",
        validate::plan_text(n, pacing.rate_limit, None)
    );
    if let Some(b) = pacing.budget {
        s.push_str(&format!("; budget {b} requests"));
    }
    let rate = pacing.rate_limit;
    if n > u64::from(rate.requests) {
        let budget_secs = n as f64 / f64::from(rate.requests) * rate.window.as_secs_f64();
        s.push_str(&format!(
            "; that is {} of the key's budget at {rate}; if it stops or is interrupted, run again with --resume",
            validate::human_duration(budget_secs)
        ));
    }
    s
}

pub fn run(args: Args, g: &Global) -> CmdResult {
    let started = std::time::Instant::now();
    match args
        .out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .as_deref()
    {
        Some("xlsx") | Some("csv") => {}
        _ => {
            return Err(Fatal::usage(format!(
                "--out {} must end in .xlsx or .csv",
                args.out.display()
            )));
        }
    }
    let (ids, warnings) = collect_ids(&args.ids, &args.ids_from)?;
    if ids.is_empty() {
        return Err(Fatal::usage("no case ids found in --ids / --ids-from"));
    }
    let journal_path = Journal::path_for(&args.out);
    let fp = fingerprint_ids(&ids);
    let earlier = if args.dry_run {
        None
    } else {
        earlier_journal(&journal_path, args.resume, &fp, "export", "list of ids")?
    };
    let mut prior = Fetched::default();
    if let Some((_, st)) = &earlier {
        for rec in st.outcomes.values() {
            if rec.outcome != Outcome::Failed {
                absorb(&mut prior, rec);
            }
        }
    }
    let todo: Vec<u64> = ids
        .iter()
        .copied()
        .filter(|id| !prior.cases.contains_key(id) && !prior.errors.contains_key(id))
        .collect();
    let plan_line = plan(todo.len() as u64, &args.pacing);
    if !g.quiet {
        for w in &warnings {
            eprintln!("warning: {w}");
        }
        eprintln!("plan: {plan_line}");
    }
    let mut summary = Summary {
        command: "export".into(),
        command_line: validate::command_line(),
        input: format!("{} distinct ids", ids.len()),
        results: Some(args.out.display().to_string()),
        rows_read: ids.len() as u64,
        plan: Some(plan_line),
        warnings,
        ..Default::default()
    };
    if args.dry_run {
        summary.exit_code = 0;
        validate::emit(&summary, g);
        return Ok(ExitCode::Ok);
    }
    let left = args
        .pacing
        .budget
        .unwrap_or(u64::from(args.pacing.rate_limit.requests));
    if todo.len() as u64 > left && !args.yes && crate::engine::confirm::on_terminal() {
        let q = format!(
            "This export needs {} requests and will not fit in the budget left ({left}). Start now? (run again with --resume if it stops)",
            todo.len()
        );
        let ok = crate::engine::confirm::ask_yes(
            &mut std::io::stdin().lock(),
            &mut std::io::stderr(),
            &q,
        )
        .unwrap_or(false);
        if !ok {
            return Err(Fatal::usage("export cancelled; nothing was fetched"));
        }
    }
    let rt = runtime()?;
    let (mut fetched, stats, interrupted) = rt.block_on(async {
        if todo.is_empty() {
            return Ok::<_, Fatal>((Fetched::default(), None, false));
        }
        let conn = send::connect(&args.conn, g).await?;
        let stop = Arc::new(StopSignal::default());
        let client = Client::new(&conn, &args.pacing, stop.clone())?;
        let (sig, flag) = watch_ctrl_c(stop, g.quiet, args.conn.timeout);
        let mut journal = match earlier {
            Some((mut j, _)) => {
                let _ = j.note("resumed");
                j
            }
            None => {
                let mut h = Header::new("export", &args.out, &fp);
                h.input = format!("{} ids", ids.len());
                Journal::create(&journal_path, h).map_err(|e| Fatal::usage(e.to_string()))?
            }
        };
        let f = fetch(
            &client,
            &todo,
            args.pacing.concurrency as usize,
            Some(&mut journal),
            g.quiet,
            "export",
        )
        .await;
        sig.abort();
        Ok((f, Some(client.stats()), flag.load(Ordering::SeqCst)))
    })?;
    // Merge what earlier runs fetched.
    fetched.cases.extend(prior.cases);
    fetched.errors.extend(prior.errors);
    fetched.not_found.extend(prior.not_found);
    let not_fetched = if interrupted {
        "not fetched: the run was interrupted; run again with --resume".to_string()
    } else if let Some(s) = &fetched.stop {
        format!("not fetched: {s}; run again with --resume")
    } else {
        "not fetched".to_string()
    };
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for id in &ids {
        if let Some(c) = fetched.cases.get(id) {
            cases.push(c.clone());
            *summary.counts.entry("exported".into()).or_default() += 1;
        } else if let Some(e) = fetched.errors.get(id) {
            errors.push((*id, e.clone()));
            if fetched.not_found.contains(id) {
                summary.count(Outcome::NotFound);
            } else {
                summary.count(Outcome::Failed);
            }
        } else {
            errors.push((*id, not_fetched.clone()));
            summary.count(Outcome::Skipped);
        }
    }
    sheet::write(&args.out, &cases, &errors).map_err(Fatal::stopped)?;
    if let Some(mut s) = stats {
        s.elapsed_secs = started.elapsed().as_secs_f64();
        summary.requests = Some(s);
    }
    if !errors.is_empty() {
        summary.warnings.push(format!(
            "{} ids could not be exported: see {}",
            errors.len(),
            if args
                .out
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
            {
                sheet::errors_csv_path(&args.out).display().to_string()
            } else {
                format!("the Errors sheet of {}", args.out.display())
            }
        ));
    }
    let code = if interrupted {
        ExitCode::Interrupted
    } else if fetched.stop.is_some() {
        ExitCode::Stopped
    } else if !errors.is_empty() {
        ExitCode::RowsFailed
    } else {
        ExitCode::Ok
    };
    summary.exit_code = code as i32;
    // A complete export needs its journal no more: the data is in --out, and a later export of
    // the same ids should fetch fresh answers.
    if code != ExitCode::Interrupted && code != ExitCode::Stopped {
        let _ = std::fs::remove_file(&journal_path);
    }
    validate::emit(&summary, g);
    match code {
        ExitCode::Interrupted => Err(Fatal::interrupted(
            "interrupted: what was fetched is written and journaled; run again with --resume",
        )),
        ExitCode::Stopped => Err(Fatal::stopped(format!(
            "{}; what was fetched is written: run again with --resume to continue",
            fetched.stop.unwrap_or_default()
        ))),
        c => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacing(budget: Option<u64>) -> PacingArgs {
        PacingArgs {
            rate_limit: send::rate::RateSpec::KAYSE,
            concurrency: 4,
            budget,
            retry_base_ms: None,
        }
    }

    #[test]
    fn plan_lines_state_the_cost() {
        let p = plan(2000, &pacing(None));
        assert!(
            p.starts_with("2000 cases to fetch, one GET each; 2000 requests"),
            "{p}"
        );
        assert!(p.contains("4.0 hours of the key's budget at 500/h"), "{p}");
        assert!(p.contains("--resume"), "{p}");
        let p = plan(20, &pacing(Some(10)));
        assert!(
            p.contains("fits in the current window") && p.ends_with("budget 10 requests"),
            "{p}"
        );
    }

    #[test]
    fn id_fingerprints_follow_order_and_content() {
        assert_eq!(fingerprint_ids(&[1, 2]), fingerprint_ids(&[1, 2]));
        assert_ne!(fingerprint_ids(&[1, 2]), fingerprint_ids(&[2, 1]));
        assert_eq!(fingerprint_ids(&[1, 2, 3]).size, 3);
    }
}
