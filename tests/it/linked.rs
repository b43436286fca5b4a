//! Clients on a case sheet (`Client`, `Client Email`, `Client 2 Name`, ...) through the binary:
//! `validate` and `import --dry-run` read, check and deduplicate the people the rows name and
//! count the requests the linked import would make; `--without-clients` sends the cases alone.
//! Results read back cell by cell. The sending of the clients is in `linked_send`.

use std::path::Path;

use serde_json::Value;

use crate::support::{Sandbox, bin, code, csv_rows, results_column, sheet, show};

/// The same people written several ways: Maria by three emails' spellings and phone formats,
/// Li by email case; a couple sharing an email (kept apart); a company name and a bad email
/// (invalid rows).
pub const SHEET: &str = "\
case_number,external_source,external_source_id,status,type,Client,Client Email,Client Phone,Client 2 Name,Client 2 Email
A-1,clio,m1,active,civil,Maria Garcia,maria@example.com,(404) 555-0123,,
A-2,clio,m2,active,civil,\"Garcia, Maria\",MARIA@Example.com,404.555.0123,Li Wei,li@example.com
A-3,clio,m3,active,civil,M. Garcia,,+1 404 555 0123,,
A-4,clio,m4,active,civil,Li Wei,LI@EXAMPLE.COM,,,
A-5,clio,m5,active,civil,Ann Lee,lees@example.com,,Bob Lee,lees@example.com
A-6,clio,m6,active,civil,Acme Holdings LLC,,,,
A-7,clio,m7,active,civil,Tom Hardy,not-an-email,,,
";

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn write(dir: &Path) {
    std::fs::write(dir.join("cases.csv"), SHEET).unwrap();
}

#[test]
fn validate_and_the_dry_run_count_each_person_once() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    for args in [
        &["validate", "cases.csv", "--results", "r.csv", "--json"][..],
        &[
            "import",
            "cases.csv",
            "--dry-run",
            "--results",
            "r.csv",
            "--json",
        ][..],
    ] {
        let out = std::process::Command::new(bin())
            .current_dir(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(code(&out), 1, "{args:?}: {}", show(&out));
        let s = json_of(&out);
        assert_eq!(s["counts"]["valid"], 5, "{s}");
        assert_eq!(s["counts"]["invalid"], 2, "{s}");
        let plan = s["plan"].as_str().unwrap_or_default();
        assert!(
            plan.starts_with("4 clients to create in 1 request, then 5 cases; 2 requests"),
            "{args:?}: {plan}"
        );
        let warnings = s["warnings"].to_string();
        assert!(
            warnings.contains("the rows name 4 distinct clients"),
            "{warnings}"
        );
        assert!(
            warnings.contains(
                "clients kept apart: row 6 (Client 2) shares the email of row 6, but the names differ: not merged"
            ),
            "{warnings}"
        );
        let rows = csv_rows(&dir.path().join("r.csv"));
        assert_eq!(
            results_column(&rows, "kayse_result"),
            [
                "valid", "valid", "valid", "valid", "valid", "invalid", "invalid"
            ]
        );
        let errors = results_column(&rows, "kayse_errors");
        assert!(
            errors[5].starts_with("Client: cannot be split into a first and a last name: "),
            "{}",
            errors[5]
        );
        assert!(errors[5].contains("'Acme Holdings LLC'"), "{}", errors[5]);
        assert!(errors[6].starts_with("Client Email: "), "{}", errors[6]);

        // The Clients table: one row per person, as the rows wrote them and as they would go.
        let clients = csv_rows(&dir.path().join("r.csv.clients.csv"));
        assert_eq!(
            results_column(&clients, "first_name"),
            ["Maria", "Li", "Ann", "Bob"]
        );
        assert_eq!(
            results_column(&clients, "source_rows"),
            [
                "row 2, row 3, row 4",
                "row 3 (Client 2), row 5",
                "row 6",
                "row 6 (Client 2)"
            ]
        );
        assert_eq!(
            results_column(&clients, "email"),
            [
                "maria@example.com",
                "li@example.com",
                "lees@example.com",
                "lees@example.com"
            ]
        );
        // Formula-guarded, as every CSV the tool writes; its readers take the guard off.
        assert_eq!(results_column(&clients, "mobile")[0], "'+14045550123");
        assert_eq!(results_column(&clients, "external_source"), vec!["clio"; 4]);
        assert_eq!(results_column(&clients, "kayse_result"), vec!["valid"; 4]);
        assert_eq!(
            results_column(&clients, "external_source_id_derived"),
            vec!["TRUE"; 4]
        );
        let ids = results_column(&clients, "external_source_id");
        assert!(ids.iter().all(|i| i.starts_with("kb-")), "{ids:?}");
        let why = results_column(&clients, "why");
        assert!(why[0].contains("row 3: same email as row 2"), "{}", why[0]);
        assert!(why[0].contains("row 4: same mobile as row 2"), "{}", why[0]);
        assert!(why[3].contains("names differ"), "{}", why[3]);
    }

    // An XLSX results file has them on a sheet of their own, after Results.
    let out = std::process::Command::new(bin())
        .current_dir(dir.path())
        .args(["validate", "cases.csv"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", show(&out));
    let book = dir.path().join("cases.validation.xlsx");
    let clients = sheet(&book, Some("Clients"));
    assert_eq!(clients.len(), 5, "{clients:?}");
    assert_eq!(
        results_column(&clients, "last_name"),
        ["Garcia", "Wei", "Lee", "Lee"]
    );
    assert_eq!(
        sheet(&book, None)[0][1],
        "kayse_result",
        "Results stays first"
    );
}

#[test]
fn without_clients_sends_the_cases_alone() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    let sb = Sandbox::start(&[]);
    let out = sb.run(
        dir.path(),
        &[
            "import",
            "cases.csv",
            "--results",
            "r.csv",
            "--without-clients",
        ],
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    let rows = csv_rows(&dir.path().join("r.csv"));
    assert_eq!(results_column(&rows, "kayse_result"), vec!["created"; 7]);
    assert_eq!(sb.bulk_requests(), 1);
    assert_eq!(sb.route_count("POST /v1/clients/bulk"), 0);
    assert!(!dir.path().join("r.csv.clients.csv").exists());
}

/// A firm's lone `Client ID` column, or a `Client` column of surnames, is no client: the rows
/// stay valid and the summary says why the columns were not read.
#[test]
fn columns_that_cannot_name_a_client_are_left_unread() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cases.csv"),
        "case_number,external_source,external_source_id,status,type,Client ID,Client\n\
         A-1,clio,m1,active,civil,5501,Ortiz\n\
         A-2,clio,m2,active,civil,5502,Nguyen\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin())
        .current_dir(dir.path())
        .args(["validate", "cases.csv", "--results", "r.csv", "--json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let s = json_of(&out);
    assert_eq!(s["counts"]["valid"], 2, "{s}");
    let warnings = s["warnings"].to_string();
    assert!(
        warnings
            .contains("column 'Client' holds 2 of 2 values that are not a first and a last name"),
        "{warnings}"
    );
    assert!(warnings.contains("Client ID"), "{warnings}");
    assert!(
        s["plan"]
            .as_str()
            .unwrap_or_default()
            .starts_with("1 request"),
        "{s}"
    );
}

/// One external id under two names: the sheet contradicts itself, so every row naming that
/// client is invalid with the reason, and the Clients table says so too.
#[test]
fn a_client_the_sheet_contradicts_fails_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cases.csv"),
        "case_number,external_source,external_source_id,status,type,Client First Name,Client Last Name,Client ID\n\
         A-1,clio,m1,active,civil,Maria,Garcia,5501\n\
         A-2,clio,m2,active,civil,Ann,Lee,5501\n\
         A-3,clio,m3,active,civil,Li,Wei,5502\n\
         A-4,clio,m4,active,civil,,,5502\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin())
        .current_dir(dir.path())
        .args(["validate", "cases.csv", "--results", "r.csv"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", show(&out));
    let rows = csv_rows(&dir.path().join("r.csv"));
    assert_eq!(
        results_column(&rows, "kayse_result"),
        ["invalid", "invalid", "valid", "valid"]
    );
    let errors = results_column(&rows, "kayse_errors");
    assert!(
        errors[0].starts_with("client: row 3 has the external id of row 2, but the names differ"),
        "{}",
        errors[0]
    );
    assert_eq!(errors[0], errors[1]);
    let clients = csv_rows(&dir.path().join("r.csv.clients.csv"));
    assert_eq!(
        results_column(&clients, "kayse_result"),
        ["invalid", "valid"]
    );
    assert_eq!(
        results_column(&clients, "external_source_id"),
        ["5501", "5502"]
    );
    assert_eq!(
        results_column(&clients, "source_rows"),
        ["row 2, row 3", "row 4, row 5"]
    );
}
