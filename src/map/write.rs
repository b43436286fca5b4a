//! The mapping file `kayse-bulk map` writes: every header with its field and how it matched, a
//! `[defaults]` stub for each required field no column holds, the distinct status and type
//! values to translate, the date order the values prove (or the question), and the clients'
//! columns. Pure: it is given the headers and the rows' cells and returns text; reading the sheet
//! and writing the file are the command's. It decides nothing at run time: `Mapping::build`
//! reads what it writes.

use std::collections::HashMap;

use super::presets::{Detected, Export};
use super::{
    How, MappingFile, Role, alike, auto_field, column_roles, one_column_per_field, preset_of,
};
use crate::cell::Cell;
use crate::check::dates::{Clues, Decision, order_flag, order_words};
use crate::check::rules::{DateOrder, levenshtein, normalize_header, parse_id, parse_id_list};
use crate::entity::{CASES, CLIENTS, Entity, Kind};
use crate::read::RawRow;

/// The least likeness for a header to be written as a field's suggestion: it is written
/// active, so it must be closer than the error message's hint (`LastName` is not `Case Name`).
pub const SUGGEST_AT: f64 = 0.8;

/// How many distinct values of a field are listed for translation; the rest are counted.
pub const MAX_VALUES: usize = 100;

/// How one header was matched, as the file says it.
#[derive(Debug, Clone, PartialEq)]
enum Match {
    Exact(usize),
    Alias(usize),
    Preset(usize),
    /// Like a field's name or alias, by this similarity (0–1).
    Suggested(usize, f64),
    /// `external_source_data.KEY`.
    DataKey(String),
    /// Never sent, and why.
    Ignored(String),
    /// Written by kayse-bulk, or an answer-only field.
    Output,
    /// Matched an id field by name but holds no ids.
    NotIds(usize),
    Unmapped,
}

/// What the rows showed: each column's value counts (for status and type) and date clues.
#[derive(Debug)]
pub struct Survey {
    pub entity: &'static Entity,
    pub headers: Vec<String>,
    pub preset: Option<Detected>,
    matches: Vec<Match>,
    /// Per column: value → (count, first spelling), for the columns feeding status and type.
    values: HashMap<usize, Vec<(String, u64)>>,
    dates: HashMap<usize, Clues>,
    /// Up to `super::ID_SAMPLE` values of id-field columns, to tell ids from names.
    id_samples: HashMap<usize, Vec<Cell>>,
    pub rows: u64,
}

/// The entity a sheet's rows are: clients for a preset's contacts export, cases otherwise.
pub fn entity_of(headers: &[String], preset: Option<&str>) -> &'static Entity {
    let file = MappingFile {
        preset: preset.map(str::to_string),
        ..Default::default()
    };
    match preset_of(&CLIENTS, headers, &file, &mut Vec::new()) {
        Some(d) if d.export == Export::Contacts => &CLIENTS,
        _ => &CASES,
    }
}

impl Survey {
    /// Match the headers (with `preset`, by name, else detected) before any row is read.
    pub fn new(
        entity: &'static Entity,
        headers: &[String],
        preset: Option<&str>,
    ) -> Result<Survey, String> {
        let file = MappingFile {
            preset: preset.map(str::to_string),
            ..Default::default()
        };
        let mut problems = Vec::new();
        let detected = preset_of(entity, headers, &file, &mut problems);
        if let Some(p) = problems.into_iter().next() {
            return Err(p.trim_start_matches("mapping file: ").to_string());
        }
        let mut roles = column_roles(entity, headers, &file, detected, &mut Vec::new()).0;
        let none = vec![None; entity.slot_count()];
        one_column_per_field(entity, headers, &mut roles, &none, &mut Vec::new());
        let matches = roles
            .iter()
            .zip(headers)
            .map(|(role, h)| match role {
                Role::Field(i, How::Preset) => Match::Preset(*i),
                Role::Field(i, _) => {
                    if normalize_header(h) == normalize_header(entity.slot(*i).name) {
                        Match::Exact(*i)
                    } else {
                        Match::Alias(*i)
                    }
                }
                Role::DataKey(k) | Role::Extra(k) => Match::DataKey(k.clone()),
                Role::Ignored => Match::Ignored(ignored_why(detected, headers, h)),
                Role::Output => Match::Output,
                Role::Unmapped | Role::Linked | Role::JoinKey => Match::Unmapped,
            })
            .collect();
        let mut s = Survey {
            entity,
            headers: headers.to_vec(),
            preset: detected,
            matches,
            values: HashMap::new(),
            dates: HashMap::new(),
            id_samples: HashMap::new(),
            rows: 0,
        };
        s.suggest();
        for c in 0..headers.len() {
            if let Some(i) = s.field_of(c) {
                let f = entity.slot(i);
                if matches!(f.name, "status" | "type") {
                    s.values.insert(c, Vec::new());
                }
                if f.kind == Kind::Date {
                    s.dates.insert(c, Clues::default());
                }
                if i == entity.id_slot() || f.kind == Kind::IdList {
                    s.id_samples.insert(c, Vec::new());
                }
            }
        }
        Ok(s)
    }

    /// The field a column feeds, however it matched.
    fn field_of(&self, c: usize) -> Option<usize> {
        match self.matches[c] {
            Match::Exact(i) | Match::Alias(i) | Match::Preset(i) | Match::Suggested(i, _) => {
                Some(i)
            }
            _ => None,
        }
    }

    /// For each field no column feeds, the unmapped header most like it, when really alike.
    fn suggest(&mut self) {
        let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
        for i in 0..self.entity.slot_count() {
            if (0..self.headers.len()).any(|c| self.field_of(c) == Some(i)) {
                continue;
            }
            let f = self.entity.slot(i);
            let names: Vec<String> = std::iter::once(f.name)
                .chain(f.aliases.iter().copied())
                .map(normalize_header)
                .collect();
            for (c, h) in self.headers.iter().enumerate() {
                let hn = normalize_header(h);
                if self.matches[c] != Match::Unmapped || hn.is_empty() {
                    continue;
                }
                let best = names
                    .iter()
                    .filter(|n| alike(&hn, n))
                    .map(|n| similarity(&hn, n))
                    .fold(0.0, f64::max);
                if best >= SUGGEST_AT {
                    pairs.push((best, i, c));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (sim, i, c) in pairs {
            let taken = (0..self.headers.len()).any(|k| self.field_of(k) == Some(i));
            if !taken && self.matches[c] == Match::Unmapped {
                self.matches[c] = Match::Suggested(i, sim);
            }
        }
    }

    /// Take one row's cells into the counts and clues.
    pub fn add(&mut self, row: &RawRow) {
        if row.is_blank() {
            return;
        }
        self.rows += 1;
        for (c, list) in self.values.iter_mut() {
            let Some(cell) = row.cells.get(*c) else {
                continue;
            };
            let v = cell.to_text().trim().to_string();
            if v.is_empty() {
                continue;
            }
            match list.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(&v)) {
                Some((_, n)) => *n += 1,
                None => list.push((v, 1)),
            }
        }
        for (c, clues) in self.dates.iter_mut() {
            if let Some(cell) = row.cells.get(*c) {
                clues.add(row.source_row, cell);
            }
        }
        for (c, sample) in self.id_samples.iter_mut() {
            if let Some(cell) = row.cells.get(*c)
                && !cell.is_blank()
                && sample.len() < super::ID_SAMPLE
            {
                sample.push(cell.clone());
            }
        }
    }

    /// Unmatch the id-field columns matched by an alias or a likeness whose values are mostly
    /// not ids (a `Client` column of names is no `client_ids`).
    fn settle_ids(&mut self) {
        let id_slot = self.entity.id_slot();
        for (c, sample) in &self.id_samples {
            let i = match self.matches[*c] {
                Match::Alias(i) | Match::Suggested(i, _) => i,
                _ => continue,
            };
            let bad = sample
                .iter()
                .filter(|v| {
                    if i == id_slot {
                        parse_id(v).is_err()
                    } else {
                        parse_id_list(v).is_err()
                    }
                })
                .count();
            if !sample.is_empty() && bad * 2 > sample.len() {
                self.matches[*c] = Match::NotIds(i);
            }
        }
    }

    /// The mapping file's text. `input` names the sheet in the usage line.
    pub fn render(mut self, input: &str, out: &str) -> String {
        self.settle_ids();
        let mut w = String::new();
        let e = self.entity;
        w.push_str(&format!(
            "# Mapping file for {input}, written by `kayse-bulk map` from its {} rows.\n",
            self.rows
        ));
        if e.name == "clients" {
            w.push_str("# Its rows are clients: these are client fields. Give it beside its cases export to link\n# each case to its clients: kayse-bulk import CASES --clients THIS_FILE\n");
        } else {
            w.push_str(&format!(
                "# Check it, fill in what is asked, then:\n#   kayse-bulk validate {input} --mapping {out}\n"
            ));
        }
        match self.preset {
            Some(d) => {
                w.push_str(&format!(
                    "#\n# This sheet {}. The preset gives external_source = \"{}\" and reads\n# undecided dates {}.\n",
                    d.line(),
                    d.preset.external_source,
                    order_words(d.preset.date_order)
                ));
                w.push_str(&format!("preset = \"{}\"\n", d.preset.name));
            }
            None => {
                let names: Vec<&str> = super::presets::PRESETS.iter().map(|p| p.name).collect();
                w.push_str(&format!(
                    "#\n# No preset recognised (presets: {}); preset = \"NAME\" applies one.\n",
                    names.join(", ")
                ));
            }
        }
        self.render_date_order(&mut w);
        self.render_columns(&mut w);
        self.render_defaults(&mut w);
        self.render_values(&mut w);
        if e.name == "cases" {
            self.render_client_columns(&mut w);
        }
        w
    }

    fn render_date_order(&self, w: &mut String) {
        let fallback = self
            .preset
            .map_or(DateOrder::default(), |d| d.preset.date_order);
        let mut proved: Vec<(DateOrder, String)> = Vec::new();
        let mut open: Vec<String> = Vec::new();
        let mut cols: Vec<&usize> = self.dates.keys().collect();
        cols.sort();
        for c in cols {
            let h = self.headers[*c].trim();
            match self.dates[c].decide(fallback) {
                Decision::Proved(o, seen) => proved.push((
                    o,
                    format!(
                        "'{h}': '{}' on row {} can only be read {}",
                        seen.text,
                        seen.row,
                        order_words(o)
                    ),
                )),
                Decision::Mixed {
                    day_first,
                    month_first,
                    ..
                } => open.push(format!(
                    "'{h}' mixes day-first ('{}' on row {}) and month-first ('{}' on row {}) dates",
                    day_first.text, day_first.row, month_first.text, month_first.row
                )),
                Decision::Unproved {
                    ambiguous, example, ..
                } => open.push(format!(
                    "'{h}': {ambiguous} dates, such as '{}' on row {}, read differently day-first and month-first",
                    example.text, example.row
                )),
                Decision::Clear(_) => {}
            }
        }
        w.push_str("#\n# Dates: ");
        let orders: Vec<DateOrder> = proved.iter().map(|p| p.0).collect();
        let one = orders.first().filter(|o| orders.iter().all(|x| x == *o));
        match (one, open.is_empty()) {
            (Some(o), true) => {
                w.push_str(&format!("the values prove them {}:\n", order_words(*o)));
                for (_, why) in &proved {
                    w.push_str(&format!("#   {why}\n"));
                }
                w.push_str(&format!("date_order = \"{}\"\n", order_flag(*o)));
            }
            (None, true) if proved.is_empty() => {
                w.push_str("no numeric dates to decide (ISO dates, date cells or none).\n");
            }
            _ => {
                w.push_str("which order? The values do not settle it:\n");
                for (_, why) in &proved {
                    w.push_str(&format!("#   {why}\n"));
                }
                for why in &open {
                    w.push_str(&format!("#   {why}\n"));
                }
                w.push_str(&format!(
                    "# Without an answer they are read {}. Are they month-first (MM/DD/YYYY, as in\n# the US) or day-first (DD/MM/YYYY)? Remove the # before one:\n# date_order = \"mdy\"\n# date_order = \"dmy\"\n",
                    order_words(fallback)
                ));
            }
        }
    }

    fn render_columns(&self, w: &mut String) {
        let e = self.entity;
        w.push_str("\n# [columns]: spreadsheet header = field, and how it was matched. \"\" ignores a column;\n# \"external_source_data.KEY\" keeps it in the case's free data. Lines starting with # change nothing.\n[columns]\n");
        for (c, h) in self.headers.iter().enumerate() {
            let key = quote(h.trim());
            let name = |i: usize| e.slot(i).name;
            let line = match &self.matches[c] {
                _ if h.trim().is_empty() => format!(
                    "# column {} has no header: it is not read",
                    super::column_letter(c)
                ),
                _ if self.client_part(c).is_some() => {
                    format!("# {key}: names a client of the case (see Clients below)")
                }
                Match::Exact(i) => format!("{key} = \"{}\"  # exact", name(*i)),
                Match::Alias(i) => format!("{key} = \"{}\"  # alias of {}", name(*i), name(*i)),
                Match::Preset(i) => format!(
                    "{key} = \"{}\"  # preset {}",
                    name(*i),
                    self.preset.map_or("", |d| d.preset.name)
                ),
                Match::Suggested(i, sim) => format!(
                    "{key} = \"{}\"  # suggestion: similarity {sim:.2} to {}; check it",
                    name(*i),
                    name(*i)
                ),
                Match::DataKey(k) => format!("{key} = \"external_source_data.{k}\"  # free data"),
                Match::Ignored(why) => format!("{key} = \"\"  # {why}"),
                Match::Output => format!("# {key}: written by kayse-bulk, ignored"),
                Match::NotIds(i) => format!(
                    "# {key} = \"{}\"  # not mapped: its values are not Kayse ids",
                    name(*i)
                ),
                Match::Unmapped => format!(
                    "# {key} = \"\"  # not mapped: name a field, external_source_data.KEY, or \"\" to ignore it"
                ),
            };
            w.push_str(&line);
            w.push('\n');
        }
    }

    fn render_defaults(&self, w: &mut String) {
        let e = self.entity;
        let fed = |i: usize| (0..self.headers.len()).any(|c| self.field_of(c) == Some(i));
        let mut lines = Vec::new();
        for i in 0..e.fields.len() {
            let f = e.slot(i);
            if !f.required || fed(i) {
                continue;
            }
            if f.name == "external_source"
                && let Some(d) = self.preset
            {
                lines.push(format!(
                    "# external_source: \"{}\", from the preset",
                    d.preset.external_source
                ));
                continue;
            }
            let what = super::plain_words(e, f.name)
                .unwrap_or_else(|| format!("{}: {}", f.name, f.description));
            lines.push(format!("# {what}"));
            if e.keys.iter().any(|k| k.contains(&f.name)) {
                lines.push(format!(
                    "# It differs from {} to {}: map a column to it above rather than give one value here.",
                    e.one, e.one
                ));
            }
            lines.push(format!(
                "# {} = \"\"  # required, and no column holds it: fill in and remove the #",
                f.name
            ));
        }
        w.push_str("\n# [defaults]: field = value, for every row whose cell is empty or that has no column.\n[defaults]\n");
        for l in lines {
            w.push_str(&l);
            w.push('\n');
        }
    }

    fn render_values(&self, w: &mut String) {
        let mut cols: Vec<&usize> = self.values.keys().collect();
        cols.sort();
        for c in cols {
            let Some(i) = self.field_of(*c) else {
                continue;
            };
            let name = self.entity.slot(i).name;
            let mut list = self.values[c].clone();
            list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            w.push_str(&format!(
                "\n# [values.{name}]: each '{}' value as the sheet has it = the {name} to send. They pass\n# through as they are; Kayse creates a {name} it has not seen, so translate them to yours.\n[values.{name}]\n",
                self.headers[*c].trim()
            ));
            for (v, n) in list.iter().take(MAX_VALUES) {
                let rows = if *n == 1 { "row" } else { "rows" };
                w.push_str(&format!("{} = {}  # {n} {rows}\n", quote(v), quote(v)));
            }
            if list.len() > MAX_VALUES {
                let rest: u64 = list[MAX_VALUES..].iter().map(|p| p.1).sum();
                w.push_str(&format!(
                    "# … and {} more values in {rest} rows\n",
                    list.len() - MAX_VALUES
                ));
            }
        }
    }

    /// What column `c` gives a client of the row, when it is a client column no case field
    /// took: `email`, `first_name and last_name (a full name, split)`.
    fn client_part(&self, c: usize) -> Option<String> {
        if !matches!(self.matches[c], Match::Unmapped | Match::NotIds(_)) {
            return None;
        }
        let h = &self.headers[c];
        let n = normalize_header(h);
        let rest = n.strip_prefix("client")?;
        let rest = rest.trim_start_matches(|ch: char| ch.is_ascii_digit());
        if let Some(i) = auto_field(&CLIENTS, h, &n).or_else(|| auto_field(&CLIENTS, rest, rest)) {
            Some(CLIENTS.slot(i).name.to_string())
        } else if rest.is_empty() || rest == "name" {
            Some("first_name and last_name (a full name, split)".to_string())
        } else {
            None
        }
    }

    /// The client columns of a case sheet, for the linked import: listed, not mapped.
    fn render_client_columns(&self, w: &mut String) {
        let mut lines = Vec::new();
        for (c, h) in self.headers.iter().enumerate() {
            if let Some(part) = self.client_part(c) {
                lines.push(format!("#   '{}' → {part}", h.trim()));
            }
        }
        if let Some(d) = self.preset
            && !d.preset.join.0.is_empty()
            && self
                .headers
                .iter()
                .any(|h| normalize_header(h) == normalize_header(d.preset.join.0))
        {
            lines.push(format!(
                "#   '{}' → the {} contacts export's '{}' (the join key)",
                d.preset.join.0, d.preset.system, d.preset.join.1
            ));
        }
        if !lines.is_empty() {
            w.push_str("\n# Clients: these columns name each case's clients; import creates (or reuses) them first,\n# then links each case to its people:\n");
            for l in lines {
                w.push_str(&l);
                w.push('\n');
            }
        }
    }
}

/// Why a column is never sent: the preset's join key, or record ids.
fn ignored_why(preset: Option<Detected>, headers: &[String], h: &str) -> String {
    let Some(d) = preset else {
        return "ignored".into();
    };
    let n = normalize_header(h);
    if normalize_header(d.preset.join.0) == n && d.export == Export::Cases {
        return format!(
            "preset {}: the join key to the contacts export's '{}', not a Kayse id",
            d.preset.name, d.preset.join.1
        );
    }
    d.preset
        .record_id_notes(headers)
        .into_iter()
        .find(|note| normalize_header(note.split('\'').nth(1).unwrap_or_default()) == n)
        .unwrap_or_else(|| format!("preset {}", d.preset.name))
}

/// 1 − edits ÷ length of the longer name.
fn similarity(a: &str, b: &str) -> f64 {
    let longer = a.chars().count().max(b.chars().count()).max(1);
    1.0 - levenshtein(a, b) as f64 / longer as f64
}

/// A TOML string, quoted and escaped.
fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::{MapOptions, Mapping};

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    /// The file `map` writes for these headers and rows.
    fn written(headers: &[&str], rows: &[&[&str]], preset: Option<&str>) -> String {
        let headers: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let entity = entity_of(&headers, preset);
        let mut s = Survey::new(entity, &headers, preset).unwrap();
        for (k, r) in rows.iter().enumerate() {
            s.add(&RawRow {
                source_row: k + 2,
                cells: r.iter().map(|v| t(v)).collect(),
            });
        }
        s.render("in.csv", "m.toml")
    }

    /// Fill in the required defaults the way a user does: value in, `#` out.
    pub fn fill_defaults(text: &str) -> String {
        text.lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.contains("= \"\"  # required") => {
                    let field = rest.split(' ').next().unwrap_or_default();
                    format!("{field} = \"filled\"")
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The file parses, and once the defaults are filled in, maps the headers with no error.
    fn maps_cleanly(headers: &[&str], text: &str) -> Mapping {
        let file =
            MappingFile::parse(&fill_defaults(text)).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let hs: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        let entity = entity_of(&hs, file.preset.as_deref());
        file.date_order().unwrap();
        Mapping::build(
            entity,
            &hs,
            &MapOptions {
                file,
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn the_written_file_says_how_each_header_matched_and_maps_once_filled_in() {
        type Case<'a> = (
            &'a [&'a str],
            &'a [&'a [&'a str]],
            Option<&'a str>,
            &'a [&'a str],
        );
        let table: &[Case] = &[
            (
                &[
                    "Display Number",
                    "Unique ID",
                    "Status",
                    "Practice Area",
                    "Open Date",
                    "Client ID",
                    "Billing Memo",
                ],
                &[
                    &["1-A", "77", "Open", "PI", "01/25/2024", "5", "x"],
                    &["1-B", "78", "open", "PI", "02/03/2024", "6", ""],
                ],
                None,
                &[
                    "preset = \"clio\"",
                    "\"Display Number\" = \"case_number\"  # preset clio",
                    "\"Client ID\" = \"\"  # preset clio: the join key to the contacts export's 'ID', not a Kayse id",
                    "# \"Billing Memo\" = \"\"  # not mapped: name a field, external_source_data.KEY, or \"\" to ignore it",
                    "date_order = \"mdy\"",
                    "#   'Open Date': '01/25/2024' on row 2 can only be read month-first",
                    "# external_source: \"clio\", from the preset",
                    "\"Open\" = \"Open\"  # 2 rows",
                    "\"PI\" = \"PI\"  # 2 rows",
                ],
            ),
            (
                &[
                    "LastName",
                    "FirstName",
                    "Key",
                    "Case Stat",
                    "CaseNo",
                    "Date Opend",
                    "Court",
                    "kayse_result",
                ],
                &[&["Doe", "J", "K1", "open", "CR-1", "05/03/2021", "S", ""]],
                None,
                &[
                    "# \"LastName\" = \"\"  # not mapped: name a field, external_source_data.KEY, or \"\" to ignore it",
                    "\"Case Stat\" = \"status\"  # suggestion: similarity 0.80 to status; check it",
                    "\"CaseNo\" = \"case_number\"  # alias of case_number",
                    "\"Court\" = \"court_name\"  # alias of court_name",
                    "# \"kayse_result\": written by kayse-bulk, ignored",
                    "# external_source = \"\"  # required, and no column holds it: fill in and remove the #",
                    "# type = \"\"  # required, and no column holds it: fill in and remove the #",
                    "# date_order = \"dmy\"",
                    "#   'Date Opend': 1 dates, such as '05/03/2021' on row 2, read differently day-first and month-first",
                ],
            ),
            (
                &[
                    "case_number",
                    "external_source",
                    "external_source_id",
                    "status",
                    "type",
                    "created_date",
                    "Client Email",
                    "Client",
                ],
                &[
                    &["A", "x", "1", "s", "t", "25/01/2024", "a@b.c", "Ann Lee"],
                    &["B", "x", "2", "s", "t", "01/25/2024", "", "Bo Li"],
                ],
                None,
                &[
                    "\"case_number\" = \"case_number\"  # exact",
                    "#   'created_date' mixes day-first ('25/01/2024' on row 2) and month-first ('01/25/2024' on row 3) dates",
                    "#   'Client Email' → email",
                    "#   'Client' → first_name and last_name (a full name, split)",
                    "# \"Client\": names a client of the case (see Clients below)",
                    "# Dates: which order? The values do not settle it:",
                ],
            ),
            (
                &[
                    "Id",
                    "litify_pm__First_Name__c",
                    "litify_pm__Last_Name__c",
                    "litify_pm__Date_of_birth__c",
                    "BillingCity",
                ],
                &[&["001A", "Ann", "Lee", "1980-02-03", "Austin"]],
                None,
                &[
                    "# Its rows are clients: these are client fields. Give it beside its cases export to link",
                    "preset = \"litify\"",
                    "\"litify_pm__First_Name__c\" = \"first_name\"  # preset litify",
                    "\"BillingCity\" = \"city\"  # preset litify",
                    "# Dates: no numeric dates to decide (ISO dates, date cells or none).",
                ],
            ),
            (
                &[
                    "Name",
                    "Id",
                    "litify_pm__Status__c",
                    "litify_pm__Case_Type__c",
                ],
                &[&["M-1", "a0B", "Open", "a0T5e000001AbCdEAK"]],
                Some("litify"),
                &[
                    "\"litify_pm__Case_Type__c\" = \"\"  # 'litify_pm__Case_Type__c' holds 18-character Litify record ids, not names: it is not sent; export the label column 'litify_pm__Case_Type__r.Name' as well to send the case type name",
                    "# type = \"\"  # required, and no column holds it: fill in and remove the #",
                ],
            ),
        ];
        for (headers, rows, preset, want) in table {
            let text = written(headers, rows, *preset);
            for line in *want {
                assert!(text.lines().any(|l| l == *line), "missing: {line}\n{text}");
            }
            maps_cleanly(headers, &text);
        }
    }

    #[test]
    fn values_are_counted_without_regard_to_case_and_capped() {
        let rows: Vec<Vec<String>> = (0..MAX_VALUES + 5)
            .map(|k| vec![format!("S{k}"), "a".into()])
            .chain([vec!["s0".into(), "A".into()]])
            .collect();
        let rows: Vec<Vec<&str>> = rows
            .iter()
            .map(|r| r.iter().map(|s| s.as_str()).collect())
            .collect();
        let rows: Vec<&[&str]> = rows.iter().map(|r| r.as_slice()).collect();
        let text = written(&["status", "type"], &rows, None);
        assert!(text.contains("\"S0\" = \"S0\"  # 2 rows\n"), "{text}");
        assert!(text.contains("\"a\" = \"a\"  # 106 rows\n"), "{text}");
        assert!(text.contains("# … and 5 more values in 5 rows\n"), "{text}");
        maps_cleanly(&["status", "type"], &text);
    }

    #[test]
    fn similarity_is_one_minus_edits_per_length() {
        for (a, b, want) in [
            ("casestat", "casestatus", 0.8),
            ("abc", "abc", 1.0),
            ("", "", 1.0),
            ("ab", "cd", 0.0),
        ] {
            assert!((similarity(a, b) - want).abs() < 1e-9, "{a} {b}");
        }
        for v in ["a \"b\"\\", "it's", "Émile", "tab\there"] {
            let back: toml::Table = toml::from_str(&format!("{} = 1", quote(v))).unwrap();
            assert!(back.contains_key(v), "{v}");
        }
    }
}
