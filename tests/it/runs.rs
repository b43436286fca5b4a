//! Runs that follow one another or overlap, as a scheduler and a user chain them (issues 15 and
//! 16): one run per results file, signals handled like Ctrl-C, the journal knowing its server and
//! key, `--json` on every exit. The real binary against the sandbox binary; the moments that
//! matter are held with the engine's pause points, never with timers.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::Value;

use crate::support::*;

const HEADER: &str = "case_number,external_source,external_source_id,status,type,name";

/// A CSV of `n` new cases, named `name` in `dir`.
fn cases_csv(dir: &Path, name: &str, n: usize) {
    let mut s = format!("{HEADER}\n");
    for i in 1..=n {
        s.push_str(&format!("R-{i:04},other,run-{i},active,civil,Case {i}\n"));
    }
    std::fs::write(dir.join(name), s).unwrap();
}

/// Start the tool held at a pause point; returns once it says it is paused there, with what it
/// printed so far and the rest of its stderr to read. The caller waits for the child
/// (`stop_with`), which the lint cannot see through the return.
#[allow(clippy::zombie_processes)]
fn paused(
    sb: &Sandbox,
    dir: &Path,
    point: &str,
    args: &[&str],
) -> (Child, BufReader<std::process::ChildStderr>, String) {
    let mut child = sb
        .cmd(dir)
        .env("KAYSE_BULK_PAUSE_AT", point)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            let status = child.wait().unwrap();
            panic!("the run ended ({status}) without pausing: {seen}");
        }
        seen.push_str(&line);
        if line.starts_with("paused at") {
            return (child, err, seen);
        }
    }
}

/// Signal a held run and wait for it: its exit code, stderr and stdout.
fn stop_with(
    mut child: Child,
    mut err: BufReader<std::process::ChildStderr>,
    mut seen: String,
    sig: i32,
) -> (Option<i32>, String, String) {
    signal(child.id(), sig);
    err.read_to_string(&mut seen).unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code(), seen, out)
}

fn kayse_ids(path: &Path) -> Vec<String> {
    results_column(&sheet(path, None), "kayse_id")
}

/// A cron overlap: a second import of the same file onto the same results, while the first is
/// sending, is refused at once (exit 3, naming the first), sends nothing, and leaves the first
/// run's journal alone; the first then finishes on `--resume` with every row created once.
#[test]
fn a_second_run_on_the_same_results_file_is_refused_at_once() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    cases_csv(dir.path(), "cases.csv", 30);
    let (first, err, seen) = paused(
        &sb,
        dir.path(),
        "answer-not-journaled:1",
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "5",
            "--concurrency",
            "1",
        ],
    );
    let requests_before = sb.bulk_requests();
    let o = sb.run(dir.path(), &["import", "cases.csv", "--json"]);
    assert_eq!(code(&o), 3, "{}", show(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("another kayse-bulk run holds")
            && stderr.contains(&format!("pid {}, import started", first.id())),
        "{stderr}"
    );
    let json: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", show(&o)));
    assert_eq!(json["stop_reason"], "another_run", "{json}");
    assert_eq!(json["exit_code"], 3, "{json}");
    assert_eq!(
        json["next"], "kayse-bulk import cases.csv --json",
        "run again later: {json}"
    );
    assert_eq!(
        sb.bulk_requests(),
        requests_before,
        "the second run sent nothing"
    );
    let (status, seen, _) = stop_with(first, err, seen, libc::SIGINT);
    assert_eq!(status, Some(130), "{seen}");
    let o = sb.run(dir.path(), &["import", "cases.csv", "--resume"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let ids = kayse_ids(&dir.path().join("cases.results.xlsx"));
    assert_eq!(ids.len(), 30);
    assert!(ids.iter().all(|id| !id.is_empty()), "{ids:?}");
    let cases = sb.cases();
    assert_eq!(cases.len(), 30);
    assert!(
        cases.values().all(|ids| ids.len() == 1),
        "each row created once: {cases:?}"
    );
}

/// `timeout`, systemd and `docker stop` send SIGTERM: the run finishes the requests in flight,
/// writes its results and its `--json` object, exits 130, and `--resume` completes it.
#[test]
fn sigterm_is_ctrl_c_and_resume_finishes() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    cases_csv(dir.path(), "cases.csv", 30);
    let (child, err, seen) = paused(
        &sb,
        dir.path(),
        "answer-not-journaled:2",
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "5",
            "--concurrency",
            "1",
            "--json",
        ],
    );
    let (status, seen, out) = stop_with(child, err, seen, libc::SIGTERM);
    assert_eq!(status, Some(130), "{seen}");
    assert!(seen.contains("stopping (SIGTERM)"), "{seen}");
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(json["stop_reason"], "interrupted", "{json}");
    assert_eq!(json["exit_code"], 130);
    assert_eq!(json["counts"]["unknown"], 0, "{json}");
    let next = json["next"].as_str().unwrap();
    assert!(
        next.starts_with("kayse-bulk import cases.csv") && next.ends_with(" --resume"),
        "{next}"
    );
    let results = dir.path().join("cases.results.xlsx");
    let outcomes = results_column(&sheet(&results, None), "kayse_result");
    let created = outcomes.iter().filter(|o| *o == "created").count();
    assert_eq!(created, sb.cases().len(), "{outcomes:?}");
    assert!(
        (10..30).contains(&created),
        "the requests in flight finished: {outcomes:?}"
    );
    assert!(!outcomes.iter().any(|o| o == "unknown"), "{outcomes:?}");
    let o = sb.run(dir.path(), &["import", "cases.csv", "--resume", "--json"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["stop_reason"], Value::Null);
    assert_eq!(json["next"], Value::Null, "nothing is left: {json}");
    assert_eq!(sb.cases().len(), 30);
    assert!(kayse_ids(&results).iter().all(|id| !id.is_empty()));
}

/// The journal knows its server and key: a run on the embedded sandbox, stopped by its budget,
/// is not resumed against another server nor with another key (each refused with the reason,
/// nothing sent); resumed where it began, it finishes, and the Summary names the sandbox.
#[test]
fn a_resume_against_another_server_or_key_is_refused() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    cases_csv(dir.path(), "cases.csv", 12);
    let base = ["import", "cases.csv", "--batch-size", "4"];
    let o = sb.run(
        dir.path(),
        &[&base[..], &["--sandbox", "--budget", "1"]].concat(),
    );
    assert_eq!(code(&o), 3, "{}", show(&o));
    let o = sb.run(dir.path(), &[&base[..], &["--resume"]].concat());
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("records a run against embedded sandbox")
            && err.contains("resume with --sandbox"),
        "{err}"
    );
    assert_eq!(
        sb.bulk_requests(),
        0,
        "nothing was sent to the other server"
    );
    // The same server, another key: an outside sandbox, first with its key, then another.
    let dir2 = tempfile::tempdir().unwrap();
    cases_csv(dir2.path(), "cases.csv", 12);
    let o = sb.run(dir2.path(), &[&base[..], &["--budget", "1"]].concat());
    assert_eq!(code(&o), 3, "{}", show(&o));
    let before = sb.bulk_requests();
    let o = sb
        .cmd(dir2.path())
        .env("KAYSE_API_KEY", "another-key")
        .args([&base[..], &["--resume"]].concat())
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("records a run with another API key"), "{err}");
    assert!(!err.contains("another-key") && !err.contains(KEY), "{err}");
    assert_eq!(sb.bulk_requests(), before);
    let journal = std::fs::read_to_string(dir2.path().join("cases.results.xlsx.journal")).unwrap();
    assert!(!journal.contains(KEY), "{journal}");
    // Where it began, it finishes; the Summary sheet says which server that was.
    let o = sb.run(
        dir.path(),
        &[&base[..], &["--sandbox", "--resume"]].concat(),
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let summary = sheet(&dir.path().join("cases.results.xlsx"), Some("Summary"));
    let server = summary
        .iter()
        .find(|r| r.first().is_some_and(|k| k == "server"))
        .unwrap_or_else(|| panic!("{summary:?}"));
    assert_eq!(
        server[1],
        "embedded sandbox (kayse-sandbox.json), not Kayse"
    );
    let o = sb.run(dir2.path(), &[&base[..], &["--resume"]].concat());
    assert_eq!(code(&o), 0, "{}", show(&o));
    let summary = sheet(&dir2.path().join("cases.results.xlsx"), Some("Summary"));
    let server = summary.iter().find(|r| r[0] == "server").unwrap();
    assert!(
        server[1].ends_with("(a sandbox on this machine, not Kayse)")
            && server[1].starts_with("http://127.0.0.1"),
        "{server:?}"
    );
}

/// `validate` after `import` writes its own file; pointed at the import's results, it refuses to
/// replace the record of the ids (naming a --results that works), and so does a dry run.
#[test]
fn validate_never_replaces_the_results_that_hold_the_ids() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    cases_csv(dir.path(), "cases.csv", 5);
    let o = sb.run(dir.path(), &["import", "cases.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let results = dir.path().join("cases.results.xlsx");
    let ids = kayse_ids(&results);
    assert!(ids.iter().all(|id| !id.is_empty()), "{ids:?}");
    let o = sb.run(dir.path(), &["validate", "cases.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let validation = results_column(
        &sheet(&dir.path().join("cases.validation.xlsx"), None),
        "kayse_result",
    );
    assert_eq!(validation, vec!["valid"; 5]);
    for args in [
        &["validate", "cases.csv", "--results", "cases.results.xlsx"][..],
        &["import", "cases.csv", "--dry-run"][..],
    ] {
        let o = sb.run(dir.path(), args);
        assert_eq!(code(&o), 2, "{args:?}: {}", show(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("not replacing cases.results.xlsx")
                && err.contains("--results cases.validation.xlsx"),
            "{args:?}: {err}"
        );
        assert_eq!(
            kayse_ids(&results),
            ids,
            "{args:?}: the ids are still there"
        );
    }
    // The way out the refusal names works.
    let o = sb.run(
        dir.path(),
        &[
            "import",
            "cases.csv",
            "--dry-run",
            "--results",
            "cases.validation.xlsx",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    // Without its journal, the file is still the record of the ids: a fresh import into it is
    // refused before any request.
    std::fs::rename(
        dir.path().join("cases.results.xlsx.journal"),
        dir.path().join("moved.journal"),
    )
    .unwrap();
    let before = sb.bulk_requests();
    let o = sb.run(dir.path(), &["import", "cases.csv"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("records 5 rows done in Kayse"),
        "{}",
        show(&o)
    );
    assert_eq!(sb.bulk_requests(), before);
    assert_eq!(kayse_ids(&results), ids);
    // Nor does a validation replace it: the ids are counted from the workbook's cells.
    let o = sb.run(
        dir.path(),
        &["validate", "cases.csv", "--results", "cases.results.xlsx"],
    );
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("records 5 rows done in Kayse"),
        "{}",
        show(&o)
    );
    assert_eq!(kayse_ids(&results), ids);
    // The refused validation's own workbook, finished before it was refused, is gone too.
    let partial: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(partial.is_empty(), "{partial:?}");
}

/// `--json` prints one object on every exit, with a reason from the fixed set and the next
/// command: clap's usage errors, a bad profile, an empty input, a spent budget, a rejected key.
#[test]
fn json_on_every_exit() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    cases_csv(d, "cases.csv", 6);
    std::fs::write(d.join("empty.csv"), format!("{HEADER}\n")).unwrap();
    let json_of = |o: &std::process::Output| -> Value {
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(out.lines().count(), 1, "one object: {}", show(o));
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {}", show(o)))
    };
    // (args, environment, exit code, stop_reason, next ends with)
    type Case<'a> = (
        Vec<&'a str>,
        Vec<(&'a str, &'a str)>,
        i32,
        Option<&'a str>,
        Option<&'a str>,
    );
    let table: Vec<Case> = vec![
        (
            vec!["import", "cases.csv", "--json", "--batch-size", "0"],
            vec![],
            2,
            Some("usage"),
            None,
        ),
        (vec!["import", "--json"], vec![], 2, Some("usage"), None),
        (
            vec!["import", "empty.csv", "--json"],
            vec![],
            2,
            Some("usage"),
            None,
        ),
        (
            vec![
                "import",
                "cases.csv",
                "--json",
                "--batch-size",
                "2",
                "--budget",
                "1",
            ],
            vec![],
            3,
            Some("budget_spent"),
            Some("--budget 1 --resume"),
        ),
        (
            vec!["import", "cases.csv", "--json", "--results", "other.xlsx"],
            vec![("KAYSE_API_KEY", "revoked")],
            3,
            Some("key_rejected"),
            Some("--results other.xlsx --resume"),
        ),
        // An earlier run's journal: resumable, so exit 3 and next says --resume.
        (
            vec!["import", "cases.csv", "--json"],
            vec![],
            3,
            Some("another_run"),
            Some("import cases.csv --json --resume"),
        ),
        (
            vec!["import", "cases.csv", "--json", "--resume"],
            vec![],
            0,
            None,
            None,
        ),
    ];
    for (args, env, want_code, reason, next) in table {
        let o = sb.cmd(d).envs(env).args(&args).output().unwrap();
        assert_eq!(code(&o), want_code, "{args:?}: {}", show(&o));
        let v = json_of(&o);
        assert_eq!(v["exit_code"], want_code, "{args:?}: {v}");
        assert_eq!(v["stop_reason"].as_str(), reason, "{args:?}: {v}");
        for k in ["invalid", "failed", "unknown"] {
            assert!(v["counts"][k].is_u64(), "{args:?}: {k} in {v}");
        }
        match next {
            Some(n) => assert!(v["next"].as_str().unwrap().ends_with(n), "{args:?}: {v}"),
            None => assert!(v["next"].is_null(), "{args:?}: {v}"),
        }
    }
    // A profile that cannot be read is a usage error before any command starts.
    std::fs::write(d.join("kayse-bulk.toml"), "[defaults]\nbatchsize = 3\n").unwrap();
    let o = sb.run(d, &["import", "cases.csv", "--json"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let v = json_of(&o);
    assert_eq!(v["stop_reason"], "usage", "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("kayse-bulk.toml"),
        "{v}"
    );
}

/// A paralegal fixes one client_id in `text.results.csv` and feeds it back: only that row is
/// texted; the rows already sent are copied, never sent again, with or without --only-failed.
#[test]
fn a_results_file_fed_back_never_sends_a_sent_row_again() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![case(1)]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("text.csv"),
        format!(
            "case_id,client_id,message\n{c},5,Hello Ann\n{c},x,Hello Bob\n{c},6,Hello Cy\n",
            c = ids[0]
        ),
    )
    .unwrap();
    let o = sb.run(
        d,
        &["sms", "text.csv", "--yes", "--results", "text.results.csv"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert_eq!(sb.messages().len(), 2);
    // The fix, in the results file itself.
    let fixed = std::fs::read_to_string(d.join("text.results.csv"))
        .unwrap()
        .replace(
            &format!("{},x,Hello Bob", ids[0]),
            &format!("{},7,Hello Bob", ids[0]),
        );
    std::fs::write(d.join("text.results.csv"), fixed).unwrap();
    for (args, out, sent_now) in [
        (
            &["sms", "text.results.csv", "--yes", "--results", "again.csv"][..],
            "again.csv",
            3,
        ),
        (
            &[
                "sms",
                "again.csv",
                "--yes",
                "--only-failed",
                "--results",
                "third.csv",
            ][..],
            "third.csv",
            3,
        ),
    ] {
        let o = sb.run(d, args);
        assert_eq!(code(&o), 0, "{args:?}: {}", show(&o));
        assert_eq!(
            sb.messages().len(),
            sent_now,
            "{args:?}: one new message in all"
        );
        let res = csv_rows(&d.join(out));
        assert_eq!(
            results_column(&res, "kayse_result"),
            vec!["sent"; 3],
            "{args:?}"
        );
        let notes = results_column(&res, "kayse_errors");
        assert!(
            notes[0].contains("not sent again") && notes[2].contains("not sent again"),
            "{notes:?}"
        );
    }
    // Sent concurrently: the order on the server is not the sheet's.
    let mut to: Vec<u64> = sb
        .messages()
        .iter()
        .map(|m| m["client_id"].as_u64().unwrap())
        .collect();
    to.sort_unstable();
    assert_eq!(to, vec![5, 6, 7], "each client texted once");
}

/// A delete's results file fed back deletes only what did not go; --only-failed on an import's
/// results (every row `created`) deletes nothing.
#[test]
fn a_delete_results_file_fed_back_never_deletes_twice() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![case(1), case(2)]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("del.csv"),
        format!("kayse_id\n{}\n{}\n", ids[0], ids[1]),
    )
    .unwrap();
    let o = sb.run(
        d,
        &["delete", "del.csv", "--yes", "--results", "del.results.csv"],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let before = sb.route_count("POST /v1/cases/bulk_delete");
    let o = sb.run(
        d,
        &[
            "delete",
            "del.results.csv",
            "--yes",
            "--results",
            "again.csv",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(
        sb.route_count("POST /v1/cases/bulk_delete"),
        before,
        "nothing sent"
    );
    let res = csv_rows(&d.join("again.csv"));
    assert_eq!(results_column(&res, "kayse_result"), vec!["deleted"; 2]);
    // An import's results with --only-failed: no row failed, so nothing is deleted.
    cases_csv(d, "cases.csv", 2);
    let o = sb.run(d, &["import", "cases.csv", "--results", "imp.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let o = sb.run(
        d,
        &[
            "delete",
            "imp.csv",
            "--yes",
            "--only-failed",
            "--results",
            "d2.csv",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(sb.route_count("POST /v1/cases/bulk_delete"), before);
    assert_eq!(sb.cases().len(), 2, "the imported cases are still there");
}

/// A scheduled job writes into a folder that does not exist yet: it is created (before any
/// request for a sending run), for results, exports and validation alike. `--ids "A - C"`, as
/// people type a range, is one.
#[test]
fn missing_folders_are_made_and_spaced_ranges_read() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![case(1), case(2), case(3)]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(ids[2], ids[0] + 2, "the sandbox numbers cases in a row");
    let range = format!("{} - {}", ids[0], ids[2]);
    let o = sb.run(
        d,
        &["export", "--ids", &range, "--out", "reports/2026/cases.csv"],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(
        csv_rows(&d.join("reports/2026/cases.csv")).len(),
        4,
        "a header and 3 cases"
    );
    cases_csv(d, "cases.csv", 2);
    for (args, path) in [
        (
            &["validate", "cases.csv", "--results", "checks/v.xlsx"][..],
            "checks/v.xlsx",
        ),
        (
            &["import", "cases.csv", "--results", "runs/today/r.xlsx"][..],
            "runs/today/r.xlsx",
        ),
    ] {
        let o = sb.run(d, args);
        assert_eq!(code(&o), 0, "{args:?}: {}", show(&o));
        assert_eq!(
            results_column(&sheet(&d.join(path), None), "kayse_result").len(),
            2
        );
    }
}

/// Last week's good report survives an export stopped by a revoked key or by the budget: what
/// was fetched goes to `report.partial.xlsx`, said so, and `--resume` completes into the report.
#[test]
fn an_unfinished_export_never_replaces_the_report() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((1..=4).map(case).collect());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = format!("{}-{}", ids[0], ids[3]);
    let args = [
        "export",
        "--ids",
        &spec,
        "--out",
        "report.xlsx",
        "--concurrency",
        "1",
    ];
    let o = sb.run(d, &args);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let good = std::fs::read(d.join("report.xlsx")).unwrap();
    std::fs::remove_file(d.join("report.xlsx.journal")).ok();
    // A revoked key: nothing fetched, the report untouched.
    let o = sb
        .cmd(d)
        .env("KAYSE_API_KEY", "revoked")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(code(&o), 3, "{}", show(&o));
    assert_eq!(std::fs::read(d.join("report.xlsx")).unwrap(), good);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("report.partial.xlsx") && err.contains("report.xlsx is left as it was"),
        "{err}"
    );
    std::fs::remove_file(d.join("report.xlsx.journal")).unwrap();
    // The budget: half fetched, into the partial file; --resume completes the report.
    let o = sb.run(d, &[&args[..], &["--budget", "2"]].concat());
    assert_eq!(code(&o), 3, "{}", show(&o));
    assert_eq!(std::fs::read(d.join("report.xlsx")).unwrap(), good);
    let partial = sheet(&d.join("report.partial.xlsx"), Some("Cases"));
    assert_eq!(
        partial.len(),
        3,
        "a header and the 2 cases fetched: {partial:?}"
    );
    let o = sb.run(d, &[&args[..], &["--resume"]].concat());
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(sheet(&d.join("report.xlsx"), Some("Cases")).len(), 5);
    assert!(!d.join("report.partial.xlsx").exists());
}

/// Every hint names an option that exists: export's "pass --id-column" works on export.
#[test]
fn export_takes_the_id_column_its_hint_names() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![case(1), case(2)]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("list.csv"),
        format!("Matter,Kayse Case\nA,{}\nB,{}\n", ids[0], ids[1]),
    )
    .unwrap();
    let o = sb.run(d, &["export", "--ids-from", "list.csv", "--out", "x.csv"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("(or pass --id-column)"),
        "{}",
        show(&o)
    );
    let o = sb.run(
        d,
        &[
            "export",
            "--ids-from",
            "list.csv",
            "--id-column",
            "Kayse Case",
            "--out",
            "x.csv",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(csv_rows(&d.join("x.csv")).len(), 3);
}

/// sms reads a sheet whose columns are named otherwise: the refusal names the option, and the
/// option works (a `Case ID` column, or an import's `kayse_id`).
#[test]
fn sms_takes_the_id_columns_by_name() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![case(1)]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("t.csv"),
        format!("Case ID,Client,message\n{},5,Hi\n", ids[0]),
    )
    .unwrap();
    let o = sb.run(d, &["sms", "t.csv", "--yes"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "no 'case_id' column nor 'case_number' (name yours with --case-id-column NAME)"
        ),
        "{err}"
    );
    let o = sb.run(
        d,
        &[
            "sms",
            "t.csv",
            "--yes",
            "--case-id-column",
            "Case ID",
            "--client-id-column",
            "Client",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(sb.messages().len(), 1);
    assert_eq!(sb.messages()[0]["client_id"], 5);
}

/// `--resume` needs no repetition of the reading options: the journal recorded `--mapping`,
/// `--header-row` and `--delimiter`, and the resume reads the file the same way.
#[test]
fn resume_restores_the_reading_options() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = String::from(
        "Open matters;;;;;\nMatter Ref;external_source;external_source_id;status;type;name\n",
    );
    for i in 1..=6 {
        text.push_str(&format!("M-{i};other;m-{i};active;civil;Case {i}\n"));
    }
    std::fs::write(d.join("matters.csv"), text).unwrap();
    std::fs::write(
        d.join("map.toml"),
        "[columns]\n\"Matter Ref\" = \"case_number\"\n",
    )
    .unwrap();
    let first = [
        "import",
        "matters.csv",
        "--mapping",
        "map.toml",
        "--header-row",
        "2",
        "--delimiter",
        ";",
        "--batch-size",
        "2",
        "--budget",
        "1",
    ];
    let o = sb.run(d, &first);
    assert_eq!(code(&o), 3, "{}", show(&o));
    assert_eq!(sb.cases().len(), 2);
    let o = sb.run(d, &["import", "matters.csv", "--resume"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let cases = sb.cases();
    assert_eq!(cases.len(), 6, "{cases:?}");
    assert!(cases.contains_key("M-6"));
    let ids = kayse_ids(&d.join("matters.results.xlsx"));
    assert_eq!(ids.len(), 6);
    assert!(ids.iter().all(|id| !id.is_empty()), "{ids:?}");
}

/// A results file that cannot be replaced (open in Excel; here a folder in its place): the advice
/// is the resume, which the journal allows and which sends nothing twice.
#[test]
fn a_locked_results_file_is_written_again_by_the_resume_it_names() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    cases_csv(d, "cases.csv", 3);
    std::fs::create_dir_all(d.join("cases.results.xlsx/held")).unwrap();
    let o = sb.run(d, &["import", "cases.csv", "--json"]);
    assert_eq!(code(&o), 3, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("close it, then run kayse-bulk import cases.csv --json --resume"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["stop_reason"], "results_unwritable", "{v}");
    assert_eq!(
        v["next"], "kayse-bulk import cases.csv --json --resume",
        "{v}"
    );
    std::fs::remove_dir_all(d.join("cases.results.xlsx")).unwrap();
    let requests = sb.bulk_requests();
    let o = sb.run(d, &["import", "cases.csv", "--resume"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(sb.bulk_requests(), requests, "nothing sent twice");
    assert_eq!(kayse_ids(&d.join("cases.results.xlsx")).len(), 3);
    assert_eq!(sb.cases().len(), 3);
}

/// Rewrite one cell of a CSV results file, as a person would in Excel.
fn set_cell(path: &Path, row: usize, header: &str, value: &str) {
    let mut rows = csv_rows(path);
    let c = col(&rows, header);
    rows[row][c] = value.to_string();
    let mut w = csv::Writer::from_path(path).unwrap();
    for r in rows {
        w.write_record(&r).unwrap();
    }
    w.flush().unwrap();
}

/// A kayse_id typed into a results row is kept through the next run, and once the row is fixed
/// it updates that case instead of creating a second one.
#[test]
fn a_typed_kayse_id_is_never_blanked_and_points_the_row_at_its_case() {
    let sb = Sandbox::start(&[]);
    let known = sb.seed(vec![case(1)])[0];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("c.csv"),
        format!("{HEADER}\nR-1,other,run-1,active,civil,New\n,other,ext-1,active,civil,Known\n"),
    )
    .unwrap();
    let o = sb.run(d, &["import", "c.csv", "--results", "r1.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let r1 = d.join("r1.csv");
    assert_eq!(
        results_column(&csv_rows(&r1), "kayse_result"),
        vec!["created", "invalid"]
    );
    set_cell(&r1, 2, "kayse_id", &known.to_string());
    let o = sb.run(
        d,
        &["import", "r1.csv", "--only-failed", "--results", "r2.csv"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let r2 = d.join("r2.csv");
    let rows = csv_rows(&r2);
    assert_eq!(
        results_column(&rows, "kayse_result"),
        vec!["created", "invalid"]
    );
    assert_eq!(
        results_column(&rows, "kayse_id")[1],
        known.to_string(),
        "not blanked"
    );
    set_cell(&r2, 2, "case_number", "LC-0001");
    let o = sb.run(
        d,
        &["import", "r2.csv", "--only-failed", "--results", "r3.csv"],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let rows = csv_rows(&d.join("r3.csv"));
    assert_eq!(
        results_column(&rows, "kayse_result"),
        vec!["created", "updated"]
    );
    assert_eq!(results_column(&rows, "kayse_id")[1], known.to_string());
    assert_eq!(sb.cases().len(), 2, "no second copy of the known case");
    assert_eq!(sb.case(known)["name"], "Known");
}

/// `source_row` names the original sheet's row through any number of round trips.
#[test]
fn source_row_survives_round_trips() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("c.csv"),
        format!("{HEADER}\nR-1,other,run-1,active,civil,A\n\n\n,other,run-2,active,civil,B\nR-3,other,run-3,active,civil,C\n"),
    )
    .unwrap();
    let o = sb.run(d, &["import", "c.csv", "--results", "r1.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let mut input = "r1.csv".to_string();
    for n in 2..=3 {
        let out = format!("r{n}.csv");
        let o = sb.run(d, &["import", &input, "--only-failed", "--results", &out]);
        assert_eq!(code(&o), 1, "{}", show(&o));
        let rows = csv_rows(&d.join(&out));
        assert_eq!(
            results_column(&rows, "source_row"),
            vec!["2", "5", "6"],
            "{out}"
        );
        assert_eq!(
            results_column(&rows, "kayse_result"),
            vec!["created", "invalid", "created"]
        );
        input = out;
    }
    assert_eq!(sb.cases().len(), 2);
}

/// `delete --backup` fetches and writes a repeated id once, and deletes it once.
#[test]
fn delete_backup_counts_a_repeated_id_once() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![case(1), case(2)]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("del.csv"),
        format!("kayse_id\n{a}\n{b}\n{a}\n", a = ids[0], b = ids[1]),
    )
    .unwrap();
    let o = sb.run(
        d,
        &["delete", "del.csv", "--yes", "--backup", "backup.xlsx"],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("backup: 2 cases written"),
        "{}",
        show(&o)
    );
    assert_eq!(
        sheet(&d.join("backup.xlsx"), Some("Cases")).len(),
        3,
        "a header and 2 cases"
    );
    assert_eq!(sb.route_count("GET /v1/cases/{id}"), 2);
    assert!(sb.cases().is_empty());
}

/// `week1.xlsx` and `week1.csv` never share a default results file: the second one's results go
/// to `week1.csv.results.xlsx`, and stay there for its `--resume`.
#[test]
fn two_inputs_never_share_a_default_results_file() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(sample("cases.xlsx"), d.join("week1.xlsx")).unwrap();
    cases_csv(d, "week1.csv", 3);
    let o = sb.run(d, &["import", "week1.xlsx"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let xlsx_ids = kayse_ids(&d.join("week1.results.xlsx"));
    let o = sb.run(d, &["import", "week1.csv", "--budget", "0"]);
    assert_eq!(code(&o), 3, "{}", show(&o));
    assert!(d.join("week1.csv.results.xlsx.journal").exists());
    let o = sb.run(d, &["import", "week1.csv", "--resume"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(kayse_ids(&d.join("week1.csv.results.xlsx")).len(), 3);
    assert_eq!(
        kayse_ids(&d.join("week1.results.xlsx")),
        xlsx_ids,
        "untouched"
    );
}

/// A finished delete leaves nothing that blocks next week's delete of a list with the same name.
#[test]
fn a_finished_delete_does_not_block_the_next_one() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![case(1), case(2)]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for id in ids {
        std::fs::write(d.join("to-delete.csv"), format!("kayse_id\n{id}\n")).unwrap();
        let o = sb.run(d, &["delete", "to-delete.csv", "--yes"]);
        assert_eq!(code(&o), 0, "{}", show(&o));
        assert!(!d.join("to-delete.results.xlsx.journal").exists());
        let res = sheet(&d.join("to-delete.results.xlsx"), None);
        assert_eq!(results_column(&res, "kayse_id"), vec![id.to_string()]);
    }
    assert!(sb.cases().is_empty());
}

/// `export --resume` needs no repetition of `--ids` (nor `--ids-from`): the journal recorded the
/// list, the resume fetches only what is left, and a resume with nothing to resume says so.
#[test]
fn export_resume_restores_the_ids() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((1..=5).map(case).collect());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("list.csv"),
        format!("kayse_id\n{}\n{}\n{}\n", ids[4], ids[0], ids[1]),
    )
    .unwrap();
    let spec = format!("{},{}", ids[2], ids[3]);
    let first = [
        "export",
        "--ids-from",
        "list.csv",
        "--ids",
        &spec,
        "--out",
        "r.csv",
        "--concurrency",
        "1",
        "--budget",
        "2",
    ];
    let o = sb.run(d, &first);
    assert_eq!(code(&o), 3, "{}", show(&o));
    let gets = sb.route_count("GET /v1/cases/{id}");
    assert_eq!(gets, 2);
    std::fs::remove_file(d.join("list.csv")).unwrap();
    let o = sb.run(d, &["export", "--out", "r.csv", "--resume"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(
        sb.route_count("GET /v1/cases/{id}"),
        gets + 3,
        "only the rest"
    );
    let rows = csv_rows(&d.join("r.csv"));
    let got: Vec<String> = results_column(&rows, "id");
    let want: Vec<String> = [ids[2], ids[3], ids[4], ids[0], ids[1]]
        .iter()
        .map(u64::to_string)
        .collect();
    assert_eq!(got, want, "every id, in the first run's order");
    let o = sb.run(d, &["export", "--out", "other.csv", "--resume"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("nothing to resume: no journal at other.csv.journal"),
        "{}",
        show(&o)
    );
}

/// A second Ctrl-C quits at once, and a script still gets its `--json` object (exit 130,
/// `interrupted`, the resume as `next`); the resume then finishes with every row created once.
/// The run is held after the first signal (`:hold`), so the second one finds it still draining.
#[test]
fn a_second_signal_still_prints_the_json_object() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    cases_csv(dir.path(), "cases.csv", 20);
    let (child, mut err, mut seen) = paused(
        &sb,
        dir.path(),
        "answer-not-journaled:2:hold",
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "5",
            "--concurrency",
            "1",
            "--json",
        ],
    );
    signal(child.id(), libc::SIGINT);
    // Both lines, in either order: the handler's, and the held collector's.
    while !(seen.contains("stopping (Ctrl-C)") && seen.contains("held at")) {
        let mut line = String::new();
        assert!(err.read_line(&mut line).unwrap() > 0, "{seen}");
        seen.push_str(&line);
    }
    let (status, seen, out) = stop_with(child, err, seen, libc::SIGINT);
    assert_eq!(status, Some(130), "{seen}");
    assert!(
        seen.contains("stopped at once by a second signal"),
        "{seen}"
    );
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(json["stop_reason"], "interrupted", "{json}");
    assert_eq!(json["exit_code"], 130, "{json}");
    assert_eq!(json["command"], "import", "{json}");
    assert_eq!(
        json["next"], "kayse-bulk import cases.csv --batch-size 5 --concurrency 1 --json --resume",
        "{json}"
    );
    // The held answer never reached the journal: its rows are `unknown` (an id is never
    // guessed), and with them any batch sent before the first signal stopped the worker.
    let o = sb.run(
        dir.path(),
        &["import", "cases.csv", "--batch-size", "5", "--resume"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let cases = sb.cases();
    assert_eq!(cases.len(), 20);
    assert!(cases.values().all(|ids| ids.len() == 1), "{cases:?}");
    let res = sheet(&dir.path().join("cases.results.xlsx"), None);
    let outcomes = results_column(&res, "kayse_result");
    let unknown = outcomes.iter().filter(|o| *o == "unknown").count();
    let created = outcomes.iter().filter(|o| *o == "created").count();
    assert!([5, 10].contains(&unknown), "{outcomes:?}");
    assert_eq!(created + unknown, 20, "{outcomes:?}");
}

/// `source_row` names the original sheet's row through round trips of `sms`, `email` and
/// `delete` results too, and a results file fed back repeats none of the tool's own columns.
#[test]
fn source_row_survives_round_trips_of_messages_and_deletes() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![case(1), case(2)]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let c = ids[0];
    std::fs::write(
        d.join("sms.csv"),
        format!("case_id,client_id,message\n{c},5,Hi A\n\n\n{c},x,Hi B\n{c},6,Hi C\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("email.csv"),
        format!(
            "case_id,client_id,subject,message\n{c},5,S,Hi A\n\n\n{c},x,S,Hi B\n{c},6,S,Hi C\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("del.csv"),
        format!("kayse_id\n{}\n\n\nabc\n{}\n", ids[0], ids[1]),
    )
    .unwrap();
    // (command, first input, each round's outcomes)
    let table = [
        ("sms", "sms.csv", ["sent", "invalid", "sent"]),
        ("email", "email.csv", ["sent", "invalid", "sent"]),
        ("delete", "del.csv", ["deleted", "invalid", "deleted"]),
    ];
    for (command, first, outcomes) in table {
        let mut input = first.to_string();
        let mut header: Option<Vec<String>> = None;
        for n in 1..=3 {
            let out = format!("{command}{n}.csv");
            let mut args = vec![command, input.as_str(), "--yes", "--results", &out];
            if n > 1 {
                args.push("--only-failed");
            }
            let o = sb.run(d, &args);
            assert_eq!(code(&o), 1, "{args:?}: {}", show(&o));
            let rows = csv_rows(&d.join(&out));
            assert_eq!(
                results_column(&rows, "source_row"),
                vec!["2", "5", "6"],
                "{out}"
            );
            assert_eq!(results_column(&rows, "kayse_result"), outcomes, "{out}");
            for own in ["source_row", "kayse_result", "kayse_errors"] {
                let n = rows[0].iter().filter(|h| *h == own).count();
                assert_eq!(n, 1, "{out}: {own} once in {:?}", rows[0]);
            }
            // The same columns every round (delete's own input column `kayse_id` is kept).
            header.get_or_insert_with(|| rows[0].clone());
            assert_eq!(Some(&rows[0]), header.as_ref(), "{out}");
            input = out;
        }
    }
    assert_eq!(
        sb.messages().len(),
        4,
        "each client texted and emailed once"
    );
    assert!(sb.cases().is_empty());
}

/// Feeding `X.results.xlsx` back in writes `X.results.xlsx` again, not
/// `X.results.results.xlsx`: with or without `--only-failed`, every id kept, nothing sent twice,
/// and the earlier run's journal retired once the file shows all it holds.
#[test]
fn a_results_file_fed_back_is_written_again_in_place() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("c.csv"),
        format!("{HEADER}\nR-1,other,run-1,active,civil,A\n,other,run-2,active,civil,B\nR-3,other,run-3,active,civil,C\n"),
    )
    .unwrap();
    let o = sb.run(d, &["import", "c.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let results = d.join("c.results.xlsx");
    let ids = kayse_ids(&results);
    assert_eq!(ids.iter().filter(|i| !i.is_empty()).count(), 2, "{ids:?}");
    let requests = sb.bulk_requests();
    for flag in [&[][..], &["--only-failed"][..]] {
        let o = sb.run(d, &[&["import", "c.results.xlsx"][..], flag].concat());
        assert_eq!(code(&o), 1, "{flag:?}: {}", show(&o));
        assert!(!d.join("c.results.results.xlsx").exists(), "{flag:?}");
        let res = sheet(&results, None);
        assert_eq!(
            results_column(&res, "kayse_id"),
            ids,
            "{flag:?}: every id kept"
        );
        assert_eq!(
            results_column(&res, "kayse_result"),
            vec!["created", "invalid", "created"],
            "{flag:?}"
        );
        assert_eq!(results_column(&res, "source_row"), vec!["2", "3", "4"]);
        let header = &res[0];
        assert_eq!(
            header.iter().filter(|h| *h == "kayse_result").count(),
            1,
            "{header:?}"
        );
        // The file shows all the first run's journal held, so it was retired; this run sent
        // nothing, so it left none (the crash test below has one that did).
        assert!(!d.join("c.results.xlsx.journal").exists(), "{flag:?}");
    }
    assert_eq!(sb.bulk_requests(), requests, "nothing sent twice");
    assert_eq!(sb.cases().len(), 2);
    // A dry run of it writes beside it, never over its ids.
    let o = sb.run(d, &["import", "c.results.xlsx", "--dry-run"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert!(d.join("c.validation.xlsx").exists(), "{}", show(&o));
    assert_eq!(kayse_ids(&results), ids);
}

/// The afternoon's `sms text.results.csv --yes` after one fix: the file is written again in
/// place, only the fixed row is texted, and the journal beside it is the new run's.
#[test]
fn an_sms_results_file_fed_back_is_written_again_in_place() {
    let sb = Sandbox::start(&[]);
    let c = sb.seed(vec![case(1)])[0];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("text.csv"),
        format!("case_id,client_id,message\n{c},5,Hello Ann\n{c},x,Hello Bob\n{c},6,Hello Cy\n"),
    )
    .unwrap();
    let o = sb.run(
        d,
        &["sms", "text.csv", "--yes", "--results", "text.results.csv"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let results = d.join("text.results.csv");
    set_cell(&results, 2, "client_id", "7");
    let o = sb.run(d, &["sms", "text.results.csv", "--yes"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(!d.join("text.results.results.xlsx").exists());
    let rows = csv_rows(&results);
    assert_eq!(results_column(&rows, "kayse_result"), vec!["sent"; 3]);
    assert_eq!(results_column(&rows, "source_row"), vec!["2", "3", "4"]);
    assert_eq!(results_column(&rows, "client_id"), vec!["5", "7", "6"]);
    let journal = std::fs::read_to_string(d.join("text.results.csv.journal")).unwrap();
    assert!(
        journal.contains("text.results.csv"),
        "the new run's: {journal}"
    );
    assert_eq!(sb.messages().len(), 3, "each client texted once");
}

/// An import's results given to `delete` (the list of cases it created) are never written over:
/// the journal beside them says they are import's, so delete answers beside them and the
/// import's record, ids and journal, stays whole.
#[test]
fn another_commands_results_file_is_never_written_over() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    cases_csv(d, "c.csv", 2);
    let o = sb.run(d, &["import", "c.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let results = d.join("c.results.xlsx");
    let before = std::fs::read(&results).unwrap();
    let ids = kayse_ids(&results);
    let o = sb.run(d, &["delete", "c.results.xlsx", "--yes"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(
        std::fs::read(&results).unwrap(),
        before,
        "the import's record"
    );
    assert!(d.join("c.results.xlsx.journal").exists());
    let res = sheet(&d.join("c.results.results.xlsx"), None);
    assert_eq!(results_column(&res, "kayse_result"), vec!["deleted"; 2]);
    assert_eq!(results_column(&res, "kayse_id"), ids);
    assert!(sb.cases().is_empty());
}

/// A fixed results file fed back in place, killed before its first request and again before
/// its results: the file keeps every id until the new one replaces it, a fresh run is refused
/// while the journal holds an id the file does not show, and `--resume` completes it with every
/// case in Kayse once.
#[test]
fn a_crash_while_a_results_file_is_rewritten_in_place_loses_nothing() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("c.csv"),
        format!("{HEADER}\nR-1,other,run-1,active,civil,A\n,other,run-2,active,civil,B\nR-3,other,run-3,active,civil,C\n"),
    )
    .unwrap();
    let o = sb.run(d, &["import", "c.csv", "--results", "c.results.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let results = d.join("c.results.csv");
    set_cell(&results, 2, "case_number", "R-2");
    let before = std::fs::read(&results).unwrap();
    let first_ids = results_column(&csv_rows(&results), "kayse_id");
    let again = ["import", "c.results.csv", "--only-failed"];
    for point in ["before-first-request", "before-results"] {
        let o = sb
            .cmd(d)
            .env("KAYSE_BULK_CRASH_AT", point)
            .args(again)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), None, "{point}: aborted: {}", show(&o));
        assert_eq!(
            std::fs::read(&results).unwrap(),
            before,
            "{point}: untouched"
        );
    }
    // The journal holds R-2's new id, which the file does not show: a fresh run is refused.
    assert_eq!(sb.cases().len(), 3);
    let o = sb.run(d, &again);
    assert_eq!(code(&o), 3, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("1 Kayse id the file does not show")
            && err.contains("kayse-bulk import c.results.csv --resume"),
        "{err}"
    );
    assert_eq!(std::fs::read(&results).unwrap(), before);
    let requests = sb.bulk_requests();
    let o = sb.run(d, &[&again[..], &["--resume"]].concat());
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(sb.bulk_requests(), requests, "nothing sent twice");
    let rows = csv_rows(&results);
    assert_eq!(results_column(&rows, "kayse_result"), vec!["created"; 3]);
    let ids = results_column(&rows, "kayse_id");
    assert_eq!(
        (ids[0].as_str(), ids[2].as_str()),
        (first_ids[0].as_str(), first_ids[2].as_str())
    );
    let cases = sb.cases();
    assert_eq!(cases.len(), 3);
    assert!(cases.values().all(|v| v.len() == 1), "{cases:?}");
    assert_eq!(cases["R-2"][0].to_string(), ids[1]);
    assert!(!d.join("c.results.results.xlsx").exists());
}

/// The `<col>` widths of a workbook's first sheet, by 1-based column.
fn column_widths(path: &Path) -> std::collections::BTreeMap<u32, f64> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    let attr = |c: &str, k: &str| -> String {
        let v = &c[c.find(&format!(" {k}=\"")).unwrap() + k.len() + 3..];
        v[..v.find('"').unwrap()].to_string()
    };
    let mut out = std::collections::BTreeMap::new();
    for c in xml
        .split("<col ")
        .skip(1)
        .map(|c| format!(" {}", &c[..c.find('>').unwrap()]))
    {
        let (lo, hi): (u32, u32) = (
            attr(&c, "min").parse().unwrap(),
            attr(&c, "max").parse().unwrap(),
        );
        for i in lo..=hi {
            out.insert(i, attr(&c, "width").parse().unwrap());
        }
    }
    out
}

/// An export for people: each text key of `external_source_data` in its own column, long text
/// wrapped in a column of sensible width; and a re-import of it (XLSX or CSV) changes nothing.
#[test]
fn an_export_reads_well_and_round_trips() {
    let sb = Sandbox::start(&[]);
    let mut a = case(1);
    let long = "The client was rear-ended on I-85 near exit 12. "
        .repeat(8)
        .trim_end()
        .to_string();
    a["description"] = Value::String(long.clone());
    a["external_source_data"] = serde_json::json!({"referral": "Dr. Ruiz", "file_no": "00123", "opened": "2024-03-05", "n": 2});
    let mut b = case(2);
    b["external_source_data"] = serde_json::json!({"referral": "Web"});
    let ids = sb.seed(vec![a, b, case(3)]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = format!("{}-{}", ids[0], ids[2]);
    for out in ["e.xlsx", "e.csv"] {
        let o = sb.run(d, &["export", "--ids", &spec, "--out", out]);
        assert_eq!(code(&o), 0, "{}", show(&o));
        let rows = if out.ends_with(".csv") {
            csv_rows(&d.join(out))
        } else {
            sheet(&d.join(out), Some("Cases"))
        };
        let at = col(&rows, "external_source_data");
        assert_eq!(
            rows[0][at..at + 4],
            [
                "external_source_data",
                "external_source_data.file_no",
                "external_source_data.opened",
                "external_source_data.referral"
            ],
            "{out}"
        );
        let cells = |r: usize| rows[r][at..at + 4].to_vec();
        assert_eq!(
            cells(1),
            [r#"{"n":2}"#, "00123", "2024-03-05", "Dr. Ruiz"],
            "{out}"
        );
        assert_eq!(cells(2), ["", "", "", "Web"], "{out}");
        assert_eq!(cells(3), ["", "", "", ""], "{out}");
        assert_eq!(rows[1][col(&rows, "description")], long, "{out}: whole");
    }
    // Widths: the long description wraps at the widest column; a short one fits its header.
    let rows = sheet(&d.join("e.xlsx"), Some("Cases"));
    let widths = column_widths(&d.join("e.xlsx"));
    // (Excel stores a width with the cell's padding added: the whole part is what was set.)
    let width_of = |h: &str| widths[&(col(&rows, h) as u32 + 1)].floor();
    assert_eq!(width_of("description"), 50.0);
    assert_eq!(width_of("external_source_data.referral"), 31.0);
    assert_eq!(width_of("id"), 8.0);
    // A re-import of each export changes nothing in Kayse.
    let before = sb.state()["cases"].clone();
    let strip = |mut v: Value| {
        for c in v.as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("update_origin");
        }
        v
    };
    for out in ["e.xlsx", "e.csv"] {
        let res = format!("{out}.back.csv");
        let o = sb.run(
            d,
            &["import", out, "--update-blanks", "clear", "--results", &res],
        );
        assert_eq!(code(&o), 0, "{out}: {}", show(&o));
        // The ledger saw these cases when it exported them: nothing new, nothing sent.
        assert_eq!(
            results_column(&csv_rows(&d.join(&res)), "kayse_result"),
            vec!["unchanged"; 3]
        );
        assert_eq!(
            strip(sb.state()["cases"].clone()),
            strip(before.clone()),
            "{out}"
        );
    }
}
