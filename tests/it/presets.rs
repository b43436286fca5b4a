//! Presets and `kayse-bulk map` through the real binary: every committed sample export maps to a
//! file that parses and, once its required defaults are filled in, validates with no mapping
//! error; a Clio matters export and a Litify one import into the sandbox with no mapping file,
//! read back field by field from the server.

use std::path::{Path, PathBuf};

use kayse_bulk::entity::CLIENTS;
use kayse_bulk::map::{MapOptions, Mapping, MappingFile};
use kayse_bulk::read::{self, ReadOptions};

use crate::support::{Sandbox, cli, code, sample, show};

fn preset_sample(name: &str) -> PathBuf {
    sample(&format!("presets/{name}"))
}

/// What a user does with the written file: fill in each required default and remove its `#`.
fn fill_defaults(text: &str) -> String {
    text.lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.contains("= \"\"  # required") => {
                let field = rest.split(' ').next().unwrap_or_default();
                format!("{field} = \"filled\"")
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn map_to(dir: &Path, input: &Path, extra: &[&str]) -> (String, String) {
    let out = dir.join("m.toml");
    let o = cli()
        .current_dir(dir)
        .arg("map")
        .arg(input)
        .arg("--out")
        .arg(&out)
        .arg("--force")
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", show(&o));
    (
        std::fs::read_to_string(&out).unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn map_on_every_sample_export_writes_a_file_that_validates_once_filled_in() {
    // (file, what map says it is, whether its rows are cases)
    let table: &[(&str, Option<&str>, bool)] = &[
        (
            "clio-matters.csv",
            Some("looks like a Clio matters export: preset clio"),
            true,
        ),
        (
            "clio-template.csv",
            Some("looks like a Clio import template: preset clio"),
            true,
        ),
        (
            "clio-contacts.csv",
            Some("looks like a Clio contacts export: preset clio"),
            false,
        ),
        (
            "litify-matters.csv",
            Some("looks like a Litify matters export: preset litify"),
            true,
        ),
        (
            "litify-accounts.csv",
            Some("looks like a Litify accounts export: preset litify"),
            false,
        ),
        (
            "smartadvocate-cases.csv",
            Some("looks like a SmartAdvocate cases report: preset smartadvocate"),
            true,
        ),
        (
            "filevine-projects.csv",
            Some("looks like a Filevine projects report: preset filevine"),
            true,
        ),
        ("unusual-headers.csv", None, true),
    ];
    let listed: Vec<String> = std::fs::read_dir(sample("presets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        listed.len(),
        table.len(),
        "every sample is tested: {listed:?}"
    );
    for (name, says, cases) in table {
        let dir = tempfile::tempdir().unwrap();
        let input = preset_sample(name);
        let (text, stderr) = map_to(dir.path(), &input, &[]);
        match says {
            Some(line) => assert!(stderr.contains(line), "{name}: {stderr}"),
            None => assert!(!stderr.contains("looks like"), "{name}: {stderr}"),
        }
        let filled = dir.path().join("filled.toml");
        std::fs::write(&filled, fill_defaults(&text)).unwrap();
        let file = MappingFile::load(&filled).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        if *cases {
            let o = cli()
                .current_dir(dir.path())
                .arg("validate")
                .arg(&input)
                .args(["--mapping", "filled.toml", "--results", "r.csv"])
                .output()
                .unwrap();
            // 0 or 1 (rows may be invalid, e.g. one filled-in id for every row), never 2.
            assert!(code(&o) < 2, "{name}: {}\n{text}", show(&o));
        } else {
            let table = read::open(&input, &ReadOptions::default()).unwrap();
            let opts = MapOptions {
                file,
                ..Default::default()
            };
            Mapping::build(&CLIENTS, &table.headers, &opts)
                .unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        }
    }
}

#[test]
fn map_writes_on_stdout_keeps_an_edited_file_and_refuses_an_unknown_preset() {
    let dir = tempfile::tempdir().unwrap();
    let input = preset_sample("unusual-headers.csv");
    let o = cli().arg("map").arg(&input).output().unwrap();
    assert_eq!(code(&o), 0, "{}", show(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("\"CaseNo\" = \"case_number\"  # alias of case_number"),
        "{text}"
    );
    assert!(
        text.contains(
            "\"Case Stat\" = \"status\"  # suggestion: similarity 0.80 to status; check it"
        ),
        "{text}"
    );
    assert!(
        text.contains("# \"LastName\" = \"\"  # not mapped"),
        "{text}"
    );
    assert!(text.contains("\ndate_order = \"mdy\"\n"), "{text}");

    let out = dir.path().join("m.toml");
    std::fs::write(&out, "# edited\n").unwrap();
    let o = cli()
        .arg("map")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "# edited\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("already exists") && err.lines().count() == 1,
        "{err}"
    );

    let o = cli()
        .arg("map")
        .arg(&input)
        .args(["--preset", "mycase"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "error: --preset: unknown preset 'mycase' (presets: clio, litify, smartadvocate, filevine)"
    );

    // --preset on a sheet without the signature still applies it.
    let (text, _) = map_to(dir.path(), &input, &["--preset", "smartadvocate"]);
    assert!(text.contains("preset = \"smartadvocate\""), "{text}");
    assert!(
        text.contains("# external_source: \"smartadvocate\", from the preset"),
        "{text}"
    );
}

/// The server's cases, by case_number.
fn server_cases(sb: &Sandbox) -> std::collections::BTreeMap<String, serde_json::Value> {
    sb.state()["cases"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c["case_number"].as_str().unwrap_or("").to_string(), c))
        .collect()
}

#[test]
fn a_clio_matters_export_imports_with_no_mapping_file() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start(&[]);
    let o = sb.run(
        dir.path(),
        &[
            "import",
            preset_sample("clio-matters.csv").to_str().unwrap(),
            "--results",
            "r.csv",
            "--without-clients",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("preset: looks like a Clio matters export: preset clio"),
        "{}",
        show(&o)
    );
    let cases = server_cases(&sb);
    assert_eq!(cases.len(), 6, "{cases:?}");
    let c = &cases["00013-Brooks"];
    assert_eq!(c["external_source"], "clio");
    assert_eq!(c["external_source_id"], "1184120002");
    assert_eq!(c["status"], "Closed");
    assert_eq!(c["type"], "Premises Liability");
    assert_eq!(c["created_date"], "2024-03-04");
    assert_eq!(c["end_date"], "2024-11-20");
    assert_eq!(c["description"], "Brooks slip and fall at grocery store");
    // Clio's contact id is the join key, never sent as a Kayse client id.
    assert!(
        c["client_ids"].as_array().is_none_or(|a| a.is_empty()),
        "{c}"
    );
    assert_eq!(sb.bulk_requests(), 1);
}

#[test]
fn a_litify_export_never_sends_a_record_id_as_a_type() {
    let dir = tempfile::tempdir().unwrap();
    let sb = Sandbox::start(&[]);
    let o = sb.run(
        dir.path(),
        &[
            "import",
            preset_sample("litify-matters.csv").to_str().unwrap(),
            "--results",
            "r.csv",
        ],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("'litify_pm__Court__c' holds 18-character Litify record ids"),
        "{err}"
    );
    let cases = server_cases(&sb);
    let c = &cases["MAT-000311"];
    assert_eq!(c["type"], "Auto Accident");
    assert_eq!(c["external_source"], "litify");
    assert_eq!(c["external_source_id"], "a0B5e00000AbCd1EAF");
    assert_eq!(c["name"], "Harper v. Coastal Freight");
    assert_eq!(c["jurisdiction"], "FL");
    assert_eq!(c["court_date"], "2025-06-16");
    assert!(c["court_name"].is_null(), "{c}");
}

#[test]
fn five_hundred_clio_matters_import_with_no_mapping_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from(
        "Display Number,Unique ID,Description,Status,Practice Area,Open Date,Close Date,Client ID\n",
    );
    for n in 1..=500 {
        let (m, d) = (n % 12 + 1, n % 28 + 1);
        let close = if n % 3 == 0 {
            format!("{m:02}/{d:02}/2025")
        } else {
            String::new()
        };
        let area = ["Personal Injury", "Family Law", "Estate Planning"][n % 3];
        let status = ["Open", "Pending", "Closed"][n % 3];
        csv.push_str(&format!(
            "{n:05}-M,{},Matter {n},{status},{area},{m:02}/{d:02}/2024,{close},{}\n",
            1_184_000_000 + n,
            5000 + n % 200
        ));
    }
    let input = dir.path().join("matters.csv");
    std::fs::write(&input, csv).unwrap();
    let sb = Sandbox::start(&[]);
    let o = sb.run(dir.path(), &["import", "matters.csv", "--results", "r.csv"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    let cases = server_cases(&sb);
    assert_eq!(cases.len(), 500);
    assert_eq!(sb.bulk_requests(), 5, "500 cases in batches of 100");
    // Run again: the journal knows every row went in, so nothing is sent.
    let o = sb.run(
        dir.path(),
        &["import", "matters.csv", "--results", "r.csv", "--resume"],
    );
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(sb.bulk_requests(), 5, "a re-run costs no request");
    assert_eq!(server_cases(&sb).len(), 500);
    for n in [1usize, 13, 250, 500] {
        let c = &cases[&format!("{n:05}-M")];
        let (m, d) = (n % 12 + 1, n % 28 + 1);
        assert_eq!(c["external_source_id"], (1_184_000_000 + n).to_string());
        assert_eq!(c["created_date"], format!("2024-{m:02}-{d:02}"));
        assert_eq!(
            c["type"],
            ["Personal Injury", "Family Law", "Estate Planning"][n % 3]
        );
        let end = if n % 3 == 0 {
            serde_json::json!(format!("2025-{m:02}-{d:02}"))
        } else {
            serde_json::Value::Null
        };
        assert_eq!(c["end_date"], end, "{n}");
    }
}

#[test]
fn validate_takes_a_preset_by_name_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        cli()
            .current_dir(dir.path())
            .arg("validate")
            .arg(preset_sample("clio-matters.csv"))
            .args(["--results", "r.csv"])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&["--preset", "none"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "no column for the required fields case_number, external_source, external_source_id"
        ),
        "{err}"
    );
    assert!(
        err.contains("`kayse-bulk map FILE` writes a mapping file to start from"),
        "{err}"
    );
    let o = run(&["--preset", "MyCase"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "error: --preset: unknown preset 'MyCase' (presets: clio, litify, smartadvocate, filevine)"
    );
    // Named, a preset applies to a sheet that does not carry its signature.
    std::fs::write(
        dir.path().join("sa.csv"),
        "Case Number,Case ID,Case Status,Case Type\nSA-1,77,Intake,Auto\n",
    )
    .unwrap();
    let o = cli()
        .current_dir(dir.path())
        .args(["validate", "sa.csv", "--preset", "smartadvocate"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        show(&o).contains("preset: looks like a SmartAdvocate cases report: preset smartadvocate"),
        "{}",
        show(&o)
    );
}
