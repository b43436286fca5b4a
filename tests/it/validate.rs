//! `kayse-bulk validate` end to end: the real binary on the samples and fixtures, results read back
//! cell by cell.

use crate::support::*;
use calamine::Data;
use predicates::str::contains;

#[test]
fn sample_workbook_results_name_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.xlsx");
    cli()
        .args(["validate"])
        .arg(sample("cases.xlsx"))
        .arg("--results")
        .arg(&out)
        .assert()
        .code(1);
    let rows = sheet_rows(&out, None);
    assert_eq!(
        rows[0][..4].iter().map(text).collect::<Vec<_>>(),
        ["source_row", "kayse_result", "kayse_id", "kayse_errors"]
    );
    assert_eq!(text(&rows[0][4]), "Case #");
    assert_eq!(rows.len(), 26, "header + 25 rows");
    let result = data_col(&rows, "kayse_result");
    let errors = data_col(&rows, "kayse_errors");
    let source = data_col(&rows, "source_row");
    let opened = data_col(&rows, "Date Opened");
    // first data row: valid, its date cell still a date
    assert_eq!(text(&rows[1][source]), "2");
    assert_eq!(text(&rows[1][result]), "valid");
    assert!(
        matches!(rows[1][opened], Data::DateTime(_)),
        "{:?}",
        rows[1][opened]
    );
    assert_eq!(text(&rows[1][opened]), "2024-01-08");
    let valid = rows[1..]
        .iter()
        .filter(|r| text(&r[result]) == "valid")
        .count();
    assert_eq!(valid, 20);
    let err_of = |n: &str| {
        let r = rows[1..]
            .iter()
            .find(|r| text(&r[source]) == n)
            .unwrap_or_else(|| panic!("no row {n}"));
        assert_eq!(text(&r[result]), "invalid", "row {n}");
        text(&r[errors])
    };
    let e = err_of("22");
    assert!(
        e.contains("created_date") && e.contains("02/30/2025"),
        "{e}"
    );
    assert!(err_of("23").contains("status"), "row 23");
    let e = err_of("24");
    assert!(e.contains("is_obo") && e.contains("maybe"), "{e}");
    let e = err_of("25");
    assert!(e.contains("case_number") && e.contains("row 7"), "{e}");
    let e = err_of("26");
    assert!(e.contains("client_ids") && e.contains("abc"), "{e}");
    let summary = sheet_rows(&out, Some("Summary"));
    assert!(
        summary
            .iter()
            .any(|r| r.iter().any(|c| text(c).contains("validate"))),
        "the Summary sheet carries the command line"
    );
}

#[test]
fn sample_csv_gives_the_same_verdicts_and_json_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    let assert = cli()
        .args(["validate", "--json"])
        .arg(sample("cases.csv"))
        .arg("--results")
        .arg(&out)
        .assert()
        .code(1);
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["counts"]["valid"], 20);
    assert_eq!(v["counts"]["invalid"], 5);
    assert_eq!(v["rows_read"], 25);
    assert_eq!(v["creates"], 20);
    let raw = std::fs::read(&out).unwrap();
    assert!(
        raw.starts_with(b"\xEF\xBB\xBF"),
        "results CSV starts with a BOM"
    );
    let rows = csv_rows(&out);
    assert_eq!(rows.len(), 26);
    assert_eq!(rows[1][1], "valid");
    // rows[21] is source row 22, the impossible date
    assert_eq!(rows[21][0], "22");
    assert_eq!(rows[21][1], "invalid");
    assert!(rows[21][3].contains("02/30/2025"), "{:?}", rows[21]);
}

#[test]
fn a_missing_required_column_stops_before_any_row_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        "case_number,external_source,External Ref,status,type\nA-1,clio,x,active,civil\n",
    )
    .unwrap();
    cli()
        .arg("validate")
        .arg(&input)
        .assert()
        .code(2)
        .stderr(contains("external_source_id"));
    assert!(!dir.path().join("in.validation.xlsx").exists());
}

#[test]
fn set_and_defaults_fill_a_missing_column() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        "case_number,external_source_id,status,type\nA-1,x1,active,civil\nA-2,x2,closed,civil\n",
    )
    .unwrap();
    cli()
        .arg("validate")
        .arg(&input)
        .args(["--set", "external_source=clio", "-q"])
        .assert()
        .code(0);
    assert!(dir.path().join("in.validation.xlsx").exists());
}

#[test]
fn usage_errors_are_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["validate", "no-such-file.csv"],
        vec!["validate", "."],
        vec!["validate", "Cargo.toml"],
        vec!["validate", "samples/cases.csv", "--results", "x.txt"],
        vec!["validate", "samples/cases.xlsx", "--sheet", "Nope"],
    ] {
        let out = cli()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(&args)
            .env("TMPDIR", dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// Run `validate` on a fixture into an XLSX results workbook; returns (exit code, rows, summary).
fn validate_fixture(name: &str) -> (i32, Vec<Vec<Data>>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.xlsx");
    let o = cli()
        .args(["-q", "--json", "validate"])
        .arg(fixture(name))
        .arg("--results")
        .arg(&out)
        .output()
        .unwrap();
    let summary = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (
        o.status.code().unwrap_or(-1),
        sheet_rows(&out, None),
        summary,
    )
}

fn by_source_row<'a>(rows: &'a [Vec<Data>], n: &str) -> &'a Vec<Data> {
    rows[1..]
        .iter()
        .find(|r| text(&r[0]) == n)
        .unwrap_or_else(|| panic!("no row {n}"))
}

#[test]
fn excel_style_workbook_cell_by_cell() {
    let (code, rows, summary) = validate_fixture("excel_style.xlsx");
    assert_eq!(code, 1);
    assert_eq!(summary["blank_rows"], 3, "rows 4, 7 and 8");
    assert_eq!(summary["counts"]["valid"], 4);
    assert_eq!(summary["counts"]["invalid"], 3);
    let (result, errors) = (
        data_col(&rows, "kayse_result"),
        data_col(&rows, "kayse_errors"),
    );
    let (number, created) = (
        data_col(&rows, "case_number"),
        data_col(&rows, "created_date"),
    );
    let r2 = by_source_row(&rows, "2");
    assert_eq!(text(&r2[result]), "valid");
    assert!(
        matches!(r2[number], Data::Float(_) | Data::Int(_)),
        "a number stays a number"
    );
    assert_eq!(text(&r2[number]), "2024001");
    assert!(
        matches!(r2[created], Data::DateTime(_)),
        "a date stays a date"
    );
    let r3 = by_source_row(&rows, "3");
    assert_eq!(
        r3[number],
        Data::String("007".into()),
        "leading zeros kept as text"
    );
    let e6 = text(&by_source_row(&rows, "6")[errors]);
    assert!(e6.contains("cell D6 holds the error #N/A"), "{e6}");
    assert!(
        e6.contains("'maybe'") && e6.contains("'02/30/2025'"),
        "{e6}"
    );
    let e9 = text(&by_source_row(&rows, "9")[errors]);
    assert!(e9.contains("external_source: is required"), "{e9}");
    let e10 = text(&by_source_row(&rows, "10")[errors]);
    assert!(e10.contains("cell J10 holds the error #DIV/0!"), "{e10}");
    assert_eq!(text(&by_source_row(&rows, "11")[result]), "valid");
    assert!(
        summary["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("'actve'")),
        "{summary}"
    );
}

#[test]
fn windows_1252_semicolon_csv_reads_accents_and_says_so() {
    let (code, rows, summary) = validate_fixture("win1252_semicolon.csv");
    assert_eq!(code, 1, "row 6 is short: no status or type");
    assert_eq!(summary["encoding"], "Windows-1252");
    assert!(
        summary["warnings"][0]
            .as_str()
            .unwrap()
            .contains("Windows-1252")
    );
    let name = data_col(&rows, "name");
    assert_eq!(text(&by_source_row(&rows, "2")[name]), "Müller v. Peña");
    assert_eq!(
        text(&by_source_row(&rows, "5")[name]),
        "O’Brien v. Zoë’s Café"
    );
    assert_eq!(
        text(&by_source_row(&rows, "3")[data_col(&rows, "case_number")]),
        "00123"
    );
    let e6 = text(&by_source_row(&rows, "6")[data_col(&rows, "kayse_errors")]);
    assert_eq!(e6, "status: is required; type: is required");
    assert_eq!(summary["blank_rows"], 1);
}

#[test]
fn utf16_ods_and_xls_fixtures_are_all_valid() {
    for (name, n, first) in [
        ("utf16.csv", 3, "Zoë Łukasz v. 東京 Ltd"),
        ("cases.ods", 3, "Garcia v. Metro"),
        ("cases.xls", 3, "Garcia v. Metro"),
    ] {
        let (code, rows, summary) = validate_fixture(name);
        assert_eq!(code, 0, "{name}: {summary}");
        assert_eq!(summary["counts"]["valid"], n, "{name}");
        assert_eq!(text(&rows[1][7]), first, "{name}: first name cell");
    }
    let (_, rows, _) = validate_fixture("cases.xls");
    assert_eq!(text(&by_source_row(&rows, "3")[4]), "0042");
}

#[test]
fn a_killed_runs_partial_file_is_swept_and_a_live_runs_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    // No process ever has a pid above 2^22 (Linux's largest pid_max): that run is dead.
    let dead = dir.path().join(".r.csv.4194305.partial");
    // This test's own process is alive: a run of that pid may still be writing.
    let live = dir
        .path()
        .join(format!(".r.csv.{}.partial", std::process::id()));
    let other = dir.path().join(".notes.csv.4194305.partial");
    for p in [&dead, &live, &other] {
        std::fs::write(p, "half a file").unwrap();
    }
    cli()
        .args(["validate"])
        .arg(sample("cases.csv"))
        .arg("--results")
        .arg(&out)
        .assert()
        .code(1);
    assert!(out.exists());
    if cfg!(target_os = "linux") {
        assert!(!dead.exists(), "a dead run's partial file is left behind");
    }
    assert!(live.exists(), "a live run's partial file was removed");
    assert!(other.exists(), "another file's partial was removed");
}

// ---------------------------------------------------------------------------------------------
// The first ten minutes (issue 15 items 5 and 10, issue 12 item 8).

/// Run the binary in `dir` with `--json` and return (exit code, stderr, summary).
fn json_run(dir: &std::path::Path, args: &[&str]) -> (i32, String, serde_json::Value) {
    let o = cli()
        .current_dir(dir)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let summary = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        summary,
    )
}

/// A column of a results sheet by header, data rows only.
fn column(rows: &[Vec<Data>], header: &str) -> Vec<String> {
    let c = data_col(rows, header);
    rows[1..].iter().map(|r| text(&r[c])).collect()
}

#[test]
fn firm_export_title_filter_hidden_ssn_and_total_row_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("firm_export.xlsx"), dir.path().join("firm.xlsx")).unwrap();
    let (code, err, s) = json_run(dir.path(), &["validate", "firm.xlsx"]);
    assert_eq!(code, 0, "{err}");
    // The title is passed over and the summary says so.
    assert_eq!(s["reading"]["header_row"], 3, "{s}");
    assert_eq!(s["reading"]["header_below"], 1, "{s}");
    assert!(
        err.contains("header: row 3, below a title or notes in rows 1-2"),
        "{err}"
    );
    // Rows hidden by the filter are read, counted and named.
    assert_eq!(s["rows_read"], 9, "{s}");
    assert_eq!(s["reading"]["hidden_rows"]["count"], 3, "{s}");
    assert!(
        err.contains("3 rows hidden by a filter in the workbook were read: rows 6, 9, 11 (--skip-hidden-rows leaves them out)"),
        "{err}"
    );
    // The Total row is no case, and the other sheets are named.
    assert!(
        err.contains("total row skipped: row 13 ('Total' and numbers) is a Total row, not a case"),
        "{err}"
    );
    assert!(
        err.contains("other sheets not read: Notes, Archive (hidden)"),
        "{err}"
    );
    assert!(
        err.contains("hidden columns: SSN (kept hidden in the results)"),
        "{err}"
    );
    let results = dir.path().join("firm.validation.xlsx");
    let rows = sheet_rows(&results, Some("Results"));
    assert_eq!(
        column(&rows, "source_row"),
        ["4", "5", "6", "7", "8", "9", "10", "11", "12"]
    );
    assert!(column(&rows, "kayse_result").iter().all(|r| r == "valid"));
    // The SSN column is there, hidden: lead columns A-D, then the input from E, SSN the 5th.
    assert_eq!(column(&rows, "SSN")[0], "123-45-6789");
    assert_eq!(data_col(&rows, "SSN"), 8);
    assert_eq!(hidden_columns_of(&results), [(9, 9)]);
    // The Summary sheet says the same.
    let summary = sheet(&results, Some("Summary"));
    assert!(
        summary
            .iter()
            .any(|r| r[0] == "hidden rows" && r[1].contains("rows 6, 9, 11")),
        "{summary:?}"
    );

    // --skip-hidden-rows leaves them out and counts them.
    let (code, err, s) = json_run(
        dir.path(),
        &[
            "validate",
            "firm.xlsx",
            "--skip-hidden-rows",
            "--results",
            "skip.xlsx",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["rows_read"], 6, "{s}");
    assert_eq!(s["reading"]["hidden_rows_skipped"], true, "{s}");
    assert!(
        err.contains("3 rows hidden by a filter in the workbook were skipped (--skip-hidden-rows): rows 6, 9, 11"),
        "{err}"
    );
    let rows = sheet_rows(&dir.path().join("skip.xlsx"), Some("Results"));
    assert_eq!(
        column(&rows, "source_row"),
        ["4", "5", "7", "8", "10", "12"]
    );

    // CSV results cannot hide a column: SSN is left out, with a warning naming it.
    let (code, err, s) = json_run(dir.path(), &["validate", "firm.xlsx", "--results", "r.csv"]);
    assert_eq!(code, 0, "{err}");
    let csv = csv_rows(&dir.path().join("r.csv"));
    assert!(!csv[0].contains(&"SSN".to_string()), "{:?}", csv[0]);
    assert!(
        !std::fs::read_to_string(dir.path().join("r.csv"))
            .unwrap()
            .contains("123-45-6789")
    );
    assert_eq!(csv[1][..5], ["4", "valid", "", "", "2024501"]);
    let warned = s["warnings"].as_array().unwrap();
    assert!(
        warned.iter().any(|w| w.as_str().unwrap().contains(
            "hidden columns left out of the CSV results (a CSV cannot hide a column): SSN"
        )),
        "{s}"
    );

    // The results workbook fed back in keeps SSN hidden again.
    let (code, err, s) = json_run(
        dir.path(),
        &[
            "validate",
            "firm.validation.xlsx",
            "--results",
            "again.xlsx",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        s["reading"]["other_sheets"],
        serde_json::json!([]),
        "the results' own Summary sheet is not listed: {s}"
    );
    let again = dir.path().join("again.xlsx");
    assert_eq!(hidden_columns_of(&again), [(9, 9)]);
    let rows = sheet_rows(&again, Some("Results"));
    assert_eq!(column(&rows, "SSN")[0], "123-45-6789");
}

#[test]
fn a_csv_with_a_title_line_finds_its_header() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("titled.csv"),
        "Smith & Alvarez Injury Law — Open Matters (exported 3/1/2024);;;;\r\n;;;;\r\n\
         Case #;Source;Source ID;Case Status;Case Type\r\nA-1;clio;1;active;civil\r\nA-2;clio;2;active;civil\r\n",
    )
    .unwrap();
    let (code, err, s) = json_run(dir.path(), &["validate", "titled.csv"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["rows_read"], 2, "{s}");
    assert_eq!(s["reading"]["header_row"], 3, "{s}");
    // --header-row still decides when given.
    let (code, err, _) = json_run(dir.path(), &["validate", "titled.csv", "--header-row", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("no column for the required fields"), "{err}");
    assert!(!err.contains("the header was read from row"), "{err}");
}

#[test]
fn missing_columns_are_named_once_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    // The public case list of issue 14: nothing like a source column.
    std::fs::write(
        dir.path().join("list.csv"),
        "LastName,FirstName,Key,DeathPenaltyStatus,CaseNo\nRoe,Jo,1,none,CR-1\n",
    )
    .unwrap();
    let (code, err, _) = json_run(dir.path(), &["validate", "list.csv"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let line = err.trim();
    assert!(
        line.starts_with("error: no column for the required fields external_source, external_source_id, status, type."),
        "{line}"
    );
    assert_eq!(line.matches("no column").count(), 1, "{line}");
    assert!(!line.contains("closest"), "{line}");
    assert!(
        line.contains("external_source is the system the cases come from (for example clio)"),
        "{line}"
    );
    assert!(
        line.contains("external_source_id is each case's own id in that system"),
        "{line}"
    );
    assert!(line.contains("--set external_source=clio"), "{line}");
    assert!(line.contains("--mapping FILE.toml"), "{line}");
    assert!(
        line.ends_with("(the header was read from row 1; --header-row N reads another row)"),
        "{line}"
    );
    // A near miss is offered.
    std::fs::write(
        dir.path().join("near.csv"),
        "Case #,Source,Source ID,Stauts,Type\nA-1,clio,1,active,civil\n",
    )
    .unwrap();
    let (code, err, _) = json_run(dir.path(), &["validate", "near.csv"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "no column for the required field status (closest header: 'Stauts' for status)"
        ),
        "{err}"
    );
}

#[test]
fn every_file_a_firms_tools_save_validates() {
    let dir = tempfile::tempdir().unwrap();
    // (fixture, rows read, total row)
    let cases = [
        ("excel_text.txt", 4, None),
        ("unicode_text.txt", 4, None),
        ("cases.tab", 3, Some(5)),
        ("firm_export.xlsb", 9, Some(13)),
    ];
    for (name, read, total) in cases {
        std::fs::copy(fixture(name), dir.path().join(name)).unwrap();
        let (code, err, s) = json_run(dir.path(), &["validate", name]);
        assert_eq!(code, 0, "{name}: {err}");
        assert_eq!(s["rows_read"], read, "{name}: {s}");
        assert_eq!(s["counts"]["valid"], read, "{name}: {s}");
        let got_total = s["reading"]["total_row"][0].as_u64();
        assert_eq!(got_total, total, "{name}: {s}");
        let stem = name.rsplit_once('.').unwrap().0;
        let rows = sheet_rows(&dir.path().join(format!("{stem}.validation.xlsx")), None);
        assert_eq!(rows.len(), read + 1, "{name}");
    }
}

#[test]
fn skip_hidden_rows_says_when_the_format_cannot_show_them() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["cases.xls", "cases.ods", "firm_export.xlsb"] {
        std::fs::copy(fixture(name), dir.path().join(name)).unwrap();
        let (code, err, s) = json_run(dir.path(), &["validate", name, "--skip-hidden-rows"]);
        assert_eq!(code, 0, "{name}: {err}");
        let ext = name.rsplit_once('.').unwrap().1;
        let want = format!("--skip-hidden-rows: hidden rows cannot be seen in .{ext} files");
        assert!(
            s["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w.as_str().unwrap().starts_with(&want)),
            "{name}: {s}"
        );
    }
    // Without the option, no such warning: nothing was asked.
    let (_, _, s) = json_run(dir.path(), &["validate", "cases.xls"]);
    assert!(!s["warnings"].to_string().contains("hidden"), "{s}");
}
