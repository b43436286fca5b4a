//! A Total row at the foot of a sheet: the last non-blank row, blank except for one label such as
//! `Total` and numbers or formula results. It is no case, so it is left out and the summary says
//! so; any other row, however odd, is passed on for the checks to judge. Works on every reader's
//! rows, one row behind them: the last row is only known to be the last once the next is read.

use super::{Facts, RawRow, ReadError, Rows};
use crate::cell::Cell;

/// Labels a person writes in the label cell of a Total row (compared trimmed, ignoring case and
/// a trailing colon).
const LABELS: &[&str] = &[
    "total",
    "totals",
    "grand total",
    "grand totals",
    "sum",
    "subtotal",
    "sub total",
    "sub-total",
    "overall total",
];

/// The label of a Total row, or None when the row is anything else. A Total row holds exactly one
/// text cell, a label from `LABELS`, and at least one number or formula result; every other cell
/// is blank.
pub(crate) fn total_label(cells: &[Cell]) -> Option<&str> {
    let mut label = None;
    let mut numbers = 0usize;
    for cell in cells {
        match cell {
            c if c.is_blank() => {}
            Cell::Int(_) | Cell::Float(_) | Cell::Error(_) => numbers += 1,
            Cell::Text(s) if looks_numeric(s) => numbers += 1,
            Cell::Text(s) if label.is_none() && is_label(s) => label = Some(s.trim()),
            _ => return None,
        }
    }
    label.filter(|_| numbers > 0)
}

fn is_label(text: &str) -> bool {
    let t = text.trim().trim_end_matches(':').trim().to_lowercase();
    LABELS.contains(&t.as_str())
}

/// Text a spreadsheet shows for a number or a formula: `1,234.50`, `$1 500`, `(12)`, `35%`,
/// `-3`, an error literal such as `#DIV/0!` (what a CSV holds where a formula failed), or a
/// formula saved as text (`=SUM(B2:B9)`).
fn looks_numeric(text: &str) -> bool {
    let t = text.trim();
    if t.starts_with('=') || (t.starts_with('#') && t.len() > 1) {
        return true;
    }
    let core = t
        .trim_start_matches(['(', '-', '+', '$', '€', '£'])
        .trim_end_matches([')', '%']);
    core.chars().any(|c| c.is_ascii_digit())
        && core
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | ' ' | '\u{a0}' | '\''))
}

/// Blank rows kept as runs of row numbers, not rows: a sheet may hold very many of them.
#[derive(Debug, Clone, Default)]
struct Blanks {
    /// (first row, how many), in order.
    runs: std::collections::VecDeque<(usize, usize)>,
    width: usize,
}

impl Blanks {
    fn push(&mut self, row: &RawRow) {
        self.width = row.cells.len();
        match self.runs.back_mut() {
            Some((first, n)) if *first + *n == row.source_row => *n += 1,
            _ => self.runs.push_back((row.source_row, 1)),
        }
    }

    fn pop(&mut self) -> Option<RawRow> {
        let (first, n) = self.runs.front_mut()?;
        let row = RawRow {
            source_row: *first,
            cells: vec![Cell::Empty; self.width],
        };
        *first += 1;
        *n -= 1;
        if *n == 0 {
            self.runs.pop_front();
        }
        Some(row)
    }
}

/// The rows of a reader with a trailing Total row left out (and noted in `facts`).
pub(crate) struct SkipTotal {
    inner: Box<dyn Rows>,
    facts: Facts,
    /// The last non-blank row read, not yet handed on: it may be the Total row.
    held: Option<RawRow>,
    /// Blank rows read after `held`.
    blanks: Option<Blanks>,
    /// Rows read and known not to be the last, handed on before anything else is read: an
    /// earlier held row, its blanks, then a read error.
    out_row: Option<RawRow>,
    out_blanks: Option<Blanks>,
    out_error: Option<ReadError>,
    ended: bool,
}

impl SkipTotal {
    pub(crate) fn new(inner: Box<dyn Rows>, facts: Facts) -> SkipTotal {
        SkipTotal {
            inner,
            facts,
            held: None,
            blanks: None,
            out_row: None,
            out_blanks: None,
            out_error: None,
            ended: false,
        }
    }

    /// The next row to hand on that was already read, in sheet order.
    fn waiting(&mut self) -> Option<Result<RawRow, ReadError>> {
        if let Some(row) = self.out_row.take() {
            return Some(Ok(row));
        }
        if let Some(row) = self.out_blanks.as_mut().and_then(Blanks::pop) {
            return Some(Ok(row));
        }
        self.out_error.take().map(Err)
    }

    /// The held row and its blanks are not the end of the sheet: hand them on.
    fn release(&mut self) {
        self.out_row = self.held.take();
        self.out_blanks = self.blanks.take();
    }
}

impl Iterator for SkipTotal {
    type Item = Result<RawRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        Rows::next_reusing(self, &mut Vec::new())
    }
}

impl Rows for SkipTotal {
    fn next_reusing(&mut self, spare: &mut Vec<Vec<Cell>>) -> Option<Self::Item> {
        loop {
            if let Some(row) = self.waiting() {
                return Some(row);
            }
            if self.ended {
                return None;
            }
            match self.inner.next_reusing(spare) {
                None => {
                    self.ended = true;
                    if let Some(row) = &self.held
                        && let Some(label) = total_label(&row.cells)
                    {
                        self.facts.note_total_row(row.source_row, label);
                        self.held = None;
                    }
                    self.release();
                }
                Some(Err(e)) => {
                    self.ended = true;
                    self.release();
                    self.out_error = Some(e);
                }
                Some(Ok(row)) if row.is_blank() && self.held.is_none() => return Some(Ok(row)),
                Some(Ok(row)) if row.is_blank() => {
                    self.blanks.get_or_insert_with(Blanks::default).push(&row);
                    spare.push(row.cells);
                }
                Some(Ok(row)) => {
                    self.release();
                    self.held = Some(row);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Plain;

    fn t(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }

    const E: Cell = Cell::Empty;

    #[test]
    fn total_rows_are_told_from_other_rows() {
        let cases: Vec<(&str, Vec<Cell>, Option<&str>)> = vec![
            (
                "label and a count",
                vec![t("Total"), E, Cell::Int(42)],
                Some("Total"),
            ),
            (
                "label after the numbers",
                vec![Cell::Float(1.5), t(" totals: ")],
                Some("totals:"),
            ),
            (
                "Grand Total",
                vec![E, t("Grand Total"), Cell::Int(3), Cell::Int(9)],
                Some("Grand Total"),
            ),
            ("Sum", vec![t("SUM"), Cell::Int(1)], Some("SUM")),
            (
                "Subtotal",
                vec![t("Sub-total"), Cell::Int(1)],
                Some("Sub-total"),
            ),
            (
                "a formula error counts as a formula",
                vec![t("Total"), Cell::Error("#REF!".into())],
                Some("Total"),
            ),
            (
                "CSV numbers",
                vec![t("Total"), t("1,234.50"), t("$1 500"), t("(12)"), t("35%")],
                Some("Total"),
            ),
            (
                "CSV formula text and error literal",
                vec![t("Total"), t("=SUM(B2:B9)"), t("#DIV/0!")],
                Some("Total"),
            ),
            (
                "no number: a label alone is not enough",
                vec![t("Total"), E],
                None,
            ),
            ("no label", vec![Cell::Int(3), Cell::Int(4)], None),
            (
                "another text beside the label",
                vec![t("Total"), t("clio"), Cell::Int(3)],
                None,
            ),
            ("two labels", vec![t("Total"), t("Sum"), Cell::Int(3)], None),
            (
                "a label that is a word in a case",
                vec![t("Total loss"), Cell::Int(3)],
                None,
            ),
            (
                "a date is not a total",
                vec![t("Total"), Cell::Date(chrono::NaiveDate::MIN)],
                None,
            ),
            (
                "a boolean is not a total",
                vec![t("Total"), Cell::Bool(true)],
                None,
            ),
            (
                "a case row",
                vec![t("2024-001"), t("clio"), t("A-1"), t("active")],
                None,
            ),
            (
                "text that is not a number",
                vec![t("Total"), t("12 cases")],
                None,
            ),
            ("a lone # is text", vec![t("Total"), t("#")], None),
            ("blank row", vec![E, t("  ")], None),
        ];
        for (what, cells, want) in cases {
            assert_eq!(total_label(&cells), want, "{what}");
        }
    }

    fn raw(n: usize, cells: Vec<Cell>) -> RawRow {
        RawRow {
            source_row: n,
            cells,
        }
    }

    /// The rows `SkipTotal` hands on, as (row, first cell) or the error text, and what it noted.
    fn run(rows: Vec<Result<RawRow, ReadError>>) -> (Vec<Result<usize, String>>, Option<usize>) {
        let facts = Facts::default();
        let skip = SkipTotal::new(Box::new(Plain(rows.into_iter())), facts.clone());
        let got = skip
            .map(|r| r.map(|r| r.source_row).map_err(|e| e.to_string()))
            .collect();
        (got, facts.snapshot().total_row.map(|t| t.row))
    }

    #[test]
    fn only_a_trailing_total_row_is_left_out() {
        let total = || vec![t("Total"), Cell::Int(2)];
        let case = || vec![t("A-1"), t("clio")];
        let blank = || vec![E, E];
        let err = || ReadError::new(std::path::Path::new("f.xlsx"), "broken");
        type Case = (
            &'static str,
            Vec<Result<RawRow, ReadError>>,
            Vec<Result<usize, String>>,
            Option<usize>,
        );
        let cases: Vec<Case> = vec![
            (
                "total at the end, after blank rows",
                vec![
                    Ok(raw(2, case())),
                    Ok(raw(3, case())),
                    Ok(raw(4, blank())),
                    Ok(raw(5, total())),
                ],
                vec![Ok(2), Ok(3), Ok(4)],
                Some(5),
            ),
            (
                "blank rows after the total are still counted",
                vec![
                    Ok(raw(2, case())),
                    Ok(raw(3, total())),
                    Ok(raw(4, blank())),
                    Ok(raw(5, blank())),
                ],
                vec![Ok(2), Ok(4), Ok(5)],
                Some(3),
            ),
            (
                "a total-looking row in the middle stays",
                vec![Ok(raw(2, total())), Ok(raw(3, blank())), Ok(raw(4, case()))],
                vec![Ok(2), Ok(3), Ok(4)],
                None,
            ),
            (
                "no total",
                vec![Ok(raw(2, case())), Ok(raw(3, case()))],
                vec![Ok(2), Ok(3)],
                None,
            ),
            (
                "leading blanks pass at once",
                vec![Ok(raw(2, blank())), Ok(raw(3, case()))],
                vec![Ok(2), Ok(3)],
                None,
            ),
            ("empty", vec![], vec![], None),
            ("only a total", vec![Ok(raw(2, total()))], vec![], Some(2)),
            (
                "a read error after a total-looking row: the row is kept, the error follows",
                vec![
                    Ok(raw(2, case())),
                    Ok(raw(3, total())),
                    Ok(raw(4, blank())),
                    Err(err()),
                ],
                vec![Ok(2), Ok(3), Ok(4), Err("f.xlsx: broken".into())],
                None,
            ),
            (
                "blank runs keep their row numbers across a gap (a hidden row left out)",
                vec![
                    Ok(raw(2, case())),
                    Ok(raw(3, blank())),
                    Ok(raw(5, blank())),
                    Ok(raw(6, case())),
                ],
                vec![Ok(2), Ok(3), Ok(5), Ok(6)],
                None,
            ),
        ];
        for (what, rows, want, noted) in cases {
            assert_eq!(run(rows), (want, noted), "{what}");
        }
    }

    #[test]
    fn rows_handed_on_keep_their_cells_and_spares_are_reused() {
        let facts = Facts::default();
        let rows = vec![
            Ok(raw(2, vec![t("A-1"), Cell::Int(1)])),
            Ok(raw(3, vec![E, E])),
            Ok(raw(4, vec![t("Total"), Cell::Int(1)])),
        ];
        let mut skip = SkipTotal::new(Box::new(Plain(rows.into_iter())), facts.clone());
        let mut spare = Vec::new();
        let first = skip.next_reusing(&mut spare).unwrap().unwrap();
        assert_eq!(first.cells, [t("A-1"), Cell::Int(1)]);
        let blank = skip.next_reusing(&mut spare).unwrap().unwrap();
        assert_eq!((blank.source_row, blank.cells.len()), (3, 2));
        assert!(blank.is_blank());
        assert!(skip.next_reusing(&mut spare).is_none());
        assert!(skip.next_reusing(&mut spare).is_none());
        assert_eq!(spare.len(), 1, "the blank row's cells went back for reuse");
        let noted = facts.snapshot().total_row.unwrap();
        assert_eq!((noted.row, noted.label.as_str()), (4, "Total"));
    }
}
