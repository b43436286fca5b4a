//! The Summary sheet of an export workbook: what the cases add up to (counts by status and by
//! type, cases opened per month from `created_date`, refresh coverage from each case's
//! `last_seen`), two native Excel charts over those tables. The counting is pure ([`tally`]);
//! the writer only lays the tally out on a workbook. No network, no clock: the caller says what
//! day it is.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{
    Chart, ChartDataLabel, ChartType, Format, FormatAlign, FormatBorder, Workbook, Worksheet,
    XlsxError,
};

use crate::entity::{Record, Value};

/// The sheet's name; the charts' ranges point into it.
pub const SHEET: &str = "Summary";

/// Label of a case with no status (or no type): an empty cell would read as a missing row.
pub const NO_STATUS: &str = "(no status)";
pub const NO_TYPE: &str = "(no type)";

/// Gaps between months are filled with zeros (a line chart of opened cases must show the empty
/// months) only while the span is at most this many months. A typo year (`0202`) would
/// otherwise fill the sheet with 22,000 empty months; beyond the span only months with cases
/// are listed.
pub const MAX_FILLED_MONTHS: u32 = 240;

/// What one case contributes to the summary.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CaseFacts<'a> {
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub created: Option<NaiveDate>,
    /// When the tool last read the case from Kayse; `None`: never.
    pub last_seen: Option<NaiveDate>,
}

impl<'a> CaseFacts<'a> {
    /// The facts of an exported case (`status`, `type`, `created_date`), seen on `last_seen`.
    pub fn of(record: &'a Record, last_seen: Option<NaiveDate>) -> CaseFacts<'a> {
        let created = match record.by_name("created_date") {
            Some(Value::Date(d)) => Some(*d),
            _ => None,
        };
        CaseFacts {
            status: record.text("status"),
            kind: record.text("type"),
            created,
            last_seen,
        }
    }
}

/// How recently the cases were read from Kayse. The first three are cumulative (a case seen
/// yesterday is also seen in the last 30 days); with `older` and `never` the last-90 count adds
/// up to the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coverage {
    pub days_7: u64,
    pub days_30: u64,
    pub days_90: u64,
    pub older: u64,
    pub never: u64,
}

/// What the Summary sheet shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tally {
    pub total: u64,
    /// Most frequent first, ties by name, the blank's label last.
    pub by_status: Vec<(String, u64)>,
    pub by_type: Vec<(String, u64)>,
    /// The first day of each month, oldest first, with the cases created in it.
    pub by_month: Vec<(NaiveDate, u64)>,
    /// Cases without a `created_date`, left out of `by_month`.
    pub no_created_date: u64,
    pub coverage: Coverage,
    /// The day the coverage was counted from.
    pub today: NaiveDate,
}

/// Count `cases` as of `today`.
pub fn tally<'a>(cases: impl IntoIterator<Item = CaseFacts<'a>>, today: NaiveDate) -> Tally {
    let mut status: BTreeMap<&str, u64> = BTreeMap::new();
    let mut kind: BTreeMap<&str, u64> = BTreeMap::new();
    let mut months: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    let mut t = Tally {
        today,
        ..Tally::default()
    };
    let label = |v: Option<&'a str>, none: &'static str| match v.map(str::trim) {
        Some(s) if !s.is_empty() => s,
        _ => none,
    };
    for c in cases {
        t.total += 1;
        *status.entry(label(c.status, NO_STATUS)).or_default() += 1;
        *kind.entry(label(c.kind, NO_TYPE)).or_default() += 1;
        match c.created.and_then(|d| d.with_day(1)) {
            Some(m) => *months.entry(m).or_default() += 1,
            None => t.no_created_date += 1,
        }
        let cov = &mut t.coverage;
        match c.last_seen.map(|d| (today - d).num_days()) {
            None => cov.never += 1,
            Some(days) => {
                cov.days_7 += u64::from(days <= 7);
                cov.days_30 += u64::from(days <= 30);
                cov.days_90 += u64::from(days <= 90);
                cov.older += u64::from(days > 90);
            }
        }
    }
    t.by_status = most_first(status);
    t.by_type = most_first(kind);
    t.by_month = fill_months(months);
    t
}

fn most_first(counts: BTreeMap<&str, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = counts.into_iter().map(|(k, n)| (k.into(), n)).collect();
    // Stable: equal counts keep the map's name order, a blank's label after the names.
    let blank = |s: &str| s == NO_STATUS || s == NO_TYPE;
    v.sort_by(|a, b| b.1.cmp(&a.1).then(blank(&a.0).cmp(&blank(&b.0))));
    v
}

fn months_between(a: NaiveDate, b: NaiveDate) -> i64 {
    i64::from(b.year() - a.year()) * 12 + i64::from(b.month()) - i64::from(a.month())
}

fn fill_months(months: BTreeMap<NaiveDate, u64>) -> Vec<(NaiveDate, u64)> {
    let (Some(first), Some(last)) = (
        months.keys().next().copied(),
        months.keys().next_back().copied(),
    ) else {
        return Vec::new();
    };
    if months_between(first, last) > i64::from(MAX_FILLED_MONTHS) {
        return months.into_iter().collect();
    }
    let mut out = Vec::new();
    let mut m = first;
    while m <= last {
        out.push((m, months.get(&m).copied().unwrap_or(0)));
        m = match m.checked_add_months(chrono::Months::new(1)) {
            Some(next) => next,
            None => break,
        };
    }
    out
}

/// Where the blocks sit on the sheet (0-based rows and columns), so the charts and the tests
/// agree with the writer.
pub mod layout {
    /// The first table (status) starts here, its heading on this row.
    pub const FIRST_TABLE_ROW: u32 = 3;
    /// Status, type and coverage tables: label and count columns.
    pub const LABEL_COL: u16 = 0;
    pub const COUNT_COL: u16 = 1;
    /// Opened-per-month table.
    pub const MONTH_COL: u16 = 3;
    pub const MONTH_COUNT_COL: u16 = 4;
    /// Charts: top-left cell column, the bar chart on the first table row, the line below it.
    pub const CHART_COL: u16 = 6;
    pub const CHART_ROWS: u32 = 18;
}

/// Add the Summary sheet for `t` to `wb`. `title` heads the sheet (e.g. "120 cases exported
/// 2026-12-03 14:20").
pub fn add(wb: &mut Workbook, t: &Tally, title: &str) -> Result<(), XlsxError> {
    use layout::*;
    let sheet = wb.add_worksheet();
    sheet.set_name(SHEET)?;
    let big = Format::new().set_bold().set_font_size(14);
    let head = Format::new()
        .set_bold()
        .set_border_bottom(FormatBorder::Thin);
    let head_num = head.clone().set_align(FormatAlign::Right);
    let total = Format::new().set_bold().set_border_top(FormatBorder::Thin);
    let month = Format::new()
        .set_num_format("mmm yyyy")
        .set_align(FormatAlign::Left);
    let day = Format::new()
        .set_num_format("yyyy-mm-dd")
        .set_align(FormatAlign::Left);
    sheet.set_column_width(LABEL_COL, 34)?;
    sheet.set_column_width(COUNT_COL, 10)?;
    sheet.set_column_width(COUNT_COL + 1, 3)?;
    sheet.set_column_width(MONTH_COL, 16)?;
    sheet.set_column_width(MONTH_COUNT_COL, 13)?;
    // Printed (or saved as PDF) it fits one landscape page wide: tables and charts together.
    sheet.set_landscape();
    sheet.set_print_fit_to_pages(1, 0);
    sheet.write_string_with_format(0, 0, title, &big)?;
    let mut row = FIRST_TABLE_ROW;
    let table = |sheet: &mut Worksheet,
                 row: u32,
                 heading: &str,
                 rows: &[(String, u64)]|
     -> Result<u32, XlsxError> {
        sheet.write_string_with_format(row, LABEL_COL, heading, &head)?;
        sheet.write_string_with_format(row, COUNT_COL, "Cases", &head_num)?;
        for (i, (label, n)) in rows.iter().enumerate() {
            let r = row + 1 + i as u32;
            sheet.write_string(r, LABEL_COL, label)?;
            sheet.write_number(r, COUNT_COL, *n as f64)?;
        }
        Ok(row + 1 + rows.len() as u32)
    };
    let status_first = row + 1;
    row = table(sheet, row, "Status", &t.by_status)?;
    let status_last = row - 1;
    sheet.write_string_with_format(row, LABEL_COL, "Total", &total)?;
    sheet.write_number_with_format(row, COUNT_COL, t.total as f64, &total)?;
    row += 2;
    row = table(sheet, row, "Type", &t.by_type)?;
    row += 1;
    let c = t.coverage;
    let coverage = [
        ("Seen in the last 7 days".to_string(), c.days_7),
        ("Seen in the last 30 days".to_string(), c.days_30),
        ("Seen in the last 90 days".to_string(), c.days_90),
        ("Seen more than 90 days ago".to_string(), c.older),
        ("Never seen".to_string(), c.never),
    ];
    row = table(sheet, row, "Refresh coverage", &coverage)?;
    sheet.write_string(row, LABEL_COL, "Counted on")?;
    sheet.write_datetime_with_format(row, COUNT_COL, t.today, &day)?;

    let mut r = FIRST_TABLE_ROW;
    sheet.write_string_with_format(r, MONTH_COL, "Month", &head)?;
    sheet.write_string_with_format(r, MONTH_COUNT_COL, "Cases opened", &head_num)?;
    for (m, n) in &t.by_month {
        r += 1;
        if crate::report::sheet::excel_holds_date(*m) {
            sheet.write_datetime_with_format(r, MONTH_COL, m, &month)?;
        } else {
            // A typo year before Excel's calendar: the month as text, never a wrong date.
            sheet.write_string(r, MONTH_COL, m.format("%Y-%m").to_string())?;
        }
        sheet.write_number(r, MONTH_COUNT_COL, *n as f64)?;
    }
    if t.no_created_date > 0 {
        sheet.write_string(r + 2, MONTH_COL, "No created_date")?;
        sheet.write_number(r + 2, MONTH_COUNT_COL, t.no_created_date as f64)?;
    }

    // A chart over an empty range is an error in Excel: no cases, no charts.
    if !t.by_status.is_empty() {
        let mut bar = Chart::new(ChartType::Column);
        bar.title().set_name("Cases by status");
        bar.legend().set_hidden();
        bar.add_series()
            .set_categories((SHEET, status_first, LABEL_COL, status_last, LABEL_COL))
            .set_values((SHEET, status_first, COUNT_COL, status_last, COUNT_COL))
            .set_data_label(ChartDataLabel::new().show_value());
        sheet.insert_chart(FIRST_TABLE_ROW, CHART_COL, &bar)?;
    }
    if !t.by_month.is_empty() {
        let (first, last) = (
            FIRST_TABLE_ROW + 1,
            FIRST_TABLE_ROW + t.by_month.len() as u32,
        );
        let mut line = Chart::new(ChartType::Line);
        line.title().set_name("Cases opened per month");
        line.legend().set_hidden();
        line.x_axis().set_num_format("mmm yyyy");
        line.add_series()
            .set_categories((SHEET, first, MONTH_COL, last, MONTH_COL))
            .set_values((SHEET, first, MONTH_COUNT_COL, last, MONTH_COUNT_COL));
        sheet.insert_chart(FIRST_TABLE_ROW + CHART_ROWS, CHART_COL, &line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn case<'a>(
        status: Option<&'a str>,
        kind: Option<&'a str>,
        created: Option<NaiveDate>,
        last_seen: Option<NaiveDate>,
    ) -> CaseFacts<'a> {
        CaseFacts {
            status,
            kind,
            created,
            last_seen,
        }
    }

    #[test]
    fn statuses_and_types_most_frequent_first_blanks_named() {
        let today = d(2026, 12, 3);
        // (cases, statuses, types)
        type Line<'a> = (
            &'a [CaseFacts<'a>],
            &'a [(&'a str, u64)],
            &'a [(&'a str, u64)],
        );
        let table: &[Line] = &[
            (&[], &[], &[]),
            (
                &[
                    case(Some("closed"), Some("civil"), None, None),
                    case(Some("active"), Some("civil"), None, None),
                    case(Some("active"), None, None, None),
                    case(Some("  "), Some(""), None, None),
                    case(None, Some("family"), None, None),
                ],
                &[("active", 2), (NO_STATUS, 2), ("closed", 1)],
                &[("civil", 2), (NO_TYPE, 2), ("family", 1)],
            ),
            (
                &[
                    case(Some("b"), Some("x"), None, None),
                    case(Some("a"), Some("x"), None, None),
                ],
                &[("a", 1), ("b", 1)],
                &[("x", 2)],
            ),
        ];
        for (cases, statuses, types) in table {
            let t = tally(cases.iter().copied(), today);
            let own = |v: &[(&str, u64)]| -> Vec<(String, u64)> {
                v.iter().map(|(s, n)| (s.to_string(), *n)).collect()
            };
            assert_eq!(t.total, cases.len() as u64);
            assert_eq!(t.by_status, own(statuses), "{cases:?}");
            assert_eq!(t.by_type, own(types), "{cases:?}");
        }
    }

    #[test]
    fn months_oldest_first_gaps_filled_while_the_span_is_small() {
        let today = d(2026, 12, 3);
        let at = |c: Option<NaiveDate>| case(None, None, c, None);
        // (created dates, months, cases without a date)
        type Line<'a> = (&'a [Option<NaiveDate>], &'a [(NaiveDate, u64)], u64);
        let table: &[Line] = &[
            (&[None, None], &[], 2),
            (&[Some(d(2024, 3, 31))], &[(d(2024, 3, 1), 1)], 0),
            (
                &[
                    Some(d(2024, 3, 5)),
                    Some(d(2024, 1, 1)),
                    None,
                    Some(d(2024, 3, 9)),
                ],
                &[(d(2024, 1, 1), 1), (d(2024, 2, 1), 0), (d(2024, 3, 1), 2)],
                1,
            ),
            (
                &[Some(d(2023, 12, 31)), Some(d(2024, 1, 1))],
                &[(d(2023, 12, 1), 1), (d(2024, 1, 1), 1)],
                0,
            ),
            // A typo year: the months with cases only.
            (
                &[Some(d(202, 3, 5)), Some(d(2024, 3, 5))],
                &[(d(202, 3, 1), 1), (d(2024, 3, 1), 1)],
                0,
            ),
        ];
        for (created, months, none) in table {
            let t = tally(created.iter().copied().map(at), today);
            assert_eq!(t.by_month, *months, "{created:?}");
            assert_eq!(t.no_created_date, *none, "{created:?}");
        }
        let span = tally([Some(d(2000, 1, 1)), Some(d(2020, 1, 1))].map(at), today);
        assert_eq!(span.by_month.len(), MAX_FILLED_MONTHS as usize + 1);
    }

    #[test]
    fn coverage_counts_the_days_since_each_case_was_seen() {
        let today = d(2026, 12, 3);
        let ago = |n: i64| Some(today - chrono::Duration::days(n));
        // (days ago, [7, 30, 90, older, never])
        let table: &[(Option<NaiveDate>, [u64; 5])] = &[
            (ago(0), [1, 1, 1, 0, 0]),
            (ago(-2), [1, 1, 1, 0, 0]),
            (ago(7), [1, 1, 1, 0, 0]),
            (ago(8), [0, 1, 1, 0, 0]),
            (ago(30), [0, 1, 1, 0, 0]),
            (ago(31), [0, 0, 1, 0, 0]),
            (ago(90), [0, 0, 1, 0, 0]),
            (ago(91), [0, 0, 0, 1, 0]),
            (None, [0, 0, 0, 0, 1]),
        ];
        let mut all = Coverage::default();
        for (seen, want) in table {
            let c = tally([case(None, None, None, *seen)], today).coverage;
            assert_eq!(
                [c.days_7, c.days_30, c.days_90, c.older, c.never],
                *want,
                "{seen:?}"
            );
            all.days_7 += want[0];
            all.days_30 += want[1];
            all.days_90 += want[2];
            all.older += want[3];
            all.never += want[4];
        }
        let t = tally(table.iter().map(|(s, _)| case(None, None, None, *s)), today);
        assert_eq!(t.coverage, all);
        assert_eq!(
            t.coverage.days_90 + t.coverage.older + t.coverage.never,
            t.total
        );
    }

    #[test]
    fn facts_of_a_record() {
        use crate::entity::CASES;
        let r = Record::from_json(
            &CASES,
            &serde_json::json!({"id": 1, "status": "active", "type": "civil", "created_date": "2024-03-05"}),
        )
        .unwrap();
        let f = CaseFacts::of(&r, Some(d(2026, 1, 1)));
        assert_eq!(
            f,
            case(
                Some("active"),
                Some("civil"),
                Some(d(2024, 3, 5)),
                Some(d(2026, 1, 1))
            )
        );
        let bare = Record::from_json(&CASES, &serde_json::json!({"id": 2})).unwrap();
        assert_eq!(CaseFacts::of(&bare, None), CaseFacts::default());
    }

    #[test]
    fn the_sheet_is_written_with_charts_only_over_data() {
        let dir = tempfile::tempdir().unwrap();
        for (name, cases) in [
            ("empty.xlsx", vec![]),
            (
                "some.xlsx",
                vec![case(Some("active"), None, Some(d(2024, 1, 2)), None)],
            ),
        ] {
            let mut wb = Workbook::new();
            wb.add_worksheet();
            add(&mut wb, &tally(cases, d(2026, 12, 3)), "t").unwrap();
            wb.save(dir.path().join(name)).unwrap();
        }
    }
}
