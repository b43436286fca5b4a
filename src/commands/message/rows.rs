//! The rows of a message sheet, checked before anything is sent: each row's text rendered
//! (a column as it is, or a `{{row.COLUMN}}` template), its ids and text checked, repeats marked.
//! Reads the sheet once; no network.

use std::collections::HashMap;

use super::keys::{self, Sides};
use super::lookup::Lookup;
use super::text::{Template, find_header};
use super::{Channel, MessageArgs, sms};
use crate::cell::Cell;
use crate::engine::earlier::{self, Earlier};
use crate::engine::input::{FingerprintSlot, Sheet, SheetFacts, names_matcher, read_failed};
use crate::error::Fatal;
use crate::outcome::{Outcome, RowError};

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
pub struct Row {
    pub source_row: usize,
    /// The row's case: its id, or the id its case number has in the ledger.
    pub case_id: Option<u64>,
    pub cells: Vec<Cell>,
    pub message: String,
    pub subject: Option<String>,
    pub state: State,
}

/// The payload, or every error, or a duplicate of an earlier row, or (the input being an
/// earlier results file) what an earlier run settled, left as it was.
pub enum State {
    Ready(Ready),
    Invalid(Vec<RowError>),
    Duplicate(usize),
    Earlier(Outcome),
}

/// A message sheet read and checked.
pub struct Checked {
    pub headers: Vec<String>,
    /// The journal's fingerprint of what was read.
    pub fingerprint: FingerprintSlot,
    pub rows: Vec<Row>,
    pub blank: u64,
    /// SMS longer than one part.
    pub multipart: u64,
    pub facts: SheetFacts,
}

/// The columns a message sheet is read by: what makes a row its header.
const COLUMNS: &[&str] = &[
    "case_id",
    "client_id",
    "case_number",
    "client_email",
    "client_mobile",
    "message",
    "subject",
];

/// What makes a row the header: the columns read, under the names the options give them.
fn matcher(a: &MessageArgs) -> crate::read::HeaderMatcher {
    let mut names: Vec<String> = COLUMNS.iter().map(|s| s.to_string()).collect();
    names.extend(a.case_id_column.iter().cloned());
    names.extend(a.client_id_column.iter().cloned());
    names_matcher(&names)
}

/// Read, render and check every row. `ledger` opens the ledger, asked only when a row names its
/// case or client by key.
pub fn read(
    channel: Channel,
    a: &MessageArgs,
    subject: Option<&str>,
    ledger: impl FnOnce() -> Result<Box<dyn Lookup>, Fatal>,
) -> Result<Checked, Fatal> {
    let Sheet {
        table,
        fingerprint,
        facts,
    } = Sheet::open(&a.input, a.hidden.hidden_rows(), matcher(a))?;
    let headers = table.headers;
    let sides = Sides::find(&headers, a, ledger, |e| {
        Fatal::usage(format!(
            "{}: {e}; the columns are: {}{}",
            a.input.file.display(),
            headers.join(", "),
            a.input.header_hint(table.header_row)
        ))
    })?;
    let msg_src = Source::pick(a.message.as_deref(), "message", &headers, "--message")?;
    let subj_src = match channel {
        Channel::Email => Some(Source::pick(subject, "subject", &headers, "--subject")?),
        Channel::Sms => None,
    };
    let mut out = Checked {
        headers: Vec::new(),
        fingerprint,
        rows: Vec::new(),
        blank: 0,
        multipart: 0,
        facts,
    };
    let before = Earlier::find(&headers, a.only_failed, &a.input.file)?;
    let mut dedupe = Dedupe::default();
    for raw in table.rows {
        let raw = raw.map_err(read_failed)?;
        if raw.is_blank() {
            out.blank += 1;
            continue;
        }
        let message = msg_src.render(&raw.cells);
        let subject = subj_src.as_ref().map(|s| s.render(&raw.cells));
        let (case_cell, client_cell, key_errors) = sides.ids(&raw.cells);
        let checked = keys::explain(
            check_row(
                channel,
                (&case_cell, sides.case.col()),
                (&client_cell, sides.client.col()),
                &message,
                subject.as_deref(),
            ),
            key_errors,
        );
        let case_id = crate::check::ids::from_cell(&case_cell).ok().flatten();
        // A message an earlier run sent still counts for the repeats after it.
        let first = checked
            .as_ref()
            .ok()
            .and_then(|r| dedupe.first_row(r, raw.source_row));
        let state = match (before.outcome(&raw.cells), checked) {
            (Some(o), _) if earlier::never_again(o, earlier::MESSAGE_DONE) => State::Earlier(o),
            (Some(o), _) if a.only_failed && !earlier::retried_when_only_failed(o) => {
                State::Earlier(o)
            }
            (_, Err(e)) => State::Invalid(e),
            (_, Ok(r)) => match first {
                Some(first) => State::Duplicate(first),
                None => {
                    if channel == Channel::Sms && sms::segments(&r.message).parts > 1 {
                        out.multipart += 1;
                    }
                    State::Ready(r)
                }
            },
        };
        out.rows.push(Row {
            source_row: raw.source_row,
            case_id,
            cells: raw.cells,
            message,
            subject,
            state,
        });
    }
    out.headers = headers;
    Ok(out)
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

#[cfg(test)]
mod tests;
