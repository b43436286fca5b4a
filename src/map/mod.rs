//! Mapping: decide which input column feeds which field of an entity (mapping file, exact names,
//! normalised names, aliases, `--set`, `[defaults]`), then turn a raw row into per-field cells
//! borrowed from the row. Every field name, alias and index comes from the entity's table. It
//! reports mapping problems before any row is read and flags error cells; it does not judge
//! values (that is `check`) and does no I/O beyond loading the file.
//!
//! Header matching, in order, for each column:
//! 1. the mapping file's `[columns]` (exact header, then normalised); `""` ignores the column;
//! 2. columns the tool writes (`source_row`, `kayse_result`, `kayse_id`, `kayse_errors`) and the
//!    entity's answer-only fields are ignored;
//! 3. `FIELD.KEY`, FIELD being the entity's data field (`external_source_data`), goes into that
//!    object under KEY;
//! 4. a field's exact name, then its name normalised (case, spaces, `_`, `-`, `.`), then its
//!    aliases (the table's, for the fields and for `id`), normalised.
//!
//! `kayse_id` is both an alias of `id` and a column the tool writes. In a results file (a sheet
//! with a `kayse_result` column) the first `kayse_id` column is the tool's own and is ignored, so
//! feeding a results file back never turns its rows into updates by surprise; a later `kayse_id`
//! column there (the user's original column, echoed) and a `kayse_id` column in any other sheet
//! map to `id`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{Deserializer, Visitor};

use crate::cell::Cell;
use crate::check::rules::{levenshtein, normalize_header};
use crate::entity::{self, Entity, Field};
use crate::outcome::RowError;
use crate::read::RawRow;

pub mod linked;
pub mod presets;
pub mod write;

use presets::{Detected, Export};

/// `--mapping FILE.toml`: how a firm's own spreadsheet maps onto the schema.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// `preset = "clio"`: a practice-management export's columns, source and date order
    /// (`"none"`: no preset, not even a detected one).
    #[serde(default)]
    pub preset: Option<String>,
    /// `date_order = "dmy"`: how numeric dates are read, as `--date-order` (which wins).
    #[serde(default)]
    pub date_order: Option<String>,
    /// Header → field name, `external_source_data.KEY`, or `""` to ignore the column.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Field → value used when the cell is empty or the column is missing.
    #[serde(default, deserialize_with = "scalar_map")]
    pub defaults: BTreeMap<String, String>,
    /// Field → (value as typed → value to send), matched trimmed and ignoring case.
    #[serde(default, deserialize_with = "scalar_map_map")]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    pub allowed: Allowed,
}

/// `[allowed]`: the accepted status and type values (any other is invalid).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowed {
    pub status: Option<Vec<String>>,
    #[serde(rename = "type")]
    pub case_type: Option<Vec<String>>,
}

impl MappingFile {
    /// Read and parse a mapping file. A syntax error is one line naming the file and line.
    pub fn load(path: &Path) -> Result<MappingFile, MappingError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            MappingError::Invalid(format!("cannot read mapping file {}: {e}", path.display()))
        })?;
        Self::parse(&text)
            .map_err(|msg| MappingError::Invalid(format!("mapping file {}{msg}", path.display())))
    }

    /// `date_order`, read as `--date-order` reads its value.
    pub fn date_order(&self) -> Result<Option<crate::check::rules::DateOrder>, String> {
        let Some(text) = self.date_order.as_deref() else {
            return Ok(None);
        };
        <crate::check::rules::DateOrder as clap::ValueEnum>::from_str(text.trim(), true)
            .map(Some)
            .map_err(|_| {
                format!("mapping file: date_order = \"{text}\" is not one of mdy, dmy, ymd")
            })
    }

    /// Parse mapping-file text; the error reads ` line N: message`.
    pub(crate) fn parse(text: &str) -> Result<MappingFile, String> {
        toml::from_str(text).map_err(|e| {
            let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            match e.span() {
                Some(r) => {
                    let end = r.start.min(text.len());
                    let line = text.as_bytes()[..end]
                        .iter()
                        .filter(|b| **b == b'\n')
                        .count()
                        + 1;
                    format!(" line {line}: {message}")
                }
                None => format!(": {message}"),
            }
        })
    }
}

/// A TOML scalar read as text, so `is_obo = false` and `"1" = 2` work as well as strings.
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or true/false")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

fn scalar_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let m: BTreeMap<String, Scalar> = BTreeMap::deserialize(d)?;
    Ok(m.into_iter().map(|(k, v)| (k, v.0)).collect())
}

fn scalar_map_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, D::Error> {
    let m: BTreeMap<String, BTreeMap<String, Scalar>> = BTreeMap::deserialize(d)?;
    Ok(m.into_iter()
        .map(|(k, v)| (k, v.into_iter().map(|(a, b)| (a, b.0)).collect()))
        .collect())
}

/// What to do with columns that match no field (`--extra-columns`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ExtraColumns {
    /// List them as a warning.
    #[default]
    Warn,
    /// Carry them into external_source_data.
    Data,
}

/// Everything that decides the mapping besides the headers.
#[derive(Debug, Clone, Default)]
pub struct MapOptions {
    pub file: MappingFile,
    /// `--set FIELD=VALUE`, fixed for every row.
    pub set: Vec<(String, String)>,
    pub extra_columns: ExtraColumns,
}

/// A mapping problem: the run stops before any row is read (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{0}")]
    Invalid(String),
}

/// How a column matched its field; an explicit `[columns]` entry beats automatic matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Explicit,
    /// From the preset's table: beats automatic matching, loses to `[columns]`.
    Preset,
    Auto,
}

/// What a column is used for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    Field(usize, How),
    /// `external_source_data.KEY`.
    DataKey(String),
    /// Unmapped, carried into external_source_data under its header (`--extra-columns data`).
    Extra(String),
    /// `""` in `[columns]`: ignored, error cells included.
    Ignored,
    /// Written by the tool or only in API answers: ignored.
    Output,
    /// A client column of a case sheet (`Client Email`): read by `check::linked`, not a field.
    Linked,
    /// The case sheet's key into a joined clients table (`Client ID`): read by `check::joined`.
    JoinKey,
    Unmapped,
}

/// Where a field's value comes from.
#[derive(Debug, Clone)]
enum Source {
    Absent,
    /// An input column, and the `[defaults]` value used when its cell is empty.
    Column {
        col: usize,
        default: Option<Cell>,
    },
    /// A `[defaults]` value, the sheet having no column.
    Default(Cell),
    /// `--set`.
    Fixed(Cell),
}

/// The decided column → field plan. Fields are numbered by the entity's slots (its fields, then
/// `id`).
#[derive(Debug, Clone)]
pub struct Mapping {
    entity: &'static Entity,
    /// The preset in use (named in the mapping file, or detected from the headers), and which
    /// of its exports the sheet is.
    pub preset: Option<Detected>,
    /// Headers that match no field (warned about, or carried into external_source_data).
    pub unmapped: Vec<String>,
    /// Harmless oddities worth a warning, e.g. a `[columns]` entry naming no header of this file.
    pub notes: Vec<String>,
    headers: Vec<String>,
    roles: Vec<Role>,
    sources: Vec<Source>,
    /// Per field index: `[values.FIELD]`, keyed by the lowercased trimmed input value.
    translate: Vec<Option<HashMap<String, Cell>>>,
    /// (key, column) of `external_source_data.KEY` columns.
    data_cols: Vec<(String, usize)>,
    /// (key, column) of unmapped columns carried into external_source_data.
    extra_cols: Vec<(String, usize)>,
    /// The client columns of a case sheet, in column order (`linked`).
    linked: Vec<linked::ClientColumn>,
}

/// One field's value for a row: the cell (borrowed from the row or the mapping) and the input
/// column it came from, if any, so errors can mark that cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slot<'a> {
    pub column: Option<usize>,
    pub cell: &'a Cell,
}

/// One `external_source_data` entry from a column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataItem<'a> {
    pub key: &'a str,
    pub column: usize,
    pub cell: &'a Cell,
    /// From an `external_source_data.KEY` column (wins over the JSON object's key); otherwise an
    /// extra column (never overrides a key already there).
    pub explicit: bool,
}

/// A row's values by field, borrowed from the row and the mapping: no cell is copied here.
#[derive(Debug, Clone)]
pub struct MappedRow<'a> {
    pub entity: &'static Entity,
    pub source_row: usize,
    /// Indexed by the entity's slots; `None` when the field has no column, default or `--set`. A
    /// slot may hold a blank cell (the column exists but is empty).
    pub values: Vec<Option<Slot<'a>>>,
    /// `external_source_data.KEY` and extra columns with a non-blank cell, in column order.
    pub data: Vec<DataItem<'a>>,
    /// Error cells (`#N/A`…) anywhere in the row except ignored columns.
    pub cell_errors: Vec<RowError>,
}

impl<'a> MappedRow<'a> {
    /// The slot of a field by exact name.
    pub fn get(&self, name: &str) -> Option<Slot<'a>> {
        self.entity
            .slot_index(name)
            .and_then(|i| self.values.get(i).copied().flatten())
    }
}

static EMPTY: Cell = Cell::Empty;

/// Whether a header is one of the `HEADER (as read)` columns a results file shows dates in: the
/// tool's own output, never an input.
pub fn is_as_read(header: &str) -> bool {
    header.trim_end().ends_with("(as read)")
}

/// How many non-blank values of a column decide whether it holds ids.
pub const ID_SAMPLE: usize = 100;

/// Excel's letters for a 0-based column index: 0 → `A`, 26 → `AA`.
pub fn column_letter(mut col: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The error text of an error cell, or of text that is an Excel error literal (what a CSV saved
/// from Excel holds where a formula failed).
pub fn cell_error(cell: &Cell) -> Option<&str> {
    const LITERALS: &[&str] = &[
        "#N/A",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#NULL!",
        "#SPILL!",
        "#CALC!",
        "#GETTING_DATA",
    ];
    match cell {
        Cell::Error(e) => Some(e.as_str()),
        // Checked for every cell of every row: most text starts with a plain letter or digit.
        Cell::Text(s) if s.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric) => None,
        Cell::Text(s) if s.trim_start().starts_with('#') => {
            let t = s.trim();
            LITERALS
                .iter()
                .find(|l| l.eq_ignore_ascii_case(t))
                .map(|_| t)
        }
        _ => None,
    }
}

/// The field (or `id`) closest to a misspelt name, judged against names and aliases alike, so
/// `court` suggests `court_name` (alias `Court`).
fn closest_field(entity: &'static Entity, name: &str) -> &'static str {
    let n = normalize_header(name);
    (0..entity.slot_count())
        .map(|i| entity.slot(i))
        .min_by_key(|f| {
            // Ties go to a field's own name over another field's alias.
            let own = 2 * levenshtein(&n, &normalize_header(f.name));
            f.aliases
                .iter()
                .map(|a| 2 * levenshtein(&n, &normalize_header(a)) + 1)
                .fold(own, usize::min)
        })
        .map(|f| f.name)
        .unwrap_or(entity.id.name)
}

fn unknown_field(entity: &'static Entity, name: &str) -> String {
    format!(
        "unknown field '{name}' (did you mean '{}'?)",
        closest_field(entity, name)
    )
}

/// A `[columns]` target.
enum Target {
    Ignore,
    Field(usize),
    DataKey(String),
}

fn parse_target(entity: &'static Entity, t: &str) -> Result<Target, String> {
    let t = t.trim();
    if t.is_empty() {
        return Ok(Target::Ignore);
    }
    if let Some((left, key)) = t.split_once('.')
        && let Some(d) = entity.data_field()
        && left.trim() == entity.fields[d].name
    {
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("'{t}' has no key after the dot"));
        }
        return Ok(Target::DataKey(key.to_string()));
    }
    // Field names are exact here: the file is written once, deliberately, so a near miss is
    // more likely a mistake to point out than a spelling to forgive.
    entity
        .slot_index(t)
        .map(Target::Field)
        .ok_or_else(|| unknown_field(entity, t))
}

/// The automatic match of a header: exact name, normalised name, then aliases.
fn auto_field(entity: &'static Entity, header: &str, norm: &str) -> Option<usize> {
    let h = header.trim();
    if let Some(i) = entity.slot_index(h) {
        return Some(i);
    }
    let all = 0..entity.slot_count();
    if let Some(i) = all
        .clone()
        .find(|&i| normalize_header(entity.slot(i).name) == norm)
    {
        return Some(i);
    }
    all.into_iter().find(|&i| {
        let f = entity.slot(i);
        f.aliases.iter().any(|a| normalize_header(a) == norm)
    })
}

/// Whether a header names something this mapping would use: a `[columns]` entry of the mapping
/// file, a field's name, normalised name or alias, an `external_source_data.KEY` column, or a
/// column the tool writes. The readers take it to find the header row below a title
/// (`read::HeaderMatcher`), so a header is judged by the same rules that map it.
pub fn header_matcher(entity: &'static Entity, opts: &MapOptions) -> crate::read::HeaderMatcher {
    // Every name normalised once: a sheet may have 20,000 header cells to judge.
    let mut names: std::collections::HashSet<String> = opts
        .file
        .columns
        .keys()
        .map(|h| normalize_header(h))
        .collect();
    for i in 0..entity.slot_count() {
        let f = entity.slot(i);
        names.extend(
            std::iter::once(f.name)
                .chain(f.aliases.iter().copied())
                .map(normalize_header),
        );
    }
    // A preset's headers are a header row's too: `Display Number` names no field by itself.
    let export = if entity.name == "clients" {
        Export::Contacts
    } else {
        Export::Cases
    };
    for p in presets::PRESETS {
        names.extend(p.columns(export).iter().map(|(h, _)| normalize_header(h)));
    }
    names.extend(
        entity::OUTPUT_COLUMNS
            .iter()
            .chain(entity::LINK_COLUMNS)
            .copied()
            .chain(entity.answer_only.iter().map(|f| f.name))
            .map(normalize_header),
    );
    names.remove("");
    crate::read::HeaderMatcher::new(move |header| {
        // A 6 MB cell is no header: do not copy it to find out.
        header.len() <= 1024
            && (names.contains(&normalize_header(header)) || data_key(entity, header).is_some())
    })
}

/// `external_source_data.KEY` (or an alias of the data field before the dot).
fn data_key(entity: &'static Entity, header: &str) -> Option<String> {
    let (left, key) = header.split_once('.')?;
    let left = normalize_header(left);
    let f = &entity.fields[entity.data_field()?];
    let matches =
        left == normalize_header(f.name) || f.aliases.iter().any(|a| normalize_header(a) == left);
    let key = key.trim();
    (matches && !key.is_empty()).then(|| key.to_string())
}

/// What `--set`, `[defaults]` and `[values.FIELD]` give each slot.
struct Fixed {
    set: Vec<Option<Cell>>,
    defaults: Vec<Option<Cell>>,
    translate: Vec<Option<HashMap<String, Cell>>>,
}

/// The columns that feed the data field, and the headers that feed nothing.
struct DataColumns {
    data_cols: Vec<(String, usize)>,
    extra_cols: Vec<(String, usize)>,
    unmapped: Vec<String>,
}

/// Each column's role: the mapping file's `[columns]` first, then the tool's own columns, then
/// `FIELD.KEY`, then automatic matching. Also the notes about `[columns]` entries naming no header.
fn column_roles(
    entity: &'static Entity,
    headers: &[String],
    file: &MappingFile,
    preset: Option<Detected>,
    problems: &mut Vec<String>,
) -> (Vec<Role>, Vec<String>) {
    // The mapping file's [columns], checked up front.
    let mut targets: Vec<(&String, String, Target, bool)> = Vec::new();
    for (header, target) in &file.columns {
        match parse_target(entity, target) {
            Ok(t) => targets.push((header, normalize_header(header), t, false)),
            Err(e) => {
                problems.push(format!("mapping file [columns] '{header}': {e}"));
                // Claim the column anyway, so its automatic match adds no second problem.
                targets.push((header, normalize_header(header), Target::Ignore, false));
            }
        }
    }

    let is_results = headers.iter().any(|h| normalize_header(h) == "kayseresult");
    let mut output_id_seen = false;
    let mut roles = Vec::with_capacity(headers.len());
    for header in headers {
        let norm = normalize_header(header);
        let explicit = targets
            .iter()
            .position(|t| t.0 == header)
            .or_else(|| targets.iter().position(|t| !norm.is_empty() && t.1 == norm));
        if let Some(k) = explicit {
            targets[k].3 = true;
            roles.push(match &targets[k].2 {
                Target::Ignore => Role::Ignored,
                Target::Field(i) => Role::Field(*i, How::Explicit),
                Target::DataKey(key) => Role::DataKey(key.clone()),
            });
            continue;
        }
        let is_output = entity::OUTPUT_COLUMNS
            .iter()
            .chain(entity::LINK_COLUMNS)
            .copied()
            .chain(entity.answer_only.iter().map(|f| f.name))
            .any(|c| normalize_header(c) == norm)
            || is_as_read(header);
        let tool_kayse_id = norm == "kayseid" && is_results && !output_id_seen;
        if is_output && (norm != "kayseid" || tool_kayse_id) {
            output_id_seen |= tool_kayse_id;
            roles.push(Role::Output);
            continue;
        }
        if let Some(d) = preset
            && let Some(target) = d.preset.field_of(d.export, header)
            && let Ok(t) = parse_target(entity, target)
        {
            roles.push(match t {
                Target::Ignore => Role::Ignored,
                Target::Field(i) => Role::Field(i, How::Preset),
                Target::DataKey(key) => Role::DataKey(key),
            });
            continue;
        }
        if let Some(key) = data_key(entity, header) {
            roles.push(Role::DataKey(key));
            continue;
        }
        roles.push(match auto_field(entity, header, &norm) {
            Some(i) => Role::Field(i, How::Auto),
            None => Role::Unmapped,
        });
    }
    // Entries naming no header are notes, not problems: one mapping file often serves
    // several exports.
    let notes: Vec<String> = targets
        .iter()
        .filter(|t| !t.3)
        .map(|t| {
            format!(
                "mapping file [columns] names '{}', which is not a header of this file",
                t.0
            )
        })
        .collect();
    (roles, notes)
}

/// The preset for these headers: the mapping file's `preset` (`"none"`: none), else the one
/// whose signature the headers carry. Its cases export feeds cases, its contacts export clients;
/// a sheet of the other kind gets none.
fn preset_of(
    entity: &'static Entity,
    headers: &[String],
    file: &MappingFile,
    problems: &mut Vec<String>,
) -> Option<Detected> {
    let want = if entity.name == "clients" {
        Export::Contacts
    } else {
        Export::Cases
    };
    let found = match file.preset.as_deref().map(str::trim) {
        Some(n) if n.eq_ignore_ascii_case("none") => return None,
        Some(n) => match presets::by_name(n) {
            Ok(p) => {
                let export = presets::export_of(p, headers);
                let label = p
                    .signatures
                    .iter()
                    .find(|s| s.export == export)
                    .map_or(p.system, |s| s.label);
                Detected {
                    preset: p,
                    export,
                    label,
                }
            }
            Err(e) => {
                problems.push(format!("mapping file: {e}"));
                return None;
            }
        },
        None => presets::detect(headers)?,
    };
    (found.export == want).then_some(Detected {
        export: want,
        ..found
    })
}

/// `--set`, `[defaults]` and `[values.FIELD]`, by slot.
fn fixed_values(entity: &'static Entity, opts: &MapOptions, problems: &mut Vec<String>) -> Fixed {
    let n = entity.slot_count();
    let id = entity.id_slot();
    let mut set: Vec<Option<Cell>> = vec![None; n];
    for (name, value) in &opts.set {
        match entity.slot_index(name.trim()) {
            Some(i) if i == id => problems.push(format!(
                "--set id=... would point every row at the same {}; put ids in a column",
                entity.one
            )),
            Some(i) if entity.slot(i).required && value.trim().is_empty() => problems.push(
                format!("--set {name}= gives the required field {name} an empty value"),
            ),
            Some(i) => set[i] = Some(Cell::Text(value.clone())),
            None => problems.push(format!("--set: {}", unknown_field(entity, name.trim()))),
        }
    }
    let mut defaults: Vec<Option<Cell>> = vec![None; n];
    for (name, value) in &opts.file.defaults {
        match entity.slot_index(name.trim()) {
            Some(i) if i == id => problems.push(format!(
                "mapping file [defaults] cannot give an id: every row would update the same {}",
                entity.one
            )),
            Some(i) => defaults[i] = Some(Cell::Text(value.clone())),
            None => problems.push(format!(
                "mapping file [defaults]: {}",
                unknown_field(entity, name.trim())
            )),
        }
    }
    let mut translate: Vec<Option<HashMap<String, Cell>>> = vec![None; n];
    for (name, table) in &opts.file.values {
        match entity.slot_index(name.trim()) {
            Some(i) => {
                let map = table
                    .iter()
                    .map(|(from, to)| (from.trim().to_lowercase(), Cell::Text(to.clone())))
                    .collect();
                translate[i] = Some(map);
            }
            None => problems.push(format!(
                "mapping file [values.{name}]: {}",
                unknown_field(entity, name.trim())
            )),
        }
    }
    Fixed {
        set,
        defaults,
        translate,
    }
}

/// One column per field: an explicit entry beats automatic matches, which become unmapped; two
/// columns left for one field are a problem unless `--set` fixes the field.
fn one_column_per_field(
    entity: &'static Entity,
    headers: &[String],
    roles: &mut [Role],
    set: &[Option<Cell>],
    problems: &mut Vec<String>,
) {
    for (i, fixed) in set.iter().enumerate() {
        let cols: Vec<usize> = (0..roles.len())
            .filter(|&c| matches!(roles[c], Role::Field(f, _) if f == i))
            .collect();
        // The strongest match wins: `[columns]`, then the preset, then automatic.
        let rank = |r: &Role| match r {
            Role::Field(_, How::Explicit) => 0,
            Role::Field(_, How::Preset) => 1,
            _ => 2,
        };
        if let Some(best) = cols.iter().map(|&c| rank(&roles[c])).min() {
            for &c in &cols {
                if rank(&roles[c]) > best {
                    roles[c] = Role::Unmapped;
                }
            }
        }
        let cols: Vec<usize> = cols
            .into_iter()
            .filter(|&c| matches!(roles[c], Role::Field(..)))
            .collect();
        if cols.len() > 1 && fixed.is_none() {
            problems.push(two_columns(headers, &cols, entity.slot(i).name));
        }
    }
}

/// The client columns of a sheet of an entity that links to clients (a case sheet): columns no
/// field took whose header names a client (`map::linked`). A client's columns are read only
/// when the sheet has a column for its name (`Client Name`, or `Client First Name` and `Client
/// Last Name`); those of a client with none stay unmapped, with a note, so a firm's lone `Client
/// ID` column never makes every row invalid.
fn linked_columns(
    entity: &'static Entity,
    headers: &[String],
    roles: &mut [Role],
    notes: &mut Vec<String>,
) -> Vec<linked::ClientColumn> {
    if entity.link_to(entity::CLIENTS.name).is_none() {
        return Vec::new();
    }
    let candidates: Vec<usize> = (0..roles.len())
        .filter(|&c| roles[c] == Role::Unmapped)
        .collect();
    let found = linked::find(headers, &candidates);
    let (named, unnamed) = linked::named_groups(&found);
    if !unnamed.is_empty() {
        let cols: Vec<String> = unnamed
            .iter()
            .map(|l| format!("'{}'", headers[l.col].trim()))
            .collect();
        notes.push(format!(
            "client columns {} are not used: no column names the client (Client Name, or Client First Name and Client Last Name)",
            cols.join(", ")
        ));
    }
    for l in &named {
        roles[l.col] = Role::Linked;
    }
    named
}

/// The data field's columns (`FIELD.KEY`, and unmapped ones under `--extra-columns data`), whose
/// keys must be unique, and the headers left unmapped.
fn data_columns(
    entity: &'static Entity,
    headers: &[String],
    roles: &mut [Role],
    extra: ExtraColumns,
    problems: &mut Vec<String>,
) -> DataColumns {
    let data_name = entity.data_field().map(|d| entity.fields[d].name);
    if extra == ExtraColumns::Data && data_name.is_none() {
        problems.push(format!(
            "--extra-columns data: a {} has no field for free data; use --extra-columns warn",
            entity.one
        ));
    }
    let mut data_cols = Vec::new();
    let mut extra_cols = Vec::new();
    let mut unmapped = Vec::new();
    for (c, role) in roles.iter_mut().enumerate() {
        let header = headers[c].trim();
        match role {
            Role::DataKey(k) => data_cols.push((k.clone(), c)),
            Role::Unmapped
                if extra == ExtraColumns::Data && data_name.is_some() && !header.is_empty() =>
            {
                *role = Role::Extra(header.to_string());
                extra_cols.push((header.to_string(), c));
            }
            Role::Unmapped if header.is_empty() => {
                unmapped.push(format!("column {} (no header)", column_letter(c)))
            }
            Role::Unmapped => unmapped.push(header.to_string()),
            _ => {}
        }
    }
    for list in [&data_cols, &extra_cols] {
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (key, ca) in list {
            if let Some(cb) = first.insert(key.as_str(), *ca) {
                first.insert(key.as_str(), cb);
                problems.push(format!(
                    "columns '{}' ({}) and '{}' ({}) both go to {}.{key}; rename or ignore one",
                    headers[cb].trim(),
                    column_letter(cb),
                    headers[*ca].trim(),
                    column_letter(*ca),
                    data_name.unwrap_or_default()
                ));
            }
        }
    }
    DataColumns {
        data_cols,
        extra_cols,
        unmapped,
    }
}

impl Mapping {
    /// Decide the plan for these headers onto `entity`'s fields. Every problem found is reported
    /// at once, as one line, in a fixed order: `[columns]`, `--set`, `[defaults]`, `[values]`,
    /// two columns for one field, data columns, missing required fields.
    pub fn build(
        entity: &'static Entity,
        headers: &[String],
        opts: &MapOptions,
    ) -> Result<Mapping, MappingError> {
        Self::build_optional(entity, headers, opts, &[])
    }

    /// [`Mapping::build`], with the required fields in `optional` allowed no column: a joined
    /// clients table may leave out `external_source` and `external_source_id`, which the join
    /// gives (the case's source, the key).
    pub fn build_optional(
        entity: &'static Entity,
        headers: &[String],
        opts: &MapOptions,
        optional: &[&str],
    ) -> Result<Mapping, MappingError> {
        let mut problems: Vec<String> = Vec::new();
        let preset = preset_of(entity, headers, &opts.file, &mut problems);
        let (mut roles, mut notes) =
            column_roles(entity, headers, &opts.file, preset, &mut problems);
        let Fixed {
            mut set,
            mut defaults,
            translate,
        } = fixed_values(entity, opts, &mut problems);
        if let Some(d) = preset {
            notes.extend(d.preset.record_id_notes(headers));
            // The preset's source, unless the sheet, the mapping or --set gives one.
            if let Some(i) = entity.slot_index("external_source")
                && defaults[i].is_none()
            {
                defaults[i] = Some(Cell::Text(d.preset.external_source.to_string()));
            }
        }
        one_column_per_field(entity, headers, &mut roles, &set, &mut problems);
        let linked = linked_columns(entity, headers, &mut roles, &mut notes);
        let DataColumns {
            data_cols,
            extra_cols,
            unmapped,
        } = data_columns(
            entity,
            headers,
            &mut roles,
            opts.extra_columns,
            &mut problems,
        );

        // Where each field's value comes from; required fields must have one.
        let n = entity.slot_count();
        let mut missing: Vec<&'static Field> = Vec::new();
        let mut sources = Vec::with_capacity(n);
        for i in 0..n {
            let col = roles
                .iter()
                .position(|r| matches!(r, Role::Field(f, _) if *f == i));
            let source = match (set[i].take(), col, defaults[i].take()) {
                (Some(v), _, _) => Source::Fixed(v),
                (None, Some(col), default) => Source::Column { col, default },
                (None, None, Some(d)) => Source::Default(d),
                (None, None, None) => Source::Absent,
            };
            let f = entity.slot(i);
            if f.required && !optional.contains(&f.name) && matches!(source, Source::Absent) {
                missing.push(f);
            }
            sources.push(source);
        }
        if !missing.is_empty() {
            problems.push(missing_required(entity, &missing, headers, &roles));
        }

        if !problems.is_empty() {
            return Err(MappingError::Invalid(problems.join("; ")));
        }
        Ok(Mapping {
            entity,
            preset,
            unmapped,
            notes,
            headers: headers.to_vec(),
            roles,
            sources,
            translate,
            data_cols,
            extra_cols,
            linked,
        })
    }

    /// Unmap the columns an alias took for an id field (`Clients` → `client_ids`, `Kayse ID` →
    /// `id`) whose values, in `sample` (the first rows), are mostly not ids: a column of client
    /// names must not fail every row as "not a positive whole number". A column named exactly
    /// like the field, or mapped in `[columns]`, stays: the user said so. Returns one note per
    /// column unmapped, for the summary.
    pub fn unmap_non_id_columns(&mut self, sample: &[&RawRow]) -> Vec<String> {
        let mut notes = Vec::new();
        for c in 0..self.roles.len() {
            let Role::Field(i, How::Auto) = self.roles[c] else {
                continue;
            };
            let f = self.entity.slot(i);
            let is_id = i == self.entity.id_slot() || f.kind == entity::Kind::IdList;
            if !is_id || normalize_header(&self.headers[c]) == normalize_header(f.name) {
                continue;
            }
            let values: Vec<&Cell> = sample
                .iter()
                .filter_map(|r| r.cells.get(c))
                .filter(|v| !v.is_blank() && cell_error(v).is_none())
                .take(ID_SAMPLE)
                .collect();
            let not_ids: Vec<&Cell> = values
                .iter()
                .copied()
                .filter(|v| {
                    if i == self.entity.id_slot() {
                        crate::check::rules::parse_id(v).is_err()
                    } else {
                        crate::check::rules::parse_id_list(v).is_err()
                    }
                })
                .collect();
            if values.is_empty() || not_ids.len() * 2 <= values.len() {
                continue;
            }
            let header = self.headers[c].trim().to_string();
            self.roles[c] = Role::Unmapped;
            if let Source::Column { default, .. } = &self.sources[i] {
                self.sources[i] = match default {
                    Some(d) => Source::Default(d.clone()),
                    None => Source::Absent,
                };
            }
            self.unmapped.push(header.clone());
            notes.push(format!(
                "column '{header}' holds {} of {} values that are not ids (such as '{}') in its first rows, so it was not taken as {}; name it in [columns] of a --mapping file to use it anyway",
                not_ids.len(),
                values.len(),
                crate::check::rules::short(not_ids[0].to_text().trim()),
                f.name
            ));
        }
        notes
    }

    /// `--without-clients`: the client columns are unmapped, as on a sheet of another kind.
    pub fn unmap_client_columns(&mut self) {
        for l in std::mem::take(&mut self.linked) {
            self.roles[l.col] = Role::Unmapped;
            self.unmapped.push(self.headers[l.col].trim().to_string());
        }
    }

    /// Take column `col` as the case sheet's key into a joined clients table: no field, no
    /// warning as an unmapped column, not carried into the data field; its error cells are still
    /// reported.
    pub fn take_join_key(&mut self, col: usize) {
        let Some(role) = self.roles.get_mut(col) else {
            return;
        };
        *role = Role::JoinKey;
        let header = self.headers[col].trim().to_string();
        self.unmapped.retain(|h| *h != header);
        self.extra_cols.retain(|(_, c)| *c != col);
    }

    /// Unmap the whole-name client columns (`Client`, `Client Name`) most of whose values, in
    /// `sample` (the first rows), cannot be split into a first and a last name (surnames alone,
    /// company names): such a column is not a list of people, and taking it would make every
    /// row invalid. A client left with no name column is unmapped whole. Returns one note per
    /// column unmapped, for the summary.
    pub fn unmap_unsplittable_names(&mut self, sample: &[&RawRow]) -> Vec<String> {
        let mut notes = Vec::new();
        let mut keep = Vec::new();
        for l in std::mem::take(&mut self.linked) {
            if l.part != linked::Part::FullName {
                keep.push(l);
                continue;
            }
            let values: Vec<String> = sample
                .iter()
                .filter_map(|r| r.cells.get(l.col))
                .filter(|v| !v.is_blank() && cell_error(v).is_none())
                .take(ID_SAMPLE)
                .map(|v| v.to_text().trim().to_string())
                .collect();
            let bad: Vec<&String> = values
                .iter()
                .filter(|v| crate::check::name::split_name(v).is_err())
                .collect();
            if values.is_empty() || bad.len() * 2 <= values.len() {
                keep.push(l);
                continue;
            }
            let header = self.headers[l.col].trim().to_string();
            notes.push(format!(
                "column '{header}' holds {} of {} values that are not a first and a last name (such as '{}') in its first rows, so it was not read as client names; write \"First Last\" or \"Last, First\", or give Client First Name and Client Last Name columns",
                bad.len(),
                values.len(),
                crate::check::rules::short(bad[0])
            ));
            self.roles[l.col] = Role::Unmapped;
            self.unmapped.push(header);
        }
        let (named, unnamed) = linked::named_groups(&keep);
        for l in unnamed {
            self.roles[l.col] = Role::Unmapped;
            self.unmapped.push(self.headers[l.col].trim().to_string());
        }
        self.linked = named;
        notes
    }

    /// The input column feeding a field, if any (`--set` fields have none).
    pub fn column_of(&self, field: &str) -> Option<usize> {
        match self.sources.get(self.entity.slot_index(field)?)? {
            Source::Column { col, .. } => Some(*col),
            _ => None,
        }
    }

    /// The header of input column `col`, trimmed.
    pub fn header(&self, col: usize) -> &str {
        self.headers.get(col).map_or("", |h| h.trim())
    }

    /// The entity this mapping feeds.
    pub fn entity(&self) -> &'static Entity {
        self.entity
    }

    /// The client columns of a case sheet (`Client Email`, `Client 2 Name`), in column order;
    /// empty for any other sheet.
    pub fn linked(&self) -> &[linked::ClientColumn] {
        &self.linked
    }

    /// `FIELD.KEY` for a key of the data field.
    fn data_key_name(&self, key: &str) -> String {
        let data = self.entity.data_field().map(|d| self.entity.fields[d].name);
        format!("{}.{key}", data.unwrap_or_default())
    }

    /// `header → field` lines for `--verbose`, in column order, then `--set` and defaults.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (c, role) in self.roles.iter().enumerate() {
            let h = self.headers[c].trim();
            let what = match role {
                Role::Field(i, _) => self.entity.slot(*i).name.to_string(),
                Role::DataKey(k) | Role::Extra(k) => self.data_key_name(k),
                Role::Ignored | Role::Output => "(ignored)".into(),
                Role::Linked => match self.linked.iter().find(|l| l.col == c) {
                    Some(l) => linked::describe(l),
                    None => "(client)".into(),
                },
                Role::JoinKey => "(the key of the joined clients table)".into(),
                Role::Unmapped => "(not mapped)".into(),
            };
            out.push(format!("'{h}' → {what}"));
        }
        for (i, s) in self.sources.iter().enumerate() {
            let name = self.entity.slot(i).name;
            match s {
                Source::Fixed(v) => out.push(format!("--set {name} = '{}'", v.to_text())),
                Source::Default(v) => out.push(format!("default {name} = '{}'", v.to_text())),
                _ => {}
            }
        }
        out
    }

    /// Turn a raw row into per-field cells. Never fails: value problems are `check`'s job, and
    /// error cells are collected for it.
    pub fn apply<'a>(&'a self, row: &'a RawRow) -> MappedRow<'a> {
        let cells = &row.cells;
        let cell = |c: usize| cells.get(c).unwrap_or(&EMPTY);
        let values = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, src)| match src {
                Source::Absent => None,
                Source::Fixed(v) | Source::Default(v) => Some(Slot {
                    column: None,
                    cell: v,
                }),
                Source::Column { col, default } => {
                    let v = self.translated(i, cell(*col));
                    match default {
                        Some(d) if v.is_blank() => Some(Slot {
                            column: None,
                            cell: d,
                        }),
                        _ => Some(Slot {
                            column: Some(*col),
                            cell: v,
                        }),
                    }
                }
            })
            .collect();
        let mut data = Vec::new();
        for (list, explicit) in [(&self.data_cols, true), (&self.extra_cols, false)] {
            for (key, col) in list {
                let v = cell(*col);
                if !v.is_blank() && cell_error(v).is_none() {
                    data.push(DataItem {
                        key,
                        column: *col,
                        cell: v,
                        explicit,
                    });
                }
            }
        }
        let mut cell_errors = Vec::new();
        for (c, v) in cells.iter().enumerate() {
            if let Some(e) = cell_error(v)
                && self.roles.get(c) != Some(&Role::Ignored)
            {
                let msg = format!(
                    "cell {}{} holds the error {e}",
                    column_letter(c),
                    row.source_row
                );
                cell_errors.push(RowError::new(self.column_name(c), msg).at(Some(c)));
            }
        }
        MappedRow {
            entity: self.entity,
            source_row: row.source_row,
            values,
            data,
            cell_errors,
        }
    }

    /// The name an error in column `c` is filed under: its field, else its header.
    fn column_name(&self, c: usize) -> String {
        match self.roles.get(c) {
            Some(Role::Field(i, _)) => self.entity.slot(*i).name.to_string(),
            Some(Role::DataKey(k)) | Some(Role::Extra(k)) => self.data_key_name(k),
            _ => match self.headers.get(c).map(|h| h.trim()) {
                Some(h) if !h.is_empty() => h.to_string(),
                _ => format!("column {}", column_letter(c)),
            },
        }
    }

    fn translated<'a>(&'a self, i: usize, v: &'a Cell) -> &'a Cell {
        let Some(Some(table)) = self.translate.get(i) else {
            return v;
        };
        let key = match v {
            Cell::Text(s) => s.trim().to_lowercase(),
            Cell::Empty | Cell::Error(_) => return v,
            other => other.to_text().to_lowercase(),
        };
        table.get(&key).unwrap_or(v)
    }
}

fn two_columns(headers: &[String], cols: &[usize], field: &str) -> String {
    let (a, b) = (cols[0], cols[1]);
    let (ha, hb) = (headers[a].trim(), headers[b].trim());
    if ha == hb {
        format!(
            "two columns are named '{ha}' ({} and {}) and both map to {field}; rename or delete one",
            column_letter(a),
            column_letter(b)
        )
    } else {
        format!(
            "columns '{ha}' ({}) and '{hb}' ({}) both map to {field}; keep one, or ignore the other in --mapping with \"{hb}\" = \"\"",
            column_letter(a),
            column_letter(b)
        )
    }
}

/// What a person needs to know about a required field they have no column for: what it is, when
/// its name alone may not say.
fn plain_words(entity: &Entity, field: &str) -> Option<String> {
    match field {
        "external_source" => Some(format!(
            "external_source is the system the {} come from (for example clio), the same for every row",
            entity.name
        )),
        "external_source_id" => Some(format!(
            "external_source_id is each {}'s own id in that system (its number or id there)",
            entity.one
        )),
        _ => None,
    }
}

/// Fields whose one value often suits every row, so `--set` is a sensible way to give them.
fn settable(field: &str) -> bool {
    matches!(field, "external_source" | "status" | "type")
}

/// The one problem line for every required field that has no column, default or `--set`: the
/// fields once, what the less obvious ones are, the closest unmapped header where one is really
/// close, and the ways to give them.
fn missing_required(
    entity: &Entity,
    missing: &[&Field],
    headers: &[String],
    roles: &[Role],
) -> String {
    let names: Vec<&str> = missing.iter().map(|f| f.name).collect();
    let noun = if names.len() == 1 { "field" } else { "fields" };
    let mut out = format!("no column for the required {noun} {}", names.join(", "));
    let hints: Vec<String> = missing
        .iter()
        .filter_map(|f| closest_header(f, headers, roles).map(|h| format!("'{h}' for {}", f.name)))
        .collect();
    match hints.len() {
        0 => {}
        1 => out.push_str(&format!(" (closest header: {})", hints[0])),
        _ => out.push_str(&format!(" (closest headers: {})", hints.join(", "))),
    }
    let words: Vec<String> = names
        .iter()
        .filter_map(|n| plain_words(entity, n))
        .collect();
    if !words.is_empty() {
        out.push_str(&format!(". {}", words.join("; ")));
    }
    let sets: Vec<String> = names
        .iter()
        .filter(|n| settable(n))
        .map(|n| match *n {
            "external_source" => "--set external_source=clio".to_string(),
            n => format!("--set {n}=..."),
        })
        .collect();
    let ways = if sets.is_empty() {
        "add the column, or map an existing column to it in a mapping file (--mapping FILE.toml, [columns] \"Your header\" = \"field\")".to_string()
    } else {
        format!(
            "add the columns, give one value for every row with {}, or use a mapping file (--mapping FILE.toml: [columns] to map a header, [defaults] for a value)",
            sets.join(" ")
        )
    };
    out.push_str(&format!(
        ". To fix: {ways}; `kayse-bulk map FILE` writes a mapping file to start from"
    ));
    out
}

/// The unmapped header most like a field's name or aliases, when it is really alike: at most one
/// edit in three characters of the longer name. A header that is merely the nearest of many
/// unrelated ones (`LastName` for `external_source`) is no hint.
fn closest_header<'h>(f: &Field, headers: &'h [String], roles: &[Role]) -> Option<&'h str> {
    let names: Vec<String> = std::iter::once(f.name)
        .chain(f.aliases.iter().copied())
        .map(normalize_header)
        .collect();
    headers
        .iter()
        .zip(roles)
        .filter(|(h, r)| matches!(r, Role::Unmapped | Role::Extra(_)) && !h.trim().is_empty())
        .filter_map(|(h, _)| {
            let hn = normalize_header(h);
            names
                .iter()
                .filter(|n| alike(&hn, n))
                .map(|n| levenshtein(&hn, n))
                .min()
                .map(|d| (d, h.trim()))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, h)| h)
}

/// Two normalised names are alike when they differ by at most one edit per three characters of
/// the longer one.
fn alike(a: &str, b: &str) -> bool {
    let longer = a.chars().count().max(b.chars().count());
    longer > 0 && 3 * levenshtein(a, b) <= longer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::CASES;

    fn hs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const BASE: &[&str] = &[
        "case_number",
        "external_source",
        "external_source_id",
        "status",
        "type",
    ];

    fn with(extra: &[&str]) -> Vec<String> {
        let mut v = hs(BASE);
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }

    fn build(headers: &[String], opts: &MapOptions) -> Mapping {
        match Mapping::build(&CASES, headers, opts) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    fn err(headers: &[String], opts: &MapOptions) -> String {
        match Mapping::build(&CASES, headers, opts) {
            Ok(m) => panic!("expected an error, got {:?}", m.describe()),
            Err(e) => e.to_string(),
        }
    }

    fn file(toml: &str) -> MapOptions {
        MapOptions {
            file: MappingFile::parse(toml).unwrap(),
            ..Default::default()
        }
    }

    fn row(cells: Vec<Cell>) -> RawRow {
        RawRow {
            source_row: 7,
            cells,
        }
    }

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn header_forms_match() {
        let cases: &[(&str, &str)] = &[
            ("name", "name"),
            ("Name", "name"),
            ("CASE_NUMBER", "case_number"),
            ("Case Number", "case_number"),
            ("case-number", "case_number"),
            ("case.number", "case_number"),
            ("Case #", "case_number"),
            ("Case No", "case_number"),
            ("Case No.", "case_number"),
            ("Matter Number", "case_number"),
            ("Case Name", "name"),
            ("Caption", "name"),
            ("Case Status", "status"),
            ("Case Type", "type"),
            ("Court", "court_name"),
            ("Opened", "created_date"),
            ("Date Opened", "created_date"),
            ("Hearing Date", "court_date"),
            ("Next Court Date", "court_date"),
            ("Closed", "end_date"),
            ("Date Closed", "end_date"),
            ("OBO", "is_obo"),
            ("Client IDs", "client_ids"),
            ("Source", "external_source"),
            ("Source ID", "external_source_id"),
            ("External ID", "external_source_id"),
            ("Kayse ID", "id"),
            ("kayse_id", "id"),
            ("id", "id"),
            ("ID", "id"),
        ];
        for (h, want) in cases {
            let norm = normalize_header(h);
            assert_eq!(
                auto_field(&CASES, h, &norm).map(|i| CASES.slot(i).name),
                Some(*want),
                "{h}"
            );
        }
        for h in ["Attorney", "Client Name", "", "#"] {
            assert_eq!(auto_field(&CASES, h, &normalize_header(h)), None, "{h}");
        }
    }

    #[test]
    fn maps_columns_and_lists_unmapped() {
        let h = hs(&[
            "Matter Number",
            "Source",
            "Source ID",
            "Case Status",
            "Practice Area",
            "Attorney",
            "",
        ]);
        let m = build(&h, &MapOptions::default());
        assert_eq!(m.unmapped, ["Attorney", "column G (no header)"]);
        assert_eq!(m.column_of("case_number"), Some(0));
        assert_eq!(m.column_of("type"), Some(4));
        assert_eq!(m.column_of("name"), None);
        let r = row(vec![
            t("A-1"),
            t("clio"),
            t("9"),
            t("Open"),
            t("PI"),
            t("x"),
            t(""),
        ]);
        let mr = m.apply(&r);
        assert_eq!(mr.source_row, 7);
        assert_eq!(
            mr.get("case_number"),
            Some(Slot {
                column: Some(0),
                cell: &t("A-1")
            })
        );
        assert_eq!(mr.get("name"), None);
        assert!(mr.data.is_empty() && mr.cell_errors.is_empty());
    }

    #[test]
    fn results_and_export_columns_are_ignored() {
        // A results file: the tool's columns first, then the input echoed.
        let mut h = hs(&["source_row", "kayse_result", "kayse_id", "kayse_errors"]);
        h.extend(with(&["origin", "sms_opted_out", "update_origin"]));
        let m = build(&h, &MapOptions::default());
        assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
        assert_eq!(m.column_of("id"), None);
        assert_eq!(m.column_of("case_number"), Some(4));
        // A results file of an input that had its own kayse_id column: that one is the id.
        let mut h2 = hs(&[
            "source_row",
            "kayse_result",
            "kayse_id",
            "kayse_errors",
            "kayse_id",
        ]);
        h2.extend(hs(BASE));
        let m2 = build(&h2, &MapOptions::default());
        assert_eq!(m2.column_of("id"), Some(4));
        // Not a results file: kayse_id is the id.
        let m3 = build(&with(&["kayse_id"]), &MapOptions::default());
        assert_eq!(m3.column_of("id"), Some(5));
        // An export: id first, response-only columns last.
        let mut h4 = hs(&["id"]);
        h4.extend(with(&["call_opted_out", "email_opted_out"]));
        let m4 = build(&h4, &MapOptions::default());
        assert_eq!(m4.column_of("id"), Some(0));
        assert!(m4.unmapped.is_empty());
    }

    #[test]
    fn mapping_file_sections() {
        let opts = file(
            r#"
            [columns]
            "Matter Number" = "case_number"
            "Matter Status" = "status"
            "Ref" = "external_source_data.referral"
            "Scratch" = ""
            "Not There" = "name"
            [defaults]
            external_source = "clio"
            external_source_id = "none"
            type = "civil"
            is_obo = false
            [values.status]
            "Open" = "active"
            "CLOSED" = "closed"
            "#,
        );
        assert_eq!(opts.file.defaults["is_obo"], "false");
        let h = hs(&[
            "Matter Number",
            "Case Number",
            "matter status",
            "Ref",
            "Scratch",
            "Type",
        ]);
        let m = build(&h, &opts);
        // The explicit entry wins; the automatic match is left unmapped.
        assert_eq!(m.column_of("case_number"), Some(0));
        assert_eq!(m.unmapped, ["Case Number"]);
        assert_eq!(m.column_of("status"), Some(2), "normalised [columns] key");
        assert_eq!(m.notes.len(), 1);
        assert!(m.notes[0].contains("'Not There'"));
        let r = row(vec![
            t("M-1"),
            t("x"),
            t("  open "),
            t("web"),
            Cell::Error("#REF!".into()),
            t(""),
        ]);
        let mr = m.apply(&r);
        assert_eq!(mr.get("status").map(|s| s.cell), Some(&t("active")));
        assert_eq!(
            mr.get("external_source"),
            Some(Slot {
                column: None,
                cell: &t("clio")
            })
        );
        // Empty cell: the default, with no column to mark.
        assert_eq!(
            mr.get("type"),
            Some(Slot {
                column: None,
                cell: &t("civil")
            })
        );
        assert_eq!(mr.data.len(), 1);
        assert_eq!((mr.data[0].key, mr.data[0].explicit), ("referral", true));
        assert!(
            mr.cell_errors.is_empty(),
            "the ignored column's error cell does not count"
        );
        // Untranslated values pass through.
        let r2 = row(vec![
            t("M-2"),
            t(""),
            t("Pending"),
            t(""),
            t(""),
            t("family"),
        ]);
        let mr2 = m.apply(&r2);
        assert_eq!(mr2.get("status").map(|s| s.cell), Some(&t("Pending")));
        assert_eq!(mr2.get("type").map(|s| s.column), Some(Some(5)));
    }

    #[test]
    fn set_overrides_columns() {
        let opts = MapOptions {
            set: vec![("external_source".into(), "clio".into())],
            ..Default::default()
        };
        let h = with(&["Source"]);
        let m = build(&h, &opts);
        let r = row(vec![
            t("1"),
            t("mycase"),
            t("2"),
            t("a"),
            t("b"),
            t("other"),
        ]);
        assert_eq!(
            m.apply(&r).get("external_source"),
            Some(Slot {
                column: None,
                cell: &t("clio")
            })
        );
        let no_column = build(
            &hs(&["case_number", "external_source_id", "status", "type"]),
            &opts,
        );
        assert_eq!(no_column.column_of("external_source"), None);
    }

    #[test]
    fn data_columns_and_extra_columns() {
        let h = with(&[
            "external_source_data.Referral",
            "Source Data.Office",
            "external_source_data",
            "Attorney",
            "Notes 2",
        ]);
        let opts = MapOptions {
            extra_columns: ExtraColumns::Data,
            ..Default::default()
        };
        let m = build(&h, &opts);
        assert!(m.unmapped.is_empty());
        assert_eq!(m.column_of("external_source_data"), Some(7));
        let mut cells: Vec<Cell> = BASE.iter().map(|_| t("v")).collect();
        cells.extend([t(" web "), t(""), t("{\"a\":1}"), t("Jo"), Cell::Int(3)]);
        let r = row(cells);
        let mr = m.apply(&r);
        let keys: Vec<_> = mr
            .data
            .iter()
            .map(|d| (d.key, d.column, d.explicit))
            .collect();
        assert_eq!(
            keys,
            [
                ("Referral", 5, true),
                ("Attorney", 8, false),
                ("Notes 2", 9, false)
            ]
        );
        // Without data mode they are unmapped.
        let warn = build(&h, &MapOptions::default());
        assert_eq!(warn.unmapped, ["Attorney", "Notes 2"]);
    }

    #[test]
    fn error_cells_name_the_cell() {
        let h = with(&["court_date", "Attorney"]);
        let m = build(&h, &MapOptions::default());
        let mut cells: Vec<Cell> = BASE.iter().map(|_| t("v")).collect();
        cells.extend([Cell::Error("#N/A".into()), t(" #DIV/0! ")]);
        let r = row(cells);
        let errs: Vec<String> = m
            .apply(&r)
            .cell_errors
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            errs,
            [
                "court_date: cell F7 holds the error #N/A",
                "Attorney: cell G7 holds the error #DIV/0!"
            ]
        );
        assert_eq!(m.apply(&r).cell_errors[0].column, Some(5));
        for (c, want) in [
            (0, "A"),
            (25, "Z"),
            (26, "AA"),
            (27, "AB"),
            (701, "ZZ"),
            (702, "AAA"),
        ] {
            assert_eq!(column_letter(c), want);
        }
        for (text, want) in [
            ("#n/a", Some("#n/a")),
            (" #N/A ", Some("#N/A")),
            ("\u{a0}#REF!", Some("#REF!")),
            ("#GETTING_DATA", Some("#GETTING_DATA")),
            ("#1 client", None),
            ("N/A", None),
            ("a#N/A", None),
            ("7#N/A", None),
            ("", None),
        ] {
            assert_eq!(cell_error(&t(text)), want, "{text:?}");
        }
    }

    #[test]
    fn mapping_errors() {
        let d = MapOptions::default();
        let cases: Vec<(Vec<String>, MapOptions, &str)> = vec![
            (
                hs(&[
                    "case_number",
                    "external_source",
                    "External Ref",
                    "status",
                    "type",
                ]),
                d.clone(),
                "no column for the required field external_source_id (closest header: 'External Ref' for external_source_id). external_source_id is each case's own id in that system (its number or id there). To fix: add the column, or map an existing column to it in a mapping file (--mapping FILE.toml, [columns] \"Your header\" = \"field\"); `kayse-bulk map FILE` writes a mapping file to start from",
            ),
            (
                hs(&[
                    "case_number",
                    "external_source",
                    "external_source_id",
                    "type",
                ]),
                d.clone(),
                "no column for the required field status. To fix: add the columns, give one value for every row with --set status=..., or use a mapping file (--mapping FILE.toml: [columns] to map a header, [defaults] for a value); `kayse-bulk map FILE` writes a mapping file to start from",
            ),
            (
                with(&["Case #"]),
                d.clone(),
                "columns 'case_number' (A) and 'Case #' (F) both map to case_number; keep one, or ignore the other in --mapping with \"Case #\" = \"\"",
            ),
            (
                with(&["status"]),
                d.clone(),
                "two columns are named 'status' (D and F) and both map to status; rename or delete one",
            ),
            (
                with(&["X"]),
                file("[columns]\nX = \"statsu\""),
                "mapping file [columns] 'X': unknown field 'statsu' (did you mean 'status'?)",
            ),
            (
                with(&["Case #"]),
                file("[columns]\n\"Case #\" = \"casenumber\""),
                "mapping file [columns] 'Case #': unknown field 'casenumber' (did you mean 'case_number'?)",
            ),
            (
                with(&[]),
                file("[defaults]\ncourt = \"x\""),
                "mapping file [defaults]: unknown field 'court' (did you mean 'court_name'?)",
            ),
            (
                with(&[]),
                file("[values.stauts]\na = \"b\""),
                "mapping file [values.stauts]: unknown field 'stauts' (did you mean 'status'?)",
            ),
            (
                with(&[]),
                file("[defaults]\nid = 5"),
                "mapping file [defaults] cannot give an id: every row would update the same case",
            ),
            (
                with(&[]),
                MapOptions {
                    set: vec![("id".into(), "5".into())],
                    ..Default::default()
                },
                "--set id=... would point every row at the same case; put ids in a column",
            ),
            (
                with(&[]),
                MapOptions {
                    set: vec![("status".into(), " ".into())],
                    ..Default::default()
                },
                "--set status= gives the required field status an empty value",
            ),
            (
                with(&["external_source_data.a", "Source Data.a"]),
                d.clone(),
                "columns 'external_source_data.a' (F) and 'Source Data.a' (G) both go to external_source_data.a; rename or ignore one",
            ),
            (
                with(&["X"]),
                file("[columns]\nX = \"external_source_data.\""),
                "mapping file [columns] 'X': 'external_source_data.' has no key after the dot",
            ),
        ];
        for (h, opts, want) in cases {
            assert_eq!(err(&h, &opts), want);
        }
        // Several problems come back together on one line, and the missing fields once.
        let many = err(&hs(&["case_number", "X", "X"]), &d);
        assert_eq!(many.matches("no column for").count(), 1, "{many}");
        assert!(
            many.starts_with("no column for the required fields external_source, external_source_id, status, type. external_source is the system the cases come from (for example clio), the same for every row; external_source_id is each case's own id in that system"),
            "{many}"
        );
        assert!(
            many.contains("--set external_source=clio --set status=... --set type=..."),
            "{many}"
        );
        assert!(!many.contains('\n'));
    }

    #[test]
    fn closest_headers_only_above_a_real_likeness() {
        // (header, field, offered?)
        let cases: &[(&str, &str, bool)] = &[
            ("Stauts", "status", true),
            ("Case Stat", "status", true),
            ("Typ", "type", true),
            ("External Ref", "external_source_id", true),
            ("Source Ref", "external_source_id", true),
            ("Extrnal Source", "external_source", true),
            ("Case Numbr", "case_number", true),
            ("LastName", "external_source", false),
            ("FirstName", "external_source_id", false),
            ("Key", "type", false),
            ("DeathPenaltyStatus", "status", false),
            ("Name", "type", false),
            ("Date", "type", false),
            ("Lead Source", "external_source", false),
            ("Matter Type", "type", false),
            ("ext source", "external_source", true),
            (
                "Smith & Alvarez Injury Law — Open Matters (exported 3/1/2024)",
                "external_source",
                false,
            ),
        ];
        for (header, field, offered) in cases {
            let f = CASES.slot(CASES.slot_index(field).unwrap());
            let headers = hs(&[header]);
            let got = closest_header(f, &headers, &[Role::Unmapped]);
            assert_eq!(got.is_some(), *offered, "{header} for {field}: {got:?}");
        }
        // The issue's headers: no hint at all for the source fields.
        let h = hs(&[
            "LastName",
            "FirstName",
            "Key",
            "DeathPenaltyStatus",
            "CaseNo",
        ]);
        let e = err(&h, &MapOptions::default());
        assert!(!e.contains("closest"), "{e}");
        assert_eq!(
            e.matches("external_source_id").count(),
            2,
            "named once, explained once: {e}"
        );
    }

    #[test]
    fn the_header_matcher_knows_fields_aliases_mapping_columns_and_tool_columns() {
        let opts = file("[columns]\n\"Matter Ref\" = \"case_number\"\n\"Scratch\" = \"\"");
        let m = header_matcher(&CASES, &opts);
        let cases: &[(&str, bool)] = &[
            ("case_number", true),
            ("Case Number", true),
            ("Case #", true),
            ("matter ref", true),
            ("Scratch", true),
            ("external_source_data.referral", true),
            ("kayse_result", true),
            ("origin", true),
            ("Smith & Alvarez Injury Law — Open Matters", false),
            ("Attorney", false),
            ("", false),
            ("#", false),
        ];
        for (h, want) in cases {
            assert_eq!(m.score([*h]) == 1, *want, "{h}");
        }
        assert_eq!(
            header_matcher(&CASES, &MapOptions::default()).score(["Matter Ref"]),
            0
        );
    }

    #[test]
    fn short_rows_numbers_and_describe() {
        let opts = file("[values.status]\n1 = \"active\"\n[defaults]\nname = \"Untitled\"");
        let m = build(&with(&["name"]), &opts);
        // A short row: missing cells read as empty, so the default fills name.
        let r = row(vec![t("A"), t("s"), t("1"), Cell::Int(1)]);
        let mr = m.apply(&r);
        assert_eq!(
            mr.get("status").map(|s| s.cell),
            Some(&t("active")),
            "Int cells translate"
        );
        assert_eq!(
            mr.get("type"),
            Some(Slot {
                column: Some(4),
                cell: &Cell::Empty
            })
        );
        assert_eq!(
            mr.get("name"),
            Some(Slot {
                column: None,
                cell: &t("Untitled")
            })
        );
        // A filled cell is not replaced by the default.
        let r2 = row(vec![t("A"), t("s"), t("1"), t("x"), t("y"), t("Real")]);
        assert_eq!(m.apply(&r2).get("name").map(|s| s.cell), Some(&t("Real")));
        let d = m.describe();
        assert_eq!(d[0], "'case_number' → case_number");
        assert_eq!(d.last().map(String::as_str), Some("'name' → name"));
        let set = MapOptions {
            set: vec![("type".into(), "civil".into())],
            ..Default::default()
        };
        let m2 = build(
            &hs(&[
                "case_number",
                "external_source",
                "external_source_id",
                "status",
                "x",
            ]),
            &set,
        );
        assert_eq!(
            m2.describe(),
            [
                "'case_number' → case_number",
                "'external_source' → external_source",
                "'external_source_id' → external_source_id",
                "'status' → status",
                "'x' → (not mapped)",
                "--set type = 'civil'",
            ]
        );
    }

    #[test]
    fn mapping_file_load_errors_are_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.toml");
        std::fs::write(&p, "[columns]\n\"A\" = \"name\"\n\"B\" = \n").unwrap();
        let e = MappingFile::load(&p).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("mapping file {} line 3: ", p.display())),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        std::fs::write(&p, "[colums]\n").unwrap();
        let e = MappingFile::load(&p).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("colums"), "{e}");
        std::fs::write(&p, "[defaults]\nstatus = [1]\n").unwrap();
        let e = MappingFile::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("a string, number or true/false"),
            "{e}"
        );
        let e = MappingFile::load(&dir.path().join("none.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cannot read mapping file"), "{e}");
    }

    #[test]
    fn sample_mapping_file_loads_and_maps_a_clio_export() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/mapping.toml");
        let f = MappingFile::load(&path).unwrap();
        assert!(f.allowed.status.is_some());
        let h = hs(&[
            "Matter Number",
            "Matter ID",
            "Matter Description",
            "Matter Status",
            "Practice Area",
            "Open Date",
            "Close Date",
            "Responsible Attorney",
        ]);
        let m = build(
            &h,
            &MapOptions {
                file: f,
                ..Default::default()
            },
        );
        assert!(m.unmapped.is_empty(), "{:?}", m.unmapped);
    }

    #[test]
    fn another_entity_maps_by_its_own_table() {
        use crate::entity::tests::PEOPLE;
        let ok = |h: &[&str], opts: &MapOptions| {
            Mapping::build(&PEOPLE, &hs(h), opts).unwrap_or_else(|e| panic!("{e}"))
        };
        let base = [
            "Given Name",
            "SURNAME",
            "external_source",
            "External Source Id",
        ];
        let m = ok(
            &[
                &base[..],
                &["DOB", "Kayse ID", "origin", "case_number", "Notes.x"],
            ]
            .concat(),
            &MapOptions::default(),
        );
        let fields: Vec<String> = m.describe();
        assert_eq!(
            fields,
            [
                "'Given Name' → first_name",
                "'SURNAME' → last_name",
                "'external_source' → external_source",
                "'External Source Id' → external_source_id",
                "'DOB' → date_of_birth",
                "'Kayse ID' → (not mapped)", // that alias is the case table's
                "'origin' → (ignored)",
                "'case_number' → (not mapped)",
                "'Notes.x' → (not mapped)",
            ]
        );
        let table: &[(&[&str], MapOptions, &str)] = &[
            (
                &["Given Name", "SURNAME", "external_source"],
                MapOptions::default(),
                "no column for the required field external_source_id. external_source_id is each person's own id in that system (its number or id there). To fix: add the column, or map an existing column to it in a mapping file (--mapping FILE.toml, [columns] \"Your header\" = \"field\"); `kayse-bulk map FILE` writes a mapping file to start from",
            ),
            (
                &base,
                MapOptions {
                    extra_columns: ExtraColumns::Data,
                    ..Default::default()
                },
                "--extra-columns data: a person has no field for free data; use --extra-columns warn",
            ),
            (
                &base,
                MapOptions {
                    set: vec![("id".into(), "5".into())],
                    ..Default::default()
                },
                "--set id=... would point every row at the same person; put ids in a column",
            ),
            (
                &base,
                file("[columns]\n\"Given Name\" = \"external_source_data.x\""),
                "mapping file [columns] 'Given Name': unknown field 'external_source_data.x' (did you mean 'external_source'?); no column for the required field first_name. To fix: add the column, or map an existing column to it in a mapping file (--mapping FILE.toml, [columns] \"Your header\" = \"field\"); `kayse-bulk map FILE` writes a mapping file to start from",
            ),
        ];
        for (h, opts, want) in table {
            match Mapping::build(&PEOPLE, &hs(h), opts) {
                Ok(m) => panic!("{h:?}: expected an error, got {:?}", m.describe()),
                Err(e) => assert_eq!(e.to_string(), *want, "{h:?}"),
            }
        }
    }

    #[test]
    fn an_alias_never_maps_a_column_of_non_ids_onto_an_id_field() {
        let t = |v: &str| Cell::Text(v.into());
        // (header, mapping file, the column's values, still mapped?)
        let cases: &[(&str, &str, &[Cell], bool)] = &[
            (
                "Clients",
                "",
                &[t("Maria"), t("John Smith"), Cell::Empty],
                false,
            ),
            ("Clients", "", &[t("101;102"), t("Maria"), t("103")], true), // a typo among ids
            ("Clients", "", &[t("Maria"), t("Ann"), t("101")], false),
            ("Clients", "", &[Cell::Int(5), Cell::Int(6)], true),
            ("Clients", "", &[Cell::Empty, Cell::Empty], true), // nothing to judge by
            ("Clients", "", &[t("n/a"), t("none")], false),
            ("Client IDs", "", &[t("Maria")], true), // the field's name, spaced: the user said so
            ("client_ids", "", &[t("Maria")], true), // the field's own name: the user said so
            (
                "Clients",
                "[columns]\n\"Clients\" = \"client_ids\"\n",
                &[t("Maria")],
                true,
            ),
            ("Kayse ID", "", &[t("abc"), t("def")], false),
            ("Kayse ID", "", &[t("1261"), t("1262")], true),
        ];
        for (header, toml, values, kept) in cases {
            let opts = if toml.is_empty() {
                MapOptions::default()
            } else {
                file(toml)
            };
            let headers = with(&[header]);
            let mut m = build(&headers, &opts);
            let rows: Vec<RawRow> = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let mut cells = vec![t("x"); BASE.len()];
                    cells.push(v.clone());
                    RawRow {
                        source_row: i + 2,
                        cells,
                    }
                })
                .collect();
            let sample: Vec<&RawRow> = rows.iter().collect();
            let notes = m.unmap_non_id_columns(&sample);
            let field = CASES
                .slot(match *header {
                    "Kayse ID" => CASES.id_slot(),
                    _ => CASES.field_index("client_ids").unwrap(),
                })
                .name;
            assert_eq!(m.column_of(field).is_some(), *kept, "{header} {values:?}");
            assert_eq!(notes.is_empty(), *kept, "{header}: {notes:?}");
            assert_eq!(m.unmapped.iter().any(|u| u == header), !kept, "{header}");
            if !kept {
                assert!(
                    notes[0].contains(&format!("so it was not taken as {field}")),
                    "{notes:?}"
                );
            }
        }
    }
}
