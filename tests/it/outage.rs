//! Outages and learned limits (issue 16 items 3 and 4), end to end: the real binary against the
//! sandbox, with faults and limits switched at run time through `POST /sandbox/config`. No timer:
//! a test waits for the line the run prints, and the small retry base (5 ms, so outage waits of
//! at most 300 ms) keeps the waits short; `--outage-wait` only bounds them from below.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Output, Stdio};

use serde_json::json;

use crate::support::{Sandbox, code, csv_rows, show};

const HEADER: &str = "case_number,external_source,external_source_id,status,type";

fn input(dir: &Path, rows: usize) -> String {
    let mut s = format!("{HEADER}\n");
    for i in 1..=rows {
        s.push_str(&format!("OUT-{i:04},other,o-{i},active,civil\n"));
    }
    std::fs::write(dir.join("cases.csv"), s).unwrap();
    "cases.csv".into()
}

/// `kayse_result` → how many rows, from a results CSV.
fn tally(path: &Path) -> BTreeMap<String, usize> {
    let rows = csv_rows(path);
    let col = rows[0].iter().position(|h| h == "kayse_result").unwrap();
    let mut m = BTreeMap::new();
    for r in &rows[1..] {
        *m.entry(r[col].clone()).or_insert(0) += 1;
    }
    m
}

/// Every row's id is the server's one id for its case_number.
fn ids_match(sb: &Sandbox, path: &Path, rows: usize) {
    let server = sb.cases();
    assert_eq!(server.len(), rows, "{server:?}");
    assert!(server.values().all(|ids| ids.len() == 1), "{server:?}");
    let res = csv_rows(path);
    let n = res[0].iter().position(|h| h == "case_number").unwrap();
    let id = res[0].iter().position(|h| h == "kayse_id").unwrap();
    for r in &res[1..] {
        assert_eq!(
            server[&r[n]][0].to_string(),
            r[id],
            "row {r:?} holds another id"
        );
    }
}

fn run(sb: &Sandbox, dir: &Path, args: &[&str]) -> Output {
    sb.run(dir, args)
}

/// Kayse answers 503 to everything when the run starts. The run says Kayse is down, every worker
/// waits and probes; the test ends the outage when it reads that line; the same run then sends
/// every row once. No row fails, no second run.
#[test]
fn an_outage_is_waited_out_and_no_row_fails() {
    let sb = Sandbox::start(&[]);
    sb.config(json!({"faults": "503:1"}));
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path(), 40);
    let mut child = sb
        .cmd(dir.path())
        .args([
            "import",
            &file,
            "--results",
            "out.csv",
            "--batch-size",
            "5",
            "--concurrency",
            "4",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = err.read_line(&mut line).unwrap();
        assert!(
            n > 0,
            "the run ended without waiting out the outage: {seen}"
        );
        seen.push_str(&line);
        if line.starts_with("Kayse is not answering") {
            break;
        }
    }
    assert!(seen.contains("503"), "{seen}");
    assert!(seen.contains("--outage-wait"), "{seen}");
    sb.config(json!({"faults": "none"}));
    err.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen}");
    assert!(seen.contains("Kayse answers again after"), "{seen}");
    let out = dir.path().join("out.csv");
    assert_eq!(tally(&out), BTreeMap::from([("created".into(), 40)]));
    ids_match(&sb, &out, 40);
    let st = sb.stats();
    assert!(st["faults"]["503"].as_u64().unwrap() >= 3, "{st}");
    // Every 503 cost one request, the 8 batches one each, and nothing else was sent.
    assert_eq!(
        sb.bulk_requests(),
        8 + st["faults"]["503"].as_u64().unwrap(),
        "{st}"
    );
}

/// An outage longer than `--outage-wait`: the run stops with exit 3 and says why, no row is
/// `failed` (they are not sent), and exactly one `--resume` once Kayse is back sends them all.
#[test]
fn an_outage_past_the_wait_stops_resumably_then_one_resume_finishes() {
    let sb = Sandbox::start(&[]);
    sb.config(json!({"faults": "503:1"}));
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path(), 30);
    let args = [
        "import",
        &file,
        "--results",
        "out.csv",
        "--batch-size",
        "5",
        "--outage-wait",
        "1s",
    ];
    let o = run(&sb, dir.path(), &args);
    assert_eq!(code(&o), 3, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Kayse is down: Kayse answered 503"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    let out = dir.path().join("out.csv");
    let t = tally(&out);
    assert!(!t.contains_key("failed"), "{t:?}");
    assert_eq!(t.get("skipped"), Some(&30), "{t:?}");
    let rows = csv_rows(&out);
    let e = rows[0].iter().position(|h| h == "kayse_errors").unwrap();
    assert!(rows[1][e].contains("Kayse is down"), "{:?}", rows[1]);
    assert!(sb.cases().is_empty());

    sb.config(json!({"faults": "none"}));
    let mut resume = args.to_vec();
    resume.push("--resume");
    let o = run(&sb, dir.path(), &resume);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(tally(&out), BTreeMap::from([("created".into(), 30)]));
    ids_match(&sb, &out, 30);
}

/// A rejection is Kayse's verdict on a row, outage or not: the taken case number ends `exists`
/// with Kayse's own message, while the 503s around it fail nothing.
#[test]
fn a_rejected_row_keeps_kayses_verdict_through_5xx() {
    let sb = Sandbox::start(&[]);
    sb.seed(vec![
        json!({"case_number": "OUT-0002", "external_source": "other",
        "external_source_id": "seeded", "status": "active", "type": "civil"}),
    ]);
    sb.config(json!({"faults": "503:0.5", "seed": 4}));
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path(), 6);
    let o = run(
        &sb,
        dir.path(),
        &[
            "import",
            &file,
            "--results",
            "out.csv",
            "--batch-size",
            "3",
            "--concurrency",
            "1",
        ],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let out = dir.path().join("out.csv");
    let t = tally(&out);
    assert_eq!(t.get("created"), Some(&5), "{t:?}");
    assert_eq!(t.get("exists"), Some(&1), "{t:?}");
    assert_eq!(t.get("failed"), None, "{t:?}");
    let rows = csv_rows(&out);
    let e = rows[0].iter().position(|h| h == "kayse_errors").unwrap();
    let failed: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r.contains(&"exists".into()))
        .collect();
    assert!(
        failed[0][e].contains("already has case_number OUT-0002"),
        "{:?}",
        failed[0]
    );
    assert!(sb.stats()["faults"]["503"].as_u64().unwrap() > 0);
}

/// sms during an outage: the 503s are answers (Kayse did not take the message), so each message
/// waits and goes exactly once; nothing is resent twice, nothing fails.
#[test]
fn sms_waits_out_an_outage_and_sends_each_message_once() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![crate::support::case(1)]);
    sb.config(json!({"faults": "503:1"}));
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::from("case_id,client_id,message\n");
    for i in 0..6 {
        s.push_str(&format!("{},{},hello {i}\n", ids[0], 100 + i));
    }
    std::fs::write(dir.path().join("m.csv"), s).unwrap();
    let mut child = sb
        .cmd(dir.path())
        .args(["sms", "m.csv", "--yes", "--no-opt-out-check"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = err.read_line(&mut line).unwrap();
        assert!(n > 0, "the run ended without waiting: {seen}");
        seen.push_str(&line);
        if line.starts_with("Kayse is not answering") {
            break;
        }
    }
    sb.config(json!({"faults": "none"}));
    err.read_to_string(&mut seen).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0), "{seen}");
    let msgs = sb.messages();
    let mut texts: Vec<&str> = msgs.iter().filter_map(|m| m["message"].as_str()).collect();
    texts.sort();
    assert_eq!(
        texts,
        (0..6).map(|i| format!("hello {i}")).collect::<Vec<_>>(),
        "{msgs:?}"
    );
}

/// Read stderr line by line until one starts with `prefix`; everything read so far.
fn read_until(err: &mut impl BufRead, prefix: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = err.read_line(&mut line).unwrap();
        assert!(
            n > 0,
            "the run ended before a line starting {prefix:?}: {seen}"
        );
        seen.push_str(&line);
        if line.starts_with(prefix) {
            return seen;
        }
    }
}

/// `--batch-size 40` against a server that takes 10: the first answer names its maximum, the
/// run uses it at once (no halving down through 20), says so once with the corrected plan, and
/// every row goes in.
#[test]
fn a_batch_size_above_the_servers_maximum_is_corrected_once() {
    let sb = Sandbox::start(&[]);
    sb.config(json!({"max_bulk": 10}));
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path(), 50);
    let o = run(
        &sb,
        dir.path(),
        &[
            "import",
            &file,
            "--results",
            "out.csv",
            "--batch-size",
            "40",
            "--concurrency",
            "1",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let warned: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("Kayse takes at most"))
        .collect();
    assert_eq!(
        warned,
        vec![
            "Kayse takes at most 10 cases per request: sending 10 per request from now on, not 40; the 50 rows left go in 5 requests"
        ],
        "{err}"
    );
    let sizes: Vec<u64> = sb.stats()["bulk_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_u64())
        .collect();
    assert_eq!(sizes, vec![40, 10, 10, 10, 10, 10]);
    let out = dir.path().join("out.csv");
    assert_eq!(tally(&out), BTreeMap::from([("created".into(), 50)]));
    ids_match(&sb, &out, 50);
}

/// The server's window is smaller than the plan assumed: the plan said its figures were
/// assumed, and the first answer's headers bring one corrected plan line.
#[test]
fn the_plan_is_corrected_once_when_the_headers_disagree() {
    let sb = Sandbox::start(&["--rate-limit", "10/2s"]);
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path(), 24);
    let o = run(
        &sb,
        dir.path(),
        &[
            "import",
            &file,
            "--results",
            "out.csv",
            "--batch-size",
            "2",
            "--rate-limit",
            "100/2s",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let plan = err.lines().find(|l| l.starts_with("plan: ")).unwrap();
    assert!(
        plan.contains("(100 left of 100/2s, assumed until Kayse's first answer)"),
        "{plan}"
    );
    let corrected: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("plan corrected by Kayse's answer: "))
        .collect();
    assert_eq!(corrected.len(), 1, "{err}");
    assert!(
        corrected[0].contains("left in its window, not 100;"),
        "{}",
        corrected[0]
    );
    assert!(corrected[0].contains("10/2s"), "{}", corrected[0]);
    assert_eq!(
        tally(&dir.path().join("out.csv")),
        BTreeMap::from([("created".into(), 24)])
    );
}

/// A dry run plans at the `--rate-limit` it is given, as the run would.
#[test]
fn a_dry_run_honours_the_rate_limit() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path(), 30);
    let o = run(
        &sb,
        dir.path(),
        &[
            "import",
            &file,
            "--dry-run",
            "--results",
            "out.csv",
            "--batch-size",
            "2",
            "--rate-limit",
            "5/m",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("15 requests; about 2 min at 5/m (5 left in the current window, assumed until Kayse's first answer)"),
        "{err}"
    );
    assert_eq!(sb.stats()["requests"].as_u64(), Some(0));
}

/// A wait longer than a minute says when it ends, with no terminal: a cron log shows why the run
/// is quiet. The test interrupts the wait once the line is there (no timer).
#[test]
fn a_long_wait_prints_its_end_time_without_a_terminal() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = input(dir.path(), 4);
    let mut child = sb
        .cmd(dir.path())
        .args([
            "import",
            &file,
            "--results",
            "out.csv",
            "--batch-size",
            "2",
            "--rate-limit",
            "1/h",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = read_until(&mut err, "waiting ");
    let line = seen.lines().last().unwrap().to_string();
    let (head, tail) = line.split_once(", until ").expect(&line);
    assert_eq!(head, "waiting 60 min", "{line}");
    assert!(
        tail.ends_with(": --rate-limit is used up for this window"),
        "{line}"
    );
    crate::support::signal(child.id(), libc::SIGINT);
    err.read_to_string(&mut seen).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{seen}");
    assert_eq!(seen.matches("waiting 60 min").count(), 1, "{seen}");
    let t = tally(&dir.path().join("out.csv"));
    assert_eq!(t.get("created"), Some(&2), "{t:?}");
    assert_eq!(t.get("skipped"), Some(&2), "{t:?}");
}
