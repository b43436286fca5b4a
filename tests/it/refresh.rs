//! The reporting export built on the ledger (`export --all-known --refresh-budget N`), as a
//! nightly job runs it: each run reads again the N stalest known cases and no more (counted by
//! the sandbox), the report holds every known case with `last_seen`, a change made in Kayse shows
//! after the run that read that case, a case gone is marked and left out, a stopped refresh
//! resumes within its N, and the ledger's run lock is honoured (exit 3 at once, or `--wait`).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use kayse_bulk::record::ledger::{Ledger, Status};
use kayse_bulk::record::lock::{Holder, RunLock};
use serde_json::{Value, json};

use crate::support::{KEY, Sandbox, code, col, csv_rows, show};

/// A window no test run comes near: these tests count requests, not pacing.
const WIDE: &str = "1000000/h";

fn sandbox() -> Sandbox {
    Sandbox::start(&["--rate-limit", WIDE])
}

/// Import `n` cases in batches of 100; their ids, in row order.
fn known_cases(sb: &Sandbox, d: &Path, n: usize) -> Vec<u64> {
    let mut s = String::from("case_number,external_source,external_source_id,status,type\n");
    for i in 1..=n {
        s.push_str(&format!("R-{i:05},other,r-{i},active,civil\n"));
    }
    std::fs::write(d.join("cases.csv"), s).unwrap();
    let o = sb.run(
        d,
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "100",
            "--rate-limit",
            WIDE,
            "--results",
            "cases.results.csv",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let rows = csv_rows(&d.join("cases.results.csv"));
    let c = col(&rows, "kayse_id");
    rows[1..].iter().map(|r| r[c].parse().unwrap()).collect()
}

/// One nightly run: `export --all-known --refresh-budget N` and the options given.
fn nightly(sb: &Sandbox, d: &Path, budget: u64, more: &[&str]) -> std::process::Output {
    let budget = budget.to_string();
    let mut args = vec![
        "export",
        "--all-known",
        "--refresh-budget",
        &budget,
        "--rate-limit",
        WIDE,
        "--out",
        "nightly.csv",
    ];
    args.extend_from_slice(more);
    sb.run(d, &args)
}

/// Every request the sandbox answered, by its own count.
fn requests(sb: &Sandbox) -> u64 {
    sb.stats()["requests"].as_u64().unwrap()
}

fn gets(sb: &Sandbox) -> u64 {
    sb.route_count("GET /v1/cases/{id}")
}

/// The ids the ledger has read from Kayse.
fn seen(d: &Path) -> BTreeSet<u64> {
    let l = Ledger::open(&d.join("kayse.ledger.sqlite")).unwrap();
    let mut ids = BTreeSet::new();
    l.for_each("cases", |k| {
        if k.seen_at.is_some() {
            ids.insert(k.id);
        }
        Ok::<(), kayse_bulk::record::ledger::LedgerError>(())
    })
    .unwrap();
    ids
}

/// The report: id → (status, last_seen).
fn report(path: &Path) -> std::collections::BTreeMap<u64, (String, String)> {
    let rows = csv_rows(path);
    let (id, status, last) = (
        col(&rows, "id"),
        col(&rows, "status"),
        col(&rows, "last_seen"),
    );
    rows[1..]
        .iter()
        .map(|r| (r[id].parse().unwrap(), (r[status].clone(), r[last].clone())))
        .collect()
}

/// A call to the sandbox's public API with the key, as another Kayse user's edit would be.
fn api(sb: &Sandbox, method: &str, path: &str, body: Option<Value>) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        let url = format!("{}{path}", sb.url);
        let req = match method {
            "PUT" => c.put(url).json(&body.unwrap_or(json!({}))),
            "DELETE" => c.delete(url),
            _ => c.get(url),
        };
        req.header("X-API-KEY", KEY)
            .send()
            .await
            .expect("API request")
            .status()
            .as_u16()
    })
}

/// Change one field of a case in Kayse (a full PUT, as the API wants).
fn edit(sb: &Sandbox, id: u64, field: &str, value: &str) {
    let mut case = sb.case(id);
    for k in [
        "id",
        "origin",
        "update_origin",
        "call_opted_out",
        "sms_opted_out",
        "email_opted_out",
    ] {
        case.as_object_mut().unwrap().remove(k);
    }
    case[field] = json!(value);
    assert_eq!(api(sb, "PUT", &format!("/v1/cases/{id}"), Some(case)), 200);
}

#[test]
fn nightly_runs_refresh_the_stalest_within_budget_and_cover_every_case() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ids = known_cases(&sb, d, 2000);
    assert_eq!(ids.len(), 2000);
    let mut sorted = ids.clone();
    sorted.sort();
    // Refreshed by run 8 (the 8th block of 100 never-read cases, in id order).
    let watched = sorted[750];
    let mut before: BTreeSet<u64> = BTreeSet::new();
    for run in 1..=20usize {
        if run == 5 {
            edit(&sb, watched, "status", "closed");
        }
        let (r0, g0) = (requests(&sb), gets(&sb));
        let o = nightly(&sb, d, 100, &["--json", "-q"]);
        assert_eq!(code(&o), 0, "run {run}: {}", show(&o));
        assert_eq!(requests(&sb) - r0, 100, "run {run}: at most 100 requests");
        assert_eq!(gets(&sb) - g0, 100, "run {run}");
        // The stalest 100: never read first, ties by id.
        let now = seen(d);
        let read: BTreeSet<u64> = now.difference(&before).copied().collect();
        let want: BTreeSet<u64> = sorted[(run - 1) * 100..run * 100].iter().copied().collect();
        assert_eq!(read, want, "run {run}");
        before = now;
        let rep = report(&d.join("nightly.csv"));
        assert_eq!(rep.len(), 2000, "run {run}: every known case");
        let dated = rep.values().filter(|(_, at)| !at.is_empty()).count();
        assert_eq!(dated, run * 100, "run {run}: last_seen");
        let status = &rep[&watched].0;
        if run < 8 {
            assert_eq!(status, "active", "run {run}: not read since the edit");
        } else {
            assert_eq!(status, "closed", "run {run}: read after the edit");
        }
        if run == 1 {
            let v: Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(v["counts"]["refreshed"], 100, "{v}");
            assert_eq!(v["counts"]["exported"], 2000, "{v}");
            assert_eq!(v["requests"]["requests"], 100, "{v}");
            assert!(v["requests"]["remaining"].is_u64(), "{v}");
            assert_eq!(v["exit_code"], 0, "{v}");
            let plan = v["plan"].as_str().unwrap();
            assert!(
                plan.starts_with("2,000 known cases, 100 a run: all refreshed within 20 runs"),
                "{plan}"
            );
        }
    }
    assert_eq!(
        seen(d).len(),
        2000,
        "after 20 runs every case has been read"
    );
    // The 21st run starts again with the first block: the oldest read.
    let g0 = gets(&sb);
    let o = nightly(&sb, d, 100, &["-q"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(gets(&sb) - g0, 100);
    let l = Ledger::open(&d.join("kayse.ledger.sqlite")).unwrap();
    let oldest: BTreeSet<u64> = l
        .stalest("cases", 100)
        .unwrap()
        .iter()
        .map(|k| k.id)
        .collect();
    let second: BTreeSet<u64> = sorted[100..200].iter().copied().collect();
    assert_eq!(
        oldest, second,
        "the first block was read again, and is now the freshest"
    );
}

#[test]
fn a_budget_of_0_writes_the_report_from_the_ledger_with_no_request() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ids = known_cases(&sb, d, 30);
    let r0 = requests(&sb);
    let o = nightly(&sb, d, 0, &["--dry-run"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("30 known cases, --refresh-budget 0"), "{err}");
    assert!(!d.join("nightly.csv").exists(), "a dry run writes nothing");
    let o = nightly(&sb, d, 0, &[]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(requests(&sb), r0, "no request at all");
    let rep = report(&d.join("nightly.csv"));
    assert_eq!(
        rep.keys().copied().collect::<BTreeSet<_>>(),
        ids.into_iter().collect()
    );
    assert!(rep.values().all(|(s, at)| s == "active" && at.is_empty()));
}

#[test]
fn a_case_gone_from_kayse_is_marked_gone_and_left_out() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ids = known_cases(&sb, d, 5);
    assert_eq!(
        api(&sb, "DELETE", &format!("/v1/cases/{}", ids[2]), None),
        200
    );
    let o = nightly(&sb, d, 5, &["--json", "-q"]);
    assert_eq!(
        code(&o),
        0,
        "a case deleted in Kayse is news, not a failure: {}",
        show(&o)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["counts"]["gone"], 1, "{v}");
    assert_eq!(v["counts"]["refreshed"], 4, "{v}");
    assert_eq!(v["counts"]["exported"], 4, "{v}");
    let rep = report(&d.join("nightly.csv"));
    assert!(!rep.contains_key(&ids[2]) && rep.len() == 4, "{rep:?}");
    let errors = std::fs::read_to_string(d.join("nightly.csv.errors.csv")).unwrap();
    assert!(
        errors.contains(&ids[2].to_string()) && errors.contains("marked gone"),
        "{errors}"
    );
    let l = Ledger::open(&d.join("kayse.ledger.sqlite")).unwrap();
    assert_eq!(
        l.get("cases", ids[2]).unwrap().unwrap().status,
        Status::Gone
    );
    // Gone cases are not chosen again: the next run reads the 4 live ones only.
    drop(l);
    let g0 = gets(&sb);
    let o = nightly(&sb, d, 5, &["-q"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(gets(&sb) - g0, 4);
    assert!(!d.join("nightly.csv.errors.csv").exists());
}

#[test]
fn a_stopped_refresh_resumes_within_its_budget() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut ids = known_cases(&sb, d, 50);
    ids.sort();
    let g0 = gets(&sb);
    let o = nightly(&sb, d, 20, &["--budget", "8", "--yes"]);
    assert_eq!(code(&o), 3, "{}", show(&o));
    assert_eq!(gets(&sb) - g0, 8);
    assert!(!d.join("nightly.csv").exists(), "--out is left as it was");
    assert_eq!(report(&d.join("nightly.partial.csv")).len(), 50);
    let o = nightly(&sb, d, 20, &["--resume"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(gets(&sb) - g0, 20, "20 in all, none read twice");
    let want: BTreeSet<u64> = ids[..20].iter().copied().collect();
    assert_eq!(seen(d), want);
    assert!(!d.join("nightly.partial.csv").exists());
    assert!(!d.join("nightly.csv.journal").exists());
    let rep = report(&d.join("nightly.csv"));
    assert_eq!(rep.values().filter(|(_, at)| !at.is_empty()).count(), 20);
    // Another budget does not resume this run's journal.
    let o = nightly(&sb, d, 20, &["--budget", "3", "--yes"]);
    assert_eq!(code(&o), 3, "{}", show(&o));
    let o = nightly(&sb, d, 10, &["--resume"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--refresh-budget"),
        "{}",
        show(&o)
    );
}

fn holder() -> Holder {
    Holder {
        pid: 4242,
        started: chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05+00:00").unwrap(),
        command: "import".into(),
    }
}

fn lock_path(d: &Path) -> PathBuf {
    d.join("kayse.ledger.sqlite.lock")
}

#[test]
fn an_overlapping_refresh_stops_at_once_naming_the_run_that_holds_the_ledger() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    known_cases(&sb, d, 5);
    let lock = RunLock::try_acquire(&lock_path(d), &holder()).unwrap();
    let r0 = requests(&sb);
    let o = nightly(&sb, d, 5, &["--json"]);
    assert_eq!(code(&o), 3, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("pid 4242") && err.contains("--wait"), "{err}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["exit_code"], 3, "{v}");
    assert_eq!(v["stop_reason"], "another_run", "{v}");
    assert!(
        v["next"].as_str().unwrap().contains("--refresh-budget 5"),
        "{v}"
    );
    assert_eq!(requests(&sb), r0, "nothing read");
    assert!(!d.join("nightly.csv").exists());
    drop(lock);
    let o = nightly(&sb, d, 5, &[]);
    assert_eq!(code(&o), 0, "{}", show(&o));
}

#[test]
fn with_wait_an_overlapping_refresh_starts_when_the_ledger_is_free() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    known_cases(&sb, d, 5);
    let lock = RunLock::try_acquire(&lock_path(d), &holder()).unwrap();
    let g0 = gets(&sb);
    let mut child = sb
        .cmd(d)
        .args([
            "export",
            "--all-known",
            "--refresh-budget",
            "5",
            "--rate-limit",
            WIDE,
            "--out",
            "nightly.csv",
            "--wait",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // No clock: the run says it waits, and has read nothing, for as long as the lock is held.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "ended without waiting"
        );
        if line.contains("waiting for the run that holds the ledger") {
            break;
        }
    }
    assert!(line.contains("pid 4242"), "{line}");
    assert_eq!(gets(&sb), g0, "nothing read while it waits");
    drop(lock);
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert_eq!(gets(&sb) - g0, 5);
    assert_eq!(report(&d.join("nightly.csv")).len(), 5);
}

/// The nightly report is a report people read: the export's Summary sheet, its refresh coverage
/// counted from each case's `last_seen`, and with `--changes-from` last night's report (here
/// `--out` itself) a Changes sheet of what the night's refresh found changed or gone.
#[test]
fn the_nightly_report_has_a_summary_from_last_seen_and_the_changes_since_last_night() {
    let sb = sandbox();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ids = known_cases(&sb, d, 10);
    let night = |more: &[&str]| {
        let mut args = vec![
            "export",
            "--all-known",
            "--refresh-budget",
            "4",
            "--rate-limit",
            WIDE,
            "--out",
            "r.xlsx",
        ];
        args.extend_from_slice(more);
        let o = sb.run(d, &args);
        assert_eq!(code(&o), 0, "{}", show(&o));
        o
    };
    night(&[]);
    let out = d.join("r.xlsx");
    let summary = crate::support::sheet(&out, Some("Summary"));
    assert!(
        summary[0][0].starts_with("10 known cases, reported "),
        "{:?}",
        summary[0]
    );
    let count = |rows: &[Vec<String>], label: &str| -> String {
        rows.iter()
            .find(|r| r.first().is_some_and(|c| c == label))
            .map(|r| r[1].clone())
            .unwrap_or_else(|| panic!("no {label} row in {rows:?}"))
    };
    // The first night read the 4 stalest (all never read): 4 seen, 6 never.
    assert_eq!(count(&summary, "Seen in the last 7 days"), "4");
    assert_eq!(count(&summary, "Never seen"), "6");

    // During the day: one case of tonight's four is edited in Kayse, another is deleted.
    edit(&sb, ids[5], "description", "settled");
    assert_eq!(
        api(&sb, "DELETE", &format!("/v1/cases/{}", ids[6]), None),
        200
    );
    let o = night(&["--changes-from", "r.xlsx"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("0 new, 1 changed, 1 gone since r.xlsx"),
        "{err}"
    );
    let summary = crate::support::sheet(&out, Some("Summary"));
    assert_eq!(count(&summary, "Seen in the last 7 days"), "7");
    assert_eq!(count(&summary, "Never seen"), "2");
    let changes = crate::support::sheet(&out, Some("Changes"));
    let lines: Vec<[String; 4]> = changes[1..]
        .iter()
        .map(|r| {
            let c = |i: usize| r.get(i).cloned().unwrap_or_default();
            [c(0), c(2), c(3), c(5)]
        })
        .collect();
    assert_eq!(
        lines,
        [
            [
                ids[5].to_string(),
                "changed".into(),
                "description".into(),
                "settled".into()
            ],
            [
                ids[6].to_string(),
                "gone (404)".into(),
                String::new(),
                String::new()
            ],
        ],
        "{changes:?}"
    );
}
