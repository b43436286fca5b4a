//! `reconcile` of a linked import's clients: a client create whose answer was lost is found by
//! probing the ids around its request (`--probe`) or in a clients sheet with ids (`--from`),
//! the results' clients table says `created` with its id, and the next import of the sheet (or a
//! resume of the first, whose journal learned the client) sends the cases that waited for it,
//! linked to exactly their people, creating no client twice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::json;

use crate::linked_send::{first, last, linked_names, people_sheet, person_of, write};
use crate::support::{Sandbox, code, csv_rows, results_column, sheet, show};

/// 60 cases naming 36 people, sent 5 to a request.
const ROWS: usize = 60;
const PEOPLE: usize = 36;

/// The first import of the sheet, against a sandbox that loses the answer of one request in
/// five after acting on it: some client creates are in doubt, and their cases failed. One
/// request at a time, so the seed decides which.
fn lossy_import(seed: &str, results: &str) -> (tempfile::TempDir, Sandbox) {
    lossy_import_with(&["--seed", seed], results)
}

fn lossy_import_with(args: &[&str], results: &str) -> (tempfile::TempDir, Sandbox) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "cases.csv", &people_sheet(ROWS, PEOPLE));
    let mut all = vec!["--faults", "commit-drop:0.2"];
    all.extend(args);
    let sb = Sandbox::start(&all);
    let out = import(&sb, dir.path(), results);
    assert_eq!(code(&out), 1, "some answers were lost: {}", show(&out));
    sb.config(json!({"faults": ""}));
    (dir, sb)
}

fn import(sb: &Sandbox, dir: &Path, results: &str) -> std::process::Output {
    sb.run(
        dir,
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "5",
            "--concurrency",
            "1",
            "--results",
            results,
        ],
    )
}

/// A results table (the rows, or the clients) as text, the header first.
fn table(dir: &Path, results: &str, clients: bool) -> Vec<Vec<String>> {
    let path = dir.join(results);
    match (results.ends_with(".csv"), clients) {
        (true, false) => csv_rows(&path),
        (true, true) => csv_rows(&dir.join(format!("{results}.clients.csv"))),
        (false, false) => sheet(&path, None),
        (false, true) => sheet(&path, Some("Clients")),
    }
}

/// Each client row of the table: (external_source_id, kayse_id, kayse_result, kayse_errors).
fn client_rows(t: &[Vec<String>]) -> Vec<(String, String, String, String)> {
    let col = |h| results_column(t, h);
    let (ext, id, res, err) = (
        col("external_source_id"),
        col("kayse_id"),
        col("kayse_result"),
        col("kayse_errors"),
    );
    (0..ext.len())
        .map(|i| {
            (
                ext[i].clone(),
                id[i].clone(),
                res[i].clone(),
                err[i].clone(),
            )
        })
        .collect()
}

/// The sandbox's clients of the sheet by external id (each once: never a client twice); not
/// those another integration made (`--foreign-writes`).
fn clients_by_external(sb: &Sandbox) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (id, c) in sb.records("clients") {
        if c["external_source"] != "firm" {
            continue;
        }
        let ext = c["external_source_id"].as_str().unwrap_or("").to_string();
        assert!(out.insert(ext.clone(), id).is_none(), "client {ext} twice");
    }
    out
}

/// Every client the sandbox holds is in the table with its id, and a client in the table has
/// the id the sandbox gives its external pair: never a wrong one. Returns those still unknown.
fn check_clients_table(sb: &Sandbox, t: &[Vec<String>]) -> usize {
    let held = clients_by_external(sb);
    let mut unknown = 0;
    let mut shown = BTreeSet::new();
    for (ext, id, res, err) in client_rows(t) {
        match res.as_str() {
            "created" | "unchanged" | "reused" => {
                assert_eq!(id.parse::<u64>().ok(), held.get(&ext).copied(), "{ext}");
                assert!(err.is_empty(), "{ext}: {err}");
                shown.insert(ext);
            }
            "unknown" => {
                assert!(id.is_empty() && !err.is_empty(), "{ext}");
                assert!(!held.contains_key(&ext), "{ext} exists but stays unknown");
                unknown += 1;
            }
            other => panic!("client {ext}: {other} {err}"),
        }
    }
    let missing: Vec<_> = held.keys().filter(|e| !shown.contains(*e)).collect();
    assert!(missing.is_empty(), "clients not in the table: {missing:?}");
    unknown
}

/// Every case the sandbox holds is linked to exactly the person its row names.
fn check_links(sb: &Sandbox) {
    for (n, names) in linked_names(sb) {
        let i: usize = n.trim_start_matches("P-").parse().unwrap();
        let p = person_of(i, PEOPLE);
        assert_eq!(names, [format!("{} {}", first(p), last(p))], "{n}");
    }
}

/// The rows of a results table with this outcome, by case number.
fn cases_with(t: &[Vec<String>], outcome: &str) -> BTreeSet<String> {
    let numbers = results_column(t, "case_number");
    results_column(t, "kayse_result")
        .iter()
        .zip(numbers)
        .filter(|(o, _)| *o == outcome)
        .map(|(_, n)| n)
        .collect()
}

/// After the clients are settled: the sheet imported again sends the cases that failed, linked
/// to their people, with no client request; every case and client exists once.
fn import_again_links_every_case(sb: &Sandbox, dir: &Path, failed: &BTreeSet<String>) {
    let clients_before = sb.records("clients").len();
    let bulk_before = sb.route_count("POST /v1/clients/bulk");
    let out = import(sb, dir, "again.csv");
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(sb.route_count("POST /v1/clients/bulk"), bulk_before);
    assert_eq!(sb.records("clients").len(), clients_before);
    assert_eq!(clients_by_external(sb).len(), PEOPLE);
    let rows = table(dir, "again.csv", false);
    let created = cases_with(&rows, "created");
    assert_eq!(
        &created, failed,
        "the cases that failed, and only they, are created"
    );
    for o in results_column(&rows, "kayse_result") {
        assert!(o == "created" || o == "unchanged", "{o}");
    }
    for (_, id, res, _) in client_rows(&table(dir, "again.csv", true)) {
        assert!(res == "unchanged" || res == "reused", "{res}");
        assert!(!id.is_empty());
    }
    assert_eq!(sb.cases().len(), ROWS);
    assert!(sb.cases().values().all(|ids| ids.len() == 1));
    check_links(sb);
}

#[test]
fn probe_finds_the_lost_clients_and_the_next_import_sends_their_cases() {
    let (dir, sb) = lossy_import("12", "r.csv");
    let d = dir.path();
    let before = table(d, "r.csv", true);
    let lost_clients = client_rows(&before)
        .iter()
        .filter(|c| c.2 == "unknown")
        .count();
    assert!(
        lost_clients >= 5,
        "at least one request of clients was lost"
    );
    let rows_before = table(d, "r.csv", false);
    let failed = cases_with(&rows_before, "failed");
    assert!(!failed.is_empty());
    let reads_before = sb.route_count("GET /v1/clients/{id}");

    let out = sb.run(d, &["reconcile", "r.csv", "--probe"]);
    assert_eq!(code(&out), 1, "the failed cases remain: {}", show(&out));
    let reads = sb.route_count("GET /v1/clients/{id}") - reads_before;
    // Each lost request carried 5 clients: the cost per lost request, for the record.
    eprintln!(
        "probe: {reads} client reads for {lost_clients} clients in doubt ({} requests)",
        lost_clients.div_ceil(5)
    );
    let err = show(&out);
    assert!(
        err.contains(&format!(
            "recovered {lost_clients} of {lost_clients} unknown clients"
        )),
        "{err}"
    );
    assert!(
        err.contains("kayse-bulk import r.csv --only-failed"),
        "{err}"
    );
    let after = table(d, "r.csv", true);
    assert_eq!(check_clients_table(&sb, &after), 0);
    assert_eq!(after.len(), before.len());
    // The rest of the table is as it was.
    let (id, res, errs) = (
        crate::support::col(&after, "kayse_id"),
        crate::support::col(&after, "kayse_result"),
        crate::support::col(&after, "kayse_errors"),
    );
    for (b, a) in before.iter().zip(&after) {
        for (c, (x, y)) in b.iter().zip(a).enumerate() {
            if ![id, res, errs].contains(&c) {
                assert_eq!(x, y, "column {}", before[0][c]);
            }
        }
    }
    // The failed cases stay failed, saying why as they did: they were not sent.
    let rows_after = table(d, "r.csv", false);
    assert_eq!(cases_with(&rows_after, "failed"), failed);
    let why = |t: &[Vec<String>]| -> Vec<String> {
        let res = results_column(t, "kayse_result");
        results_column(t, "kayse_errors")
            .into_iter()
            .zip(res)
            .filter(|(_, o)| o == "failed")
            .map(|(e, _)| e)
            .collect()
    };
    assert_eq!(why(&rows_after), why(&rows_before));
    // The cases in doubt were found as well.
    assert!(cases_with(&table(d, "r.csv", false), "unknown").is_empty());

    import_again_links_every_case(&sb, d, &failed);
}

/// Other writers take client ids between the tool's (`--foreign-writes`): their clients sit in
/// the gaps and match no row, so probing reads more, but never records a wrong id, in the
/// clients table or the ledger.
#[test]
fn probe_with_foreign_clients_in_the_gaps_never_takes_a_wrong_id() {
    use kayse_bulk::record::ledger::Ledger;
    let (dir, sb) = lossy_import_with(&["--seed", "12", "--foreign-writes", "0.3"], "r.csv");
    let d = dir.path();
    let lost = client_rows(&table(d, "r.csv", true))
        .iter()
        .filter(|c| c.2 == "unknown")
        .count();
    assert!(lost > 0, "some client creates were lost");
    let foreign: Vec<u64> = sb
        .records("clients")
        .into_iter()
        .filter(|(_, c)| c["external_source"] != "firm")
        .map(|(id, _)| id)
        .collect();
    assert!(!foreign.is_empty(), "other writers took client ids");
    let reads = sb.route_count("GET /v1/clients/{id}");
    let out = sb.run(d, &["reconcile", "r.csv", "--probe"]);
    assert!(code(&out) <= 1, "{}", show(&out));
    let reads = sb.route_count("GET /v1/clients/{id}") - reads;
    let after = table(d, "r.csv", true);
    let still = check_clients_table(&sb, &after);
    eprintln!(
        "foreign writes: {lost} clients in doubt, {} found, {reads} client reads",
        lost - still
    );
    assert!(still < lost, "{}", show(&out));
    let ledger = Ledger::open(&d.join("kayse.ledger.sqlite")).unwrap();
    for id in &foreign {
        let shown = id.to_string();
        assert!(client_rows(&after).iter().all(|c| c.1 != shown), "{id}");
        assert!(ledger.get("clients", *id).unwrap().is_none(), "{id}");
    }
}

#[test]
fn from_a_clients_sheet_with_ids_sends_nothing_and_keeps_the_clients_sheet() {
    let (dir, sb) = lossy_import("4", "r.xlsx");
    let d = dir.path();
    let before = table(d, "r.xlsx", true);
    let lost = client_rows(&before)
        .iter()
        .filter(|c| c.2 == "unknown")
        .count();
    assert!(lost > 0);
    let failed = cases_with(&table(d, "r.xlsx", false), "failed");
    // A clients sheet with ids, as `export --with-clients` writes one, with a decoy: the same
    // name and email under another external id is not the client.
    let mut csv =
        String::from("id,first_name,last_name,email,external_source,external_source_id\n");
    for (id, c) in sb.records("clients") {
        let f = |k: &str| c[k].as_str().unwrap_or("").to_string();
        csv.push_str(&format!(
            "{id},{},{},{},{},{}\n",
            f("first_name"),
            f("last_name"),
            f("email"),
            f("external_source"),
            f("external_source_id")
        ));
    }
    csv.push_str("99999,Ann,Leea,ann.leea@example.com,firm,someone-else\n");
    write(d, "clients.csv", &csv);
    let requests = sb.stats()["requests"].as_u64().unwrap();
    let bulk = sb.route_count("POST /v1/clients/bulk");

    let out = sb.run(d, &["reconcile", "r.xlsx", "--from", "clients.csv"]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert_eq!(
        sb.stats()["requests"].as_u64().unwrap(),
        requests,
        "no request"
    );
    let after = table(d, "r.xlsx", true);
    assert_eq!(check_clients_table(&sb, &after), 0);
    assert!(
        client_rows(&after).iter().all(|c| c.1 != "99999"),
        "never a wrong id"
    );
    assert_eq!(cases_with(&table(d, "r.xlsx", false), "failed"), failed);

    // The journal learned the clients under their keys: a resume of the first run sends the
    // cases that waited for them, linked to them, and creates no client.
    let out = sb.run(
        d,
        &[
            "import",
            "cases.csv",
            "--batch-size",
            "5",
            "--concurrency",
            "1",
            "--results",
            "r.xlsx",
            "--resume",
        ],
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(sb.route_count("POST /v1/clients/bulk"), bulk);
    assert_eq!(clients_by_external(&sb).len(), PEOPLE);
    let rows = table(d, "r.xlsx", false);
    assert!(
        results_column(&rows, "kayse_result")
            .iter()
            .all(|o| o == "created")
    );
    let t = table(d, "r.xlsx", true);
    assert!(client_rows(&t).iter().all(|c| c.2 == "created"));
    assert_eq!(check_clients_table(&sb, &t), 0);
    assert_eq!(sb.cases().len(), ROWS);
    assert!(sb.cases().values().all(|ids| ids.len() == 1));
    check_links(&sb);

    // And the sheet imported again has nothing left to send.
    let out = import(&sb, d, "again.csv");
    assert_eq!(code(&out), 0, "{}", show(&out));
    eprintln!(
        "AGAIN {:?} {:?}",
        results_column(&table(d, "again.csv", false), "kayse_result"),
        results_column(&table(d, "again.csv", false), "kayse_errors")
    );
    assert!(
        results_column(&table(d, "again.csv", false), "kayse_result")
            .iter()
            .all(|o| o == "unchanged")
    );
}

/// A results file with a clients table and no client in doubt: its table comes back as it was
/// (an XLSX results file keeps its Clients sheet).
#[test]
fn a_clients_table_with_nothing_in_doubt_is_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "cases.csv", &people_sheet(12, 8));
    let sb = Sandbox::start(&[]);
    let out = import(&sb, d, "r.xlsx");
    assert_eq!(code(&out), 0, "{}", show(&out));
    let before = table(d, "r.xlsx", true);
    let out = sb.run(d, &["reconcile", "r.xlsx", "--probe"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(table(d, "r.xlsx", true), before);
    assert!(!show(&out).contains("unknown clients"), "{}", show(&out));
}

/// `--budget` bounds the probe: it stops after that many reads, writes what it found, and a
/// later probe finds the rest.
#[test]
fn the_budget_bounds_the_probe_and_a_second_one_finishes() {
    // A seed that loses client requests and no case request: every read goes to the clients.
    let (dir, sb) = lossy_import("23", "r.csv");
    let d = dir.path();
    assert!(cases_with(&table(d, "r.csv", false), "unknown").is_empty());
    let lost = client_rows(&table(d, "r.csv", true))
        .iter()
        .filter(|c| c.2 == "unknown")
        .count();
    assert!(lost > 3, "more clients in doubt than the budget");
    let requests = sb.stats()["requests"].as_u64().unwrap();
    let out = sb.run(d, &["reconcile", "r.csv", "--probe", "--budget", "3"]);
    assert!(code(&out) != 0, "{}", show(&out));
    assert!(sb.stats()["requests"].as_u64().unwrap() - requests <= 3);
    let first = client_rows(&table(d, "r.csv", true))
        .iter()
        .filter(|c| c.2 == "unknown")
        .count();
    // The reads it could afford may all have been ids no one holds: found or not, it stopped.
    assert!(first <= lost, "{first} of {lost} left: {}", show(&out));
    assert!(show(&out).contains("--budget is spent"), "{}", show(&out));
    let out = sb.run(d, &["reconcile", "r.csv", "--probe"]);
    assert!(code(&out) <= 1, "{}", show(&out));
    assert_eq!(check_clients_table(&sb, &table(d, "r.csv", true)), 0);
}

/// With both cases and clients in doubt, a small `--budget` goes to the clients first: cases
/// that wait for a client cannot be sent until it is found, while a case in doubt waits for
/// nothing.
#[test]
fn a_small_budget_goes_to_the_clients_first() {
    let unknown_clients = |d: &Path| {
        client_rows(&table(d, "r.csv", true))
            .iter()
            .filter(|c| c.2 == "unknown")
            .count()
    };
    // A seed that loses both a case request and a client request.
    let (dir, sb) = (1..40)
        .map(|seed| lossy_import(&seed.to_string(), "r.csv"))
        .find(|(dir, _)| {
            let d = dir.path();
            !cases_with(&table(d, "r.csv", false), "unknown").is_empty() && unknown_clients(d) > 0
        })
        .expect("a seed that loses both kinds of request");
    let d = dir.path();
    let cases_before = cases_with(&table(d, "r.csv", false), "unknown");
    let clients_before = unknown_clients(d);
    let out = sb.run(d, &["reconcile", "r.csv", "--probe", "--budget", "2"]);
    assert!(code(&out) != 0, "{}", show(&out));
    assert!(
        unknown_clients(d) < clients_before,
        "the budget found no client: {}",
        show(&out)
    );
    assert_eq!(
        cases_with(&table(d, "r.csv", false), "unknown"),
        cases_before,
        "no read went to the cases"
    );
}

/// A Clio matters export joined to its contacts export (`--clients`): the contacts whose
/// create was lost are found, and the next step the summary prints (the import of the results
/// with `--only-failed`, joining the same contacts, as the journal recorded) sends the matters
/// that waited, each linked to exactly its contacts.
#[test]
fn a_joined_import_s_clients_are_settled_and_the_next_step_joins_them_again() {
    use crate::joined::{clio_export, links, wanted_links};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    clio_export(d, 60, 36);
    let sb = Sandbox::start(&["--faults", "commit-drop:0.2", "--seed", "1"]);
    let out = sb.run(
        d,
        &[
            "import",
            "matters.csv",
            "--clients",
            "contacts.csv",
            "--batch-size",
            "5",
            "--concurrency",
            "1",
            "--results",
            "r.csv",
        ],
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    sb.config(json!({"faults": ""}));
    let lost = client_rows(&table(d, "r.csv", true))
        .iter()
        .filter(|c| c.2 == "unknown")
        .count();
    assert!(lost > 0, "some contacts' creates were lost");
    let out = sb.run(d, &["reconcile", "r.csv", "--probe", "--json"]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let next = s["next"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        next,
        "kayse-bulk import r.csv --only-failed --clients contacts.csv"
    );
    let unknown = client_rows(&table(d, "r.csv", true))
        .iter()
        .filter(|c| c.2 == "unknown")
        .count();
    assert_eq!(unknown, 0);
    let bulk = sb.route_count("POST /v1/clients/bulk");
    let words: Vec<&str> = next.split(' ').skip(1).collect();
    let out = sb.run(d, &words);
    assert!(code(&out) <= 1, "{}", show(&out));
    assert_eq!(sb.route_count("POST /v1/clients/bulk"), bulk);
    let mut by_ext = BTreeSet::new();
    for c in sb.records("clients").values() {
        let ext = c["external_source_id"].as_str().unwrap_or("").to_string();
        assert!(by_ext.insert(ext.clone()), "contact {ext} twice");
    }
    assert_eq!(links(&sb), wanted_links(60, 36));
}
