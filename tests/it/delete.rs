//! `kayse-bulk delete` end to end against the sandbox binary: chunking, unknown ids, the
//! confirmation gate without a terminal, invalid rows, backup and dry run.

use std::path::Path;

use crate::support::*;

fn write_ids(dir: &Path, name: &str, header: &str, ids: &[String]) {
    let mut s = format!("{header},note\n");
    for i in ids {
        s.push_str(&format!("{i},x\n"));
    }
    std::fs::write(dir.join(name), s).unwrap();
}

#[test]
fn twelve_hundred_ids_in_three_requests() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((0..1200).map(case).collect());
    let dir = tempfile::tempdir().unwrap();
    let list: Vec<String> = ids.iter().map(u64::to_string).collect();
    write_ids(dir.path(), "del.csv", "kayse_id", &list);
    let o = sb.run(dir.path(), &["delete", "del.csv", "--yes"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let stats = sb.stats();
    assert_eq!(sb.route_count("POST /v1/cases/bulk_delete"), 3, "{stats}");
    let sizes: Vec<u64> = stats["bulk_delete_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), 1200, "{sizes:?}");
    assert!(sizes.iter().all(|s| *s <= 500), "{sizes:?}");
    assert_eq!(sb.state()["cases"].as_array().unwrap().len(), 0);
    let res = sheet(&dir.path().join("del.results.xlsx"), None);
    assert_eq!(res.len(), 1201);
    assert!(
        results_column(&res, "kayse_result")
            .iter()
            .all(|r| r == "deleted")
    );
}

#[test]
fn unknown_and_invalid_ids_are_reported() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((0..3).map(case).collect());
    let dir = tempfile::tempdir().unwrap();
    let list = vec![
        ids[0].to_string(),
        "777777".to_string(),
        "abc".to_string(),
        ids[1].to_string(),
        ids[0].to_string(),
    ];
    write_ids(dir.path(), "del.csv", "case_id", &list);
    let o = sb.run(
        dir.path(),
        &[
            "delete",
            "del.csv",
            "--yes",
            "--results",
            "out.csv",
            "--backup",
            "backup.xlsx",
        ],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let res = csv_rows(&dir.path().join("out.csv"));
    assert_eq!(
        results_column(&res, "kayse_result"),
        vec!["deleted", "not_found", "invalid", "deleted", "deleted"]
    );
    let errs = results_column(&res, "kayse_errors");
    assert!(errs[2].contains("'abc' is not an id"), "{errs:?}");
    assert!(errs[4].contains("same id as row 2"), "{errs:?}");
    // The backup holds the cases as they were.
    let b = sheet(&dir.path().join("backup.xlsx"), Some("Cases"));
    assert_eq!(b.len(), 3);
    assert_eq!(b[1][col(&b, "case_number")], "LC-0000");
    let left: Vec<u64> = sb.state()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert_eq!(left, vec![ids[2]]);
}

#[test]
fn nothing_is_deleted_without_yes_off_a_terminal() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((0..3).map(case).collect());
    let dir = tempfile::tempdir().unwrap();
    write_ids(dir.path(), "del.csv", "id", &[ids[0].to_string()]);
    let o = sb.run(dir.path(), &["delete", "del.csv"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--yes"),
        "{}",
        show(&o)
    );
    let o = sb.run(dir.path(), &["delete", "del.csv", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let res = sheet(&dir.path().join("del.results.xlsx"), None);
    assert_eq!(results_column(&res, "kayse_result"), vec!["valid"]);
    assert_eq!(
        sb.stats()["requests"].as_u64().unwrap_or(0),
        0,
        "{}",
        sb.stats()
    );
    assert_eq!(sb.state()["cases"].as_array().unwrap().len(), 3);
    // A missing id column is exit 2 too.
    write_ids(dir.path(), "bad.csv", "matter", &["1".to_string()]);
    let o = sb.run(dir.path(), &["delete", "bad.csv", "--yes"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let o = sb.run(
        dir.path(),
        &["delete", "bad.csv", "--yes", "--id-column", "Matter"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
}

#[test]
fn lost_answers_are_unknown_never_wrongly_not_found() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((0..600).map(case).collect());
    let mut list: Vec<String> = ids.iter().map(u64::to_string).collect();
    list.push("888888".into());
    sb.config(serde_json::json!({"faults": "commit-drop:0.5", "seed": 3}));
    let dir = tempfile::tempdir().unwrap();
    write_ids(dir.path(), "del.csv", "kayse_id", &list);
    let o = sb.run(dir.path(), &["delete", "del.csv", "--yes"]);
    let res = sheet(&dir.path().join("del.results.xlsx"), None);
    let results = results_column(&res, "kayse_result");
    let errors = results_column(&res, "kayse_errors");
    // Every case is gone; a real id is never reported not_found or failed.
    assert_eq!(
        sb.state()["cases"].as_array().unwrap().len(),
        0,
        "{}",
        show(&o)
    );
    for (r, e) in results[..600].iter().zip(&errors) {
        assert!(r == "deleted" || r == "unknown", "{r}: {e}");
        if r == "unknown" {
            assert!(e.contains("never existed"), "{e}");
        }
    }
    assert!(
        results.iter().any(|r| r == "unknown"),
        "the faults should have hit: {}",
        sb.stats()
    );
    assert!(results[600] == "not_found" || results[600] == "unknown");
    assert_eq!(code(&o), 1);
}

/// Stop the process dead at each of the engine's crash points (it aborts there, as `kill -9` or
/// a power cut would), resume, and check the run converges: every case gone, no id reported
/// `deleted` unless an answer listed it, and a second resume sends nothing.
#[test]
fn every_crash_point_converges_on_resume() {
    // (point, what the 10 rows say after the resume)
    let table: &[(&str, &str)] = &[
        ("before-first-request", "deleted"),
        // The answer was in hand, not on disk: the resent request finds every case gone already.
        ("answer-not-journaled", "unknown"),
        ("before-results", "deleted"),
    ];
    for (point, want) in table {
        let sb = Sandbox::start(&[]);
        let ids = sb.seed((0..10).map(case).collect());
        let dir = tempfile::tempdir().unwrap();
        let list: Vec<String> = ids.iter().map(u64::to_string).collect();
        write_ids(dir.path(), "del.csv", "id", &list);
        let o = sb
            .cmd(dir.path())
            .env("KAYSE_BULK_CRASH_AT", point)
            .args(["delete", "del.csv", "--yes"])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            None,
            "{point}: aborted, not exited: {}",
            show(&o)
        );
        assert!(!dir.path().join("del.results.xlsx").exists(), "{point}");
        let o = sb.run(dir.path(), &["delete", "del.csv", "--yes", "--resume"]);
        let res = sheet(&dir.path().join("del.results.xlsx"), None);
        let results = results_column(&res, "kayse_result");
        let errors = results_column(&res, "kayse_errors");
        assert_eq!(results, vec![want.to_string(); 10], "{point}: {}", show(&o));
        if *want == "unknown" {
            assert!(
                errors.iter().all(|e| e.contains("never existed")),
                "{errors:?}"
            );
            assert_eq!(code(&o), 1, "{point}");
        } else {
            assert_eq!(code(&o), 0, "{point}: {}", show(&o));
        }
        assert_eq!(sb.state()["cases"].as_array().unwrap().len(), 0, "{point}");
        // A finished delete keeps no journal (nothing blocks next week's delete): resuming
        // again sends nothing, says there is nothing to resume, and leaves the results alone.
        assert!(
            !dir.path().join("del.results.xlsx.journal").exists(),
            "{point}"
        );
        let before = sb.stats()["requests"].as_u64().unwrap();
        let o = sb.run(dir.path(), &["delete", "del.csv", "--yes", "--resume"]);
        assert_eq!(code(&o), 2, "{}", show(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to resume"));
        assert_eq!(sb.stats()["requests"].as_u64().unwrap(), before, "{point}");
        let again = sheet(&dir.path().join("del.results.xlsx"), None);
        assert_eq!(results_column(&again, "kayse_result"), results, "{point}");
    }
}

/// A firm filters its list down to the cases to delete and saves it: the rows the filter hides
/// are not deleted unless `--include-hidden-rows`, and the dry run, the summary and the results
/// say which they were. The header below the title is found, and the hidden SSN column stays
/// hidden in the results.
#[test]
fn a_filtered_sheet_deletes_only_the_rows_it_shows() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((0..5).map(case).collect());
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Vec<String>> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| vec![id.to_string(), format!("Client {i}"), format!("SSN-{i}")])
        .collect();
    let list = dir.path().join("ids.xlsx");
    filtered_xlsx(&list, &["kayse_id", "Client", "SSN"], &rows, &[1, 3], &[2]);

    let o = sb.run(dir.path(), &["delete", "ids.xlsx", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let shown = format!(
        "dry run: Would delete 3 cases from Kayse: ids {}, {}, {}\nLeft out: rows 5, 7, hidden in the workbook; --include-hidden-rows deletes their cases too.",
        ids[0], ids[2], ids[4]
    );
    assert!(err.contains(&shown), "{err}");
    assert_eq!(sb.route_count("POST /v1/cases/bulk_delete"), 0);

    let o = sb.run(
        dir.path(),
        &[
            "--json",
            "delete",
            "ids.xlsx",
            "--yes",
            "--results",
            "del.xlsx",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        err.contains("hidden rows: 2 rows hidden by a filter in the workbook were left out: rows 5, 7 (--include-hidden-rows reads them)"),
        "{err}"
    );
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["reading"]["header_row"], 3, "{s}");
    assert_eq!(s["reading"]["hidden_rows"]["count"], 2, "{s}");
    assert_eq!(s["reading"]["hidden_rows_skipped"], true, "{s}");
    assert_eq!(
        s["reading"]["hidden_columns"],
        serde_json::json!(["SSN"]),
        "{s}"
    );
    for (i, id) in ids.iter().enumerate() {
        let kept = i == 1 || i == 3;
        assert_eq!(sb.case(*id).is_null(), !kept, "case {id} (row {})", i + 4);
    }
    let res = sheet(&dir.path().join("del.xlsx"), None);
    assert_eq!(results_column(&res, "source_row"), ["4", "6", "8"]);
    assert_eq!(
        results_column(&res, "kayse_result"),
        ["deleted", "deleted", "deleted"]
    );
    assert_eq!(results_column(&res, "SSN"), ["SSN-0", "SSN-2", "SSN-4"]);
    // source_row, kayse_result, kayse_id, kayse_errors, then kayse_id, Client, SSN: column 7.
    assert_eq!(hidden_columns_of(&dir.path().join("del.xlsx")), [(7, 7)]);

    let o = sb.run(
        dir.path(),
        &[
            "delete",
            "ids.xlsx",
            "--include-hidden-rows",
            "--yes",
            "--results",
            "all.csv",
        ],
    );
    assert_eq!(
        code(&o),
        1,
        "the three deleted before are not found: {}",
        show(&o)
    );
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        err.contains("hidden rows: 2 rows hidden by a filter in the workbook were read (--include-hidden-rows): rows 5, 7"),
        "{err}"
    );
    assert!(
        err.contains(
            "hidden columns left out of the CSV results (a CSV cannot hide a column): SSN"
        ),
        "{err}"
    );
    assert!(sb.state()["cases"].as_array().unwrap().is_empty());
    let res = csv_rows(&dir.path().join("all.csv"));
    assert_eq!(
        res[0],
        [
            "source_row",
            "kayse_result",
            "kayse_id",
            "kayse_errors",
            "kayse_id",
            "Client"
        ]
    );
    let outcomes: Vec<&str> = res[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        outcomes,
        ["not_found", "deleted", "not_found", "deleted", "not_found"]
    );
}

/// XLS, XLSB and ODS keep hidden rows where the reader cannot see them: delete reads every row
/// and says so before anything is deleted.
#[test]
fn a_format_that_hides_its_hidden_rows_is_said_before_deleting() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((0..2).map(case).collect());
    let dir = tempfile::tempdir().unwrap();
    let mut rows = vec![vec![(0, XlsbCell::Text("kayse_id"))]];
    for id in &ids {
        rows.push(vec![(0, XlsbCell::Number(*id as f64))]);
    }
    std::fs::write(
        dir.path().join("ids.xlsb"),
        xlsb_workbook(&[("Ids", false, rows)]),
    )
    .unwrap();
    let o = sb.run(dir.path(), &["delete", "ids.xlsb", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let warning = "hidden rows cannot be seen in .xlsb files, so every row was read, rows hidden by a filter too; save the sheet as .xlsx to leave them out";
    assert!(err.contains(&format!("\nWarning: {warning}.\n")), "{err}");
    assert!(err.contains(&format!("warning: {warning}")), "{err}");
    let o = sb.run(
        dir.path(),
        &["delete", "ids.xlsb", "--dry-run", "--include-hidden-rows"],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("cannot be seen"),
        "{}",
        show(&o)
    );
}
