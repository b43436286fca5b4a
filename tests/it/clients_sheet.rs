//! A clients sheet through the library's stages as `validate` will run them once the commands
//! take `--entity clients`: a real CSV file read, its headers mapped to the client table, every
//! row checked, each bad cell named by row and column; then the good rows' payloads sent to the
//! sandbox's `/v1/clients/bulk`, which accepts exactly what the checker produced and answers it
//! back in the same form.

use kayse_bulk::check::rules::DateOrder;
use kayse_bulk::check::{Checker, Rules};
use kayse_bulk::entity::{CLIENTS, Record};
use kayse_bulk::map::{MapOptions, Mapping, column_letter};
use kayse_bulk::read::{self, ReadOptions};
use serde_json::{Value, json};

use crate::sandbox_contract::Api;

const SHEET: &str = "\
First Name,Last Name,Source,Client ID,E-mail,Cell Phone,DOB,Zip,Do Not Call
Maria,Garcia,clio,1001,Maria@Example.COM,(404) 555-0123,7/14/1985,30303,no
Li,Wei,clio,1002,li.wei@,555-01,2/30/1990,,
,Okafor,clio,1003,,+44 20 7946 0958,,,maybe
Ada,Lovelace,clio,1004,ada@example.org,+44 7400 123456,12/10/1815,,yes
";

/// Each row's outcome: its records, or its errors as `row N, column L (header): field`.
fn check_sheet(dir: &std::path::Path) -> (Vec<Record>, Vec<String>) {
    let path = dir.join("clients.csv");
    std::fs::write(&path, SHEET).unwrap();
    let table = read::open(&path, &ReadOptions::default()).unwrap();
    let mapping = Mapping::build(&CLIENTS, &table.headers, &MapOptions::default()).unwrap();
    // The firm's "Client ID" is its own number, never a Kayse id.
    assert_eq!(mapping.column_of("id"), None);
    assert_eq!(mapping.column_of("external_source_id"), Some(3));
    let headers = table.headers.clone();
    let mut checker = Checker::new(Rules::new(&CLIENTS, DateOrder::Mdy));
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for raw in table.rows {
        let raw = raw.unwrap();
        match checker.check(&mapping.apply(&raw)) {
            Ok(r) => good.push(r),
            Err(errs) => bad.extend(errs.iter().map(|e| {
                let c = e.column.expect("a cell error names its column");
                format!(
                    "row {}, column {} ({}): {}",
                    raw.source_row,
                    column_letter(c),
                    headers[c],
                    e.field
                )
            })),
        }
    }
    (good, bad)
}

#[tokio::test]
async fn a_clients_sheet_is_checked_cell_by_cell_and_the_sandbox_takes_its_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = check_sheet(dir.path());
    assert_eq!(
        bad,
        [
            "row 3, column E (E-mail): email",
            "row 3, column F (Cell Phone): mobile",
            "row 3, column G (DOB): date_of_birth",
            "row 4, column A (First Name): first_name",
            "row 4, column I (Do Not Call): voice_calls_opted_out",
        ]
    );
    assert_eq!(good.len(), 2);
    assert_eq!(good[0].text("mobile"), Some("+14045550123"));
    assert_eq!(good[0].text("email"), Some("Maria@example.com"));
    assert_eq!(good[0].to_json()["date_of_birth"], "1985-07-14");
    assert_eq!(good[1].to_json()["voice_calls_opted_out"], true);
    assert_eq!(good[1].text("mobile"), Some("+447400123456"));

    let api = Api::default().await;
    let payloads: Vec<Value> = good.iter().map(Record::to_json).collect();
    let (s, out) = api
        .post("/v1/clients/bulk", json!({ "clients": payloads }))
        .await;
    assert_eq!(s, 200, "{out}");
    for (sent, answer) in good.iter().zip(out["clients"].as_array().unwrap()) {
        let back = Record::from_json(&CLIENTS, answer).unwrap();
        assert!(back.id.is_some());
        for (i, f) in CLIENTS.fields.iter().enumerate() {
            assert_eq!(back.get(i), sent.get(i), "{} survives the sandbox", f.name);
        }
    }
}
