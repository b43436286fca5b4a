//! The report sheets of an export against the sandbox: the Summary sheet read back cell by cell,
//! and its two native charts in the workbook's zip.

use std::io::Read;
use std::path::Path;

use crate::support::*;
use serde_json::json;

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
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    assert_eq!(files, ["out.csv"]);
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
