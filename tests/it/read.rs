//! Reader integration tests: every committed fixture read cell by cell through the library's
//! `read::open`, and the hostile inputs of issue 6 (each must give one clear line or a sensible
//! Ok, never a panic). Also holds the ignored generator that (re)writes the fixtures.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use kayse_bulk::cell::Cell;
use kayse_bulk::map::{MapOptions, header_matcher};
use kayse_bulk::read::{self, RawRow, ReadOptions, Table};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn open(path: &Path) -> Result<Table, String> {
    open_with(path, &ReadOptions::default())
}

fn open_with(path: &Path, opts: &ReadOptions) -> Result<Table, String> {
    read::open(path, opts).map_err(|e| e.to_string())
}

/// Every row of a table; a row error fails the test.
fn rows(table: Table) -> Vec<RawRow> {
    table
        .rows
        .map(|r| r.unwrap_or_else(|e| panic!("row error: {e}")))
        .collect()
}

fn t(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

fn d(y: i32, m: u32, day: u32) -> Cell {
    Cell::Date(NaiveDate::from_ymd_opt(y, m, day).unwrap())
}

const E: Cell = Cell::Empty;

/// The header every case fixture uses (the workbooks add or drop a few, noted where used).
const CASE_HEADERS: [&str; 10] = [
    "case_number",
    "external_source",
    "external_source_id",
    "name",
    "status",
    "type",
    "is_obo",
    "created_date",
    "court_date",
    "client_ids",
];

fn assert_rows(got: &[RawRow], want: &[(usize, Vec<Cell>)]) {
    assert_eq!(got.len(), want.len(), "row count: {got:#?}");
    for (g, (row, cells)) in got.iter().zip(want) {
        assert_eq!(g.source_row, *row, "source_row of {g:?}");
        for (c, (gc, wc)) in g.cells.iter().zip(cells).enumerate() {
            assert_eq!(gc, wc, "row {row} column {c}");
        }
        assert_eq!(g.cells.len(), cells.len(), "width of row {row}");
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures, cell by cell.

#[test]
fn excel_style_xlsx() {
    let table = open(&fixture("excel_style.xlsx")).unwrap();
    assert_eq!(table.info.format, "xlsx");
    assert_eq!(table.info.sheet.as_deref(), Some("Cases"));
    assert_eq!(table.info.encoding, None);
    assert_eq!(table.headers, CASE_HEADERS);
    assert_eq!(table.header_row, 1);
    let dt = |y, m, day, h, mi| {
        Cell::DateTime(
            NaiveDate::from_ymd_opt(y, m, day)
                .unwrap()
                .and_hms_opt(h, mi, 0)
                .unwrap(),
        )
    };
    let blank = vec![E; 10];
    #[rustfmt::skip]
    let want = vec![
        (2, vec![Cell::Int(2024001), t("clio"), t("A-100"), t("Smith v. Jones"), t("active"),
                 t("Personal Injury"), Cell::Bool(false), d(2024, 3, 5), d(2024, 6, 10), Cell::Int(101)]),
        (3, vec![t("007"), t("clio"), t("A-101"), t("Peña v. Müller"), t("active"),
                 t("Workers Comp"), Cell::Bool(true), d(2024, 1, 15), E, t("12, 13")]),
        (4, blank.clone()),
        (5, vec![Cell::Int(2024003), t("clio"), Cell::Int(1003), t("Doe v. Acme"), t("pending"),
                 t("Personal Injury"), t("yes"), d(2023, 12, 31), dt(2024, 7, 1, 9, 30), E]),
        (6, vec![Cell::Int(2024004), t("clio"), t("A-104"), Cell::Error("#N/A".into()), t("actve"),
                 t("Personal Injury"), t("maybe"), t("02/30/2025"), E, E]),
        (7, blank.clone()),
        (8, blank),
        (9, vec![Cell::Int(2024005), E, t("A-105"), t("Roe v. Wade Corp"), t("closed"),
                 t("Employment"), Cell::Bool(false), d(2022, 2, 2), E, t("[7;8]")]),
        (10, vec![Cell::Int(2024006), t("clio"), t("A-106"), t("Lee v. City"), t("active"),
                  t("Civil Rights"), Cell::Bool(true), t("2024-04-01"), E,
                  Cell::Error("#DIV/0!".into())]),
        (11, vec![Cell::Float(2024007.5), t("clio"), t("A-107"), t("  Padded  "), t("active"),
                  t("Personal Injury"), Cell::Int(1), d(2024, 2, 29), E, E]),
    ];
    assert_rows(&rows(table), &want);
}

#[test]
fn title_rows_xlsx_skips_hidden_sheet_and_title() {
    let table = open(&fixture("title_rows.xlsx")).unwrap();
    // The hidden first sheet "Lookups" is skipped.
    assert_eq!(table.info.sheet.as_deref(), Some("Cases"));
    // Row 1 is a merged title, so the first non-empty row is the title itself.
    assert_eq!(table.header_row, 1);
    assert_eq!(table.headers, ["Smith & Partners: case export"]);

    let opts = ReadOptions {
        header_row: Some(3),
        ..ReadOptions::default()
    };
    let table = open_with(&fixture("title_rows.xlsx"), &opts).unwrap();
    assert_eq!(table.header_row, 3);
    assert_eq!(
        table.headers,
        [
            "Case #",
            "Source",
            "Source ID",
            "Case Name",
            "column_E",
            "Case Status",
            "Case Type"
        ]
    );
    #[rustfmt::skip]
    let want = vec![
        (4, vec![Cell::Int(2024201), t("other"), t("T-1"), t("Ortiz v. Blue Cab"), t("note"),
                 t("active"), t("Auto")]),
        (5, vec![E; 7]),
        (6, vec![Cell::Int(2024202), t("other"), t("T-2"), t("Nguyen v. Home Co"), E,
                 t("active"), t("Premises")]),
    ];
    assert_rows(&rows(table), &want);

    // The hidden sheet can still be asked for, by name or index.
    for sheet in ["Lookups", "0"] {
        let opts = ReadOptions {
            sheet: Some(sheet.into()),
            ..ReadOptions::default()
        };
        let table = open_with(&fixture("title_rows.xlsx"), &opts).unwrap();
        assert_eq!(table.info.sheet.as_deref(), Some("Lookups"));
        assert_eq!(table.headers, ["status"]);
        let got = rows(table);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].cells, [t("closed")]);
    }
}

/// Written by openpyxl (see tests/fixtures/README.md): a hidden first sheet, a title at B2, the
/// header at B4, rows missing and sparse, formatted empty cells, error cells, dates.
#[test]
fn openpyxl_sparse_xlsx() {
    let opts = ReadOptions {
        header_row: Some(4),
        ..ReadOptions::default()
    };
    let table = open_with(&fixture("openpyxl_sparse.xlsx"), &opts).unwrap();
    assert_eq!(table.info.sheet.as_deref(), Some("Cases"));
    assert_eq!(table.header_row, 4);
    assert_eq!(
        table.headers,
        [
            "case_number",
            "status",
            "created_date",
            "court_date",
            "note"
        ]
    );
    let when = NaiveDate::from_ymd_opt(2024, 3, 5)
        .unwrap()
        .and_hms_opt(9, 30, 0)
        .unwrap();
    let blank = vec![E; 5];
    #[rustfmt::skip]
    let want = vec![
        (5, vec![Cell::Int(2024501), t("active"), d(2024, 3, 5), Cell::DateTime(when),
                 Cell::Error("#N/A".into())]),
        (6, blank.clone()),
        (7, blank.clone()),
        (8, vec![E, E, d(2023, 12, 31), E, E]),
        // Row 9 holds only a formatted empty cell; row 10's H10 lies past the header.
        (9, blank.clone()),
        (10, vec![E, Cell::Bool(true), E, E, E]),
        (11, blank),
        (12, vec![t("0042"), t("closed"), E, E, Cell::Error("#DIV/0!".into())]),
        // Row 14 holds only a formatted empty cell: the rows end at 12.
    ];
    assert_rows(&rows(table), &want);

    // Without --header-row the title is the first non-blank row, so it is the header.
    let table = open(&fixture("openpyxl_sparse.xlsx")).unwrap();
    assert_eq!(
        (table.header_row, table.headers.clone()),
        (2, vec!["Case export".to_string()])
    );
    assert_eq!(rows(table).len(), 10);
}

#[test]
fn win1252_semicolon_csv() {
    let table = open(&fixture("win1252_semicolon.csv")).unwrap();
    assert_eq!(table.info.format, "csv");
    assert_eq!(table.info.encoding.as_deref(), Some("Windows-1252"));
    assert!(table.info.encoding_fallback);
    assert_eq!(table.info.delimiter, Some(';'));
    assert_eq!(
        table.headers,
        [
            "case_number",
            "external_source",
            "external_source_id",
            "name",
            "status",
            "type",
            "is_obo",
            "created_date",
            "description",
            "client_ids",
        ]
    );
    #[rustfmt::skip]
    let want = vec![
        (2, vec![t("2024101"), t("clio"), t("W-1"), t("Müller v. Peña"), t("active"),
                 t("Personal Injury"), t("no"), t("2024-03-05"), t("Fee 1.500 €"), t("101")]),
        (3, vec![t("00123"), t("clio"), t("W-2"), t("Françoise Dupont; estate"), t("active"),
                 t("Probate"), t("yes"), t("3/5/2024"), t("Line one\r\nLine two"), E]),
        (4, vec![E; 10]),
        (5, vec![t("2024103"), t("clio"), t("W-3"), t("O’Brien v. Zoë’s Café"), t("pending"),
                 t("Premises"), E, t("5 March 2024"), t("=HYPERLINK(\"http://x\")"), t("7;8")]),
        // Short row: padded.
        (6, vec![t("2024104"), t("clio"), t("W-4"), t("Søren Ærø"), E, E, E, E, E, E]),
        // Long row: the two cells beyond the header are dropped.
        (7, vec![t("2024105"), t("clio"), t("W-5"), t("Ångström"), t("active"), t("Auto"),
                 t("no"), t("2024-01-02"), t(" spaced "), t("9")]),
    ];
    assert_rows(&rows(table), &want);
}

#[test]
fn utf16_csv() {
    let table = open(&fixture("utf16.csv")).unwrap();
    assert_eq!(table.info.encoding.as_deref(), Some("UTF-16LE"));
    assert!(!table.info.encoding_fallback);
    assert_eq!(table.info.delimiter, Some('\t'));
    assert_eq!(
        table.headers,
        [
            "Case Number",
            "Source",
            "Source ID",
            "Case Name",
            "Case Status",
            "Case Type"
        ]
    );
    #[rustfmt::skip]
    let want = vec![
        (2, vec![t("2024301"), t("filevine"), t("U-1"), t("Zoë Łukasz v. 東京 Ltd"), t("active"), t("Auto")]),
        (3, vec![t("007"), t("filevine"), t("U-2"), t("Emoji 😀 Estate"), t("active"), t("Probate")]),
        (4, vec![t("2024303"), t("filevine"), t("U-3"), t("Ünal, Ayşe"), t("closed"), t("Auto")]),
    ];
    assert_rows(&rows(table), &want);
}

// ---------------------------------------------------------------------------------------------
// The first ten minutes: header search, hidden rows and columns, Total rows, other sheets, and
// every file type a firm's tools save (fixtures written by `generate_reading_fixtures`).

/// Options with the mapping's own header matcher, as `validate` reads.
fn matching() -> ReadOptions {
    ReadOptions {
        header_matcher: Some(header_matcher(
            &kayse_bulk::entity::CASES,
            &MapOptions::default(),
        )),
        ..ReadOptions::default()
    }
}

fn firm_rows(skipped: &[u32]) -> Vec<(usize, Vec<Cell>)> {
    FIRM_ROWS
        .iter()
        .filter(|r| !skipped.contains(&r.0))
        .map(|&(r, num, id, client, ssn, status, ty, fees, opened)| {
            let opened = NaiveDate::from_ymd_opt(1899, 12, 30)
                .unwrap()
                .checked_add_days(chrono::Days::new(opened as u64))
                .unwrap();
            (
                r as usize,
                vec![
                    Cell::Int(num as i64),
                    t("clio"),
                    t(id),
                    t(client),
                    t(ssn),
                    t(status),
                    t(ty),
                    Cell::Int(fees as i64),
                    Cell::Date(opened),
                ],
            )
        })
        .collect()
}

#[test]
fn firm_export_xlsx_title_hidden_rows_and_columns_total_and_sheets() {
    let table = open_with(&fixture("firm_export.xlsx"), &matching()).unwrap();
    assert_eq!(
        table.header_row, 3,
        "the merged title on row 1 is passed over"
    );
    assert_eq!(table.info.header_below, Some(1));
    assert_eq!(table.headers, FIRM_HEADERS);
    assert_eq!(table.info.hidden_columns, [4], "SSN");
    assert_eq!(table.info.other_sheets, ["Notes", "Archive (hidden)"]);
    assert!(!table.info.hidden_unseen);
    let facts = table.facts.clone();
    // Hidden rows are read by default, the Total row on row 13 is not.
    assert_rows(&rows(table), &firm_rows(&[]));
    let noticed = facts.snapshot();
    assert_eq!(noticed.hidden_rows_read.first, [6, 9, 11]);
    assert_eq!(noticed.hidden_rows_read.count, 3);
    assert_eq!(noticed.hidden_rows_skipped.count, 0);
    assert!(noticed.filtered);
    let total = noticed.total_row.unwrap();
    assert_eq!((total.row, total.label.as_str()), (13, "Total"));
    assert!(noticed.warnings.is_empty(), "{:?}", noticed.warnings);

    let skip = ReadOptions {
        skip_hidden_rows: true,
        ..matching()
    };
    let table = open_with(&fixture("firm_export.xlsx"), &skip).unwrap();
    let facts = table.facts.clone();
    assert_rows(&rows(table), &firm_rows(&[6, 9, 11]));
    let noticed = facts.snapshot();
    assert_eq!(noticed.hidden_rows_skipped.first, [6, 9, 11]);
    assert_eq!(noticed.hidden_rows_read.count, 0);

    // Without a matcher the first non-empty row is the header, as before; --header-row still wins.
    let plain = open(&fixture("firm_export.xlsx")).unwrap();
    assert_eq!((plain.header_row, plain.info.header_below), (1, None));
    let asked = ReadOptions {
        header_row: Some(3),
        ..ReadOptions::default()
    };
    let table = open_with(&fixture("firm_export.xlsx"), &asked).unwrap();
    assert_eq!((table.header_row, table.info.header_below), (3, None));
    assert_eq!(table.info.hidden_columns, [4]);
}

#[test]
fn the_header_search_passes_over_the_title_of_title_rows_xlsx() {
    let table = open_with(&fixture("title_rows.xlsx"), &matching()).unwrap();
    assert_eq!(table.header_row, 3);
    assert_eq!(table.info.header_below, Some(1));
    assert_eq!(table.headers[0], "Case #");
    assert_eq!(table.info.other_sheets, ["Lookups (hidden)"]);
    let got: Vec<usize> = rows(table).iter().map(|r| r.source_row).collect();
    assert_eq!(got, [4, 5, 6]);
}

#[test]
fn xlsb_reads_like_xlsx() {
    let table = open_with(&fixture("firm_export.xlsb"), &matching()).unwrap();
    assert_eq!(table.info.format, "xlsb");
    assert_eq!(table.info.sheet.as_deref(), Some("Open Matters"));
    assert_eq!(table.info.other_sheets, ["Archive (hidden)"]);
    assert!(table.info.hidden_unseen, "XLSB hidden rows are not seen");
    assert_eq!((table.header_row, table.info.header_below), (3, Some(1)));
    assert_eq!(table.headers, FIRM_HEADERS);
    let facts = table.facts.clone();
    let got = rows(table);
    let mut want = firm_rows(&[]);
    // Cells past the header's width (a boolean, an error) are dropped like any others.
    for (_, cells) in &mut want {
        cells.truncate(FIRM_HEADERS.len());
    }
    assert_rows(&got, &want);
    assert_eq!(facts.snapshot().total_row.map(|t| t.row), Some(13));
    // The same file named .xlsx is read by its content.
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("renamed.xlsx");
    std::fs::copy(fixture("firm_export.xlsb"), &renamed).unwrap();
    let table = open_with(&renamed, &matching()).unwrap();
    assert_eq!(table.info.format, "xlsb");
}

#[test]
fn xlsb_values_keep_their_types() {
    use crate::support::{XlsbCell, xlsb_workbook};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("types.xlsb");
    let bytes = xlsb_workbook(&[(
        "Cases",
        false,
        vec![
            vec![
                (0, XlsbCell::Text("case_number")),
                (1, XlsbCell::Text("is_obo")),
                (2, XlsbCell::Text("created_date")),
                (3, XlsbCell::Text("name")),
            ],
            vec![
                (0, XlsbCell::Number(2024001.0)),
                (1, XlsbCell::Bool(false)),
                (2, XlsbCell::Date(45356.0)),
                (3, XlsbCell::Error(0x2A)),
            ],
            vec![],
            vec![
                (0, XlsbCell::Text("007")),
                (1, XlsbCell::Bool(true)),
                (2, XlsbCell::Number(1.5)),
            ],
        ],
    )]);
    std::fs::write(&path, bytes).unwrap();
    let table = open(&path).unwrap();
    #[rustfmt::skip]
    let want = vec![
        (2, vec![Cell::Int(2024001), Cell::Bool(false), d(2024, 3, 5), Cell::Error("#N/A".into())]),
        (3, vec![E; 4]),
        (4, vec![t("007"), Cell::Bool(true), Cell::Float(1.5), E]),
    ];
    assert_rows(&rows(table), &want);
}

#[test]
fn tab_delimited_text_files_read_like_csv() {
    // (file, encoding, header row, rows, last client)
    let cases = [
        (
            "excel_text.txt",
            "Windows-1252",
            1,
            vec![2, 3, 4, 5],
            "Peña, José",
        ),
        (
            "unicode_text.txt",
            "UTF-16LE",
            3,
            vec![4, 5, 6, 7],
            "Łukasz 東京",
        ),
        ("cases.tab", "UTF-8", 1, vec![2, 3, 4], "Okafor"),
    ];
    for (name, encoding, header_row, want_rows, last_client) in cases {
        let table =
            open_with(&fixture(name), &matching()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(table.info.format, "text", "{name}");
        assert_eq!(table.info.encoding.as_deref(), Some(encoding), "{name}");
        assert_eq!(table.info.delimiter, Some('\t'), "{name}");
        assert_eq!(table.header_row, header_row, "{name}");
        assert_eq!(
            table.headers,
            [
                "Case Number",
                "Source",
                "Source ID",
                "Client",
                "Case Status",
                "Case Type",
                "Opened"
            ],
            "{name}"
        );
        let facts = table.facts.clone();
        let got = rows(table);
        let numbers: Vec<usize> = got.iter().map(|r| r.source_row).collect();
        assert_eq!(numbers, want_rows, "{name}");
        assert_eq!(got[0].cells[0], t("2024501"), "{name}");
        assert_eq!(got[0].cells[6], t("3/5/2024"), "{name}");
        assert_eq!(got.last().unwrap().cells[3], t(last_client), "{name}");
        let total = facts.snapshot().total_row.map(|t| t.row);
        assert_eq!(total, (name == "cases.tab").then_some(5), "{name}");
    }
    // A .txt that is really a CSV (a comma header, no tab) is sniffed as one.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("renamed.txt");
    std::fs::write(&path, "case_number,status\n1,active\n").unwrap();
    let table = open(&path).unwrap();
    assert_eq!(table.info.delimiter, Some(','));
    assert_eq!(table.headers, ["case_number", "status"]);
}

#[test]
fn csv_header_search_and_sniffing_pass_over_a_title_line() {
    let dir = tempfile::tempdir().unwrap();
    // A hand-written title line holding no delimiter, a blank line, then a semicolon header.
    let path = dir.path().join("titled.csv");
    std::fs::write(
        &path,
        "Open matters, March\n\ncase_number;status;type\n1;active;civil\n\n2;closed;civil\nTotal;;3\n",
    )
    .unwrap();
    let table = open_with(&path, &matching()).unwrap();
    assert_eq!(table.info.delimiter, Some(';'));
    assert_eq!((table.header_row, table.info.header_below), (3, Some(1)));
    assert_eq!(table.headers, ["case_number", "status", "type"]);
    let facts = table.facts.clone();
    let want = vec![
        (4, vec![t("1"), t("active"), t("civil")]),
        (5, vec![E, E, E]),
        (6, vec![t("2"), t("closed"), t("civil")]),
    ];
    assert_rows(&rows(table), &want);
    assert_eq!(facts.snapshot().total_row.map(|t| t.row), Some(7));
    // A header below row 30 is not searched for: the first non-empty row is taken, and the rows
    // read during the search come back in order.
    let far = dir.path().join("far.csv");
    let mut text = String::from("Report\n");
    for i in 2..=31 {
        text.push_str(&format!("x{i}\n"));
    }
    text.push_str("case_number\n");
    std::fs::write(&far, &text).unwrap();
    let table = open_with(&far, &matching()).unwrap();
    assert_eq!((table.header_row, table.info.header_below), (1, None));
    let got: Vec<usize> = rows(table).iter().map(|r| r.source_row).collect();
    assert_eq!(got, (2..=32).collect::<Vec<_>>());
}

/// `export --ids-from` and `delete` read their files through the same `read::open`, so the text
/// files and XLSB work there too (and a Total row under the ids is never taken for an id).
#[test]
fn export_and_delete_read_every_file_type() {
    use crate::support::{Sandbox, XlsbCell, case, code, show, xlsb_workbook};
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((0..3).map(case).collect());
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = ids.iter().map(u64::to_string).collect();
    // Excel's Unicode Text (UTF-16LE, tab) and a .tab with a Total row under the ids.
    let text = format!("kayse_id\tnote\r\n{}\r\n", lines.join("\tx\r\n") + "\tx");
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(dir.path().join("ids.txt"), &utf16).unwrap();
    std::fs::write(
        dir.path().join("ids.tab"),
        format!(
            "note\tkayse_id\n{}\nTotal\t3\n",
            lines
                .iter()
                .map(|l| format!("x\t{l}"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    )
    .unwrap();
    let mut rows = vec![vec![(0, XlsbCell::Text("kayse_id"))]];
    for id in &ids {
        rows.push(vec![(0, XlsbCell::Number(*id as f64))]);
    }
    std::fs::write(
        dir.path().join("ids.xlsb"),
        xlsb_workbook(&[("Ids", false, rows)]),
    )
    .unwrap();
    for name in ["ids.txt", "ids.tab", "ids.xlsb"] {
        let o = sb.run(
            dir.path(),
            &["--json", "export", "--ids-from", name, "--dry-run"],
        );
        assert_eq!(code(&o), 0, "{name}: {}", show(&o));
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(s["rows_read"], 3, "{name}: {s}");
        let o = sb.run(dir.path(), &["delete", name, "--dry-run"]);
        assert_eq!(code(&o), 0, "{name}: {}", show(&o));
        let stem = name.split('.').next().unwrap();
        let res = crate::support::sheet(&dir.path().join(format!("{stem}.results.xlsx")), None);
        assert_eq!(
            crate::support::results_column(&res, "kayse_result"),
            ["valid", "valid", "valid"],
            "{name}"
        );
        std::fs::remove_file(dir.path().join(format!("{stem}.results.xlsx"))).unwrap();
    }
    assert_eq!(sb.stats()["requests"].as_u64().unwrap_or(0), 0);
}

/// The LibreOffice-made workbooks hold the same data, so one expectation serves both. The one
/// difference is booleans: LibreOffice saves a converted Excel boolean into ODS as a number formula
/// (`=FALSE()` with value 0), so the ODS cell reads as the integer 0/1, which validation accepts
/// as a boolean; the XLS keeps a real boolean cell.
fn assert_lo_cases(name: &str, format: &str, no: Cell, yes: Cell) {
    let table = open(&fixture(name)).unwrap();
    assert_eq!(table.info.format, format);
    assert_eq!(table.info.sheet.as_deref(), Some("Cases"));
    assert_eq!(table.headers, CASE_HEADERS);
    assert_eq!(table.header_row, 1);
    #[rustfmt::skip]
    let want = vec![
        (2, vec![Cell::Int(2024401), t("clio"), t("L-1"), t("Garcia v. Metro"), t("active"),
                 t("Personal Injury"), no, d(2024, 3, 5), d(2024, 9, 30), Cell::Int(11)]),
        (3, vec![t("0042"), t("clio"), t("L-2"), t("Kowalski v. Shop"), t("pending"),
                 t("Premises"), yes, d(2023, 11, 20), E, t("12;13")]),
        (4, vec![E; 10]),
        (5, vec![Cell::Int(2024403), t("clio"), t("L-3"), t("Ávila v. Transit"), t("closed"),
                 t("Auto"), E, d(2020, 2, 29), E, E]),
    ];
    assert_rows(&rows(table), &want);
}

#[test]
fn cases_ods() {
    assert_lo_cases("cases.ods", "ods", Cell::Int(0), Cell::Int(1));
}

#[test]
fn cases_xls() {
    assert_lo_cases("cases.xls", "xls", Cell::Bool(false), Cell::Bool(true));
}

#[test]
fn explicit_delimiter_and_header_row_in_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "Report\n\nid|name\n1|a\n\"2\n\"|b\n3|c\n").unwrap();
    let opts = ReadOptions {
        delimiter: Some(b'|'),
        header_row: Some(3),
        ..ReadOptions::default()
    };
    let table = open_with(&path, &opts).unwrap();
    assert_eq!(table.headers, ["id", "name"]);
    assert_eq!(table.header_row, 3);
    // The quoted newline in row 5 does not push row 6 down.
    let want = vec![
        (4, vec![t("1"), t("a")]),
        (5, vec![t("2\n"), t("b")]),
        (6, vec![t("3"), t("c")]),
    ];
    assert_rows(&rows(table), &want);

    // Default: first non-empty row is the header; blank lines before it are skipped and blank
    // records after it are yielded with their row numbers.
    std::fs::write(&path, "\n\nid,name\n\n,\n1,'=2+3\n").unwrap();
    let table = open(&path).unwrap();
    assert_eq!(table.header_row, 3);
    assert_eq!(table.info.encoding.as_deref(), Some("UTF-8"));
    let got = rows(table);
    // The empty line 4 and the `,` line 5 are both blank rows.
    let want = vec![
        (4, vec![E, E]),
        (5, vec![E, E]),
        (6, vec![t("1"), t("=2+3")]),
    ];
    assert_rows(&got, &want);
    assert!(got[0].is_blank());
}

/// Found by the `csv_decode` fuzz target (input `\n` then byte 0x8A): one empty first line and no
/// other empty line left the file on the fast path without the blank-line keeper, so the csv
/// crate skipped that line and every row number came out one lower than Excel shows.
#[test]
fn single_empty_first_line_is_row_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("first_line_empty.csv");
    let cases: [(&[u8], &str, Cell); 3] = [
        (b"\n\x8A", "\u{160}", E),
        (b"\ncase_number\n7\n", "case_number", t("7")),
        (b"\r\ncase_number\r\n7\r\n", "case_number", t("7")),
    ];
    for (bytes, header, cell) in cases {
        std::fs::write(&path, bytes).unwrap();
        let table = open(&path).unwrap();
        assert_eq!(table.header_row, 2, "{bytes:?}");
        assert_eq!(table.headers, [header], "{bytes:?}");
        let got = rows(table);
        if cell == E {
            assert!(got.is_empty(), "{got:?}");
        } else {
            assert_rows(&got, &[(3, vec![cell])]);
        }
    }
}

#[test]
fn excel_sep_line_sets_the_delimiter_and_is_not_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sep.csv");
    // The data alone would sniff as `,`; the hint says `;`.
    std::fs::write(
        &path,
        "sep=;\r\ncase_number;name\r\n1,5;Smith, Jane\r\n\r\n2;Lee\r\n",
    )
    .unwrap();
    let table = open(&path).unwrap();
    assert_eq!(table.info.delimiter, Some(';'));
    assert_eq!(table.header_row, 1);
    assert_eq!(table.headers, ["case_number", "name"]);
    let want = vec![
        (2, vec![t("1,5"), t("Smith, Jane")]),
        (3, vec![E, E]),
        (4, vec![t("2"), t("Lee")]),
    ];
    assert_rows(&rows(table), &want);
}

#[test]
fn utf8_bom_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.CSV");
    std::fs::write(&path, "\u{feff}case_number;name\r\n007;Zoë\r\n").unwrap();
    let table = open(&path).unwrap();
    assert_eq!(table.info.encoding.as_deref(), Some("UTF-8 (BOM)"));
    assert!(!table.info.encoding_fallback);
    assert_eq!(table.headers, ["case_number", "name"]);
    assert_rows(&rows(table), &[(2, vec![t("007"), t("Zoë")])]);
}

#[test]
fn utf16be_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("be.csv");
    let mut bytes = vec![0xFE, 0xFF];
    for u in "a,b\n1,Ł\n".encode_utf16() {
        bytes.extend_from_slice(&u.to_be_bytes());
    }
    std::fs::write(&path, bytes).unwrap();
    let table = open(&path).unwrap();
    assert_eq!(table.info.encoding.as_deref(), Some("UTF-16BE"));
    assert_rows(&rows(table), &[(2, vec![t("1"), t("Ł")])]);
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs: one clear line naming the file, or Ok where that is the sensible answer.

/// Open and drain; return the first error's text, or None when everything read.
fn read_all(path: &Path, opts: &ReadOptions) -> Option<String> {
    match read::open(path, opts) {
        Err(e) => Some(e.to_string()),
        Ok(table) => table
            .rows
            .filter_map(Result::err)
            .map(|e| e.to_string())
            .next(),
    }
}

fn assert_one_line_err(path: &Path, opts: &ReadOptions, want: &str) {
    let msg = read_all(path, opts).unwrap_or_else(|| panic!("{} read fine", path.display()));
    assert!(!msg.contains('\n'), "not one line: {msg}");
    assert!(
        msg.starts_with(&path.display().to_string()),
        "does not name the file: {msg}"
    );
    assert!(msg.contains(want), "{msg:?} lacks {want:?}");
}

#[test]
fn hostile_inputs_give_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let put = |name: &str, bytes: &[u8]| {
        std::fs::write(p(name), bytes).unwrap();
        p(name)
    };
    // Deterministic "random" bytes that include NUL and undefined bytes.
    let noise: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let xlsx = std::fs::read(fixture("excel_style.xlsx")).unwrap();
    let mut cfb_noise = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    cfb_noise.extend_from_slice(&noise);
    let default = ReadOptions::default();
    let header_zero = ReadOptions {
        header_row: Some(0),
        ..ReadOptions::default()
    };
    let no_sheet = ReadOptions {
        sheet: Some("Clients".into()),
        ..ReadOptions::default()
    };
    let far_header = ReadOptions {
        header_row: Some(50),
        ..ReadOptions::default()
    };
    let cases: Vec<(PathBuf, &ReadOptions, &str)> = vec![
        (put("empty.csv", b""), &default, "the file is empty"),
        (put("empty.xlsx", b""), &default, "the file is empty"),
        (
            put("blank.csv", b"\n\r\n\n"),
            &default,
            "no header row found",
        ),
        (
            put("commas.csv", b",,\n ,\n"),
            &default,
            "no header row found",
        ),
        (put("noise.csv", &noise), &default, "NUL bytes"),
        (
            put("noise.xlsx", &noise),
            &default,
            "not a readable Excel workbook",
        ),
        (
            put("noise.xls", &noise),
            &default,
            "not a readable Excel 97-2003 workbook",
        ),
        (
            put("noise.ods", &noise),
            &default,
            "not a readable OpenDocument spreadsheet",
        ),
        (
            put("noise.xlsm", &noise),
            &default,
            "not a readable Excel workbook",
        ),
        (
            put("trunc.xlsx", &xlsx[..xlsx.len() / 2]),
            &default,
            "not a readable Excel",
        ),
        (
            fixture("not_a_workbook.xlsx"),
            &default,
            "not a readable Excel workbook",
        ),
        (
            put("renamed.ods", &xlsx[..100]),
            &default,
            "not a readable OpenDocument",
        ),
        (
            put("locked.xlsx", &cfb_noise),
            &default,
            "is password-protected or damaged",
        ),
        (
            fixture("excel_style.xlsx"),
            &header_zero,
            "--header-row counts from 1",
        ),
        (
            put("nul.csv", b"a,b\n1,\x002\n"),
            &default,
            "NUL bytes (first at byte 6)",
        ),
        (
            put("not1252.csv", b"name\nM\xfcller \x81\n"),
            &default,
            "neither UTF-8 nor Windows-1252 text (byte 0x81",
        ),
        (
            put(
                "bad16.csv",
                &[0xFF, 0xFE, b'a', 0, b'\n', 0, 0x00, 0xD8, b'b', 0],
            ),
            &default,
            "malformed UTF-16",
        ),
        (
            put("nul16.csv", &[0xFF, 0xFE, b'a', 0, b'\n', 0, 0, 0]),
            &default,
            "NUL characters",
        ),
        (p("missing.csv"), &default, "no such file"),
        (dir.path().join("folder.csv"), &default, "is a folder"),
        (
            put("cases.pdf", b"a,b\n"),
            &default,
            "unsupported file type ('.pdf'); use a .csv, .txt, .tab, .tsv, .xlsx, .xlsm, .xlsb, .xls or .ods file",
        ),
        (
            put("cases", b"a,b\n"),
            &default,
            "unsupported file type (no extension)",
        ),
        (
            fixture("excel_style.xlsx"),
            &no_sheet,
            "no sheet 'Clients'; the sheets are 0: 'Cases'",
        ),
        (
            fixture("excel_style.xlsx"),
            &far_header,
            "no header on row 50",
        ),
        (
            put("short.csv", b"a\n1\n"),
            &far_header,
            "no header on row 50: the file has only 2 rows",
        ),
        (
            put(
                "hugehead.csv",
                format!("{}\n1\n", "h".repeat(5000)).as_bytes(),
            ),
            &default,
            "5000-byte cell",
        ),
    ];
    std::fs::create_dir(dir.path().join("folder.csv")).unwrap();
    for (path, opts, want) in &cases {
        assert_one_line_err(path, opts, want);
    }
}

#[test]
fn workbooks_are_opened_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("excel_style.xlsx", "renamed.xls", "xlsx"),
        ("cases.xls", "renamed.xlsx", "xls"),
        ("cases.ods", "renamed.xlsx", "ods"),
        ("excel_style.xlsx", "macro.XLSM", "xlsm"),
    ];
    for (from, to, format) in cases {
        let path = dir.path().join(to);
        std::fs::copy(fixture(from), &path).unwrap();
        let table = open(&path).unwrap_or_else(|e| panic!("{from} as {to}: {e}"));
        assert_eq!(table.info.format, format, "{from} as {to}");
        assert_eq!(table.headers, CASE_HEADERS, "{from} as {to}");
        assert_eq!(
            rows(table)[0].cells[0],
            Cell::Int(if format == "xlsx" || format == "xlsm" {
                2024001
            } else {
                2024401
            })
        );
    }
}

#[test]
fn header_only_reads_zero_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.csv");
    std::fs::write(&path, "case_number,name\n").unwrap();
    let table = open(&path).unwrap();
    assert_eq!(table.headers, ["case_number", "name"]);
    assert_eq!(table.rows.count(), 0);
}

#[test]
fn workbook_edge_sheets() {
    use rust_xlsxwriter::Workbook;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edge.xlsx");
    let mut book = Workbook::new();
    book.add_worksheet().set_name("Empty").unwrap();
    let ws = book.add_worksheet().set_name("HeaderOnly").unwrap();
    ws.write_string(3, 2, "case_number").unwrap();
    ws.write_string(3, 4, "status").unwrap();
    book.save(&path).unwrap();

    // The first (empty) sheet: one line naming the sheet.
    let msg = open(&path).err().unwrap();
    assert!(
        msg.ends_with("sheet 'Empty': the sheet is empty: no header row found"),
        "{msg}"
    );

    // A header alone, starting at C4: zero rows, and the gap named by its Excel letter.
    let opts = ReadOptions {
        sheet: Some("1".into()),
        ..ReadOptions::default()
    };
    let table = open_with(&path, &opts).unwrap();
    assert_eq!(table.header_row, 4);
    assert_eq!(table.headers, ["case_number", "column_D", "status"]);
    assert_eq!(table.rows.count(), 0);
}

#[test]
fn duplicate_headers_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dup.csv");
    std::fs::write(&path, "name,Name,name\n1,2,3\n").unwrap();
    let table = open(&path).unwrap();
    assert_eq!(table.headers, ["name", "Name", "name"]);
}

#[test]
fn twenty_thousand_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.csv");
    let header: Vec<String> = (0..20_000).map(|i| format!("c{i}")).collect();
    let row: Vec<String> = (0..20_000).map(|i| i.to_string()).collect();
    let text = format!(
        "{}\n{}\n{}\n",
        header.join(","),
        row.join(","),
        row.join(",")
    );
    std::fs::write(&path, text).unwrap();
    let table = open(&path).unwrap();
    assert_eq!(table.info.delimiter, Some(','));
    assert_eq!(table.headers.len(), 20_000);
    let got = rows(table);
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].cells[19_999], t("19999"));
}

#[test]
fn six_megabyte_cell() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let big = "x".repeat(6 * 1024 * 1024);
    std::fs::write(&path, format!("case_number;notes\n1;\"{big}\"\n2;y\n")).unwrap();
    let table = open(&path).unwrap();
    assert_eq!(table.info.delimiter, Some(';'));
    let got = rows(table);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].cells[1].to_text().len(), big.len());
    assert_eq!(got[1].source_row, 3);
}

// ---------------------------------------------------------------------------------------------
// XLSX sheets are streamed: cells and rows in XML written by hand, including what no writer
// library produces (rows and cells without addresses, broken XML, rows out of order).

/// An inline-string cell.
fn is(addr: &str, text: &str) -> String {
    format!("<c r=\"{addr}\" t=\"inlineStr\"><is><t>{text}</t></is></c>")
}

fn row(r: usize, cells: &[String]) -> String {
    format!("<row r=\"{r}\">{}</row>", cells.concat())
}

/// Write a hand-made workbook whose sheet data is `rows`.
fn hand_made(dir: &Path, name: &str, rows: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, crate::support::xlsx_with_sheet(rows, SHARED)).unwrap();
    path
}

const SHARED: &[&str] = &["shared one", "  padded  ", "Case #"];

#[test]
fn streamed_xlsx_rows_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let dt = |h, mi| {
        Cell::DateTime(
            NaiveDate::from_ymd_opt(2024, 3, 5)
                .unwrap()
                .and_hms_opt(h, mi, 0)
                .unwrap(),
        )
    };
    struct Case {
        what: &'static str,
        rows: String,
        header_row: Option<usize>,
        headers: &'static [&'static str],
        at: usize,
        want: Vec<(usize, Vec<Cell>)>,
    }
    let cases = vec![
        Case {
            what: "rows and cells without addresses, shared strings",
            rows: "<row><c t=\"inlineStr\"><is><t>a</t></is></c><c t=\"s\"><v>2</v></c></row>\
                   <row><c><v>1</v></c><c t=\"s\"><v>0</v></c></row>\
                   <row></row>\
                   <row><c t=\"b\"><v>1</v></c></row>"
                .to_string(),
            header_row: None,
            headers: &["a", "Case #"],
            at: 1,
            want: vec![
                (2, vec![Cell::Int(1), t("shared one")]),
                (3, vec![E, E]),
                (4, vec![Cell::Bool(true), E]),
            ],
        },
        Case {
            what: "sparse rows in a used range from C3; formatted empty cells make no row",
            rows: [
                row(3, &[is("C3", "case_number"), is("D3", "status"), is("E3", "note")]),
                row(5, &[is("D5", "active")]),
                row(7, &["<c r=\"C7\" s=\"3\"/>".to_string()]),
                // Left of the header and past its width: dropped, so the row is blank.
                row(8, &[is("B8", "left"), is("F8", "right")]),
                // Columns out of order; an empty inline string.
                row(9, &[is("E9", ""), "<c r=\"C9\"><v>42</v></c>".to_string()]),
                row(12, &["<c r=\"C12\" s=\"3\"/>".to_string()]),
            ]
            .concat(),
            header_row: None,
            headers: &["case_number", "status", "note"],
            at: 3,
            want: vec![
                (4, vec![E, E, E]),
                (5, vec![E, t("active"), E]),
                (6, vec![E, E, E]),
                (7, vec![E, E, E]),
                (8, vec![E, E, E]),
                (9, vec![Cell::Int(42), E, E]),
            ],
        },
        Case {
            what: "booleans, errors, dates by style, formulas' cached values, rich and shared text",
            rows: [
                row(
                    1,
                    &["A1", "B1", "C1", "D1", "E1", "F1", "G1", "H1", "I1", "J1", "K1"]
                        .map(|a| is(a, &a[..1])),
                ),
                row(
                    2,
                    &[
                        "<c r=\"A2\" t=\"b\"><v>0</v></c>",
                        "<c r=\"B2\" t=\"e\"><f>NA()</f><v>#N/A</v></c>",
                        "<c r=\"C2\" s=\"1\"><v>45356</v></c>",
                        "<c r=\"D2\" s=\"2\"><v>45356.5</v></c>",
                        "<c r=\"E2\" t=\"str\"><f>\"x\"&amp;\"y\"</f><v>xy</v></c>",
                        "<c r=\"F2\"><f>1+1</f><v>2</v></c>",
                        "<c r=\"G2\" t=\"inlineStr\"><is><r><t>Smith</t></r><r><t xml:space=\"preserve\"> &amp; Co</t></r></is></c>",
                        "<c r=\"H2\" t=\"s\"><v>1</v></c>",
                        "<c r=\"I2\" t=\"d\"><v>2024-03-05T09:30:00</v></c>",
                        "<c r=\"J2\" t=\"e\"><v>#DIV/0!</v></c>",
                        "<c r=\"K2\"><v>2024007.5</v></c>",
                    ]
                    .map(str::to_string),
                ),
                row(
                    3,
                    &[
                        "<c r=\"A3\" t=\"n\"><v>-3</v></c>",
                        "<c r=\"B3\" s=\"1\"><v>0.75</v></c>",
                        "<c r=\"C3\" s=\"1\"><v>-5</v></c>",
                    ]
                    .map(str::to_string),
                ),
            ]
            .concat(),
            header_row: None,
            headers: &["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K"],
            at: 1,
            want: vec![
                (
                    2,
                    vec![
                        Cell::Bool(false),
                        Cell::Error("#N/A".into()),
                        d(2024, 3, 5),
                        dt(12, 0),
                        t("xy"),
                        Cell::Int(2),
                        t("Smith & Co"),
                        t("  padded  "),
                        dt(9, 30),
                        Cell::Error("#DIV/0!".into()),
                        Cell::Float(2024007.5),
                    ],
                ),
                (
                    3,
                    vec![Cell::Int(-3), t("18:00:00"), Cell::Int(-5), E, E, E, E, E, E, E, E],
                ),
            ],
        },
        Case {
            what: "--header-row below a title",
            rows: [
                row(1, &[is("A1", "Export")]),
                row(3, &[is("A3", "a"), is("B3", "b")]),
                row(4, &["<c r=\"B4\"><v>1</v></c>".to_string()]),
            ]
            .concat(),
            header_row: Some(3),
            headers: &["a", "b"],
            at: 3,
            want: vec![(4, vec![E, Cell::Int(1)])],
        },
        Case {
            what: "without --header-row the title is the header",
            rows: [
                row(1, &[is("A1", "Export")]),
                row(3, &[is("A3", "a"), is("B3", "b")]),
                row(4, &["<c r=\"B4\"><v>1</v></c>".to_string()]),
            ]
            .concat(),
            header_row: None,
            headers: &["Export"],
            at: 1,
            want: vec![(2, vec![E]), (3, vec![t("a")]), (4, vec![E])],
        },
    ];
    for (i, c) in cases.into_iter().enumerate() {
        let path = hand_made(dir.path(), &format!("case{i}.xlsx"), &c.rows);
        let opts = ReadOptions {
            header_row: c.header_row,
            ..ReadOptions::default()
        };
        let table = open_with(&path, &opts).unwrap_or_else(|e| panic!("{}: {e}", c.what));
        assert_eq!(table.info.format, "xlsx", "{}", c.what);
        assert_eq!(table.info.sheet.as_deref(), Some("Cases"), "{}", c.what);
        assert_eq!(table.headers, c.headers, "{}", c.what);
        assert_eq!(table.header_row, c.at, "{}", c.what);
        assert_rows(&rows(table), &c.want);
    }
}

#[test]
fn streamed_xlsx_damage_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let header = row(1, &[is("A1", "a"), is("B1", "b")]);
    let good = |r: usize| {
        row(
            r,
            &[
                is(&format!("A{r}"), "x"),
                format!("<c r=\"B{r}\"><v>{r}</v></c>"),
            ],
        )
    };
    let many: String = (2..=700).map(good).collect();
    // Cut inside row 600, after a few batches of rows were handed over.
    let whole = crate::support::sheet_xml(&format!("{header}{many}"));
    let cut = whole.find("<row r=\"600\">").unwrap() + 20;
    let truncated = dir.path().join("truncated.xlsx");
    std::fs::write(
        &truncated,
        crate::support::xlsx_with_sheet_xml(&whole[..cut], SHARED),
    )
    .unwrap();
    let cases: Vec<(PathBuf, &str)> = vec![
        (
            truncated,
            "sheet 'Cases' cannot be read past row 598: the file is damaged (",
        ),
        (
            hand_made(
                dir.path(),
                "bad_shared.xlsx",
                &format!(
                    "{header}{}{}",
                    good(2),
                    row(3, &["<c r=\"A3\" t=\"s\"><v>99</v></c>".into()])
                ),
            ),
            // Row 2 was still being gathered (a row ends where the next begins), so it is not
            // handed over half-read.
            "sheet 'Cases' cannot be read past row 1: the file is damaged (Cell string index",
        ),
        (
            hand_made(
                dir.path(),
                "out_of_order.xlsx",
                &format!("{header}{}{}{}", good(2), good(5), good(3)),
            ),
            "sheet 'Cases' cannot be read past row 5: the file is damaged (row 3 comes after row 5)",
        ),
        (
            hand_made(
                dir.path(),
                "off_grid.xlsx",
                &format!("{header}{}", row(1_048_577, &[is("A1048577", "x")])),
            ),
            "lies outside Excel's grid",
        ),
        (
            hand_made(
                dir.path(),
                "bad_type.xlsx",
                &format!(
                    "{header}{}",
                    row(2, &["<c r=\"A2\" t=\"zz\"><v>1</v></c>".into()])
                ),
            ),
            "the file is damaged (",
        ),
        (
            hand_made(
                dir.path(),
                "bad_bool.xlsx",
                &format!(
                    "{header}{}",
                    row(2, &["<c r=\"A2\" t=\"b\"><v>maybe</v></c>".into()])
                ),
            ),
            "the file is damaged (",
        ),
        (
            // calamine's address arithmetic overflows: a panic in a debug build (caught on the
            // reading thread), an address far outside the grid in a release build.
            hand_made(
                dir.path(),
                "overflow.xlsx",
                &format!("{header}{}{}", good(2), row(3, &[is("AAAAAAAAAAAA3", "x")])),
            ),
            "the file is damaged",
        ),
        (
            hand_made(
                dir.path(),
                "bad_header.xlsx",
                &row(1, &["<c r=\"A1\" t=\"s\"><v>99</v></c>".into()]),
            ),
            "sheet 'Cases': the file is damaged (",
        ),
    ];
    for (path, want) in &cases {
        assert_one_line_err(path, &ReadOptions::default(), want);
    }
    // The rows before the damage are read, then the error ends the stream.
    let table = open(&cases[0].0).unwrap();
    let got: Vec<Result<RawRow, String>> =
        table.rows.map(|r| r.map_err(|e| e.to_string())).collect();
    assert_eq!(got.len(), 598);
    assert!(got[..597].iter().all(Result::is_ok));
    assert_eq!(got[596].as_ref().unwrap().source_row, 598);
    assert!(got[597].is_err());
}

/// Compressed bytes of the sheet changed in the middle of its zip entry: the zip directory is
/// intact, so the workbook opens and the damage shows only while the rows stream.
#[test]
fn streamed_xlsx_with_corrupt_compressed_data() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = std::iter::once(row(1, &[is("A1", "a"), is("B1", "b")]))
        .chain((2..=3000).map(|r| {
            row(
                r,
                &[
                    is(&format!("A{r}"), &format!("value {}", r * 7919 % 10007)),
                    format!("<c r=\"B{r}\"><v>{r}</v></c>"),
                ],
            )
        }))
        .collect();
    let good = crate::support::xlsx_with_sheet(&rows, SHARED);
    let (start, size) = {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&good)).unwrap();
        let entry = zip.by_name("xl/worksheets/sheet1.xml").unwrap();
        (
            entry.header_start() as usize,
            entry.compressed_size() as usize,
        )
    };
    for (i, at) in [size / 3, size / 2, size * 4 / 5].into_iter().enumerate() {
        let mut bad = good.clone();
        for k in 0..8 {
            let p = start + 30 + at + k;
            bad[p] ^= 0x5A;
        }
        let path = dir.path().join(format!("corrupt{i}.xlsx"));
        std::fs::write(&path, &bad).unwrap();
        assert_one_line_err(&path, &ReadOptions::default(), "sheet 'Cases'");
    }
}

// ---------------------------------------------------------------------------------------------
// The generator. Run with `cargo test --test it read::generate_fixtures -- --ignored`, then make the
// LibreOffice files as tests/fixtures/README.md says.

#[test]
#[ignore = "writes tests/fixtures; run by hand"]
fn generate_fixtures() {
    use rust_xlsxwriter::{Format, Formula, Workbook};

    let date = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    let dt_fmt = Format::new().set_num_format("yyyy-mm-dd hh:mm");

    // excel_style.xlsx
    let mut book = Workbook::new();
    let ws = book.add_worksheet().set_name("Cases").unwrap();
    for (c, h) in CASE_HEADERS.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    // Row 2 (index 1)
    ws.write_number(1, 0, 2024001).unwrap();
    ws.write_string(1, 1, "clio").unwrap();
    ws.write_string(1, 2, "A-100").unwrap();
    ws.write_string(1, 3, "Smith v. Jones").unwrap();
    ws.write_string(1, 4, "active").unwrap();
    ws.write_string(1, 5, "Personal Injury").unwrap();
    ws.write_boolean(1, 6, false).unwrap();
    ws.write_date_with_format(1, 7, date(2024, 3, 5), &date_fmt)
        .unwrap();
    ws.write_date_with_format(1, 8, date(2024, 6, 10), &date_fmt)
        .unwrap();
    ws.write_number(1, 9, 101).unwrap();
    // Row 3
    ws.write_string(2, 0, "007").unwrap();
    ws.write_string(2, 1, "clio").unwrap();
    ws.write_string(2, 2, "A-101").unwrap();
    ws.write_string(2, 3, "Peña v. Müller").unwrap();
    ws.write_string(2, 4, "active").unwrap();
    ws.write_string(2, 5, "Workers Comp").unwrap();
    ws.write_boolean(2, 6, true).unwrap();
    ws.write_date_with_format(2, 7, date(2024, 1, 15), &date_fmt)
        .unwrap();
    ws.write_string(2, 9, "12, 13").unwrap();
    // Row 4 blank. Row 5
    ws.write_number(4, 0, 2024003).unwrap();
    ws.write_string(4, 1, "clio").unwrap();
    ws.write_number(4, 2, 1003).unwrap();
    ws.write_string(4, 3, "Doe v. Acme").unwrap();
    ws.write_string(4, 4, "pending").unwrap();
    ws.write_string(4, 5, "Personal Injury").unwrap();
    ws.write_string(4, 6, "yes").unwrap();
    ws.write_date_with_format(4, 7, date(2023, 12, 31), &date_fmt)
        .unwrap();
    let when = date(2024, 7, 1).and_hms_opt(9, 30, 0).unwrap();
    ws.write_datetime_with_format(4, 8, when, &dt_fmt).unwrap();
    // Row 6: deliberately invalid values.
    ws.write_number(5, 0, 2024004).unwrap();
    ws.write_string(5, 1, "clio").unwrap();
    ws.write_string(5, 2, "A-104").unwrap();
    ws.write_formula(5, 3, Formula::new("=NA()").set_result("#N/A"))
        .unwrap();
    ws.write_string(5, 4, "actve").unwrap();
    ws.write_string(5, 5, "Personal Injury").unwrap();
    ws.write_string(5, 6, "maybe").unwrap();
    ws.write_string(5, 7, "02/30/2025").unwrap();
    // Row 7 blank; row 8 holds only an empty string (blank too). Row 9: no external_source.
    ws.write_string(7, 3, "").unwrap();
    ws.write_number(8, 0, 2024005).unwrap();
    ws.write_string(8, 2, "A-105").unwrap();
    ws.write_string(8, 3, "Roe v. Wade Corp").unwrap();
    ws.write_string(8, 4, "closed").unwrap();
    ws.write_string(8, 5, "Employment").unwrap();
    ws.write_boolean(8, 6, false).unwrap();
    ws.write_date_with_format(8, 7, date(2022, 2, 2), &date_fmt)
        .unwrap();
    ws.write_string(8, 9, "[7;8]").unwrap();
    // Row 10: an error from a formula in client_ids.
    ws.write_number(9, 0, 2024006).unwrap();
    ws.write_string(9, 1, "clio").unwrap();
    ws.write_string(9, 2, "A-106").unwrap();
    ws.write_string(9, 3, "Lee v. City").unwrap();
    ws.write_string(9, 4, "active").unwrap();
    ws.write_string(9, 5, "Civil Rights").unwrap();
    ws.write_boolean(9, 6, true).unwrap();
    ws.write_string(9, 7, "2024-04-01").unwrap();
    ws.write_formula(9, 9, Formula::new("=1/0").set_result("#DIV/0!"))
        .unwrap();
    // Row 11: a fractional case number, padded text, a number as boolean, a leap day.
    ws.write_number(10, 0, 2024007.5).unwrap();
    ws.write_string(10, 1, "clio").unwrap();
    ws.write_string(10, 2, "A-107").unwrap();
    ws.write_string(10, 3, "  Padded  ").unwrap();
    ws.write_string(10, 4, "active").unwrap();
    ws.write_string(10, 5, "Personal Injury").unwrap();
    ws.write_number(10, 6, 1).unwrap();
    ws.write_date_with_format(10, 7, date(2024, 2, 29), &date_fmt)
        .unwrap();
    book.save(fixture("excel_style.xlsx")).unwrap();

    // title_rows.xlsx: a hidden first sheet, a merged title, a blank row, header on row 3.
    let mut book = Workbook::new();
    let lookups = book.add_worksheet().set_name("Lookups").unwrap();
    lookups.write_string(0, 0, "status").unwrap();
    lookups.write_string(1, 0, "active").unwrap();
    lookups.write_string(2, 0, "closed").unwrap();
    lookups.set_hidden(true);
    let ws = book.add_worksheet().set_name("Cases").unwrap();
    ws.set_active(true);
    ws.merge_range(0, 0, 0, 6, "Smith & Partners: case export", &Format::new())
        .unwrap();
    let headers = [
        "Case #",
        "Source",
        "Source ID",
        "Case Name",
        "",
        "Case Status",
        "Case Type",
    ];
    for (c, h) in headers.iter().enumerate() {
        if !h.is_empty() {
            ws.write_string(2, c as u16, *h).unwrap();
        }
    }
    let data: [(u32, f64, &str, &str, &str, &str); 2] = [
        (3, 2024201.0, "T-1", "Ortiz v. Blue Cab", "note", "Auto"),
        (5, 2024202.0, "T-2", "Nguyen v. Home Co", "", "Premises"),
    ];
    for (r, num, id, name, note, ty) in data {
        ws.write_number(r, 0, num).unwrap();
        ws.write_string(r, 1, "other").unwrap();
        ws.write_string(r, 2, id).unwrap();
        ws.write_string(r, 3, name).unwrap();
        if !note.is_empty() {
            ws.write_string(r, 4, note).unwrap();
        }
        ws.write_string(r, 5, "active").unwrap();
        ws.write_string(r, 6, ty).unwrap();
    }
    book.save(fixture("title_rows.xlsx")).unwrap();

    // lo_source.xlsx: the source LibreOffice converts into cases.ods and cases.xls (not committed).
    let mut book = Workbook::new();
    let ws = book.add_worksheet().set_name("Cases").unwrap();
    for (c, h) in CASE_HEADERS.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_number(1, 0, 2024401).unwrap();
    ws.write_string(2, 0, "0042").unwrap();
    for (r, id, name, status, ty) in [
        (1, "L-1", "Garcia v. Metro", "active", "Personal Injury"),
        (2, "L-2", "Kowalski v. Shop", "pending", "Premises"),
        (4, "L-3", "Ávila v. Transit", "closed", "Auto"),
    ] {
        ws.write_string(r, 1, "clio").unwrap();
        ws.write_string(r, 2, id).unwrap();
        ws.write_string(r, 3, name).unwrap();
        ws.write_string(r, 4, status).unwrap();
        ws.write_string(r, 5, ty).unwrap();
    }
    ws.write_number(4, 0, 2024403).unwrap();
    ws.write_boolean(1, 6, false).unwrap();
    ws.write_boolean(2, 6, true).unwrap();
    ws.write_date_with_format(1, 7, date(2024, 3, 5), &date_fmt)
        .unwrap();
    ws.write_date_with_format(2, 7, date(2023, 11, 20), &date_fmt)
        .unwrap();
    ws.write_date_with_format(4, 7, date(2020, 2, 29), &date_fmt)
        .unwrap();
    ws.write_date_with_format(1, 8, date(2024, 9, 30), &date_fmt)
        .unwrap();
    ws.write_number(1, 9, 11).unwrap();
    ws.write_string(2, 9, "12;13").unwrap();
    book.save(std::env::temp_dir().join("lo_source.xlsx"))
        .unwrap();

    // win1252_semicolon.csv: what Excel on a European Windows writes (CRLF, `;`, Windows-1252).
    let text = "case_number;external_source;external_source_id;name;status;type;is_obo;created_date;description;client_ids\r\n\
        2024101;clio;W-1;Müller v. Peña;active;Personal Injury;no;2024-03-05;Fee 1.500 €;101\r\n\
        00123;clio;W-2;\"Françoise Dupont; estate\";active;Probate;yes;3/5/2024;\"Line one\r\nLine two\";\r\n\
        ;;;;;;;;;\r\n\
        2024103;clio;W-3;O’Brien v. Zoë’s Café;pending;Premises;;5 March 2024;'=HYPERLINK(\"http://x\");\"7;8\"\r\n\
        2024104;clio;W-4;Søren Ærø\r\n\
        2024105;clio;W-5;Ångström;active;Auto;no;2024-01-02; spaced ;9;extra;more\r\n";
    let (bytes, _, bad) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!bad);
    std::fs::write(fixture("win1252_semicolon.csv"), &bytes).unwrap();

    // utf16.csv: Excel's "Unicode Text": UTF-16LE with a BOM, tab-separated.
    let text = "Case Number\tSource\tSource ID\tCase Name\tCase Status\tCase Type\r\n\
        2024301\tfilevine\tU-1\tZoë Łukasz v. 東京 Ltd\tactive\tAuto\r\n\
        007\tfilevine\tU-2\tEmoji 😀 Estate\tactive\tProbate\r\n\
        2024303\tfilevine\tU-3\t\"Ünal, Ayşe\"\tclosed\tAuto\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(fixture("utf16.csv"), &bytes).unwrap();
}

/// The data of `firm_export.xlsx`, `firm_export.xlsb` and the text fixtures: a firm's open
/// matters export. (row, case #, source id, client, SSN, status, type, fees, opened (serial)).
#[allow(clippy::type_complexity)]
const FIRM_ROWS: [(u32, f64, &str, &str, &str, &str, &str, f64, f64); 9] = [
    (
        4,
        2024501.0,
        "M-1",
        "Ortiz",
        "123-45-6789",
        "active",
        "Auto",
        1200.0,
        45356.0,
    ),
    (
        5,
        2024502.0,
        "M-2",
        "Nguyen",
        "234-56-7890",
        "active",
        "Premises",
        800.0,
        45357.0,
    ),
    (
        6,
        2024503.0,
        "M-3",
        "Okafor",
        "345-67-8901",
        "closed",
        "Auto",
        0.0,
        45358.0,
    ),
    (
        7,
        2024504.0,
        "M-4",
        "Lindqvist",
        "456-78-9012",
        "active",
        "Auto",
        300.0,
        45359.0,
    ),
    (
        8,
        2024505.0,
        "M-5",
        "Haddad",
        "567-89-0123",
        "pending",
        "Medical",
        950.0,
        45360.0,
    ),
    (
        9,
        2024506.0,
        "M-6",
        "Kowalski",
        "678-90-1234",
        "closed",
        "Premises",
        0.0,
        45361.0,
    ),
    (
        10,
        2024507.0,
        "M-7",
        "Dubois",
        "789-01-2345",
        "active",
        "Auto",
        410.0,
        45362.0,
    ),
    (
        11,
        2024508.0,
        "M-8",
        "Sato",
        "890-12-3456",
        "closed",
        "Medical",
        0.0,
        45363.0,
    ),
    (
        12,
        2024509.0,
        "M-9",
        "Moreau",
        "901-23-4567",
        "active",
        "Auto",
        75.0,
        45364.0,
    ),
];

const FIRM_TITLE: &str = "Smith & Alvarez Injury Law — Open Matters (exported 3/1/2024)";
const FIRM_HEADERS: [&str; 9] = [
    "Case #",
    "Source",
    "Source ID",
    "Client",
    "SSN",
    "Case Status",
    "Case Type",
    "Fees",
    "Opened",
];

/// Writes the fixtures of the header search, hidden rows and columns, Total rows, other sheets
/// and the extra file types (tests/fixtures/README.md describes each). Separate from
/// `generate_fixtures` so the older fixtures are not rewritten.
#[test]
#[ignore = "writes tests/fixtures; run by hand"]
fn generate_reading_fixtures() {
    use crate::support::{XlsbCell, xlsb_workbook};
    use rust_xlsxwriter::{FilterCondition, Format, Formula, Workbook};

    // firm_export.xlsx
    let mut book = Workbook::new();
    let ws = book.add_worksheet().set_name("Open Matters").unwrap();
    ws.merge_range(0, 0, 0, 8, FIRM_TITLE, &Format::new().set_bold())
        .unwrap();
    for (c, h) in FIRM_HEADERS.iter().enumerate() {
        ws.write_string(2, c as u16, *h).unwrap();
    }
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd");
    for (r, num, id, client, ssn, status, ty, fees, opened) in FIRM_ROWS {
        let r = r - 1;
        ws.write_number(r, 0, num).unwrap();
        ws.write_string(r, 1, "clio").unwrap();
        ws.write_string(r, 2, id).unwrap();
        ws.write_string(r, 3, client).unwrap();
        ws.write_string(r, 4, ssn).unwrap();
        ws.write_string(r, 5, status).unwrap();
        ws.write_string(r, 6, ty).unwrap();
        ws.write_number(r, 7, fees).unwrap();
        ws.write_number_with_format(r, 8, opened, &date_fmt)
            .unwrap();
        if status == "closed" {
            ws.set_row_hidden(r).unwrap();
        }
    }
    ws.set_column_hidden(4).unwrap();
    ws.autofilter(2, 0, 11, 8).unwrap();
    let open = FilterCondition::new()
        .add_list_filter("active")
        .add_list_filter("pending");
    ws.filter_column(5, &open).unwrap();
    ws.write_string(12, 0, "Total").unwrap();
    ws.write_formula(
        12,
        7,
        Formula::new("=SUBTOTAL(109,H4:H12)").set_result("3735"),
    )
    .unwrap();
    let notes = book.add_worksheet().set_name("Notes").unwrap();
    notes
        .write_string(0, 0, "Exported for the Kayse migration")
        .unwrap();
    let archive = book.add_worksheet().set_name("Archive").unwrap();
    archive.write_string(0, 0, "Case #").unwrap();
    archive.set_hidden(true);
    book.save(fixture("firm_export.xlsx")).unwrap();

    // firm_export.xlsb: the same sheet (XLSB keeps no hidden state this reader sees).
    let mut rows: Vec<Vec<(u32, XlsbCell)>> = vec![
        vec![(0, XlsbCell::Text(FIRM_TITLE))],
        vec![],
        FIRM_HEADERS
            .iter()
            .enumerate()
            .map(|(c, h)| (c as u32, XlsbCell::Text(h)))
            .collect(),
    ];
    for (_, num, id, client, ssn, status, ty, fees, opened) in FIRM_ROWS {
        rows.push(vec![
            (0, XlsbCell::Number(num)),
            (1, XlsbCell::Text("clio")),
            (2, XlsbCell::Text(id)),
            (3, XlsbCell::Text(client)),
            (4, XlsbCell::Text(ssn)),
            (5, XlsbCell::Text(status)),
            (6, XlsbCell::Text(ty)),
            (7, XlsbCell::Number(fees)),
            (8, XlsbCell::Date(opened)),
        ]);
    }
    rows[5].push((9, XlsbCell::Bool(true)));
    rows[6].push((9, XlsbCell::Error(0x2A)));
    rows.push(vec![
        (0, XlsbCell::Text("Total")),
        (7, XlsbCell::Number(3735.0)),
    ]);
    let bytes = xlsb_workbook(&[
        ("Open Matters", false, rows),
        ("Archive", true, vec![vec![(0, XlsbCell::Text("Case #"))]]),
    ]);
    std::fs::write(fixture("firm_export.xlsb"), bytes).unwrap();

    // The text files Excel saves, from the same rows (no SSN, dates as Excel shows them).
    let head = "Case Number\tSource\tSource ID\tClient\tCase Status\tCase Type\tOpened";
    let mut body = String::new();
    for (_, num, id, client, _, status, ty, _, _) in FIRM_ROWS.iter().take(3) {
        body.push_str(&format!(
            "{num}\tclio\t{id}\t{client}\t{status}\t{ty}\t3/5/2024\r\n"
        ));
    }
    // "Text (Tab delimited)": Windows-1252, CRLF, a comma and an accent in a value.
    let text =
        format!("{head}\r\n{body}2024510\tclio\tM-10\tPeña, José\tactive\tAuto\t3/6/2024\r\n");
    let (bytes, _, bad) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!bad);
    std::fs::write(fixture("excel_text.txt"), &bytes).unwrap();
    // "Unicode Text": UTF-16LE with a BOM; the sheet had a title row and a blank row, which
    // Excel writes as a line padded with tabs.
    let text = format!(
        "{FIRM_TITLE}\t\t\t\t\t\t\r\n\t\t\t\t\t\t\r\n{head}\r\n{body}2024510\tclio\tM-10\tŁukasz 東京\tactive\tAuto\t3/6/2024\r\n"
    );
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(fixture("unicode_text.txt"), &bytes).unwrap();
    // .tab: UTF-8, LF, and a Total row at the foot.
    let text = format!("{head}\n{}Total\t\t\t\t\t\t3\n", body.replace("\r\n", "\n"));
    std::fs::write(fixture("cases.tab"), text.as_bytes()).unwrap();
}

/// Damaged workbooks: every truncation point on a coarse grid, and bytes flipped at
/// pseudo-random places. Whatever calamine makes of them, `open` must return (Ok or one line)
/// without a panic escaping.
#[test]
fn damaged_workbooks_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for name in ["excel_style.xlsx", "cases.xls", "cases.ods"] {
        let good = std::fs::read(fixture(name)).unwrap();
        let path = dir.path().join(name);
        let mut variants: Vec<Vec<u8>> = (1..20)
            .map(|k| good[..good.len() * k / 20].to_vec())
            .collect();
        for _ in 0..60 {
            let mut bad = good.clone();
            for _ in 0..4 {
                let at = (next() % bad.len() as u64) as usize;
                bad[at] = next() as u8;
            }
            variants.push(bad);
        }
        for bytes in variants {
            std::fs::write(&path, &bytes).unwrap();
            if let Some(msg) = read_all(&path, &ReadOptions::default()) {
                assert!(!msg.contains('\n'), "{name}: {msg}");
                assert!(msg.starts_with(&path.display().to_string()), "{msg}");
            }
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]

    /// Any bytes named .csv: the whole pipeline (scan, decode, sniff, parse) answers Ok or one
    /// line, and never panics. Text-like bytes are favoured so parsing is reached often.
    #[test]
    fn any_bytes_as_csv(
        bytes in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(b",;\t|\"\r\n a1'=".to_vec()),
                proptest::num::u8::ANY,
            ],
            0..300,
        ),
        bom in 0u8..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("any.csv");
        let mut data = match bom {
            1 => vec![0xEF, 0xBB, 0xBF],
            2 => vec![0xFF, 0xFE],
            3 => vec![0xFE, 0xFF],
            _ => Vec::new(),
        };
        data.extend_from_slice(&bytes);
        std::fs::write(&path, &data).unwrap();
        if let Some(msg) = read_all(&path, &ReadOptions::default()) {
            proptest::prop_assert!(!msg.contains('\n'), "{}", msg);
        }
    }
}
