//! The linked import through the binary: a case sheet that names its clients sends them first,
//! in bulk, then its cases with their `client_ids`; a re-run sends nothing; a later sheet reuses
//! the clients the ledger knows and keeps their links; a case whose client cannot exist is not
//! sent without it. Checked against the sandbox's state and the results read back cell by cell.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::linked::SHEET;
use crate::support::{Sandbox, code, csv_rows, results_column, sheet, show};

const CLIENTS_BULK: &str = "POST /v1/clients/bulk";

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn ids(v: &Value) -> Vec<u64> {
    let mut out: Vec<u64> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
        .collect();
    out.sort_unstable();
    out
}

/// case_number → the full names of the clients the sandbox links to it, sorted.
pub fn linked_names(sb: &Sandbox) -> BTreeMap<String, Vec<String>> {
    let clients = sb.records("clients");
    sb.records("cases")
        .values()
        .map(|c| {
            let mut names: Vec<String> = ids(&c["client_ids"])
                .iter()
                .map(|id| {
                    let p = &clients[id];
                    format!(
                        "{} {}",
                        p["first_name"].as_str().unwrap_or(""),
                        p["last_name"].as_str().unwrap_or("")
                    )
                })
                .collect();
            names.sort();
            (c["case_number"].as_str().unwrap_or("").to_string(), names)
        })
        .collect()
}

#[test]
fn clients_go_first_in_bulk_then_each_case_with_its_people() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cases.csv"), SHEET).unwrap();
    let sb = Sandbox::start(&[]);
    let out = sb.run(
        dir.path(),
        &["import", "cases.csv", "--results", "r.csv", "--json"],
    );
    assert_eq!(code(&out), 1, "two rows are invalid: {}", show(&out));
    let s = json_of(&out);
    assert_eq!(s["clients"]["created"], 4, "{s}");
    assert_eq!(s["counts"]["created"], 5, "{s}");
    let plan = s["plan"].as_str().unwrap_or_default();
    assert!(
        plan.starts_with("4 clients to send (4 creates, 0 updates; 0 known to the ledger, no request), then 5 rows to send (5 creates, 0 updates); 2 requests"),
        "{plan}"
    );
    assert_eq!(sb.route_count(CLIENTS_BULK), 1);
    assert_eq!(sb.bulk_requests(), 1);

    // Every case is linked to exactly the people its row named.
    let want: BTreeMap<String, Vec<String>> = [
        ("A-1", vec!["Maria Garcia"]),
        ("A-2", vec!["Li Wei", "Maria Garcia"]),
        ("A-3", vec!["Maria Garcia"]),
        ("A-4", vec!["Li Wei"]),
        ("A-5", vec!["Ann Lee", "Bob Lee"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(linked_names(&sb), want);
    assert_eq!(sb.records("clients").len(), 4);

    // The results: each row's clients' ids, as the sandbox has them.
    let rows = csv_rows(&dir.path().join("r.csv"));
    let outcome = results_column(&rows, "kayse_result");
    assert_eq!(
        outcome,
        [
            "created", "created", "created", "created", "created", "invalid", "invalid"
        ]
    );
    let cases = sb.records("cases");
    let case_ids = results_column(&rows, "kayse_id");
    let client_ids = results_column(&rows, "kayse_client_ids");
    for (i, id) in case_ids.iter().enumerate().take(5) {
        let mut got: Vec<u64> = client_ids[i]
            .split(';')
            .map(|s| s.parse().unwrap())
            .collect();
        got.sort_unstable();
        let case = &cases[&id.parse::<u64>().unwrap()];
        assert_eq!(got, ids(&case["client_ids"]), "row {}", i + 2);
    }
    assert_eq!(client_ids[5], "");

    // The Clients table: created, with the ids the cases link to.
    let table = csv_rows(&dir.path().join("r.csv.clients.csv"));
    assert_eq!(results_column(&table, "kayse_result"), vec!["created"; 4]);
    let table_ids: BTreeSet<u64> = results_column(&table, "kayse_id")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(
        table_ids,
        sb.records("clients")
            .keys()
            .copied()
            .collect::<BTreeSet<_>>()
    );

    // A re-run of the same sheet makes no request: the ledger knows every client and case.
    let before = sb.stats()["requests"].as_u64().unwrap();
    let out = sb.run(
        dir.path(),
        &["import", "cases.csv", "--results", "again.csv", "--json"],
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    let s = json_of(&out);
    assert_eq!(sb.stats()["requests"].as_u64().unwrap(), before, "{s}");
    assert_eq!(s["clients"]["unchanged"], 4, "{s}");
    assert_eq!(s["counts"]["unchanged"], 5, "{s}");
    let again = csv_rows(&dir.path().join("again.csv"));
    assert_eq!(results_column(&again, "kayse_client_ids"), client_ids);
    let plan = s["plan"].as_str().unwrap_or_default();
    assert!(plan.contains("0 requests"), "{plan}");
    assert!(plan.contains("5 rows unchanged"), "{plan}");
}

/// A later sheet naming a client an earlier import created: the client is reused (or updated,
/// keeping its links), never created again, and the cases it was linked to stay linked.
#[test]
fn a_later_sheet_reuses_the_client_and_keeps_its_links() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cases.csv"), SHEET).unwrap();
    let sb = Sandbox::start(&[]);
    let out = sb.run(dir.path(), &["import", "cases.csv", "--results", "r.csv"]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    let maria = |sb: &Sandbox| -> Value {
        sb.records("clients")
            .into_values()
            .find(|c| c["email"] == "maria@example.com")
            .unwrap()
    };
    let first = maria(&sb);
    assert_eq!(ids(&first["case_ids"]).len(), 3, "{first}");

    // Week two: Maria and Li again (same emails, other cases); Bob gains a date of birth.
    std::fs::write(
        dir.path().join("week2.csv"),
        "case_number,external_source,external_source_id,status,type,Client First Name,Client Last Name,Client Email,Client DOB\n\
         B-1,clio,w1,active,civil,Maria,Garcia,maria@example.com,\n\
         B-2,clio,w2,active,civil,Li,Wei,li@example.com,\n\
         B-3,clio,w3,active,civil,Bob,Lee,lees@example.com,02/03/1970\n",
    )
    .unwrap();
    let clients_before = sb.records("clients").len();
    // The dry run asks the ledger too (no request): all three are known, shown with their ids.
    let out = sb.run(
        dir.path(),
        &[
            "import",
            "week2.csv",
            "--dry-run",
            "--results",
            "dry.csv",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    let plan = json_of(&out)["plan"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        plan.starts_with(
            "0 clients to create in 0 requests (3 more known to the ledger, no request), then 3 cases; 1 request"
        ),
        "{plan}"
    );
    let dry = csv_rows(&dir.path().join("dry.csv.clients.csv"));
    assert_eq!(results_column(&dry, "kayse_id")[0], first["id"].to_string());
    let out = sb.run(
        dir.path(),
        &["import", "week2.csv", "--results", "w2.csv", "--json"],
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    let s = json_of(&out);
    assert_eq!(sb.records("clients").len(), clients_before, "none anew");
    let table = csv_rows(&dir.path().join("w2.csv.clients.csv"));
    assert_eq!(
        results_column(&table, "kayse_result"),
        ["reused", "reused", "updated"],
        "{s}"
    );
    let after = maria(&sb);
    assert_eq!(after["id"], first["id"]);
    // Her three cases from the first sheet and the new one.
    assert_eq!(ids(&after["case_ids"]).len(), 4, "{after}");
    let names = linked_names(&sb);
    assert_eq!(names["A-1"], ["Maria Garcia"]);
    assert_eq!(names["B-1"], ["Maria Garcia"]);
    // Bob was updated through a GET first: his case from the first sheet is still his.
    assert_eq!(names["A-5"], ["Ann Lee", "Bob Lee"]);
    assert_eq!(names["B-3"], ["Bob Lee"]);
    let bob = sb
        .records("clients")
        .into_values()
        .find(|c| c["first_name"] == "Bob")
        .unwrap();
    assert_eq!(bob["date_of_birth"], "1970-02-03");
    assert_eq!(ids(&bob["case_ids"]).len(), 2, "{bob}");
}

/// A client that cannot be sent (here: updated, but gone from Kayse) keeps its cases back unless
/// `--allow-missing-clients` sends them linked to the others; the ledger learns it is gone, and
/// the next import makes it anew.
#[test]
fn a_case_is_not_sent_without_its_client_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    let sheet_with = |dob: &str| {
        format!(
            "case_number,external_source,external_source_id,status,type,Client,Client Email,Client 2 Name,Client 2 Email,Client 2 DOB\n\
             A-1,clio,m1,active,civil,Maria Garcia,maria@example.com,Li Wei,li@example.com,{dob}\n\
             A-2,clio,m2,open,civil,Maria Garcia,maria@example.com,,,\n"
        )
    };
    std::fs::write(dir.path().join("cases.csv"), sheet_with("")).unwrap();
    let sb = Sandbox::start(&[]);
    let out = sb.run(dir.path(), &["import", "cases.csv", "--results", "r.csv"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    // Li is merged away in Kayse's web app: his id answers 404 from now on.
    let li = sb
        .records("clients")
        .into_values()
        .find(|c| c["first_name"] == "Li")
        .unwrap();
    let (status, _) = sb.api(
        "DELETE",
        &format!("/v1/clients/{}", li["id"].as_u64().unwrap()),
        None,
    );
    assert_eq!(status, 200);

    // The sheet now gives Li a date of birth: his update finds him gone. With
    // --allow-missing-clients, his case goes linked to Maria alone.
    std::fs::write(dir.path().join("cases.csv"), sheet_with("1/2/1990")).unwrap();
    let out = sb.run(
        dir.path(),
        &[
            "import",
            "cases.csv",
            "--results",
            "r2.csv",
            "--allow-missing-clients",
        ],
    );
    assert_eq!(code(&out), 1, "Li is not found: {}", show(&out));
    let rows = csv_rows(&dir.path().join("r2.csv"));
    assert_eq!(
        results_column(&rows, "kayse_result"),
        ["updated", "unchanged"]
    );
    assert_eq!(linked_names(&sb)["A-1"], ["Maria Garcia"]);
    let table = csv_rows(&dir.path().join("r2.csv.clients.csv"));
    assert_eq!(
        results_column(&table, "kayse_result"),
        ["unchanged", "not_found"]
    );
    let why = &results_column(&table, "kayse_errors")[1];
    assert!(why.contains("the next import creates it anew"), "{why}");

    // The ledger learned he is gone: the next import makes him anew and links him again.
    let out = sb.run(dir.path(), &["import", "cases.csv", "--results", "r3.csv"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let table = csv_rows(&dir.path().join("r3.csv.clients.csv"));
    assert_eq!(
        results_column(&table, "kayse_result"),
        ["unchanged", "created"]
    );
    assert_eq!(linked_names(&sb)["A-1"], ["Li Wei", "Maria Garcia"]);
}

/// An XLSX results file gains a Clients sheet after Results, with each client's outcome.
#[test]
fn xlsx_results_have_a_clients_sheet_with_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cases.csv"), SHEET).unwrap();
    let sb = Sandbox::start(&[]);
    let out = sb.run(dir.path(), &["import", "cases.csv"]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    let book = dir.path().join("cases.results.xlsx");
    let results = sheet(&book, None);
    assert_eq!(results[0][4], "kayse_client_ids", "{:?}", results[0]);
    let clients = sheet(&book, Some("Clients"));
    assert_eq!(results_column(&clients, "kayse_result"), vec!["created"; 4]);
    assert_eq!(
        results_column(&clients, "first_name"),
        ["Maria", "Li", "Ann", "Bob"]
    );
    // Fed back in, the results file sends nothing and is rewritten in place.
    let before = sb.stats()["requests"].as_u64().unwrap();
    let out = sb.run(dir.path(), &["import", "cases.results.xlsx"]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert_eq!(sb.stats()["requests"].as_u64().unwrap(), before);
    let again = sheet(&book, None);
    assert_eq!(again[0], results[0], "kayse_client_ids is written once");
}

pub fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// The figure: 2,000 case rows naming 1,200 distinct people, the same person's email
/// written in other letter cases and phone in other formats, a third known by their client
/// number alone on their second case. Exactly 1,200 clients and 2,000 cases, in
/// ⌈1,200/100⌉ + ⌈2,000/100⌉ requests, each case linked to its person; a re-run sends nothing.
#[test]
fn twelve_hundred_people_in_two_thousand_rows() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases.csv", &people_sheet(2000, 1200));
    let sb = Sandbox::start(&[]);
    let out = sb.run(
        dir.path(),
        &["import", "cases.csv", "--results", "r.csv", "--json"],
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(sb.records("clients").len(), 1200);
    assert_eq!(sb.records("cases").len(), 2000);
    assert_eq!(sb.route_count(CLIENTS_BULK), 12);
    assert_eq!(sb.bulk_requests(), 20);
    assert_eq!(sb.stats()["requests"].as_u64().unwrap(), 32);
    let names = linked_names(&sb);
    for i in 0..2000 {
        let p = person_of(i, 1200);
        assert_eq!(
            names[&format!("P-{i:04}")],
            [format!("{} {}", first(p), last(p))],
            "row {}",
            i + 2
        );
    }
    let out = sb.run(
        dir.path(),
        &["import", "cases.csv", "--results", "again.csv", "--json"],
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(sb.stats()["requests"].as_u64().unwrap(), 32, "a re-run: 0");
}

const FIRST: [&str; 8] = ["Ann", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana"];

pub fn first(p: usize) -> &'static str {
    FIRST[p % FIRST.len()]
}

/// A last name made of letters (names hold no digits): `Lee` + the person's number in letters.
pub fn last(p: usize) -> String {
    let mut n = p;
    let mut s = String::from("Lee");
    loop {
        s.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    s
}

/// Row `i` names person `i` for the first `people` rows, then the first people again.
pub fn person_of(i: usize, people: usize) -> usize {
    i % people
}

/// The sheet of the figure: every third person has a client number (`Client ID`) and, on their
/// second row, nothing else; the others are written with their email in another case and their
/// phone in another format the second time.
pub fn people_sheet(rows: usize, people: usize) -> String {
    let mut s = String::from(
        "case_number,external_source,external_source_id,status,type,Client First Name,Client Last Name,Client Email,Client Phone,Client ID\n",
    );
    for i in 0..rows {
        let p = person_of(i, people);
        let again = i >= people;
        let phone = 2_000_000 + p;
        let (f, l) = (first(p), last(p));
        let email = format!("{}.{}@example.com", f.to_lowercase(), l);
        let cells = if p.is_multiple_of(3) {
            if again {
                format!(",,,,C{p}")
            } else {
                format!(
                    "{f},{l},{email},(404) {}-{:04},C{p}",
                    phone / 10_000,
                    phone % 10_000
                )
            }
        } else if again {
            format!(
                "{f},{l},{},404.{}.{:04},",
                email.to_uppercase(),
                phone / 10_000,
                phone % 10_000
            )
        } else {
            format!(
                "{f},{l},{email},+1 404 {} {:04},",
                phone / 10_000,
                phone % 10_000
            )
        };
        s.push_str(&format!("P-{i:04},firm,e{i},active,civil,{cells}\n"));
    }
    s
}

/// The figure under 10% faults (500, 503, drop, commit-drop): no client is created
/// twice, no case is linked to a wrong client, and every case or client in doubt is reported;
/// a re-run creates none of the clients in doubt again.
#[test]
fn faults_never_make_a_client_twice_nor_a_wrong_link() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases.csv", &people_sheet(600, 360));
    let sb = Sandbox::start(&[
        "--faults",
        "500:0.025,503:0.025,drop:0.025,commit-drop:0.025",
        "--seed",
        "7",
    ]);
    let run = |results: &str| {
        sb.run(
            dir.path(),
            &[
                "import",
                "cases.csv",
                "--batch-size",
                "10",
                "--results",
                results,
            ],
        )
    };
    let out = run("r.csv");
    assert_eq!(code(&out), 1, "some requests were lost: {}", show(&out));
    let faults = sb.stats()["faults"].clone();
    assert!(faults["commit-drop"].as_u64().unwrap_or(0) > 0, "{faults}");
    check_faulty_run(&sb, dir.path(), "r.csv");
    let clients_after_first = sb.records("clients").len();

    // A re-run: the clients in doubt are not created again, their cases still wait for them.
    let out = run("r2.csv");
    assert_eq!(code(&out), 1, "{}", show(&out));
    check_faulty_run(&sb, dir.path(), "r2.csv");
    let table = csv_rows(&dir.path().join("r2.csv.clients.csv"));
    let unknown = results_column(&table, "kayse_result")
        .iter()
        .filter(|r| *r == "unknown")
        .count();
    assert!(unknown > 0, "the lost creates stay in doubt");
    assert!(sb.records("clients").len() >= clients_after_first);
}

/// What must hold after any run under faults.
fn check_faulty_run(sb: &Sandbox, dir: &Path, results: &str) {
    // No client twice: one record per external id.
    let clients = sb.records("clients");
    let mut by_ext: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (id, c) in &clients {
        let ext = c["external_source_id"].as_str().unwrap_or("").to_string();
        by_ext.entry(ext).or_default().push(*id);
    }
    let twice: Vec<_> = by_ext.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(twice.is_empty(), "clients created twice: {twice:?}");
    // No case linked to a wrong client.
    for (n, names) in linked_names(sb) {
        let i: usize = n.trim_start_matches("P-").parse().unwrap();
        let p = person_of(i, 360);
        let want = format!("{} {}", first(p), last(p));
        assert_eq!(names, [want], "{n}");
    }
    // Every row and client in doubt or failed says why.
    let rows = csv_rows(&dir.join(results));
    let outcome = results_column(&rows, "kayse_result");
    let errors = results_column(&rows, "kayse_errors");
    for (o, e) in outcome.iter().zip(&errors) {
        match o.as_str() {
            "created" | "unchanged" => {}
            "unknown" | "failed" => assert!(!e.is_empty(), "{o} without a reason"),
            other => panic!("unexpected {other}: {e}"),
        }
    }
    let table = csv_rows(&dir.join(format!("{results}.clients.csv")));
    let fates = results_column(&table, "kayse_result");
    let why = results_column(&table, "kayse_errors");
    let shown: BTreeSet<u64> = results_column(&table, "kayse_id")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    for (o, e) in fates.iter().zip(&why) {
        match o.as_str() {
            "created" | "unchanged" => {}
            "unknown" | "failed" => assert!(!e.is_empty(), "client {o} without a reason"),
            other => panic!("unexpected client {other}: {e}"),
        }
    }
    // Every client Kayse holds is in the table with its id, or is one of those in doubt.
    let unshown = clients.keys().filter(|id| !shown.contains(id)).count();
    let in_doubt = fates.iter().filter(|o| *o == "unknown").count();
    assert!(
        unshown <= in_doubt,
        "{unshown} clients unaccounted for, {in_doubt} in doubt"
    );
}

/// Killed between the clients' answer and the cases (at each point a power cut could strike),
/// then resumed: the clients are never created twice, and the cases go with the ids the journal
/// kept. A client create whose answer was never journaled is not sent again: it is reported in
/// doubt, and its cases with it.
#[test]
fn a_run_killed_between_clients_and_cases_resumes_with_their_ids() {
    for (point, clean) in [
        ("journaled-not-recorded:1", true),
        ("before-first-request:1", true),
        ("answer-not-journaled:1", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "cases.csv", SHEET);
        let sb = Sandbox::start(&[]);
        let args = ["import", "cases.csv", "--results", "r.csv"];
        let o = sb
            .cmd(d)
            .env("KAYSE_BULK_CRASH_AT", point)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), None, "{point}: killed: {}", show(&o));
        assert_eq!(sb.bulk_requests(), 0, "{point}: no case went yet");
        let mut again = args.to_vec();
        again.push("--resume");
        let o = sb.run(d, &again);
        assert_eq!(code(&o), 1, "{point}: {}", show(&o));
        assert_eq!(sb.records("clients").len(), 4, "{point}: each client once");
        let rows = csv_rows(&d.join("r.csv"));
        let outcome = results_column(&rows, "kayse_result");
        let table = csv_rows(&d.join("r.csv.clients.csv"));
        if clean {
            assert_eq!(&outcome[..5], vec!["created"; 5], "{point}");
            assert_eq!(
                results_column(&table, "kayse_result"),
                vec!["created"; 4],
                "{point}"
            );
            assert_eq!(
                linked_names(&sb)["A-2"],
                ["Li Wei", "Maria Garcia"],
                "{point}"
            );
        } else {
            assert_eq!(&outcome[..5], vec!["failed"; 5], "{point}");
            let why = results_column(&rows, "kayse_errors");
            assert!(
                why[0].contains("may or may not have been created"),
                "{}",
                why[0]
            );
            assert_eq!(
                results_column(&table, "kayse_result"),
                vec!["unknown"; 4],
                "{point}"
            );
            let note = &results_column(&table, "kayse_errors")[0];
            assert!(note.contains("never sent twice"), "{note}");
            assert_eq!(sb.bulk_requests(), 0, "{point}: no case without its client");
        }
    }
}

/// An update that sends a link list keeps the links Kayse has (`--update-blanks keep`): a
/// clients sheet naming one case of a client linked to two leaves both; `clear` sends the list
/// as it is, and the other link is cut.
#[test]
fn an_update_never_cuts_a_link_unless_told_to_clear() {
    for blanks in ["keep", "clear"] {
        let sb = Sandbox::start(&[]);
        let seeded = sb.http(
            "POST",
            "/sandbox/seed",
            Some(serde_json::json!({"clients": [
                {"first_name": "Maria", "last_name": "Garcia", "external_source": "clio",
                 "external_source_id": "C-1"},
            ]})),
        );
        let maria = seeded["client_ids"][0].as_u64().unwrap();
        let mut a = crate::support::case(1);
        a["client_ids"] = serde_json::json!([maria]);
        let mut b = crate::support::case(2);
        b["client_ids"] = serde_json::json!([maria]);
        let cases = sb.seed(vec![a, b]);
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "clients.csv",
            &format!(
                "kayse_id,first_name,last_name,external_source,external_source_id,Kayse Case IDs\n{maria},Maria,Garcia,clio,C-1,{}\n",
                cases[0]
            ),
        );
        let out = sb.run(
            dir.path(),
            &[
                "import",
                "clients.csv",
                "--entity",
                "clients",
                "--update-blanks",
                blanks,
                "--results",
                "r.csv",
            ],
        );
        assert_eq!(code(&out), 0, "{blanks}: {}", show(&out));
        let rows = csv_rows(&dir.path().join("r.csv"));
        assert_eq!(
            results_column(&rows, "kayse_result"),
            ["updated"],
            "{blanks}"
        );
        let want = if blanks == "keep" {
            vec![cases[0], cases[1]]
        } else {
            vec![cases[0]]
        };
        assert_eq!(
            ids(&sb.records("clients")[&maria]["case_ids"]),
            want,
            "{blanks}"
        );
    }
}

/// The README's example sheet: seven cases naming five people; the company is refused.
#[test]
fn the_sample_with_clients_imports_linked() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start(&[]);
    let sample = crate::support::sample("cases-with-clients.csv");
    let out = sb.run(
        dir.path(),
        &[
            "import",
            sample.to_str().unwrap(),
            "--results",
            "r.csv",
            "--json",
        ],
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    let s = json_of(&out);
    assert_eq!(s["clients"]["created"], 5, "{s}");
    assert_eq!(s["counts"]["created"], 6, "{s}");
    let names = linked_names(&sb);
    assert_eq!(names["2024-PI-0102"], ["Maria Garcia"]);
    assert_eq!(names["2024-PI-0105"], ["Chidi Okafor"]);
    assert_eq!(names["2024-FA-0103"], ["Ann Lee", "Bob Lee"]);
    let rows = csv_rows(&dir.path().join("r.csv"));
    let errors = results_column(&rows, "kayse_errors");
    assert!(errors[6].contains("Beacon Freight LLC"), "{}", errors[6]);
}

/// A firm's week: import a case sheet naming its clients (one row invalid), fix that row in the
/// results file, send the rest with `--only-failed`, then text each case's client by the firm's
/// own keys. Nothing is created twice, the fixed row's client is created with it, and each
/// message goes to the client its case is linked to.
#[test]
fn import_fix_rerun_then_message_by_the_firms_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "cases.csv",
        "case_number,external_source,external_source_id,status,type,Client,Client Email\n\
         W-1,clio,w1,active,civil,Maria Garcia,maria@example.com\n\
         W-2,clio,w2,active,civil,Li Wei,li@example\n\
         W-3,clio,w3,active,civil,Maria Garcia,MARIA@example.com\n",
    );
    let sb = Sandbox::start(&[]);
    let o = sb.run(
        d,
        &["import", "cases.csv", "--results", "cases.results.csv"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let rows = csv_rows(&d.join("cases.results.csv"));
    assert_eq!(
        results_column(&rows, "kayse_result"),
        ["created", "invalid", "created"]
    );
    // Fixed in the results file, the only file the user keeps open.
    let text = std::fs::read_to_string(d.join("cases.results.csv"))
        .unwrap()
        .replace("Li Wei,li@example\r\n", "Li Wei,li@example.com\r\n");
    std::fs::write(d.join("cases.results.csv"), text).unwrap();
    let o = sb.run(d, &["import", "cases.results.csv", "--only-failed"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let rows = csv_rows(&d.join("cases.results.csv"));
    assert_eq!(
        results_column(&rows, "kayse_result"),
        ["created", "created", "created"]
    );
    assert_eq!(sb.records("clients").len(), 2, "Maria once, Li once");
    // Maria came from this very sheet (through its results file): unchanged, not reused.
    let table = csv_rows(&d.join("cases.results.csv.clients.csv"));
    assert_eq!(
        results_column(&table, "kayse_result"),
        ["unchanged", "created"]
    );
    assert_eq!(sb.records("cases").len(), 3);
    let names = linked_names(&sb);
    assert_eq!(names["W-2"], ["Li Wei"]);
    assert_eq!(names["W-3"], ["Maria Garcia"]);

    write(
        d,
        "text.csv",
        "case_number,client_email,message\nW-2,li@example.com,Papers ready\nW-3,maria@example.com,Court moved\n",
    );
    let o = sb.run(d, &["sms", "text.csv", "--yes", "--results", "t.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let cases = sb.records("cases");
    for m in sb.messages() {
        let case = &cases[&m["case_id"].as_u64().unwrap()];
        assert_eq!(
            ids(&case["client_ids"]),
            [m["client_id"].as_u64().unwrap()],
            "{m}"
        );
    }
    assert_eq!(sb.messages().len(), 2);
}

/// Messages by the firm's keys after a linked import: the ledger knows each case's clients, so a
/// client key that belongs to someone else's case is refused, not messaged.
#[test]
fn a_message_by_key_reaches_only_a_client_of_its_case() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cases.csv", SHEET);
    let sb = Sandbox::start(&[]);
    let o = sb.run(d, &["import", "cases.csv", "--results", "r.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    write(
        d,
        "text.csv",
        "case_number,client_email,message\n\
         A-2,li@example.com,Papers ready\n\
         A-1,li@example.com,Wrong person\n\
         A-5,lees@example.com,Which of the two?\n",
    );
    let o = sb.run(d, &["sms", "text.csv", "--yes", "--results", "t.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let rows = csv_rows(&d.join("t.csv"));
    assert_eq!(
        results_column(&rows, "kayse_result"),
        ["sent", "invalid", "invalid"]
    );
    let errors = results_column(&rows, "kayse_errors");
    assert!(
        errors[1].contains("is not a client of case"),
        "{}",
        errors[1]
    );
    assert!(errors[2].contains("belongs to 2 records"), "{}", errors[2]);
    assert_eq!(sb.messages().len(), 1);
}

/// A new computer (an empty ledger): the clients of an export (`export --with-clients`) are
/// taught to it with `ledger add --entity clients`, and the next import of the sheet reuses them
/// instead of creating them again.
#[test]
fn ledger_add_teaches_clients_and_the_next_import_reuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cases.csv", SHEET);
    let sb = Sandbox::start(&[]);
    let o = sb.run(d, &["import", "cases.csv", "--results", "r.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let ids: Vec<String> = sb.records("cases").keys().map(u64::to_string).collect();
    let o = sb.run(
        d,
        &[
            "export",
            "--ids",
            &ids.join(","),
            "--with-clients",
            "--out",
            "e.csv",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    // The old ledger is gone.
    std::fs::remove_file(d.join("kayse.ledger.sqlite")).unwrap();
    let o = sb.run(d, &["ledger", "add", "e.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let o = sb.run(
        d,
        &["ledger", "add", "e.csv.clients.csv", "--entity", "clients"],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let stats = sb.run(d, &["ledger", "stats"]);
    let text = String::from_utf8_lossy(&stats.stdout).to_string();
    assert!(text.contains("clients: 4 live"), "{text}");
    assert!(text.contains("cases: 5 live"), "{text}");
    let before = sb.stats()["requests"].as_u64().unwrap();
    let o = sb.run(d, &["import", "cases.csv", "--results", "again.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert_eq!(
        sb.stats()["requests"].as_u64().unwrap(),
        before,
        "nothing sent"
    );
    assert_eq!(sb.records("clients").len(), 4);
}

/// A results file fed back is joined to the clients table its import joined, even when the
/// command line leaves `--clients` out: a case is never sent without the clients its row names.
#[test]
fn a_results_file_fed_back_joins_its_clients_table_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "clients.csv",
        "client_ref,First Name,Last Name,Email\nC-1,Maria,Garcia,maria@example.com\nC-2,Li,Wei,li@\n",
    );
    write(
        d,
        "cases.csv",
        "case_number,external_source,external_source_id,status,type,client_ref\nA-1,firm,a1,open,civil,C-1\nA-2,firm,a2,open,civil,C-2\n",
    );
    let sb = Sandbox::start(&[]);
    let o = sb.run(d, &["import", "cases.csv", "--clients", "clients.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    // Checked before it is sent again, the results file is joined to that table too: A-2 is
    // still invalid for Li's email, by validate as by a dry run.
    for args in [
        &["validate", "cases.results.xlsx"][..],
        &["import", "cases.results.xlsx", "--dry-run"][..],
    ] {
        let o = sb.run(d, args);
        assert_eq!(code(&o), 1, "{args:?}: {}", show(&o));
        let rows = sheet(&d.join("cases.validation.xlsx"), None);
        let outcome = results_column(&rows, "kayse_result");
        assert_eq!(outcome, ["valid", "invalid"], "{args:?}: {rows:?}");
        std::fs::remove_file(d.join("cases.validation.xlsx")).unwrap();
    }
    // Li's email fixed where it is wrong: in the clients table.
    write(
        d,
        "clients.csv",
        "client_ref,First Name,Last Name,Email\nC-1,Maria,Garcia,maria@example.com\nC-2,Li,Wei,li@example.com\n",
    );
    let o = sb.run(d, &["import", "cases.results.xlsx", "--only-failed"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let names = linked_names(&sb);
    assert_eq!(names["A-1"], ["Maria Garcia"]);
    assert_eq!(names["A-2"], ["Li Wei"], "not sent without its client");
    assert_eq!(sb.records("clients").len(), 2);
}

/// Clients gone from Kayse (deleted with their cases, or merged away in its web app) while the
/// ledger still knows them: the cases that name them fail once, saying so, the ledger learns
/// they are gone, and the next import creates them anew and links the cases.
#[test]
fn clients_gone_from_kayse_are_learned_and_made_anew() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sb = Sandbox::start(&[]);
    let sample = crate::support::sample("cases-with-clients.csv");
    let sample = sample.to_str().unwrap();
    let o = sb.run(d, &["import", sample, "--results", "r.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let o = sb.run(d, &["delete", "r.csv", "--with-clients", "--yes"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(sb.records("clients").is_empty());

    let o = sb.run(d, &["import", sample, "--results", "r2.csv"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let rows = csv_rows(&d.join("r2.csv"));
    let outcome = results_column(&rows, "kayse_result");
    assert_eq!(&outcome[..6], vec!["failed"; 6]);
    let why = &results_column(&rows, "kayse_errors")[0];
    assert!(
        why.contains("does not exist") && why.contains("run the import again"),
        "{why}"
    );

    // Kayse names one missing client per refusal: the couple's case names the second the
    // next time, and the run after that sends it.
    let o = sb.run(d, &["import", sample, "--results", "r3.csv", "--json"]);
    assert_eq!(code(&o), 1, "{}", show(&o));
    let s = json_of(&o);
    assert_eq!(s["clients"]["created"], 4, "{s}");
    assert_eq!(s["counts"]["created"], 5, "{s}");
    let rows = csv_rows(&d.join("r3.csv"));
    assert_eq!(results_column(&rows, "kayse_result")[2], "failed");
    let o = sb.run(d, &["import", sample, "--results", "r4.csv", "--json"]);
    assert_eq!(code(&o), 1, "the company row stays invalid: {}", show(&o));
    let s = json_of(&o);
    assert_eq!(s["clients"]["created"], 1, "{s}");
    assert_eq!(s["counts"]["created"], 1, "{s}");
    assert_eq!(sb.records("clients").len(), 5, "each person once");
    assert_eq!(sb.records("cases").len(), 6);
    let names = linked_names(&sb);
    assert_eq!(names["2024-PI-0105"], ["Chidi Okafor"]);
    assert_eq!(names["2024-FA-0103"], ["Ann Lee", "Bob Lee"]);
}
