//! `kayse-bulk validate` and `import --dry-run`: read → map → check → results, with no network.
//! Owns the input options every file-reading command shares, and the scan that import reuses, so
//! a dry run and an import see exactly the same rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cell::Cell;
use crate::check::rules::DateOrder;
use crate::check::{Checked, Checker, Rules, check_row};
use crate::cli::Global;
use crate::entity::{self, CASES, Record};
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::map::{ExtraColumns, MapOptions, Mapping, MappingFile};
use crate::outcome::{Outcome, ResultRow, RowError};
use crate::read::{self, RawRow, ReadAhead, ReadOptions, Table};
use crate::report::results::{ResultsError, ResultsFormat, ResultsWriter, WriteBehind};
use crate::report::summary::Summary;
use crate::send::rate::RateSpec;

/// Options shared by every command that reads a case spreadsheet.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// The spreadsheet to read: .csv, .txt, .tab, .tsv, .xlsx, .xlsm, .xlsb, .xls or .ods.
    pub file: PathBuf,
    /// Workbook sheet to read, by name or 0-based index [default: the first sheet].
    #[arg(long, value_name = "NAME|INDEX")]
    pub sheet: Option<String>,
    /// Row number of the header [default: of the first 30 rows, the one naming the most fields].
    #[arg(long, value_name = "N")]
    pub header_row: Option<usize>,
    /// Leave out rows hidden in the workbook, e.g. by a filter (XLSX and XLSM) [default: read them].
    #[arg(long)]
    pub skip_hidden_rows: bool,
    /// CSV delimiter: ',', ';', 'tab' or '|' [default: sniffed].
    #[arg(long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Mapping file (TOML) with [columns], [defaults], [values.FIELD] and [allowed].
    #[arg(long, value_name = "FILE.toml")]
    pub mapping: Option<PathBuf>,
    /// Fix a field for every row, e.g. --set external_source=clio (repeatable).
    #[arg(long = "set", value_name = "FIELD=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
    /// What to do with columns that match no field.
    #[arg(long, value_enum, default_value = "warn")]
    pub extra_columns: ExtraColumns,
    /// How to read numeric dates such as 3/5/2024.
    #[arg(long, value_enum, default_value = "mdy")]
    pub date_order: DateOrder,
    /// Accepted status values, comma-separated (any other value is invalid).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub allowed_status: Vec<String>,
    /// Accepted type values, comma-separated (any other value is invalid).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub allowed_type: Vec<String>,
    /// Results file, .xlsx or .csv [default: <input stem>.results.xlsx beside the input].
    #[arg(long, value_name = "PATH")]
    pub results: Option<PathBuf>,
    /// Cases per bulk request.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "\t" | "tab" | "\\t" => Ok(b'\t'),
        "|" | "pipe" => Ok(b'|'),
        _ => Err(format!(
            "unsupported delimiter '{s}': use ',', ';', 'tab' or '|'"
        )),
    }
}

/// `FIELD=VALUE`, for `--set`.
pub fn parse_set(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("--set expects FIELD=VALUE, got '{s}'"))?;
    let k = k.trim();
    if !entity::ALL.iter().any(|e| e.slot_index(k).is_some()) {
        return Err(format!("--set names an unknown field '{k}'"));
    }
    Ok((k.to_string(), v.trim().to_string()))
}

/// `<input stem>.results.xlsx`, beside the input.
pub fn default_results_path(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kayse".into());
    input.with_file_name(format!("{stem}.results.xlsx"))
}

/// Check that a results path names a format we write.
pub fn check_results_path(path: &Path) -> Result<(), Fatal> {
    match ResultsFormat::from_path(path) {
        Some(_) => Ok(()),
        None => Err(Fatal::usage(format!(
            "results file {} must end in .xlsx or .csv",
            path.display()
        ))),
    }
}

/// The input columns a results file repeats. When the input is itself a results file (it has a
/// `kayse_result` column), the tool's own leading columns are written afresh, not repeated; a
/// user's later column of the same name is kept.
pub struct Echo {
    keep: Vec<usize>,
    /// Input column → results input column.
    map: Vec<Option<usize>>,
}

impl Echo {
    pub fn new(headers: &[String]) -> Echo {
        let is_results = headers.iter().any(|h| h.trim() == "kayse_result");
        let mut dropped = Vec::new();
        let mut keep = Vec::new();
        let mut map = vec![None; headers.len()];
        for (i, h) in headers.iter().enumerate() {
            let h = h.trim();
            if is_results && entity::OUTPUT_COLUMNS.contains(&h) && !dropped.contains(&h) {
                dropped.push(h);
                continue;
            }
            map[i] = Some(keep.len());
            keep.push(i);
        }
        Echo { keep, map }
    }

    pub fn headers(&self, headers: &[String]) -> Vec<String> {
        self.keep.iter().map(|&i| headers[i].clone()).collect()
    }

    pub fn cells(&self, mut cells: Vec<Cell>) -> Vec<Cell> {
        if self.keep.len() == cells.len() {
            return cells; // nothing dropped
        }
        self.keep
            .iter()
            .map(|&i| cells.get_mut(i).map(std::mem::take).unwrap_or(Cell::Empty))
            .collect()
    }

    /// Errors marked on an input column follow it to its place in the results.
    pub fn errors(&self, mut errors: Vec<RowError>) -> Vec<RowError> {
        for e in &mut errors {
            e.column = e.column.and_then(|c| self.map.get(c).copied().flatten());
        }
        errors
    }

    /// Input columns as results input columns (those not repeated are dropped).
    pub fn columns(&self, input: &[usize]) -> Vec<usize> {
        input
            .iter()
            .filter_map(|&c| self.map.get(c).copied().flatten())
            .collect()
    }
}

/// A row as the reading thread hands it over: judged on its own, not yet against earlier rows.
#[allow(clippy::large_enum_variant)]
enum Prechecked {
    Blank,
    Row(RawRow, Checked),
}

/// An input opened and mapped, ready to scan.
pub struct Prepared {
    /// The input's facts and header; its rows have moved to `rows`.
    pub table: Table,
    /// The input's rows, read ahead, mapped and checked on their own thread.
    rows: ReadAhead<Prechecked>,
    pub mapping: Arc<Mapping>,
    pub checker: Checker,
    pub results_path: PathBuf,
}

/// One scanned input row. Consumed at once, never stored in bulk, so the size gap between the
/// variants costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Scanned {
    /// A row with nothing in it: skipped and counted.
    Blank,
    /// A row, with its payload or every error it has.
    Row {
        raw: RawRow,
        result: Result<Record, Vec<RowError>>,
    },
}

/// Open and map the input. Every problem here is exit 2, before any row is read.
pub fn prepare(args: &InputArgs) -> Result<Prepared, Fatal> {
    let results_path = args
        .results
        .clone()
        .unwrap_or_else(|| default_results_path(&args.file));
    check_results_path(&results_path)?;
    let file = match &args.mapping {
        Some(p) => MappingFile::load(p).map_err(|e| Fatal::usage(e.to_string()))?,
        None => MappingFile::default(),
    };
    let pick = |flag: &Vec<String>, file: &Option<Vec<String>>| {
        if flag.is_empty() {
            file.clone()
        } else {
            Some(flag.clone())
        }
    };
    let mut rules = Rules::new(&CASES, args.date_order);
    for (field, list) in [
        ("status", pick(&args.allowed_status, &file.allowed.status)),
        ("type", pick(&args.allowed_type, &file.allowed.case_type)),
    ] {
        if let Some(list) = list {
            rules
                .allow(field, list)
                .map_err(|e| Fatal::usage(e.to_string()))?;
        }
    }
    let map_opts = MapOptions {
        file,
        set: args.set.clone(),
        extra_columns: args.extra_columns,
    };
    let opts = ReadOptions {
        sheet: args.sheet.clone(),
        header_row: args.header_row,
        delimiter: args.delimiter,
        skip_hidden_rows: args.skip_hidden_rows,
        header_matcher: Some(crate::map::header_matcher(&CASES, &map_opts)),
    };
    let mut table = read::open(&args.file, &opts).map_err(|e| Fatal::usage(e.to_string()))?;
    let mapping = Mapping::build(&CASES, &table.headers, &map_opts).map_err(|e| {
        let row = table.header_row;
        let hint = match args.header_row {
            Some(_) => String::new(),
            None => {
                format!(" (the header was read from row {row}; --header-row N reads another row)")
            }
        };
        Fatal::usage(format!("{e}{hint}"))
    })?;
    let mapping = Arc::new(mapping);
    let rows = {
        let mapping = Arc::clone(&mapping);
        let rules = rules.clone();
        let rows = std::mem::replace(&mut table.rows, Box::new(read::Plain(std::iter::empty())));
        ReadAhead::spawn(rows, &args.file, move |raw| {
            if raw.is_blank() {
                Prechecked::Blank
            } else {
                let checked = check_row(&rules, &mapping.apply(&raw));
                Prechecked::Row(raw, checked)
            }
        })
    };
    Ok(Prepared {
        table,
        rows,
        mapping,
        checker: Checker::new(rules),
        results_path,
    })
}

impl Prepared {
    /// Read, map and check the next row. A read error mid-file is fatal (exit 2).
    pub fn next_row(&mut self) -> Option<Result<Scanned, Fatal>> {
        let (raw, checked) = match self.rows.next()? {
            Ok(Prechecked::Row(raw, checked)) => (raw, checked),
            Ok(Prechecked::Blank) => return Some(Ok(Scanned::Blank)),
            Err(e) => return Some(Err(Fatal::usage(e.to_string()))),
        };
        let result = self.checker.settle(checked);
        Some(Ok(Scanned::Row { raw, result }))
    }

    /// Under `-v`, say which column feeds which field.
    pub fn describe_mapping(&self, g: &Global) {
        if g.verbose && !g.quiet {
            for line in self.mapping.describe() {
                eprintln!("mapping: {line}");
            }
        }
    }

    /// Start the results file: the input columns as `echo` repeats them, with the columns hidden
    /// in the workbook hidden again (XLSX) or left out (CSV, which cannot hide one).
    pub fn results_writer(&self, echo: &Echo) -> Result<ResultsWriter, ResultsError> {
        let hidden = echo.columns(&self.table.info.hidden_columns);
        ResultsWriter::create_hiding(
            &self.results_path,
            &echo.headers(&self.table.headers),
            &[],
            &hidden,
        )
    }

    /// A summary with the input's facts filled in.
    pub fn new_summary(&self, command: &str, args: &InputArgs) -> Summary {
        let mut s = Summary {
            command: command.to_string(),
            command_line: command_line(),
            input: args.file.display().to_string(),
            results: Some(self.results_path.display().to_string()),
            format: Some(self.table.info.format.clone()),
            encoding: self.table.info.encoding.clone(),
            ..Default::default()
        };
        if self.table.info.encoding_fallback {
            s.warnings.push(
                "the file is not valid UTF-8; it was read as Windows-1252 (check accented letters)"
                    .into(),
            );
        }
        let info = &self.table.info;
        s.reading.header_below = info.header_below;
        s.reading.header_row = info.header_below.map(|_| self.table.header_row);
        s.reading.other_sheets = info.other_sheets.clone();
        s.reading.hidden_columns = info
            .hidden_columns
            .iter()
            .filter_map(|&c| self.table.headers.get(c).cloned())
            .collect();
        let csv_results = ResultsFormat::from_path(&self.results_path) == Some(ResultsFormat::Csv);
        s.reading.hidden_columns_left_out = csv_results;
        if csv_results && !s.reading.hidden_columns.is_empty() {
            s.warnings.push(format!(
                "hidden columns left out of the CSV results (a CSV cannot hide a column): {}",
                s.reading.hidden_columns.join(", ")
            ));
        }
        if args.skip_hidden_rows && info.hidden_unseen {
            s.warnings.push(format!(
                "--skip-hidden-rows: hidden rows cannot be seen in .{} files, so every row was read; save the sheet as .xlsx to leave them out",
                info.format
            ));
        }
        s.warnings.extend(self.mapping.notes.iter().cloned());
        if !self.mapping.unmapped.is_empty() {
            s.warnings.push(format!(
                "columns not mapped to any field (ignored; --extra-columns data keeps them): {}",
                self.mapping.unmapped.join(", ")
            ));
        }
        s
    }

    /// Copy what the checker learned about statuses and types, and what the reader noticed
    /// while reading the rows, into the summary. Call it once every row has been read.
    pub fn finish_summary(&self, s: &mut Summary) {
        let noticed = self.table.facts.snapshot();
        let skipped = noticed.hidden_rows_skipped.count > 0;
        s.reading.hidden_rows_skipped = skipped;
        s.reading.hidden_rows = if skipped {
            noticed.hidden_rows_skipped
        } else {
            noticed.hidden_rows_read
        };
        s.reading.filtered = noticed.filtered;
        s.reading.total_row = noticed.total_row.map(|t| (t.row, t.label));
        s.warnings.extend(noticed.warnings);
        let report = self.checker.report();
        s.statuses = report.of("status");
        s.types = report.of("type");
        s.warnings.extend(report.warnings);
    }
}

/// The command line, for the Summary sheet. The key can never be on it: it is not a flag.
pub fn command_line() -> String {
    std::env::args()
        .enumerate()
        // argv[0] may be a long build path; people know the tool by its name
        .map(|(i, a)| if i == 0 { "kayse-bulk".to_string() } else { a })
        .map(|a| {
            if a.contains(' ') {
                format!("\"{a}\"")
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// "N requests; fits in the current window" or "about H hours at 500/h".
pub fn plan_text(requests: u64, rate: RateSpec, remaining: Option<u64>) -> String {
    let left = remaining.unwrap_or(u64::from(rate.requests));
    let noun = if requests == 1 { "request" } else { "requests" };
    if requests <= left {
        return format!("{requests} {noun}; fits in the current window ({left} left of {rate})");
    }
    let windows = (requests - left).div_ceil(u64::from(rate.requests));
    let secs = windows as f64 * rate.window.as_secs_f64();
    format!(
        "{requests} {noun}; about {} at {rate} ({left} left in the current window)",
        human_duration(secs)
    )
}

/// `45 s`, `12 min`, `4.0 hours`.
pub fn human_duration(secs: f64) -> String {
    if secs < 90.0 {
        format!("{secs:.0} s")
    } else if secs < 5400.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{:.1} hours", secs / 3600.0)
    }
}

/// End a run that talks to the API: choose the exit code, finish the results file, print the
/// summary, and turn an interruption or a stop into its one line. `stop` says why the run stopped
/// early, when it did.
pub fn finish_run(
    mut summary: Summary,
    writer: ResultsWriter,
    g: &Global,
    interrupted: bool,
    stop: Option<String>,
) -> CmdResult {
    let code = if interrupted {
        ExitCode::Interrupted
    } else if stop.is_some() {
        ExitCode::Stopped
    } else if summary.has_problems() {
        ExitCode::RowsFailed
    } else {
        ExitCode::Ok
    };
    summary.exit_code = code as i32;
    writer
        .finish(&summary)
        .map_err(|e| Fatal::stopped(e.to_string()))?;
    emit(&summary, g);
    match (code, stop) {
        (ExitCode::Interrupted, _) => Err(Fatal::interrupted(
            "interrupted: the journal and results are written; run again with --resume to continue",
        )),
        (ExitCode::Stopped, Some(why)) => Err(Fatal::stopped(format!(
            "{why}; the journal and results are written: run again with --resume to continue"
        ))),
        (c, _) => Ok(c),
    }
}

/// Print the summary: people's text on stderr unless quiet, JSON on stdout with `--json`.
pub fn emit(summary: &Summary, g: &Global) {
    if !g.quiet {
        eprint!("{}", summary.render());
    }
    if g.json {
        match serde_json::to_string(summary) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: cannot encode the summary: {e}"),
        }
    }
}

pub fn run(args: Args, g: &Global) -> CmdResult {
    run_checks(&args.input, g, "validate")
}

/// Validate every row and write the results file. `import --dry-run` calls this too.
pub fn run_checks(args: &InputArgs, g: &Global, command: &str) -> CmdResult {
    let mut p = prepare(args)?;
    p.describe_mapping(g);
    let echo = Echo::new(&p.table.headers);
    let writer = p
        .results_writer(&echo)
        .map_err(|e| Fatal::usage(e.to_string()))?;
    let mut writer =
        WriteBehind::spawn(writer, p.rows.recycler()).map_err(|e| Fatal::usage(e.to_string()))?;
    let mut summary = p.new_summary(command, args);
    let mut valid_creates = 0u64;
    while let Some(item) = p.next_row() {
        let (raw, result) = match item? {
            Scanned::Blank => {
                summary.blank_rows += 1;
                continue;
            }
            Scanned::Row { raw, result } => (raw, result),
        };
        summary.rows_read += 1;
        let (outcome, errors, id) = match result {
            Ok(case) => {
                if case.id.is_some() {
                    summary.updates += 1;
                    summary.fields_cleared += case.omitted().count() as u64;
                } else {
                    summary.creates += 1;
                    valid_creates += 1;
                }
                (Outcome::Valid, Vec::new(), case.id)
            }
            Err(errors) => (Outcome::Invalid, errors, None),
        };
        summary.count(outcome);
        writer
            .write(ResultRow {
                source_row: raw.source_row,
                outcome,
                kayse_id: id,
                errors: echo.errors(errors),
                cells: echo.cells(raw.cells),
                extra: Vec::new(),
            })
            .map_err(|e| Fatal::usage(e.to_string()))?;
    }
    p.finish_summary(&mut summary);
    let batch = u64::from(args.batch_size);
    let bulk = valid_creates.div_ceil(batch) + summary.updates.div_ceil(batch);
    let gets = summary.updates;
    let mut plan = plan_text(bulk + gets, RateSpec::KAYSE, None);
    if gets > 0 {
        plan.push_str(&format!(
            " (includes {gets} GETs to keep blank fields on updates; --update-blanks clear skips them)"
        ));
    }
    summary.plan = Some(plan);
    let code = if summary.has_problems() {
        ExitCode::RowsFailed
    } else {
        ExitCode::Ok
    };
    summary.exit_code = code as i32;
    writer
        .finish(&summary)
        .map_err(|e| Fatal::usage(e.to_string()))?;
    emit(&summary, g);
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_lines() {
        let r = RateSpec::KAYSE;
        assert_eq!(
            plan_text(3, r, None),
            "3 requests; fits in the current window (500 left of 500/h)"
        );
        assert_eq!(
            plan_text(2000, r, Some(500)),
            "2000 requests; about 3.0 hours at 500/h (500 left in the current window)"
        );
        assert_eq!(
            plan_text(1, r, Some(0)),
            "1 request; about 60 min at 500/h (0 left in the current window)"
        );
    }

    #[test]
    fn set_and_delimiter_parsing() {
        assert_eq!(
            parse_set("external_source = clio").unwrap(),
            ("external_source".to_string(), "clio".to_string())
        );
        assert!(parse_set("nofield=1").is_err());
        assert!(parse_set("status").is_err());
        assert_eq!(parse_delimiter("tab").unwrap(), b'\t');
        assert!(parse_delimiter(":").is_err());
    }

    #[test]
    fn echo_drops_the_tools_own_columns_of_a_results_file_only() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let plain = h(&["kayse_id", "case_number"]);
        let e = Echo::new(&plain);
        assert_eq!(e.headers(&plain), plain, "not a results file: kept as is");
        let results = h(&[
            "source_row",
            "kayse_result",
            "kayse_id",
            "kayse_errors",
            "case_number",
            "kayse_id",
        ]);
        let e = Echo::new(&results);
        assert_eq!(e.headers(&results), h(&["case_number", "kayse_id"]));
        let cells = (0..6).map(Cell::Int).collect::<Vec<_>>();
        assert_eq!(e.cells(cells), vec![Cell::Int(4), Cell::Int(5)]);
        let moved = e.errors(vec![
            RowError::new("case_number", "x").at(Some(4)),
            RowError::new("row", "y").at(Some(1)),
        ]);
        assert_eq!(moved[0].column, Some(0));
        assert_eq!(moved[1].column, None);
    }

    #[test]
    fn results_paths() {
        assert_eq!(
            default_results_path(Path::new("dir/cases.csv")),
            PathBuf::from("dir/cases.results.xlsx")
        );
        assert!(check_results_path(Path::new("a.csv")).is_ok());
        assert!(check_results_path(Path::new("a.XLSX")).is_ok());
        assert!(check_results_path(Path::new("a.txt")).is_err());
    }
}
