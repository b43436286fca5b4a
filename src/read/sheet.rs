//! The rows of a worksheet, built from the cells a workbook reader yields in row order: cells
//! grouped into rows, the header found, and sparse rows turned into the dense, header-wide
//! `RawRow`s the rest of the tool reads. Pure: no I/O and no calamine types, so every rule is
//! tested on plain cell lists. The XLSX stream and the whole-sheet readers (XLS, ODS) both feed it,
//! so all workbook formats follow the same rules:
//!
//! - Only cells that hold something count (an empty-string cell does, a formatted empty one does
//!   not): rows without such a cell are yielded as blank rows when they lie between data rows,
//!   and not at all after the last one.
//! - The header is the row asked for, or else the row among the first `SEARCH_ROWS` that names
//!   the most fields (`header::choose`; the first row with a non-blank cell when none names any).
//! - The first column is the leftmost cell of the rows up to and including the header; cells left
//!   of it or past the header's width are dropped, short rows are padded.

use std::collections::VecDeque;

use super::header::{self, HeaderMatcher, SEARCH_ROWS};
use super::{RawRow, header_names};
use crate::cell::Cell;

/// Excel's grid. A cell outside it can only come from a damaged or hostile file, and refusing it
/// bounds every allocation made from a cell's position.
pub(crate) const MAX_ROWS: u32 = 1_048_576;
pub(crate) const MAX_COLUMNS: u32 = 16_384;

/// One cell that holds something, at its 0-based sheet row and column.
pub(crate) type Placed = (u32, u32, Cell);

/// A row holding at least one cell: its 0-based sheet row and its cells with their columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SparseRow {
    pub index: u32,
    pub cells: Vec<(u32, Cell)>,
}

/// Groups a row-ordered stream of cells into rows. The cells of one row may come in any column
/// order; a row that comes back after a later one is refused (Excel never writes one, and a
/// streaming reader cannot go back to it). After an error the stream ends.
pub(crate) struct SparseRows<I> {
    cells: I,
    /// The first cell of the next row, read while finishing the previous one.
    ahead: Option<Placed>,
    last: Option<u32>,
    failed: bool,
    /// The cells ran out: they are not asked again (calamine's reader would read past the end).
    ended: bool,
}

impl<I> SparseRows<I> {
    pub(crate) fn new(cells: I) -> SparseRows<I> {
        SparseRows {
            cells,
            ahead: None,
            last: None,
            failed: false,
            ended: false,
        }
    }
}

impl<I: Iterator<Item = Result<Placed, String>>> SparseRows<I> {
    /// The next cell, checked against Excel's grid.
    fn next_cell(&mut self) -> Option<Result<Placed, String>> {
        if self.ended {
            return None;
        }
        let Some(cell) = self.cells.next() else {
            self.ended = true;
            return None;
        };
        Some(cell.and_then(|(row, col, cell)| {
            if row >= MAX_ROWS || col >= MAX_COLUMNS {
                Err(format!(
                    "the file is damaged (a cell at row {}, column {} lies outside Excel's grid)",
                    u64::from(row) + 1,
                    u64::from(col) + 1
                ))
            } else {
                Ok((row, col, cell))
            }
        }))
    }

    fn fail(&mut self, message: String) -> Option<Result<SparseRow, String>> {
        self.failed = true;
        Some(Err(message))
    }
}

impl<I: Iterator<Item = Result<Placed, String>>> Iterator for SparseRows<I> {
    type Item = Result<SparseRow, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let (index, col, cell) = match self.ahead.take() {
            Some(first) => first,
            None => match self.next_cell()? {
                Ok(first) => first,
                Err(e) => return self.fail(e),
            },
        };
        if let Some(last) = self.last
            && index <= last
        {
            return self.fail(format!(
                "the file is damaged (row {} comes after row {})",
                u64::from(index) + 1,
                u64::from(last) + 1
            ));
        }
        let mut cells = vec![(col, cell)];
        loop {
            match self.next_cell() {
                None => break,
                Some(Err(e)) => return self.fail(e),
                Some(Ok((row, col, cell))) if row == index => cells.push((col, cell)),
                Some(Ok(next)) => {
                    self.ahead = Some(next);
                    break;
                }
            }
        }
        self.last = Some(index);
        Some(Ok(SparseRow { index, cells }))
    }
}

/// The header row, as found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    pub names: Vec<String>,
    /// 1-based Excel row number.
    pub row: usize,
    /// 0-based sheet column of the first header column.
    pub first_col: u32,
    /// The first row with a non-blank cell (1-based), when the header was found below it.
    pub below: Option<usize>,
}

/// Rows read past the header while looking for it (they come first in `DenseRows`), and the
/// error that stopped the reading there, if one did (it comes after them, as it would have).
#[derive(Debug, Default)]
pub(crate) struct Ahead {
    rows: VecDeque<SparseRow>,
    error: Option<String>,
}

/// The header, and what was read past it.
pub(crate) type Found = (Header, Ahead);

fn has_text(row: &SparseRow) -> bool {
    row.cells.iter().any(|(_, c)| !c.is_blank())
}

/// Read rows up to the header: the 1-based Excel row `wanted`, or else the best of the first
/// `SEARCH_ROWS` rows by `matcher` (see the module notes). The rows after it stay in `rows`, or
/// in the returned queue when they were read while looking.
pub(crate) fn find_header<I>(
    rows: &mut SparseRows<I>,
    wanted: Option<usize>,
    matcher: Option<&HeaderMatcher>,
) -> Result<Found, String>
where
    I: Iterator<Item = Result<Placed, String>>,
{
    let Some(n) = wanted else {
        return search_header(rows, matcher);
    };
    let blank =
        |n: usize| format!("row {n} is blank, so it cannot be the header (--header-row {n})");
    let mut above: Vec<SparseRow> = Vec::new();
    let mut last: Option<u32> = None;
    for row in rows {
        let row = row?;
        last = Some(row.index);
        let index = row.index as usize;
        if index > n.saturating_sub(1) {
            // The asked-for row holds no cell at all.
            return Err(blank(n));
        }
        if index < n.saturating_sub(1) {
            above.push(row);
            continue;
        }
        if !has_text(&row) {
            return Err(blank(n));
        }
        above.push(row);
        return Ok((header_of(&above, above.len() - 1, None), Ahead::default()));
    }
    Err(format!(
        "no header on row {n}: the sheet ends at row {}",
        last.map_or(0, |l| u64::from(l) + 1)
    ))
}

/// Look for the header among the first `SEARCH_ROWS` rows, reading one row past them (kept for
/// the data); when they hold no text, the first row that does is the header.
fn search_header<I>(
    rows: &mut SparseRows<I>,
    matcher: Option<&HeaderMatcher>,
) -> Result<Found, String>
where
    I: Iterator<Item = Result<Placed, String>>,
{
    let mut read: Vec<SparseRow> = Vec::new();
    let mut error = None;
    for row in rows.by_ref() {
        let row = match row {
            Ok(row) => row,
            // Damage below a row with text: the header is chosen from what was read, and the
            // error follows the rows before it.
            Err(e) if read.iter().any(has_text) => {
                error = Some(e);
                break;
            }
            Err(e) => return Err(e),
        };
        let past = row.index as usize >= SEARCH_ROWS;
        let text = has_text(&row);
        read.push(row);
        if past && (text || read.iter().any(has_text)) {
            break;
        }
    }
    let mut pool: Vec<usize> = (0..read.len())
        .filter(|&i| has_text(&read[i]) && (read[i].index as usize) < SEARCH_ROWS)
        .collect();
    if pool.is_empty() {
        // No text in the first rows: the first row with text, wherever it is.
        pool.extend((0..read.len()).filter(|&i| has_text(&read[i])).take(1));
    }
    let Some(&first) = pool.first() else {
        return Err("the sheet is empty: no header row found".to_string());
    };
    let texts: Vec<Vec<String>> = pool
        .iter()
        .map(|&i| read[i].cells.iter().map(|(_, c)| c.to_text()).collect())
        .collect();
    let chosen = pool[header::choose(&texts, matcher)];
    let below = (chosen != first).then(|| read[first].index as usize + 1);
    let header = header_of(&read[..=chosen], chosen, below);
    let rows: VecDeque<SparseRow> = read.drain(chosen + 1..).collect();
    Ok((header, Ahead { rows, error }))
}

/// The header made of `rows[at]`, its first column the leftmost cell of `rows[..=at]`.
fn header_of(rows: &[SparseRow], at: usize, below: Option<usize>) -> Header {
    let first_col = rows
        .iter()
        .flat_map(|r| r.cells.iter().map(|(c, _)| *c))
        .min()
        .unwrap_or(0);
    let row = &rows[at];
    let end = row.cells.iter().map(|(c, _)| *c).max().unwrap_or(first_col);
    let mut texts = vec![String::new(); (end - first_col) as usize + 1];
    for (c, cell) in &row.cells {
        if let Some(slot) = texts.get_mut((c - first_col) as usize) {
            *slot = cell.to_text();
        }
    }
    Header {
        names: header_names(&texts, first_col as usize),
        row: row.index as usize + 1,
        first_col,
        below,
    }
}

/// The rows after the header, one `RawRow` per sheet row up to the last row holding a cell: rows
/// with no cell come out blank, so they are counted.
pub(crate) struct DenseRows<I> {
    rows: SparseRows<I>,
    /// Rows read past the header while looking for it, yielded before `rows` is read further.
    read: Ahead,
    first_col: u32,
    width: usize,
    /// 0-based sheet row of the next row to yield.
    next: u32,
    /// The next row holding cells, once read; `next` is at or before it.
    ahead: Option<SparseRow>,
    done: bool,
}

impl<I> DenseRows<I> {
    /// The rows after the header that `find_header` found: `read`, those it read past the
    /// header, then the rest of `rows`.
    pub(crate) fn new(rows: SparseRows<I>, header: &Header, read: Ahead) -> DenseRows<I> {
        DenseRows {
            rows,
            read,
            first_col: header.first_col,
            width: header.names.len(),
            // `header.row` is 1-based, so it is also the 0-based index of the row after it.
            next: u32::try_from(header.row).unwrap_or(u32::MAX),
            ahead: None,
            done: false,
        }
    }
}

impl<I: Iterator<Item = Result<Placed, String>>> Iterator for DenseRows<I> {
    type Item = Result<RawRow, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ahead.is_none() {
            self.ahead = self.read.rows.pop_front();
        }
        if self.ahead.is_none() {
            if self.done {
                return None;
            }
            if let Some(e) = self.read.error.take() {
                self.done = true;
                return Some(Err(e));
            }
            match self.rows.next() {
                None => {
                    self.done = true;
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(row)) => self.ahead = Some(row),
            }
        }
        let index = self.next;
        self.next = self.next.saturating_add(1);
        let mut cells = vec![Cell::Empty; self.width];
        if let Some(row) = self.ahead.take_if(|row| row.index <= index) {
            for (c, cell) in row.cells {
                if let Some(slot) = c
                    .checked_sub(self.first_col)
                    .and_then(|i| cells.get_mut(i as usize))
                {
                    *slot = cell;
                }
            }
        }
        Some(Ok(RawRow {
            source_row: index as usize + 1,
            cells,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }

    const E: Cell = Cell::Empty;

    /// Cells given as Excel addresses, e.g. `("B3", t("x"))`.
    fn placed(cells: &[(&str, Cell)]) -> Vec<Result<Placed, String>> {
        cells
            .iter()
            .map(|(addr, cell)| {
                let letters: String = addr.chars().take_while(char::is_ascii_uppercase).collect();
                let col = letters
                    .bytes()
                    .fold(0u32, |n, b| n * 26 + u32::from(b - b'A') + 1)
                    - 1;
                let row: u32 = addr[letters.len()..].parse::<u32>().unwrap() - 1;
                Ok((row, col, cell.clone()))
            })
            .collect()
    }

    type Read = Result<(Header, Vec<(usize, Vec<Cell>)>), String>;

    /// Find the header, then read every row; the first error ends the reading.
    fn read(cells: Vec<Result<Placed, String>>, wanted: Option<usize>) -> Read {
        read_matching(cells, wanted, None)
    }

    fn read_matching(
        cells: Vec<Result<Placed, String>>,
        wanted: Option<usize>,
        matcher: Option<&HeaderMatcher>,
    ) -> Read {
        let mut rows = SparseRows::new(cells.into_iter());
        let (header, read) = find_header(&mut rows, wanted, matcher)?;
        let dense = DenseRows::new(rows, &header, read)
            .map(|r| r.map(|r| (r.source_row, r.cells)))
            .collect::<Result<Vec<_>, String>>()?;
        Ok((header, dense))
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rows_header_and_padding() {
        struct Case {
            what: &'static str,
            cells: Vec<(&'static str, Cell)>,
            wanted: Option<usize>,
            /// Header names, header row, first column.
            header: (&'static [&'static str], usize, u32),
            rows: Vec<(usize, Vec<Cell>)>,
        }
        let cases = vec![
            Case {
                what: "plain sheet from A1",
                cells: vec![
                    ("A1", t("a")),
                    ("B1", t("b")),
                    ("A2", Cell::Int(1)),
                    ("B2", t("x")),
                ],
                wanted: None,
                header: (&["a", "b"], 1, 0),
                rows: vec![(2, vec![Cell::Int(1), t("x")])],
            },
            Case {
                what: "sparse rows: missing rows are blank, short rows padded, long rows cut",
                cells: vec![
                    ("A1", t("a")),
                    ("B1", t("b")),
                    ("B3", t("y")),
                    ("A6", t("z")),
                    ("C6", t("past the header")),
                ],
                wanted: None,
                header: (&["a", "b"], 1, 0),
                rows: vec![
                    (2, vec![E, E]),
                    (3, vec![E, t("y")]),
                    (4, vec![E, E]),
                    (5, vec![E, E]),
                    (6, vec![t("z"), E]),
                ],
            },
            Case {
                what: "used range starts at B3; cells in any column order",
                cells: vec![
                    ("C3", t("b")),
                    ("B3", t("a")),
                    ("B4", t("1")),
                    ("A5", t("left of the header: dropped")),
                    ("C5", t("2")),
                ],
                wanted: None,
                header: (&["a", "b"], 3, 1),
                rows: vec![(4, vec![t("1"), E]), (5, vec![E, t("2")])],
            },
            Case {
                what: "a title above the header sets the first column",
                cells: vec![
                    ("A1", t("Report")),
                    ("B3", t("a")),
                    ("C3", t("b")),
                    ("B4", t("1")),
                ],
                wanted: Some(3),
                header: (&["column_A", "a", "b"], 3, 0),
                rows: vec![(4, vec![E, t("1"), E])],
            },
            Case {
                what: "blank-looking rows before the header are skipped; empty text counts as a cell",
                cells: vec![
                    ("A1", t("  ")),
                    ("A2", t("")),
                    ("A3", t("a")),
                    ("C3", t("c")),
                    ("A5", t("")),
                    ("A6", t("1")),
                ],
                wanted: None,
                header: (&["a", "column_B", "c"], 3, 0),
                rows: vec![
                    (4, vec![E, E, E]),
                    (5, vec![t(""), E, E]),
                    (6, vec![t("1"), E, E]),
                ],
            },
            Case {
                what: "trailing empty header cells are dropped; a row with cells past the header only is blank",
                cells: vec![
                    ("A1", t("a")),
                    ("B1", t(" ")),
                    ("D2", t("far")),
                    ("A3", Cell::Bool(true)),
                ],
                wanted: None,
                header: (&["a"], 1, 0),
                rows: vec![(2, vec![E]), (3, vec![Cell::Bool(true)])],
            },
            Case {
                what: "header row asked for below other rows; a repeated row element merges",
                cells: vec![
                    ("A1", t("title")),
                    ("A2", t("a")),
                    ("A2", t("a2")),
                    ("B2", t("b")),
                    ("A3", Cell::Int(7)),
                ],
                wanted: Some(2),
                header: (&["a2", "b"], 2, 0),
                rows: vec![(3, vec![Cell::Int(7), E])],
            },
            Case {
                what: "header only",
                cells: vec![("A1", t("a"))],
                wanted: None,
                header: (&["a"], 1, 0),
                rows: vec![],
            },
            Case {
                what: "typed header cells read as their text",
                cells: vec![("A1", Cell::Int(2024)), ("B1", Cell::Bool(false))],
                wanted: None,
                header: (&["2024", "false"], 1, 0),
                rows: vec![],
            },
        ];
        for c in cases {
            let got =
                read(placed(&c.cells), c.wanted).unwrap_or_else(|e| panic!("{}: {e}", c.what));
            let (names_want, row, first_col) = c.header;
            assert_eq!(
                got.0,
                Header {
                    names: names(names_want),
                    row,
                    first_col,
                    below: None,
                },
                "{}",
                c.what
            );
            assert_eq!(got.1, c.rows, "{}", c.what);
        }
    }

    #[test]
    fn header_and_stream_errors() {
        let sheet = || {
            vec![
                ("A1", t("Report")),
                ("A3", t("a")),
                ("B3", t("b")),
                ("A4", t("  ")),
                ("A6", t("1")),
            ]
        };
        type Cells = Vec<Result<Placed, String>>;
        let cases: Vec<(&str, Cells, Option<usize>, &str)> = vec![
            (
                "empty sheet",
                vec![],
                None,
                "the sheet is empty: no header row found",
            ),
            (
                "only blank text",
                placed(&[("A1", t(" ")), ("B2", t(""))]),
                None,
                "the sheet is empty",
            ),
            (
                "asked-for row has no cell",
                placed(&sheet()),
                Some(2),
                "row 2 is blank, so it cannot be the header (--header-row 2)",
            ),
            (
                "asked-for row has only blank text",
                placed(&sheet()),
                Some(4),
                "row 4 is blank",
            ),
            (
                "asked-for row past the end",
                placed(&sheet()),
                Some(9),
                "no header on row 9: the sheet ends at row 6",
            ),
            (
                "asked-for row of an empty sheet",
                vec![],
                Some(3),
                "no header on row 3: the sheet ends at row 0",
            ),
            (
                "rows out of order",
                placed(&[("A1", t("a")), ("A3", t("x")), ("A2", t("y"))]),
                None,
                "the file is damaged (row 2 comes after row 3)",
            ),
            (
                "a row split around another",
                placed(&[
                    ("A1", t("a")),
                    ("A2", t("x")),
                    ("A3", t("y")),
                    ("B2", t("z")),
                ]),
                None,
                "row 2 comes after row 3",
            ),
            (
                "a row past Excel's last row",
                vec![Ok((0, 0, t("a"))), Ok((MAX_ROWS, 0, t("x")))],
                None,
                "a cell at row 1048577, column 1 lies outside Excel's grid",
            ),
            (
                "a column past Excel's last column",
                vec![Ok((0, MAX_COLUMNS, t("a")))],
                None,
                "a cell at row 1, column 16385 lies outside Excel's grid",
            ),
            (
                "a reader error in the header",
                vec![Ok((0, 0, t(" "))), Err("the file is damaged (XML)".into())],
                None,
                "the file is damaged (XML)",
            ),
            (
                "a reader error mid-sheet",
                vec![
                    Ok((0, 0, t("a"))),
                    Ok((1, 0, t("1"))),
                    Err("the file is damaged (XML)".into()),
                ],
                None,
                "the file is damaged (XML)",
            ),
        ];
        for (what, cells, wanted, want) in cases {
            match read(cells, wanted) {
                Ok(got) => panic!("{what}: read {got:?}"),
                Err(e) => assert!(e.contains(want), "{what}: {e}"),
            }
        }
    }

    #[test]
    fn rows_before_an_error_are_yielded_and_the_stream_then_ends() {
        let cells = vec![
            Ok((0, 0, t("a"))),
            Ok((1, 0, t("1"))),
            Ok((3, 0, t("2"))),
            Err("broken".to_string()),
            Ok((9, 0, t("never"))),
        ];
        let mut rows = SparseRows::new(cells.into_iter());
        let (header, read) = find_header(&mut rows, None, None).unwrap();
        let got: Vec<Result<usize, String>> = DenseRows::new(rows, &header, read)
            .map(|r| r.map(|r| r.source_row))
            .collect();
        // Row 4 was being gathered when the error came: neither it nor the blank row 3 before it
        // is yielded, and nothing after the error is read.
        assert_eq!(got, vec![Ok(2), Err("broken".to_string())]);
    }

    #[test]
    fn the_cells_are_not_asked_again_after_their_end() {
        // calamine's cell reader, asked again after the end of the sheet, reads past it and
        // reports damage: a source that does the same must still read cleanly.
        let mut cells = placed(&[("A1", t("a")), ("A2", t("1"))]).into_iter();
        let mut ended = false;
        let source = std::iter::from_fn(move || {
            if ended {
                return Some(Err("read past the end".to_string()));
            }
            let next = cells.next();
            ended = next.is_none();
            next
        });
        let mut rows = SparseRows::new(source);
        let (header, read) = find_header(&mut rows, None, None).unwrap();
        let mut dense = DenseRows::new(rows, &header, read);
        assert_eq!(dense.next().map(|r| r.map(|r| r.source_row)), Some(Ok(2)));
        for _ in 0..3 {
            assert!(dense.next().is_none());
        }
    }

    #[test]
    fn the_header_is_the_row_naming_the_most_fields() {
        let fields = HeaderMatcher::new(|h| {
            ["case #", "status", "source"].contains(&h.to_lowercase().as_str())
        });
        struct Case {
            what: &'static str,
            cells: Vec<(String, Cell)>,
            /// Header names, row, first column, first non-empty row when below it.
            header: (Vec<&'static str>, usize, u32, Option<usize>),
            rows: Vec<usize>,
        }
        let at = |a: &str, c: Cell| (a.to_string(), c);
        let cases = vec![
            Case {
                what: "merged title on row 1, blank row, header on row 3",
                cells: vec![
                    at("A1", t("Smith & Alvarez — Open Matters")),
                    at("A3", t("Case #")),
                    at("B3", t("Status")),
                    at("A4", t("1")),
                    at("B4", t("open")),
                ],
                header: (vec!["Case #", "Status"], 3, 0, Some(1)),
                rows: vec![4],
            },
            Case {
                what: "header on row 1 stays, and data rows read during the search come back in order",
                cells: vec![
                    at("A1", t("Case #")),
                    at("B1", t("Status")),
                    at("A2", t("1")),
                    at("A5", t("Status")),
                    at("A40", t("late")),
                ],
                header: (vec!["Case #", "Status"], 1, 0, None),
                rows: (2..=40).collect(),
            },
            Case {
                what: "a header below row 30 is out of reach: the first row with text is taken",
                cells: vec![
                    at("A2", t("Report")),
                    at("A31", t("Case #")),
                    at("B31", t("Status")),
                    at("A32", t("1")),
                ],
                header: (vec!["Report"], 2, 0, None),
                rows: (3..=32).collect(),
            },
            Case {
                what: "the first rows hold no text: the first row with text, past them",
                cells: vec![at("A1", t(" ")), at("B45", t("Case #")), at("B46", t("1"))],
                header: (vec!["column_A", "Case #"], 45, 0, None),
                rows: vec![46],
            },
        ];
        for c in cases {
            let cells: Vec<(&str, Cell)> = c
                .cells
                .iter()
                .map(|(a, v)| (a.as_str(), v.clone()))
                .collect();
            let mut rows = SparseRows::new(placed(&cells).into_iter());
            let (header, read) = find_header(&mut rows, None, Some(&fields))
                .unwrap_or_else(|e| panic!("{}: {e}", c.what));
            let (names_want, row, first_col, below) = &c.header;
            assert_eq!(
                header,
                Header {
                    names: names(names_want),
                    row: *row,
                    first_col: *first_col,
                    below: *below,
                },
                "{}",
                c.what
            );
            let got: Vec<usize> = DenseRows::new(rows, &header, read)
                .map(|r| r.unwrap().source_row)
                .collect();
            assert_eq!(got, c.rows, "{}", c.what);
        }
        // Row 4 is blank in the first case: the rows are dense as always.
        let got = read_matching(
            placed(&[("A1", t("Title")), ("A3", t("Status")), ("A5", t("x"))]),
            None,
            Some(&fields),
        )
        .unwrap();
        assert_eq!(got.1.iter().map(|r| r.0).collect::<Vec<_>>(), [4, 5]);
    }
}
