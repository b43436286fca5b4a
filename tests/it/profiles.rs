//! Profiles (`kayse-bulk.toml`) and `kayse-bulk run`: the real binary in a temp folder holding a
//! profile, results read back cell by cell, the sandbox's own counts for what was sent, and the
//! completion scripts.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use chrono::Local;
use clap::CommandFactory;
use kayse_bulk::cli::Cli;
use tempfile::TempDir;

use crate::support::*;

/// A temp folder with the sample workbook and `profile` as its kayse-bulk.toml.
fn folder(profile: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample("cases.xlsx"), dir.path().join("cases.xlsx")).unwrap();
    std::fs::write(dir.path().join("kayse-bulk.toml"), profile).unwrap();
    dir
}

/// The tool in `dir`, with no key and no base URL from the environment.
fn tool(dir: &Path) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(dir)
        .env_remove("KAYSE_API_KEY")
        .env_remove("KAYSE_BASE_URL")
        .env("KAYSE_LEDGER", dir.join("kayse.ledger.sqlite"))
        .stdin(Stdio::null());
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    tool(dir).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A key file only its owner can read (the tool warns otherwise).
fn key_file(dir: &Path) -> String {
    let path = dir.join("kayse.key");
    std::fs::write(&path, KEY).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    "kayse.key".to_string()
}

/// The one line a refused profile prints: `error: FILE:LINE: ...`, exit 2.
fn assert_refused(o: &Output, file_line: &str, words: &str) {
    assert_eq!(code(o), 2, "{}", show(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with(&format!("error: {file_line}: ")), "{err}");
    assert!(err.contains(words), "want '{words}' in {err}");
}

const JOBS: &str = r#"# the firm's saved runs
[defaults]
rate-limit = "400/h"
concurrency = 2

[jobs.check]
command = "validate"
input = "cases.xlsx"
results = "checked-{date}.xlsx"

[jobs.rehearse]
command = "import"
input = "cases.xlsx"
sandbox = true
results = "rehearsal.xlsx"
allowed-status = ["active", "closed", "pending"]
"#;

#[test]
fn run_list_shows_every_job_on_one_line() {
    let dir = folder(JOBS);
    let o = run(dir.path(), &["run", "--list"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert_eq!(
        stdout(&o),
        "check     validate cases.xlsx --results checked-{date}.xlsx\n\
         rehearse  import cases.xlsx --sandbox --results rehearsal.xlsx \
         --allowed-status active --allowed-status closed --allowed-status pending\n"
    );
    assert!(
        stderr(&o).contains("--rate-limit 400/h --concurrency 2"),
        "{}",
        show(&o)
    );

    let o = run(dir.path(), &["run", "--list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["jobs"][1]["name"], "rehearse");
    assert_eq!(v["jobs"][1]["command"], "import");
    assert_eq!(v["jobs"][1]["line"], 11);
}

#[test]
fn a_validate_job_runs_with_no_network_and_fills_in_the_date() {
    let dir = folder(JOBS);
    let before = Local::now().date_naive();
    let o = run(dir.path(), &["run", "check"]);
    let after = Local::now().date_naive();
    // The sample holds 5 invalid rows on purpose.
    assert_eq!(code(&o), 1, "{}", show(&o));
    let mut days = vec![before, after];
    days.dedup();
    let results: Vec<_> = days
        .iter()
        .map(|d| {
            dir.path()
                .join(format!("checked-{}.xlsx", d.format("%Y-%m-%d")))
        })
        .filter(|p| p.exists())
        .collect();
    assert_eq!(results.len(), 1, "one dated results file: {}", show(&o));
    let rows = sheet(&results[0], None);
    let outcomes = results_column(&rows, "kayse_result");
    assert_eq!(outcomes.len(), 25);
    assert_eq!(outcomes.iter().filter(|r| *r == "invalid").count(), 5);
    assert_eq!(outcomes.iter().filter(|r| *r == "valid").count(), 20);
    assert!(!dir.path().join("checked-{date}.xlsx").exists());
}

#[test]
fn an_import_sandbox_job_sends_and_the_command_line_overrides_the_job() {
    let dir = folder(JOBS);
    // The job's batch size is the built-in 100: one request for the 20 valid rows. Typed after
    // the job's name, --batch-size 5 wins: four requests, seen by the sandbox's stats in
    // --json.
    let o = run(
        dir.path(),
        &["run", "rehearse", "--batch-size", "5", "--json", "-q"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["requests"]["requests"], 4, "{summary}");
    let rows = sheet(&dir.path().join("rehearsal.xlsx"), None);
    let outcomes = results_column(&rows, "kayse_result");
    assert_eq!(outcomes.iter().filter(|r| *r == "created").count(), 20);
    let ids = results_column(&rows, "kayse_id");
    assert_eq!(ids.iter().filter(|i| i.parse::<u64>().is_ok()).count(), 20);
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("kayse-sandbox.json")).unwrap())
            .unwrap();
    assert_eq!(state["cases"].as_array().unwrap().len(), 20);
}

#[test]
fn defaults_reach_a_plain_command_and_verbose_says_where_each_setting_came_from() {
    let sb = Sandbox::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample("cases.xlsx"), dir.path().join("cases.xlsx")).unwrap();
    let key = key_file(dir.path());
    let profile = format!(
        "[defaults]\nbase-url = \"{}\"\napi-key-file = \"{key}\"\nbatch-size = 10\nrate-limit = \"300/h\"\n\n\
         [jobs.send]\ncommand = \"import\"\ninput = \"cases.xlsx\"\nbatch-size = 7\n",
        sb.url
    );
    std::fs::write(dir.path().join("kayse-bulk.toml"), profile).unwrap();

    // A plain import in the folder: the base URL, key file and batch size come from [defaults].
    let o = run(
        dir.path(),
        &["import", "cases.xlsx", "-v", "--rate-limit", "200/h"],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert_eq!(sb.bulk_requests(), 2, "20 valid rows, 10 a request");
    let err = stderr(&o);
    let from = |setting: &str| -> String {
        err.lines()
            .find(|l| l.trim_start().starts_with(setting))
            .unwrap_or_else(|| panic!("no line for {setting}:\n{err}"))
            .to_string()
    };
    assert!(
        err.contains("profile kayse-bulk.toml: its [defaults] apply to import"),
        "{err}"
    );
    assert!(from("--batch-size 10").ends_with("profile defaults (kayse-bulk.toml:4)"));
    assert!(from("--base-url").ends_with("profile defaults (kayse-bulk.toml:2)"));
    assert!(from("--api-key-file kayse.key").ends_with("profile defaults (kayse-bulk.toml:3)"));
    assert!(
        from("--rate-limit 200/h")
            .ends_with("command line, over profile defaults (kayse-bulk.toml:5)"),
        "{err}"
    );
    assert!(from("--timeout 60").ends_with("built-in default"));
    assert!(!err.contains(KEY), "the key is never printed");

    // The job's own batch size beats [defaults]; the environment beats [defaults] but not the
    // job, and -v names it.
    std::fs::remove_file(dir.path().join("cases.results.xlsx")).unwrap();
    std::fs::remove_file(dir.path().join("cases.results.xlsx.journal")).unwrap();
    sb.http("POST", "/sandbox/reset", None);
    // An emptied server is a new Kayse: its ids are not the ledger's any more.
    for f in [
        "kayse.ledger.sqlite",
        "kayse.ledger.sqlite-wal",
        "kayse.ledger.sqlite-shm",
    ] {
        let _ = std::fs::remove_file(dir.path().join(f));
    }
    let before = sb.bulk_requests();
    let o = tool(dir.path())
        .env("KAYSE_BASE_URL", &sb.url)
        .args(["run", "send", "-v"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert_eq!(sb.bulk_requests() - before, 3, "20 valid rows, 7 a request");
    let err = stderr(&o);
    assert!(
        err.contains("profile kayse-bulk.toml: job send runs import"),
        "{err}"
    );
    let line = |s: &str| {
        err.lines()
            .find(|l| l.trim_start().starts_with(s))
            .unwrap_or("")
            .to_string()
    };
    assert!(
        line("--batch-size 7").ends_with("job send (kayse-bulk.toml:10)"),
        "{err}"
    );
    assert!(
        line("--base-url").ends_with("environment (KAYSE_BASE_URL)"),
        "{err}"
    );
    assert!(
        line("input cases.xlsx").ends_with("job send (kayse-bulk.toml:9)"),
        "{err}"
    );
}

#[test]
fn a_profile_holding_a_key_is_refused_before_any_request() {
    let sb = Sandbox::start(&[]);
    let cases = [
        (
            format!(
                "[defaults]\nbase-url = \"{}\"\napi-key = \"{KEY}\"\n",
                sb.url
            ),
            3,
            "api-key",
        ),
        (
            format!(
                "[defaults]\nbase-url = \"{}\"\n\n[jobs.a]\ncommand = \"import\"\ninput = \"cases.xlsx\"\nbatch-size = 5\ntoken = \"{KEY}\"\n",
                sb.url
            ),
            8,
            "token",
        ),
        (
            format!(
                "[defaults]\nbase-url = \"{}\"\napi-key-file = \"kLm29sQx8TzP4vWb7nRa2Yc\"\n",
                sb.url
            ),
            3,
            "looks like an API key",
        ),
    ];
    for (profile, line, words) in cases {
        let dir = folder(&profile);
        for args in [
            &["run", "a"][..],
            &["import", "cases.xlsx"],
            &["run", "--list"],
        ] {
            let o = tool(dir.path())
                .env("KAYSE_API_KEY", KEY)
                .args(args)
                .output()
                .unwrap();
            assert_refused(&o, &format!("kayse-bulk.toml:{line}"), words);
            assert!(
                !stderr(&o).contains(KEY) && !stderr(&o).contains("kLm29"),
                "{}",
                show(&o)
            );
        }
    }
    assert_eq!(sb.stats()["requests"], 0, "nothing reached the server");
}

#[test]
fn an_unknown_option_or_a_bad_value_is_refused_naming_the_line() {
    let table: &[(&str, &str, &str)] = &[
        (
            "[jobs.a]\ncommand = \"import\"\ninput = \"cases.xlsx\"\nsandbox = true\n\nbatchsize = 5\n",
            "kayse-bulk.toml:6",
            "unknown option 'batchsize': import has no --batchsize",
        ),
        (
            "[defaults]\nconcurrency = 0\n[jobs.a]\ncommand = \"import\"\ninput = \"cases.xlsx\"\n",
            "kayse-bulk.toml:2",
            "concurrency: invalid value '0'",
        ),
        (
            "[jobs.a]\ninput = \"cases.xlsx\"\nsandbox = true\n",
            "kayse-bulk.toml:1",
            "job a has no command",
        ),
        (
            "[jobs.a]\ncommand = \"import\n",
            "kayse-bulk.toml:2",
            "not valid TOML",
        ),
        (
            "[job.a]\ncommand = \"import\"\n",
            "kayse-bulk.toml:1",
            "unknown table or key 'job'",
        ),
    ];
    for (profile, file_line, words) in table {
        let dir = folder(profile);
        let o = run(dir.path(), &["run", "a"]);
        assert_refused(&o, file_line, words);
        assert!(
            !dir.path().join("kayse-sandbox.json").exists(),
            "nothing ran"
        );
        assert!(
            !dir.path().join("cases.results.xlsx").exists(),
            "nothing ran"
        );
    }
}

#[test]
fn config_names_a_profile_elsewhere_and_a_missing_one_is_an_error() {
    let dir = folder("");
    std::fs::remove_file(dir.path().join("kayse-bulk.toml")).unwrap();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/nightly.toml"), JOBS).unwrap();
    let o = run(
        dir.path(),
        &[
            "--config",
            "etc/nightly.toml",
            "run",
            "check",
            "--results",
            "c.csv",
        ],
    );
    assert_eq!(code(&o), 1, "{}", show(&o));
    assert_eq!(csv_rows(&dir.path().join("c.csv")).len(), 26);

    let o = run(dir.path(), &["run", "check"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(
        stderr(&o).contains("there is no kayse-bulk.toml in this folder"),
        "{}",
        show(&o)
    );
    let o = run(dir.path(), &["run", "check", "--config", "etc/none.toml"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(
        stderr(&o).starts_with("error: cannot read the profile etc/none.toml"),
        "{}",
        show(&o)
    );
    // Notepad's "Unicode" is UTF-16: say what to do about it.
    let utf16: Vec<u8> = "\u{feff}[jobs.a]\ncommand = \"validate\"\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    std::fs::write(dir.path().join("etc/utf16.toml"), utf16).unwrap();
    let o = run(dir.path(), &["--config", "etc/utf16.toml", "run", "--list"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(
        stderr(&o).contains("not UTF-8 text; save it as UTF-8"),
        "{}",
        show(&o)
    );
    let o = run(
        dir.path(),
        &["--config", "etc/nightly.toml", "run", "weekly"],
    );
    assert_eq!(code(&o), 2, "{}", show(&o));
    assert!(
        stderr(&o).contains("has no job 'weekly'; its jobs: check, rehearse"),
        "{}",
        show(&o)
    );
}

#[test]
fn each_completion_script_mentions_every_command() {
    let commands: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    assert!(commands.iter().any(|c| c == "run"), "{commands:?}");
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let o = run(dir.path(), &["completions", shell]);
        assert_eq!(code(&o), 0, "{}", show(&o));
        assert!(o.stderr.is_empty(), "{}", show(&o));
        let script = stdout(&o);
        for c in &commands {
            assert!(script.contains(c.as_str()), "{shell} script lacks {c}");
        }
        assert!(
            script.contains("rate-limit"),
            "{shell} script completes options"
        );
    }
    let o = run(dir.path(), &["completions", "tcsh"]);
    assert_eq!(code(&o), 2, "{}", show(&o));
}

/// The README's example profile is a valid profile, and its `-v` example is what the tool prints
/// for it (the date aside).
#[test]
fn the_readme_profile_example_is_true() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme.find("## Profiles and scheduled runs").unwrap()..];
    let block = |fence: &str| -> String {
        let start = section.find(fence).unwrap() + fence.len();
        let end = section[start..].find("```").unwrap();
        section[start..start + end].to_string()
    };
    let dir = folder(&block("```toml\n"));
    let o = run(dir.path(), &["run", "--list"]);
    assert_eq!(code(&o), 0, "{}", show(&o));
    assert!(
        stdout(&o).starts_with("intake   import inbox/new-cases.xlsx"),
        "{}",
        show(&o)
    );

    let example = block("```text\n");
    let mut lines = example.lines().map(str::trim);
    let typed = lines.next().unwrap().strip_prefix("$ kayse-bulk ").unwrap();
    let want: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let args: Vec<&str> = typed.split(' ').collect();
    let o = run(dir.path(), &args);
    let err = stderr(&o);
    let got: Vec<String> = err
        .lines()
        .take(want.len())
        .map(|l| match l.find("reports/cases-") {
            // The one dated value: today's date, 10 characters, shown as the README's.
            Some(i) => format!("{}2024-03-05{}", &l[..i + 14], &l[i + 24..]),
            None => l.to_string(),
        })
        .map(|l| l.trim().to_string())
        .collect();
    assert_eq!(got, want, "{}", show(&o));
}
