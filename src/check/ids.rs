//! Kayse id lists for `export`, `delete` and the message commands: `--ids 1001-1050,1060` specs,
//! one id per cell, the id column of a spreadsheet, and first-seen de-duplication. Pure: no I/O.
//! Errors are typed and carry the piece, value or headers they are about; callers add the file.

use std::collections::HashSet;

use crate::cell::Cell;

/// The most ids one range may expand to: a typo such as `1-99999999` must not allocate gigabytes.
pub const MAX_RANGE: u64 = 1_000_000;

/// Column names that hold a case id, in the order they are preferred.
pub const ID_COLUMNS: &[&str] = &["kayse_id", "id", "case_id"];

/// Why a piece of text or a cell is not an id. Carries the value as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("'{0}' is negative; ids are positive whole numbers")]
    Negative(String),
    #[error("'0' is not an id; ids start at 1")]
    Zero,
    #[error("'{0}' is not an id (a positive whole number)")]
    NotAnId(String),
    /// A number cell with a fraction.
    #[error("'{0}' is not a whole number")]
    NotWhole(String),
}

/// Why an `--ids` spec cannot be read. Names the offending piece.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("range '{piece}': {id}")]
    RangeEnd { piece: String, id: IdError },
    #[error("range '{piece}' is reversed: write the smaller id first ({hi}-{lo})")]
    Reversed { piece: String, lo: u64, hi: u64 },
    #[error("range '{piece}' holds {count} ids; at most {MAX_RANGE} per range")]
    TooLong { piece: String, count: u64 },
    #[error(transparent)]
    Id(#[from] IdError),
    #[error("no ids given: expected e.g. 1001-1050,1060")]
    Empty,
}

/// Why no id column was found. Carries the headers, which the message lists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error("no column '{name}'; the columns are: {}", .headers.join(", "))]
    Missing { name: String, headers: Vec<String> },
    #[error(
        "no id column: expected one named {} (or pass --id-column); the columns are: {}",
        ID_COLUMNS.join(", "),
        .headers.join(", ")
    )]
    NoIdColumn { headers: Vec<String> },
}

/// Parse `1001-1050,1060` (spaces allowed, also as separators) into ids in the given order.
/// Every problem names the offending piece.
pub fn parse_spec(spec: &str) -> Result<Vec<u64>, SpecError> {
    let mut out = Vec::new();
    // `1001 - 1005` is a range, as people type it: spaces around a dash join its two ends.
    let spec = join_dashes(spec);
    let pieces = spec
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|p| !p.is_empty());
    let mut any = false;
    for piece in pieces {
        any = true;
        match piece.split_once('-') {
            Some((a, b)) if !a.is_empty() => {
                let end = |t: &str| {
                    parse_one(t).map_err(|id| SpecError::RangeEnd {
                        piece: piece.to_string(),
                        id,
                    })
                };
                let (lo, hi) = (end(a)?, end(b)?);
                if hi < lo {
                    return Err(SpecError::Reversed {
                        piece: piece.to_string(),
                        lo,
                        hi,
                    });
                }
                if hi - lo >= MAX_RANGE {
                    return Err(SpecError::TooLong {
                        piece: piece.to_string(),
                        count: hi - lo + 1,
                    });
                }
                out.extend(lo..=hi);
            }
            _ => out.push(parse_one(piece)?),
        }
    }
    if !any {
        return Err(SpecError::Empty);
    }
    Ok(out)
}

/// Drop the spaces on either side of each `-`, so `1001 - 1005` reads as `1001-1005`.
fn join_dashes(spec: &str) -> String {
    let mut out = String::with_capacity(spec.len());
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            // a run of spaces before a dash, or after one, is dropped
            let mut run = String::from(c);
            while let Some(&n) = chars.peek().filter(|n| n.is_whitespace()) {
                run.push(n);
                chars.next();
            }
            if chars.peek() != Some(&'-') && !out.ends_with('-') {
                out.push_str(&run);
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// One positive integer id from text.
pub fn parse_one(s: &str) -> Result<u64, IdError> {
    let t = s.trim();
    if t.starts_with('-') {
        return Err(IdError::Negative(t.to_string()));
    }
    match t.parse::<u64>() {
        Ok(0) => Err(IdError::Zero),
        Ok(n) => Ok(n),
        Err(_) => Err(IdError::NotAnId(t.to_string())),
    }
}

/// One id from a spreadsheet cell. `Ok(None)` for a blank cell; numbers stored by Excel as
/// `1001.0` count as `1001`, but `1001.5` does not.
pub fn from_cell(c: &Cell) -> Result<Option<u64>, IdError> {
    match c {
        Cell::Empty => Ok(None),
        Cell::Text(s) if s.trim().is_empty() => Ok(None),
        Cell::Text(s) => parse_one(s).map(Some),
        Cell::Int(i) => parse_one(&i.to_string()).map(Some),
        Cell::Float(f) => Err(IdError::NotWhole(f.to_string())),
        other => Err(IdError::NotAnId(other.to_text())),
    }
}

/// The index of the id column: `name` when given (exact, then case-insensitive and trimmed),
/// else the first of [`ID_COLUMNS`] the headers hold.
pub fn find_column(headers: &[String], name: Option<&str>) -> Result<usize, ColumnError> {
    let find = |want: &str| {
        headers.iter().position(|h| h == want).or_else(|| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(want.trim()))
        })
    };
    match name {
        Some(n) => find(n).ok_or_else(|| ColumnError::Missing {
            name: n.to_string(),
            headers: headers.to_vec(),
        }),
        None => ID_COLUMNS
            .iter()
            .find_map(|n| find(n))
            .ok_or_else(|| ColumnError::NoIdColumn {
                headers: headers.to_vec(),
            }),
    }
}

/// Remove repeats, keeping each id where it first appeared.
pub fn dedupe(ids: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut seen = HashSet::new();
    ids.into_iter().filter(|i| seen.insert(*i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn specs() {
        let ok: &[(&str, &[u64])] = &[
            ("1", &[1]),
            ("1001-1003,1060", &[1001, 1002, 1003, 1060]),
            (" 5 , 7-8 ", &[5, 7, 8]),
            ("3 4;5", &[3, 4, 5]),
            ("9-9", &[9]),
            ("7 - 8", &[7, 8]),
            ("1001 - 1003, 1060", &[1001, 1002, 1003, 1060]),
            ("1001 -1002 5", &[1001, 1002, 5]),
        ];
        for (s, want) in ok {
            assert_eq!(parse_spec(s).unwrap(), *want, "{s}");
        }
        let bad: &[(&str, &str)] = &[
            ("", "no ids"),
            ("0", "not an id"),
            ("-5", "negative"),
            ("abc", "'abc' is not an id"),
            ("10-5", "reversed"),
            ("1-2000000", "at most 1000000"),
            ("1-x", "range '1-x'"),
            ("1.5", "not an id"),
            ("- 5", "negative"),
        ];
        for (s, frag) in bad {
            let e = parse_spec(s).unwrap_err().to_string();
            assert!(e.contains(frag), "{s}: {e}");
        }
        // The whole message, for each shape of error.
        let whole: &[(&str, SpecError, &str)] = &[
            (
                "",
                SpecError::Empty,
                "no ids given: expected e.g. 1001-1050,1060",
            ),
            (
                "0",
                SpecError::Id(IdError::Zero),
                "'0' is not an id; ids start at 1",
            ),
            (
                "x",
                SpecError::Id(IdError::NotAnId("x".into())),
                "'x' is not an id (a positive whole number)",
            ),
            (
                "-5",
                SpecError::Id(IdError::Negative("-5".into())),
                "'-5' is negative; ids are positive whole numbers",
            ),
            (
                "1-x",
                SpecError::RangeEnd {
                    piece: "1-x".into(),
                    id: IdError::NotAnId("x".into()),
                },
                "range '1-x': 'x' is not an id (a positive whole number)",
            ),
            (
                "10-5",
                SpecError::Reversed {
                    piece: "10-5".into(),
                    lo: 10,
                    hi: 5,
                },
                "range '10-5' is reversed: write the smaller id first (5-10)",
            ),
            (
                "1-2000000",
                SpecError::TooLong {
                    piece: "1-2000000".into(),
                    count: 2_000_000,
                },
                "range '1-2000000' holds 2000000 ids; at most 1000000 per range",
            ),
        ];
        for (s, want, text) in whole {
            let e = parse_spec(s).unwrap_err();
            assert_eq!(&e, want, "{s}");
            assert_eq!(e.to_string(), *text, "{s}");
        }
    }

    #[test]
    fn cells() {
        assert_eq!(from_cell(&Cell::Empty), Ok(None));
        assert_eq!(from_cell(&Cell::Text(" ".into())), Ok(None));
        assert_eq!(from_cell(&Cell::Int(7)), Ok(Some(7)));
        assert_eq!(from_cell(&Cell::Text(" 42 ".into())), Ok(Some(42)));
        let bad: &[(Cell, &str)] = &[
            (Cell::Int(0), "'0' is not an id; ids start at 1"),
            (
                Cell::Int(-3),
                "'-3' is negative; ids are positive whole numbers",
            ),
            (Cell::Float(1.5), "'1.5' is not a whole number"),
            (
                Cell::Bool(true),
                "'true' is not an id (a positive whole number)",
            ),
            (
                Cell::Text("12a".into()),
                "'12a' is not an id (a positive whole number)",
            ),
        ];
        for (c, want) in bad {
            assert_eq!(from_cell(c).unwrap_err().to_string(), *want, "{c:?}");
        }
    }

    #[test]
    fn columns() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(find_column(&h(&["x", "id", "kayse_id"]), None), Ok(2));
        assert_eq!(find_column(&h(&["x", " Case_ID "]), None), Ok(1));
        assert_eq!(find_column(&h(&["x", "Matter"]), Some("matter")), Ok(1));
        assert_eq!(
            find_column(&h(&["x", "y"]), None).unwrap_err().to_string(),
            "no id column: expected one named kayse_id, id, case_id (or pass --id-column); the columns are: x, y"
        );
        assert_eq!(
            find_column(&h(&["x"]), Some("y")).unwrap_err(),
            ColumnError::Missing {
                name: "y".into(),
                headers: h(&["x"])
            }
        );
        assert_eq!(
            find_column(&h(&["x"]), Some("y")).unwrap_err().to_string(),
            "no column 'y'; the columns are: x"
        );
    }

    #[test]
    fn dedupe_keeps_first() {
        assert_eq!(dedupe([3, 1, 3, 2, 1]), vec![3, 1, 2]);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = parse_spec(&s);
        }

        #[test]
        fn ranges_expand(lo in 1u64..1_000_000, len in 0u64..50) {
            let ids = parse_spec(&format!("{lo}-{}", lo + len)).unwrap();
            prop_assert_eq!(ids.len() as u64, len + 1);
            prop_assert_eq!(ids[0], lo);
        }

        #[test]
        fn dedupe_is_a_set_in_order(v in proptest::collection::vec(1u64..20, 0..50)) {
            let d = dedupe(v.clone());
            let mut s = d.clone();
            s.sort();
            s.dedup();
            prop_assert_eq!(s.len(), d.len());
            for x in &v { prop_assert!(d.contains(x)); }
        }
    }
}
