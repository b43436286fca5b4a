//! Clients from a second table joined to the cases by a firm key, through the binary: a Clio
//! matters export with its contacts export (`--clients`), a table of keys that name no row, two
//! rows, a row with bad cells or several rows at once, and a workbook holding a `Cases` and a
//! `Clients` sheet. `validate` and `import --dry-run` read them alike; `import` sends the clients
//! and then the cases linked to them, and a `--resume` after the clients table changed is
//! refused. Results are read back cell by cell, the links from the sandbox's state.

use std::path::Path;

use serde_json::Value;

use std::collections::BTreeMap;

use crate::support::{Sandbox, cli, code, csv_rows, results_column, sample, sheet, show};

fn run(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = cli().current_dir(dir).args(args).output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code(&out), json, show(&out))
}

fn warnings(s: &Value) -> Vec<String> {
    s["warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|w| w.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_clio_matters_export_joins_its_contacts_export_with_no_mapping_file() {
    let dir = tempfile::tempdir().unwrap();
    let matters = sample("presets/clio-matters.csv");
    let contacts = sample("presets/clio-contacts.csv");
    let (matters, contacts) = (matters.to_str().unwrap(), contacts.to_str().unwrap());
    for command in [&["validate"][..], &["import", "--dry-run"][..]] {
        let mut args = command.to_vec();
        args.extend([
            matters,
            "--clients",
            contacts,
            "--results",
            "r.xlsx",
            "--json",
        ]);
        let (code, s, shown) = run(dir.path(), &args);
        assert_eq!(code, 0, "{command:?}: {shown}");
        assert_eq!(s["counts"]["valid"], 6, "{s}");
        assert_eq!(s["creates"], 6, "{s}");
        let plan = s["plan"].as_str().unwrap_or_default();
        assert!(
            plan.starts_with("5 clients to create in 1 request, then 6 cases; 2 requests"),
            "{command:?}: {plan}"
        );
        let w = warnings(&s);
        assert!(
            w.contains(
                &"clients: read from clio-contacts.csv (5 rows), joined to the cases by 'Client ID' = 'ID'"
                    .to_string()
            ),
            "{w:?}"
        );
        assert!(
            w.contains(&"the case sheet's own client columns ('Client') are not read as clients: the clients come from the joined table".to_string()),
            "{w:?}"
        );
        assert!(!w.iter().any(|l| l.contains("named by no case")), "{w:?}");

        let book = dir.path().join("r.xlsx");
        let results = sheet(&book, None);
        assert_eq!(results_column(&results, "kayse_result"), vec!["valid"; 6]);
        // One row per contact named, as the contacts export gives it.
        let clients = sheet(&book, Some("Clients"));
        let column = |h: &str| results_column(&clients, h);
        assert_eq!(
            column("first_name"),
            ["Maria", "Terrence", "Lily", "Rafael", "Kimberly"]
        );
        assert_eq!(
            column("last_name"),
            ["Alvarez", "Brooks", "Chen", "Duarte", "Evans"]
        );
        assert_eq!(
            column("email"),
            [
                "maria.alvarez@example.com",
                "tbrooks@example.net",
                "lily.chen@example.org",
                "",
                "kim.evans@example.com"
            ]
        );
        assert_eq!(
            column("mobile"),
            [
                "+14045550142",
                "+14045550177",
                "+17705550103",
                "+16785550190",
                ""
            ]
        );
        assert_eq!(
            column("external_source_id"),
            ["5501", "5502", "5503", "5504", "5505"]
        );
        assert_eq!(column("external_source"), vec!["clio"; 5]);
        assert_eq!(column("external_source_id_derived"), vec!["false"; 5]);
        assert_eq!(
            column("source_rows"),
            ["row 2, row 7", "row 3", "row 4", "row 5", "row 6"]
        );
        assert_eq!(column("kayse_result"), vec!["valid"; 5]);
    }
}

/// A Litify matters export joins its accounts export by `litify_pm__Client__c` = `Id`.
#[test]
fn a_litify_matters_export_joins_its_accounts_export() {
    let dir = tempfile::tempdir().unwrap();
    let matters = sample("presets/litify-matters.csv");
    let accounts = sample("presets/litify-accounts.csv");
    let (code, s, shown) = run(
        dir.path(),
        &[
            "validate",
            matters.to_str().unwrap(),
            "--clients",
            accounts.to_str().unwrap(),
            "--results",
            "r.csv",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{shown}");
    assert_eq!(s["counts"]["valid"], 3, "{s}");
    let clients = csv_rows(&dir.path().join("r.csv.clients.csv"));
    let column = |h: &str| results_column(&clients, h);
    assert_eq!(
        column("external_source_id"),
        [
            "0015e00000Lmn01AAB",
            "0015e00000Lmn02AAB",
            "0015e00000Lmn03AAB"
        ]
    );
    assert_eq!(column("last_name"), ["Harper", "Ibarra", "Jensen"]);
    assert_eq!(
        column("date_of_birth"),
        ["1979-04-22", "1988-10-03", "1965-01-17"]
    );
    assert_eq!(column("external_source"), vec!["litify"; 3]);
    assert_eq!(column("source_rows"), ["row 2", "row 3", "row 4"]);
}

/// contacts.csv has a bad email (5502), a key on two rows (5503), a row no case names (5506);
/// matters.csv names an unknown key, those, and two clients in one cell.
const CONTACTS: &str = "\
ID,First Name,Last Name,Primary Email Address,Primary Phone Number
5501,Maria,Alvarez,maria@example.com,(404) 555-0142
5502,Terrence,Brooks,tbrooks@,404-555-0177
5503,Lily,Chen,lily@example.org,
5503,Lilian,Chen,lilian@example.org,
5504,Rafael,Duarte,,678.555.0190
5505,Kimberly,Evans,kim@example.com,
5506,Never,Named,,
";

const MATTERS: &str = "\
Display Number,Unique ID,Status,Practice Area,Open Date,Client ID,Client
M-1,u1,Open,PI,01/25/2024,5501,Maria Alvarez
M-2,u2,Open,PI,01/25/2024,5502,Terrence Brooks
M-3,u3,Open,PI,01/25/2024,5503,Lily Chen
M-4,u4,Open,PI,01/25/2024,5599,Nobody Here
M-5,u5,Open,PI,01/25/2024,5504; 5505,Rafael Duarte
M-6,u6,Open,PI,01/25/2024,,
M-7,u7,Open,PI,01/25/2024,5501;5502;5504;5505,Maria Alvarez
";

#[test]
fn keys_that_name_no_row_two_rows_or_a_bad_row_make_the_case_invalid() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("contacts.csv"), CONTACTS).unwrap();
    std::fs::write(dir.path().join("matters.csv"), MATTERS).unwrap();
    for command in [&["validate"][..], &["import", "--dry-run"][..]] {
        let mut args = command.to_vec();
        args.extend([
            "matters.csv",
            "--clients",
            "contacts.csv",
            "--results",
            "r.csv",
            "--json",
        ]);
        let (code, s, shown) = run(dir.path(), &args);
        assert_eq!(code, 1, "{command:?}: {shown}");
        assert_eq!(s["counts"]["valid"], 3, "{s}");
        assert_eq!(s["counts"]["invalid"], 4, "{s}");
        let rows = csv_rows(&dir.path().join("r.csv"));
        let results = results_column(&rows, "kayse_result");
        let errors = results_column(&rows, "kayse_errors");
        // (case row, result, errors)
        let table: &[(usize, &str, &str)] = &[
            (2, "valid", ""),
            (
                3,
                "invalid",
                "Client ID: the client with ID '5502' (row 3 of contacts.csv) is invalid: email: has nothing after the @ (value 'tbrooks@')",
            ),
            (
                4,
                "invalid",
                "Client ID: ID '5503' is ambiguous: rows 4, 5 of contacts.csv all have it",
            ),
            (
                5,
                "invalid",
                "Client ID: no row of contacts.csv has ID '5599'",
            ),
            (6, "valid", ""),
            (7, "valid", ""),
            (
                8,
                "invalid",
                "Client ID: names 4 clients; a case may name at most 3 (value '5501;5502;5504;5505')",
            ),
        ];
        for (row, result, error) in table {
            assert_eq!(results[row - 2], *result, "row {row}");
            assert_eq!(errors[row - 2], *error, "row {row}");
        }
        let clients = csv_rows(&dir.path().join("r.csv.clients.csv"));
        assert_eq!(
            results_column(&clients, "external_source_id"),
            ["5501", "5504", "5505"]
        );
        assert_eq!(
            results_column(&clients, "source_rows"),
            ["row 2", "row 6", "row 6 (Client 2)"]
        );
        let plan = s["plan"].as_str().unwrap_or_default();
        assert!(
            plan.starts_with("3 clients to create in 1 request, then 3 cases; 2 requests"),
            "{plan}"
        );
        let w = warnings(&s);
        assert!(
            w.contains(
                &"clients: 1 of the 7 rows of contacts.csv are named by no case, so they are not sent"
                    .to_string()
            ),
            "{w:?}"
        );
    }
}

/// A workbook with a `Clients` sheet (first) and a `Cases` sheet joined by `client_ref`.
fn two_sheet_workbook(path: &Path, cases_key: &str) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let clients = book.add_worksheet().set_name("Clients").unwrap();
    let rows: &[&[&str]] = &[
        &["client_ref", "First Name", "Last Name", "Email", "Mobile"],
        &[
            "C-1",
            "Maria",
            "Garcia",
            "maria@example.com",
            "(404) 555-0123",
        ],
        &["C-2", "Li", "Wei", "li@", ""],
        &["C-3", "Ann", "Lee", "", "+44 7400 123456"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            clients.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    let cases = book.add_worksheet().set_name("CASES").unwrap();
    let rows: &[&[&str]] = &[
        &[
            "case_number",
            "external_source",
            "external_source_id",
            "status",
            "type",
            cases_key,
        ],
        &["A-1", "firm", "a1", "open", "civil", "C-1"],
        &["A-2", "firm", "a2", "open", "civil", "C-2"],
        &["A-3", "firm", "a3", "open", "civil", "C-1;C-3"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            cases.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    book.save(path).unwrap();
}

#[test]
fn a_workbook_with_cases_and_clients_sheets_is_joined_by_client_ref() {
    let dir = tempfile::tempdir().unwrap();
    two_sheet_workbook(&dir.path().join("firm.xlsx"), "Client Ref");
    for command in [&["validate"][..], &["import", "--dry-run"][..]] {
        let mut args = command.to_vec();
        args.extend(["firm.xlsx", "--results", "r.xlsx", "--json"]);
        let (code, s, shown) = run(dir.path(), &args);
        assert_eq!(code, 1, "{command:?}: {shown}");
        assert_eq!(s["counts"]["valid"], 2, "{s}");
        assert_eq!(s["counts"]["invalid"], 1, "{s}");
        let w = warnings(&s);
        assert!(
            w.contains(
                &"clients: read from sheet 'Clients' (3 rows), joined to the cases by 'Client Ref' = 'client_ref'"
                    .to_string()
            ),
            "{w:?}"
        );
        assert!(!shown.contains("other sheets not read"), "{shown}");
        let book = dir.path().join("r.xlsx");
        let results = sheet(&book, None);
        assert_eq!(
            results_column(&results, "case_number"),
            ["A-1", "A-2", "A-3"],
            "the Cases sheet is the case sheet"
        );
        assert_eq!(
            results_column(&results, "kayse_errors"),
            [
                "",
                "Client Ref: the client with client_ref 'C-2' (row 3 of sheet 'Clients') is invalid: email: has nothing after the @ (value 'li@')",
                ""
            ]
        );
        let clients = sheet(&book, Some("Clients"));
        let column = |h: &str| results_column(&clients, h);
        assert_eq!(column("first_name"), ["Maria", "Ann"]);
        assert_eq!(column("mobile"), ["+14045550123", "+447400123456"]);
        // No id column: the key is the client's id; the source is the case's.
        assert_eq!(column("external_source_id"), ["C-1", "C-3"]);
        assert_eq!(column("external_source"), ["firm", "firm"]);
        assert_eq!(column("source_rows"), ["row 2, row 4", "row 4 (Client 2)"]);
    }
}

/// A workbook whose `Cases` sheet has no key (an export with `--with-clients`, whose cases link
/// by `client_ids`) is read as before, and the summary says why its `Clients` sheet is not.
#[test]
fn a_two_sheet_workbook_without_a_key_reads_its_cases_alone() {
    let dir = tempfile::tempdir().unwrap();
    two_sheet_workbook(&dir.path().join("firm.xlsx"), "notes");
    let (code, s, shown) = run(
        dir.path(),
        &["validate", "firm.xlsx", "--results", "r.csv", "--json"],
    );
    assert_eq!(code, 0, "{shown}");
    assert_eq!(s["counts"]["valid"], 3, "{s}");
    assert!(
        warnings(&s).contains(&"sheet 'Clients' is not read as the cases' clients: sheet 'CASES' has no client_ref column to join them by".to_string()),
        "{s}"
    );
    assert!(!dir.path().join("r.csv.clients.csv").exists());
}

#[test]
fn clients_files_that_cannot_be_joined_are_refused_before_any_row() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("contacts.csv"), CONTACTS).unwrap();
    std::fs::write(dir.path().join("matters.csv"), MATTERS).unwrap();
    std::fs::write(
        dir.path().join("plain.csv"),
        "case_number,external_source,external_source_id,status,type\nA-1,firm,a1,open,civil\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("people.csv"),
        "First Name,Last Name\nAnn,Lee\n",
    )
    .unwrap();
    let table: &[(&[&str], &str)] = &[
        (
            &["matters.csv", "--entity", "clients"],
            "--clients joins a clients table to a case sheet; it cannot be used with --entity clients",
        ),
        (
            &["matters.csv", "--without-clients"],
            "--clients reads the cases' clients and --without-clients leaves them unread",
        ),
        (
            &["plain.csv"],
            "has no column to join its cases to their clients by: without a preset, a client_ref column in both tables holds the key",
        ),
    ];
    for (args, want) in table {
        let mut all = vec!["validate"];
        all.extend_from_slice(args);
        all.extend(["--clients", "contacts.csv", "--results", "r.csv"]);
        let (code, _, shown) = run(dir.path(), &all);
        assert_eq!(code, 2, "{args:?}: {shown}");
        assert!(shown.contains(want), "{args:?}: {shown}");
    }
    let (code, _, shown) = run(
        dir.path(),
        &[
            "validate",
            "matters.csv",
            "--clients",
            "people.csv",
            "--results",
            "r.csv",
        ],
    );
    assert_eq!(code, 2, "{shown}");
    assert!(
        shown.contains("clients table people.csv: it has no 'ID' column, which the cases' 'Client ID' column names"),
        "{shown}"
    );
    std::fs::write(
        dir.path().join("keyed.csv"),
        "case_number,external_source,external_source_id,status,type,Client Ref\nA-1,firm,a1,open,civil,C-1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("nameless.csv"),
        "client_ref,Given,Family\nC-1,Ann,Lee\n",
    )
    .unwrap();
    let (code, _, shown) = run(
        dir.path(),
        &[
            "validate",
            "keyed.csv",
            "--clients",
            "nameless.csv",
            "--results",
            "r.csv",
        ],
    );
    assert_eq!(code, 2, "{shown}");
    assert!(
        shown.contains("error: clients table nameless.csv: no column for the required fields first_name, last_name; name its columns as the client fields are named"),
        "{shown}"
    );
    assert!(!dir.path().join("r.csv").exists());
}

/// A Clio matters export of `matters` matters and its contacts export of `contacts` people:
/// matter `n` belongs to contact `5000 + n % contacts`; every fifth matter also to the next one.
pub fn clio_export(dir: &Path, matters: usize, contacts: usize) {
    let mut c =
        String::from("ID,First Name,Last Name,Primary Email Address,Primary Phone Number,Type\n");
    for k in 0..contacts {
        c.push_str(&format!(
            "{},First{k},Last{k},person{k}@example.com,(404) 555-{:04},Person\n",
            5000 + k,
            k
        ));
    }
    std::fs::write(dir.join("contacts.csv"), c).unwrap();
    let mut m = String::from(
        "Display Number,Unique ID,Description,Status,Practice Area,Open Date,Client ID,Client\n",
    );
    for n in 0..matters {
        let key = if n % 5 == 0 {
            format!("{}; {}", 5000 + n % contacts, 5000 + (n + 1) % contacts)
        } else {
            (5000 + n % contacts).to_string()
        };
        m.push_str(&format!(
            "{n:05}-M,{},Matter {n},Open,Personal Injury,01/{:02}/2024,{key},Someone Else\n",
            1_184_120_000 + n,
            n % 28 + 1
        ));
    }
    std::fs::write(dir.join("matters.csv"), m).unwrap();
}

/// case_number → the external ids (Clio contact ids) of the clients the sandbox links to it.
pub fn links(sb: &Sandbox) -> BTreeMap<String, Vec<String>> {
    let clients = sb.records("clients");
    sb.records("cases")
        .values()
        .map(|c| {
            let mut ids: Vec<String> = c["client_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .map(|id| {
                    clients[&id]["external_source_id"]
                        .as_str()
                        .unwrap_or("")
                        .to_string()
                })
                .collect();
            ids.sort();
            (c["case_number"].as_str().unwrap_or("").to_string(), ids)
        })
        .collect()
}

/// What each matter of `clio_export` should be linked to.
pub fn wanted_links(matters: usize, contacts: usize) -> BTreeMap<String, Vec<String>> {
    (0..matters)
        .map(|n| {
            let mut ids = vec![(5000 + n % contacts).to_string()];
            if n % 5 == 0 {
                ids.push((5000 + (n + 1) % contacts).to_string());
            }
            ids.sort();
            (format!("{n:05}-M"), ids)
        })
        .collect()
}

/// 500 Clio matters with their contacts export import with no mapping file: 200 clients in 2
/// requests, 500 cases in 5, each linked to exactly its contacts; a re-run sends nothing.
#[test]
fn a_clio_export_and_its_contacts_import_linked_and_a_rerun_is_free() {
    let dir = tempfile::tempdir().unwrap();
    clio_export(dir.path(), 500, 200);
    let sb = Sandbox::start(&[]);
    let args = [
        "import",
        "matters.csv",
        "--clients",
        "contacts.csv",
        "--results",
        "r.csv",
        "--json",
    ];
    let out = sb.run(dir.path(), &args);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(s["counts"]["created"], 500, "{s}");
    assert_eq!(s["clients"]["created"], 200, "{s}");
    assert_eq!(sb.route_count("POST /v1/clients/bulk"), 2);
    assert_eq!(sb.bulk_requests(), 5);
    assert_eq!(links(&sb), wanted_links(500, 200));
    let cases = sb.records("cases");
    let first = cases
        .values()
        .find(|c| c["case_number"] == "00007-M")
        .unwrap();
    assert_eq!(first["external_source"], "clio");
    assert_eq!(first["external_source_id"], "1184120007");
    assert_eq!(first["type"], "Personal Injury");
    assert_eq!(first["created_date"], "2024-01-08");
    let clients = sb.records("clients");
    let c7 = clients
        .values()
        .find(|c| c["external_source_id"] == "5007")
        .unwrap();
    assert_eq!(
        (&c7["first_name"], &c7["last_name"], &c7["mobile"]),
        (
            &Value::from("First7"),
            &Value::from("Last7"),
            &Value::from("+14045550007")
        )
    );

    let (clients_before, cases_before) =
        (sb.route_count("POST /v1/clients/bulk"), sb.bulk_requests());
    let again = [
        "import",
        "matters.csv",
        "--clients",
        "contacts.csv",
        "--results",
        "again.csv",
    ];
    let out = sb.run(dir.path(), &again);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(sb.route_count("POST /v1/clients/bulk"), clients_before);
    assert_eq!(sb.bulk_requests(), cases_before);
    assert_eq!(sb.records("clients").len(), 200);
}

/// A run stopped after its first request resumes without `--clients` given again (the journal
/// recorded it), but not once the clients table changed: its rows are in the input's fingerprint.
#[test]
fn a_resume_reads_the_same_clients_table_or_refuses() {
    let dir = tempfile::tempdir().unwrap();
    clio_export(dir.path(), 20, 8);
    let sb = Sandbox::start(&[]);
    let out = sb.run(
        dir.path(),
        &[
            "import",
            "matters.csv",
            "--clients",
            "contacts.csv",
            "--results",
            "r.csv",
            "--batch-size",
            "10",
            "--budget",
            "1",
        ],
    );
    assert_eq!(code(&out), 3, "{}", show(&out));
    let contacts = dir.path().join("contacts.csv");
    let kept = std::fs::read_to_string(&contacts).unwrap();
    std::fs::write(&contacts, kept.replace("First3,", "Firsty3,")).unwrap();
    let resume = ["import", "matters.csv", "--results", "r.csv", "--resume"];
    let out = sb.run(dir.path(), &resume);
    assert_eq!(code(&out), 2, "{}", show(&out));
    assert!(
        show(&out).contains("belongs to a different input than matters.csv with the clients table contacts.csv (the content of one of them changed)"),
        "{}",
        show(&out)
    );
    std::fs::write(&contacts, kept).unwrap();
    let out = sb.run(dir.path(), &resume);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(links(&sb), wanted_links(20, 8));
    assert_eq!(sb.records("clients").len(), 8);
}
