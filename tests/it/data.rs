//! Values that go wrong silently (issue 15 items 4, 6, 8, 9, 11): day and month swapped, names
//! taken as ids, text and dates Excel cannot hold, backups restored, status typos. Each test runs
//! the workflow a user would, with the real binary against a sandbox on loopback, and reads the
//! results back cell by cell.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::support::{Sandbox, code, csv_rows, show};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A CSV results file as maps from header to cell, one per row.
fn rows_of(path: &Path) -> Vec<BTreeMap<String, String>> {
    let rows = csv_rows(path);
    rows[1..]
        .iter()
        .map(|r| rows[0].iter().cloned().zip(r.iter().cloned()).collect())
        .collect()
}

/// The server's cases, by case number.
fn server_cases(sb: &Sandbox) -> BTreeMap<String, serde_json::Value> {
    sb.state()["cases"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c["case_number"].as_str().unwrap_or("").to_string(), c))
        .collect()
}

const HEAD: &str = "case_number,external_source,external_source_id,status,type";

#[test]
fn a_status_typo_is_named_with_its_fix_and_not_created_without_a_yes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = format!("{HEAD}\n");
    for (i, s) in ["Open", "Open", "Open", "Opne", "Closed"]
        .iter()
        .enumerate()
    {
        text.push_str(&format!("T-{i},other,t{i},{s},civil\n"));
    }
    write(d, "typo.csv", &text);
    let sb = Sandbox::start(&[]);

    // validate: the warning pairs 'Opne' with 'Open' and names both fixes.
    let v = sb.run(d, &["validate", "typo.csv"]);
    assert_eq!(code(&v), 0, "{}", show(&v));
    let err = stderr(&v);
    assert!(err.contains("'Open' (3), 'Opne' (1)"), "{err}");
    assert!(
        err.contains("[values.status]") && err.contains("--allowed-status"),
        "{err}"
    );

    // import with no terminal and no --yes: nothing is sent, no journal blocks the next run.
    let i = sb.run(d, &["import", "typo.csv"]);
    assert_eq!(code(&i), 2, "{}", show(&i));
    let err = stderr(&i);
    assert!(
        err.contains("status 'Opne' (1 row) looks like a typo of 'Open'"),
        "{err}"
    );
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(sb.bulk_requests(), 0);
    assert!(!d.join("typo.results.xlsx.journal").exists());

    // The fix the warning names: [values.status] sends 'Open', and nothing is asked.
    write(d, "map.toml", "[values.status]\n\"Opne\" = \"Open\"\n");
    let i = sb.run(
        d,
        &[
            "import",
            "typo.csv",
            "--mapping",
            "map.toml",
            "--results",
            "typo.csv.out.csv",
        ],
    );
    assert_eq!(code(&i), 0, "{}", show(&i));
    let cases = server_cases(&sb);
    assert_eq!(cases["T-3"]["status"], "Open");
    let statuses: std::collections::BTreeSet<&str> = cases
        .values()
        .filter_map(|c| c["status"].as_str())
        .collect();
    assert_eq!(statuses, ["Closed", "Open"].into_iter().collect());
}

#[test]
fn yes_sends_a_likely_typo_as_typed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = format!(
        "{HEAD}\nY-1,other,y1,pending,civil\nY-2,other,y2,pending,civil\nY-3,other,y3,pendnig,civil\n"
    );
    write(d, "y.csv", &text);
    let sb = Sandbox::start(&[]);
    let i = sb.run(d, &["import", "y.csv", "--yes", "--results", "y.out.csv"]);
    assert_eq!(code(&i), 0, "{}", show(&i));
    assert_eq!(server_cases(&sb)["Y-3"]["status"], "pendnig");
    let rows = rows_of(&d.join("y.out.csv"));
    assert!(
        rows.iter().all(|r| r["kayse_result"] == "created"),
        "{rows:?}"
    );
}

#[test]
fn a_column_that_proves_day_first_reads_day_first_throughout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = format!(
        "{HEAD},Opened\nD-1,other,d1,active,civil,05/03/2024\nD-2,other,d2,active,civil,25/01/2024\nD-3,other,d3,active,civil,05.03.2024\nD-4,other,d4,active,civil,2024-07-08\n"
    );
    write(d, "dmy.csv", &text);
    let sb = Sandbox::start(&[]);

    let v = sb.run(d, &["validate", "dmy.csv", "--results", "dmy.check.csv"]);
    assert_eq!(code(&v), 0, "{}", show(&v));
    let err = stderr(&v);
    assert!(
        err.contains("'Opened' (created_date) is read day-first throughout: '25/01/2024' on row 3"),
        "{err}"
    );
    let rows = rows_of(&d.join("dmy.check.csv"));
    let read: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["Opened"].as_str(), r["Opened (as read)"].as_str()))
        .collect();
    assert_eq!(
        read,
        [
            ("05/03/2024", "2024-03-05"),
            ("25/01/2024", "2024-01-25"),
            ("05.03.2024", "2024-03-05"),
            ("2024-07-08", "2024-07-08"),
        ]
    );

    let i = sb.run(d, &["import", "dmy.csv", "--results", "dmy.out.csv"]);
    assert_eq!(code(&i), 0, "{}", show(&i));
    let cases = server_cases(&sb);
    let dates: Vec<&str> = ["D-1", "D-2", "D-3", "D-4"]
        .iter()
        .map(|n| cases[*n]["created_date"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        dates,
        ["2024-03-05", "2024-01-25", "2024-03-05", "2024-07-08"]
    );

    // The results fed back in: the (as read) column is the tool's own, written afresh.
    let again = sb.run(
        d,
        &["validate", "dmy.out.csv", "--results", "dmy.again.csv"],
    );
    assert!(!stderr(&again).contains("not mapped"), "{}", show(&again));
    let headers = &csv_rows(&d.join("dmy.again.csv"))[0];
    assert_eq!(
        headers
            .iter()
            .filter(|h| h.as_str() == "Opened (as read)")
            .count(),
        1,
        "{headers:?}"
    );
}

#[test]
fn a_column_with_no_proof_warns_once_and_names_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = format!(
        "{HEAD},Opened,Closed\nA-1,other,a1,active,civil,05/03/2024,2024-01-01\nA-2,other,a2,active,civil,06/04/2024,\n"
    );
    write(d, "amb.csv", &text);
    let v = crate::support::cli()
        .current_dir(d)
        .args(["validate", "amb.csv", "--results", "amb.check.csv"])
        .output()
        .unwrap();
    assert_eq!(code(&v), 0, "{}", show(&v));
    let err = stderr(&v);
    assert_eq!(err.matches("--date-order dmy").count(), 1, "{err}");
    assert!(err.contains("'Opened' (created_date): 2 dates"), "{err}");
    assert!(
        !err.contains("'Closed'"),
        "an ISO column needs no warning: {err}"
    );
    let rows = rows_of(&d.join("amb.check.csv"));
    assert_eq!(
        rows[0]["Opened (as read)"], "2024-05-03",
        "month-first by default"
    );

    let v = crate::support::cli()
        .current_dir(d)
        .args([
            "validate",
            "amb.csv",
            "--date-order",
            "dmy",
            "--results",
            "amb2.csv",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&v), 0, "{}", show(&v));
    assert!(
        !stderr(&v).contains("run again with --date-order"),
        "{}",
        show(&v)
    );
    let rows = rows_of(&d.join("amb2.csv"));
    assert_eq!(rows[0]["Opened (as read)"], "2024-03-05");
    assert_eq!(rows[1]["Opened (as read)"], "2024-04-06");
}

#[test]
fn proof_that_arrives_after_the_first_rows_stops_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = format!("{HEAD},Opened\n");
    for i in 0..1005 {
        text.push_str(&format!("L-{i},other,l{i},active,civil,05/03/2024\n"));
    }
    text.push_str("L-late,other,late,active,civil,25/01/2024\n");
    write(d, "late.csv", &text);
    let sb = Sandbox::start(&[]);

    let v = sb.run(d, &["validate", "late.csv", "--results", "late.check.csv"]);
    assert_eq!(code(&v), 1, "{}", show(&v));
    let err = stderr(&v);
    assert!(
        err.contains("created_date: row 1007 holds '25/01/2024'"),
        "{err}"
    );
    assert!(err.contains("--date-order dmy"), "{err}");

    let i = sb.run(d, &["import", "late.csv", "--results", "late.out.csv"]);
    assert_eq!(code(&i), 2, "{}", show(&i));
    assert!(stderr(&i).contains("nothing was sent"), "{}", show(&i));
    assert_eq!(sb.bulk_requests(), 0);

    let i = sb.run(
        d,
        &[
            "import",
            "late.csv",
            "--date-order",
            "dmy",
            "--results",
            "late.out.csv",
        ],
    );
    assert_eq!(code(&i), 0, "{}", show(&i));
    let cases = server_cases(&sb);
    assert_eq!(cases["L-0"]["created_date"], "2024-03-05");
    assert_eq!(cases["L-late"]["created_date"], "2024-01-25");
}

#[test]
fn a_clients_column_of_names_is_not_taken_as_client_ids() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = format!(
        "{HEAD},Clients\nN-1,other,n1,active,civil,Maria\nN-2,other,n2,active,civil,John Smith\nN-3,other,n3,active,civil,\n"
    );
    write(d, "names.csv", &text);
    let sb = Sandbox::start(&[]);
    let v = sb.run(
        d,
        &["validate", "names.csv", "--results", "names.check.csv"],
    );
    assert_eq!(code(&v), 0, "{}", show(&v));
    let err = stderr(&v);
    assert!(
        err.contains("column 'Clients' holds 2 of 2 values that are not ids (such as 'Maria')"),
        "{err}"
    );
    assert!(err.contains("not taken as client_ids"), "{err}");
    assert!(
        err.contains("not mapped to any field") && err.contains("Clients"),
        "{err}"
    );
    let rows = rows_of(&d.join("names.check.csv"));
    assert!(
        rows.iter().all(|r| r["kayse_result"] == "valid"),
        "{rows:?}"
    );

    let i = sb.run(d, &["import", "names.csv", "--results", "names.out.csv"]);
    assert_eq!(code(&i), 0, "{}", show(&i));
    let cases = server_cases(&sb);
    assert!(
        cases.values().all(|c| c["client_ids"].is_null()
            || c["client_ids"].as_array().is_some_and(|a| a.is_empty())),
        "{cases:?}"
    );

    // A column of ids under the same alias is still taken as ids.
    write(
        d,
        "ids.csv",
        &format!(
            "{HEAD},Clients\nI-1,other,i1,active,civil,101;102\nI-2,other,i2,active,civil,Maria\nI-3,other,i3,active,civil,103\n"
        ),
    );
    let v = sb.run(
        d,
        &["-v", "validate", "ids.csv", "--results", "ids.check.csv"],
    );
    assert_eq!(code(&v), 1, "{}", show(&v));
    assert!(
        stderr(&v).contains("'Clients' → client_ids"),
        "{}",
        show(&v)
    );
    let rows = rows_of(&d.join("ids.check.csv"));
    assert_eq!(
        rows[1]["kayse_errors"],
        "client_ids: id 'Maria' is not a positive whole number (value 'Maria')"
    );
}

#[test]
fn export_cuts_nothing_silently_and_a_reimport_never_sends_a_cut_text() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sb = Sandbox::start(&[]);
    let long = "word ".repeat(8_000); // 40,000 characters
    let mut a = crate::support::case(1);
    a["description"] = serde_json::Value::String(long.clone());
    let mut b = crate::support::case(2);
    b["created_date"] = "1899-12-31".into();
    b["end_date"] = "0202-03-05".into();
    let ids = sb.seed(vec![a, b]);
    let list = format!("{},{}", ids[0], ids[1]);

    let e = sb.run(d, &["export", "--ids", &list, "--out", "x.xlsx", "--yes"]);
    assert_eq!(code(&e), 0, "{}", show(&e));
    let err = stderr(&e);
    assert!(
        err.contains(&format!("1 text is longer than one Excel cell holds (32767 characters) and cut in the workbook, ending '[cut: N characters]': id {} description (40000 characters)", ids[0])),
        "{err}"
    );
    assert!(err.contains("Export to a .csv file"), "{err}");
    assert!(
        err.contains("2 dates are outside Excel's calendar"),
        "{err}"
    );
    let rows = crate::support::sheet_rows(&d.join("x.xlsx"), None);
    let col = |h: &str| crate::support::data_col(&rows, h);
    let b_row = &rows[2];
    assert_eq!(
        b_row[col("created_date")],
        calamine::Data::String("1899-12-31".into())
    );
    assert_eq!(
        b_row[col("end_date")],
        calamine::Data::String("0202-03-05".into())
    );

    // The workbook back in: the cut text is refused, the whole dates go back as they were. A
    // fresh ledger, so the row is sent, not judged unchanged against what the export read.
    let i = sb.run(
        d,
        &[
            "--ledger",
            "fresh.ledger",
            "import",
            "x.xlsx",
            "--update-blanks",
            "clear",
            "--results",
            "x.out.csv",
        ],
    );
    assert_eq!(code(&i), 1, "{}", show(&i));
    let rows = rows_of(&d.join("x.out.csv"));
    assert_eq!(rows[0]["kayse_result"], "invalid", "{rows:?}");
    assert!(
        rows[0]["kayse_errors"].contains("cut to fit one Excel cell (it had 40000 characters)")
    );
    assert_eq!(rows[1]["kayse_result"], "updated", "{rows:?}");
    assert_eq!(
        sb.case(ids[0])["description"],
        serde_json::Value::String(long)
    );
    let back = sb.case(ids[1]);
    assert_eq!(
        (back["created_date"].as_str(), back["end_date"].as_str()),
        (Some("1899-12-31"), Some("0202-03-05"))
    );

    // A CSV export holds the text whole.
    let e = sb.run(d, &["export", "--ids", &list, "--out", "x.csv", "--yes"]);
    assert_eq!(code(&e), 0, "{}", show(&e));
    assert!(!stderr(&e).contains("longer than"), "{}", show(&e));
    let rows = rows_of(&d.join("x.csv"));
    assert_eq!(rows[0]["description"].len(), 40_000);
}

#[test]
fn a_backup_is_restored_as_new_cases_with_old_and_new_ids() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sb = Sandbox::start(&[]);
    let mut a = crate::support::case(1);
    a["sms_opted_out"] = true.into();
    let mut b = crate::support::case(2);
    b["call_opted_out"] = true.into();
    let c = crate::support::case(3);
    let old = sb.seed(vec![a, b, c]);
    write(
        d,
        "gone.csv",
        &format!("kayse_id\n{}\n{}\n{}\n", old[0], old[1], old[2]),
    );
    let del = sb.run(
        d,
        &["delete", "gone.csv", "--backup", "backup.xlsx", "--yes"],
    );
    assert_eq!(code(&del), 0, "{}", show(&del));
    assert!(server_cases(&sb).is_empty());

    // A plain import of the backup updates ids Kayse no longer has, and says what to do.
    let i = sb.run(d, &["import", "backup.xlsx", "--results", "plain.csv"]);
    assert_eq!(code(&i), 1, "{}", show(&i));
    let rows = rows_of(&d.join("plain.csv"));
    assert!(rows[0]["kayse_errors"].contains("--restore"), "{rows:?}");

    let i = sb.run(
        d,
        &[
            "import",
            "backup.xlsx",
            "--restore",
            "--results",
            "restored.csv",
        ],
    );
    assert_eq!(code(&i), 0, "{}", show(&i));
    let err = stderr(&i);
    assert!(err.contains("3 cases are created anew"), "{err}");
    assert!(
        err.contains("1 restored cases had clients opted out of SMS or email, which the API cannot set again (row 2)"),
        "{err}"
    );
    let rows = rows_of(&d.join("restored.csv"));
    let cases = server_cases(&sb);
    for (k, r) in rows.iter().enumerate() {
        assert_eq!(r["kayse_result"], "created", "{r:?}");
        assert_eq!(r["id"], old[k].to_string(), "the old id stays in the row");
        let new: u64 = r["kayse_id"].parse().unwrap();
        assert_ne!(new, old[k]);
        assert_eq!(cases[&r["case_number"]]["id"].as_u64(), Some(new));
    }
    assert!(rows[0]["kayse_errors"].contains("RESTORE: this case's clients had opted out of SMS"));
    assert_eq!(rows[1]["kayse_errors"], "");
    assert_eq!(
        cases["LC-0002"]["opt_out_voice_calls"], true,
        "voice opt-out sent again"
    );
}
