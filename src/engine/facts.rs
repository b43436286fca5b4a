//! What reading a sheet noticed that a person should know, beside the counts: the header row
//! chosen below a title, hidden columns and rows, a Total row left out, the sheets not read, the
//! encoding, and hidden rows a format cannot show. Taken from the reader's `Table` and `Facts`
//! and written into a run's `Summary`, the same for every command that reads a sheet. Pure: no
//! file is opened here.

use std::path::Path;

use crate::engine::options::HiddenRows;
use crate::read::{Facts, InputInfo, Table};
use crate::report::results::ResultsFormat;
use crate::report::summary::Summary;

/// What reading a sheet noticed that its summary reports: the header row chosen below a title,
/// hidden columns and rows, a Total row left out, the sheets not read, the encoding. Kept apart
/// from the rows so a command can consume them; the rows' part is complete only once every row
/// has been read (`finish`).
pub struct SheetFacts {
    info: InputInfo,
    header_row: usize,
    /// The headers of the hidden columns, in order.
    hidden_headers: Vec<String>,
    noticed: Facts,
    hidden: HiddenRows,
}

impl SheetFacts {
    pub fn of(table: &Table, hidden: HiddenRows) -> SheetFacts {
        SheetFacts {
            info: table.info.clone(),
            header_row: table.header_row,
            hidden_headers: table
                .info
                .hidden_columns
                .iter()
                .filter_map(|&c| table.headers.get(c).cloned())
                .collect(),
            noticed: table.facts.clone(),
            hidden,
        }
    }

    /// The input columns hidden in the workbook (indices into the headers): a results file keeps
    /// them hidden (XLSX) or leaves them out (CSV).
    pub fn hidden_columns(&self) -> &[usize] {
        &self.info.hidden_columns
    }

    /// What is known before the rows, into `s`: format and encoding, the header row when a title
    /// was passed over, hidden columns (and what the `results` file does with them), the other
    /// sheets, and hidden rows this format cannot show.
    pub fn start(&self, results: Option<&Path>, s: &mut Summary) {
        let info = &self.info;
        s.format = Some(info.format.clone());
        s.encoding = info.encoding.clone();
        if info.encoding_fallback {
            s.warnings.push(
                "the file is not valid UTF-8; it was read as Windows-1252 (check accented letters)"
                    .into(),
            );
        }
        s.reading.header_below = info.header_below;
        s.reading.header_row = info.header_below.map(|_| self.header_row);
        s.reading.other_sheets = info.other_sheets.clone();
        if let Some(results) = results {
            s.reading.hidden_columns = self.hidden_headers.clone();
            let csv = ResultsFormat::from_path(results) == Some(ResultsFormat::Csv);
            s.reading.hidden_columns_left_out = csv;
            if csv && !self.hidden_headers.is_empty() {
                s.warnings.push(format!(
                    "hidden columns left out of the CSV results (a CSV cannot hide a column): {}",
                    self.hidden_headers.join(", ")
                ));
            }
        }
        if let Some(w) = self.unseen_warning() {
            s.warnings.push(w);
        }
    }

    /// When hidden rows were to be left out but this format keeps them out of the reader's
    /// sight: every row was read, and the user must hear it.
    pub fn unseen_warning(&self) -> Option<String> {
        if !(self.hidden.skip && self.info.hidden_unseen) {
            return None;
        }
        let format = &self.info.format;
        Some(if self.hidden.skip_by_default {
            format!(
                "hidden rows cannot be seen in .{format} files, so every row was read, rows hidden by a filter too; save the sheet as .xlsx to leave them out"
            )
        } else {
            format!(
                "--skip-hidden-rows: hidden rows cannot be seen in .{format} files, so every row was read; save the sheet as .xlsx to leave them out"
            )
        })
    }

    /// What the reader noticed in the rows, into `s`: hidden rows read or left out, a filter, a
    /// Total row, its warnings. Call it once every row has been read.
    pub fn finish(&self, s: &mut Summary) {
        let noticed = self.noticed.snapshot();
        let skipped = noticed.hidden_rows_skipped.count > 0;
        s.reading.hidden_rows_skipped = skipped;
        s.reading.hidden_rows_skipped_by_default = self.hidden.skip_by_default;
        s.reading.hidden_rows = if skipped {
            noticed.hidden_rows_skipped
        } else {
            noticed.hidden_rows_read
        };
        s.reading.filtered = noticed.filtered;
        s.reading.total_row = noticed.total_row.map(|t| (t.row, t.label));
        s.warnings.extend(noticed.warnings);
    }

    /// What reading a side file noticed (export's `--ids-from`), as warnings naming the file:
    /// the hidden rows read or left out, a Total row, the reader's own warnings. The header row
    /// and the other sheets are not said: a side file has no `--header-row` or `--sheet`.
    pub fn file_notes(&self, file: &Path) -> Vec<String> {
        let mut s = Summary::default();
        self.start(None, &mut s);
        self.finish(&mut s);
        let lines = s
            .reading
            .lines()
            .into_iter()
            .filter(|(k, _)| k == "hidden rows" || k == "total row skipped")
            .map(|(k, v)| format!("{k}: {v}"));
        s.warnings
            .into_iter()
            .chain(lines)
            .map(|w| format!("{}: {w}", file.display()))
            .collect()
    }

    /// The hidden rows left out, as `rows 7, 9 and 3 more`, with their count; `None` when none
    /// were. Complete once every row has been read.
    pub fn hidden_rows_left_out(&self) -> Option<(u64, String)> {
        let list = self.noticed.snapshot().hidden_rows_skipped;
        (list.count > 0).then(|| (list.count, list.describe()))
    }

    /// The hidden rows read like the others, as `hidden_rows_left_out` says them.
    pub fn hidden_rows_read(&self) -> Option<(u64, String)> {
        let list = self.noticed.snapshot().hidden_rows_read;
        (list.count > 0).then(|| (list.count, list.describe()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::RowList;

    /// A sheet as a reader leaves it: `info`, a header row, and the rows it noticed as hidden.
    fn facts(
        info: InputInfo,
        header_row: usize,
        hidden_rows: &[usize],
        skipped: bool,
        hidden: HiddenRows,
    ) -> SheetFacts {
        let table = Table {
            info,
            headers: ["case_number", "SSN", "status"].map(String::from).to_vec(),
            header_row,
            rows: Box::new(crate::read::Plain(std::iter::empty())),
            facts: Facts::default(),
        };
        for &r in hidden_rows {
            table.facts.note_hidden_row(r, skipped);
        }
        if !hidden_rows.is_empty() {
            table.facts.note_filtered();
        }
        SheetFacts::of(&table, hidden)
    }

    fn xlsx() -> InputInfo {
        InputInfo {
            format: "xlsx".into(),
            header_below: Some(1),
            hidden_columns: vec![1],
            other_sheets: vec!["Notes".into()],
            ..Default::default()
        }
    }

    const READ: HiddenRows = HiddenRows {
        skip: false,
        skip_by_default: false,
    };
    const SKIP: HiddenRows = HiddenRows {
        skip: true,
        skip_by_default: false,
    };
    const DELETE: HiddenRows = HiddenRows {
        skip: true,
        skip_by_default: true,
    };
    const DELETE_ALL: HiddenRows = HiddenRows {
        skip: false,
        skip_by_default: true,
    };

    /// The summary a sheet's facts make, as its reading lines and its warnings.
    fn said(f: &SheetFacts, results: Option<&str>) -> (Summary, Vec<String>) {
        let mut s = Summary::default();
        f.start(results.map(Path::new), &mut s);
        f.finish(&mut s);
        let mut lines: Vec<String> = s
            .reading
            .lines()
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        lines.extend(s.warnings.iter().map(|w| format!("warning: {w}")));
        (s, lines)
    }

    #[test]
    fn every_command_reports_what_reading_noticed() {
        type Case<'a> = (&'a str, SheetFacts, Option<&'a str>, &'a [&'a str]);
        let cases: Vec<Case> = vec![
            (
                "validate: hidden rows read, SSN kept hidden, a Total row left out",
                {
                    let f = facts(xlsx(), 3, &[5, 7], false, READ);
                    f.noticed.note_total_row(13, "Total");
                    f.noticed.warn("a reader's own warning".into());
                    f
                },
                Some("r.xlsx"),
                &[
                    "header: row 3, below a title or notes in rows 1-2 (they name fewer fields); --header-row N reads another row",
                    "hidden columns: SSN (kept hidden in the results)",
                    "hidden rows: 2 rows hidden by a filter in the workbook were read: rows 5, 7 (--skip-hidden-rows leaves them out)",
                    "total row skipped: row 13 ('Total' and numbers) is a Total row, not a case",
                    "other sheets not read: Notes (--sheet NAME reads another)",
                    "warning: a reader's own warning",
                ],
            ),
            (
                "CSV results leave SSN out and say so",
                facts(xlsx(), 3, &[], false, READ),
                Some("r.csv"),
                &[
                    "header: row 3, below a title or notes in rows 1-2 (they name fewer fields); --header-row N reads another row",
                    "hidden columns: SSN (left out of the CSV results, which cannot hide a column)",
                    "other sheets not read: Notes (--sheet NAME reads another)",
                    "warning: hidden columns left out of the CSV results (a CSV cannot hide a column): SSN",
                ],
            ),
            (
                "--skip-hidden-rows",
                facts(xlsx(), 3, &[5], true, SKIP),
                Some("r.xlsx"),
                &[
                    "header: row 3, below a title or notes in rows 1-2 (they name fewer fields); --header-row N reads another row",
                    "hidden columns: SSN (kept hidden in the results)",
                    "hidden rows: 1 row hidden by a filter in the workbook was skipped (--skip-hidden-rows): row 5",
                    "other sheets not read: Notes (--sheet NAME reads another)",
                ],
            ),
            (
                "delete leaves hidden rows out by default",
                facts(InputInfo::default(), 1, &[5, 7], true, DELETE),
                Some("r.xlsx"),
                &[
                    "hidden rows: 2 rows hidden by a filter in the workbook were left out: rows 5, 7 (--include-hidden-rows reads them)",
                ],
            ),
            (
                "delete --include-hidden-rows",
                facts(InputInfo::default(), 1, &[5], false, DELETE_ALL),
                Some("r.xlsx"),
                &[
                    "hidden rows: 1 row hidden by a filter in the workbook was read (--include-hidden-rows): row 5",
                ],
            ),
            (
                "no results file: hidden columns are not the run's business",
                facts(xlsx(), 3, &[], false, READ),
                None,
                &[
                    "header: row 3, below a title or notes in rows 1-2 (they name fewer fields); --header-row N reads another row",
                    "other sheets not read: Notes (--sheet NAME reads another)",
                ],
            ),
        ];
        for (what, f, results, want) in cases {
            let (s, lines) = said(&f, results);
            assert_eq!(lines, *want, "{what}");
            assert_eq!(s.format.as_deref(), Some(f.info.format.as_str()), "{what}");
        }
    }

    #[test]
    fn hidden_rows_a_format_cannot_show_are_said_when_they_were_to_be_left_out() {
        let xls = || InputInfo {
            format: "xls".into(),
            hidden_unseen: true,
            ..Default::default()
        };
        let table: [(HiddenRows, Option<&str>); 4] = [
            (READ, None),
            (
                SKIP,
                Some(
                    "--skip-hidden-rows: hidden rows cannot be seen in .xls files, so every row was read; save the sheet as .xlsx to leave them out",
                ),
            ),
            (
                DELETE,
                Some(
                    "hidden rows cannot be seen in .xls files, so every row was read, rows hidden by a filter too; save the sheet as .xlsx to leave them out",
                ),
            ),
            (DELETE_ALL, None),
        ];
        for (hidden, want) in table {
            let f = facts(xls(), 1, &[], false, hidden);
            assert_eq!(f.unseen_warning().as_deref(), want, "{hidden:?}");
            let (s, _) = said(&f, Some("r.xlsx"));
            assert_eq!(s.warnings.first().map(String::as_str), want, "{hidden:?}");
        }
        let seen = facts(xlsx(), 1, &[], false, SKIP);
        assert_eq!(
            seen.unseen_warning(),
            None,
            "an .xlsx shows its hidden rows"
        );
    }

    #[test]
    fn hidden_rows_are_listed_for_the_confirmation() {
        let f = facts(InputInfo::default(), 1, &[4, 9], true, DELETE);
        assert_eq!(f.hidden_rows_left_out(), Some((2, "rows 4, 9".into())));
        assert_eq!(f.hidden_rows_read(), None);
        let f = facts(InputInfo::default(), 1, &[4], false, READ);
        assert_eq!(f.hidden_rows_read(), Some((1, "row 4".into())));
        assert_eq!(f.hidden_rows_left_out(), None);
        let mut many = RowList::default();
        for r in 0..25 {
            many.push(r + 2);
        }
        let f = facts(
            InputInfo::default(),
            1,
            &(2..27).collect::<Vec<_>>(),
            true,
            DELETE,
        );
        assert_eq!(f.hidden_rows_left_out(), Some((25, many.describe())));
        assert!(many.describe().ends_with("and 5 more"));
    }

    #[test]
    fn a_side_file_says_its_hidden_rows_and_total_row_only() {
        let f = facts(xlsx(), 3, &[6], false, READ);
        f.noticed.note_total_row(9, "Total");
        assert_eq!(
            f.file_notes(Path::new("ids.xlsx")),
            [
                "ids.xlsx: hidden rows: 1 row hidden by a filter in the workbook was read: row 6 (--skip-hidden-rows leaves them out)",
                "ids.xlsx: total row skipped: row 9 ('Total' and numbers) is a Total row, not a case",
            ],
            "no header, hidden column or sheet lines: export has no --header-row, --sheet or results"
        );
        let csv = InputInfo {
            format: "csv".into(),
            encoding_fallback: true,
            ..Default::default()
        };
        let notes = facts(csv, 1, &[], false, READ).file_notes(Path::new("ids.csv"));
        assert_eq!(
            notes,
            [
                "ids.csv: the file is not valid UTF-8; it was read as Windows-1252 (check accented letters)"
            ]
        );
    }

    #[test]
    fn a_windows_1252_fallback_is_warned_about() {
        let info = InputInfo {
            format: "csv".into(),
            encoding: Some("Windows-1252".into()),
            encoding_fallback: true,
            ..Default::default()
        };
        let (s, lines) = said(&facts(info, 1, &[], false, READ), Some("r.xlsx"));
        assert_eq!(s.encoding.as_deref(), Some("Windows-1252"));
        assert_eq!(
            lines,
            [
                "warning: the file is not valid UTF-8; it was read as Windows-1252 (check accented letters)"
            ]
        );
    }
}
