//! `sms` and `email` rows that name the case by `case_number` and the client by email or mobile:
//! a workflow a firm runs after migrating (import the clients, import the cases, text them by
//! their own keys). The keys are found in the ledger the imports kept, with no request; a key the
//! ledger cannot answer makes its row `invalid` and says why. Counted on the sandbox's own list
//! of messages and its request statistics.

use std::path::Path;

use crate::support::*;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// Clients then cases imported into `dir`'s ledger: (client ids by first name, case ids by number).
fn migrated(sb: &Sandbox, dir: &Path) -> (Vec<String>, Vec<String>) {
    write(
        dir,
        "clients.csv",
        "first_name,last_name,external_source,external_source_id,email,mobile\n\
         Maria,Garcia,clio,C-1,maria@example.com,(404) 555-0123\n\
         Li,Wei,clio,C-2,li.wei@example.org,404-555-0188\n",
    );
    let o = sb.run(dir, &["import", "clients.csv", "--entity", "clients"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let clients = results_column(&sheet(&dir.join("clients.results.xlsx"), None), "kayse_id");
    write(
        dir,
        "cases.csv",
        "case_number,external_source,external_source_id,status,type\n\
         K-1,clio,M-1,active,civil\n\
         K-2,clio,M-2,active,civil\n",
    );
    let o = sb.run(dir, &["import", "cases.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let cases = results_column(&sheet(&dir.join("cases.results.xlsx"), None), "kayse_id");
    (clients, cases)
}

#[test]
fn messages_by_case_number_and_client_email_or_mobile_cost_no_lookup_request() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (clients, cases) = migrated(&sb, d);
    let before = sb.stats()["requests"].as_u64().unwrap();

    write(
        d,
        "text.csv",
        "case_number,client_email,message\n\
         K-1,MARIA@Example.com,Court moved\n\
         K-2,li.wei@example.org,Papers ready\n\
         K-9,maria@example.com,Nobody\n\
         K-1,nobody@example.com,Nobody\n",
    );
    let o = sb.run(
        d,
        &["sms", "text.csv", "--yes", "--results", "text.csv.out.csv"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let rows = csv_rows(&d.join("text.csv.out.csv"));
    assert_eq!(
        results_column(&rows, "kayse_result"),
        ["sent", "sent", "invalid", "invalid"]
    );
    assert_eq!(
        results_column(&rows, "kayse_id"),
        [cases[0].as_str(), &cases[1], "", &cases[0]]
    );
    let errors = results_column(&rows, "kayse_errors");
    assert!(
        errors[2].contains("the ledger does not know case_number K-9"),
        "{}",
        errors[2]
    );
    assert!(
        errors[3].contains("the ledger does not know email nobody@example.com"),
        "{}",
        errors[3]
    );
    // Sent concurrently: the server's order is not the sheet's.
    let sent: std::collections::BTreeSet<(String, String)> = sb
        .messages()
        .iter()
        .map(|m| (m["case_id"].to_string(), m["client_id"].to_string()))
        .collect();
    assert_eq!(
        sent,
        [
            (cases[0].clone(), clients[0].clone()),
            (cases[1].clone(), clients[1].clone())
        ]
        .into()
    );
    // Two messages and the opt-out check of their two cases: nothing spent on finding ids.
    let spent = sb.stats()["requests"].as_u64().unwrap() - before;
    assert_eq!(spent, 4, "{}", sb.stats());

    // A mobile written another way finds the same person.
    write(
        d,
        "call.csv",
        "case_number,client_mobile,message\nK-2,+1 404 555 0188,Call us\n",
    );
    let o = sb.run(d, &["sms", "call.csv", "--yes"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let last = sb.messages().last().cloned().unwrap();
    assert_eq!(last["client_id"].to_string(), clients[1]);
    assert_eq!(last["case_id"].to_string(), cases[1]);
}

#[test]
fn a_sheet_with_neither_ids_nor_keys_is_one_line_naming_both() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "m.csv", "matter,person,message\nK-1,Maria,hi\n");
    let o = sb.run(dir.path(), &["sms", "m.csv", "--yes"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no 'case_id' column nor 'case_number'"),
        "{err}"
    );
    assert_eq!(sb.stats()["requests"].as_u64().unwrap(), 0);
}
