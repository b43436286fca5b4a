//! Value parsers for one cell each: dates, booleans, ids, id lists, JSON objects, plus the small
//! string helpers (header normalisation, edit distance) that mapping and checking share. Pure
//! functions whose typed errors read as human messages that never quote the whole cell (the
//! caller's `RowError` does). No I/O, and no panics on any input.

use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value};

use crate::cell::Cell;

/// How to read an all-numeric date such as `3/5/2024` (`--date-order`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DateOrder {
    #[default]
    Mdy,
    Dmy,
    Ymd,
}

/// Why a cell is not a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Text that is no date form we know.
    #[error("not a date; use YYYY-MM-DD")]
    NotADate,
    /// A well-formed date that does not exist (Feb 30, month 13).
    #[error("not a real date")]
    NotReal,
    #[error("a number, not a date; use YYYY-MM-DD")]
    Number,
    #[error("empty")]
    Empty,
    #[error("an error cell, not a date")]
    ErrorCell,
    #[error("not a date in the --date-order ymd form (year first); use YYYY-MM-DD")]
    NotYearFirst,
    /// Real only with day and month swapped: `first` is how it was read, `other` the option that
    /// reads it the other way.
    #[error("not a real date when read {first} first; use {other} or YYYY-MM-DD")]
    Swapped {
        first: &'static str,
        other: &'static str,
    },
}

use DateError::{NotADate, NotReal};

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Read a date from a cell. Accepted: Excel date cells (a date-time keeps its date, no time-zone
/// shift), ISO `2024-03-05` and ISO date-times (`2024-03-05T23:30:00-05:00` is 2024-03-05),
/// numeric dates `3/5/2024`, `3-5-2024`, `3.5.2024` read in `order`, year-first `2024/3/5`
/// always, and month names: `Mar 5, 2024`, `March 5 2024`, `5 March 2024`, `5-Mar-2024`.
///
/// Two-digit years follow Excel's rule, so the tool agrees with what the user saw in Excel:
/// `00`–`29` are 2000–2029 and `30`–`99` are 1930–1999. Numbers are refused: a CSV has no date
/// serials, and a workbook's real date cells already arrive as dates, so a bare number in a date
/// column is a mistake worth showing.
pub fn parse_date(cell: &Cell, order: DateOrder) -> Result<NaiveDate, DateError> {
    match cell {
        Cell::Date(d) => Ok(*d),
        Cell::DateTime(dt) => Ok(dt.date()),
        Cell::Int(_) | Cell::Float(_) => Err(DateError::Number),
        Cell::Bool(_) => Err(NotADate),
        Cell::Empty => Err(DateError::Empty),
        Cell::Error(_) => Err(DateError::ErrorCell),
        Cell::Text(s) => parse_date_text(s.trim(), order),
    }
}

fn parse_date_text(s: &str, order: DateOrder) -> Result<NaiveDate, DateError> {
    if s.is_empty() {
        return Err(DateError::Empty);
    }
    if let Some(r) = iso_prefix(s) {
        return r;
    }
    if s.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'/' | b'-' | b'.'))
    {
        return numeric_date(s, order);
    }
    named_month_date(s)
}

/// `YYYY-MM-DD`, alone or followed by `T`/space and a time (any offset is ignored: the date part
/// is what the user typed).
fn iso_prefix(s: &str) -> Option<Result<NaiveDate, DateError>> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4) && digits(5..7) && digits(8..10)) {
        return None;
    }
    if b.len() > 10 {
        let sep = b[10];
        let next = b.get(11).copied().unwrap_or(b' ');
        if !(matches!(sep, b'T' | b't' | b' ') && next.is_ascii_digit()) {
            return Some(Err(NotADate));
        }
    }
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    Some(match (n(0..4), n(5..7), n(8..10)) {
        (Some(y), Some(m), Some(d)) => ymd(y as i32, m, d),
        _ => Err(NotADate),
    })
}

fn ymd(y: i32, m: u32, d: u32) -> Result<NaiveDate, DateError> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or(NotReal)
}

/// A year as written: four digits as is, two digits by Excel's 1930 pivot.
fn year(t: &str) -> Option<i32> {
    let v: i32 = t.parse().ok()?;
    match t.len() {
        4 => Some(v),
        2 if v < 30 => Some(2000 + v),
        2 => Some(1900 + v),
        _ => None,
    }
}

fn small(t: &str) -> Option<u32> {
    if t.is_empty() || t.len() > 2 {
        return None;
    }
    t.parse().ok()
}

/// `3/5/2024`, `3-5-24`, `2024/3/5`, `05.03.2024`: one separator used twice.
fn numeric_date(s: &str, order: DateOrder) -> Result<NaiveDate, DateError> {
    let sep = match s.bytes().find(|b| !b.is_ascii_digit()) {
        Some(c) => c as char,
        None => return Err(NotADate),
    };
    let parts: Vec<&str> = s.split(sep).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(NotADate);
    }
    let (a, b, c) = (parts[0], parts[1], parts[2]);
    if a.len() == 4 {
        // Year first is never ambiguous.
        return match (year(a), small(b), small(c)) {
            (Some(y), Some(m), Some(d)) => ymd(y, m, d),
            _ => Err(NotADate),
        };
    }
    if order == DateOrder::Ymd {
        return match (year(a), small(b), small(c)) {
            (Some(y), Some(m), Some(d)) if a.len() == 2 => ymd(y, m, d),
            _ => Err(DateError::NotYearFirst),
        };
    }
    let (Some(x), Some(z), Some(y)) = (small(a), small(b), year(c)) else {
        return Err(NotADate);
    };
    let (m, d, other) = match order {
        DateOrder::Dmy => (z, x, "--date-order mdy"),
        _ => (x, z, "--date-order dmy"),
    };
    if NaiveDate::from_ymd_opt(y, m, d).is_none() && NaiveDate::from_ymd_opt(y, d, m).is_some() {
        let first = if order == DateOrder::Dmy {
            "day"
        } else {
            "month"
        };
        return Err(DateError::Swapped { first, other });
    }
    ymd(y, m, d)
}

fn month_number(t: &str) -> Option<u32> {
    if t.len() < 3 || !t.is_ascii() {
        return None;
    }
    let t = t.to_ascii_lowercase();
    if t == "sept" {
        return Some(9);
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(t.as_str()) && (t.len() == 3 || t.len() == m.len()))
        .map(|i| i as u32 + 1)
}

fn is_weekday(t: &str) -> bool {
    if t.len() < 3 || !t.is_ascii() {
        return false;
    }
    let t = t.to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .any(|w| w.starts_with(t.as_str()) && (t.len() == 3 || t.len() == w.len()))
}

/// A day number, allowing an ordinal suffix (`5th`, `1st`).
fn day(t: &str) -> Option<u32> {
    let lower = t.to_ascii_lowercase();
    let core = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|suf| lower.strip_suffix(suf))
        .unwrap_or(&lower);
    if core.is_empty() || core.len() > 2 || !core.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    core.parse().ok()
}

/// `Mar 5, 2024`, `March 5 2024`, `5 March 2024`, `5-Mar-24`, `Tue, Mar 5, 2024`, `2024 Mar 5`.
fn named_month_date(s: &str) -> Result<NaiveDate, DateError> {
    let mut tokens: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '-' | '/' | '.'))
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.len() == 4 && is_weekday(tokens[0]) {
        tokens.remove(0);
    }
    if tokens.len() != 3 {
        return Err(NotADate);
    }
    let (a, b, c) = (tokens[0], tokens[1], tokens[2]);
    let parsed = if let Some(m) = month_number(a) {
        day(b).zip(year(c)).map(|(d, y)| (y, m, d))
    } else if let Some(m) = month_number(b) {
        if a.len() == 4 {
            year(a).zip(day(c)).map(|(y, d)| (y, m, d))
        } else {
            day(a).zip(year(c)).map(|(d, y)| (y, m, d))
        }
    } else {
        None
    };
    match parsed {
        Some((y, m, d)) => ymd(y, m, d),
        None => Err(NotADate),
    }
}

/// Why a cell is not a yes/no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a yes/no value; use true/false, yes/no, y/n or 1/0")]
pub struct BoolError;

/// Read a yes/no cell: true/false, yes/no, y/n, 1/0 in any case, and Excel booleans. Anything
/// else is refused rather than guessed, because a wrong guess flips a client's opt-out.
pub fn parse_bool(cell: &Cell) -> Result<bool, BoolError> {
    match cell {
        Cell::Bool(b) => Ok(*b),
        Cell::Int(1) => Ok(true),
        Cell::Int(0) => Ok(false),
        Cell::Float(f) if *f == 1.0 => Ok(true),
        Cell::Float(f) if *f == 0.0 => Ok(false),
        Cell::Text(s) => {
            let t = s.trim();
            let yes = ["true", "yes", "y", "1"];
            let no = ["false", "no", "n", "0"];
            if yes.iter().any(|w| w.eq_ignore_ascii_case(t)) {
                Ok(true)
            } else if no.iter().any(|w| w.eq_ignore_ascii_case(t)) {
                Ok(false)
            } else {
                Err(BoolError)
            }
        }
        _ => Err(BoolError),
    }
}

/// Why a cell is not a Kayse id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("not a positive whole number")]
    NotWhole,
    #[error("must be a positive whole number, not 0")]
    Zero,
    #[error("too large for an id")]
    TooLarge,
}

/// A positive integer written as text. `12.0` (how pandas and some exports write whole numbers)
/// counts as 12; signs, other decimals, exponents and thousands separators do not.
fn parse_id_text(t: &str) -> Result<u64, IdError> {
    let core = match t.split_once('.') {
        Some((whole, frac)) if !frac.is_empty() && frac.bytes().all(|b| b == b'0') => whole,
        _ => t,
    };
    if core.is_empty() || !core.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdError::NotWhole);
    }
    match core.parse::<u64>() {
        Ok(0) => Err(IdError::Zero),
        Ok(v) => Ok(v),
        Err(_) => Err(IdError::TooLarge),
    }
}

/// Read a Kayse id: a positive integer, from a number cell or text digits.
pub fn parse_id(cell: &Cell) -> Result<u64, IdError> {
    match cell {
        Cell::Int(i) if *i > 0 => Ok(*i as u64),
        Cell::Int(0) => Err(IdError::Zero),
        Cell::Text(s) => parse_id_text(s.trim()),
        _ => Err(IdError::NotWhole),
    }
}

/// Why a cell is not a list of ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdListError {
    /// A number cell that is no id.
    #[error(transparent)]
    Number(IdError),
    /// One item of the list (shortened for the message) is no id.
    #[error("id '{item}' is {}", if *.too_large { "too large for an id" } else { "not a positive whole number" })]
    Item { item: String, too_large: bool },
    #[error("unbalanced brackets in the id list")]
    Brackets,
    #[error("not a list of ids; use whole numbers separated by ';'")]
    NotAList,
}

/// Read a list of client ids: integers separated by `,` `;` `|` or whitespace, optionally in
/// brackets (`[1, 2]`); a number cell is a one-id list. The error names the first bad item.
pub fn parse_id_list(cell: &Cell) -> Result<Vec<u64>, IdListError> {
    let text = match cell {
        Cell::Int(_) => return parse_id(cell).map(|v| vec![v]).map_err(IdListError::Number),
        Cell::Text(s) => s.trim(),
        _ => return Err(IdListError::NotAList),
    };
    let open = text.starts_with('[');
    let close = text.ends_with(']');
    let inner = match (open, close) {
        (true, true) if text.len() >= 2 => &text[1..text.len() - 1],
        (false, false) => text,
        _ => return Err(IdListError::Brackets),
    };
    inner
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '|'))
        .filter(|t| !t.is_empty())
        .map(|item| {
            parse_id_text(item).map_err(|e| IdListError::Item {
                item: short(item),
                too_large: e == IdError::TooLarge,
            })
        })
        .collect()
}

/// The hint every JSON-object error ends with.
const OBJECT_HINT: &str = "write {\"key\": \"value\"} or use external_source_data.KEY columns";

/// Why a cell is not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    /// A number, date or yes/no cell.
    #[error("not a JSON object; {OBJECT_HINT}")]
    NotText,
    #[error("JSON, but not an object; {OBJECT_HINT}")]
    NotAnObject,
    /// Text that is not JSON, with the parser's own reason.
    #[error("not valid JSON ({reason}); {OBJECT_HINT}")]
    Invalid { reason: String },
}

/// Read a JSON object cell (an object field such as external_source_data).
pub fn parse_object(cell: &Cell) -> Result<Map<String, Value>, ObjectError> {
    let Cell::Text(s) = cell else {
        return Err(ObjectError::NotText);
    };
    match serde_json::from_str::<Value>(s.trim()) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ObjectError::NotAnObject),
        Err(e) => Err(ObjectError::Invalid {
            reason: e.to_string(),
        }),
    }
}

/// Write a list of ids the way [`parse_id_list`] reads it back: `1;2`.
pub fn format_id_list(ids: &[u64]) -> String {
    let mut out = String::new();
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(&id.to_string());
    }
    out
}

/// At most 40 characters of a value, for messages about hostile cells.
pub fn short(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}

/// A header reduced for matching: lowercase, without spaces, `_`, `-` or `.`, so `Case Number`,
/// `CASE_NUMBER` and `case-number` all compare equal.
pub fn normalize_header(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Edit distance (insertions, deletions, substitutions) over characters, for "did you mean"
/// suggestions. Quadratic, so callers keep the inputs short.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The length a text had before a writer cut it to fit one Excel cell, when it ends with the
/// marker `clip_for_excel` (report::results) leaves: ` [cut: 40000 characters]`. Such a text is
/// not what the case holds, so it must never be sent back.
pub fn was_cut(s: &str) -> Option<usize> {
    let rest = s.trim_end().strip_suffix(" characters]")?;
    let (_, n) = rest.rsplit_once(" [cut: ")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

/// Edit distance counting a swap of two neighbouring characters as one edit (optimal string
/// alignment): `Opne` is one slip away from `Open`, where plain Levenshtein counts two.
pub fn typo_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (i, row) in d.chunks_mut(w).enumerate() {
        row[0] = i;
    }
    for (j, v) in d.iter_mut().take(w).enumerate() {
        *v = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

/// The date as `YYYY-MM-DD` (what the API takes), for tests and callers that need the text.
pub fn format_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn dates_accepted() {
        use DateOrder::*;
        let cases: &[(Cell, DateOrder, NaiveDate)] = &[
            (Cell::Date(d(2024, 3, 5)), Mdy, d(2024, 3, 5)),
            (
                Cell::DateTime(d(2024, 3, 5).and_hms_opt(23, 59, 0).unwrap()),
                Mdy,
                d(2024, 3, 5),
            ),
            (t("2024-03-05"), Mdy, d(2024, 3, 5)),
            (t(" 2024-03-05 "), Dmy, d(2024, 3, 5)),
            (t("2024-03-05T23:30:00-05:00"), Mdy, d(2024, 3, 5)),
            (t("2024-03-05T01:00:00Z"), Mdy, d(2024, 3, 5)),
            (t("2024-03-05 00:00:00"), Mdy, d(2024, 3, 5)),
            (t("3/5/2024"), Mdy, d(2024, 3, 5)),
            (t("03/05/2024"), Mdy, d(2024, 3, 5)),
            (t("3/5/2024"), Dmy, d(2024, 5, 3)),
            (t("3-5-2024"), Mdy, d(2024, 3, 5)),
            (t("5.3.2024"), Dmy, d(2024, 3, 5)),
            (t("2024/3/5"), Mdy, d(2024, 3, 5)),
            (t("2024/3/5"), Dmy, d(2024, 3, 5)),
            (t("2024-3-5"), Mdy, d(2024, 3, 5)),
            (t("24/3/5"), Ymd, d(2024, 3, 5)),
            (t("3/5/24"), Mdy, d(2024, 3, 5)),
            (t("3/5/29"), Mdy, d(2029, 3, 5)),
            (t("3/5/30"), Mdy, d(1930, 3, 5)),
            (t("3/5/99"), Mdy, d(1999, 3, 5)),
            (t("Mar 5, 2024"), Mdy, d(2024, 3, 5)),
            (t("March 5 2024"), Dmy, d(2024, 3, 5)),
            (t("5 March 2024"), Mdy, d(2024, 3, 5)),
            (t("5 Mar 2024"), Mdy, d(2024, 3, 5)),
            (t("5-Mar-2024"), Mdy, d(2024, 3, 5)),
            (t("5-mar-24"), Mdy, d(2024, 3, 5)),
            (t("MARCH 5TH, 2024"), Mdy, d(2024, 3, 5)),
            (t("Tue, Mar 5, 2024"), Mdy, d(2024, 3, 5)),
            (t("Sept 9 2024"), Mdy, d(2024, 9, 9)),
            (t("2024 Mar 5"), Mdy, d(2024, 3, 5)),
            (t("Feb 29, 2024"), Mdy, d(2024, 2, 29)),
        ];
        for (cell, order, want) in cases {
            assert_eq!(parse_date(cell, *order), Ok(*want), "{cell:?} {order:?}");
        }
    }

    #[test]
    fn dates_refused_with_messages() {
        use DateOrder::*;
        let cases: &[(Cell, DateOrder, &str)] = &[
            (t("02/30/2025"), Mdy, "not a real date"),
            (t("2025-02-29"), Mdy, "not a real date"),
            (t("2024-13-01"), Mdy, "not a real date"),
            (t("Feb 30, 2024"), Mdy, "not a real date"),
            (
                t("31/12/2024"),
                Mdy,
                "not a real date when read month first; use --date-order dmy or YYYY-MM-DD",
            ),
            (
                t("12/31/2024"),
                Dmy,
                "not a real date when read day first; use --date-order mdy or YYYY-MM-DD",
            ),
            (
                t("3/5/2024"),
                Ymd,
                "not a date in the --date-order ymd form (year first); use YYYY-MM-DD",
            ),
            (t("tomorrow"), Mdy, "not a date; use YYYY-MM-DD"),
            (t("2024-03-05x"), Mdy, "not a date; use YYYY-MM-DD"),
            (t("3/5"), Mdy, "not a date; use YYYY-MM-DD"),
            (t("3/5-2024"), Mdy, "not a date; use YYYY-MM-DD"),
            (t("3/5/202"), Mdy, "not a date; use YYYY-MM-DD"),
            (t("20240305"), Mdy, "not a date; use YYYY-MM-DD"),
            (t("Smarch 5 2024"), Mdy, "not a date; use YYYY-MM-DD"),
            (t("Mar 2024"), Mdy, "not a date; use YYYY-MM-DD"),
            (t("   "), Mdy, "empty"),
            (
                Cell::Int(45356),
                Mdy,
                "a number, not a date; use YYYY-MM-DD",
            ),
            (
                Cell::Float(45356.5),
                Mdy,
                "a number, not a date; use YYYY-MM-DD",
            ),
            (Cell::Bool(true), Mdy, "not a date; use YYYY-MM-DD"),
        ];
        for (cell, order, want) in cases {
            assert_eq!(
                parse_date(cell, *order).map_err(|e| e.to_string()),
                Err(want.to_string()),
                "{cell:?} {order:?}"
            );
        }
    }

    #[test]
    fn booleans() {
        let yes = ["true", "TRUE", " True ", "yes", "YES", "y", "Y", "1"];
        let no = ["false", "False", "no", "NO", "n", "N", "0", " 0 "];
        for s in yes {
            assert_eq!(parse_bool(&t(s)), Ok(true), "{s}");
        }
        for s in no {
            assert_eq!(parse_bool(&t(s)), Ok(false), "{s}");
        }
        let cells = [
            (Cell::Bool(true), Ok(true)),
            (Cell::Bool(false), Ok(false)),
            (Cell::Int(1), Ok(true)),
            (Cell::Int(0), Ok(false)),
        ];
        for (c, want) in cells {
            assert_eq!(parse_bool(&c), want, "{c:?}");
        }
        let msg = "not a yes/no value; use true/false, yes/no, y/n or 1/0";
        for bad in [
            t("maybe"),
            t("t"),
            t("2"),
            t("yes please"),
            Cell::Int(2),
            Cell::Float(0.5),
        ] {
            assert_eq!(
                parse_bool(&bad).map_err(|e| e.to_string()),
                Err(msg.to_string()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ids() {
        let ok: &[(Cell, u64)] = &[
            (Cell::Int(7), 7),
            (t("42"), 42),
            (t(" 42 "), 42),
            (t("0042"), 42),
            (t("12.0"), 12),
            (t("12.00"), 12),
            (t("18446744073709551615"), u64::MAX),
        ];
        for (c, want) in ok {
            assert_eq!(parse_id(c), Ok(*want), "{c:?}");
        }
        let bad: &[(Cell, &str)] = &[
            (Cell::Int(0), "must be a positive whole number, not 0"),
            (Cell::Int(-3), "not a positive whole number"),
            (Cell::Float(1.5), "not a positive whole number"),
            (t("0"), "must be a positive whole number, not 0"),
            (t("-3"), "not a positive whole number"),
            (t("+3"), "not a positive whole number"),
            (t("12.5"), "not a positive whole number"),
            (t("12."), "not a positive whole number"),
            (t("1e3"), "not a positive whole number"),
            (t("1,000"), "not a positive whole number"),
            (t("abc"), "not a positive whole number"),
            (t(""), "not a positive whole number"),
            (t("18446744073709551616"), "too large for an id"),
            (Cell::Bool(true), "not a positive whole number"),
        ];
        for (c, want) in bad {
            assert_eq!(
                parse_id(c).map_err(|e| e.to_string()),
                Err(want.to_string()),
                "{c:?}"
            );
        }
    }

    #[test]
    fn id_lists() {
        let ok: &[(Cell, &[u64])] = &[
            (t("1;2"), &[1, 2]),
            (t("1,2,3"), &[1, 2, 3]),
            (t("1 | 2"), &[1, 2]),
            (t("1 2\t3"), &[1, 2, 3]),
            (t("[1, 2]"), &[1, 2]),
            (t(" [ 5 ] "), &[5]),
            (t("1,,2;"), &[1, 2]),
            (t("[]"), &[]),
            (t("7.0"), &[7]),
            (Cell::Int(9), &[9]),
        ];
        for (c, want) in ok {
            assert_eq!(parse_id_list(c).as_deref(), Ok(*want), "{c:?}");
        }
        let bad: &[(Cell, &str)] = &[
            (t("1;abc"), "id 'abc' is not a positive whole number"),
            (t("1;0"), "id '0' is not a positive whole number"),
            (
                t("99999999999999999999"),
                "id '99999999999999999999' is too large for an id",
            ),
            (t("1;-2"), "id '-2' is not a positive whole number"),
            (t("[1,2"), "unbalanced brackets in the id list"),
            (t("1,2]"), "unbalanced brackets in the id list"),
            (Cell::Int(0), "must be a positive whole number, not 0"),
            (
                Cell::Float(2.5),
                "not a list of ids; use whole numbers separated by ';'",
            ),
            (
                Cell::Bool(true),
                "not a list of ids; use whole numbers separated by ';'",
            ),
        ];
        for (c, want) in bad {
            assert_eq!(
                parse_id_list(c).map_err(|e| e.to_string()),
                Err(want.to_string()),
                "{c:?}"
            );
        }
        assert_eq!(format_id_list(&[1, 2]), "1;2");
        assert_eq!(format_id_list(&[]), "");
    }

    #[test]
    fn helpers() {
        for (a, b, want) in [
            ("", "", 0),
            ("active", "actve", 1),
            ("active", "Active", 1),
            ("kitten", "sitting", 3),
            ("", "abc", 3),
            ("é", "e", 1),
        ] {
            assert_eq!(levenshtein(a, b), want, "{a} {b}");
        }
        for (text, want) in [
            ("long text [cut: 40000 characters]", Some(40000)),
            ("x [cut: 32768 characters]  ", Some(32768)),
            ("[cut: 5 characters]", None),
            ("x [cut: many characters]", None),
            ("x [cut: 40000 characters] and more", None),
            ("plain", None),
        ] {
            assert_eq!(was_cut(text), want, "{text}");
        }
        let long = "é".repeat(40_000);
        let clipped = crate::report::results::clip_for_excel(&long, 32_767);
        assert_eq!(
            was_cut(&clipped),
            Some(40_000),
            "the writer's marker is recognised"
        );
        for (a, b, want) in [
            ("", "", 0),
            ("open", "opne", 1),
            ("open", "poen", 1),
            ("active", "actve", 1),
            ("closed", "colsed", 1),
            ("open", "pone", 2),
            ("ca", "abc", 3),
            ("kitten", "sitting", 3),
            ("", "abc", 3),
            ("é", "e", 1),
        ] {
            assert_eq!(typo_distance(a, b), want, "{a} {b}");
            assert_eq!(typo_distance(b, a), want, "{b} {a}");
        }
        for (h, want) in [
            ("Case Number", "casenumber"),
            ("CASE_NUMBER", "casenumber"),
            ("case-number", "casenumber"),
            ("Case No.", "caseno"),
            (" Case # ", "case#"),
        ] {
            assert_eq!(normalize_header(h), want);
        }
        assert_eq!(short("abc"), "abc");
        assert_eq!(short(&"x".repeat(50)).chars().count(), 41);
    }

    fn date_forms(date: NaiveDate) -> Vec<(String, DateOrder)> {
        let (y, m, dd) = (date.year(), date.month(), date.day());
        let mon = &MONTHS[m as usize - 1];
        let abbr = &mon[..3];
        vec![
            (format_date(date), DateOrder::Mdy),
            (
                format!("{}T12:34:56+09:00", format_date(date)),
                DateOrder::Mdy,
            ),
            (format!("{m}/{dd}/{y:04}"), DateOrder::Mdy),
            (format!("{dd}/{m}/{y:04}"), DateOrder::Dmy),
            (format!("{m}-{dd}-{y:04}"), DateOrder::Mdy),
            (format!("{y:04}/{m}/{dd}"), DateOrder::Dmy),
            (format!("{abbr} {dd}, {y:04}"), DateOrder::Mdy),
            (format!("{mon} {dd} {y:04}"), DateOrder::Mdy),
            (format!("{dd} {mon} {y:04}"), DateOrder::Mdy),
            (format!("{dd} {abbr} {y:04}"), DateOrder::Mdy),
        ]
    }

    proptest! {
        #[test]
        fn every_date_form_round_trips(days in 0i64..(365 * 200)) {
            let date = d(1900, 1, 1) + chrono::Duration::days(days);
            for (text, order) in date_forms(date) {
                let got = parse_date(&Cell::Text(text.clone()), order);
                prop_assert_eq!(got.map(format_date), Ok(format_date(date)), "{}", text);
            }
        }

        #[test]
        fn id_lists_round_trip(ids in proptest::collection::vec(1u64..=u64::MAX, 0..20)) {
            let text = format_id_list(&ids);
            prop_assert_eq!(parse_id_list(&Cell::Text(text)), Ok(ids));
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let c = Cell::Text(s.clone());
            for o in [DateOrder::Mdy, DateOrder::Dmy, DateOrder::Ymd] {
                let _ = parse_date(&c, o);
            }
            let _ = parse_bool(&c);
            let _ = parse_id(&c);
            let _ = parse_id_list(&c);
            let _ = normalize_header(&s);
            let _ = levenshtein(&s, "status");
        }

        #[test]
        fn date_like_strings_never_panic(s in "[0-9/.\\- ]{0,16}|[0-9]{4}-[0-9]{2}-[0-9]{2}.{0,4}") {
            let _ = parse_date(&Cell::Text(s), DateOrder::Mdy);
        }
    }
}
