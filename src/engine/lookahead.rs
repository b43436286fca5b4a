//! The first rows of a case sheet, read once before the rest and then handed on unchanged: what
//! they show about each date column's order of day and month, and the `… (as read)` columns that
//! show each numeric date the way it was read. Bounded, so a million-row file is still read once.
//! Sends nothing and writes nothing.

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
