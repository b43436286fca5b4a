//! `kayse-bulk sms` and `kayse-bulk email`: one message per row to a case's client, at most once.
//! Rows are checked and rendered first (`{{row.COLUMN}}` filled locally, Kayse's own `{{...}}`
//! variables untouched), repeats are marked `duplicate`, opted-out cases are skipped after one GET
//! per distinct case, and each send is journaled before it leaves.
//!
//! At most once: a send whose answer was lost (timeout, dropped connection) may have reached the
//! server, so it is never resent, by this run or by `--resume`; its row is `unknown`. 429 and 5xx
//! answers are retried by the shared client: a 5xx is an answer, so the server says it did not
//! take the message (if Kayse ever schedules and then answers 5xx, that would send twice; the docs
//! advise retrying 5xx, and we follow them). A row whose send was journaled but has no outcome
//! (kill -9 mid-request) is `unknown` on resume and never resent.

pub mod sms;
pub mod text;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use futures::StreamExt;

use crate::cell::Cell;
use crate::cli::Global;
use crate::commands::export::{self, earlier_journal, runtime, watch_ctrl_c};
use crate::commands::message::text::{Template, find_header};
use crate::commands::validate;
use crate::engine::progress::{Progress, Tally};
use crate::error::{CmdResult, Fatal};
use crate::outcome::{Outcome, ResultRow, RowError};
use crate::read::{self, ReadOptions};
use crate::record::journal::{Fingerprint, Header, Journal, Record, RowRecord};
use crate::report::results::ResultsWriter;
use crate::report::summary::Summary;
use crate::send::{self, CallError, Client, ConnectionArgs, PacingArgs, StopSignal};

/// Options both message commands share.
#[derive(Debug, clap::Args)]
pub struct MessageArgs {
    /// Spreadsheet with case_id, client_id and message (and subject for email) columns.
    pub file: PathBuf,
    /// Message template instead of a message column; {{row.COLUMN}} is filled from the row,
    /// other {{...}} (Kayse variables such as {{first_name}}) are sent as they are.
    #[arg(long, value_name = "TEMPLATE")]
    pub message: Option<String>,
    /// Workbook sheet to read, by name or 0-based index.
    #[arg(long, value_name = "NAME|INDEX")]
    pub sheet: Option<String>,
    /// Send without fetching each case first to skip opted-out clients.
    #[arg(long)]
    pub no_opt_out_check: bool,
    /// Results file, .xlsx or .csv [default: <input stem>.results.xlsx beside the input].
    #[arg(long, value_name = "PATH")]
    pub results: Option<PathBuf>,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub pacing: PacingArgs,
    /// Render every message into the results file and send nothing (no network at all).
    #[arg(long)]
    pub dry_run: bool,
    /// Continue the run recorded in the journal; nothing recorded as sent or unknown is resent.
    #[arg(long)]
    pub resume: bool,
    /// Send without asking (required when there is no terminal to ask on).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, clap::Args)]
pub struct SmsArgs {
    #[command(flatten)]
    pub common: MessageArgs,
}

#[derive(Debug, clap::Args)]
pub struct EmailArgs {
    #[command(flatten)]
    pub common: MessageArgs,
    /// Subject template instead of a subject column ({{row.COLUMN}} as for --message).
    #[arg(long, value_name = "TEMPLATE")]
    pub subject: Option<String>,
}

pub fn run_sms(args: SmsArgs, g: &Global) -> CmdResult {
    run(Channel::Sms, args.common, None, g)
}

pub fn run_email(args: EmailArgs, g: &Global) -> CmdResult {
    run(Channel::Email, args.common, args.subject, g)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
}

/// Where a row's text comes from: a column as it is, or a template.
enum Source {
    Column(usize),
    Template(Template),
}

impl Source {
    fn pick(
        flag: Option<&str>,
        column: &str,
        headers: &[String],
        flag_name: &str,
    ) -> Result<Source, Fatal> {
        if let Some(t) = flag {
            return Template::parse(t, headers)
                .map(Source::Template)
                .map_err(|e| Fatal::usage(format!("{flag_name}: {e}")));
        }
        find_header(headers, column)
            .map(Source::Column)
            .ok_or_else(|| {
                Fatal::usage(format!(
                    "no '{column}' column: add one or pass {flag_name}; the columns are: {}",
                    headers.join(", ")
                ))
            })
    }

    fn render(&self, cells: &[Cell]) -> String {
        match self {
            Source::Column(i) => cells.get(*i).map(Cell::to_text).unwrap_or_default(),
            Source::Template(t) => t.render(cells),
        }
    }
}

/// A checked row ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Ready {
    pub case_id: u64,
    pub client_id: u64,
    pub message: String,
    pub subject: Option<String>,
}

/// One input row after the checks.
struct Row {
    source_row: usize,
    cells: Vec<Cell>,
    message: String,
    subject: Option<String>,
    /// The payload, or every error, or a duplicate of an earlier row.
    state: State,
}

enum State {
    Ready(Ready),
    Invalid(Vec<RowError>),
    Duplicate(usize),
}

/// The checks before anything is sent: ids, non-empty text, the SMS length cap. Returns the
/// payload or every error of the row.
pub fn check_row(
    channel: Channel,
    case_id: (&Cell, usize),
    client_id: (&Cell, usize),
    message: &str,
    subject: Option<&str>,
) -> Result<Ready, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut id = |(c, col): (&Cell, usize), name: &str| match crate::check::ids::from_cell(c) {
        Ok(Some(v)) => Some(v),
        Ok(None) => {
            errors.push(RowError::new(name, "is required").at(Some(col)));
            None
        }
        Err(e) => {
            errors.push(
                RowError::new(name, e.to_string())
                    .at(Some(col))
                    .with_value(c.to_text()),
            );
            None
        }
    };
    let case = id(case_id, "case_id");
    let client = id(client_id, "client_id");
    match channel {
        Channel::Sms => {
            if let Err(e) = sms::check(message) {
                errors.push(RowError::new("message", e));
            }
        }
        Channel::Email => {
            if message.trim().is_empty() {
                errors.push(RowError::new("message", "the message is empty"));
            }
            if subject.is_none_or(|s| s.trim().is_empty()) {
                errors.push(RowError::new("subject", "the subject is empty"));
            }
        }
    }
    match (case, client) {
        (Some(case_id), Some(client_id)) if errors.is_empty() => Ok(Ready {
            case_id,
            client_id,
            message: message.to_string(),
            subject: subject.map(str::to_string),
        }),
        _ => Err(errors),
    }
}

/// Marks later repeats of the same case, client and rendered text (and subject).
#[derive(Debug, Default)]
pub struct Dedupe {
    seen: HashMap<(u64, u64, String, Option<String>), usize>,
}

impl Dedupe {
    /// `None` the first time a message is seen, else the row that first had it.
    pub fn first_row(&mut self, r: &Ready, row: usize) -> Option<usize> {
        let key = (r.case_id, r.client_id, r.message.clone(), r.subject.clone());
        match self.seen.get(&key) {
            Some(first) => Some(*first),
            None => {
                self.seen.insert(key, row);
                None
            }
        }
    }
}

const LOST: &str = "no answer came (timeout or dropped connection): the message may have been sent, so it is not resent automatically; check in Kayse before sending it again";
const IN_FLIGHT: &str = "the run stopped while this message was being sent: it may have been sent, so it is not resent automatically; check in Kayse before sending it again";

fn run(channel: Channel, a: MessageArgs, subject_tpl: Option<String>, g: &Global) -> CmdResult {
    let started = std::time::Instant::now();
    let command = channel.name();
    let results_path = a
        .results
        .clone()
        .unwrap_or_else(|| validate::default_results_path(&a.file));
    validate::check_results_path(&results_path)?;
    let opts = ReadOptions {
        sheet: a.sheet.clone(),
        ..Default::default()
    };
    let table = read::open(&a.file, &opts).map_err(|e| Fatal::usage(e.to_string()))?;
    let headers = table.headers.clone();
    let need = |name: &str| {
        find_header(&headers, name).ok_or_else(|| {
            Fatal::usage(format!(
                "{}: no '{name}' column; the columns are: {}",
                a.file.display(),
                headers.join(", ")
            ))
        })
    };
    let case_col = need("case_id")?;
    let client_col = need("client_id")?;
    let msg_src = Source::pick(a.message.as_deref(), "message", &headers, "--message")?;
    let subj_src = match channel {
        Channel::Email => Some(Source::pick(
            subject_tpl.as_deref(),
            "subject",
            &headers,
            "--subject",
        )?),
        Channel::Sms => None,
    };

    // Read, render and check every row; no network yet.
    let mut rows: Vec<Row> = Vec::new();
    let mut blank = 0u64;
    let mut dedupe = Dedupe::default();
    let mut multipart = 0u64;
    for raw in table.rows {
        let raw = raw.map_err(|e| Fatal::usage(e.to_string()))?;
        if raw.is_blank() {
            blank += 1;
            continue;
        }
        let message = msg_src.render(&raw.cells);
        let subject = subj_src.as_ref().map(|s| s.render(&raw.cells));
        let empty = Cell::Empty;
        let state = match check_row(
            channel,
            (raw.cells.get(case_col).unwrap_or(&empty), case_col),
            (raw.cells.get(client_col).unwrap_or(&empty), client_col),
            &message,
            subject.as_deref(),
        ) {
            Err(e) => State::Invalid(e),
            Ok(r) => match dedupe.first_row(&r, raw.source_row) {
                Some(first) => State::Duplicate(first),
                None => {
                    if channel == Channel::Sms && sms::segments(&r.message).parts > 1 {
                        multipart += 1;
                    }
                    State::Ready(r)
                }
            },
        };
        rows.push(Row {
            source_row: raw.source_row,
            cells: raw.cells,
            message,
            subject,
            state,
        });
    }

    // The journal of an earlier run.
    let journal_path = Journal::path_for(&results_path);
    let fp = Fingerprint::of_file(&a.file).map_err(|e| Fatal::usage(e.to_string()))?;
    let mut options = BTreeMap::new();
    options.insert("message".to_string(), a.message.clone().unwrap_or_default());
    options.insert(
        "subject".to_string(),
        subject_tpl.clone().unwrap_or_default(),
    );
    let earlier = if a.dry_run {
        None
    } else {
        earlier_journal(&journal_path, a.resume, &fp, command, "input file")?
    };
    let mut outcomes: BTreeMap<usize, (Outcome, Option<String>)> = BTreeMap::new();
    let mut settle: Vec<usize> = Vec::new();
    if let Some((_, st)) = &earlier {
        if st.header.as_ref().map(|h| &h.options) != Some(&options) {
            return Err(Fatal::usage(format!(
                "refusing to resume: the journal {} was written with other --message/--subject templates",
                journal_path.display()
            )));
        }
        for rec in st.outcomes.values() {
            if rec.outcome != Outcome::Failed {
                outcomes.insert(rec.row, (rec.outcome, rec.error.clone()));
            }
        }
        for r in st.in_flight_rows() {
            outcomes.insert(r, (Outcome::Unknown, Some(IN_FLIGHT.to_string())));
            settle.push(r);
        }
    }
    let todo: Vec<(usize, Ready)> = rows
        .iter()
        .filter_map(|r| match &r.state {
            State::Ready(m) if !outcomes.contains_key(&r.source_row) => {
                Some((r.source_row, m.clone()))
            }
            _ => None,
        })
        .collect();
    let cases: Vec<u64> = crate::check::ids::dedupe(todo.iter().map(|(_, m)| m.case_id));
    let gets = if a.no_opt_out_check {
        0
    } else {
        cases.len() as u64
    };
    let noun = match channel {
        Channel::Sms => "SMS",
        Channel::Email => "emails",
    };
    let mut plan = format!("{} {noun} to send", todo.len());
    if a.no_opt_out_check {
        plan.push_str(", no opt-out check (--no-opt-out-check)");
    } else {
        plan.push_str(&format!(
            ", plus {gets} GETs to skip opted-out cases (--no-opt-out-check skips them)"
        ));
    }
    plan.push_str(&format!(
        "; {}",
        validate::plan_text(todo.len() as u64 + gets, a.pacing.rate_limit, None)
    ));
    if !g.quiet {
        eprintln!("plan: {plan}");
    }

    if a.dry_run
        && !g.quiet
        && let Some((_, first)) = todo.first()
    {
        eprintln!(
            "dry run: the first of {} {noun}, to client {} of case {}:{}\n  {}",
            todo.len(),
            first.client_id,
            first.case_id,
            first
                .subject
                .as_ref()
                .map(|s| format!("\n  subject: {s}"))
                .unwrap_or_default(),
            first.message
        );
    }
    let mut stop: Option<String> = None;
    let mut interrupted = false;
    let mut stats = None;
    let settle_needed = !settle.is_empty();
    if !a.dry_run && (!todo.is_empty() || settle_needed) {
        if let Some((_, first)) = todo.first() {
            let what = format!(
                "About to send {} {noun}. The first, to client {} of case {}:\n{}{}",
                todo.len(),
                first.client_id,
                first.case_id,
                first
                    .subject
                    .as_ref()
                    .map(|s| format!("  subject: {s}\n"))
                    .unwrap_or_default(),
                format_args!("  {}", first.message)
            );
            crate::engine::confirm::confirm_action(a.yes, &what, todo.len() as u64, command)?;
        }
        let rt = runtime()?;
        rt.block_on(async {
            let mut journal = match earlier {
                Some((mut j, _)) => {
                    let _ = j.note("resumed");
                    j
                }
                None => {
                    let mut h = Header::new(command, &a.file, &fp);
                    h.options = options.clone();
                    Journal::create(&journal_path, h).map_err(|e| Fatal::usage(e.to_string()))?
                }
            };
            // Rows a killed run left in flight: settled as unknown, for good.
            let recs: Vec<Record> = settle
                .iter()
                .map(|r| {
                    Record::Row(RowRecord {
                        row: *r,
                        batch: None,
                        outcome: Outcome::Unknown,
                        id: None,
                        error: Some(IN_FLIGHT.to_string()),
                        data: None,
                    })
                })
                .collect();
            if !recs.is_empty() {
                journal
                    .append(&recs)
                    .map_err(|e| Fatal::stopped(e.to_string()))?;
            }
            if todo.is_empty() {
                return Ok(());
            }
            let conn = send::connect(&a.conn, g).await?;
            let sig_stop = Arc::new(StopSignal::default());
            let client = Client::new(&conn, &a.pacing, sig_stop.clone())?;
            let (sig, flag) = watch_ctrl_c(sig_stop, g.quiet, a.conn.timeout);
            let mut sendable = todo.clone();
            if !a.no_opt_out_check {
                let f = export::fetch(
                    &client,
                    &cases,
                    a.pacing.concurrency as usize,
                    None,
                    g.quiet,
                    "opt-out check",
                )
                .await;
                if let Some(s) = f.stop {
                    stop = Some(s);
                    sendable.clear();
                }
                let mut recs = Vec::new();
                sendable.retain(|(row, m)| {
                    let verdict = match f.cases.get(&m.case_id) {
                        Some(c) => {
                            let out = match channel {
                                Channel::Sms => c.flag("sms_opted_out"),
                                Channel::Email => c.flag("email_opted_out"),
                            };
                            if out == Some(true) {
                                Some((
                                    Outcome::OptedOut,
                                    format!(
                                        "case {} is opted out of {}",
                                        m.case_id,
                                        channel.name()
                                    ),
                                ))
                            } else {
                                None
                            }
                        }
                        None => Some((
                            Outcome::Failed,
                            format!(
                                "not sent: could not check the case's opt-out: {}",
                                f.errors
                                    .get(&m.case_id)
                                    .cloned()
                                    .unwrap_or_else(|| "no answer".into())
                            ),
                        )),
                    };
                    match verdict {
                        Some((o, e)) => {
                            recs.push(RowRecord {
                                row: *row,
                                batch: None,
                                outcome: o,
                                id: None,
                                error: Some(e),
                                data: None,
                            });
                            false
                        }
                        None => true,
                    }
                });
                if let Err(e) =
                    journal.append(&recs.iter().cloned().map(Record::Row).collect::<Vec<_>>())
                {
                    stop = Some(e.to_string());
                    sendable.clear();
                }
                for r in recs {
                    outcomes.insert(r.row, (r.outcome, r.error));
                }
            }
            let journal = Mutex::new(journal);
            let jref = &journal;
            let cref = &client;
            let mut stream = futures::stream::iter(sendable)
                .map(|(row, m)| async move {
                    if cref.pacer().stop_signal().is_stopped() {
                        return (row, None);
                    }
                    let batch = match jref.lock() {
                        Ok(mut j) => j.sent(&[row]),
                        Err(_) => return (row, None),
                    };
                    let Ok(batch) = batch else {
                        // Not journaled, so not sent: stop rather than send unrecorded.
                        cref.pacer().stop_signal().stop();
                        return (row, None);
                    };
                    let r = match channel {
                        Channel::Sms => cref.send_sms(m.case_id, m.client_id, &m.message).await,
                        Channel::Email => {
                            cref.send_email(
                                m.case_id,
                                m.client_id,
                                m.subject.as_deref().unwrap_or_default(),
                                &m.message,
                            )
                            .await
                        }
                    };
                    (row, Some((batch, r)))
                })
                .buffer_unordered(a.pacing.concurrency.max(1) as usize);
            let mut progress =
                Progress::new(channel.name(), todo.len() as u64, g.quiet, client.rate(), 1);
            let mut tally = Tally {
                done: 0,
                counts: vec![("sent", 0), ("unknown", 0), ("failed", 0)],
            };
            while let Some((row, r)) = stream.next().await {
                tally.done += 1;
                progress.update(&tally, &client.pacer().view());
                let Some((batch, r)) = r else { continue };
                let (o, e) = match r {
                    Ok(_) => (Outcome::Sent, None),
                    Err(CallError::Lost { last }) => {
                        (Outcome::Unknown, Some(format!("{LOST} ({last})")))
                    }
                    Err(e @ CallError::BadAnswer { .. }) => (
                        Outcome::Unknown,
                        Some(format!(
                            "{e}; the server may have scheduled it, so it is not resent"
                        )),
                    ),
                    Err(e @ (CallError::KeyRejected { .. } | CallError::Halted { .. })) => {
                        if e.maybe_applied() {
                            (Outcome::Unknown, Some(format!("{LOST} ({e})")))
                        } else {
                            if let Ok(mut j) = journal.lock() {
                                let _ = j.append(&[Record::Released {
                                    batch,
                                    rows: vec![row],
                                }]);
                            }
                            stop.get_or_insert(export::stop_reason(&e));
                            continue;
                        }
                    }
                    Err(e) if e.maybe_applied() => {
                        (Outcome::Unknown, Some(format!("{LOST} ({e})")))
                    }
                    Err(e) => (Outcome::Failed, Some(format!("not sent: {e}"))),
                };
                let rec = RowRecord {
                    row,
                    batch: Some(batch),
                    outcome: o,
                    id: None,
                    error: e.clone(),
                    data: None,
                };
                let written = match journal.lock() {
                    Ok(mut j) => j.append(&[Record::Row(rec)]).map_err(|e| e.to_string()),
                    Err(_) => Err("the journal lock is poisoned".to_string()),
                };
                if let Err(e) = written {
                    stop.get_or_insert(e);
                    client.pacer().stop_signal().stop();
                }
                let k = match o {
                    Outcome::Sent => 0,
                    Outcome::Unknown => 1,
                    _ => 2,
                };
                tally.counts[k].1 += 1;
                progress.update(&tally, &client.pacer().view());
                outcomes.insert(row, (o, e));
            }
            progress.finish();
            drop(stream);
            sig.abort();
            interrupted = flag.load(Ordering::SeqCst);
            if let Ok(mut j) = journal.lock() {
                if interrupted {
                    let _ = j.note("interrupted (Ctrl-C)");
                } else if let Some(s) = &stop {
                    let _ = j.note(format!("stopped: {s}"));
                }
            }
            stats = Some(client.stats());
            Ok::<(), Fatal>(())
        })?;
    }

    // Results.
    let mut extra = vec!["rendered_message".to_string()];
    if channel == Channel::Email {
        extra.push("rendered_subject".to_string());
    }
    let mut writer = ResultsWriter::create(&results_path, &headers, &extra)
        .map_err(|e| Fatal::stopped(e.to_string()))?;
    let mut summary = Summary {
        command: command.into(),
        command_line: validate::command_line(),
        input: a.file.display().to_string(),
        results: Some(results_path.display().to_string()),
        plan: Some(plan),
        blank_rows: blank,
        ..Default::default()
    };
    if multipart > 0 {
        summary.warnings.push(format!(
            "{multipart} SMS are longer than one part (160 GSM-7 or 70 UCS-2 characters) and will be sent and billed as several"
        ));
    }
    if a.dry_run {
        summary.warnings.push(format!(
            "dry run: nothing was sent ({} {noun} would be, before the opt-out check)",
            todo.len()
        ));
    }
    let not_sent = if interrupted {
        "not sent: the run was interrupted; run again with --resume".to_string()
    } else if let Some(s) = &stop {
        format!("not sent: {s}; run again with --resume")
    } else {
        "not sent".to_string()
    };
    let mut ids_sent = BTreeSet::new();
    for r in rows {
        let (outcome, errors) = match r.state {
            State::Invalid(e) => (Outcome::Invalid, e),
            State::Duplicate(first) => (
                Outcome::Duplicate,
                vec![RowError::new(
                    "message",
                    format!("same case, client and message as row {first}; sent once"),
                )],
            ),
            State::Ready(m) => {
                ids_sent.insert(m.case_id);
                if a.dry_run {
                    (Outcome::Valid, Vec::new())
                } else {
                    match outcomes.get(&r.source_row) {
                        Some((o, e)) => (
                            *o,
                            e.iter()
                                .map(|e| RowError::new("kayse", e.clone()))
                                .collect(),
                        ),
                        None => (
                            Outcome::Skipped,
                            vec![RowError::new("kayse", not_sent.clone())],
                        ),
                    }
                }
            }
        };
        summary.rows_read += 1;
        summary.count(outcome);
        let case_id = match r.cells.get(case_col).map(crate::check::ids::from_cell) {
            Some(Ok(Some(id))) => Some(id),
            _ => None,
        };
        let mut ex = vec![Cell::Text(r.message)];
        if let Some(s) = r.subject {
            ex.push(Cell::Text(s));
        }
        writer
            .write(&ResultRow {
                source_row: r.source_row,
                outcome,
                kayse_id: case_id,
                errors,
                cells: r.cells,
                extra: ex,
            })
            .map_err(|e| Fatal::stopped(e.to_string()))?;
    }
    if let Some(mut s) = stats {
        s.elapsed_secs = started.elapsed().as_secs_f64();
        summary.requests = Some(s);
    }
    validate::finish_run(summary, writer, g, interrupted, stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_checks() {
        let ok = check_row(
            Channel::Sms,
            (&Cell::Int(1), 0),
            (&Cell::Text("2".into()), 1),
            "hi",
            None,
        );
        assert_eq!(ok.unwrap().client_id, 2);
        let long = "a".repeat(1601);
        type Case<'a> = (Cell, Cell, &'a str, Option<&'a str>, Channel, &'a [&'a str]);
        let cases: &[Case] = &[
            (
                Cell::Empty,
                Cell::Int(2),
                "hi",
                None,
                Channel::Sms,
                &["case_id: is required"],
            ),
            (
                Cell::Int(0),
                Cell::Int(2),
                "hi",
                None,
                Channel::Sms,
                &["case_id: '0' is not an id"],
            ),
            (
                Cell::Int(1),
                Cell::Text("x".into()),
                "hi",
                None,
                Channel::Sms,
                &["client_id: 'x' is not an id"],
            ),
            (
                Cell::Int(1),
                Cell::Int(2),
                " ",
                None,
                Channel::Sms,
                &["message: the message is empty"],
            ),
            (
                Cell::Int(1),
                Cell::Int(2),
                &long,
                None,
                Channel::Sms,
                &["message: the SMS is 1601 characters"],
            ),
            (
                Cell::Int(1),
                Cell::Int(2),
                &long,
                Some("s"),
                Channel::Email,
                &[],
            ),
            (
                Cell::Int(1),
                Cell::Int(2),
                "hi",
                Some(""),
                Channel::Email,
                &["subject: the subject is empty"],
            ),
        ];
        for (case, client, msg, subj, ch, want) in cases {
            let r = check_row(*ch, (case, 0), (client, 1), msg, *subj);
            if want.is_empty() {
                assert!(r.is_ok(), "{msg:.10}");
                continue;
            }
            let errs = crate::outcome::join_errors(&r.unwrap_err());
            for w in *want {
                assert!(errs.contains(w), "{errs} lacks {w}");
            }
        }
    }

    #[test]
    fn duplicates_key_on_case_client_text_subject() {
        let m = |case, client, text: &str, subj: Option<&str>| Ready {
            case_id: case,
            client_id: client,
            message: text.into(),
            subject: subj.map(str::to_string),
        };
        let mut d = Dedupe::default();
        assert_eq!(d.first_row(&m(1, 2, "a", None), 2), None);
        assert_eq!(d.first_row(&m(1, 2, "a", None), 3), Some(2));
        assert_eq!(d.first_row(&m(1, 3, "a", None), 4), None);
        assert_eq!(d.first_row(&m(1, 2, "b", None), 5), None);
        assert_eq!(d.first_row(&m(1, 2, "a", Some("s")), 6), None);
        assert_eq!(d.first_row(&m(1, 2, "a", Some("s")), 7), Some(6));
    }
}
