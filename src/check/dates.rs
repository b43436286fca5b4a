//! The order of day and month, learned per column from the values that can only be read one
//! way: `25/01/2024` proves a column day-first, `01/25/2024` month-first, and `05/03/2024` proves
//! nothing. Pure: it sees cells, never files; the caller decides how many rows it looks at.

use crate::cell::Cell;
use crate::check::rules::DateOrder;

/// What one cell says about its column's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clue {
    /// Only a day-first reading is a date (`25/01/2024`).
    DayFirst,
    /// Only a month-first reading is a date (`01/25/2024`).
    MonthFirst,
    /// Both readings are dates, and different ones (`05/03/2024`).
    Ambiguous,
    /// Not a numeric day/month date, or one that reads the same both ways (`05/05/2024`,
    /// `2024-03-05`, `Mar 5, 2024`, a date cell).
    Nothing,
}

/// The clue of one cell: numeric text `A?B?YEAR` with one separator (`/`, `-` or `.`) used twice,
/// A and B of one or two digits, the year of two or four.
pub fn clue(cell: &Cell) -> Clue {
    let Cell::Text(s) = cell else {
        return Clue::Nothing;
    };
    let s = s.trim();
    let Some(sep) = s.bytes().find(|b| !b.is_ascii_digit()) else {
        return Clue::Nothing;
    };
    if !matches!(sep, b'/' | b'-' | b'.') {
        return Clue::Nothing;
    }
    let parts: Vec<&str> = s.split(sep as char).collect();
    let num = |t: &str, lens: &[usize]| {
        (lens.contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u32>().ok())
            .flatten()
    };
    let [a, b, y] = parts[..] else {
        return Clue::Nothing;
    };
    let (Some(a), Some(b), Some(y)) = (num(a, &[1, 2]), num(b, &[1, 2]), num(y, &[2, 4])) else {
        return Clue::Nothing;
    };
    // Excel's two-digit year pivot, as the date parser reads it.
    let y = match y {
        0..=29 => 2000 + y,
        30..=99 => 1900 + y,
        _ => y,
    } as i32;
    let real = |m: u32, d: u32| chrono::NaiveDate::from_ymd_opt(y, m, d).is_some();
    match (real(a, b), real(b, a)) {
        (true, true) if a != b => Clue::Ambiguous,
        (false, true) => Clue::DayFirst,
        (true, false) => Clue::MonthFirst,
        _ => Clue::Nothing,
    }
}

/// A value seen in a column: its row and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub row: usize,
    pub text: String,
}

/// What one column's values showed so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clues {
    /// The first value that proves day-first.
    pub day_first: Option<Seen>,
    /// The first value that proves month-first.
    pub month_first: Option<Seen>,
    /// How many values read differently in the two orders, and the first of them.
    pub ambiguous: u64,
    pub first_ambiguous: Option<Seen>,
}

impl Clues {
    pub fn add(&mut self, row: usize, cell: &Cell) {
        let seen = || Seen {
            row,
            text: cell.to_text().trim().to_string(),
        };
        match clue(cell) {
            Clue::DayFirst if self.day_first.is_none() => self.day_first = Some(seen()),
            Clue::MonthFirst if self.month_first.is_none() => self.month_first = Some(seen()),
            Clue::Ambiguous => {
                self.ambiguous += 1;
                if self.first_ambiguous.is_none() {
                    self.first_ambiguous = Some(seen());
                }
            }
            _ => {}
        }
    }

    /// The column's order: proved one way, or `fallback` (the `--date-order` default) with the
    /// reason.
    pub fn decide(&self, fallback: DateOrder) -> Decision {
        match (&self.day_first, &self.month_first) {
            (Some(d), None) => Decision::Proved(DateOrder::Dmy, d.clone()),
            (None, Some(m)) => Decision::Proved(DateOrder::Mdy, m.clone()),
            (Some(d), Some(m)) => Decision::Mixed {
                order: fallback,
                day_first: d.clone(),
                month_first: m.clone(),
            },
            (None, None) => match &self.first_ambiguous {
                Some(a) => Decision::Unproved {
                    order: fallback,
                    ambiguous: self.ambiguous,
                    example: a.clone(),
                },
                None => Decision::Clear(fallback),
            },
        }
    }
}

/// How a column's numeric dates are read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Its values can only be read one way; the first that shows it.
    Proved(DateOrder, Seen),
    /// Some values can only be read day-first, others only month-first: read in `order`, and
    /// the rows that contradict it are invalid.
    Mixed {
        order: DateOrder,
        day_first: Seen,
        month_first: Seen,
    },
    /// Some values read differently in the two orders and none settles it: read in `order`.
    Unproved {
        order: DateOrder,
        ambiguous: u64,
        example: Seen,
    },
    /// Nothing to decide (ISO dates, date cells, month names, or none seen yet).
    Clear(DateOrder),
}

impl Decision {
    pub fn order(&self) -> DateOrder {
        match self {
            Decision::Proved(o, _) | Decision::Clear(o) => *o,
            Decision::Mixed { order, .. } | Decision::Unproved { order, .. } => *order,
        }
    }

    /// True when the order came from the column's own values.
    pub fn proved(&self) -> bool {
        matches!(self, Decision::Proved(..))
    }
}

/// `day-first` / `month-first` / `year-first`.
pub fn order_words(o: DateOrder) -> &'static str {
    match o {
        DateOrder::Dmy => "day-first",
        DateOrder::Mdy => "month-first",
        DateOrder::Ymd => "year-first",
    }
}

/// The `--date-order` value of an order.
pub fn order_flag(o: DateOrder) -> &'static str {
    match o {
        DateOrder::Dmy => "dmy",
        DateOrder::Mdy => "mdy",
        DateOrder::Ymd => "ymd",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn clues_of_cells() {
        let cases: &[(Cell, Clue)] = &[
            (t("25/01/2024"), Clue::DayFirst),
            (t("25.01.2024"), Clue::DayFirst),
            (t("31-12-24"), Clue::DayFirst),
            (t("01/25/2024"), Clue::MonthFirst),
            (t("1/25/24"), Clue::MonthFirst),
            (t("05/03/2024"), Clue::Ambiguous),
            (t(" 05.03.2024 "), Clue::Ambiguous),
            (t("5-3-2024"), Clue::Ambiguous),
            (t("05/05/2024"), Clue::Nothing),
            (t("2024-03-05"), Clue::Nothing),
            (t("2024/03/05"), Clue::Nothing),
            (t("Mar 5, 2024"), Clue::Nothing),
            (t("13/13/2024"), Clue::Nothing),
            (t("02/30/2025"), Clue::Nothing), // Feb 30 proves nothing: no reading is real
            (t("30/02/2025"), Clue::Nothing),
            (t("31/04/2024"), Clue::Nothing),
            (t("29/02/2024"), Clue::DayFirst),
            (t("02/29/2023"), Clue::Nothing),
            (t("32/01/2024"), Clue::Nothing),
            (t("00/01/2024"), Clue::Nothing),
            (t("05/03"), Clue::Nothing),
            (t("05/03-2024"), Clue::Nothing),
            (t("005/03/2024"), Clue::Nothing),
            (t(""), Clue::Nothing),
            (Cell::Int(20240305), Clue::Nothing),
            (
                Cell::Date(chrono::NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()),
                Clue::Nothing,
            ),
        ];
        for (cell, want) in cases {
            assert_eq!(clue(cell), *want, "{cell:?}");
        }
    }

    fn seen(row: usize, text: &str) -> Seen {
        Seen {
            row,
            text: text.into(),
        }
    }

    #[test]
    fn a_column_decides_from_its_unambiguous_values() {
        let cases: &[(&[&str], Decision)] = &[
            (
                &["05/03/2024", "25/01/2024", "06/03/2024"],
                Decision::Proved(DateOrder::Dmy, seen(3, "25/01/2024")),
            ),
            (
                &["05.03.2024", "01/25/2024"],
                Decision::Proved(DateOrder::Mdy, seen(3, "01/25/2024")),
            ),
            (
                &["05/03/2024", "06/03/2024", "2024-01-01"],
                Decision::Unproved {
                    order: DateOrder::Mdy,
                    ambiguous: 2,
                    example: seen(2, "05/03/2024"),
                },
            ),
            (
                &["25/01/2024", "01/25/2024", "05/03/2024"],
                Decision::Mixed {
                    order: DateOrder::Mdy,
                    day_first: seen(2, "25/01/2024"),
                    month_first: seen(3, "01/25/2024"),
                },
            ),
            (
                &["2024-01-01", "", "05/05/2024"],
                Decision::Clear(DateOrder::Mdy),
            ),
            (&[], Decision::Clear(DateOrder::Mdy)),
        ];
        for (values, want) in cases {
            let mut c = Clues::default();
            for (i, v) in values.iter().enumerate() {
                c.add(i + 2, &t(v));
            }
            let got = c.decide(DateOrder::Mdy);
            assert_eq!(got, *want, "{values:?}");
            assert_eq!(got.proved(), matches!(want, Decision::Proved(..)));
        }
    }
}
