//! The ledger end to end, in the order a firm chains runs: import, re-run unchanged, re-run with
//! changes, a sheet that disagrees with the ledger, a damaged ledger, a second run at once. The
//! real binary against the sandbox over loopback; results read back cell by cell, the server's
//! truth from its admin routes.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Stdio};

use kayse_bulk::record::lock::{Holder, RunLock};

use crate::support::{Sandbox, code, col, csv_rows, results_column, show, signal};

const HEADER: &str = "case_number,external_source,external_source_id,status,type";

fn write(dir: &Path, name: &str, rows: impl Iterator<Item = String>) -> PathBuf {
    let p = dir.join(name);
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(&r);
        s.push('\n');
    }
    std::fs::write(&p, s).unwrap();
    p
}

fn row(i: usize, status: &str) -> String {
    format!("L-{i:04},other,x-{i},{status},civil")
}

fn gets(sb: &Sandbox) -> u64 {
    sb.route_count("GET /v1/cases/{id}")
}

/// `kayse_result` and `kayse_id` of every row of a results CSV.
fn outcomes(path: &Path) -> Vec<(String, String)> {
    let rows = csv_rows(path);
    let results = results_column(&rows, "kayse_result");
    let ids = results_column(&rows, "kayse_id");
    results.into_iter().zip(ids).collect()
}

#[test]
fn a_re_run_is_a_nearly_free_sync() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cases.csv", (1..=30).map(|i| row(i, "active")));
    let first = sb.run(
        d,
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "10",
            "--results",
            "r1.csv",
        ],
    );
    assert_eq!(code(&first), 0, "{}", show(&first));
    assert_eq!(sb.bulk_requests(), 3);
    let created = outcomes(&d.join("r1.csv"));
    assert!(
        created
            .iter()
            .all(|(o, id)| o == "created" && !id.is_empty())
    );
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(
        err.contains("ledger: kayse.ledger.sqlite") || err.contains("kayse.ledger.sqlite"),
        "{err}"
    );

    // The same file again: no request, every row `unchanged` with the id it was created with.
    let again = sb.run(
        d,
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "10",
            "--results",
            "r2.csv",
        ],
    );
    assert_eq!(code(&again), 0, "{}", show(&again));
    assert_eq!(sb.bulk_requests(), 3, "no request for an unchanged file");
    // The summary counts them as unchanged, never as creates it would make.
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("unchanged: 30"), "{err}");
    assert!(!err.contains("creates:"), "{err}");
    let unchanged = outcomes(&d.join("r2.csv"));
    for ((o, id), (_, first_id)) in unchanged.iter().zip(&created) {
        assert_eq!(o, "unchanged");
        assert_eq!(id, first_id);
    }

    // Three rows changed, under `clear`: one bulk request, no GET, exactly those rows updated.
    let changed = [4, 15, 27];
    let status = |i: usize| {
        if changed.contains(&i) {
            "closed"
        } else {
            "active"
        }
    };
    write(d, "cases.csv", (1..=30).map(|i| row(i, status(i))));
    let (bulk, get) = (sb.bulk_requests(), gets(&sb));
    let o = sb.run(
        d,
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "10",
            "--update-blanks",
            "clear",
            "--results",
            "r3.csv",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(sb.bulk_requests() - bulk, 1);
    assert_eq!(gets(&sb) - get, 0);
    let got = outcomes(&d.join("r3.csv"));
    for (i, ((o, id), (_, first_id))) in got.iter().zip(&created).enumerate() {
        let want = if changed.contains(&(i + 1)) {
            "updated"
        } else {
            "unchanged"
        };
        assert_eq!(o, want, "row {}", i + 1);
        assert_eq!(id, first_id);
    }
    let id = created[3].1.parse::<u64>().unwrap();
    assert_eq!(sb.case(id)["status"], "closed");

    // Three more changed under `keep`: the same bulk request, plus one GET per updated row.
    let changed2 = [1, 2, 3];
    write(
        d,
        "cases.csv",
        (1..=30).map(|i| {
            row(
                i,
                if changed2.contains(&i) {
                    "closed"
                } else {
                    status(i)
                },
            )
        }),
    );
    let (bulk, get) = (sb.bulk_requests(), gets(&sb));
    let o = sb.run(
        d,
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "10",
            "--results",
            "r4.csv",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(sb.bulk_requests() - bulk, 1);
    assert_eq!(gets(&sb) - get, 3);
    let updated = outcomes(&d.join("r4.csv"))
        .iter()
        .filter(|(o, _)| o == "updated")
        .count();
    assert_eq!(updated, 3);
}

#[test]
fn a_sheet_id_that_disagrees_with_the_ledger_is_a_conflict_and_is_not_sent() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cases.csv", (1..=2).map(|i| row(i, "active")));
    let o = sb.run(d, &["import", "cases.csv", "--results", "r1.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let ids: Vec<String> = outcomes(&d.join("r1.csv"))
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    // The sheet now says row 1 is case 999999, which the ledger has not: a conflict.
    std::fs::write(
        d.join("fixed.csv"),
        format!(
            "id,{HEADER}\n999999,{}\n{},{}\n",
            row(1, "closed"),
            ids[1],
            row(2, "active")
        ),
    )
    .unwrap();
    let before = sb.bulk_requests();
    let o = sb.run(d, &["import", "fixed.csv", "--results", "r2.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert_eq!(sb.bulk_requests(), before, "nothing to send");
    let rows = csv_rows(&d.join("r2.csv"));
    let (result, errors) = (col(&rows, "kayse_result"), col(&rows, "kayse_errors"));
    assert_eq!(rows[1][result], "conflict");
    assert!(
        rows[1][errors].contains(&format!("Kayse id {}", ids[0])),
        "{:?}",
        rows[1]
    );
    assert_eq!(rows[2][result], "unchanged");
}

#[test]
fn a_damaged_or_unreadable_ledger_is_one_line_exit_2_and_nothing_sent() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cases.csv", (1..=2).map(|i| row(i, "active")));
    std::fs::write(
        d.join("damaged.sqlite"),
        b"this is not a database, it is a note".repeat(200),
    )
    .unwrap();
    std::fs::create_dir(d.join("a-folder.sqlite")).unwrap();
    for ledger in ["damaged.sqlite", "a-folder.sqlite"] {
        let o = sb
            .cmd(d)
            .env("KAYSE_LEDGER", d.join(ledger))
            .args(["import", "cases.csv"])
            .output()
            .unwrap();
        assert_eq!(code(&o), 2, "{ledger}: {}", show(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{ledger}: {err}");
        assert!(err.starts_with("error: ") && err.contains(ledger), "{err}");
        assert!(!err.contains("panicked"));
        assert_eq!(sb.bulk_requests(), 0, "{ledger}: nothing sent");
    }
}

#[test]
fn a_second_sending_run_on_the_same_ledger_refuses_at_once_naming_the_first() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cases.csv", (1..=2).map(|i| row(i, "active")));
    // Another run holds the ledger: this process takes its lock, as a running import would.
    let holder = Holder {
        pid: 4242,
        started: chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05+00:00").unwrap(),
        command: "import".into(),
    };
    let lock = RunLock::try_acquire(&d.join("kayse.ledger.sqlite.lock"), &holder).unwrap();
    let o = sb.run(d, &["import", "cases.csv"]);
    assert_eq!(code(&o), 3, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("pid 4242") && err.contains("2026-01-02"),
        "{err}"
    );
    assert!(err.contains("--wait"), "{err}");
    assert_eq!(sb.bulk_requests(), 0);
    drop(lock);
    let o = sb.run(d, &["import", "cases.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
}

#[test]
fn delete_and_export_keep_the_ledger_current() {
    use kayse_bulk::record::ledger::{Ledger, Status};
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cases.csv", (1..=3).map(|i| row(i, "active")));
    let o = sb.run(d, &["import", "cases.csv", "--results", "r1.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let ids: Vec<u64> = outcomes(&d.join("r1.csv"))
        .iter()
        .map(|(_, id)| id.parse().unwrap())
        .collect();
    std::fs::write(d.join("gone.csv"), format!("kayse_id\n{}\n", ids[0])).unwrap();
    let o = sb.run(
        d,
        &[
            "delete",
            "gone.csv",
            "--yes",
            "--results",
            "gone.results.csv",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    // Case 2 is deleted in the Kayse UI: the export's 404 marks it gone.
    // (another machine, with a ledger of its own, stands in for the UI)
    std::fs::write(d.join("ui.csv"), format!("kayse_id\n{}\n", ids[1])).unwrap();
    let o = sb
        .cmd(d)
        .env("KAYSE_LEDGER", d.join("elsewhere.sqlite"))
        .args(["delete", "ui.csv", "--yes", "--results", "ui.results.csv"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", show(&o));
    let spec = format!("{},{},{}", ids[0], ids[1], ids[2]);
    let o = sb.run(d, &["export", "--ids", &spec, "--out", "e.csv"]);
    assert!(code(&o) <= 1, "{}", show(&o));
    let ledger = Ledger::open(&d.join("kayse.ledger.sqlite")).unwrap();
    let status = |id| ledger.get("cases", id).unwrap().unwrap().status;
    assert_eq!(status(ids[0]), Status::Deleted);
    assert_eq!(
        status(ids[1]),
        Status::Gone,
        "a 404 on an id the ledger knew"
    );
    assert_eq!(status(ids[2]), Status::Live);
    let seen = ledger.get("cases", ids[2]).unwrap().unwrap();
    assert!(seen.seen_at.is_some(), "the export's read is recorded");
    let runs = ledger.runs(10).unwrap();
    let commands: Vec<&str> = runs.iter().map(|r| r.command.as_str()).collect();
    assert!(
        commands.contains(&"import")
            && commands.contains(&"delete")
            && commands.contains(&"export")
    );
    assert!(runs.iter().all(|r| r.exit_code.is_some()), "{runs:?}");
    // The deleted case's row is created anew by the next import; the others are unchanged.
    drop(ledger);
    let o = sb.run(d, &["import", "cases.csv", "--results", "r2.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let again = outcomes(&d.join("r2.csv"));
    assert_eq!(again[0].0, "created");
    assert_eq!(again[2], ("unchanged".to_string(), ids[2].to_string()));
}

#[test]
fn a_new_laptop_recovers_with_ledger_add_and_sends_nothing() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cases.csv", (1..=12).map(|i| row(i, "active")));
    let o = sb.run(
        d,
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "5",
            "--results",
            "r1.csv",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let bulk = sb.bulk_requests();
    let laptop = d.join("laptop.sqlite");
    let on_laptop = |args: &[&str]| {
        sb.cmd(d)
            .env("KAYSE_LEDGER", &laptop)
            .args(args)
            .output()
            .unwrap()
    };
    let o = on_laptop(&["ledger", "add", "r1.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("12 ids recorded"),
        "{}",
        show(&o)
    );
    let o = on_laptop(&["import", "cases.csv", "--results", "r2.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(sb.bulk_requests(), bulk, "0 requests after ledger add");
    let first = outcomes(&d.join("r1.csv"));
    let again = outcomes(&d.join("r2.csv"));
    for ((o, id), (_, first_id)) in again.iter().zip(&first) {
        assert_eq!((o.as_str(), id), ("unchanged", first_id));
    }
    // The map, cell by cell; a file that disagrees is a conflict, never an overwrite.
    let o = on_laptop(&["ledger", "show", "--out", "map.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let map = csv_rows(&d.join("map.csv"));
    assert_eq!(map.len(), 13);
    let one = map
        .iter()
        .find(|r| r[col(&map, "case_number")] == "L-0001")
        .unwrap();
    assert_eq!(one[col(&map, "kayse_id")], first[0].1);
    assert_eq!(one[col(&map, "source_file")], "r1.csv");
    std::fs::write(
        d.join("wrong.csv"),
        format!("id,case_number\n{},L-0009\n", first[0].1),
    )
    .unwrap();
    let o = on_laptop(&["ledger", "add", "wrong.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not case_number L-0009"),
        "{}",
        show(&o)
    );
    let map2 = on_laptop(&["ledger", "show"]);
    assert!(
        String::from_utf8_lossy(&map2.stdout).contains(&format!("L-0001,other,x-1,{}", first[0].1))
    );
    // Forget asks for --yes off a terminal, and then forgets.
    let o = on_laptop(&["ledger", "forget", "--case-number", "L-0001"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let o = on_laptop(&["ledger", "forget", "--case-number", "L-0001", "--yes"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let o = on_laptop(&["ledger", "stats"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("cases: 11 live"),
        "{}",
        show(&o)
    );
    let o = on_laptop(&["ledger", "runs"]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("import"),
        "{}",
        show(&o)
    );
}

#[test]
fn already_exists_costs_one_request_per_such_row_not_a_bisection() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Two cases another office created; this ledger has no ids for them.
    sb.seed(vec![
        serde_json::json!({"case_number": "L-0003", "external_source": "other",
            "external_source_id": "x-3", "status": "active", "type": "civil"}),
        serde_json::json!({"case_number": "L-0008", "external_source": "other",
            "external_source_id": "x-8", "status": "active", "type": "civil"}),
    ]);
    write(d, "cases.csv", (1..=10).map(|i| row(i, "active")));
    let o = sb.run(
        d,
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "10",
            "--results",
            "r.csv",
        ],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert_eq!(
        sb.bulk_requests(),
        3,
        "the batch, then once without each taken row"
    );
    let rows = csv_rows(&d.join("r.csv"));
    let result = results_column(&rows, "kayse_result");
    for (i, r) in result.iter().enumerate() {
        let want = if [3, 8].contains(&(i + 1)) {
            "exists"
        } else {
            "created"
        };
        assert_eq!(r, want, "row {}", i + 1);
    }
    let errors = results_column(&rows, "kayse_errors");
    assert!(
        errors[2].contains("ledger add") && errors[2].contains("L-0003"),
        "{}",
        errors[2]
    );
    assert!(
        sb.cases().values().all(|ids| ids.len() == 1),
        "no duplicate"
    );
}

/// 200 rows in batches of 10 on a server that drops 10% of answers after committing: the
/// results file with its `unknown` rows, and the server's requests so far.
fn lossy_import(sb: &Sandbox, d: &Path) -> Vec<(String, String)> {
    write(d, "cases.csv", (1..=200).map(|i| row(i, "active")));
    let o = sb.run(
        d,
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "10",
            "--results",
            "r.csv",
        ],
    );
    assert!(code(&o) <= 1, "{}", show(&o));
    let got = outcomes(&d.join("r.csv"));
    assert!(
        got.iter().any(|(o, _)| o == "unknown"),
        "the seed must lose some answers"
    );
    got
}

/// Every row's id is the server's id for its case number.
fn ids_are_the_servers(sb: &Sandbox, d: &Path) {
    ids_are_the_servers_in(sb, &d.join("r.csv"));
}

#[test]
fn reconcile_probe_recovers_lost_creates_cheaply_and_never_a_wrong_id() {
    let sb = Sandbox::start(&["--faults", "commit-drop:0.1", "--seed", "11"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let before = lossy_import(&sb, d);
    let unknown = before.iter().filter(|(o, _)| o == "unknown").count();
    sb.config(serde_json::json!({"faults": ""}));
    let requests = sb.stats()["requests"].as_u64().unwrap();
    let o = sb.run(d, &["reconcile", "r.csv", "--probe"]);
    assert!(code(&o) <= 1, "{}", show(&o));
    let spent = sb.stats()["requests"].as_u64().unwrap() - requests;
    let after = outcomes(&d.join("r.csv"));
    let still = after.iter().filter(|(o, _)| o == "unknown").count();
    let recovered = unknown - still;
    eprintln!("reconcile --probe: {unknown} unknown, {recovered} recovered, {spent} requests");
    assert!(
        recovered * 100 >= unknown * 95,
        "recovered {recovered} of {unknown}\n{}",
        show(&o)
    );
    assert!(
        spent as f64 <= 1.5 * recovered as f64,
        "{spent} requests for {recovered}"
    );
    ids_are_the_servers(&sb, d);
    // The ledger learned them: the same file again sends nothing.
    let bulk = sb.bulk_requests();
    let o = sb.run(d, &["import", "cases.csv", "--results", "again.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(sb.bulk_requests(), bulk);
}

#[test]
fn reconcile_from_a_sheet_sends_nothing() {
    let sb = Sandbox::start(&["--faults", "commit-drop:0.1", "--seed", "11"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    lossy_import(&sb, d);
    let mut sheet = String::from("id,case_number,external_source,external_source_id\n");
    for c in sb.state()["cases"].as_array().unwrap() {
        sheet.push_str(&format!(
            "{},{},{},{}\n",
            c["id"],
            c["case_number"].as_str().unwrap(),
            c["external_source"].as_str().unwrap(),
            c["external_source_id"].as_str().unwrap()
        ));
    }
    std::fs::write(d.join("web-export.csv"), sheet).unwrap();
    let requests = sb.stats()["requests"].as_u64().unwrap();
    let o = sb.run(d, &["reconcile", "r.csv", "--from", "web-export.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(
        sb.stats()["requests"].as_u64().unwrap(),
        requests,
        "no request"
    );
    let after = outcomes(&d.join("r.csv"));
    assert!(
        after.iter().all(|(o, id)| o == "created" && !id.is_empty()),
        "{after:?}"
    );
    ids_are_the_servers(&sb, d);
}

#[test]
fn export_all_known_reads_every_id_once_and_resumes_under_a_budget() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cases.csv", (1..=12).map(|i| row(i, "active")));
    let o = sb.run(d, &["import", "cases.csv", "--results", "r1.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let o = sb.run(
        d,
        &[
            "export",
            "--all-known",
            "--budget",
            "5",
            "--out",
            "all.csv",
            "--yes",
        ],
    );
    assert_eq!(code(&o), 3, "{}", show(&o));
    assert_eq!(gets(&sb), 5);
    let o = sb.run(
        d,
        &[
            "export",
            "--all-known",
            "--resume",
            "--out",
            "all.csv",
            "--yes",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(gets(&sb), 12, "one GET per id, none twice");
    let rows = csv_rows(&d.join("all.csv"));
    assert_eq!(rows.len(), 13);
    let mut exported = results_column(&rows, "case_number");
    exported.sort();
    let want: Vec<String> = (1..=12).map(|i| format!("L-{i:04}")).collect();
    assert_eq!(exported, want);
}

/// Start the tool held at `KAYSE_BULK_PAUSE_AT=point` and return once it says so, with its
/// stderr so far and the rest to read.
#[allow(clippy::zombie_processes)]
fn paused(
    sb: &Sandbox,
    d: &Path,
    point: &str,
    args: &[&str],
) -> (Child, BufReader<ChildStderr>, String) {
    let mut child = sb
        .cmd(d)
        .env("KAYSE_BULK_PAUSE_AT", point)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let seen = read_until(&mut err, "paused at");
    (child, err, seen)
}

/// Read `err` line by line up to and including the first line that starts with `start`;
/// panics if the stream ends first.
fn read_until(err: &mut BufReader<ChildStderr>, start: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = err.read_line(&mut line).unwrap();
        assert!(n > 0, "ended before a line starting {start:?}: {seen}");
        seen.push_str(&line);
        if line.starts_with(start) {
            return seen;
        }
    }
}

/// The rest of a child's stderr and its exit code.
fn finish(mut child: Child, mut err: BufReader<ChildStderr>, mut seen: String) -> (i32, String) {
    err.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), seen)
}

/// Two imports of overlapping files started together, on a server that does not enforce unique
/// case numbers: the ledger, not the server, keeps each case number to one case. The first run
/// is held open at its last answer (a pause point, no timer); a second run refuses at once
/// naming it, and a second run with `--wait` waits, then syncs: the rows the first created are
/// `unchanged` or `updated` with the first's ids, never created again.
#[test]
fn two_overlapping_imports_at_once_create_every_case_number_once() {
    let sb = Sandbox::start(&["--allow-duplicate-case-numbers"]);
    assert_eq!(
        sb.http("GET", "/sandbox/config", None)["allow_duplicate_case_numbers"],
        true
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a.csv", (1..=20).map(|i| row(i, "active")));
    // b.csv overlaps a.csv on rows 11 to 20, five of them changed; 21 to 30 are its own.
    let b_status = |i: usize| if i <= 15 { "closed" } else { "active" };
    write(d, "b.csv", (11..=30).map(|i| row(i, b_status(i))));
    let a_args = [
        "import",
        "a.csv",
        "--batch-size",
        "10",
        "--concurrency",
        "1",
        "--results",
        "a.results.csv",
    ];
    let (a, a_err, a_seen) = paused(&sb, d, "answer-not-journaled:2", &a_args);
    assert_eq!(
        sb.bulk_requests(),
        2,
        "the first run has sent both its batches"
    );
    let holder = std::fs::read_to_string(d.join("kayse.ledger.sqlite.lock")).unwrap();
    let holder: Holder = serde_json::from_str(holder.trim()).unwrap();
    assert_eq!(holder.pid, a.id());

    // Without --wait: refused at once, naming the holder, nothing sent.
    let b_args = [
        "import",
        "b.csv",
        "--batch-size",
        "10",
        "--results",
        "b.results.csv",
    ];
    let o = sb.run(d, &b_args);
    assert_eq!(code(&o), 3, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let when = holder.started.format("%H:%M:%S").to_string();
    assert!(
        err.contains(&format!("pid {}, import started", a.id())) && err.contains(&when),
        "{err}"
    );
    assert!(err.contains("--wait"), "{err}");
    assert_eq!(sb.bulk_requests(), 2);

    // With --wait: it says whom it waits for, sends nothing meanwhile, and runs once the first ends.
    let mut b = sb
        .cmd(d)
        .args(b_args)
        .arg("--wait")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut b_err = BufReader::new(b.stderr.take().unwrap());
    let b_seen = read_until(&mut b_err, "waiting for the run that holds the ledger");
    assert!(b_seen.contains(&format!("pid {}", a.id())), "{b_seen}");
    assert_eq!(sb.bulk_requests(), 2, "the waiting run sent nothing");
    signal(a.id(), libc::SIGINT);
    let (a_code, a_seen) = finish(a, a_err, a_seen);
    assert_eq!(a_code, 130, "{a_seen}");
    let (b_code, b_seen) = finish(b, b_err, b_seen);
    assert_eq!(b_code, 0, "{b_seen}");

    let first = outcomes(&d.join("a.results.csv"));
    assert!(
        first.iter().all(|(o, id)| o == "created" && !id.is_empty()),
        "{first:?}"
    );
    let second = outcomes(&d.join("b.results.csv"));
    for (k, (o, id)) in second.iter().enumerate() {
        let i = k + 11;
        match i {
            11..=15 => assert_eq!((o.as_str(), id), ("updated", &first[i - 1].1), "row {i}"),
            16..=20 => assert_eq!((o.as_str(), id), ("unchanged", &first[i - 1].1), "row {i}"),
            _ => assert_eq!(o, "created", "row {i}"),
        }
    }
    let server = sb.cases();
    assert_eq!(server.len(), 30);
    assert!(
        server.values().all(|ids| ids.len() == 1),
        "every case number exists once: {server:?}"
    );
    ids_are_the_servers_in(&sb, &d.join("b.results.csv"));
    let id = first[11].1.parse::<u64>().unwrap();
    assert_eq!(sb.case(id)["status"], "closed", "row 12 updated in place");
}

/// The server holds each row's case once, under the row's id, in a results CSV.
fn ids_are_the_servers_in(sb: &Sandbox, results: &Path) {
    let server = sb.cases();
    let rows = csv_rows(results);
    let (n, id) = (col(&rows, "case_number"), col(&rows, "kayse_id"));
    for r in &rows[1..] {
        if !r[id].is_empty() {
            assert_eq!(server[&r[n]], vec![r[id].parse::<u64>().unwrap()], "{r:?}");
        }
    }
}

/// `reconcile --probe` on a server where other writers take ids between the tool's
/// (`--foreign-writes`): their cases sit in the gaps and match no row, so probing costs more
/// and may find less, but it never records a wrong id, in the results file or the ledger.
#[test]
fn reconcile_probe_with_foreign_writes_never_records_a_wrong_id() {
    use kayse_bulk::record::ledger::Ledger;
    for rate in ["0.1", "0.5"] {
        let sb = Sandbox::start(&[
            "--faults",
            "commit-drop:0.1",
            "--seed",
            "11",
            "--foreign-writes",
            rate,
        ]);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let before = lossy_import(&sb, d);
        let unknown = before.iter().filter(|(o, _)| o == "unknown").count();
        sb.config(serde_json::json!({"faults": ""}));
        let foreign: Vec<u64> = sb
            .cases()
            .iter()
            .filter(|(n, _)| n.starts_with("other-integration-"))
            .flat_map(|(_, ids)| ids.clone())
            .collect();
        assert!(!foreign.is_empty(), "rate {rate}: other writers took ids");
        let requests = sb.stats()["requests"].as_u64().unwrap();
        let o = sb.run(d, &["reconcile", "r.csv", "--probe"]);
        assert!(code(&o) <= 1, "rate {rate}: {}", show(&o));
        let spent = sb.stats()["requests"].as_u64().unwrap() - requests;
        let after = outcomes(&d.join("r.csv"));
        let still = after.iter().filter(|(o, _)| o == "unknown").count();
        let recovered = unknown - still;
        eprintln!(
            "foreign writes {rate}: {unknown} unknown, {recovered} recovered ({:.1}%), {spent} requests",
            100.0 * recovered as f64 / unknown as f64
        );
        assert!(recovered > 0, "rate {rate}: {}", show(&o));
        // 0 wrong ids: every id found is the server's for its case number, none is another
        // writer's, and the ledger learned no other writer's case.
        ids_are_the_servers(&sb, d);
        let ledger = Ledger::open(&d.join("kayse.ledger.sqlite")).unwrap();
        for id in &foreign {
            assert!(
                after.iter().all(|(_, got)| got != &id.to_string()),
                "rate {rate}: foreign id {id} in the results"
            );
            assert!(
                ledger.get("cases", *id).unwrap().is_none(),
                "rate {rate}: foreign id {id} in the ledger"
            );
        }
    }
}

/// A crash mid-import, then `--resume`: the ledger ends holding every id the journal holds.
/// The crash points: with an answer journaled but not yet in the ledger, and with an answer in
/// hand but not yet journaled (its rows are in doubt until `reconcile`). One request at a time,
/// so the crash leaves nothing else in flight.
#[test]
fn a_crash_mid_import_then_resume_leaves_every_id_in_the_ledger() {
    for point in ["journaled-not-recorded:3", "answer-not-journaled:3"] {
        let sb = Sandbox::start(&[]);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "cases.csv", (1..=60).map(|i| row(i, "active")));
        let args = [
            "import",
            "cases.csv",
            "--batch-size",
            "10",
            "--concurrency",
            "1",
            "--results",
            "r.csv",
        ];
        let o = sb
            .cmd(d)
            .env("KAYSE_BULK_CRASH_AT", point)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), None, "{point}: killed: {}", show(&o));
        assert_eq!(sb.bulk_requests(), 3, "{point}");
        let stats = sb.run(d, &["ledger", "stats"]);
        assert!(
            String::from_utf8_lossy(&stats.stdout).contains("cases: 20 live"),
            "{point}: the crash left the ledger two batches: {}",
            show(&stats)
        );
        let mut again = args.to_vec();
        again.push("--resume");
        let o = sb.run(d, &again);
        assert!(code(&o) <= 1, "{point}: {}", show(&o));
        let server = sb.cases();
        assert_eq!(server.len(), 60, "{point}");
        assert!(server.values().all(|ids| ids.len() == 1), "{point}");
        let results = outcomes(&d.join("r.csv"));
        let with_id = results.iter().filter(|(_, id)| !id.is_empty()).count();
        let unknown = results.iter().filter(|(o, _)| o == "unknown").count();
        assert_eq!(with_id + unknown, 60, "{point}: {results:?}");
        let in_ledger = |d: &Path| -> Vec<(String, String)> {
            let o = sb.run(d, &["ledger", "show", "--out", "map.csv"]);
            assert_eq!(code(&o), 0, "{point}: {}", show(&o));
            let map = csv_rows(&d.join("map.csv"));
            let (n, id) = (col(&map, "case_number"), col(&map, "kayse_id"));
            map[1..]
                .iter()
                .map(|r| (r[n].clone(), r[id].clone()))
                .collect()
        };
        let live = format!("cases: {with_id} live");
        let doubt = format!("{unknown} creates in doubt");
        let stats = sb.run(d, &["ledger", "stats"]);
        let text = String::from_utf8_lossy(&stats.stdout);
        assert!(
            text.contains(&live) && text.contains(&doubt),
            "{point}: {text}"
        );
        let map = in_ledger(d);
        assert_eq!(map.len(), with_id, "{point}");
        for (n, id) in &map {
            assert_eq!(server[n], vec![id.parse::<u64>().unwrap()], "{point}: {n}");
        }
        if unknown > 0 {
            // The rows in doubt: reconcile finds them, and then the ledger holds the server's
            // every case.
            let o = sb.run(d, &["reconcile", "r.csv", "--probe"]);
            assert_eq!(code(&o), 0, "{point}: {}", show(&o));
            let map = in_ledger(d);
            assert_eq!(map.len(), 60, "{point}: {}", show(&o));
            for (n, id) in &map {
                assert_eq!(server[n], vec![id.parse::<u64>().unwrap()], "{point}: {n}");
            }
        }
        let stats = sb.run(d, &["ledger", "stats"]);
        let text = String::from_utf8_lossy(&stats.stdout);
        assert!(
            text.contains("cases: 60 live") && text.contains(" 0 creates in doubt"),
            "{point}: {text}"
        );
    }
}
