//! Results writers read back cell by cell: calamine for XLSX values, the raw zip parts for what
//! calamine cannot see (notes, fills, frozen pane, autofilter), the csv crate for CSV.

use std::io::Read;
use std::path::Path;

use calamine::{Data, DataType, Reader, Xlsx, open_workbook};
use chrono::NaiveDate;

use super::*;
use crate::cell::Cell;
use crate::outcome::{Outcome, ResultRow, RowError};
use crate::report::summary::Summary;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn headers() -> Vec<String> {
    ["case_number", "created_date", "is_obo", "count", "notes"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn long_text() -> String {
    "x".repeat(40_000)
}

/// Valid, invalid with errors on two columns (one twice), leading zeros, formula-like text, a
/// negative number, an error cell and a 40,000-character text.
fn rows() -> Vec<ResultRow> {
    vec![
        ResultRow {
            source_row: 2,
            outcome: Outcome::Valid,
            kayse_id: Some(42),
            errors: vec![],
            cells: vec![
                Cell::Text("007".into()),
                Cell::Date(date(2024, 3, 5)),
                Cell::Bool(true),
                Cell::Int(-5),
                Cell::Text("=SUM(A1)".into()),
            ],
            extra: vec![Cell::Text("hello".into())],
        },
        ResultRow {
            source_row: 3,
            outcome: Outcome::Invalid,
            kayse_id: None,
            errors: vec![
                RowError::new("created_date", "not a real date")
                    .at(Some(1))
                    .with_value("02/30/2025"),
                RowError::new("created_date", "is in the future").at(Some(1)),
                RowError::new("case_number", "is required").at(Some(0)),
                RowError::new("status", "is required"),
            ],
            cells: vec![
                Cell::Empty,
                Cell::Text("02/30/2025".into()),
                Cell::Error("#N/A".into()),
                Cell::Float(1.5),
                Cell::Text("+1 555".into()),
            ],
            extra: vec![Cell::Empty],
        },
        ResultRow {
            source_row: 5,
            outcome: Outcome::Valid,
            kayse_id: None,
            errors: vec![],
            cells: vec![
                Cell::Text("C-9".into()),
                Cell::DateTime(date(2024, 1, 2).and_hms_opt(3, 4, 5).unwrap()),
                Cell::Bool(false),
                Cell::Int(0),
                Cell::Text(long_text()),
            ],
            extra: vec![Cell::Text("-2+3".into())],
        },
    ]
}

fn summary() -> Summary {
    let mut s = Summary {
        command: "validate".into(),
        command_line: "kayse-bulk validate cases.xlsx".into(),
        input: "cases.xlsx".into(),
        rows_read: 3,
        blank_rows: 1,
        warnings: vec!["column 'notes' maps to no field".into()],
        statuses: vec![("active".into(), 2), ("closed".into(), 1)],
        types: vec![("civil".into(), 3)],
        ..Summary::default()
    };
    s.count(Outcome::Valid);
    s.count(Outcome::Valid);
    s.count(Outcome::Invalid);
    s
}

fn write_all(path: &Path, rows: &[ResultRow]) -> Result<(), ResultsError> {
    let mut w = ResultsWriter::create(path, &headers(), &["message".to_string()])?;
    for r in rows {
        w.write(r)?;
    }
    w.finish(&summary())
}

fn sheet(path: &Path, name: &str) -> Vec<Vec<Data>> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let range = wb.worksheet_range(name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

fn part(path: &Path, name: &str) -> String {
    let file = std::fs::File::open(path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect()
}

fn s(v: &str) -> Data {
    Data::String(v.to_string())
}

#[test]
fn guard_prefixes_formula_starters_only() {
    let cases = [
        (
            "=HYPERLINK(\"http://x\",\"y\")",
            "'=HYPERLINK(\"http://x\",\"y\")",
        ),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("007", "007"),
        ("a=b", "a=b"),
        ("", ""),
        ("#N/A", "#N/A"),
        ("'already", "'already"),
    ];
    for (input, want) in cases {
        assert_eq!(guard_formula(input), want, "{input:?}");
    }
}

#[test]
fn clip_keeps_short_text_and_marks_long_text() {
    assert_eq!(clip_for_excel("abc", 10), "abc");
    // More bytes than the limit but not more UTF-16 units: kept whole.
    for kept in [
        "é".repeat(20),
        "東".repeat(30),
        format!("{}😀", "a".repeat(28)),
    ] {
        assert_eq!(clip_for_excel(&kept, 30), kept.as_str());
    }
    let one_over = format!("{}😀", "a".repeat(29));
    assert!(clip_for_excel(&one_over, 30).ends_with(" [cut: 31 characters]"));
    let long = long_text();
    let clipped = clip_for_excel(&long, MAX_CELL_CHARS);
    assert_eq!(clipped.encode_utf16().count(), MAX_CELL_CHARS);
    assert!(
        clipped.ends_with(" [cut: 40000 characters]"),
        "{}",
        &clipped[32_700..]
    );
    // Never splits a character: an emoji is two UTF-16 units.
    let emoji = "😀".repeat(20);
    let clipped = clip_for_excel(&emoji, 30);
    assert!(clipped.encode_utf16().count() <= 30);
    assert!(clipped.starts_with('😀') && clipped.ends_with(" [cut: 40 characters]"));
}

#[test]
fn format_follows_extension() {
    let cases = [
        ("a.xlsx", Some(ResultsFormat::Xlsx)),
        ("A.XLSX", Some(ResultsFormat::Xlsx)),
        ("dir/a.results.csv", Some(ResultsFormat::Csv)),
        ("a.xls", None),
        ("a", None),
    ];
    for (p, want) in cases {
        assert_eq!(ResultsFormat::from_path(Path::new(p)), want, "{p}");
    }
    let err = ResultsWriter::create(Path::new("out.ods"), &headers(), &[])
        .err()
        .unwrap();
    assert!(matches!(err, ResultsError::UnknownFormat { .. }), "{err}");
}

#[test]
fn csv_cell_text() {
    let cases = [
        (Cell::Empty, ""),
        (Cell::Bool(true), "TRUE"),
        (Cell::Bool(false), "FALSE"),
        (Cell::Int(-5), "-5"),
        (Cell::Float(-1.5), "-1.5"),
        (Cell::Date(date(2024, 3, 5)), "2024-03-05"),
        (Cell::Text("-5".into()), "'-5"),
        (Cell::Text("007".into()), "007"),
        (Cell::Error("#N/A".into()), "#N/A"),
    ];
    for (cell, want) in cases {
        assert_eq!(csv::csv_text(&cell), want, "{cell:?}");
    }
}

#[test]
fn xlsx_round_trip_cell_by_cell() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.xlsx");
    write_all(&path, &rows()).unwrap();
    assert!(leftovers(dir.path()).is_empty());

    let got = sheet(&path, "Results");
    let head: Vec<Data> = [
        "source_row",
        "kayse_result",
        "kayse_id",
        "kayse_errors",
        "message",
        "case_number",
        "created_date",
        "is_obo",
        "count",
        "notes",
    ]
    .iter()
    .map(|h| s(h))
    .collect();
    assert_eq!(got[0], head);
    assert_eq!(got.len(), 4);

    let r = &got[1];
    assert_eq!(r[0], Data::Float(2.0));
    assert_eq!(r[1], s("valid"));
    assert_eq!(r[2], Data::Float(42.0));
    assert_eq!(r[3], Data::Empty);
    assert_eq!(r[4], s("hello"));
    assert_eq!(r[5], s("007"), "leading zeros stay text");
    assert!(r[6].is_datetime(), "a date cell stays a date: {:?}", r[6]);
    assert_eq!(r[6].as_date(), Some(date(2024, 3, 5)));
    assert_eq!(r[7], Data::Bool(true));
    assert_eq!(r[8], Data::Float(-5.0));
    assert_eq!(r[9], s("=SUM(A1)"), "formula-like text stays text");

    let r = &got[2];
    assert_eq!(r[1], s("invalid"));
    assert_eq!(r[2], Data::Empty);
    assert_eq!(
        r[3],
        s(
            "created_date: not a real date (value '02/30/2025'); created_date: is in the future; case_number: is required; status: is required"
        )
    );
    assert_eq!(r[5], Data::Empty);
    assert_eq!(r[6], s("02/30/2025"));
    assert_eq!(r[7], s("#N/A"));
    assert_eq!(r[8], Data::Float(1.5));
    assert_eq!(r[9], s("+1 555"));

    let r = &got[3];
    assert_eq!(r[4], s("-2+3"));
    assert_eq!(
        r[6].as_datetime(),
        Some(date(2024, 1, 2).and_hms_opt(3, 4, 5).unwrap())
    );
    assert_eq!(r[7], Data::Bool(false));
    let Data::String(long) = &r[9] else {
        panic!("long text is text: {:?}", r[9])
    };
    assert_eq!(long.chars().count(), MAX_CELL_CHARS);
    assert!(long.ends_with("[cut: 40000 characters]"));

    // What calamine cannot read: pane, autofilter, widths, fills and notes.
    let xml = part(&path, "xl/worksheets/sheet1.xml");
    assert!(xml.contains(r#"<pane ySplit="1""#), "frozen header");
    assert!(xml.contains(r#"<autoFilter ref="A1:J4"/>"#), "autofilter");
    assert!(
        xml.contains(r#"<col min="4" max="4" width="60.7109375""#),
        "wide kayse_errors: {xml}"
    );
    let notes = part(&path, "xl/comments1.xml");
    assert!(notes.contains(
        "created_date: not a real date (value &apos;02/30/2025&apos;)\ncreated_date: is in the future"
    ) || notes.contains(
        "created_date: not a real date (value '02/30/2025')\ncreated_date: is in the future"
    ), "{notes}");
    assert!(notes.contains(r#"<comment ref="G3""#), "{notes}");
    assert!(notes.contains(r#"<comment ref="F3""#), "{notes}");
    assert_eq!(notes.matches("<comment ref=").count(), 2, "{notes}");
    let styles = part(&path, "xl/styles.xml");
    assert!(styles.contains("FFFFC7CE"), "bad fill defined");
}

#[test]
fn xlsx_summary_sheet_holds_the_lines_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.xlsx");
    write_all(&path, &rows()).unwrap();
    let got = sheet(&path, "Summary");
    let pairs: Vec<(String, String)> = got
        .iter()
        .map(|r| {
            (
                r[0].to_string(),
                r.get(1).map(|c| c.to_string()).unwrap_or_default(),
            )
        })
        .collect();
    for (label, value) in summary().lines() {
        assert!(
            pairs.contains(&(label.clone(), value.clone())),
            "{label}: {value} missing from {pairs:?}"
        );
    }
    let find = |label: &str| pairs.iter().position(|(l, _)| l == label).unwrap();
    let st = find("status");
    assert_eq!(pairs[st + 1], ("active".to_string(), "2".to_string()));
    assert_eq!(pairs[st + 2], ("closed".to_string(), "1".to_string()));
    let ty = find("type");
    assert_eq!(pairs[ty + 1], ("civil".to_string(), "3".to_string()));
    assert_eq!(
        got[find("rows read")][1],
        Data::Float(3.0),
        "counts are numbers"
    );
}

#[test]
fn csv_round_trip_with_bom_and_guard() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.csv");
    write_all(&path, &rows()).unwrap();
    assert!(leftovers(dir.path()).is_empty());
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM");
    let mut rd = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..]);
    let got: Vec<Vec<String>> = rd
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    let want: Vec<Vec<String>> = vec![
        vec![
            "source_row", "kayse_result", "kayse_id", "kayse_errors", "message", "case_number",
            "created_date", "is_obo", "count", "notes",
        ],
        vec![
            "2", "valid", "42", "", "hello", "007", "2024-03-05", "TRUE", "-5", "'=SUM(A1)",
        ],
        vec![
            "3",
            "invalid",
            "",
            "created_date: not a real date (value '02/30/2025'); created_date: is in the future; case_number: is required; status: is required",
            "",
            "",
            "02/30/2025",
            "#N/A",
            "1.5",
            "'+1 555",
        ],
        vec![
            "5",
            "valid",
            "",
            "",
            "'-2+3",
            "C-9",
            "2024-01-02 03:04:05",
            "FALSE",
            "0",
            &long_text(),
        ],
    ]
    .into_iter()
    .map(|r| r.into_iter().map(String::from).collect())
    .collect();
    assert_eq!(got, want);
}

#[test]
fn csv_guards_every_hostile_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.csv");
    let hostile = [
        "=HYPERLINK(\"http://x\",\"y\")",
        "+1",
        "-2+3",
        "@SUM(A1)",
        "\tx",
    ];
    let heads = vec!["v".to_string()];
    let mut w = ResultsWriter::create(&path, &heads, &[]).unwrap();
    for (i, h) in hostile.iter().enumerate() {
        w.write(&ResultRow {
            source_row: i + 2,
            outcome: Outcome::Valid,
            kayse_id: None,
            errors: vec![],
            cells: vec![Cell::Text(h.to_string())],
            extra: vec![],
        })
        .unwrap();
    }
    w.finish(&Summary::default()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut rd = ::csv::Reader::from_reader(&bytes[3..]);
    let got: Vec<String> = rd.records().map(|r| r.unwrap()[4].to_string()).collect();
    let want: Vec<String> = hostile.iter().map(|h| format!("'{h}")).collect();
    assert_eq!(got, want);
}

#[test]
fn target_appears_only_at_finish_and_replaces_the_old_file() {
    for name in ["r.xlsx", "r.csv"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, b"old").unwrap();
        let mut w = ResultsWriter::create(&path, &headers(), &[]).unwrap();
        for r in rows() {
            w.write(&ResultRow { extra: vec![], ..r }).unwrap();
        }
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"old",
            "{name}: untouched while writing"
        );
        w.finish(&summary()).unwrap();
        assert_ne!(std::fs::read(&path).unwrap(), b"old", "{name}: replaced");
        assert!(leftovers(dir.path()).is_empty(), "{name}");
        // A writer dropped without finish leaves the old file and no temporary file.
        let mut w = ResultsWriter::create(&path, &headers(), &[]).unwrap();
        w.write(&rows()[0]).unwrap();
        let before = std::fs::read(&path).unwrap();
        drop(w);
        assert_eq!(std::fs::read(&path).unwrap(), before, "{name}");
        assert!(leftovers(dir.path()).is_empty(), "{name}");
    }
    // Absent until finish.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.csv");
    let mut w = ResultsWriter::create(&path, &headers(), &[]).unwrap();
    w.write(&rows()[0]).unwrap();
    assert!(!path.exists());
    w.finish(&summary()).unwrap();
    assert!(path.exists());
}

#[test]
fn failed_replace_names_the_kept_file() {
    let dir = tempfile::tempdir().unwrap();
    // A directory in the way makes the rename fail, as a file locked by Excel does on Windows.
    let path = dir.path().join("busy.csv");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("x"), b"x").unwrap();
    let w = ResultsWriter::create(&path, &headers(), &[]).unwrap();
    let err = w.finish(&summary()).err().unwrap();
    let text = err.to_string();
    assert!(text.contains("open in Excel"), "{text}");
    assert!(matches!(err, ResultsError::Replace { .. }));
    assert_eq!(leftovers(dir.path()).len(), 1, "finished file kept");
}

#[test]
fn xlsx_row_limit_suggests_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.xlsx");
    let mut w = ResultsWriter::create(&path, &headers(), &[]).unwrap();
    if let Some(Inner::Xlsx(x)) = w.inner.as_mut() {
        x.max_rows = 3;
    }
    let row = ResultRow {
        extra: vec![],
        ..rows()[0].clone()
    };
    w.write(&row).unwrap();
    w.write(&row).unwrap();
    let err = w.write(&row).err().unwrap();
    assert!(matches!(err, ResultsError::TooManyRows { .. }), "{err}");
    assert!(err.to_string().contains("--results NAME.csv"), "{err}");
}

#[test]
fn notes_beyond_the_cap_fall_back_to_fill_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.xlsx");
    let mut w = ResultsWriter::create(&path, &headers(), &[]).unwrap();
    if let Some(Inner::Xlsx(x)) = w.inner.as_mut() {
        x.note_limit = 1;
    }
    let bad = ResultRow {
        extra: vec![],
        ..rows()[1].clone()
    };
    w.write(&bad).unwrap();
    w.finish(&summary()).unwrap();
    let notes = part(&path, "xl/comments1.xml");
    assert_eq!(notes.matches("<comment ref=").count(), 1);
    let got = sheet(&path, "Summary");
    assert!(
        got.iter().any(|r| r[0] == s("notes")
            && r[1]
                .to_string()
                .contains("1 more are marked by their fill only")),
        "{got:?}"
    );
}

#[test]
fn ragged_rows_keep_the_header_layout() {
    let short = ResultRow {
        source_row: 2,
        outcome: Outcome::Invalid,
        kayse_id: None,
        errors: vec![RowError::new("notes", "is required").at(Some(4))],
        cells: vec![Cell::Text("a".into()), Cell::Date(date(1899, 12, 30))],
        extra: vec![],
    };
    let long = ResultRow {
        source_row: 3,
        outcome: Outcome::Valid,
        kayse_id: None,
        errors: vec![],
        cells: (0..7).map(Cell::Int).collect(),
        extra: vec![Cell::Text("m".into()), Cell::Text("spill".into())],
    };
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("r.csv");
    let xlsx_path = dir.path().join("r.xlsx");
    write_all(&csv_path, &[short.clone(), long.clone()]).unwrap();
    write_all(&xlsx_path, &[short, long]).unwrap();

    let bytes = std::fs::read(&csv_path).unwrap();
    let mut rd = ::csv::Reader::from_reader(&bytes[3..]);
    let got: Vec<Vec<String>> = rd
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(got[0][4..], ["", "a", "1899-12-30", "", "", ""]);
    assert_eq!(got[1][4..], ["m", "0", "1", "2", "3", "4"]);

    let rows = sheet(&xlsx_path, "Results");
    assert!(rows.iter().all(|r| r.len() == 10), "{rows:?}");
    assert_eq!(
        rows[1][6],
        s("1899-12-30"),
        "a date Excel cannot show stays text"
    );
    assert_eq!(rows[1][5], s("a"));
    assert_eq!(
        rows[2][4],
        s("m"),
        "extra values never spill into input columns"
    );
    assert_eq!(rows[2][5], Data::Float(0.0));
    assert_eq!(rows[2][9], Data::Float(4.0));
    let notes = part(&xlsx_path, "xl/comments1.xml");
    assert!(
        notes.contains(r#"<comment ref="J2""#),
        "missing trailing cell still marked: {notes}"
    );
}

/// Peak memory stays flat: 200,000 rows of 14 columns, every tenth invalid (20,000 bad cells, of
/// which `MAX_NOTES` get a note). Measured growth: about 30 MiB for XLSX (the notes), under 1 MiB
/// for CSV. Slow in debug builds, so run on demand:
/// `cargo test --lib results::tests::flat -- --ignored --nocapture`.
#[test]
#[ignore]
fn flat_memory_for_200k_rows() {
    fn peak_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
    let heads: Vec<String> = (0..14).map(|i| format!("column {i}")).collect();
    for name in ["big.csv", "big.xlsx"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let before = peak_kib();
        let started = std::time::Instant::now();
        let mut w = ResultsWriter::create(&path, &heads, &[]).unwrap();
        for n in 0..200_000usize {
            let bad = n % 10 == 0;
            w.write(&ResultRow {
                source_row: n + 2,
                outcome: if bad {
                    Outcome::Invalid
                } else {
                    Outcome::Valid
                },
                kayse_id: None,
                errors: if bad {
                    vec![RowError::new("created_date", "not a real date").at(Some(3))]
                } else {
                    vec![]
                },
                cells: (0..14)
                    .map(|c| match c {
                        3 => Cell::Date(date(2024, 1, 1 + (n % 28) as u32)),
                        5 => Cell::Int(n as i64),
                        _ => Cell::Text(format!("value {n} {c}")),
                    })
                    .collect(),
                extra: vec![],
            })
            .unwrap();
        }
        w.finish(&summary()).unwrap();
        let grown = peak_kib().saturating_sub(before);
        eprintln!(
            "{name}: peak grew by {grown} KiB in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert!(grown < 64 * 1024, "{name}: peak grew by {grown} KiB");
    }
}

#[test]
fn partial_file_names_give_their_pid() {
    let cases: &[(&str, &str, Option<u32>)] = &[
        (".r.csv.123.partial", "r.csv", Some(123)),
        (".r.csv.x.partial", "r.csv", None),
        (".r.csv.123.partial", "s.csv", None),
        (".r.csv.123", "r.csv", None),
        ("r.csv.123.partial", "r.csv", None),
        (".a.b.xlsx.9.partial", "a.b.xlsx", Some(9)),
        (".r.csv.1.2.partial", "r.csv", None),
    ];
    for (file, name, want) in cases {
        assert_eq!(partial_pid(file, name), *want, "{file} of {name}");
    }
}

/// Columns hidden in the input workbook (`create_hiding`): hidden in XLSX results, with every
/// value still there; left out of CSV results, header and rows alike.
#[test]
fn hidden_input_columns_stay_hidden_or_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let extra = ["message".to_string()];
    // Input columns 2 (is_obo) and 4 (notes), the second given twice.
    let hidden = [4, 2, 4];
    let xlsx = dir.path().join("r.xlsx");
    let mut w = ResultsWriter::create_hiding(&xlsx, &headers(), &extra, &hidden).unwrap();
    for r in &rows() {
        w.write(r).unwrap();
    }
    w.finish(&summary()).unwrap();
    let xml = part(&xlsx, "xl/worksheets/sheet1.xml");
    let cols: Vec<&str> = xml
        .split("<col ")
        .skip(1)
        .map(|c| &c[..c.find('>').unwrap()])
        .filter(|c| c.contains("hidden=\"1\""))
        .collect();
    // Lead columns (4) + message (1): is_obo is sheet column 8, notes column 10 (1-based).
    assert_eq!(cols.len(), 2, "{cols:?}");
    assert!(cols[0].starts_with("min=\"8\" max=\"8\""), "{cols:?}");
    assert!(cols[1].starts_with("min=\"10\" max=\"10\""), "{cols:?}");
    let got = sheet(&xlsx, "Results");
    assert_eq!(got[0][7], Data::String("is_obo".into()));
    assert_eq!(
        got[1][7],
        Data::Bool(true),
        "the hidden column keeps its values"
    );

    let csv_path = dir.path().join("r.csv");
    let mut w = ResultsWriter::create_hiding(&csv_path, &headers(), &extra, &hidden).unwrap();
    for r in &rows() {
        w.write(r).unwrap();
    }
    w.finish(&summary()).unwrap();
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let records: Vec<Vec<String>> = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(
        records[0],
        [
            "source_row",
            "kayse_result",
            "kayse_id",
            "kayse_errors",
            "message",
            "case_number",
            "created_date",
            "count"
        ]
    );
    assert_eq!(records[1][5..], ["007", "2024-03-05", "-5"]);
    assert!(records.iter().all(|r| r.len() == 8));
    assert!(
        !text.contains("SUM(A1)"),
        "the hidden notes column is not in the file"
    );
}

/// `finish_checked` asks before anything is replaced: refused, every earlier file (the results
/// and, beside CSV results, each table's file) is as it was and no new file is left; allowed,
/// all are replaced. For both formats.
#[test]
fn a_refused_finish_replaces_nothing_and_leaves_nothing() {
    let table = Table {
        name: "Clients".into(),
        headers: vec!["name".into()],
        rows: vec![vec![Cell::Text("new".into())]],
    };
    for (name, refuse) in [
        ("r.csv", true),
        ("r.csv", false),
        ("r.xlsx", true),
        ("r.xlsx", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let beside = table_csv_path(&path, "Clients");
        std::fs::write(&path, b"old results").unwrap();
        std::fs::write(&beside, b"old table").unwrap();
        let mut w = ResultsWriter::create(&path, &headers(), &["a".into()]).unwrap();
        w.write(&rows()[0]).unwrap();
        let asked = std::cell::Cell::new(false);
        let outcome = w
            .finish_checked(&summary(), std::slice::from_ref(&table), || {
                asked.set(true);
                if refuse { Err("refused") } else { Ok(()) }
            })
            .unwrap();
        assert!(asked.get(), "{name}");
        assert!(
            leftovers(dir.path()).is_empty(),
            "{name}: {:?}",
            leftovers(dir.path())
        );
        let old = std::fs::read(&path).unwrap() == b"old results";
        let csv_table_old = std::fs::read(&beside).unwrap() == b"old table";
        if refuse {
            assert_eq!(outcome, Err("refused"), "{name}");
            assert!(old && csv_table_old, "{name}: an earlier file was replaced");
        } else {
            assert_eq!(outcome, Ok(()), "{name}");
            assert!(!old, "{name}: the results were not replaced");
            // An XLSX results file holds its tables as sheets: the CSV beside it is not its own.
            assert_eq!(csv_table_old, name.ends_with(".xlsx"), "{name}");
        }
    }
}
