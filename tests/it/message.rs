//! `kayse-bulk sms` / `email` end to end against the sandbox binary: opt-outs, duplicates,
//! templates, the confirmation gate, commit-drop faults, a crash and Ctrl-C at the engine's test
//! points then `--resume`, counted on the server's own list of messages. No timers.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::support::*;
use serde_json::json;

fn sheet_csv(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn opt_outs_duplicates_and_templates() {
    let sb = Sandbox::start(&[]);
    let mut opted = case(2);
    opted["sms_opted_out"] = json!(true);
    let ids = sb.seed(vec![case(1), opted]);
    let dir = tempfile::tempdir().unwrap();
    sheet_csv(
        dir.path(),
        "m.csv",
        &format!(
            "case_id,client_id,Hearing\n{a},5,2025-03-04\n{b},6,2025-03-05\n{a},5,2025-03-04\nx,5,2025-03-04\n{a},7,2025-03-09\n",
            a = ids[0],
            b = ids[1]
        ),
    );
    let tpl = "Hi {{first_name}}, court on {{row.Hearing}}";
    let o = sb.run(dir.path(), &["sms", "m.csv", "--message", tpl, "--yes"]);
    assert_eq!(code(&o), 1, "{}", show(&o)); // the invalid row
    let res = sheet(&dir.path().join("m.results.xlsx"), None);
    assert_eq!(
        results_column(&res, "kayse_result"),
        vec!["sent", "opted_out", "duplicate", "invalid", "sent"]
    );
    assert_eq!(
        results_column(&res, "rendered_message")[0],
        "Hi {{first_name}}, court on 2025-03-04"
    );
    let msgs = sb.messages();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    let mut texts: Vec<&str> = msgs
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        vec![
            "Hi {{first_name}}, court on 2025-03-04",
            "Hi {{first_name}}, court on 2025-03-09"
        ]
    );
    assert!(msgs.iter().all(|m| m["case_id"] == json!(ids[0])));
    // One GET per distinct case checked, one POST per message.
    assert_eq!(sb.route_count("GET /v1/cases/{id}"), 2, "{}", sb.stats());

    // Resuming a finished run sends nothing.
    let o = sb.run(
        dir.path(),
        &["sms", "m.csv", "--message", tpl, "--yes", "--resume"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert_eq!(sb.messages().len(), 2);
}

#[test]
fn email_template_errors_and_the_gate() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![case(1)]);
    let dir = tempfile::tempdir().unwrap();
    sheet_csv(
        dir.path(),
        "e.csv",
        &format!("case_id,client_id,Name\n{},5,Ann\n", ids[0]),
    );
    // A template naming a missing column: exit 2, naming it, before anything is sent.
    let o = sb.run(
        dir.path(),
        &[
            "email",
            "e.csv",
            "--message",
            "Dear {{row.Nickname}}",
            "--subject",
            "s",
            "--yes",
        ],
    );
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Nickname") && err.contains("case_id, client_id, Name"),
        "{err}"
    );
    // No terminal, no --yes: exit 2, nothing sent.
    let args = [
        "email",
        "e.csv",
        "--message",
        "Dear {{row.Name}}",
        "--subject",
        "About {{row.Name}}",
    ];
    let o = sb.run(dir.path(), &args);
    assert_eq!(code(&o), 2, "{}", show(&o));
    // Dry run renders into the results and sends nothing.
    let mut dry = args.to_vec();
    dry.push("--dry-run");
    let o = sb.run(dir.path(), &dry);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let res = sheet(&dir.path().join("e.results.xlsx"), None);
    assert_eq!(results_column(&res, "rendered_subject"), vec!["About Ann"]);
    assert_eq!(sb.stats()["requests"].as_u64().unwrap_or(0), 0);
    let mut go = args.to_vec();
    go.push("--yes");
    let o = sb.run(dir.path(), &go);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let msgs = sb.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["subject"], "About Ann");
    assert_eq!(msgs[0]["message"], "Dear Ann");
}

#[test]
fn commit_drop_never_sends_twice() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((0..5).map(case).collect());
    sb.config(json!({"faults": "commit-drop:0.3", "seed": 7}));
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::from("case_id,client_id,message\n");
    for i in 0..40 {
        s.push_str(&format!("{},{},hello number {i}\n", ids[i % 5], 100 + i));
    }
    sheet_csv(dir.path(), "m.csv", &s);
    let o = sb.run(dir.path(), &["sms", "m.csv", "--yes", "--no-opt-out-check"]);
    let res = sheet(&dir.path().join("m.results.xlsx"), None);
    let results = results_column(&res, "kayse_result");
    let unknown = results.iter().filter(|r| *r == "unknown").count();
    let sent = results.iter().filter(|r| *r == "sent").count();
    assert!(
        unknown > 0,
        "the faults should have hit: {results:?} {}",
        show(&o)
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let msgs = sb.messages();
    // Each message text is on the server at most once; every `sent` row is there.
    let mut texts: Vec<String> = msgs
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_string())
        .collect();
    let n = texts.len();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), n, "a message was sent twice");
    assert_eq!(
        n,
        sent + unknown,
        "commit-drop applies every dropped send once"
    );
    // A resume does not resend the unknown ones.
    sb.config(json!({"faults": "none"}));
    let o = sb.run(
        dir.path(),
        &["sms", "m.csv", "--yes", "--no-opt-out-check", "--resume"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert_eq!(sb.messages().len(), n);
}

/// Sixty messages, the process stopped dead (an abort, as `kill -9` would) when the tenth answer
/// is in hand but not on disk; then `--resume`. Nothing is sent twice, and only what was in
/// flight at the crash is `unknown`.
#[test]
fn a_crash_mid_run_then_resume_sends_nothing_twice() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![case(1)]);
    let dir = tempfile::tempdir().unwrap();
    sheet_csv(dir.path(), "m.csv", &sixty(ids[0], "msg"));
    let o = sb
        .cmd(dir.path())
        .env("KAYSE_BULK_CRASH_AT", "answer-not-journaled:10")
        .args(["sms", "m.csv", "--yes", "--concurrency", "2"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), None, "aborted, not exited: {}", show(&o));
    let before = sb.messages().len();
    assert!(
        (10..=11).contains(&before),
        "the tenth answer and at most one more: {before}"
    );
    let o = sb.run(dir.path(), &["sms", "m.csv", "--yes", "--resume"]);
    let res = sheet(&dir.path().join("m.results.xlsx"), None);
    let results = results_column(&res, "kayse_result");
    let msgs = sb.messages();
    let mut texts: Vec<String> = msgs
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_string())
        .collect();
    let n = texts.len();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), n, "a message was sent twice: {}", show(&o));
    let sent = results.iter().filter(|r| *r == "sent").count();
    let unknown = results.iter().filter(|r| *r == "unknown").count();
    assert_eq!(sent + unknown, 60, "{results:?}");
    assert!(
        (1..=2).contains(&unknown),
        "the requests in flight: {unknown}"
    );
    assert!((sent..=60).contains(&n));
    assert_eq!(code(&o), 1, "{}", show(&o));
}

/// A sheet of sixty messages to distinct clients of one case.
fn sixty(case_id: u64, word: &str) -> String {
    let mut s = String::from("case_id,client_id,message\n");
    for i in 0..60 {
        s.push_str(&format!("{case_id},{},{word} {i}\n", 100 + i));
    }
    s
}

#[test]
fn server_errors_are_retried_and_each_message_sent_once() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![case(1)]);
    sb.config(json!({"faults": "500:0.3,503:0.1", "seed": 5}));
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::from("case_id,client_id,message\n");
    for i in 0..20 {
        s.push_str(&format!("{},{},retry {i}\n", ids[0], 100 + i));
    }
    sheet_csv(dir.path(), "m.csv", &s);
    let o = sb.run(dir.path(), &["sms", "m.csv", "--yes"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let st = sb.stats();
    let injected =
        st["faults"]["500"].as_u64().unwrap_or(0) + st["faults"]["503"].as_u64().unwrap_or(0);
    assert!(injected > 0, "the faults should have hit: {st}");
    // Each injected 5xx costs one more request, and nothing else does.
    assert_eq!(st["requests"].as_u64().unwrap(), 1 + 20 + injected, "{st}");
    let res = sheet(&dir.path().join("m.results.xlsx"), None);
    assert!(
        results_column(&res, "kayse_result")
            .iter()
            .all(|r| r == "sent")
    );
    assert_eq!(sb.messages().len(), 20);
}

/// Ctrl-C mid-run, at a known moment: the engine pauses when the tenth answer is in hand
/// (`KAYSE_BULK_PAUSE_AT`, a test hook) and says so; the test then sends SIGINT. No timer.
#[test]
fn ctrl_c_stops_cleanly_and_resume_finishes() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed(vec![case(1)]);
    let dir = tempfile::tempdir().unwrap();
    sheet_csv(dir.path(), "m.csv", &sixty(ids[0], "int"));
    let mut child = sb
        .cmd(dir.path())
        .env("KAYSE_BULK_PAUSE_AT", "answer-not-journaled:10")
        .args(["sms", "m.csv", "--yes", "--concurrency", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = err.read_line(&mut line).unwrap();
        assert!(n > 0, "the run ended without pausing: {seen}");
        seen.push_str(&line);
        if line.starts_with("paused at answer-not-journaled") {
            break;
        }
    }
    signal(child.id(), libc::SIGINT);
    err.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    let res = sheet(&dir.path().join("m.results.xlsx"), None);
    let results = results_column(&res, "kayse_result");
    // Requests in flight finished: nothing is in doubt, the rest waits for --resume.
    assert!(!results.iter().any(|r| r == "unknown"), "{results:?}");
    let sent = results.iter().filter(|r| *r == "sent").count();
    assert_eq!(sent, sb.messages().len());
    assert!((10..=11).contains(&sent), "{results:?}");
    assert!(results.iter().any(|r| r == "skipped"), "{results:?}");
    let o = sb.run(dir.path(), &["sms", "m.csv", "--yes", "--resume"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let msgs = sb.messages();
    assert_eq!(msgs.len(), 60);
    let mut texts: Vec<&str> = msgs
        .iter()
        .map(|m| m["message"].as_str().unwrap())
        .collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 60);
}

#[test]
fn email_checks_the_email_flag_not_the_sms_one() {
    let sb = Sandbox::start(&[]);
    let mut c = case(1);
    c["email_opted_out"] = json!(true);
    let ids = sb.seed(vec![c]);
    let dir = tempfile::tempdir().unwrap();
    sheet_csv(
        dir.path(),
        "e.csv",
        &format!(
            "case_id,client_id,subject,message\n{},5,Hello,Body\n",
            ids[0]
        ),
    );
    let o = sb.run(
        dir.path(),
        &["email", "e.csv", "--yes", "--results", "e.csv.results.csv"],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let res = csv_rows(&dir.path().join("e.csv.results.csv"));
    assert_eq!(results_column(&res, "kayse_result"), vec!["opted_out"]);
    let o = sb.run(
        dir.path(),
        &["sms", "e.csv", "--yes", "--results", "s.results.xlsx"],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let msgs = sb.messages();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["channel"], "sms");
}

/// A filtered message sheet: sms reads the hidden rows (as import does) and says so, in the dry
/// run and in the summary; `--skip-hidden-rows` sends only the rows the filter shows. The header
/// below a title is found, and the hidden column stays hidden in the results.
#[test]
fn a_filtered_sheet_names_its_hidden_rows_and_skip_hidden_rows_leaves_them_out() {
    let sb = Sandbox::start(&[]);
    let ids = sb.seed((0..3).map(case).collect());
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Vec<String>> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            vec![
                id.to_string(),
                (50 + i).to_string(),
                format!("Hello {i}"),
                format!("internal {i}"),
            ]
        })
        .collect();
    filtered_xlsx(
        &dir.path().join("m.xlsx"),
        &["case_id", "client_id", "message", "Notes"],
        &rows,
        &[1],
        &[3],
    );

    let o = sb.run(dir.path(), &["sms", "m.xlsx", "--dry-run"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        err.contains(
            "Hello 0\nIncluded: row 5, hidden in the workbook; --skip-hidden-rows leaves them out."
        ),
        "{err}"
    );
    assert!(
        err.contains("hidden rows: 1 row hidden by a filter in the workbook was read: row 5 (--skip-hidden-rows leaves them out)"),
        "{err}"
    );
    let res = sheet(&dir.path().join("m.results.xlsx"), None);
    assert_eq!(results_column(&res, "source_row"), ["4", "5", "6"]);
    assert!(sb.messages().is_empty());

    let o = sb.run(
        dir.path(),
        &[
            "--json",
            "sms",
            "m.xlsx",
            "--skip-hidden-rows",
            "--yes",
            "--results",
            "sent.xlsx",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["reading"]["header_row"], 3, "{s}");
    assert_eq!(s["reading"]["hidden_rows_skipped"], true, "{s}");
    assert_eq!(s["reading"]["hidden_rows"]["first"], json!([5]), "{s}");
    let mut sent: Vec<String> = sb
        .messages()
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_string())
        .collect();
    sent.sort();
    assert_eq!(sent, ["Hello 0", "Hello 2"]);
    let path = dir.path().join("sent.xlsx");
    let res = sheet(&path, None);
    assert_eq!(results_column(&res, "source_row"), ["4", "6"]);
    assert_eq!(results_column(&res, "kayse_result"), ["sent", "sent"]);
    assert_eq!(results_column(&res, "Notes"), ["internal 0", "internal 2"]);
    // source_row, kayse_result, kayse_id, kayse_errors, rendered_message, then the four input
    // columns: Notes is the ninth.
    assert_eq!(hidden_columns_of(&path), [(9, 9)]);
}
