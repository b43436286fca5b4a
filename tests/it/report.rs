//! The report sheets of an export against the sandbox: the Summary sheet read back cell by cell,
//! its two native charts in the workbook's zip, the Changes since an earlier export (a case
//! changed and one deleted through the API in between), and what `--json` gives a monitor.

use std::io::Read;
use std::path::Path;

use crate::support::*;
use serde_json::{Value, json};

fn seeded(sb: &Sandbox) -> Vec<u64> {
    let mut cases = Vec::new();
    for (n, status, kind, created) in [
        (1, Some("active"), "civil", Some("2024-01-05")),
        (2, Some("closed"), "family", Some("2024-03-10")),
        (3, Some("active"), "civil", Some("2024-03-20")),
        (4, None, "civil", None),
    ] {
        let mut c = case(n);
        c["type"] = json!(kind);
        // A text key gets a column of its own in the export, a number stays in the object.
        c["external_source_data"] = json!({"matter": format!("M-{n}"), "n": n});
        match status {
            Some(s) => c["status"] = json!(s),
            None => {
                c.as_object_mut().unwrap().remove("status");
            }
        }
        if let Some(d) = created {
            c["created_date"] = json!(d);
        }
        cases.push(c);
    }
    sb.seed(cases)
}

/// The names of the files in a zip (an XLSX workbook).
fn zip_names(path: &Path) -> Vec<String> {
    let f = std::fs::File::open(path).unwrap();
    let z = zip::ZipArchive::new(f).unwrap();
    z.file_names().map(|n| n.unwrap().into_owned()).collect()
}

fn zip_text(path: &Path, name: &str) -> String {
    let f = std::fs::File::open(path).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

#[test]
fn xlsx_export_has_a_summary_sheet_with_two_charts() {
    let sb = Sandbox::start(&[]);
    let ids = seeded(&sb);
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("{}-{}", ids[0], ids[3]);
    let o = sb.run(dir.path(), &["export", "--ids", &spec, "--out", "out.xlsx"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let out = dir.path().join("out.xlsx");
    // The cases stay the first sheet (the export is an import file), the Summary follows.
    let wb: calamine::Xlsx<_> = calamine::open_workbook(&out).unwrap();
    use calamine::Reader;
    assert_eq!(wb.sheet_names(), ["Cases", "Summary"]);
    let rows = sheet(&out, Some("Summary"));
    assert!(rows[0][0].starts_with("4 cases exported "), "{:?}", rows[0]);
    let cell = |r: usize, c: usize| {
        rows.get(r)
            .and_then(|row| row.get(c))
            .cloned()
            .unwrap_or_default()
    };
    let block = |first: usize, c: usize, want: &[[&str; 2]]| {
        for (i, [a, b]) in want.iter().enumerate() {
            assert_eq!(
                [cell(first + i, c), cell(first + i, c + 1)],
                [*a, *b],
                "row {}",
                first + i
            );
        }
    };
    block(
        3,
        0,
        &[
            ["Status", "Cases"],
            ["active", "2"],
            ["closed", "1"],
            ["(no status)", "1"],
            ["Total", "4"],
            ["", ""],
            ["Type", "Cases"],
            ["civil", "3"],
            ["family", "1"],
            ["", ""],
            ["Refresh coverage", "Cases"],
            ["Seen in the last 7 days", "4"],
            ["Seen in the last 30 days", "4"],
            ["Seen in the last 90 days", "4"],
            ["Seen more than 90 days ago", "0"],
            ["Never seen", "0"],
        ],
    );
    assert_eq!(cell(19, 0), "Counted on");
    block(
        3,
        3,
        &[
            ["Month", "Cases opened"],
            ["2024-01-01", "1"],
            ["2024-02-01", "0"],
            ["2024-03-01", "2"],
            ["", ""],
            ["No created_date", "1"],
        ],
    );
    // Native charts: a column chart over the statuses, a line over the months.
    let names = zip_names(&out);
    assert!(
        names.iter().any(|n| n == "xl/charts/chart1.xml"),
        "{names:?}"
    );
    let bar = zip_text(&out, "xl/charts/chart1.xml");
    assert!(bar.contains("<c:barChart>"), "{bar}");
    assert!(bar.contains("Summary!$A$5:$A$7"), "{bar}");
    assert!(bar.contains("Summary!$B$5:$B$7"), "{bar}");
    let line = zip_text(&out, "xl/charts/chart2.xml");
    assert!(line.contains("<c:lineChart>"), "{line}");
    assert!(line.contains("Summary!$E$5:$E$7"), "{line}");
}

#[test]
fn csv_export_has_no_summary_and_an_empty_export_no_chart() {
    let sb = Sandbox::start(&[]);
    let ids = seeded(&sb);
    let dir = tempfile::tempdir().unwrap();
    let o = sb.run(
        dir.path(),
        &["export", "--ids", &ids[0].to_string(), "--out", "out.csv"],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".lock") && !n.starts_with("kayse.ledger"))
        .collect();
    // No second table beside the CSV (its lock file apart).
    assert_eq!(
        files
            .iter()
            .filter(|n| !n.ends_with(".lock"))
            .collect::<Vec<_>>(),
        ["out.csv"]
    );
    // Every id missing: the Summary says 0 cases and draws no chart over an empty range.
    let o = sb.run(
        dir.path(),
        &["export", "--ids", "999999", "--out", "none.xlsx"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let out = dir.path().join("none.xlsx");
    let rows = sheet(&out, Some("Summary"));
    assert!(rows[0][0].starts_with("0 cases exported "), "{:?}", rows[0]);
    assert!(!zip_names(&out).iter().any(|n| n.starts_with("xl/charts/")));
}

/// Someone else changes a case in Kayse: GET it, change `fields`, PUT it whole.
fn put_changed(sb: &Sandbox, id: u64, fields: Value) {
    let (status, mut case) = sb.api("GET", &format!("/v1/cases/{id}"), None);
    assert_eq!(status, 200, "{case}");
    let obj = case.as_object_mut().unwrap();
    for answer_only in [
        "id",
        "origin",
        "update_origin",
        "call_opted_out",
        "sms_opted_out",
        "email_opted_out",
    ] {
        obj.remove(answer_only);
    }
    for (k, v) in fields.as_object().unwrap() {
        obj.insert(k.clone(), v.clone());
    }
    let (status, answer) = sb.api("PUT", &format!("/v1/cases/{id}"), Some(case));
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn changes_from_an_earlier_export_name_new_changed_and_gone_cases() {
    let sb = Sandbox::start(&[]);
    let ids = seeded(&sb);
    let (a, b, c) = (ids[0], ids[1], ids[2]);
    let dir = tempfile::tempdir().unwrap();
    let first = format!("{a},{b}");
    let all = format!("{a},{b},{c}");
    for out in ["last.xlsx", "last.csv"] {
        let o = sb.run(dir.path(), &["export", "--ids", &first, "--out", out]);
        assert_eq!(code(&o), 0, "{}", show(&o));
    }
    // Between the two reports: a's status and description change, b is deleted.
    put_changed(
        &sb,
        a,
        json!({"status": "closed", "description": "settled"}),
    );
    let (status, _) = sb.api("DELETE", &format!("/v1/cases/{b}"), None);
    assert_eq!(status, 200);
    let want = [
        [
            c.to_string(),
            "LC-0003".into(),
            "new".into(),
            "".into(),
            "".into(),
            "".into(),
        ],
        [
            a.to_string(),
            "LC-0001".into(),
            "changed".into(),
            "description".into(),
            "".into(),
            "settled".into(),
        ],
        [
            a.to_string(),
            "LC-0001".into(),
            "changed".into(),
            "status".into(),
            "active".into(),
            "closed".into(),
        ],
        [
            b.to_string(),
            "LC-0002".into(),
            "gone (404)".into(),
            "".into(),
            "".into(),
            "".into(),
        ],
    ];
    let header = ["id", "case_number", "change", "field", "old", "new"];
    let padded = |rows: Vec<Vec<String>>| -> Vec<Vec<String>> {
        rows.into_iter()
            .map(|mut r| {
                r.resize(6, String::new());
                r
            })
            .collect()
    };

    let o = sb.run(
        dir.path(),
        &[
            "--json",
            "export",
            "--ids",
            &all,
            "--changes-from",
            "last.xlsx",
            "--out",
            "now.xlsx",
        ],
    );
    // b answers 404: exit 1, on the Errors sheet as before, and gone on the Changes sheet.
    assert_eq!(code(&o), 1, "{}", show(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["changes"],
        json!({"since": "last.xlsx", "new": 1, "changed": 1, "gone": 1})
    );
    let out = dir.path().join("now.xlsx");
    let wb: calamine::Xlsx<_> = calamine::open_workbook(&out).unwrap();
    use calamine::Reader;
    assert_eq!(wb.sheet_names(), ["Cases", "Summary", "Changes", "Errors"]);
    let rows = padded(sheet(&out, Some("Changes")));
    assert_eq!(rows[0], header);
    assert_eq!(rows[1..], want);
    // The id is a number cell, as on the Cases sheet.
    assert!(matches!(
        sheet_rows(&out, Some("Changes"))[1][0],
        calamine::Data::Float(_)
    ));

    // CSV in, CSV out: the same lines in <out>.changes.csv; the stderr summary counts them.
    let o = sb.run(
        dir.path(),
        &[
            "export",
            "--ids",
            &all,
            "--changes-from",
            "last.csv",
            "--out",
            "now.csv",
        ],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("changes: 1 new, 1 changed, 1 gone since last.csv"),
        "{err}"
    );
    let rows = padded(csv_rows(&dir.path().join("now.csv.changes.csv")));
    assert_eq!(rows[0], header);
    assert_eq!(rows[1..], want);

    // The report compared with itself a moment later (the path of a nightly job): nothing new,
    // and b, never in it, is not gone again.
    let o = sb.run(
        dir.path(),
        &[
            "export",
            "--ids",
            &all,
            "--changes-from",
            "now.xlsx",
            "--out",
            "now.xlsx",
        ],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let rows = sheet(&out, Some("Changes"));
    assert_eq!(rows, [header.map(String::from).to_vec()]);
}

#[test]
fn changes_from_a_file_that_is_no_export_stops_before_any_request() {
    let sb = Sandbox::start(&[]);
    let ids = seeded(&sb);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("list.csv"), "case_number\nLC-0001\n").unwrap();
    for (from, says) in [
        ("missing.xlsx", "no such file"),
        ("list.csv", "no id column"),
    ] {
        let o = sb.run(
            dir.path(),
            &[
                "export",
                "--ids",
                &ids[0].to_string(),
                "--changes-from",
                from,
            ],
        );
        assert_eq!(code(&o), 2, "{}", show(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(says),
            "{}",
            show(&o)
        );
    }
    assert_eq!(sb.route_count("GET /v1/cases/{id}"), 0);
    assert!(!dir.path().join("kayse-export.xlsx").exists());
}

#[test]
fn json_gives_a_monitor_counts_requests_budget_left_and_the_exit_code() {
    let sb = Sandbox::start(&[]);
    let ids = seeded(&sb);
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("{}-{}", ids[0], ids[3]);
    let run = |extra: &[&str]| {
        let mut args = vec!["--json", "export", "--ids", &spec, "--concurrency", "1"];
        args.extend(extra);
        let o = sb.run(dir.path(), &args);
        let v: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)));
        (code(&o), v)
    };
    let (exit, v) = run(&["--budget", "10", "--out", "a.xlsx"]);
    assert_eq!(exit, 0);
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["counts"]["exported"], 4);
    assert_eq!(v["counts"]["failed"], 0);
    assert_eq!(v["requests"]["requests"], 4);
    assert_eq!(v["requests"]["budget_left"], 6);
    assert!(v["requests"]["remaining"].is_u64(), "{v}");
    // A budget that runs out stops the run, resumable, and says nothing is left.
    let (exit, v) = run(&["--budget", "2", "--out", "b.xlsx"]);
    assert_eq!(exit, 3);
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["requests"]["requests"], 2);
    assert_eq!(v["requests"]["budget_left"], 0);
    assert_eq!(v["stop_reason"], "budget_spent");
    // No --budget: none to report.
    let (_, v) = run(&["--out", "c.xlsx"]);
    assert_eq!(v["requests"]["budget_left"], Value::Null);
}

/// A dated nightly job finds its previous report by itself: `changes-from` with `{last}` names
/// the newest report the job's `{date}` pattern wrote. The first night has none and runs without
/// a Changes file; the next night's Changes name what changed in Kayse in between.
#[test]
fn a_dated_job_compares_with_its_own_last_report() {
    let sb = Sandbox::start(&[]);
    let ids = seeded(&sb);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("kayse-bulk.toml"),
        format!(
            "[jobs.report]\ncommand = \"export\"\nids = [\"{}-{}\"]\nout = \"reports/cases-{{date}}.csv\"\nchanges-from = \"reports/cases-{{last}}.csv\"\n",
            ids[0], ids[1]
        ),
    )
    .unwrap();
    std::fs::create_dir(d.join("reports")).unwrap();
    let o = sb.run(d, &["run", "report"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let written: Vec<String> = std::fs::read_dir(d.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    assert_eq!(
        written.len(),
        1,
        "no Changes on the first night: {written:?}"
    );
    // Last night's report, as a run yesterday would have left it.
    std::fs::rename(
        d.join("reports").join(&written[0]),
        d.join("reports/cases-2000-01-01.csv"),
    )
    .unwrap();
    put_changed(&sb, ids[1], json!({"status": "active"}));
    let o = sb.run(d, &["run", "report"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("0 new, 1 changed, 0 gone since reports/cases-2000-01-01.csv"),
        "{err}"
    );
    let changes_file = std::fs::read_dir(d.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".changes.csv"))
        .expect("a Changes file");
    let changes = csv_rows(&changes_file);
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(
        changes[1][2..6],
        ["changed", "status", "closed", "active"].map(String::from)
    );
}
