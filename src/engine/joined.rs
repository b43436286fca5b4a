//! The clients table joined to a case sheet, read at the edge: `--clients FILE`, or the `Clients`
//! sheet of a workbook whose `Cases` sheet is the case sheet. The table is read once, fully,
//! before the cases: it is small next to them (one row per client of the firm, not per case),
//! and any case row may name any of its rows. Its rows are mapped onto the clients table
//! (`entity::CLIENTS`, with the preset's contacts columns when a preset applies), checked, and
//! handed to `check::joined`, which joins them to the case rows. The fingerprint of its rows
//! goes into the case sheet's (`Hashed::with_joined`), so a `--resume` with a changed clients
//! table is refused like one with a changed case sheet. Sends nothing.

use std::path::{Path, PathBuf};

use crate::check::joined::{ClientRow, Join, Keys};
use crate::check::rules::{DateOrder, normalize_header};
use crate::check::{Checker, Rules, check_row};
use crate::engine::options::HiddenRows;
use crate::entity::CLIENTS;
use crate::error::Fatal;
use crate::map::presets::Detected;
use crate::map::{ExtraColumns, MapOptions, Mapping, MappingFile};
use crate::read::{self, InputInfo, ReadOptions, Rows};
use crate::record::journal::Fingerprint;

use super::input::{FingerprintSlot, Hashed, read_failed};
use super::lookahead::learn_date_orders;

/// The key column both tables carry when no preset names one (ignoring case, spaces and `_`).
pub const CLIENT_REF: &str = "client_ref";

/// The fields a joined table's rows may leave out: the join gives them (the case's source, the
/// key).
const GIVEN_BY_THE_JOIN: &[&str] = &["external_source", "external_source_id"];

/// Where the clients table is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--clients FILE`.
    File(PathBuf),
    /// A sheet of the case sheet's own workbook.
    Sheet(PathBuf, String),
}

impl Source {
    /// How messages name the table: `contacts.csv`, `sheet 'Clients'`.
    fn name(&self) -> String {
        match self {
            Source::File(p) => p
                .file_name()
                .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into()),
            Source::Sheet(_, s) => format!("sheet '{s}'"),
        }
    }
}

/// The `Cases` and `Clients` sheets of a workbook (spelt as the workbook spells them, matched
/// ignoring case), when it has both; `info` is what opening one of its sheets found.
pub fn two_sheets(info: &InputInfo) -> Option<(String, String)> {
    let names: Vec<&str> = info
        .sheet
        .iter()
        .map(String::as_str)
        .chain(
            info.other_sheets
                .iter()
                .map(|s| s.strip_suffix(" (hidden)").unwrap_or(s)),
        )
        .collect();
    let find = |want: &str| {
        names
            .iter()
            .find(|n| n.trim().eq_ignore_ascii_case(want))
            .map(|n| n.to_string())
    };
    Some((find("Cases")?, find("Clients")?))
}

/// The column of `headers` named `name`, ignoring case, spaces, `_`, `-` and `.`.
fn column(headers: &[String], name: &str) -> Option<usize> {
    let want = normalize_header(name);
    headers.iter().position(|h| normalize_header(h) == want)
}

/// The key's header on each side: the preset's join (Clio: `Client ID` ↔ `ID`), else
/// `client_ref` in both.
fn key_names(preset: Option<Detected>) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if let Some(d) = preset
        && !d.preset.join.0.is_empty()
    {
        out.push(d.preset.join);
    }
    out.push((CLIENT_REF, CLIENT_REF));
    out
}

/// The case sheet's key column and the clients table's header it joins, when the case sheet
/// has one.
pub fn case_key(
    case_headers: &[String],
    preset: Option<Detected>,
) -> Option<(usize, &'static str)> {
    key_names(preset)
        .into_iter()
        .find_map(|(case, table)| Some((column(case_headers, case)?, table)))
}

/// A clients table read, mapped and checked, ready to join.
pub struct Opened {
    pub join: Join,
    /// Of the table's rows, header first.
    pub fingerprint: Fingerprint,
    /// For the summary.
    pub notes: Vec<String>,
}

/// Which clients table the command line and the input ask for.
pub struct Asked<'a> {
    /// The case sheet's file.
    pub input: &'a Path,
    /// `--clients FILE`.
    pub clients: Option<&'a Path>,
    /// The workbook's `Cases` and `Clients` sheets, when it has both and no `--sheet` was given.
    pub workbook: Option<&'a (String, String)>,
}

/// What reading the clients table needs from the case sheet's reading.
pub struct CaseSide<'a> {
    pub headers: &'a [String],
    pub preset: Option<Detected>,
    /// The mapping file of the case sheet: its `preset` and `date_order` apply to the table,
    /// not its columns.
    pub file: &'a MappingFile,
    /// `--date-order` or the mapping file's, when given.
    pub order_given: Option<DateOrder>,
    /// How the case sheet reads undecided dates and mobiles without a country code.
    pub rules: &'a Rules,
    pub hidden: HiddenRows,
}

/// Join the clients table `asked` names, if any, to a case sheet whose mapping is built: read
/// it (`open`), then leave the case sheet's own client columns unread and take its key column
/// (`mapping`), and drop the sheet read from the sheets the summary calls unread (`info`). A
/// case sheet with no key column is refused (exit 2) when `--clients` was given; a workbook's
/// `Clients` sheet is then left unread, and `notes` says why.
pub fn attach(
    asked: &Asked,
    case: &CaseSide,
    mapping: &mut Mapping,
    info: &mut InputInfo,
    notes: &mut Vec<String>,
) -> Result<Option<Opened>, Fatal> {
    let key = case_key(case.headers, case.preset);
    let source = match (asked.clients, asked.workbook) {
        (Some(file), _) => Source::File(file.to_path_buf()),
        (None, Some((_, clients))) if key.is_some() => {
            Source::Sheet(asked.input.to_path_buf(), clients.clone())
        }
        (None, Some((cases, clients))) => {
            notes.push(format!(
                "sheet '{clients}' is not read as the cases' clients: sheet '{cases}' has no {CLIENT_REF} column to join them by"
            ));
            return Ok(None);
        }
        (None, None) => return Ok(None),
    };
    let key = key.ok_or_else(|| no_key(asked.input, case.preset))?;
    let opened = open(&source, case, key)?;
    if let Source::Sheet(_, read) = &source {
        // Read, so not among the sheets the summary says are left unread.
        let other = |s: &String| s.strip_suffix(" (hidden)").unwrap_or(s) == read;
        info.other_sheets.retain(|s| !other(s));
    }
    notes.extend(opened.notes.iter().cloned());
    if !mapping.linked().is_empty() {
        let cols: Vec<String> = mapping
            .linked()
            .iter()
            .map(|l| format!("'{}'", mapping.header(l.col)))
            .collect();
        notes.push(format!(
            "the case sheet's own client columns ({}) are not read as clients: the clients come from the joined table",
            cols.join(", ")
        ));
        mapping.unmap_client_columns();
    }
    mapping.take_join_key(key.0);
    Ok(Some(opened))
}

/// `--clients` given for a case sheet with no key column: what the key would be.
fn no_key(input: &Path, preset: Option<Detected>) -> Fatal {
    let by = match preset.filter(|d| !d.preset.join.0.is_empty()) {
        Some(d) => format!(
            "a {} names each case's client in '{}', or",
            d.label, d.preset.join.0
        ),
        None => "without a preset,".to_string(),
    };
    Fatal::usage(format!(
        "--clients: {} has no column to join its cases to their clients by: {by} a {CLIENT_REF} column in both tables holds the key",
        input.display()
    ))
}

/// Read the clients table at `source` whole, map it onto the clients table, check every row;
/// `key` is the case sheet's key column and the header of the table's column it joins
/// (`case_key`). Every problem with the table itself (unreadable, no key column, a mapping
/// problem) is exit 2.
fn open(source: &Source, case: &CaseSide, key: (usize, &'static str)) -> Result<Opened, Fatal> {
    let name = source.name();
    let opts = map_options(case.file, case.preset, None);
    let (path, sheet): (&Path, Option<String>) = match source {
        Source::File(p) => (p, None),
        Source::Sheet(p, s) => (p, Some(s.clone())),
    };
    let read_opts = ReadOptions {
        sheet,
        header_row: None,
        delimiter: None,
        skip_hidden_rows: case.hidden.skip,
        header_matcher: Some(crate::map::header_matcher(&CLIENTS, &opts)),
    };
    let mut table = read::open(path, &read_opts).map_err(read_failed)?;
    let usage = |m: String| Fatal::usage(format!("clients table {name}: {m}"));
    let opts = map_options(case.file, case.preset, Some(&table.headers));
    let mapping = Mapping::build_optional(&CLIENTS, &table.headers, &opts, GIVEN_BY_THE_JOIN)
        .map_err(|e| {
            // The mapping file and `--set` are the cases': the fix is in the table's headers.
            let e = e.to_string();
            let problem = e.split(". To fix:").next().unwrap_or_default();
            usage(format!(
                "{problem}; name its columns as the client fields are named (first_name, last_name, email, ...) or by their usual headers (First Name, Last Name, Email, ...)"
            ))
        })?;
    let (case_col, table_header) = key;
    let key_col = column(&table.headers, table_header).ok_or_else(|| {
        usage(format!(
            "it has no '{table_header}' column, which the cases' '{}' column names",
            case.headers[case_col].trim()
        ))
    })?;
    // Read whole, fingerprinted as it is read.
    let slot = FingerprintSlot::default();
    let inner = std::mem::replace(&mut table.rows, Box::new(read::Plain(std::iter::empty())));
    let mut rows: Box<dyn Rows> = Box::new(Hashed::new(&table, inner, slot.clone()));
    let mut raws = Vec::new();
    for r in rows.by_ref() {
        let r = r.map_err(read_failed)?;
        if !r.is_blank() {
            raws.push(r);
        }
    }
    drop(rows);
    let fingerprint = slot.finished()?;
    let mut rules = client_rules(case, &mapping);
    let sample: Vec<&read::RawRow> = raws.iter().collect();
    let dates = learn_date_orders(&mapping, &mut rules, &sample, case.order_given);
    let mut checker = Checker::new(rules.clone());
    let checked: Vec<ClientRow> = raws
        .iter()
        .map(|raw| ClientRow {
            source_row: raw.source_row,
            key: raw
                .cells
                .get(key_col)
                .filter(|c| crate::map::cell_error(c).is_none())
                .map(|c| c.to_text().trim().to_string())
                .unwrap_or_default(),
            result: checker.settle(check_row(&rules, &mapping.apply(raw))),
        })
        .collect();
    let keys = Keys {
        case_column: case_col,
        case_header: case.headers[case_col].trim().to_string(),
        table: name.clone(),
        table_header: table.headers[key_col].trim().to_string(),
    };
    let mut notes = vec![format!(
        "clients: read from {name} ({} rows), joined to the cases by '{}' = '{}'",
        checked.len(),
        keys.case_header,
        keys.table_header
    )];
    notes.extend(
        mapping
            .notes
            .iter()
            .map(|n| format!("clients table {name}: {n}")),
    );
    notes.extend(
        dates
            .lines
            .iter()
            .chain(&dates.warnings)
            .map(|n| format!("clients table {name}: {n}")),
    );
    let unmapped: Vec<&str> = mapping
        .unmapped
        .iter()
        .map(String::as_str)
        .filter(|h| *h != keys.table_header)
        .collect();
    if !unmapped.is_empty() {
        notes.push(format!(
            "clients table {name}: columns not mapped to any client field (ignored): {}",
            unmapped.join(", ")
        ));
    }
    Ok(Opened {
        join: Join::new(keys, checked),
        fingerprint,
        notes,
    })
}

/// The checks of the clients table's rows: the case sheet's date order and country (the
/// preset's date order when none is given), and no field the join supplies required.
fn client_rules(case: &CaseSide, mapping: &Mapping) -> Rules {
    let mut rules = Rules::new(&CLIENTS, case.rules.date_order);
    rules.country = case.rules.country;
    match case.order_given {
        Some(order) => {
            for s in 0..CLIENTS.slot_count() {
                rules.read_dates(s, order, true);
            }
        }
        None => {
            if let Some(d) = mapping.preset {
                rules.date_order = d.preset.date_order;
            }
        }
    }
    for f in GIVEN_BY_THE_JOIN {
        rules.not_required(f);
    }
    rules
}

/// The clients table's mapping options: the case sheet's preset (named, or detected from the
/// case sheet, whose contacts columns the table is read by) and date order; the case sheet's
/// `[columns]`, `[defaults]` and `--set` are the cases', not the clients'. The preset's
/// contacts columns are given as `[columns]` (those `headers` has, once they are known), so
/// they apply even when the table's headers lack the preset's signature.
fn map_options(
    file: &MappingFile,
    preset: Option<Detected>,
    headers: Option<&[String]>,
) -> MapOptions {
    let mut columns = std::collections::BTreeMap::new();
    if let Some(d) = preset {
        for (header, field) in d.preset.contacts {
            if headers.is_none_or(|hs| column(hs, header).is_some()) {
                columns.insert(header.to_string(), field.to_string());
            }
        }
    }
    MapOptions {
        file: MappingFile {
            preset: file.preset.clone(),
            date_order: file.date_order.clone(),
            columns,
            ..MappingFile::default()
        },
        set: Vec::new(),
        extra_columns: ExtraColumns::Warn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(sheet: &str, others: &[&str]) -> InputInfo {
        InputInfo {
            sheet: Some(sheet.to_string()),
            other_sheets: others.iter().map(|s| s.to_string()).collect(),
            ..InputInfo::default()
        }
    }

    #[test]
    fn a_workbook_with_cases_and_clients_sheets_is_joined() {
        let pair = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        let table = [
            (info("Cases", &["Clients"]), pair("Cases", "Clients")),
            (info("clients", &["CASES"]), pair("CASES", "clients")),
            (
                info("Notes", &["Cases", "Clients (hidden)"]),
                pair("Cases", "Clients"),
            ),
            (info("Cases", &["Summary"]), None),
            (info("Results", &["Summary", "Clients"]), None),
            (InputInfo::default(), None),
        ];
        for (info, want) in table {
            assert_eq!(two_sheets(&info), want, "{info:?}");
        }
    }

    #[test]
    fn the_key_is_the_presets_join_else_client_ref() {
        let hs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let clio = crate::map::presets::detect(&hs(&["Display Number", "Unique ID"]));
        assert!(clio.is_some());
        type Case<'a> = (&'a [&'a str], Option<Detected>, Option<(usize, &'a str)>);
        let table: &[Case] = &[
            (&["Display Number", "Client ID"], clio, Some((1, "ID"))),
            (
                &["Display Number", "Client Ref"],
                clio,
                Some((1, CLIENT_REF)),
            ),
            (&["case_number", "CLIENT_REF"], None, Some((1, CLIENT_REF))),
            (&["case_number", "Client ID"], None, None),
            (&["case_number"], clio, None),
        ];
        for (headers, preset, want) in table {
            assert_eq!(case_key(&hs(headers), *preset), *want, "{headers:?}");
        }
    }
}
