//! `--entity clients` through the commands: a clients sheet validated, dry-run and imported by the
//! real binary against the sandbox binary over loopback; the results read back cell by cell and
//! the clients read back from `/v1/clients/{id}` over HTTP. `template --entity clients` writes
//! the client columns.

use std::path::Path;

use serde_json::Value;

use crate::support::{KEY, Sandbox, bin, code, csv_rows, results_column, sheet, show};

const SHEET: &str = "\
First Name,Last Name,Source,Client ID,E-mail,Cell Phone,DOB,Zip,Do Not Call
Maria,Garcia,clio,1001,Maria@Example.COM,(404) 555-0123,7/14/1985,30303,no
Li,Wei,clio,1002,li.wei@,555-01,2/30/1990,,
Ada,Lovelace,clio,1004,ada@example.org,07400 123456,12/10/1815,,yes
";

fn write(dir: &Path) {
    std::fs::write(dir.join("clients.csv"), SHEET).unwrap();
}

/// `GET /v1/clients/{id}` with the key, as any client of the API reads it.
fn get_client(sb: &Sandbox, id: &str) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let res = reqwest::Client::new()
            .get(format!("{}/v1/clients/{id}", sb.url))
            .header("X-API-KEY", KEY)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "GET client {id}: {}",
            res.status()
        );
        let v: Value = res.json().await.unwrap();
        v.get("data").cloned().unwrap_or(v)
    })
}

#[test]
fn validate_reads_a_clients_sheet_with_the_default_country() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    let run = |country: &str| {
        let out = std::process::Command::new(bin())
            .current_dir(dir.path())
            .args(["validate", "clients.csv", "--entity", "clients"])
            .args(["--default-country", country, "--results", "r.csv"])
            .output()
            .unwrap();
        assert_eq!(code(&out), 1, "{}", show(&out));
        let rows = csv_rows(&dir.path().join("r.csv"));
        (
            results_column(&rows, "kayse_result"),
            results_column(&rows, "kayse_errors"),
        )
    };
    // In the US the UK mobile written without +44 is not a number; in GB the US one is not.
    let (us, us_errors) = run("US");
    assert_eq!(us, ["valid", "invalid", "invalid"]);
    assert!(us_errors[2].starts_with("mobile:"), "{}", us_errors[2]);
    assert!(us_errors[1].contains("email:"), "{}", us_errors[1]);
    assert!(us_errors[1].contains("date_of_birth:"), "{}", us_errors[1]);
    let (gb, gb_errors) = run("GB");
    assert_eq!(gb, ["invalid", "invalid", "valid"]);
    assert!(
        gb_errors[0].contains("not a valid GB number"),
        "{}",
        gb_errors[0]
    );

    let out = std::process::Command::new(bin())
        .current_dir(dir.path())
        .args(["validate", "clients.csv", "--entity", "clients"])
        .args(["--default-country", "ZZ"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", show(&out));
    assert!(show(&out).contains("unknown country"), "{}", show(&out));
}

#[test]
fn import_sends_a_clients_sheet_and_the_clients_read_back() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());

    let dry = sb.run(
        dir.path(),
        &[
            "import",
            "clients.csv",
            "--entity",
            "clients",
            "--dry-run",
            "--results",
            "d.csv",
        ],
    );
    assert_eq!(code(&dry), 1, "{}", show(&dry));
    assert_eq!(
        results_column(&csv_rows(&dir.path().join("d.csv")), "kayse_result"),
        ["valid", "invalid", "invalid"]
    );
    assert_eq!(sb.route_count("POST /v1/clients/bulk"), 0);

    let out = sb.run(
        dir.path(),
        &["import", "clients.csv", "--entity", "clients"],
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert_eq!(sb.route_count("POST /v1/clients/bulk"), 1);
    let rows = sheet(&dir.path().join("clients.results.xlsx"), None);
    assert_eq!(
        results_column(&rows, "kayse_result"),
        ["created", "invalid", "invalid"]
    );
    let ids = results_column(&rows, "kayse_id");
    assert!(ids[1].is_empty() && ids[2].is_empty(), "{ids:?}");
    let maria = get_client(&sb, &ids[0]);
    assert_eq!(maria["first_name"], "Maria");
    assert_eq!(maria["last_name"], "Garcia");
    assert_eq!(maria["external_source"], "clio");
    assert_eq!(maria["external_source_id"], "1001");
    assert_eq!(maria["mobile"], "+14045550123");
    assert_eq!(maria["email"], "Maria@example.com");
    assert_eq!(maria["date_of_birth"], "1985-07-14");
    assert_eq!(maria["postal_code"], "30303");
    assert_eq!(maria["voice_calls_opted_out"], false);
    // Nothing was sent to the cases endpoint.
    assert_eq!(sb.bulk_requests(), 0);

    // Next week's run of the same sheet into a new results file: the ledger knows Maria by her
    // external pair, so nothing is sent and her row keeps her id.
    let again = sb.run(
        dir.path(),
        &[
            "import",
            "clients.csv",
            "--entity",
            "clients",
            "--results",
            "again.xlsx",
        ],
    );
    assert_eq!(code(&again), 1, "{}", show(&again));
    assert_eq!(
        sb.route_count("POST /v1/clients/bulk"),
        1,
        "{}",
        show(&again)
    );
    let rows = sheet(&dir.path().join("again.xlsx"), None);
    assert_eq!(
        results_column(&rows, "kayse_result"),
        ["unchanged", "invalid", "invalid"]
    );
    assert_eq!(results_column(&rows, "kayse_id")[0], ids[0]);
}

#[test]
fn restore_is_refused_for_clients() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path());
    let out = std::process::Command::new(bin())
        .current_dir(dir.path())
        .env("KAYSE_API_KEY", KEY)
        .env("KAYSE_BASE_URL", "http://127.0.0.1:9")
        .args(["import", "clients.csv", "--entity", "clients", "--restore"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", show(&out));
    assert!(show(&out).contains("--restore"), "{}", show(&out));
}

#[test]
fn template_for_clients_has_the_client_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin())
        .current_dir(dir.path())
        .args(["template", "--entity", "clients"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let rows = sheet(
        &dir.path().join("kayse-clients-template.xlsx"),
        Some("Clients"),
    );
    assert_eq!(
        &rows[0][..4],
        [
            "first_name",
            "last_name",
            "external_source",
            "external_source_id"
        ]
    );
    assert!(rows[0].iter().any(|h| h == "mobile"));
    assert!(!rows[0].iter().any(|h| h == "case_number"));
}
