//! `kayse-bulk sms` and `kayse-bulk email`: one message per row to a case's client, at most once.
//! Rows are checked and rendered first (`rows`: `{{row.COLUMN}}` filled locally, Kayse's own
//! `{{...}}` variables untouched, repeats marked `duplicate`), then sent through the engine
//! (`send`: opted-out cases skipped after one GET per case, each send journaled before it leaves).
//!
//! At most once: a send whose answer was lost (timeout, dropped connection) may have reached the
//! server, so it is never resent, by this run or by `--resume`; its row is `unknown`. A row whose
//! send was journaled but has no outcome (kill -9 mid-request) is `unknown` on resume, for good.

mod keys;
mod lookup;
mod rows;
mod send;
pub mod sms;
pub mod text;
mod written;

use std::collections::BTreeMap;
use std::time::Instant;

use crate::cli::Global;
use crate::engine::finish::{self, Results};
use crate::engine::input::Echo;
use crate::engine::options::{InputArgs, ResultsArgs, RunArgs, SkipHiddenArgs};
use crate::engine::session::{InFlight, Input, Session, Spec, show_plan};
use crate::engine::{View, Work, confirm};
use crate::error::CmdResult;
use crate::outcome::Outcome;
use crate::record::journal::Journal;
use crate::send::{ConnectionArgs, PacingArgs};
use rows::{Ready, State};
use text::first_message;

/// Options both message commands share.
#[derive(Debug, clap::Args)]
pub struct MessageArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub hidden: SkipHiddenArgs,
    /// Message template instead of a message column; {{row.COLUMN}} is filled from the row,
    /// other {{...}} (Kayse variables such as {{first_name}}) are sent as they are.
    #[arg(long, value_name = "TEMPLATE")]
    pub message: Option<String>,
    /// The column holding the case ids [default: case_id].
    #[arg(long, value_name = "NAME")]
    pub case_id_column: Option<String>,
    /// The column holding the client ids [default: client_id].
    #[arg(long, value_name = "NAME")]
    pub client_id_column: Option<String>,
    /// Send without fetching each case first to skip opted-out clients.
    #[arg(long)]
    pub no_opt_out_check: bool,
    #[command(flatten)]
    pub results: ResultsArgs,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub pacing: PacingArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// The input is an earlier results file: send only the rows that did not go (failed,
    /// skipped, invalid); rows already sent or unknown are never sent again, with or without it.
    #[arg(long)]
    pub only_failed: bool,
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

    /// How the plan and the prompt count messages.
    fn noun(self) -> &'static str {
        match self {
            Channel::Sms => "SMS",
            Channel::Email => "emails",
        }
    }
}

const IN_FLIGHT: &str = "the run stopped while this message was being sent: it may have been sent, so it is not resent automatically; check in Kayse before sending it again";

/// What the message commands' progress line counts.
const SHOWN: &[(&str, Outcome)] = &[
    ("sent", Outcome::Sent),
    ("unknown", Outcome::Unknown),
    ("failed", Outcome::Failed),
    ("opted out", Outcome::OptedOut),
];

fn run(channel: Channel, mut a: MessageArgs, subject_tpl: Option<String>, g: &Global) -> CmdResult {
    let started = Instant::now();
    let command = channel.name();
    let noun = channel.noun();
    let results_path = a.results.path_for(&a.input.file, command)?;
    crate::engine::session::restore_reading(a.run.resume, &results_path, &mut a.input)?;
    let checked = rows::read(channel, &a, subject_tpl.as_deref(), || {
        let path = crate::engine::ledger::path(g, &a.conn)?;
        Ok(Box::new(crate::engine::ledger::open_at(&path)?) as Box<dyn lookup::Lookup>)
    })?;
    let mut session = open_session(
        channel,
        &a,
        subject_tpl,
        &results_path,
        &checked.fingerprint,
        g,
    )?;
    let ready: Vec<(usize, Ready)> = checked
        .rows
        .iter()
        .filter_map(|r| match &r.state {
            State::Ready(m) => Some((r.source_row, m.clone())),
            _ => None,
        })
        .collect();
    let todo = match &session {
        Some(s) => s.split(ready, |(row, _)| *row).1,
        None => ready,
    };
    let gets = (!a.no_opt_out_check)
        .then(|| crate::check::ids::dedupe(todo.iter().map(|(_, m)| m.case_id)).len() as u64);
    let plan_line = crate::plan::message_line(todo.len() as u64, noun, gets, a.pacing.rate_limit);
    match session.as_mut() {
        Some(s) => s.plan(plan_line.clone(), g),
        None => show_plan(&plan_line, g),
    }
    let n = todo.len();
    // A filter hides rows, not their messages: say that the hidden ones go too.
    let included = checked
        .facts
        .hidden_rows_read()
        .map(|(_, rows)| {
            format!(
                "\nIncluded: {rows}, hidden in the workbook; --skip-hidden-rows leaves them out."
            )
        })
        .unwrap_or_default();
    let sent = match session {
        None => {
            if !g.quiet
                && let Some((_, first)) = todo.first()
            {
                eprintln!(
                    "dry run: the first of {n} {noun}, {}{included}",
                    first_message(first)
                );
            }
            None
        }
        Some(s) if todo.is_empty() => Some(s.skip_sending()),
        Some(s) => {
            if let Some((_, first)) = todo.first() {
                let what = format!(
                    "About to send {n} {noun}. The first, {}{included}",
                    first_message(first)
                );
                confirm::confirm_action(a.run.yes, &what, n as u64, command)?;
            }
            let mut live = s.connect(&a.conn, &a.pacing, g)?;
            let view = View {
                label: command,
                total: n as u64,
                per_request: 1,
                shown: SHOWN,
            };
            let messenger = send::Messenger::new(channel, !a.no_opt_out_check);
            live.send(messenger, Work::list(todo), 1, view);
            Some(live.end())
        }
    };
    let mut summary = finish::summary(command, a.input.file.display(), Some(&results_path));
    checked.facts.start(Some(&results_path), &mut summary);
    checked.facts.finish(&mut summary);
    summary.plan = Some(plan_line);
    summary.blank_rows = checked.blank;
    if checked.multipart > 0 {
        summary.warnings.push(format!(
            "{} SMS are longer than one part (160 GSM-7 or 70 UCS-2 characters) and will be sent and billed as several",
            checked.multipart
        ));
    }
    if a.run.dry_run {
        summary.warnings.push(format!(
            "dry run: nothing was sent ({n} {noun} would be, before the opt-out check)"
        ));
    }
    let [message, subject] = crate::entity::MESSAGE_COLUMNS else {
        unreachable!("two message columns")
    };
    let mut extra = vec![message.to_string()];
    if channel == Channel::Email {
        extra.push(subject.to_string());
    }
    // An earlier results file given as input: its own columns are written afresh, and its
    // `source_row` kept, so the rows keep the original sheet's numbers through any round trip.
    let echo = Echo::new(&checked.headers);
    let hidden = echo.columns(checked.facts.hidden_columns());
    let headers = echo.headers(&checked.headers);
    let mut results = Results::create(&results_path, &headers, &extra, &hidden, summary)?;
    written::write_rows(&mut results, checked.rows, &echo, sent.as_ref())?;
    results.finish(g, sent.as_ref(), started)
}

/// The run's journal session, none for a dry run. It records the templates, so a `--resume`
/// renders every message as this run did.
fn open_session(
    channel: Channel,
    a: &MessageArgs,
    subject_tpl: Option<String>,
    results_path: &std::path::Path,
    fingerprint: &crate::engine::input::FingerprintSlot,
    g: &Global,
) -> Result<Option<Session>, crate::error::Fatal> {
    if a.run.dry_run {
        return Ok(None);
    }
    let mut options = BTreeMap::new();
    options.insert("message".to_string(), a.message.clone().unwrap_or_default());
    options.insert("subject".to_string(), subject_tpl.unwrap_or_default());
    a.input.record(&mut options);
    let spec = Spec {
        command: channel.name(),
        input: Input::File(a.input.file.clone()),
        journal: Journal::path_for(results_path),
        fingerprint: fingerprint.finished()?,
        options,
        checked: Some("--message/--subject templates"),
        refuse_fresh: None,
        in_flight: InFlight::Unknown(IN_FLIGHT),
        retry_failed: true,
        server: crate::send::Server::of(&a.conn, g)?,
    };
    Ok(Some(Session::open(spec, a.run.resume)?))
}
