//! One spreadsheet cell as read from any input format, before it means anything. Readers produce
//! these; mapping and validation consume them; the results writers echo them back unchanged.

use chrono::{NaiveDate, NaiveDateTime};

/// A cell value with the type the spreadsheet gave it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    #[default]
    Empty,
    /// Text exactly as stored (leading zeros kept). CSV fields are always text.
    Text(String),
    /// An integral number (Excel stores every number as a float; integral ones land here).
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    /// An error cell such as `#N/A` or `#DIV/0!`, carrying its text.
    Error(String),
}

impl Cell {
    /// Empty, or text that is only whitespace.
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// Build a cell from an Excel number: integral values become `Int`, so a case number typed as
    /// `2024001` never turns into `2024001.0` or `2.024001E6`.
    pub fn from_f64(v: f64) -> Cell {
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
            Cell::Int(v as i64)
        } else {
            Cell::Float(v)
        }
    }

    /// The text a person would read in the cell (dates as `YYYY-MM-DD`, booleans as `true`/`false`).
    pub fn to_text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => f.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::DateTime(dt) => {
                if dt.time() == chrono::NaiveTime::MIN {
                    dt.date().format("%Y-%m-%d").to_string()
                } else {
                    dt.format("%Y-%m-%d %H:%M:%S").to_string()
                }
            }
            Cell::Error(e) => e.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_text() {
        let cases: &[(Cell, &str)] = &[
            (Cell::from_f64(2024001.0), "2024001"),
            (Cell::from_f64(-3.0), "-3"),
            (Cell::from_f64(1.5), "1.5"),
            (Cell::Text("007".into()), "007"),
            (Cell::Bool(true), "true"),
            (
                Cell::Date(NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()),
                "2024-03-05",
            ),
            (
                Cell::DateTime(
                    NaiveDate::from_ymd_opt(2024, 3, 5)
                        .unwrap()
                        .and_hms_opt(0, 0, 0)
                        .unwrap(),
                ),
                "2024-03-05",
            ),
            (Cell::Error("#N/A".into()), "#N/A"),
            (Cell::Empty, ""),
        ];
        for (cell, want) in cases {
            assert_eq!(cell.to_text(), *want, "{cell:?}");
        }
    }

    #[test]
    fn blankness() {
        assert!(Cell::Empty.is_blank());
        assert!(Cell::Text("  \t".into()).is_blank());
        assert!(!Cell::Int(0).is_blank());
        assert!(!Cell::Text("x".into()).is_blank());
    }
}
