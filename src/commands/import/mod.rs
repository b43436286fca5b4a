//! `kayse-bulk import`: validate (through `validate`'s own scan), plan, send the valid rows as
//! paced concurrent bulk upserts, journal every request and outcome, then write the results
//! workbook by re-scanning the input. Sending rules live in `worker`, answer judgments in
//! `answer`; this file wires them together and owns the run's one collector.

mod answer;
mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::cell::Cell;
use crate::cli::Global;
use crate::commands::validate::{self, InputArgs, Prepared, Scanned};
use crate::entity;
use crate::error::{CmdResult, Fatal};
use crate::outcome::{Outcome, ResultRow, RowError};
use crate::record::journal::{Fingerprint, Header, Journal, JournalState, Record, RowRecord};
use crate::report::summary::RequestStats;
use crate::send::{self, Client, ConnectionArgs, PacingArgs, StopSignal};

use crate::engine::progress::{Progress, Tally};
use answer::Item;
use worker::{Event, Job, Queue, StopReason, Worker};

/// How long the first Ctrl-C waits for requests in flight.
const DRAIN: Duration = Duration::from_secs(30);

/// `--update-blanks`: what an update does with fields the row leaves empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UpdateBlanks {
    /// Fetch the case first and keep its stored value (one GET per updated row).
    Keep,
    /// Send the row as it is: PUT sets every omitted field to null.
    Clear,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub pacing: PacingArgs,
    /// Only validate, exactly as `validate` does; no network access at all.
    #[arg(long)]
    pub dry_run: bool,
    /// For rows with an id: keep fields the row leaves empty, or clear them.
    #[arg(long, value_enum, default_value = "keep")]
    pub update_blanks: UpdateBlanks,
    /// The input is an earlier results file: copy rows already created or updated, send the rest.
    #[arg(long)]
    pub only_failed: bool,
    /// Continue the run recorded in the journal beside the results file.
    #[arg(long)]
    pub resume: bool,
}

/// Fault injection for the kill tests: when `KAYSE_BULK_CRASH_AT` names this point (optionally
/// `point:N` for its Nth passage), the process aborts on the spot, as a `kill -9` or a power cut
/// would stop it, with no cleanup. Read once; unset in normal use, where it costs one comparison.
fn crash_point(point: &str) {
    use std::sync::atomic::{AtomicU32, Ordering as O};
    static SPEC: std::sync::OnceLock<Option<(String, u32)>> = std::sync::OnceLock::new();
    static HITS: AtomicU32 = AtomicU32::new(0);
    let spec = SPEC.get_or_init(|| {
        let v = std::env::var("KAYSE_BULK_CRASH_AT").ok()?;
        let (name, n) = v.split_once(':').unwrap_or((v.as_str(), "1"));
        Some((name.to_string(), n.parse().unwrap_or(1)))
    });
    if let Some((name, n)) = spec
        && name == point
        && HITS.fetch_add(1, O::SeqCst) + 1 >= *n
    {
        std::process::abort();
    }
}

pub fn run(args: Args, g: &Global) -> CmdResult {
    if args.dry_run {
        return validate::run_checks(&args.input, g, "import");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::usage(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(run_async(args, g))
}

/// What the first scan found.
#[derive(Default)]
struct Scan {
    /// Rows copied through untouched by `--only-failed`: (outcome, id).
    keep: BTreeMap<usize, (Outcome, Option<u64>)>,
    /// Valid rows to send, with the rows an earlier attempt may already have applied.
    creates: Vec<Item>,
    updates: Vec<Item>,
    doubtful: Vec<Job>,
}

fn column(headers: &[String], name: &str) -> Option<usize> {
    headers
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name))
}

fn cell_id(c: Option<&Cell>) -> Option<u64> {
    match c? {
        Cell::Int(i) => u64::try_from(*i).ok(),
        Cell::Float(f) if f.fract() == 0.0 && *f > 0.0 => Some(*f as u64),
        other => other.to_text().trim().parse().ok(),
    }
}

/// The first pass: which rows to send. Invalid rows are only counted in the final pass.
fn scan(p: &mut Prepared, args: &Args, st: Option<&JournalState>) -> Result<Scan, Fatal> {
    let result_col = column(&p.table.headers, "kayse_result");
    let id_col = column(&p.table.headers, "kayse_id");
    if args.only_failed && result_col.is_none() {
        return Err(Fatal::usage(format!(
            "--only-failed needs an earlier results file (with a kayse_result column); {} has none",
            args.input.file.display()
        )));
    }
    let done: BTreeSet<usize> = st
        .map(|s| s.outcomes.keys().copied().collect())
        .unwrap_or_default();
    let mut out = Scan::default();
    let mut earlier_unknown: Vec<Item> = Vec::new();
    let mut pending: BTreeMap<usize, entity::Record> = BTreeMap::new();
    while let Some(item) = p.next_row() {
        let Scanned::Row { raw, result } = item? else {
            continue;
        };
        let row = raw.source_row;
        let before = if args.only_failed {
            result_col
                .and_then(|c| raw.cells.get(c))
                .and_then(|c| Outcome::parse(&c.to_text()))
        } else {
            None
        };
        if let Some(o @ (Outcome::Created | Outcome::Updated)) = before {
            out.keep
                .insert(row, (o, cell_id(id_col.and_then(|c| raw.cells.get(c)))));
            continue;
        }
        if done.contains(&row) {
            continue;
        }
        let Ok(case) = result else {
            continue;
        };
        if before == Some(Outcome::Unknown) {
            earlier_unknown.push((row, case));
        } else {
            pending.insert(row, case);
        }
    }
    // Rows a killed run left in flight: resent in their original groups, in doubt.
    if let Some(st) = st {
        for group in &st.in_flight {
            let items: Vec<Item> = group
                .iter()
                .filter_map(|r| pending.remove(r).map(|c| (*r, c)))
                .collect();
            if !items.is_empty() {
                out.doubtful.push(Job {
                    items,
                    in_doubt: true,
                });
            }
        }
    }
    let batch = args.input.batch_size.max(1) as usize;
    for chunk in earlier_unknown.chunks(batch) {
        out.doubtful.push(Job {
            items: chunk.to_vec(),
            in_doubt: true,
        });
    }
    for (row, case) in pending {
        if case.id.is_some() {
            out.updates.push((row, case));
        } else {
            out.creates.push((row, case));
        }
    }
    Ok(out)
}

/// The plan line, printed before the first request.
fn plan_line(s: &Scan, args: &Args) -> (String, u64) {
    let batch = u64::from(args.input.batch_size.max(1));
    let creates = s.creates.len() as u64;
    let updates = s.updates.len() as u64;
    let doubtful: u64 = s.doubtful.iter().map(|j| j.items.len() as u64).sum();
    let all_updates = updates
        + s.doubtful
            .iter()
            .flat_map(|j| &j.items)
            .filter(|(_, c)| c.id.is_some())
            .count() as u64;
    let gets = if args.update_blanks == UpdateBlanks::Keep {
        all_updates
    } else {
        0
    };
    let bulk = creates.div_ceil(batch) + updates.div_ceil(batch) + s.doubtful.len() as u64;
    let requests = bulk + gets;
    let rows = creates + updates + doubtful;
    let mut line = format!(
        "{rows} rows to send ({creates} creates, {updates} updates{}); {}",
        if doubtful > 0 {
            format!(", {doubtful} to recheck")
        } else {
            String::new()
        },
        validate::plan_text(requests, args.pacing.rate_limit, None)
    );
    if gets > 0 {
        line.push_str(&format!(
            "; includes {gets} GETs to keep blank fields (--update-blanks clear skips them)"
        ));
    }
    match args.pacing.budget {
        Some(b) if b < requests => line.push_str(&format!(
            "; budget {b} requests: the run will stop early, then --resume continues"
        )),
        Some(b) => line.push_str(&format!("; budget {b} requests")),
        None => line.push_str("; no --budget"),
    }
    (line, requests)
}

/// What the collector hands back when sending is over.
struct Sent {
    outcomes: BTreeMap<usize, RowRecord>,
    /// Rows carried by a request that may have been applied and have no outcome.
    doubt: BTreeSet<usize>,
    stop: Option<StopReason>,
    stats: Option<RequestStats>,
    interrupted: bool,
}

async fn run_async(args: Args, g: &Global) -> CmdResult {
    let started = tokio::time::Instant::now();
    let mut p = validate::prepare(&args.input)?;
    let journal_path = Journal::path_for(&p.results_path);
    let fp = Fingerprint::of_file(&args.input.file).map_err(|e| Fatal::usage(e.to_string()))?;
    let resumed = if args.resume {
        let (j, st) = Journal::resume(&journal_path).map_err(|e| match e {
            crate::record::journal::JournalError::Io { .. } if !journal_path.exists() => {
                Fatal::usage(format!(
                    "nothing to resume: no journal at {}",
                    journal_path.display()
                ))
            }
            e => Fatal::usage(e.to_string()),
        })?;
        let h = st
            .header
            .clone()
            .ok_or_else(|| Fatal::usage("the journal has no header"))?;
        if h.fingerprint() != fp {
            return Err(Fatal::usage(format!(
                "refusing to resume: the journal {} belongs to a different input file than {} (its content changed)",
                journal_path.display(),
                args.input.file.display()
            )));
        }
        if h.command != "import" {
            return Err(Fatal::usage(format!(
                "refusing to resume: the journal {} records a '{}' run, not an import",
                journal_path.display(),
                h.command
            )));
        }
        Some((j, st))
    } else {
        if journal_path.exists() {
            return Err(Fatal::usage(format!(
                "a journal from an earlier run is at {}: pass --resume to continue that run, or import its results file {} with --only-failed to send the rows that did not go in; move the journal away only to start over (rows already created would be sent again)",
                journal_path.display(),
                p.results_path.display()
            )));
        }
        None
    };
    let mut work = scan(&mut p, &args, resumed.as_ref().map(|(_, s)| s))?;
    let keep = std::mem::take(&mut work.keep);
    drop(p);
    let (plan, _requests) = plan_line(&work, &args);
    if !g.quiet {
        eprintln!("plan: {plan}");
    }
    let total = (work.creates.len()
        + work.updates.len()
        + work.doubtful.iter().map(|j| j.items.len()).sum::<usize>()) as u64;

    let mut prior: BTreeMap<usize, RowRecord> = BTreeMap::new();
    let mut prior_doubt: BTreeSet<usize> = BTreeSet::new();
    let journal = match resumed {
        Some((mut j, st)) => {
            prior_doubt = st.in_flight_rows();
            prior = st.outcomes;
            j.note("resumed")
                .map_err(|e| Fatal::stopped(e.to_string()))?;
            Some(j)
        }
        None => None,
    };

    let sent = if total == 0 {
        Sent {
            outcomes: prior,
            doubt: prior_doubt,
            stop: None,
            stats: None,
            interrupted: false,
        }
    } else {
        let conn = send::connect(&args.conn, g).await?;
        let journal = match journal {
            Some(j) => j,
            None => {
                let mut h = Header::new("import", &args.input.file, &fp);
                h.options.insert(
                    "update_blanks".into(),
                    format!("{:?}", args.update_blanks).to_lowercase(),
                );
                h.options
                    .insert("only_failed".into(), args.only_failed.to_string());
                Journal::create(&journal_path, h).map_err(|e| Fatal::usage(e.to_string()))?
            }
        };
        crash_point("before-first-request");
        send_all(&args, g, conn, journal, work, total, prior, prior_doubt).await?
    };
    crash_point("before-results");
    let interrupted = sent.interrupted;
    write_results(&args, g, &plan, keep, sent, interrupted, started)
}

#[allow(clippy::too_many_arguments)]
async fn send_all(
    args: &Args,
    g: &Global,
    conn: send::Connection,
    mut journal: Journal,
    work: Scan,
    total: u64,
    mut outcomes: BTreeMap<usize, RowRecord>,
    prior_doubt: BTreeSet<usize>,
) -> Result<Sent, Fatal> {
    let stop = Arc::new(StopSignal::default());
    let client = Client::new(&conn, &args.pacing, stop.clone())?;
    let batch = args.input.batch_size.max(1) as usize;
    let queue = Arc::new(Queue::new(batch, work.doubtful, work.creates, work.updates));
    let (tx, mut rx) = mpsc::channel::<Event>(256);

    let (sig, interrupted) = send::on_ctrl_c(stop.clone(), g.quiet, DRAIN);
    let workers = (args.pacing.concurrency as usize)
        .min(queue.left().div_ceil(batch))
        .max(1);
    let mut handles = Vec::new();
    for _ in 0..workers {
        let w = Worker {
            client: client.clone(),
            tx: tx.clone(),
            queue: queue.clone(),
            keep_blanks: args.update_blanks == UpdateBlanks::Keep,
        };
        handles.push(tokio::spawn(w.run()));
    }
    drop(tx);

    // The one collector: journal, tally, progress.
    let mut progress = Progress::new("import", total, g.quiet, client.rate(), batch as u64);
    let mut tally = Tally {
        done: 0,
        counts: vec![
            ("created", 0),
            ("updated", 0),
            ("failed", 0),
            ("unknown", 0),
        ],
    };
    let mut doubt: BTreeMap<usize, u32> = prior_doubt.iter().map(|r| (*r, 1)).collect();
    let mut reason: Option<StopReason> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    loop {
        if drain_deadline.is_none() && stop.is_stopped() {
            drain_deadline = Some(tokio::time::Instant::now() + DRAIN);
        }
        let deadline = drain_deadline;
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                match ev {
                    Event::Sent { rows, reply } => match journal.sent(&rows) {
                        Ok(b) => {
                            for r in rows {
                                *doubt.entry(r).or_default() += 1;
                            }
                            let _ = reply.send(Some(b));
                        }
                        Err(e) => {
                            reason.get_or_insert(StopReason::Journal(e.to_string()));
                            stop.stop();
                            let _ = reply.send(None);
                        }
                    },
                    Event::Released { batch, rows } => {
                        for r in &rows {
                            if let Some(n) = doubt.get_mut(r) {
                                *n = n.saturating_sub(1);
                            }
                        }
                        if let Err(e) = journal.append(&[Record::Released { batch, rows }]) {
                            reason.get_or_insert(StopReason::Journal(e.to_string()));
                            stop.stop();
                        }
                    }
                    Event::Done(recs) => {
                        // An answer is in hand and not yet on disk: the worst moment to die.
                        crash_point("answer-not-journaled");
                        let lines: Vec<Record> = recs.iter().cloned().map(Record::Row).collect();
                        if let Err(e) = journal.append(&lines) {
                            // Not on disk, so not done: these rows stay in doubt.
                            reason.get_or_insert(StopReason::Journal(e.to_string()));
                            stop.stop();
                            continue;
                        }
                        for r in recs {
                            doubt.remove(&r.row);
                            tally.done += 1;
                            let slot = match r.outcome {
                                Outcome::Created => 0,
                                Outcome::Updated => 1,
                                Outcome::Unknown => 3,
                                _ => 2,
                            };
                            tally.counts[slot].1 += 1;
                            outcomes.insert(r.row, r);
                        }
                        progress.update(&tally, &client.pacer().view());
                    }
                    Event::Stop(why) => {
                        if reason.is_none() && !interrupted.load(Ordering::SeqCst) {
                            progress.println(&format!("stopping: {}", why.message()));
                        }
                        reason.get_or_insert(why);
                        stop.stop();
                    }
                }
            }
            _ = tick.tick() => progress.update(&tally, &client.pacer().view()),
            _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {
                progress.println("requests still in flight after 30 s: leaving them as unknown");
                break;
            }
        }
    }
    for h in &handles {
        h.abort();
    }
    sig.abort();
    progress.finish();
    let note = match (&reason, interrupted.load(Ordering::SeqCst)) {
        (_, true) => Some("interrupted (Ctrl-C)".to_string()),
        (Some(r), _) => Some(format!("stopped: {}", r.message())),
        _ => None,
    };
    if let Some(n) = note {
        let _ = journal.note(n);
    }
    Ok(Sent {
        outcomes,
        doubt: doubt
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(r, _)| r)
            .collect(),
        stop: reason,
        stats: Some(client.stats()),
        interrupted: interrupted.load(Ordering::SeqCst),
    })
}

/// The final pass: re-scan the input and join every row with what happened to it.
fn write_results(
    args: &Args,
    g: &Global,
    plan: &str,
    keep: BTreeMap<usize, (Outcome, Option<u64>)>,
    sent: Sent,
    interrupted: bool,
    started: tokio::time::Instant,
) -> CmdResult {
    let mut p = validate::prepare(&args.input)?;
    // An earlier results file as input: its own kayse_* columns are replaced, not repeated.
    let echo = validate::Echo::new(&p.table.headers);
    let mut writer = p
        .results_writer(&echo)
        .map_err(|e| Fatal::stopped(e.to_string()))?;
    let mut summary = p.new_summary("import", &args.input);
    let not_sent = match (&sent.stop, interrupted) {
        (_, true) => "not sent: the run was interrupted; run again with --resume".to_string(),
        (Some(r), _) => format!("not sent: {}; run again with --resume", r.message()),
        (None, false) => "not sent".to_string(),
    };
    while let Some(item) = p.next_row() {
        let (raw, result) = match item? {
            Scanned::Blank => {
                summary.blank_rows += 1;
                continue;
            }
            Scanned::Row { raw, result } => (raw, result),
        };
        summary.rows_read += 1;
        let row = raw.source_row;
        let server = |m: &str| vec![RowError::new("kayse", m)];
        let (outcome, id, errors) = if let Some((o, id)) = keep.get(&row) {
            (*o, *id, Vec::new())
        } else {
            match result {
                Err(errors) => (Outcome::Invalid, None, errors),
                Ok(case) => {
                    if case.id.is_some() {
                        summary.updates += 1;
                    } else {
                        summary.creates += 1;
                    }
                    match sent.outcomes.get(&row) {
                        Some(r) => (
                            r.outcome,
                            r.id.or(case.id),
                            r.error.as_deref().map(server).unwrap_or_default(),
                        ),
                        None if sent.doubt.contains(&row) => (
                            Outcome::Unknown,
                            case.id,
                            server(&format!(
                                "the run stopped while this row's request was in flight; run again with --resume to settle it (check {} {} in Kayse)",
                                case.lookup().0,
                                case.lookup().1
                            )),
                        ),
                        None => (Outcome::Skipped, case.id, server(&not_sent)),
                    }
                }
            }
        };
        summary.count(outcome);
        writer
            .write(&ResultRow {
                source_row: row,
                outcome,
                kayse_id: id,
                errors: echo.errors(errors),
                cells: echo.cells(raw.cells),
                extra: Vec::new(),
            })
            .map_err(|e| Fatal::stopped(e.to_string()))?;
    }
    p.finish_summary(&mut summary);
    summary.plan = Some(plan.to_string());
    let mut stats = sent.stats.unwrap_or_default();
    stats.elapsed_secs = started.elapsed().as_secs_f64();
    summary.requests = Some(stats);
    let stop = sent.stop.map(|r| r.message().to_string());
    validate::finish_run(summary, writer, g, interrupted, stop)
}
