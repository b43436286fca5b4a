//! The first rows of a case sheet, read once before the rest and then handed on unchanged: what
//! they show about each date column's order of day and month, and the `… (as read)` columns that
//! show each numeric date the way it was read. Bounded, so a million-row file is still read once.
//! Sends nothing and writes nothing.
//!
//! Measured on the 1,000,000-row bench CSV (`scripts/bench` data: `court_date` written
//! `12/31/2020`, proved month-first by its first row), release build, validate to CSV results,
//! four alternating runs each on a loaded 2-core machine: 2.2 s CPU (user + sys) before, 2.45 s
//! after; peak RSS 135-139 MiB both. The look-ahead itself is 1,000 rows read earlier, not again;
//! the difference is the `court_date (as read)` column (a date parse and 11 MB more output).

use std::collections::VecDeque;

use crate::cell::Cell;
use crate::check::Rules;
use crate::check::dates::{Clues, Decision, order_flag, order_words};
use crate::check::rules::{DateOrder, format_date, parse_date};
use crate::entity::Kind;
use crate::map::Mapping;
use crate::read::{RawRow, ReadError, Rows};

/// How many non-blank rows are read ahead. Proof of a column's order (a day above 12) is usually
/// in its first dozen rows; a thousand rows cost a few hundred kilobytes and a millisecond.
pub const LOOK_AHEAD_ROWS: usize = 1000;

/// The rows read ahead, then the rest of the sheet.
pub struct Ahead {
    buf: VecDeque<Result<RawRow, ReadError>>,
    rest: Box<dyn Rows>,
}

impl Iterator for Ahead {
    type Item = Result<RawRow, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.buf.pop_front().or_else(|| self.rest.next())
    }
}

impl Rows for Ahead {
    fn next_reusing(&mut self, spare: &mut Vec<Vec<Cell>>) -> Option<Self::Item> {
        match self.buf.pop_front() {
            Some(r) => Some(r),
            None => self.rest.next_reusing(spare),
        }
    }
}

/// Read up to `max` non-blank rows (stopping at a read error or the end) and return them with a
/// reader that yields them again, then the rest.
pub fn look_ahead(mut rows: Box<dyn Rows>, max: usize) -> Ahead {
    let mut buf = VecDeque::new();
    let mut seen = 0;
    while seen < max {
        match rows.next() {
            Some(Ok(r)) => {
                seen += usize::from(!r.is_blank());
                buf.push_back(Ok(r));
            }
            Some(Err(e)) => {
                buf.push_back(Err(e));
                break;
            }
            None => break,
        }
    }
    Ahead { buf, rest: rows }
}

impl Ahead {
    /// The non-blank rows read ahead.
    pub fn sample(&self) -> Vec<&RawRow> {
        self.buf
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .filter(|r| !r.is_blank())
            .collect()
    }
}

/// One date column whose numeric dates are shown as read in the results.
#[derive(Debug, Clone)]
struct AsRead {
    slot: usize,
    col: usize,
    order: DateOrder,
}

/// How each date column is read, and what the summary says about it.
#[derive(Debug, Clone, Default)]
pub struct DateColumns {
    /// For the summary's reading part: one line per column whose order was proved.
    pub lines: Vec<String>,
    /// Columns whose order is a guess, or mixed.
    pub warnings: Vec<String>,
    as_read: Vec<AsRead>,
    /// The results' header of each `as_read` column.
    headers: Vec<String>,
}

impl DateColumns {
    /// The results' extra columns: `HEADER (as read)` for each date column that holds numeric
    /// dates, so a person sees `2024-03-05` beside `05/03/2024`.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The `(as read)` cells of one input row: the date as `YYYY-MM-DD` (text, so no program
    /// shows it in another order again), or empty when the cell is not numeric text or no date.
    pub fn cells(&self, raw: &RawRow) -> Vec<Cell> {
        self.as_read
            .iter()
            .map(|a| match raw.cells.get(a.col) {
                Some(c @ Cell::Text(s)) if s.bytes().any(|b| matches!(b, b'/' | b'.' | b'-')) => {
                    parse_date(c, a.order)
                        .map(|d| Cell::Text(format_date(d)))
                        .unwrap_or(Cell::Empty)
                }
                _ => Cell::Empty,
            })
            .collect()
    }

    /// Whether `slot`'s dates are shown as read.
    pub fn shows(&self, slot: usize) -> bool {
        self.as_read.iter().any(|a| a.slot == slot)
    }
}

/// Decide each mapped date column's order from its values in `sample`, set it on `rules`, and
/// say so. `flag` (`--date-order`) wins over what the values show.
pub fn learn_date_orders(
    mapping: &Mapping,
    rules: &mut Rules,
    sample: &[&RawRow],
    flag: Option<DateOrder>,
) -> DateColumns {
    let entity = mapping.entity();
    let mut out = DateColumns::default();
    let columns: Vec<(usize, usize)> = (0..entity.slot_count())
        .filter(|&slot| entity.slot(slot).kind == Kind::Date)
        .filter_map(|slot| Some((slot, mapping.column_of(entity.slot(slot).name)?)))
        .collect();
    if columns.is_empty() {
        return out;
    }
    let mut clues = vec![Clues::default(); columns.len()];
    for row in sample {
        let mapped = mapping.apply(row);
        for (k, (slot, _)) in columns.iter().enumerate() {
            if let Some(v) = mapped.values[*slot] {
                clues[k].add(row.source_row, v.cell);
            }
        }
    }
    for ((slot, col), clues) in columns.into_iter().zip(clues) {
        let decision = clues.decide(rules.date_order);
        if matches!(decision, Decision::Clear(_)) {
            continue;
        }
        let header = mapping.header(col).to_string();
        let order = match flag {
            Some(o) => o,
            None => {
                describe(&decision, &header, entity.slot(slot).name, &mut out);
                rules.read_dates(slot, decision.order(), decision.proved());
                decision.order()
            }
        };
        out.as_read.push(AsRead { slot, col, order });
        out.headers.push(format!("{header} (as read)"));
    }
    out
}

/// The summary's words for one column's decision.
fn describe(decision: &Decision, header: &str, field: &str, out: &mut DateColumns) {
    let other = |o: DateOrder| match o {
        DateOrder::Dmy => DateOrder::Mdy,
        _ => DateOrder::Dmy,
    };
    match decision {
        Decision::Proved(order, seen) => out.lines.push(format!(
            "'{header}' ({field}) is read {} throughout: '{}' on row {} can only be read that way",
            order_words(*order),
            seen.text,
            seen.row
        )),
        Decision::Mixed {
            order,
            day_first,
            month_first,
        } => out.warnings.push(format!(
            "'{header}' ({field}) mixes day-first dates ('{}' on row {}) and month-first ones ('{}' on row {}); its dates are read {} (--date-order {}), and those that only read the other way are invalid",
            day_first.text,
            day_first.row,
            month_first.text,
            month_first.row,
            order_words(*order),
            order_flag(*order)
        )),
        Decision::Unproved {
            order,
            ambiguous,
            example,
        } => out.warnings.push(format!(
            "'{header}' ({field}): {ambiguous} dates in the first rows, such as '{}' on row {}, read differently day-first and month-first, and none shows which; they are read {}: if they are {}, run again with --date-order {}",
            example.text,
            example.row,
            order_words(*order),
            order_words(other(*order)),
            order_flag(other(*order))
        )),
        Decision::Clear(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Rules;
    use crate::entity::CASES;
    use crate::map::MapOptions;
    use crate::read::Plain;

    fn row(n: usize, date: &str) -> RawRow {
        let t = |s: &str| Cell::Text(s.into());
        RawRow {
            source_row: n,
            cells: vec![t("N"), t("x"), t("y"), t("active"), t("civil"), t(date)],
        }
    }

    #[test]
    fn rows_read_ahead_come_again_in_order_then_the_rest() {
        let rows: Vec<Result<RawRow, ReadError>> = (2..10)
            .map(|n| {
                Ok(if n == 4 {
                    RawRow {
                        source_row: n,
                        cells: vec![],
                    }
                } else {
                    row(n, "")
                })
            })
            .collect();
        let ahead = look_ahead(Box::new(Plain(rows.into_iter())), 3);
        let sample: Vec<usize> = ahead.sample().iter().map(|r| r.source_row).collect();
        assert_eq!(
            sample,
            [2, 3, 5],
            "three non-blank rows, the blank one kept but not sampled"
        );
        let all: Vec<usize> = ahead.map(|r| r.unwrap().source_row).collect();
        assert_eq!(all, (2..10).collect::<Vec<_>>());
    }

    #[test]
    fn each_date_column_is_read_in_the_order_its_rows_prove() {
        let headers: Vec<String> = [
            "case_number",
            "external_source",
            "external_source_id",
            "status",
            "type",
            "Opened",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mapping = Mapping::build(&CASES, &headers, &MapOptions::default()).unwrap();
        let slot = CASES.field_index("created_date").unwrap();
        // (the column's values, --date-order, the order used, lines, warnings, as-read columns, the
        // first value as read)
        type Case<'a> = (
            &'a [&'a str],
            Option<DateOrder>,
            DateOrder,
            usize,
            usize,
            usize,
            &'a str,
        );
        let cases: &[Case] = &[
            (
                &["05/03/2024", "25/01/2024"],
                None,
                DateOrder::Dmy,
                1,
                0,
                1,
                "2024-03-05",
            ),
            (
                &["05/03/2024", "01/25/2024"],
                None,
                DateOrder::Mdy,
                1,
                0,
                1,
                "2024-05-03",
            ),
            (
                &["05/03/2024", "06/03/2024"],
                None,
                DateOrder::Mdy,
                0,
                1,
                1,
                "2024-05-03",
            ),
            // Mixed: read month-first, so the day-first value is no date (and its row invalid).
            (
                &["25/01/2024", "01/25/2024"],
                None,
                DateOrder::Mdy,
                0,
                1,
                1,
                "",
            ),
            (&["2024-03-05", ""], None, DateOrder::Mdy, 0, 0, 0, ""),
            (
                &["05/03/2024", "01/25/2024"],
                Some(DateOrder::Dmy),
                DateOrder::Dmy,
                0,
                0,
                1,
                "2024-03-05",
            ),
        ];
        for (values, flag, want, lines, warnings, shown, first) in cases {
            let rows: Vec<RawRow> = values
                .iter()
                .enumerate()
                .map(|(i, v)| row(i + 2, v))
                .collect();
            let sample: Vec<&RawRow> = rows.iter().collect();
            let mut rules = Rules::new(&CASES, flag.unwrap_or_default());
            let got = learn_date_orders(&mapping, &mut rules, &sample, *flag);
            assert_eq!(rules.date_order_of(slot), *want, "{values:?}");
            assert_eq!(got.lines.len(), *lines, "{values:?}: {:?}", got.lines);
            assert_eq!(
                got.warnings.len(),
                *warnings,
                "{values:?}: {:?}",
                got.warnings
            );
            assert_eq!(got.headers().len(), *shown, "{values:?}");
            assert_eq!(got.shows(slot), *shown == 1);
            if *shown == 1 {
                assert_eq!(got.headers(), ["Opened (as read)"]);
                let as_read: Vec<Cell> = rows.iter().flat_map(|r| got.cells(r)).collect();
                let want_first = match *first {
                    "" => Cell::Empty,
                    d => Cell::Text(d.into()),
                };
                assert_eq!(as_read[0], want_first, "{values:?}");
            }
        }
    }
}
