//! `kayse-bulk export` end to end against the sandbox binary: XLSX and CSV layouts read back cell
//! by cell, a missing id on the Errors sheet, and the round trip through import.

use crate::support::*;
use serde_json::{Value, json};

fn seeded(sb: &Sandbox) -> Vec<u64> {
    let mut a = case(1);
    a["name"] = json!("Smith v. Jones");
    a["created_date"] = json!("2024-03-05");
    a["court_date"] = json!("2025-01-31");
    a["is_obo"] = json!(true);
    a["client_ids"] = json!([11, 12]);
    a["external_source_data"] = json!({"matter": "A-1", "n": 2});
    a["sms_opted_out"] = json!(true);
    let mut b = case(2);
    b["description"] = json!("Rear-end, I-85");
    b["opt_out_voice_calls"] = json!(false);
    sb.seed(vec![a, b, case(3)])
}

#[test]
fn xlsx_export_with_a_missing_id() {
    let sb = Sandbox::start(&[]);
    let ids = seeded(&sb);
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("{}-{},999999,{}", ids[0], ids[2], ids[0]);
    let o = sb.run(dir.path(), &["export", "--ids", &spec, "--out", "out.xlsx"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    // One GET per distinct id: 3 cases + the missing one.
    assert_eq!(sb.route_count("GET /v1/cases/{id}"), 4, "{}", sb.stats());
    let rows = sheet(&dir.path().join("out.xlsx"), Some("Cases"));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0][0], "id");
    assert_eq!(rows[0][1], "case_number");
    assert_eq!(rows[0].last().unwrap(), "update_origin");
    let r = &rows[1];
    assert_eq!(r[col(&rows, "id")], ids[0].to_string());
    assert_eq!(r[col(&rows, "case_number")], "LC-0001");
    assert_eq!(r[col(&rows, "created_date")], "2024-03-05");
    assert_eq!(r[col(&rows, "client_ids")], "11;12");
    assert_eq!(r[col(&rows, "is_obo")], "true");
    assert_eq!(r[col(&rows, "sms_opted_out")], "true");
    assert_eq!(r[col(&rows, "origin")], "public_api");
    // Text keys have their own columns; the object keeps the rest.
    let data: Value = serde_json::from_str(&r[col(&rows, "external_source_data")]).unwrap();
    assert_eq!(data, json!({"n": 2}));
    assert_eq!(r[col(&rows, "external_source_data.matter")], "A-1");
    // Dates are real date cells.
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(dir.path().join("out.xlsx")).unwrap();
    use calamine::Reader;
    let range = wb.worksheet_range("Cases").unwrap();
    let c = col(&rows, "created_date");
    assert!(
        matches!(range.get((1, c)), Some(calamine::Data::DateTime(_))),
        "{:?}",
        range.get((1, c))
    );
    let errs = sheet(&dir.path().join("out.xlsx"), Some("Errors"));
    assert_eq!(errs[0], vec!["id", "error"]);
    assert_eq!(errs[1][0], "999999");
    assert!(errs[1][1].contains("not found"), "{:?}", errs[1]);
    assert!(!dir.path().join("out.xlsx.journal").exists());
}

#[test]
fn csv_export_and_ids_from_a_file() {
    let sb = Sandbox::start(&[]);
    let ids = seeded(&sb);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("list.csv"),
        format!(
            "kayse_id,note\n{},a\n,blank\n{},b\nx1,junk\n",
            ids[1], ids[0]
        ),
    )
    .unwrap();
    let o = sb.run(
        dir.path(),
        &["export", "--ids-from", "list.csv", "--out", "out.csv"],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let bytes = std::fs::read(dir.path().join("out.csv")).unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()));
    let rows = csv_rows(&dir.path().join("out.csv"));
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][0], ids[1].to_string());
    assert_eq!(rows[1][col(&rows, "description")], "Rear-end, I-85");
    assert_eq!(rows[2][col(&rows, "created_date")], "2024-03-05");
    assert_eq!(rows[2][col(&rows, "external_source_data")], r#"{"n":2}"#);
    assert_eq!(rows[2][col(&rows, "external_source_data.matter")], "A-1");
    assert_eq!(rows[1][col(&rows, "external_source_data.matter")], "");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("x1"),
        "{}",
        show(&o)
    );
    assert!(!dir.path().join("out.csv.errors.csv").exists());

    // A missing id goes to <out>.errors.csv.
    let o = sb.run(
        dir.path(),
        &["export", "--ids", "424242", "--out", "miss.csv"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let errs = csv_rows(&dir.path().join("miss.csv.errors.csv"));
    assert_eq!(errs[1][0], "424242");
}

#[test]
fn dry_run_and_bad_ids_send_nothing() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let o = sb.run(dir.path(), &["export", "--ids", "1-2000", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("2000 cases to fetch") && err.contains("hours at 500/h"),
        "{err}"
    );
    for bad in ["5-1", "0", "abc", "1-5000000"] {
        let o = sb.run(dir.path(), &["export", "--ids", bad]);
        assert_eq!(code(&o), 2, "{bad}: {}", show(&o));
    }
    assert_eq!(
        sb.stats()["requests"].as_u64().unwrap_or(0),
        0,
        "{}",
        sb.stats()
    );
}

/// Every case with update_origin left out (an import is an update, so it changes that).
fn cases_without_update_origin(sb: &Sandbox) -> Value {
    let mut st = sb.state()["cases"].clone();
    for c in st.as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("update_origin");
    }
    st
}

fn round_trip(out: &str) {
    let sb = Sandbox::start(&[]);
    let ids = seeded(&sb);
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("{}-{}", ids[0], ids[2]);
    let o = sb.run(dir.path(), &["export", "--ids", &spec, "--out", out]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let before = cases_without_update_origin(&sb);
    let o = sb.run(
        dir.path(),
        &[
            "import",
            out,
            "--update-blanks",
            "clear",
            "--results",
            "back.results.xlsx",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let res = sheet(&dir.path().join("back.results.xlsx"), None);
    // The ledger saw these cases in the export: the file says nothing new, so nothing is sent.
    assert_eq!(results_column(&res, "kayse_result"), vec!["unchanged"; 3]);
    assert_eq!(sb.bulk_requests(), 0);
    assert_eq!(cases_without_update_origin(&sb), before);
    // Without the ledger (a fresh one), the same file is sent as updates and changes nothing.
    let o = sb
        .cmd(dir.path())
        .env("KAYSE_LEDGER", dir.path().join("fresh.sqlite"))
        .args([
            "import",
            out,
            "--update-blanks",
            "clear",
            "--results",
            "again.results.xlsx",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", show(&o));
    let res = sheet(&dir.path().join("again.results.xlsx"), None);
    assert_eq!(results_column(&res, "kayse_result"), vec!["updated"; 3]);
    assert_eq!(cases_without_update_origin(&sb), before);
}

#[test]
fn round_trip_xlsx_changes_nothing() {
    round_trip("export.xlsx");
}

#[test]
fn round_trip_csv_changes_nothing() {
    round_trip("export.csv");
}

#[test]
fn a_budget_stop_then_resume_fetches_each_case_once() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((0..6).map(case).collect());
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("{}-{}", ids[0], ids[5]);
    let args = [
        "export",
        "--ids",
        &spec,
        "--out",
        "out.xlsx",
        "--concurrency",
        "1",
    ];
    let mut first = args.to_vec();
    first.extend(["--budget", "4"]);
    let o = sb.run(dir.path(), &first);
    assert_eq!(code(&o), 3, "{}", show(&o));
    assert!(dir.path().join("out.xlsx.journal").exists());
    assert_eq!(sb.route_count("GET /v1/cases/{id}"), 4);
    // Unfinished, it writes its partial file, never --out (issue 15 item 7).
    assert!(!dir.path().join("out.xlsx").exists());
    let errs = sheet(&dir.path().join("out.partial.xlsx"), Some("Errors"));
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert_eq!(
        errs[1][1],
        "not fetched: the --budget is spent; run again with --resume"
    );
    // Without --resume a second run is refused rather than starting over: exit 3, resumable.
    let o = sb.run(dir.path(), &args);
    assert_eq!(code(&o), 3, "{}", show(&o));
    let mut again = args.to_vec();
    again.push("--resume");
    let o = sb.run(dir.path(), &again);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(sb.route_count("GET /v1/cases/{id}"), 6, "{}", sb.stats());
    let rows = sheet(&dir.path().join("out.xlsx"), Some("Cases"));
    let got: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
    let want: Vec<String> = ids.iter().map(u64::to_string).collect();
    assert_eq!(got, want);
    assert!(!dir.path().join("out.xlsx.journal").exists());
    assert!(!dir.path().join("out.partial.xlsx").exists());
}

/// Stop the export dead at each of the engine's crash points, resume, and check it converges:
/// every case exported in order, and the resume fetches exactly the cases not on disk.
#[test]
fn every_crash_point_converges_on_resume() {
    // (point, GETs the resume makes: the cases whose answers were not journaled)
    let table: &[(&str, u64)] = &[
        ("before-first-request", 6),
        ("answer-not-journaled:3", 4),
        ("before-results", 0),
    ];
    for (point, gets) in table {
        let sb = Sandbox::start(&[]);
        let ids = sb.seed((0..6).map(case).collect());
        let dir = tempfile::tempdir().unwrap();
        let spec = format!("{}-{}", ids[0], ids[5]);
        let args = [
            "export",
            "--ids",
            &spec,
            "--out",
            "out.csv",
            "--concurrency",
            "1",
        ];
        let o = sb
            .cmd(dir.path())
            .env("KAYSE_BULK_CRASH_AT", point)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), None, "{point}: aborted: {}", show(&o));
        assert!(!dir.path().join("out.csv").exists(), "{point}");
        let before = sb.route_count("GET /v1/cases/{id}");
        let mut again = args.to_vec();
        again.push("--resume");
        let o = sb.run(dir.path(), &again);
        assert_eq!(code(&o), 0, "{point}: {}", show(&o));
        let resumed = sb.route_count("GET /v1/cases/{id}") - before;
        assert_eq!(resumed, *gets, "{point}");
        let rows = csv_rows(&dir.path().join("out.csv"));
        let got: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
        let want: Vec<String> = ids.iter().map(u64::to_string).collect();
        assert_eq!(got, want, "{point}");
        assert!(!dir.path().join("out.csv.journal").exists(), "{point}");
    }
}

/// `--ids-from` a filtered list: the header below its title is found, the ids of the hidden rows
/// are exported too and a warning names their rows, `--skip-hidden-rows` leaves them out, and a
/// Total row under the ids is never taken for an id.
#[test]
fn ids_from_a_filtered_list_say_their_hidden_rows() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((0..4).map(case).collect());
    let dir = tempfile::tempdir().unwrap();
    let mut rows: Vec<Vec<String>> = ids
        .iter()
        .map(|id| vec![id.to_string(), "x".to_string()])
        .collect();
    rows.push(vec!["9".to_string(), "Total".to_string()]);
    filtered_xlsx(
        &dir.path().join("ids.xlsx"),
        &["kayse_id", "note"],
        &rows,
        &[0, 2],
        &[],
    );
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--json",
            "export",
            "--ids-from",
            "ids.xlsx",
            "--out",
            "out.csv",
        ];
        args.extend_from_slice(extra);
        let o = sb.run(dir.path(), &args);
        assert_eq!(code(&o), 0, "{}", show(&o));
        serde_json::from_slice::<Value>(&o.stdout).unwrap()
    };
    let s = run(&[]);
    assert_eq!(s["rows_read"], 4, "{s}");
    let warnings = s["warnings"].to_string();
    assert!(
        warnings.contains("ids.xlsx: hidden rows: 2 rows hidden by a filter in the workbook were read: rows 4, 6 (--skip-hidden-rows leaves them out)"),
        "{s}"
    );
    assert!(
        warnings.contains(
            "ids.xlsx: total row skipped: row 8 ('Total' and numbers) is a Total row, not a case"
        ),
        "{s}"
    );
    let out = csv_rows(&dir.path().join("out.csv"));
    let got: Vec<&str> = out[1..].iter().map(|r| r[0].as_str()).collect();
    let want: Vec<String> = ids.iter().map(u64::to_string).collect();
    assert_eq!(got, want);
    std::fs::remove_file(dir.path().join("out.csv")).unwrap();

    let s = run(&["--skip-hidden-rows"]);
    assert_eq!(s["rows_read"], 2, "{s}");
    assert!(
        s["warnings"].to_string().contains(
            "2 rows hidden by a filter in the workbook were skipped (--skip-hidden-rows): rows 4, 6"
        ),
        "{s}"
    );
    let out = csv_rows(&dir.path().join("out.csv"));
    let got: Vec<&str> = out[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(got, [ids[1].to_string(), ids[3].to_string()]);
}

/// `--with-clients`: each distinct client of the cases fetched once, onto a `Clients` sheet (a
/// CSV export: `<out>.clients.csv`) that the cases' `client_ids` name by id.
#[test]
fn with_clients_fetches_each_distinct_client_once() {
    let sb = Sandbox::start(&[]);
    let seeded = sb.http(
        "POST",
        "/sandbox/seed",
        Some(json!({"clients": [
            {"first_name": "Maria", "last_name": "Garcia", "external_source": "clio",
             "external_source_id": "C-1", "email": "maria@example.com", "date_of_birth": "1985-07-14"},
            {"first_name": "Li", "last_name": "Wei", "external_source": "clio",
             "external_source_id": "C-2"},
        ]})),
    );
    let clients: Vec<u64> = seeded["client_ids"]
        .as_array()
        .unwrap_or_else(|| panic!("{seeded}"))
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let (maria, li) = (clients[0], clients[1]);
    let mut a = case(1);
    a["client_ids"] = json!([maria, li]);
    let mut b = case(2);
    b["client_ids"] = json!([li]);
    let ids = sb.seed(vec![a, b, case(3)]);
    let spec = format!("{}-{}", ids[0], ids[2]);
    let dir = tempfile::tempdir().unwrap();
    let o = sb.run(
        dir.path(),
        &[
            "export",
            "--ids",
            &spec,
            "--with-clients",
            "--out",
            "out.xlsx",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(sb.route_count("GET /v1/cases/{id}"), 3, "{}", sb.stats());
    assert_eq!(
        sb.route_count("GET /v1/clients/{id}"),
        2,
        "one GET per distinct client: {}",
        sb.stats()
    );
    let out = dir.path().join("out.xlsx");
    let cases = sheet(&out, Some("Cases"));
    assert_eq!(
        results_column(&cases, "client_ids"),
        [format!("{maria};{li}"), li.to_string(), String::new()]
    );
    let rows = sheet(&out, Some("Clients"));
    assert_eq!(rows[0][0], "id");
    assert_eq!(rows.len(), 3, "header and two clients: {rows:?}");
    assert_eq!(
        results_column(&rows, "id"),
        [maria.to_string(), li.to_string()]
    );
    assert_eq!(results_column(&rows, "first_name"), ["Maria", "Li"]);
    assert_eq!(results_column(&rows, "external_source_id"), ["C-1", "C-2"]);
    assert_eq!(results_column(&rows, "date_of_birth"), ["1985-07-14", ""]);
    assert_eq!(
        results_column(&rows, "case_ids"),
        [ids[0].to_string(), format!("{};{}", ids[0], ids[1])]
    );

    // A CSV export writes the clients beside it.
    let o = sb.run(
        dir.path(),
        &[
            "export",
            "--ids",
            &spec,
            "--with-clients",
            "--out",
            "out.csv",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let listed = csv_rows(&dir.path().join("out.csv.clients.csv"));
    assert_eq!(
        results_column(&listed, "id"),
        [maria.to_string(), li.to_string()]
    );
    assert_eq!(results_column(&listed, "last_name"), ["Garcia", "Wei"]);
    assert_eq!(results_column(&listed, "email"), ["maria@example.com", ""]);
    assert!(!dir.path().join("out.csv.errors.csv").exists());
}
