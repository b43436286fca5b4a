//! A row's cells packed into one allocation, for rows a run keeps from its one reading pass until
//! the results are written (import holds every row while it sends). A `Vec<Cell>` costs 32 bytes
//! a cell plus one allocation per text; packed, a row is its bytes and one allocation. Exact:
//! unpacking gives back the very cells. Pure.

use chrono::{DateTime, Datelike, NaiveDate};

use crate::cell::Cell;

/// Cells, packed: per cell a tag byte, then its value (text as a u32 length and UTF-8 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedCells(Box<[u8]>);

const EMPTY: u8 = 0;
const TEXT: u8 = 1;
const INT: u8 = 2;
const FLOAT: u8 = 3;
const BOOL: u8 = 4;
const DATE: u8 = 5;
const DATETIME: u8 = 6;
const ERROR: u8 = 7;

fn put_text(out: &mut Vec<u8>, tag: u8, s: &str) {
    out.push(tag);
    // A cell's text is far below 4 GiB (Excel stops at 32,767 characters; a CSV field the
    // reader accepts is bounded too); a longer one is cut rather than mis-packed.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX) as usize;
    let mut end = len.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&(end as u32).to_le_bytes());
    out.extend_from_slice(&s.as_bytes()[..end]);
}

impl PackedCells {
    pub fn pack(cells: &[Cell]) -> PackedCells {
        let mut out = Vec::with_capacity(cells.len() * 8);
        for c in cells {
            match c {
                Cell::Empty => out.push(EMPTY),
                Cell::Text(s) => put_text(&mut out, TEXT, s),
                Cell::Int(i) => {
                    out.push(INT);
                    out.extend_from_slice(&i.to_le_bytes());
                }
                Cell::Float(f) => {
                    out.push(FLOAT);
                    out.extend_from_slice(&f.to_bits().to_le_bytes());
                }
                Cell::Bool(b) => out.extend_from_slice(&[BOOL, u8::from(*b)]),
                Cell::Date(d) => {
                    out.push(DATE);
                    out.extend_from_slice(&d.num_days_from_ce().to_le_bytes());
                }
                Cell::DateTime(dt) => {
                    let utc = dt.and_utc();
                    out.push(DATETIME);
                    out.extend_from_slice(&utc.timestamp().to_le_bytes());
                    out.extend_from_slice(&utc.timestamp_subsec_nanos().to_le_bytes());
                }
                Cell::Error(e) => put_text(&mut out, ERROR, e),
            }
        }
        PackedCells(out.into_boxed_slice())
    }

    /// The cells back, exactly as packed.
    pub fn unpack(&self) -> Vec<Cell> {
        let mut cells = Vec::new();
        let mut r = Reader(&self.0);
        while let Some(tag) = r.byte() {
            let cell = match tag {
                EMPTY => Cell::Empty,
                TEXT => Cell::Text(r.text()),
                INT => Cell::Int(i64::from_le_bytes(r.array())),
                FLOAT => Cell::Float(f64::from_bits(u64::from_le_bytes(r.array()))),
                BOOL => Cell::Bool(r.byte() == Some(1)),
                DATE => NaiveDate::from_num_days_from_ce_opt(i32::from_le_bytes(r.array()))
                    .map_or(Cell::Empty, Cell::Date),
                DATETIME => {
                    let secs = i64::from_le_bytes(r.array());
                    let nanos = u32::from_le_bytes(r.array());
                    DateTime::from_timestamp(secs, nanos)
                        .map_or(Cell::Empty, |d| Cell::DateTime(d.naive_utc()))
                }
                _ => Cell::Error(r.text()),
            };
            cells.push(cell);
        }
        cells
    }

    /// Bytes held (for tests and measurements).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Reads what `pack` wrote; it only ever reads its own bytes, so a short read is a bug, and
/// yields zeros rather than a panic.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        let n = N.min(self.0.len());
        a[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        a
    }

    fn text(&mut self) -> String {
        let len = (u32::from_le_bytes(self.array()) as usize).min(self.0.len());
        let (s, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8_lossy(s).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip_exactly() {
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let rows: Vec<Vec<Cell>> = vec![
            vec![],
            vec![Cell::Empty],
            vec![
                Cell::Text("S-0000001".into()),
                Cell::Text(String::new()),
                Cell::Text("é 😀 \"quoted\", with\nnewline".into()),
                Cell::Int(i64::MIN),
                Cell::Int(2_024_001),
                Cell::Float(-0.5),
                Cell::Float(f64::MAX),
                Cell::Bool(true),
                Cell::Bool(false),
                Cell::Date(date),
                Cell::Date(NaiveDate::from_ymd_opt(1900, 1, 1).unwrap()),
                Cell::DateTime(date.and_hms_nano_opt(13, 5, 7, 123_456_789).unwrap()),
                Cell::Error("#N/A".into()),
                Cell::Empty,
            ],
        ];
        for row in rows {
            let packed = PackedCells::pack(&row);
            assert_eq!(packed.unpack(), row);
            assert_eq!(packed.is_empty(), row.is_empty());
        }
    }

    #[test]
    fn a_row_is_its_bytes() {
        let row = vec![Cell::Text("abc".into()), Cell::Int(1), Cell::Empty];
        // tag + length + 3 bytes, tag + 8 bytes, tag
        assert_eq!(PackedCells::pack(&row).len(), 1 + 4 + 3 + 1 + 8 + 1);
    }

    proptest::proptest! {
        #[test]
        fn any_text_round_trips(texts in proptest::collection::vec(".{0,40}", 0..8), n in proptest::num::i64::ANY) {
            let mut row: Vec<Cell> = texts.into_iter().map(Cell::Text).collect();
            row.push(Cell::Int(n));
            proptest::prop_assert_eq!(PackedCells::pack(&row).unpack(), row);
        }
    }
}
