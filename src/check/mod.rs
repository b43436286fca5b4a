//! Row validation: a mapped row becomes a [`Record`] or every error of that row (never just the
//! first). Every per-field check follows the field's [`Kind`] in the entity's table; the firm's
//! keys that must be unique in a file and the fields whose values are tallied come from the table
//! too, so nothing here names a field. Remembers what earlier rows used (duplicates) and tallies
//! the distinct values of open-valued fields (a case's status and type) for the summary. Pure: no
//! I/O, no reading of the mapping's internals.
//!
//! Memory stays small on million-row files: duplicate detection keeps a 64-bit hash of each key
//! and a 32-bit row number (about 18 MB per million keys, in `first_rows`), not the keys
//! themselves. Two different keys sharing a hash is a 1-in-10^7 event on a million rows; it would
//! report a false duplicate, never miss a real one. The value tallies stop growing after `MAX_DISTINCT` values.

pub mod client_id;
pub mod dates;
pub mod email;
mod first_rows;
pub mod ids;
pub mod joined;
pub mod linked;
pub mod name;
pub mod people;
pub mod phone;
pub mod rules;

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hasher};

use first_rows::FirstRows;

use compact_str::CompactString;
use serde_json::Map;

use crate::cell::Cell;
use crate::check::phone::Country;
use crate::check::rules::{
    BoolError, DateError, DateOrder, IdListError, ObjectError, levenshtein, parse_bool, parse_date,
    parse_id, parse_id_list, parse_object, short, typo_distance, was_cut,
};
use crate::entity::{Entity, Kind, Record, Value};
use crate::map::{MappedRow, Slot};
use crate::outcome::RowError;

/// The most keys (unique in a file) one entity may declare; the row loop keeps their columns in
/// a fixed array so it allocates nothing for them.
pub const MAX_KEYS: usize = 4;

/// How values are judged, from the command line and the mapping file, resolved against one
/// entity's table once so the row loop looks nothing up by name.
#[derive(Debug, Clone)]
pub struct Rules {
    entity: &'static Entity,
    pub date_order: DateOrder,
    /// Per slot: how its numeric dates are read (`date_order` unless its column showed its own
    /// order), and whether its column proved that order.
    date_orders: Vec<(DateOrder, bool)>,
    /// The country of mobile numbers written without a country code (`--default-country`).
    pub country: Country,
    /// Per slot: the accepted values, any other being invalid. `None`: anything goes (for an
    /// open-valued field, look-alikes are warned about).
    allowed: Vec<Option<Vec<String>>>,
    /// Per slot: the key (index into `entity.keys`) whose last field it is. That field's column
    /// is where a duplicate key is marked.
    key_end: Vec<Option<usize>>,
    /// Per key (as `entity.keys`): the slots of its fields, in order.
    keys: Vec<Vec<usize>>,
    /// Per slot: a required field a row may leave blank, because something else gives it (a
    /// joined clients table's `external_source`, which the case gives).
    optional: Vec<bool>,
}

/// An allowed list for a field the entity does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an allowed list names '{field}', which is not a field of a {one}")]
pub struct UnknownField {
    pub field: String,
    pub one: &'static str,
}

impl Rules {
    /// The rules for `entity`'s rows: dates read in `date_order`, mobiles in the US unless
    /// `country` is changed, no allowed lists.
    pub fn new(entity: &'static Entity, date_order: DateOrder) -> Rules {
        let mut key_end = vec![None; entity.slot_count()];
        assert!(
            entity.keys.len() <= MAX_KEYS,
            "{}: too many keys",
            entity.name
        );
        for (k, key) in entity.keys.iter().enumerate() {
            if let Some(i) = key.last().and_then(|n| entity.field_index(n)) {
                key_end[i] = Some(k);
            }
        }
        Rules {
            entity,
            date_order,
            date_orders: vec![(date_order, false); entity.slot_count()],
            country: Country::default(),
            allowed: vec![None; entity.slot_count()],
            key_end,
            keys: entity
                .keys
                .iter()
                .map(|key| key.iter().filter_map(|n| entity.field_index(n)).collect())
                .collect(),
            optional: vec![false; entity.slot_count()],
        }
    }

    /// Let rows leave the required `field` blank: something other than the row gives it.
    pub fn not_required(&mut self, field: &str) {
        if let Some(o) = self
            .entity
            .slot_index(field)
            .and_then(|i| self.optional.get_mut(i))
        {
            *o = true;
        }
    }

    pub fn entity(&self) -> &'static Entity {
        self.entity
    }

    /// Accept only `list` (matched ignoring case and surrounding spaces) in `field`.
    pub fn allow(&mut self, field: &str, list: Vec<String>) -> Result<(), UnknownField> {
        let i = self.entity.field_index(field).ok_or_else(|| UnknownField {
            field: field.to_string(),
            one: self.entity.one,
        })?;
        self.allowed[i] = Some(list);
        Ok(())
    }

    /// Read the numeric dates of `slot` in `order`; `proved` when its column's own values showed
    /// that order (a later value that contradicts an order merely assumed is then worth a loud
    /// warning: the ambiguous dates before it may have been misread).
    pub fn read_dates(&mut self, slot: usize, order: DateOrder, proved: bool) {
        if let Some(o) = self.date_orders.get_mut(slot) {
            *o = (order, proved);
        }
    }

    /// How the numeric dates of `slot` are read.
    pub fn date_order_of(&self, slot: usize) -> DateOrder {
        self.date_orders
            .get(slot)
            .map_or(self.date_order, |(o, _)| *o)
    }

    /// The accepted values of a slot, if it has a list.
    pub fn allowed(&self, slot: usize) -> Option<&[String]> {
        self.allowed.get(slot)?.as_deref()
    }
}

/// The most distinct values tallied per field; beyond it they are counted as one lump.
pub const MAX_DISTINCT: usize = 1000;

/// Distinct values with their counts, capped at [`MAX_DISTINCT`].
#[derive(Debug, Default)]
struct Tally {
    counts: HashMap<String, u64>,
    /// Rows whose value arrived after the cap and was not already known.
    overflow: u64,
}

impl Tally {
    fn add(&mut self, v: &str) {
        // A hostile 1 MB status must not be kept 1,000 times over: long values are tallied by
        // their first 100 characters.
        let truncated;
        let v = if v.len() > 100 {
            truncated = short_to(v, 100);
            truncated.as_str()
        } else {
            v
        };
        if let Some(n) = self.counts.get_mut(v) {
            *n += 1;
        } else if self.counts.len() < MAX_DISTINCT {
            self.counts.insert(v.to_string(), 1);
        } else {
            self.overflow += 1;
        }
    }

    /// Most frequent first, then by value.
    fn sorted(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self.counts.iter().map(|(k, n)| (k.clone(), *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// The first `max` characters of `s`, marked with `…` when cut.
fn short_to(s: &str, max: usize) -> String {
    let mut t: String = s.chars().take(max).collect();
    if t.len() < s.len() {
        t.push('…');
    }
    t
}

/// Validates rows one after another, remembering what earlier rows used.
#[derive(Debug)]
pub struct Checker {
    pub rules: Rules,
    /// One per entity key, in table order.
    /// Per key (as `rules.keys`): the row that first used each value, by the value's hash.
    keys: Vec<FirstRows>,
    ids: FirstRows,
    /// One per open-valued field: its index and its values so far.
    tallies: Vec<(usize, Tally)>,
    /// Date slots where a value read only in the other order than the one used.
    swapped: Vec<Swapped>,
    /// Notes on accepted values, grouped by field and note: how many rows, and the first few.
    notes: Vec<NoteRows>,
}

/// Values of one date column that read only in the other order than the column's.
#[derive(Debug)]
struct Swapped {
    slot: usize,
    first_row: usize,
    text: String,
    rows: u64,
}

/// The rows whose value in one field carried one note.
#[derive(Debug)]
struct NoteRows {
    field: usize,
    note: String,
    count: u64,
    rows: Vec<u32>,
}

/// How many rows a note's warning names before it says "and N more".
const NOTE_ROWS_SHOWN: usize = 10;

/// What the checker learned about the file's values, for the summary.
#[derive(Debug, Clone, Default)]
pub struct ValueReport {
    /// Per open-valued field, in table order: its distinct values, most frequent first.
    pub values: Vec<(&'static str, Vec<(String, u64)>)>,
    pub warnings: Vec<String>,
    /// Values that look like slips for a more common value of the same field.
    pub typos: Vec<Typo>,
}

impl ValueReport {
    /// The distinct values of one field (empty when it is not tallied).
    pub fn of(&self, field: &str) -> Vec<(String, u64)> {
        self.values
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// A cell's text for a text field, trimmed; numbers as integers, dates as `YYYY-MM-DD`.
pub(crate) fn text(cell: &Cell) -> Cow<'_, str> {
    match cell {
        Cell::Text(s) => Cow::Borrowed(s.trim()),
        other => Cow::Owned(other.to_text().trim().to_string()),
    }
}

/// Why a cell does not hold a value of its field's kind. The text is what `kayse_errors` shows
/// after the field's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CellError {
    #[error(transparent)]
    Date(#[from] DateError),
    #[error(transparent)]
    Bool(#[from] BoolError),
    #[error(transparent)]
    IdList(#[from] IdListError),
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// `check::email`'s reason; it never quotes the value.
    #[error("{0}")]
    Email(String),
    /// `check::phone`'s reason; it never quotes the value.
    #[error("{0}")]
    Mobile(String),
}

/// The check of one kind: a non-blank cell becomes a value of that kind, or the reason it cannot.
/// Text is trimmed; allowed lists are applied by the caller, which knows the field. Dates are
/// read in `order`, mobile numbers without a country code in `country`.
pub fn parse_cell(
    kind: Kind,
    cell: &Cell,
    order: DateOrder,
    country: Country,
) -> Result<Value, CellError> {
    parse_cell_noted(kind, cell, order, country).map(|(v, _)| v)
}

/// [`parse_cell`], with the note a valid value may carry: a mobile number that cannot receive
/// text messages (a landline, say) is accepted, and the note says so.
fn parse_cell_noted(
    kind: Kind,
    cell: &Cell,
    order: DateOrder,
    country: Country,
) -> Result<(Value, Option<String>), CellError> {
    let value = match kind {
        Kind::Text => Value::Text(CompactString::new(text(cell))),
        Kind::Date => Value::Date(parse_date(cell, order)?),
        Kind::Bool => Value::Bool(parse_bool(cell)?),
        Kind::IdList => Value::IdList(parse_id_list(cell)?),
        Kind::Object => Value::Object(parse_object(cell)?),
        Kind::Email => Value::Text(email::parse_email(cell).map_err(CellError::Email)?.into()),
        Kind::Mobile => {
            let m = phone::parse_mobile(cell, country).map_err(CellError::Mobile)?;
            return Ok((Value::Text(m.e164.into()), m.warning));
        }
    };
    Ok((value, None))
}

/// Match a value against an allowed list: exact, else ignoring case and surrounding spaces (the
/// list's spelling is then sent, so `Active` cannot create a second status next to `active`).
fn allowed_value<'a>(list: &'a [String], v: &str, what: &str) -> Result<&'a str, String> {
    if let Some(a) = list.iter().find(|a| a.trim() == v) {
        return Ok(a.trim());
    }
    if let Some(a) = list.iter().find(|a| a.trim().eq_ignore_ascii_case(v)) {
        return Ok(a.trim());
    }
    let lower = v.to_lowercase();
    let best = list
        .iter()
        .map(|a| (levenshtein(&lower, &a.trim().to_lowercase()), a.trim()))
        .min_by_key(|(d, _)| *d);
    let hint = match best {
        Some((d, a)) if d <= 2.max(v.chars().count() / 3) => format!(" (did you mean '{a}'?)"),
        _ if list.is_empty() => " (the allowed list is empty)".to_string(),
        _ => {
            let names: Vec<&str> = list.iter().take(8).map(|a| a.trim()).collect();
            let more = if list.len() > 8 { ", …" } else { "" };
            format!(" (allowed: {}{more})", names.join(", "))
        }
    };
    Err(format!("'{}' is not an allowed {what}{hint}", short(v)))
}

/// A bad value's error, quoting the cell as the user sees it.
fn bad(field: &str, slot: Slot<'_>, message: impl ToString) -> RowError {
    RowError::new(field, message.to_string())
        .at(slot.column)
        .with_value(short(slot.cell.to_text().trim()))
}

fn row_u32(source_row: usize) -> u32 {
    u32::try_from(source_row).unwrap_or(u32::MAX)
}

/// A row judged on its own: its record as far as it goes, and its errors so far. The checks that
/// need earlier rows come after, in `Checker::settle`. Pure, so rows can be judged on another
/// thread than the one that settles them.
#[derive(Debug)]
pub struct Checked {
    source_row: usize,
    record: Record,
    errors: Vec<RowError>,
    /// Notes on accepted values (a mobile that cannot receive texts): field index and note.
    notes: Vec<(usize, String)>,
    /// Per entity key: the column of its last field, where a duplicate is marked.
    columns: [Option<usize>; MAX_KEYS],
    /// Per entity key: the hash of its value, `None` when a part is unset. Hashed here, on the
    /// thread that judges rows on their own, so settling does only the lookups.
    hashes: [Option<u64>; MAX_KEYS],
    /// Date slots whose value reads only in the other order, with the value.
    swapped: Vec<(usize, String)>,
}

/// Judge one row on its own: every field's value, every error. The row must have been mapped
/// for the rules' entity.
pub fn check_row(rules: &Rules, row: &MappedRow) -> Checked {
    let entity = rules.entity;
    let mut errors: Vec<RowError> = row.cell_errors.clone();
    let mut notes = Vec::new();
    let mut record = Record::new(entity);
    let mut columns = [None; MAX_KEYS];
    let mut swapped = Vec::new();
    let id_slot = entity.id_slot();
    for i in 0..entity.slot_count() {
        let f = entity.slot(i);
        let slot = row.values.get(i).copied().flatten();
        let Some(slot) = slot.filter(|s| !s.cell.is_blank()) else {
            if f.required && !rules.optional[i] {
                let col = slot.and_then(|s| s.column);
                errors.push(RowError::new(f.name, "is required").at(col));
            }
            continue;
        };
        if slot.column.is_some()
            && !row.cell_errors.is_empty()
            && row.cell_errors.iter().any(|e| e.column == slot.column)
        {
            continue; // an error cell, reported with its address already
        }
        if i == id_slot {
            match parse_id(slot.cell) {
                Ok(id) => record.id = Some(id),
                Err(e) => errors.push(bad(f.name, slot, e)),
            }
            continue;
        }
        if let Some(k) = rules.key_end[i] {
            columns[k] = slot.column;
        }
        let order = rules.date_order_of(i);
        match parse_cell_noted(f.kind, slot.cell, order, rules.country) {
            Ok((Value::Text(v), _)) if was_cut(&v).is_some() => {
                errors.push(bad(
                    f.name,
                    slot,
                    format!(
                        "this text was cut to fit one Excel cell (it had {} characters), so sending it would save the cut text; export to .csv and import that instead",
                        was_cut(&v).unwrap_or_default()
                    ),
                ));
            }
            Ok((Value::Text(v), note)) => {
                if let Some(note) = note {
                    notes.push((i, note));
                }
                match rules.allowed(i) {
                    Some(list) => match allowed_value(list, &v, f.name) {
                        Ok(canon) => record.set(i, Value::Text(canon.into())),
                        Err(e) => errors.push(RowError::new(f.name, e).at(slot.column)),
                    },
                    None => record.set(i, Value::Text(v)),
                }
            }
            Ok((v, _)) => record.set(i, v),
            Err(e) => {
                if matches!(e, CellError::Date(DateError::Swapped { .. })) {
                    swapped.push((i, short(slot.cell.to_text().trim())));
                }
                errors.push(bad(f.name, slot, e))
            }
        }
    }
    if !row.data.is_empty()
        && let Some(d) = entity.data_field()
    {
        let mut map = match record.take(d) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        for item in &row.data {
            let v = serde_json::Value::String(text(item.cell).into_owned());
            if item.explicit {
                map.insert(item.key.to_string(), v);
            } else {
                map.entry(item.key.to_string()).or_insert(v);
            }
        }
        record.set(d, Value::Object(map));
    }
    let mut hashes = [None; MAX_KEYS];
    for (k, fields) in rules.keys.iter().enumerate() {
        hashes[k] = key_hash(&record, fields);
    }
    Checked {
        source_row: row.source_row,
        record,
        errors,
        notes,
        columns,
        hashes,
        swapped,
    }
}

/// The hash of a key's value: its parts' texts, each followed by 0xFF, which never occurs in
/// UTF-8 and so separates them. `None` when a part is unset or empty.
fn key_hash(record: &Record, fields: &[usize]) -> Option<u64> {
    let mut h = DefaultHasher::new();
    for &i in fields {
        h.write(key_part(record.get(i))?.as_bytes());
        h.write_u8(0xFF);
    }
    Some(h.finish())
}

/// The text of one part of a key, for its hash and its message; `None` when unset or empty.
fn key_part(v: Option<&Value>) -> Option<Cow<'_, str>> {
    match v? {
        Value::Text(s) if s.is_empty() => None,
        Value::Text(s) => Some(Cow::Borrowed(s)),
        other => Some(Cow::Owned(other.to_json().to_string())),
    }
}

impl Checker {
    pub fn new(rules: Rules) -> Self {
        let entity = rules.entity;
        let keys = rules.keys.iter().map(|_| FirstRows::default()).collect();
        let tallies = (0..entity.fields.len())
            .filter(|&i| entity.fields[i].open_values)
            .map(|i| (i, Tally::default()))
            .collect();
        Checker {
            rules,
            keys,
            ids: FirstRows::default(),
            tallies,
            swapped: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Size the duplicate check for about `rows` rows (a guess: more rows still fit, fewer
    /// leave room unused).
    pub fn expecting(mut self, rows: usize) -> Self {
        for k in &mut self.keys {
            k.reserve(rows);
        }
        self
    }

    /// Validate one row: its record, or every error it has. Later rows are judged against the
    /// keys of earlier ones, so call this in file order.
    pub fn check(&mut self, row: &MappedRow) -> Result<Record, Vec<RowError>> {
        let checked = check_row(&self.rules, row);
        self.settle(checked)
    }

    /// The checks that need earlier rows (duplicates) and the value tallies, on a row that
    /// `check_row` judged on its own. Call it in file order.
    pub fn settle(&mut self, checked: Checked) -> Result<Record, Vec<RowError>> {
        let Checked {
            source_row,
            record,
            mut errors,
            notes,
            columns,
            hashes,
            swapped,
        } = checked;
        for (slot, text) in swapped {
            match self.swapped.iter_mut().find(|s| s.slot == slot) {
                Some(s) => s.rows += 1,
                None => self.swapped.push(Swapped {
                    slot,
                    first_row: source_row,
                    text,
                    rows: 1,
                }),
            }
        }
        for (field, note) in notes {
            self.note(field, note, source_row);
        }
        // An open value is set on the record exactly when it was given and accepted.
        for (i, tally) in &mut self.tallies {
            if let Some(Value::Text(v)) = record.get(*i)
                && !v.is_empty()
            {
                tally.add(v);
            }
        }
        self.duplicates(source_row, &record, (columns, hashes), &mut errors);
        if errors.is_empty() {
            Ok(record)
        } else {
            Err(errors)
        }
    }

    /// Remember that `row`'s value in `field` carried `note`, for the report's warnings.
    fn note(&mut self, field: usize, note: String, row: usize) {
        let at = match self
            .notes
            .iter()
            .position(|n| n.field == field && n.note == note)
        {
            Some(at) => at,
            None => {
                self.notes.push(NoteRows {
                    field,
                    note,
                    count: 0,
                    rows: Vec::new(),
                });
                self.notes.len() - 1
            }
        };
        let n = &mut self.notes[at];
        n.count += 1;
        if n.rows.len() < NOTE_ROWS_SHOWN {
            n.rows.push(row_u32(row));
        }
    }

    /// Keys already used by an earlier row make this row invalid; the first row keeps the key.
    fn duplicates(
        &mut self,
        source_row: usize,
        record: &Record,
        (columns, hashes): ([Option<usize>; MAX_KEYS], [Option<u64>; MAX_KEYS]),
        errors: &mut Vec<RowError>,
    ) {
        let here = row_u32(source_row);
        let entity = record.entity();
        for (k, seen) in self.keys.iter_mut().enumerate() {
            let Some(h) = hashes[k] else { continue };
            if let Some(first) = seen.first_or_insert(h, here) {
                let fields = &self.rules.keys[k];
                let parts: Vec<String> = fields
                    .iter()
                    .map(|&i| {
                        let v = key_part(record.get(i)).unwrap_or_default();
                        format!("{} '{}'", entity.fields[i].name, short(&v))
                    })
                    .collect();
                let last = fields.last().map_or("", |&i| entity.fields[i].name);
                errors.push(
                    RowError::new(
                        last,
                        format!("{} already used on row {first}", parts.join(" with ")),
                    )
                    .at(columns[k]),
                );
            }
        }
        if let Some(id) = record.id
            && let Some(r) = self.ids.first_or_insert(id, here)
        {
            errors.push(RowError::new(
                entity.id.name,
                format!(
                    "id {id} already used on row {r} (one update per {} per file)",
                    entity.one
                ),
            ));
        }
    }

    /// Bring the table slots `next` will probe into the cache while this thread does other
    /// work, so settling it does not wait on memory. A hint only: it changes nothing.
    pub fn prefetch(&self, next: &Checked) {
        for (seen, h) in self.keys.iter().zip(next.hashes) {
            if let Some(h) = h {
                seen.prefetch(h);
            }
        }
        if let Some(id) = next.record.id {
            self.ids.prefetch(id);
        }
    }

    /// Date columns whose order was assumed (`--date-order`'s default, nothing in the first rows
    /// proved it) and a later value proved the other order: the ambiguous dates read before it
    /// may be swapped. One line each, naming the way out; empty when none.
    pub fn date_doubts(&self) -> Vec<String> {
        self.swapped
            .iter()
            .filter(|s| !self.rules.date_orders.get(s.slot).is_some_and(|o| o.1))
            .map(|s| {
                let order = self.rules.date_order_of(s.slot);
                let other = match order {
                    DateOrder::Mdy => DateOrder::Dmy,
                    _ => DateOrder::Mdy,
                };
                format!(
                    "{}: row {} holds '{}', which is a date only {}, but its column showed no sign of that in the first rows and its ambiguous dates were read {}; run again with --date-order {} (or --date-order {} if that row is the mistake)",
                    self.rules.entity.slot(s.slot).name,
                    s.first_row,
                    s.text,
                    dates::order_words(other),
                    dates::order_words(order),
                    dates::order_flag(other),
                    dates::order_flag(order),
                )
            })
            .collect()
    }

    /// Distinct values of every open-valued field with counts, and warnings about look-alike
    /// values (only for a field with no allowed list: with one, every value is already listed).
    pub fn report(&self) -> ValueReport {
        let mut warnings = Vec::new();
        let mut typos = Vec::new();
        let mut values = Vec::new();
        for (i, tally) in &self.tallies {
            let what = self.rules.entity.fields[*i].name;
            if self.rules.allowed(*i).is_none() {
                let (w, t) = lookalikes(tally, what);
                warnings.extend(w);
                typos.extend(t);
            }
            if tally.overflow > 0 {
                warnings.push(format!(
                    "more than {MAX_DISTINCT} distinct {what} values; {} rows with further values are not listed",
                    tally.overflow
                ));
            }
            values.push((what, tally.sorted()));
        }
        warnings.extend(self.date_doubts());
        for s in &self.swapped {
            if self.rules.date_orders.get(s.slot).is_some_and(|o| o.1) {
                let order = self.rules.date_order_of(s.slot);
                warnings.push(format!(
                    "{}: {} rows hold dates that are real only the other way round than the order used ({}), first '{}' on row {}; they are invalid: check them",
                    self.rules.entity.slot(s.slot).name,
                    s.rows,
                    dates::order_words(order),
                    s.text,
                    s.first_row,
                ));
            }
        }
        for n in &self.notes {
            let rows: Vec<String> = n.rows.iter().map(u32::to_string).collect();
            let more = n.count.saturating_sub(n.rows.len() as u64);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            let row_word = if n.count == 1 { "row" } else { "rows" };
            warnings.push(format!(
                "{}: {} ({row_word} {}{more}; accepted)",
                self.rules.entity.fields[n.field].name,
                n.note,
                rows.join(", ")
            ));
        }
        ValueReport {
            values,
            warnings,
            typos,
        }
    }
}

/// Lowercase without spaces, `_` or `-`: `In Progress` and `in_progress` compare equal.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// A value that looks like a slip for a more common one of the same field: Kayse would create
/// it as a status (or type) of its own. The import gate asks about these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Typo {
    pub field: &'static str,
    pub value: String,
    pub rows: u64,
    /// The most common value of its group, which it was probably meant to be.
    pub like: String,
}

impl std::fmt::Display for Typo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows = if self.rows == 1 { "row" } else { "rows" };
        write!(
            f,
            "{} '{}' ({} {rows}) looks like a typo of '{}'",
            self.field, self.value, self.rows, self.like
        )
    }
}

/// Whether two folded values are one slip apart: the same, or (both at least four letters long:
/// `pi`/`po` are different words) one insertion, deletion, change or swap of neighbours, two for
/// words of eight letters or more.
fn one_slip(a: &[char], b: &[char]) -> bool {
    if a == b {
        return true;
    }
    let (short, long) = (a.len().min(b.len()), a.len().max(b.len()));
    if short < 4 || long > 40 {
        return false;
    }
    let max = if short >= 8 { 2 } else { 1 };
    long - short <= max
        && typo_distance(&a.iter().collect::<String>(), &b.iter().collect::<String>()) <= max
}

/// Groups of values that differ only in case or spacing, or by a slip (`one_slip`), with the
/// fix named; and, per group, the values other than its most common one, as likely typos.
fn lookalikes(tally: &Tally, what: &'static str) -> (Vec<String>, Vec<Typo>) {
    let values = tally.sorted();
    let folded: Vec<Vec<char>> = values
        .iter()
        .map(|(v, _)| fold(v).chars().collect())
        .collect();
    let mut group: Vec<usize> = (0..values.len()).collect();
    fn root(g: &mut [usize], mut i: usize) -> usize {
        while g[i] != i {
            g[i] = g[g[i]];
            i = g[i];
        }
        i
    }
    for i in 0..values.len() {
        for j in i + 1..values.len() {
            if one_slip(&folded[i], &folded[j]) {
                let (ri, rj) = (root(&mut group, i), root(&mut group, j));
                group[rj] = ri;
            }
        }
    }
    let mut groups: Vec<(u64, Vec<usize>)> = Vec::new();
    let mut index: HashMap<usize, usize> = HashMap::new();
    for (i, (_, count)) in values.iter().enumerate() {
        let r = root(&mut group, i);
        let g = *index.entry(r).or_insert_with(|| {
            groups.push((0, Vec::new()));
            groups.len() - 1
        });
        groups[g].0 += count;
        groups[g].1.push(i);
    }
    groups.retain(|(_, members)| members.len() > 1);
    groups.sort_by_key(|g| std::cmp::Reverse(g.0));
    let mut warnings = Vec::new();
    let mut typos = Vec::new();
    for (_, mut members) in groups {
        // `values` is most frequent first, so the group's first index is its most common value.
        let like = values[members[0]].0.clone();
        let stray = values[members[1]].0.clone();
        for &m in &members[1..] {
            typos.push(Typo {
                field: what,
                value: values[m].0.clone(),
                rows: values[m].1,
                like: like.clone(),
            });
        }
        members.sort_by(|&a, &b| values[a].0.cmp(&values[b].0));
        let list: Vec<String> = members
            .iter()
            .map(|&m| format!("'{}' ({})", values[m].0, values[m].1))
            .collect();
        warnings.push(format!(
            "{what} values that look like the same word: {} — Kayse creates each distinct {what} as typed; translate the strays with [values.{what}] in a mapping file (\"{stray}\" = \"{like}\"), or accept only the right ones with --allowed-{what}",
            list.join(", "),
        ));
    }
    (warnings, typos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::CASES;
    use crate::entity::tests::PEOPLE;
    use crate::map::{ExtraColumns, MapOptions, Mapping};
    use crate::read::RawRow;
    use chrono::NaiveDate;
    use serde_json::Value as Json;

    fn rules() -> Rules {
        Rules::new(&CASES, DateOrder::default())
    }

    /// A case field's value, by name.
    fn get<'a>(r: &'a Record, name: &str) -> Option<&'a Value> {
        r.by_name(name)
    }

    fn text_of(r: &Record, name: &str) -> String {
        r.text(name).unwrap_or_default().to_string()
    }

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    const HEADERS: &[&str] = &[
        "case_number",
        "external_source",
        "external_source_id",
        "status",
        "type",
        "name",
        "created_date",
        "is_obo",
        "client_ids",
        "id",
        "external_source_data",
    ];

    fn mapping(opts: &MapOptions) -> Mapping {
        let h: Vec<String> = HEADERS.iter().map(|s| s.to_string()).collect();
        Mapping::build(&CASES, &h, opts).unwrap()
    }

    /// A good row with some columns replaced.
    fn cells(changes: &[(usize, Cell)]) -> Vec<Cell> {
        let mut c = vec![
            t(" C-1 "),
            t("clio"),
            t("e1"),
            t("active"),
            t("civil"),
            t(""),
            t(""),
            t(""),
            t(""),
            t(""),
            t(""),
        ];
        for (i, v) in changes {
            c[*i] = v.clone();
        }
        c
    }

    fn run(
        checker: &mut Checker,
        m: &Mapping,
        row: usize,
        c: Vec<Cell>,
    ) -> Result<Record, Vec<String>> {
        let raw = RawRow {
            source_row: row,
            cells: c,
        };
        checker
            .check(&m.apply(&raw))
            .map_err(|es| es.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn a_good_row_becomes_a_trimmed_case() {
        let m = mapping(&MapOptions::default());
        let mut ch = Checker::new(rules());
        let case = run(
            &mut ch,
            &m,
            2,
            cells(&[
                (5, t("  Smith v. Jones ")),
                (6, t("3/5/2024")),
                (7, t("Yes")),
                (8, t("[1, 2]")),
                (10, t(r#"{"a": 1}"#)),
            ]),
        )
        .unwrap();
        let want: &[(&str, Option<Value>)] = &[
            ("case_number", Some(Value::Text("C-1".into()))),
            ("name", Some(Value::Text("Smith v. Jones".into()))),
            (
                "created_date",
                NaiveDate::from_ymd_opt(2024, 3, 5).map(Value::Date),
            ),
            ("is_obo", Some(Value::Bool(true))),
            ("client_ids", Some(Value::IdList(vec![1, 2]))),
            (
                "external_source_data",
                Some(Value::Object(Map::from_iter([("a".into(), Json::from(1))]))),
            ),
            ("court_name", None),
        ];
        for (name, v) in want {
            assert_eq!(get(&case, name), v.as_ref(), "{name}");
        }
        assert_eq!(case.id, None);
    }

    #[test]
    fn every_error_of_a_row_is_reported() {
        let m = mapping(&MapOptions::default());
        let mut ch = Checker::new(rules());
        let errs = run(
            &mut ch,
            &m,
            4,
            cells(&[
                (0, t("  ")),
                (4, Cell::Empty),
                (6, t("02/30/2025")),
                (7, t("maybe")),
                (8, t("1;x")),
                (9, t("0")),
                (10, t("{bad")),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            errs,
            [
                "case_number: is required",
                "external_source_data: not valid JSON (key must be a string at line 1 column 2); write {\"key\": \"value\"} or use external_source_data.KEY columns (value '{bad')",
                "type: is required",
                "is_obo: not a yes/no value; use true/false, yes/no, y/n or 1/0 (value 'maybe')",
                "created_date: not a real date (value '02/30/2025')",
                "client_ids: id 'x' is not a positive whole number (value '1;x')",
                "id: must be a positive whole number, not 0 (value '0')",
            ]
        );
        let raw = RawRow {
            source_row: 4,
            cells: cells(&[(6, t("nope"))]),
        };
        let e = ch.check(&m.apply(&raw)).unwrap_err();
        assert_eq!(e[0].column, Some(6), "the bad cell is marked");
        assert_eq!(e[0].value.as_deref(), Some("nope"));
    }

    #[test]
    fn error_cells_and_typed_cells() {
        let m = mapping(&MapOptions::default());
        let mut ch = Checker::new(rules());
        let errs = run(&mut ch, &m, 9, cells(&[(6, Cell::Error("#N/A".into()))])).unwrap_err();
        assert_eq!(errs, ["created_date: cell G9 holds the error #N/A"]);
        let case = run(
            &mut ch,
            &m,
            10,
            cells(&[
                (0, Cell::Int(2024001)),
                (6, Cell::Date(NaiveDate::from_ymd_opt(2024, 1, 2).unwrap())),
                (7, Cell::Bool(false)),
                (8, Cell::Int(5)),
                (9, Cell::Int(77)),
                (2, t("e2")),
            ]),
        )
        .unwrap();
        assert_eq!(text_of(&case, "case_number"), "2024001");
        assert_eq!(
            get(&case, "created_date"),
            NaiveDate::from_ymd_opt(2024, 1, 2)
                .map(Value::Date)
                .as_ref()
        );
        assert_eq!(get(&case, "is_obo"), Some(&Value::Bool(false)));
        assert_eq!(get(&case, "client_ids"), Some(&Value::IdList(vec![5])));
        assert_eq!(case.id, Some(77), "a row with an id is an update");
    }

    #[test]
    fn duplicates_name_the_earlier_row() {
        let m = mapping(&MapOptions::default());
        let mut ch = Checker::new(rules());
        assert!(run(&mut ch, &m, 2, cells(&[(9, t("5"))])).is_ok());
        assert!(run(&mut ch, &m, 3, cells(&[(0, t("C-2")), (2, t("e2"))])).is_ok());
        let errs = run(&mut ch, &m, 4, cells(&[(2, t("e3")), (9, t("5"))])).unwrap_err();
        assert_eq!(
            errs,
            [
                "case_number: case_number 'C-1' already used on row 2",
                "id: id 5 already used on row 2 (one update per case per file)"
            ]
        );
        let errs = run(&mut ch, &m, 5, cells(&[(0, t("C-3")), (2, t(" e2"))])).unwrap_err();
        assert_eq!(
            errs,
            [
                "external_source_id: external_source 'clio' with external_source_id 'e2' already used on row 3"
            ]
        );
        // Same id under another source is fine; an invalid row's keys still count.
        assert!(
            run(
                &mut ch,
                &m,
                6,
                cells(&[(0, t("C-4")), (1, t("filevine")), (2, t("e2"))])
            )
            .is_ok()
        );
        assert!(
            run(
                &mut ch,
                &m,
                7,
                cells(&[(0, t("C-5")), (2, t("e5")), (6, t("bad"))])
            )
            .is_err()
        );
        let errs = run(&mut ch, &m, 8, cells(&[(0, t("C-5")), (2, t("e6"))])).unwrap_err();
        assert_eq!(
            errs,
            ["case_number: case_number 'C-5' already used on row 7"]
        );
    }

    #[test]
    fn allowed_lists() {
        let m = mapping(&MapOptions::default());
        let mut rules = rules();
        rules
            .allow(
                "status",
                vec!["active".into(), "closed".into(), "pending".into()],
            )
            .unwrap();
        rules.allow("type", vec!["civil".into()]).unwrap();
        assert_eq!(
            rules.allow("colour", vec![]).unwrap_err().to_string(),
            "an allowed list names 'colour', which is not a field of a case"
        );
        let mut ch = Checker::new(rules);
        let cases: &[(&str, &str, Result<&str, &str>)] = &[
            ("active", "civil", Ok("active")),
            (" ACTIVE ", "Civil", Ok("active")),
            (
                "actve",
                "civil",
                Err("status: 'actve' is not an allowed status (did you mean 'active'?)"),
            ),
            (
                "on hold",
                "civil",
                Err(
                    "status: 'on hold' is not an allowed status (allowed: active, closed, pending)",
                ),
            ),
            (
                "closed",
                "crim",
                Err("type: 'crim' is not an allowed type (allowed: civil)"),
            ),
        ];
        for (n, (status, ty, want)) in cases.iter().enumerate() {
            let c = cells(&[
                (0, t(&format!("N{n}"))),
                (2, t(&format!("x{n}"))),
                (3, t(status)),
                (4, t(ty)),
            ]);
            let got = run(&mut ch, &m, n + 2, c);
            match want {
                Ok(s) => assert_eq!(text_of(&got.unwrap(), "status"), *s),
                Err(e) => assert_eq!(got.unwrap_err(), [e.to_string()]),
            }
        }
        let r = ch.report();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(
            r.of("status"),
            [("active".to_string(), 2), ("closed".to_string(), 1)]
        );
        assert_eq!(r.of("type"), [("civil".to_string(), 4)]);
        assert_eq!(r.of("name"), [], "only open-valued fields are tallied");
        assert_eq!(
            allowed_value(&[], "x", "status"),
            Err("'x' is not an allowed status (the allowed list is empty)".into())
        );
    }

    #[test]
    fn report_counts_and_warns_about_lookalikes() {
        let m = mapping(&MapOptions::default());
        let mut ch = Checker::new(rules());
        let statuses = [
            ("active", 10),
            ("Active", 3),
            ("actve", 1),
            ("closed", 4),
            ("In Progress", 1),
            ("in_progress", 1),
        ];
        let mut row = 2;
        for (s, n) in statuses {
            for _ in 0..n {
                let c = cells(&[
                    (0, t(&format!("N{row}"))),
                    (2, t(&format!("x{row}"))),
                    (3, t(s)),
                    (4, t(if row % 2 == 0 { "pi" } else { "po" })),
                ]);
                assert!(run(&mut ch, &m, row, c).is_ok());
                row += 1;
            }
        }
        let r = ch.report();
        let statuses = r.of("status");
        assert_eq!(statuses[0], ("active".to_string(), 10));
        assert_eq!(statuses[1], ("closed".to_string(), 4));
        assert_eq!(statuses.len(), 6);
        let fix = |stray: &str, like: &str| {
            format!(
                " — Kayse creates each distinct status as typed; translate the strays with [values.status] in a mapping file (\"{stray}\" = \"{like}\"), or accept only the right ones with --allowed-status"
            )
        };
        assert_eq!(
            r.warnings,
            [
                format!(
                    "status values that look like the same word: 'Active' (3), 'active' (10), 'actve' (1){}",
                    fix("Active", "active")
                ),
                format!(
                    "status values that look like the same word: 'In Progress' (1), 'in_progress' (1){}",
                    fix("in_progress", "In Progress")
                ),
            ]
        );
        let typos: Vec<String> = r.typos.iter().map(|t| t.to_string()).collect();
        assert_eq!(
            typos,
            [
                "status 'Active' (3 rows) looks like a typo of 'active'",
                "status 'actve' (1 row) looks like a typo of 'active'",
                "status 'in_progress' (1 row) looks like a typo of 'In Progress'",
            ]
        );
        assert_eq!(r.of("type").len(), 2, "pi and po are different words");
    }

    #[test]
    fn a_date_that_contradicts_an_assumed_order_is_a_doubt_and_a_proved_one_a_warning() {
        let m = mapping(&MapOptions::default());
        let slot = CASES.field_index("created_date").unwrap();
        // (the column's order and whether it was proved, its values, doubts, warnings about it)
        let cases: &[(DateOrder, bool, &[&str], usize, usize)] = &[
            (DateOrder::Mdy, false, &["05/03/2024", "25/01/2024"], 1, 1),
            (
                DateOrder::Mdy,
                false,
                &["05/03/2024", "25/01/2024", "26/01/2024"],
                1,
                1,
            ),
            (DateOrder::Mdy, true, &["01/25/2024", "25/01/2024"], 0, 1),
            (DateOrder::Dmy, false, &["25/01/2024", "05/03/2024"], 0, 0),
            (DateOrder::Mdy, false, &["05/03/2024", "2024-01-25"], 0, 0),
        ];
        for (order, proved, values, doubts, warned) in cases {
            let mut rules = rules();
            rules.read_dates(slot, *order, *proved);
            let mut ch = Checker::new(rules);
            for (k, v) in values.iter().enumerate() {
                let c = cells(&[
                    (0, t(&format!("N{k}"))),
                    (2, t(&format!("x{k}"))),
                    (6, t(v)),
                ]);
                let _ = run(&mut ch, &m, k + 2, c);
            }
            let got = ch.date_doubts();
            assert_eq!(got.len(), *doubts, "{values:?}: {got:?}");
            if *doubts == 1 {
                assert!(
                    got[0].starts_with(
                        "created_date: row 3 holds '25/01/2024', which is a date only day-first"
                    ),
                    "{got:?}"
                );
                assert!(got[0].contains("--date-order dmy"), "{got:?}");
            }
            let warnings = ch.report().warnings;
            let about: Vec<&String> = warnings
                .iter()
                .filter(|w| w.starts_with("created_date:"))
                .collect();
            assert_eq!(about.len(), *warned, "{values:?}: {warnings:?}");
        }
    }

    #[test]
    fn slips_are_small_edits_and_swaps_of_longer_words() {
        let cases: &[(&str, &str, bool)] = &[
            ("open", "opne", true),      // a swap of neighbours
            ("open", "open", true),      // folded alike (case, spaces)
            ("active", "actve", true),   // a letter left out
            ("closed", "closedd", true), // a letter doubled
            ("pending", "pendnig", true),
            ("settlement", "setlemnet", true), // two slips in a long word
            ("open", "pone", false),           // two slips in a short word
            ("pi", "po", false),               // short words differ on purpose
            ("civil", "crim", false),
            ("active", "inactive", false),
            ("closed", "open", false),
        ];
        for (a, b, want) in cases {
            let (a, b): (Vec<char>, Vec<char>) =
                (fold(a).chars().collect(), fold(b).chars().collect());
            assert_eq!(one_slip(&a, &b), *want, "{a:?} {b:?}");
            assert_eq!(one_slip(&b, &a), *want, "{b:?} {a:?}");
        }
    }

    /// A joined clients table may leave out the fields the join gives: the mapping asks for no
    /// column, the rows for no value; any other required field is still required.
    #[test]
    fn fields_given_elsewhere_are_not_required() {
        use crate::entity::CLIENTS;
        let headers: Vec<String> = ["First Name", "Last Name"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let given = ["external_source", "external_source_id"];
        let opts = MapOptions::default();
        let e = Mapping::build(&CLIENTS, &headers, &opts).unwrap_err();
        assert!(e.to_string().contains("external_source"), "{e}");
        let m = Mapping::build_optional(&CLIENTS, &headers, &opts, &given).unwrap();
        let mut rules = Rules::new(&CLIENTS, DateOrder::Mdy);
        for f in given {
            rules.not_required(f);
        }
        rules.not_required("no_such_field");
        // (first name, last name, errors)
        let table = [
            ("Ann", "Lee", vec![]),
            ("", "Lee", vec!["first_name: is required"]),
        ];
        for (first, last, want) in table {
            let raw = RawRow {
                source_row: 2,
                cells: vec![t(first), t(last)],
            };
            let got = match Checker::new(rules.clone()).check(&m.apply(&raw)) {
                Ok(r) => {
                    assert_eq!(r.text("last_name"), Some("Lee"));
                    Vec::new()
                }
                Err(errs) => errs.iter().map(|e| e.to_string()).collect(),
            };
            assert_eq!(got, want, "{first:?}");
        }
    }

    #[test]
    fn defaults_and_set_values_are_checked_too() {
        let opts = MapOptions {
            set: vec![("is_obo".into(), "perhaps".into())],
            file: crate::map::MappingFile {
                defaults: [("created_date".to_string(), "someday".to_string())].into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let m = mapping(&opts);
        let mut ch = Checker::new(rules());
        let raw = RawRow {
            source_row: 3,
            cells: cells(&[(4, t("  "))]),
        };
        let errs = ch.check(&m.apply(&raw)).unwrap_err();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            [
                "type: is required",
                "is_obo: not a yes/no value; use true/false, yes/no, y/n or 1/0 (value 'perhaps')",
                "created_date: not a date; use YYYY-MM-DD (value 'someday')",
            ]
        );
        assert_eq!(errs[0].column, Some(4), "the empty required cell is marked");
        assert_eq!(errs[1].column, None, "a --set value has no cell to mark");
    }

    #[test]
    fn tally_is_capped() {
        let mut t = Tally::default();
        for i in 0..MAX_DISTINCT + 5 {
            t.add(&format!("s{i}"));
        }
        t.add("s0");
        assert_eq!(t.counts.len(), MAX_DISTINCT);
        assert_eq!(t.overflow, 5);
        assert_eq!(t.counts["s0"], 2);
        let mut long = Tally::default();
        long.add(&"x".repeat(1_000_000));
        long.add(&format!("{}y", "x".repeat(200)));
        assert_eq!(long.counts.len(), 1);
        assert_eq!(
            long.counts.keys().next().map(|k| k.chars().count()),
            Some(101)
        );
    }

    #[test]
    fn data_items_merge_into_the_object() {
        let mut h: Vec<String> = HEADERS.iter().map(|s| s.to_string()).collect();
        h.extend([
            "external_source_data.a".to_string(),
            "Attorney".into(),
            "a".into(),
        ]);
        let opts = MapOptions {
            extra_columns: ExtraColumns::Data,
            ..Default::default()
        };
        let m = Mapping::build(&CASES, &h, &opts).unwrap();
        let mut c = cells(&[(10, t(r#"{"a": 1, "b": 2}"#))]);
        c.extend([t(" web "), Cell::Int(7), t("extra")]);
        let mut ch = Checker::new(rules());
        let case = run(&mut ch, &m, 2, c).unwrap();
        let obj = get(&case, "external_source_data").unwrap().to_json();
        assert_eq!(
            obj,
            serde_json::json!({"a": "web", "b": 2, "Attorney": "7"})
        );
        // No data at all: no object.
        let case = run(&mut ch, &m, 3, {
            let mut c = cells(&[(0, t("Z")), (2, t("z"))]);
            c.extend([t(""), t(""), t("")]);
            c
        })
        .unwrap();
        assert_eq!(get(&case, "external_source_data"), None);
        for (cell, want) in [
            (
                t("[1]"),
                "external_source_data: JSON, but not an object; write {\"key\": \"value\"} or use external_source_data.KEY columns (value '[1]')",
            ),
            (
                Cell::Int(3),
                "external_source_data: not a JSON object; write {\"key\": \"value\"} or use external_source_data.KEY columns (value '3')",
            ),
        ] {
            let mut ch = Checker::new(rules());
            let mut c = cells(&[(10, cell)]);
            c.extend([t(""), t(""), t("")]);
            assert_eq!(run(&mut ch, &m, 4, c).unwrap_err(), [want.to_string()]);
        }
    }

    #[test]
    fn every_field_reaches_the_record() {
        // Fill every field from its own column with a valid value and check the payload has it.
        for e in [&CASES, &PEOPLE] {
            let h: Vec<String> = (0..e.slot_count())
                .map(|i| e.slot(i).name.to_string())
                .collect();
            let m = Mapping::build(e, &h, &MapOptions::default()).unwrap();
            let c: Vec<Cell> = e
                .fields
                .iter()
                .map(|f| t(f.kind.sample()))
                .chain([t("9")])
                .collect();
            let mut ch = Checker::new(Rules::new(e, DateOrder::Mdy));
            let raw = RawRow {
                source_row: 2,
                cells: c,
            };
            let record = ch.check(&m.apply(&raw)).unwrap();
            let v = serde_json::to_value(&record).unwrap();
            for f in e.fields {
                assert!(
                    v.get(f.name).is_some(),
                    "{}: {} is not carried into the record",
                    e.name,
                    f.name
                );
            }
            assert_eq!(v["id"], 9);
            assert_eq!(record.omitted().count(), 0);
        }
    }

    #[test]
    fn another_entity_gets_its_own_keys_messages_and_no_tallies() {
        let h: Vec<String> = [
            "First",
            "Surname",
            "external_source",
            "external_source_id",
            "email",
            "DOB",
            "id",
        ]
        .map(String::from)
        .to_vec();
        let m = Mapping::build(&PEOPLE, &h, &MapOptions::default()).unwrap();
        let mut ch = Checker::new(Rules::new(&PEOPLE, DateOrder::Dmy));
        let row = |n: usize, cells: [&str; 7]| RawRow {
            source_row: n,
            cells: cells.map(t).to_vec(),
        };
        let table: &[(RawRow, Result<(), &[&str]>)] = &[
            (
                row(2, ["Ada", "L", "crm", "p1", "a@x", "10/12/1815", ""]),
                Ok(()),
            ),
            (
                row(3, ["Bo", "", "crm", "p1", "a@x", "31/2/1990", ""]),
                Err(&[
                    "last_name: is required",
                    "date_of_birth: not a real date (value '31/2/1990')",
                    "external_source_id: external_source 'crm' with external_source_id 'p1' already used on row 2",
                    "email: email 'a@x' already used on row 2",
                ]),
            ),
            (row(4, ["Cy", "D", "crm", "p2", "", "", "7"]), Ok(())),
            (
                row(5, ["Di", "E", "crm", "p3", "", "", "7"]),
                Err(&["id: id 7 already used on row 4 (one update per person per file)"]),
            ),
        ];
        for (raw, want) in table {
            let got = ch
                .check(&m.apply(raw))
                .map(|_| ())
                .map_err(|es| es.iter().map(|e| e.to_string()).collect::<Vec<_>>());
            match want {
                Ok(()) => assert!(got.is_ok(), "row {}: {got:?}", raw.source_row),
                Err(w) => assert_eq!(got.unwrap_err(), *w, "row {}", raw.source_row),
            }
        }
        let r = ch.report();
        assert!(r.values.is_empty() && r.warnings.is_empty(), "{r:?}");
    }

    /// A firm's clients sheet through the library, as `validate --entity clients` will run it:
    /// every bad cell named by row, field and column, the good rows normalised.
    #[test]
    fn a_clients_sheet_is_checked_cell_by_cell() {
        use crate::entity::CLIENTS;
        let h: Vec<String> = [
            "First Name",
            "Last Name",
            "Source",
            "Client ID",
            "E-mail",
            "Cell Phone",
            "DOB",
            "Zip",
            "Do Not Call",
        ]
        .map(String::from)
        .to_vec();
        let m = Mapping::build(&CLIENTS, &h, &MapOptions::default()).unwrap();
        let mut ch = Checker::new(Rules::new(&CLIENTS, DateOrder::Mdy));
        type Want =
            Result<&'static [(&'static str, &'static str)], &'static [(&'static str, usize)]>;
        let rows: &[([&str; 9], Want)] = &[
            (
                [
                    "Maria",
                    "Garcia",
                    "clio",
                    "C-1",
                    "Maria@Example.COM",
                    "(404) 555-0123",
                    "7/14/1985",
                    "30303",
                    "no",
                ],
                Ok(&[
                    ("email", "Maria@example.com"),
                    ("mobile", "+14045550123"),
                    ("external_source_id", "C-1"),
                    ("postal_code", "30303"),
                ]),
            ),
            (
                [
                    "Li",
                    "Wei",
                    "clio",
                    "C-2",
                    "li.wei@",
                    "555-01",
                    "2/30/1990",
                    "",
                    "",
                ],
                Err(&[("email", 4), ("mobile", 5), ("date_of_birth", 6)]),
            ),
            (
                [
                    "",
                    "Okafor",
                    "clio",
                    "C-3",
                    "",
                    "+44 20 7946 0958",
                    "",
                    "",
                    "maybe",
                ],
                Err(&[("first_name", 0), ("voice_calls_opted_out", 8)]),
            ),
            (
                ["Ada", "Okafor", "clio", "C-1", "", "", "", "", ""],
                Err(&[("external_source_id", 3)]),
            ),
        ];
        for (n, (cells, want)) in rows.iter().enumerate() {
            let raw = RawRow {
                source_row: n + 2,
                cells: cells.map(t).to_vec(),
            };
            match (ch.check(&m.apply(&raw)), want) {
                (Ok(r), Ok(values)) => {
                    for (f, v) in *values {
                        assert_eq!(r.text(f), Some(*v), "row {}: {f}", n + 2);
                    }
                }
                (Err(errs), Err(at)) => {
                    let got: Vec<(&str, Option<usize>)> =
                        errs.iter().map(|e| (e.field.as_str(), e.column)).collect();
                    let want: Vec<(&str, Option<usize>)> =
                        at.iter().map(|(f, c)| (*f, Some(*c))).collect();
                    assert_eq!(got, want, "row {}: {errs:?}", n + 2);
                }
                (got, _) => panic!("row {}: {got:?}", n + 2),
            }
        }
        // The messages say what is wrong and quote the cell.
        let raw = RawRow {
            source_row: 9,
            cells: [
                "A",
                "B",
                "clio",
                "C-9",
                "a@b",
                "404 555 0123 x12",
                "1990-13-01",
                "",
                "",
            ]
            .map(t)
            .to_vec(),
        };
        let errs: Vec<String> = ch
            .check(&m.apply(&raw))
            .unwrap_err()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(
            errs[0].starts_with("email: ") && errs[0].ends_with("(value 'a@b')"),
            "{errs:?}"
        );
        assert!(errs[1].contains("extension") && errs[1].ends_with("(value '404 555 0123 x12')"));
        assert_eq!(
            errs[2],
            "date_of_birth: not a real date (value '1990-13-01')"
        );
    }

    /// Mobiles without a country code are read in the rules' country; numbers that cannot
    /// receive texts are accepted and counted in one warning per kind of line.
    #[test]
    fn mobiles_follow_the_default_country_and_landlines_are_warned_about() {
        use crate::entity::CLIENTS;
        let h: Vec<String> = [
            "first_name",
            "last_name",
            "external_source",
            "external_source_id",
            "mobile",
        ]
        .map(String::from)
        .to_vec();
        let m = Mapping::build(&CLIENTS, &h, &MapOptions::default()).unwrap();
        let table: &[(&str, &str, Result<&str, ()>)] = &[
            ("US", "(404) 555-0123", Ok("+14045550123")),
            ("GB", "07400 123456", Ok("+447400123456")),
            ("US", "07400 123456", Err(())),
            ("GB", "+1 404 555 0123", Ok("+14045550123")),
        ];
        for (n, (country, cell, want)) in table.iter().enumerate() {
            let mut rules = Rules::new(&CLIENTS, DateOrder::Mdy);
            rules.country = country.parse().unwrap();
            let mut ch = Checker::new(rules);
            let raw = RawRow {
                source_row: n + 2,
                cells: ["A", "B", "s", &format!("x{n}"), cell].map(t).to_vec(),
            };
            let got = ch.check(&m.apply(&raw));
            match want {
                Ok(v) => assert_eq!(got.unwrap().text("mobile"), Some(*v), "{country} {cell}"),
                Err(()) => assert!(got.is_err(), "{country} {cell}"),
            }
        }
        assert_eq!(Rules::new(&CLIENTS, DateOrder::Mdy).country, Country::US);
        let mut rules = Rules::new(&CLIENTS, DateOrder::Mdy);
        rules.country = "GB".parse().unwrap();
        let mut ch = Checker::new(rules);
        for (row, number) in [
            (2, "020 7946 0958"),
            (3, "07400 123456"),
            (4, "020 7946 0959"),
        ] {
            let raw = RawRow {
                source_row: row,
                cells: ["A", "B", "s", &format!("r{row}"), number].map(t).to_vec(),
            };
            assert!(ch.check(&m.apply(&raw)).is_ok());
        }
        assert_eq!(
            ch.report().warnings,
            [
                "mobile: a landline by its country's numbering plan: text messages will not reach it (rows 2, 4; accepted)"
            ]
        );
    }

    #[test]
    fn each_kind_has_its_check() {
        let table: &[(Kind, Cell, Result<Value, &str>)] = &[
            (Kind::Text, t("  a b "), Ok(Value::Text("a b".into()))),
            (Kind::Text, Cell::Int(7), Ok(Value::Text("7".into()))),
            (
                Kind::Date,
                t("5 March 2024"),
                Ok(Value::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap())),
            ),
            (Kind::Date, t("x"), Err("not a date; use YYYY-MM-DD")),
            (Kind::Bool, t("N"), Ok(Value::Bool(false))),
            (
                Kind::Bool,
                t("x"),
                Err("not a yes/no value; use true/false, yes/no, y/n or 1/0"),
            ),
            (Kind::IdList, t("1 | 2"), Ok(Value::IdList(vec![1, 2]))),
            (
                Kind::IdList,
                t("1;x"),
                Err("id 'x' is not a positive whole number"),
            ),
            (Kind::Object, t("{}"), Ok(Value::Object(Map::new()))),
            (
                Kind::Email,
                t(" Ada@Example.COM "),
                Ok(Value::Text("Ada@example.com".into())),
            ),
            (Kind::Email, t("ada@"), Err("has nothing after the @")),
            (
                Kind::Mobile,
                Cell::Int(4045550123),
                Ok(Value::Text("+14045550123".into())),
            ),
            (
                Kind::Mobile,
                t("call me"),
                Err(
                    "has letters; write the number with digits only (a note such as \"cell\" belongs in another column)",
                ),
            ),
            (
                Kind::Object,
                t("[]"),
                Err(
                    "JSON, but not an object; write {\"key\": \"value\"} or use external_source_data.KEY columns",
                ),
            ),
        ];
        for (kind, cell, want) in table {
            let got = parse_cell(*kind, cell, DateOrder::Mdy, Country::default())
                .map_err(|e| e.to_string());
            assert_eq!(got, want.clone().map_err(String::from), "{kind:?} {cell:?}");
        }
        for k in Kind::ALL {
            assert_eq!(
                parse_cell(k, &t(k.sample()), DateOrder::Mdy, Country::default()).map(|v| v.kind()),
                Ok(k.value_kind()),
                "the sample of {k:?} passes its own check"
            );
        }
    }
}
