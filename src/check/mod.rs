//! Row validation: a mapped row becomes a `Case` payload or every error of that row (never just
//! the first). Remembers what earlier rows used (duplicates) and tallies the distinct status and
//! type values for the summary. Pure: no I/O, no reading of the mapping's internals.
//!
//! Memory stays small on million-row files: duplicate detection keeps a 64-bit hash of each key
//! and a 32-bit row number (about 26 MB per million keys), not the keys themselves. Two different
//! keys sharing a hash is a 1-in-10^7 event on a million rows; it would report a false duplicate,
//! never miss a real one. The status/type tallies stop growing after `MAX_DISTINCT` values.

pub mod client_id;
pub mod email;
pub mod ids;
pub mod name;
pub mod people;
pub mod phone;
pub mod rules;

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, DefaultHasher, Hasher};

use serde_json::{Map, Value};

use crate::case::Case;
use crate::cell::Cell;
use crate::check::rules::{
    DateOrder, levenshtein, parse_bool, parse_date, parse_id, parse_id_list, short,
};
use crate::entity::FieldType;
use crate::map::{MappedRow, Slot, field_at, field_count};
use crate::outcome::RowError;

/// How values are judged, from the command line and the mapping file.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub date_order: DateOrder,
    /// Accepted status values; any other is invalid. `None`: anything goes, but look-alikes are
    /// warned about.
    pub allowed_status: Option<Vec<String>>,
    pub allowed_type: Option<Vec<String>>,
}

/// The most distinct status (or type) values tallied; beyond it they are counted as one lump.
pub const MAX_DISTINCT: usize = 1000;

/// Keys that are already hashes: spread the bits, do not hash again.
#[derive(Debug, Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type RowsByKey = HashMap<u64, u32, BuildHasherDefault<PreHashed>>;

/// A stable 64-bit hash of a key made of text parts (0xFF never occurs in UTF-8, so it
/// separates parts unambiguously).
fn key_hash(parts: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    for p in parts {
        h.write(p.as_bytes());
        h.write_u8(0xFF);
    }
    h.finish()
}

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
#[derive(Debug, Default)]
pub struct Checker {
    pub rules: Rules,
    case_numbers: RowsByKey,
    source_pairs: RowsByKey,
    ids: RowsByKey,
    statuses: Tally,
    types: Tally,
}

/// What the checker learned about the file's values, for the summary.
#[derive(Debug, Clone, Default)]
pub struct ValueReport {
    pub statuses: Vec<(String, u64)>,
    pub types: Vec<(String, u64)>,
    pub warnings: Vec<String>,
}

/// A cell's text for a string field, trimmed; numbers as integers, dates as `YYYY-MM-DD`.
fn text(cell: &Cell) -> Cow<'_, str> {
    match cell {
        Cell::Text(s) => Cow::Borrowed(s.trim()),
        other => Cow::Owned(other.to_text().trim().to_string()),
    }
}

/// Which `Case` member a field fills. Resolved once per field index (not per cell), so the
/// row loop compares no strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Put {
    CaseNumber,
    ExternalSource,
    ExternalSourceId,
    Name,
    CourtName,
    Jurisdiction,
    Description,
    Status,
    Type,
    CreatedDate,
    CourtDate,
    EndDate,
    IsObo,
    OptOutVoiceCalls,
    /// `id`, client_ids and external_source_data, which are handled by type.
    Other,
}

fn put_of(name: &str) -> Put {
    match name {
        "case_number" => Put::CaseNumber,
        "external_source" => Put::ExternalSource,
        "external_source_id" => Put::ExternalSourceId,
        "name" => Put::Name,
        "court_name" => Put::CourtName,
        "jurisdiction" => Put::Jurisdiction,
        "description" => Put::Description,
        "status" => Put::Status,
        "type" => Put::Type,
        "created_date" => Put::CreatedDate,
        "court_date" => Put::CourtDate,
        "end_date" => Put::EndDate,
        "is_obo" => Put::IsObo,
        "opt_out_voice_calls" => Put::OptOutVoiceCalls,
        _ => Put::Other,
    }
}

/// [`Put`] for every field index of `mapping::field_at`.
fn puts() -> &'static [Put] {
    static PUTS: std::sync::OnceLock<Vec<Put>> = std::sync::OnceLock::new();
    PUTS.get_or_init(|| {
        (0..field_count())
            .map(|i| put_of(field_at(i).name))
            .collect()
    })
}

fn put_string(case: &mut Case, put: Put, v: String) {
    match put {
        Put::CaseNumber => case.case_number = v,
        Put::ExternalSource => case.external_source = v,
        Put::ExternalSourceId => case.external_source_id = v,
        Put::Name => case.name = Some(v),
        Put::CourtName => case.court_name = Some(v),
        Put::Jurisdiction => case.jurisdiction = Some(v),
        Put::Description => case.description = Some(v),
        Put::Status => case.status = v,
        Put::Type => case.case_type = v,
        _ => {}
    }
}

fn put_date(case: &mut Case, put: Put, v: chrono::NaiveDate) {
    match put {
        Put::CreatedDate => case.created_date = Some(v),
        Put::CourtDate => case.court_date = Some(v),
        Put::EndDate => case.end_date = Some(v),
        _ => {}
    }
}

fn put_bool(case: &mut Case, put: Put, v: bool) {
    match put {
        Put::IsObo => case.is_obo = Some(v),
        Put::OptOutVoiceCalls => case.opt_out_voice_calls = Some(v),
        _ => {}
    }
}

/// A JSON object cell for external_source_data.
pub(crate) fn parse_object(cell: &Cell) -> Result<Map<String, Value>, String> {
    const HINT: &str = "write {\"key\": \"value\"} or use external_source_data.KEY columns";
    let Cell::Text(s) = cell else {
        return Err(format!("not a JSON object; {HINT}"));
    };
    match serde_json::from_str::<Value>(s.trim()) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("JSON, but not an object; {HINT}")),
        Err(e) => Err(format!("not valid JSON ({e}); {HINT}")),
    }
}

/// Match a value against an allowed list: exact, else ignoring case and surrounding spaces (the
/// list's spelling is then sent, so `Active` cannot create a second status next to `active`).
fn allowed_value(list: &[String], v: &str, what: &str) -> Result<String, String> {
    if let Some(a) = list.iter().find(|a| a.trim() == v) {
        return Ok(a.trim().to_string());
    }
    if let Some(a) = list.iter().find(|a| a.trim().eq_ignore_ascii_case(v)) {
        return Ok(a.trim().to_string());
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
fn bad(field: &str, slot: Slot<'_>, message: String) -> RowError {
    RowError::new(field, message)
        .at(slot.column)
        .with_value(short(slot.cell.to_text().trim()))
}

fn row_u32(source_row: usize) -> u32 {
    u32::try_from(source_row).unwrap_or(u32::MAX)
}

/// A row judged on its own: its payload as far as it goes, and its errors so far. The checks that
/// need earlier rows come after, in `Checker::settle`. Pure, so rows can be judged on another
/// thread than the one that settles them.
#[derive(Debug)]
pub struct Checked {
    source_row: usize,
    case: Case,
    errors: Vec<RowError>,
    /// The columns of case_number and external_source_id, where duplicates are marked.
    columns: [Option<usize>; 2],
}

/// Judge one row on its own: every field's value, every error.
pub fn check_row(rules: &Rules, row: &MappedRow) -> Checked {
    let mut errors: Vec<RowError> = row.cell_errors.clone();
    let mut case = Case::default();
    let mut object: Option<Map<String, Value>> = None;
    let mut columns = [None; 2]; // of case_number and external_source_id
    let puts = puts();
    let id_index = field_count() - 1;
    for i in 0..field_count() {
        let f = field_at(i);
        let put = puts.get(i).copied().unwrap_or(Put::Other);
        let slot = row.values.get(i).copied().flatten();
        let Some(slot) = slot.filter(|s| !s.cell.is_blank()) else {
            if f.required {
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
        if i == id_index {
            match parse_id(slot.cell) {
                Ok(id) => case.id = Some(id),
                Err(e) => errors.push(bad(f.name, slot, e)),
            }
            continue;
        }
        match f.ty {
            FieldType::String => {
                let v = text(slot.cell).into_owned();
                match put {
                    Put::CaseNumber => columns[0] = slot.column,
                    Put::ExternalSourceId => columns[1] = slot.column,
                    _ => {}
                }
                let (allowed, what) = match put {
                    Put::Status => (&rules.allowed_status, "status"),
                    Put::Type => (&rules.allowed_type, "type"),
                    _ => {
                        put_string(&mut case, put, v);
                        continue;
                    }
                };
                match allowed {
                    Some(list) => match allowed_value(list, &v, what) {
                        Ok(canon) => put_string(&mut case, put, canon),
                        Err(e) => errors.push(RowError::new(f.name, e).at(slot.column)),
                    },
                    None => put_string(&mut case, put, v),
                }
            }
            FieldType::Date => match parse_date(slot.cell, rules.date_order) {
                Ok(d) => put_date(&mut case, put, d),
                Err(e) => errors.push(bad(f.name, slot, e)),
            },
            FieldType::Bool => match parse_bool(slot.cell) {
                Ok(b) => put_bool(&mut case, put, b),
                Err(e) => errors.push(bad(f.name, slot, e)),
            },
            FieldType::IdList => match parse_id_list(slot.cell) {
                Ok(ids) => case.client_ids = Some(ids),
                Err(e) => errors.push(bad(f.name, slot, e)),
            },
            FieldType::Object => match parse_object(slot.cell) {
                Ok(m) => object = Some(m),
                Err(e) => errors.push(bad(f.name, slot, e)),
            },
        }
    }
    for item in &row.data {
        let map = object.get_or_insert_with(Map::new);
        let v = Value::String(text(item.cell).into_owned());
        if item.explicit {
            map.insert(item.key.to_string(), v);
        } else {
            map.entry(item.key.to_string()).or_insert(v);
        }
    }
    case.external_source_data = object;
    Checked {
        source_row: row.source_row,
        case,
        errors,
        columns,
    }
}

impl Checker {
    pub fn new(rules: Rules) -> Self {
        Checker {
            rules,
            ..Default::default()
        }
    }

    /// Validate one row: its payload, or every error it has. Later rows are judged against the
    /// keys of earlier ones, so call this in file order.
    pub fn check(&mut self, row: &MappedRow) -> Result<Case, Vec<RowError>> {
        let checked = check_row(&self.rules, row);
        self.settle(checked)
    }

    /// The checks that need earlier rows (duplicates) and the value tallies, on a row that
    /// `check_row` judged on its own. Call it in file order.
    pub fn settle(&mut self, checked: Checked) -> Result<Case, Vec<RowError>> {
        let Checked {
            source_row,
            case,
            mut errors,
            columns,
        } = checked;
        // A status or type is set on the payload exactly when it was given and accepted.
        if !case.status.is_empty() {
            self.statuses.add(&case.status);
        }
        if !case.case_type.is_empty() {
            self.types.add(&case.case_type);
        }
        self.duplicates(source_row, &case, columns, &mut errors);
        if errors.is_empty() {
            Ok(case)
        } else {
            Err(errors)
        }
    }

    /// Keys already used by an earlier row make this row invalid; the first row keeps the key.
    fn duplicates(
        &mut self,
        source_row: usize,
        case: &Case,
        columns: [Option<usize>; 2],
        errors: &mut Vec<RowError>,
    ) {
        let here = row_u32(source_row);
        if !case.case_number.is_empty() {
            let k = key_hash(&[&case.case_number]);
            match self.case_numbers.entry(k) {
                Entry::Occupied(r) => errors.push(
                    RowError::new(
                        "case_number",
                        format!(
                            "case_number '{}' already used on row {}",
                            short(&case.case_number),
                            r.get()
                        ),
                    )
                    .at(columns[0]),
                ),
                Entry::Vacant(v) => {
                    v.insert(here);
                }
            }
        }
        if !case.external_source.is_empty() && !case.external_source_id.is_empty() {
            let k = key_hash(&[&case.external_source, &case.external_source_id]);
            match self.source_pairs.entry(k) {
                Entry::Occupied(r) => errors.push(
                    RowError::new(
                        "external_source_id",
                        format!(
                            "external_source '{}' with external_source_id '{}' already used on row {}",
                            short(&case.external_source),
                            short(&case.external_source_id),
                            r.get()
                        ),
                    )
                    .at(columns[1]),
                ),
                Entry::Vacant(v) => {
                    v.insert(here);
                }
            }
        }
        if let Some(id) = case.id {
            match self.ids.get(&id) {
                Some(&r) => errors.push(RowError::new(
                    "id",
                    format!("id {id} already used on row {r} (one update per case per file)"),
                )),
                None => {
                    self.ids.insert(id, here);
                }
            }
        }
    }

    /// Distinct statuses and types with counts, and warnings about look-alike values (only for
    /// a field with no allowed list: with one, every value is already a listed one).
    pub fn report(&self) -> ValueReport {
        let mut warnings = Vec::new();
        for (tally, allowed, what) in [
            (&self.statuses, &self.rules.allowed_status, "status"),
            (&self.types, &self.rules.allowed_type, "type"),
        ] {
            if allowed.is_none() {
                warnings.extend(lookalikes(tally, what));
            }
            if tally.overflow > 0 {
                warnings.push(format!(
                    "more than {MAX_DISTINCT} distinct {what} values; {} rows with further values are not listed",
                    tally.overflow
                ));
            }
        }
        ValueReport {
            statuses: self.statuses.sorted(),
            types: self.types.sorted(),
            warnings,
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

/// Groups of values that differ only in case or spacing, or by one edit (when both are at least
/// four letters long: `pi`/`po` are different words, `actve` is a typo).
fn lookalikes(tally: &Tally, what: &str) -> Vec<String> {
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
            let (a, b) = (&folded[i], &folded[j]);
            let same = a == b
                || (a.len().min(b.len()) >= 4
                    && a.len().max(b.len()) <= 40
                    && a.len().abs_diff(b.len()) <= 1
                    && levenshtein(&a.iter().collect::<String>(), &b.iter().collect::<String>())
                        <= 1);
            if same {
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
    groups
        .into_iter()
        .map(|(_, mut members)| {
            members.sort_by(|&a, &b| values[a].0.cmp(&values[b].0));
            let list: Vec<String> = members
                .iter()
                .map(|&m| format!("'{}' ({})", values[m].0, values[m].1))
                .collect();
            format!(
                "{what} values that look like the same word: {} — Kayse creates each distinct {what} as typed",
                list.join(", ")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::FIELDS;
    use crate::map::{ExtraColumns, MapOptions, Mapping};
    use crate::read::RawRow;
    use chrono::NaiveDate;

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
        Mapping::build(&h, opts).unwrap()
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
    ) -> Result<Case, Vec<String>> {
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
        let mut ch = Checker::new(Rules::default());
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
        assert_eq!(case.case_number, "C-1");
        assert_eq!(case.name.as_deref(), Some("Smith v. Jones"));
        assert_eq!(case.created_date, NaiveDate::from_ymd_opt(2024, 3, 5));
        assert_eq!(case.is_obo, Some(true));
        assert_eq!(case.client_ids, Some(vec![1, 2]));
        assert_eq!(case.external_source_data.unwrap()["a"], 1);
        assert_eq!(case.id, None);
        assert_eq!(case.court_name, None, "empty optional is None");
    }

    #[test]
    fn every_error_of_a_row_is_reported() {
        let m = mapping(&MapOptions::default());
        let mut ch = Checker::new(Rules::default());
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
        let mut ch = Checker::new(Rules::default());
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
        assert_eq!(case.case_number, "2024001");
        assert_eq!(case.created_date, NaiveDate::from_ymd_opt(2024, 1, 2));
        assert_eq!(case.is_obo, Some(false));
        assert_eq!(case.client_ids, Some(vec![5]));
        assert_eq!(case.id, Some(77), "a row with an id is an update");
    }

    #[test]
    fn duplicates_name_the_earlier_row() {
        let m = mapping(&MapOptions::default());
        let mut ch = Checker::new(Rules::default());
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
        let rules = Rules {
            allowed_status: Some(vec!["active".into(), "closed".into(), "pending".into()]),
            allowed_type: Some(vec!["civil".into()]),
            ..Default::default()
        };
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
                Ok(s) => assert_eq!(got.unwrap().status, *s),
                Err(e) => assert_eq!(got.unwrap_err(), [e.to_string()]),
            }
        }
        let r = ch.report();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(
            r.statuses,
            [("active".to_string(), 2), ("closed".to_string(), 1)]
        );
        assert_eq!(
            allowed_value(&[], "x", "status"),
            Err("'x' is not an allowed status (the allowed list is empty)".into())
        );
    }

    #[test]
    fn report_counts_and_warns_about_lookalikes() {
        let m = mapping(&MapOptions::default());
        let mut ch = Checker::new(Rules::default());
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
        assert_eq!(r.statuses[0], ("active".to_string(), 10));
        assert_eq!(r.statuses[1], ("closed".to_string(), 4));
        assert_eq!(r.statuses.len(), 6);
        assert_eq!(
            r.warnings,
            [
                "status values that look like the same word: 'Active' (3), 'active' (10), 'actve' (1) — Kayse creates each distinct status as typed",
                "status values that look like the same word: 'In Progress' (1), 'in_progress' (1) — Kayse creates each distinct status as typed",
            ]
        );
        assert_eq!(r.types.len(), 2, "pi and po are different words");
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
        let mut ch = Checker::new(Rules::default());
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
        let m = Mapping::build(&h, &opts).unwrap();
        let mut c = cells(&[(10, t(r#"{"a": 1, "b": 2}"#))]);
        c.extend([t(" web "), Cell::Int(7), t("extra")]);
        let mut ch = Checker::new(Rules::default());
        let case = run(&mut ch, &m, 2, c).unwrap();
        let obj = Value::Object(case.external_source_data.unwrap());
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
        assert_eq!(case.external_source_data, None);
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
            let mut ch = Checker::new(Rules::default());
            let mut c = cells(&[(10, cell)]);
            c.extend([t(""), t(""), t("")]);
            assert_eq!(run(&mut ch, &m, 4, c).unwrap_err(), [want.to_string()]);
        }
    }

    #[test]
    fn every_schema_field_reaches_the_case() {
        // Fill every field from its own column with a valid value and check the JSON has it.
        let mut h: Vec<String> = FIELDS.iter().map(|f| f.name.to_string()).collect();
        h.push("id".into());
        let m = Mapping::build(&h, &MapOptions::default()).unwrap();
        let c: Vec<Cell> = FIELDS
            .iter()
            .map(|f| match f.ty {
                FieldType::String => t("x"),
                FieldType::Date => t("2024-01-02"),
                FieldType::Bool => t("true"),
                FieldType::IdList => t("1"),
                FieldType::Object => t("{}"),
            })
            .chain([t("9")])
            .collect();
        let mut ch = Checker::new(Rules::default());
        let case = run(&mut ch, &m, 2, c).unwrap();
        let v = serde_json::to_value(&case).unwrap();
        for f in FIELDS {
            assert!(
                v.get(f.name).is_some(),
                "{} is not carried into the case",
                f.name
            );
        }
        assert_eq!(v["id"], 9);
    }
}
