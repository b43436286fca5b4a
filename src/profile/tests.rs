//! Profile parsing and checking, table-driven against the real command line (`Cli::command()`):
//! what a good profile turns into, and every refusal with the line it names.

use clap::CommandFactory;

use super::*;
use crate::cli::Cli;

fn parse_ok(text: &str) -> Profile {
    parse("p.toml", text, &Cli::command()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn parse_err(text: &str) -> String {
    match parse("p.toml", text, &Cli::command()) {
        Ok(p) => panic!("accepted: {p:?}\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn setting(key: &str, value: Value, line: usize) -> Setting {
    Setting {
        key: key.into(),
        value,
        line,
    }
}

#[test]
fn a_good_profile_reads_in_file_order_with_lines() {
    let p = parse_ok(
        r#"# the firm's settings
[defaults]
base-url = "http://127.0.0.1:8787"
api-key-file = "~/.kayse-key"
rate-limit = "400/h"
concurrency = 2
batch-size = 1_000
ledger = "firm.ledger.sqlite"

[jobs.weekly]
command = "export"
ids-from = ["a.xlsx", "b.csv"]
out = "reports/cases-{date}.xlsx"
yes = true

[jobs.check]
command = "validate"
input = "cases.xlsx"
allowed-status = "active,closed"
skip-hidden-rows = false
"#,
    );
    assert_eq!(
        p.defaults,
        vec![
            setting("base-url", Value::One("http://127.0.0.1:8787".into()), 3),
            setting("api-key-file", Value::One("~/.kayse-key".into()), 4),
            setting("rate-limit", Value::One("400/h".into()), 5),
            setting("concurrency", Value::One("2".into()), 6),
            setting("batch-size", Value::One("1000".into()), 7),
            setting("ledger", Value::One("firm.ledger.sqlite".into()), 8),
        ]
    );
    let names: Vec<(&str, &str, usize)> = p
        .jobs
        .iter()
        .map(|j| (j.name.as_str(), j.command.as_str(), j.line))
        .collect();
    assert_eq!(names, [("weekly", "export", 10), ("check", "validate", 16)]);
    assert_eq!(
        p.job("weekly").unwrap().settings,
        vec![
            setting(
                "ids-from",
                Value::List(vec!["a.xlsx".into(), "b.csv".into()]),
                12
            ),
            setting("out", Value::One("reports/cases-{date}.xlsx".into()), 13),
            setting("yes", Value::Flag(true), 14),
        ]
    );
}

#[test]
fn an_empty_profile_is_fine() {
    let p = parse_ok("# nothing yet\n");
    assert!(p.defaults.is_empty() && p.jobs.is_empty());
}

/// Every refusal: (profile text, the line it must name, words the message must hold).
#[test]
fn every_refusal_names_the_file_and_line() {
    let table: &[(&str, usize, &str)] = &[
        // TOML itself
        ("[defaults]\nrate-limit = 400/h\n", 2, "not valid TOML"),
        (
            "[jobs.a]\ncommand = \"export\"\n[jobs.a]\n",
            3,
            "not valid TOML",
        ),
        ("\n\n[defaults\n", 3, "not valid TOML"),
        (
            "[jobs.a]\ncommand = \"validate\"\ninput = \"C:\\Kayse\\cases.xlsx\"\n",
            3,
            "a Windows path goes in single quotes",
        ),
        // tables
        (
            "[default]\nrate-limit = \"400/h\"\n",
            1,
            "unknown table or key 'default'",
        ),
        ("title = \"x\"\n", 1, "unknown table or key 'title'"),
        ("defaults = 3\n", 1, "defaults must be a table"),
        ("[jobs]\nnightly = \"export\"\n", 2, "a job is a table"),
        (
            "[jobs.\"run me\"]\ncommand = \"export\"\n",
            1,
            "job name 'run me'",
        ),
        // the key is never in a profile
        (
            "[defaults]\n\napi-key = \"abc\"\n",
            3,
            "never holds the API key",
        ),
        ("[defaults]\nkey = \"abc\"\n", 2, "never holds the API key"),
        (
            "[jobs.a]\ncommand = \"export\"\ntoken = \"abc\"\n",
            3,
            "never holds the API key",
        ),
        (
            "[jobs.a]\ncommand = \"sandbox\"\napi-key = \"abc\"\n",
            3,
            "never holds the API key",
        ),
        (
            "[defaults]\nclient_secret = \"abc\"\n",
            2,
            "never holds the API key",
        ),
        (
            "[defaults]\napi-key-file = \"kLm29sQx8TzP4vWb7nRa2Yc\"\n",
            2,
            "looks like an API key",
        ),
        (
            "[jobs.a]\ncommand = \"export\"\nids-from = [\"a.csv\", \"9f86d081884c7d659a2feaa0c55ad015\"]\n",
            3,
            "looks like an API key",
        ),
        // [defaults] keys
        (
            "[defaults]\nrate-limt = \"400/h\"\n",
            2,
            "unknown setting 'rate-limt' in [defaults]",
        ),
        ("[defaults]\nbudget = 100\n", 2, "budget belongs in a job"),
        ("[defaults]\nyes = true\n", 2, "yes belongs in a job"),
        (
            "[defaults]\ninput = \"a.csv\"\n",
            2,
            "input belongs in a job",
        ),
        // [defaults] values, through clap's value parsers
        (
            "[defaults]\nrate-limit = \"fast\"\n",
            2,
            "rate-limit: invalid value 'fast'",
        ),
        (
            "[defaults]\nconcurrency = 0\n",
            2,
            "concurrency: invalid value '0'",
        ),
        (
            "[defaults]\nbatch-size = \"lots\"\n",
            2,
            "batch-size: invalid value 'lots'",
        ),
        (
            "[defaults]\ntimeout = 1.5\n",
            2,
            "timeout: invalid value '1.5'",
        ),
        (
            "[defaults]\nconcurrency = [1, 2]\n",
            2,
            "takes one value, not a list",
        ),
        (
            "[defaults]\nconcurrency = { n = 2 }\n",
            2,
            "expected a value, found a table",
        ),
        // jobs
        (
            "[jobs.nightly]\nout = \"x.xlsx\"\n",
            1,
            "job nightly has no command",
        ),
        (
            "[jobs.a]\ncommand = \"exprot\"\n",
            2,
            "command must be one of validate, import",
        ),
        ("[jobs.a]\ncommand = \"run\"\n", 2, "command must be one of"),
        (
            "[jobs.a]\ncommand = \"completions\"\n",
            2,
            "command must be one of",
        ),
        ("[jobs.a]\ncommand = 3\n", 2, "command must be one of"),
        (
            "[jobs.a]\ncommand = \"export\"\n\nbugdet = 5\n",
            4,
            "job a: unknown option 'bugdet': export has no --bugdet",
        ),
        (
            "[jobs.a]\ncommand = \"template\"\nbudget = 5\n",
            3,
            "template has no --budget",
        ),
        (
            "[jobs.a]\ncommand = \"export\"\ninput = \"a.csv\"\n",
            3,
            "export takes no input file",
        ),
        (
            "[jobs.a]\ncommand = \"export\"\nconfig = \"other.toml\"\n",
            3,
            "job a: config cannot be set in a profile",
        ),
        (
            "[jobs.a]\ncommand = \"import\"\nretry-base-ms = 5\n",
            3,
            "unknown option 'retry-base-ms'",
        ),
        (
            "[jobs.a]\ncommand = \"export\"\nbudget = \"lots\"\n",
            3,
            "job a: budget: invalid value 'lots'",
        ),
        (
            "[jobs.a]\ncommand = \"import\"\ndate-order = \"mdy\"\nupdate-blanks = \"wipe\"\n",
            4,
            "invalid value 'wipe' for '--update-blanks <UPDATE_BLANKS>' (possible values: keep, clear)",
        ),
        (
            "[jobs.a]\ncommand = \"validate\"\ndelimiter = \"#\"\n",
            3,
            "unsupported delimiter",
        ),
        (
            "[jobs.a]\ncommand = \"export\"\nyes = \"yes\"\n",
            3,
            "yes is a flag: write yes = true",
        ),
        (
            "[jobs.a]\ncommand = \"export\"\nout = [\"a.xlsx\", \"b.xlsx\"]\n",
            3,
            "out takes one value, not a list",
        ),
        (
            "[jobs.a]\ncommand = \"export\"\nout = \"r/{data}.xlsx\"\n",
            3,
            "unknown placeholder {data}",
        ),
        (
            "[jobs.a]\ncommand = \"export\"\nids = [1, true]\n",
            3,
            "a list holds text or numbers only",
        ),
        (
            "[jobs.a]\ncommand = \"export\"\nquiet = true\nverbose = true\n",
            1,
            "cannot be used with",
        ),
    ];
    for (text, line, words) in table {
        let err = parse_err(text);
        let want = format!("p.toml:{line}: ");
        assert!(err.starts_with(&want), "want {want}… got: {err}\n{text}");
        assert!(err.contains(words), "want '{words}' in: {err}\n{text}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

#[test]
fn refusals_never_repeat_a_secret_value() {
    for text in [
        "[defaults]\napi-key = \"kLm29sQx8TzP4vWb7nRa2Yc\"\n",
        "[jobs.a]\ncommand = \"export\"\nout = \"kLm29sQx8TzP4vWb7nRa2Yc\"\n",
    ] {
        let err = parse_err(text);
        assert!(!err.contains("kLm29sQx"), "{err}");
    }
}

#[test]
fn settings_become_the_tokens_clap_parses() {
    let root = model::built(Cli::command());
    let at = chrono::NaiveDate::from_ymd_opt(2024, 3, 5)
        .unwrap()
        .and_hms_opt(23, 59, 1)
        .unwrap();
    let table: &[(&str, Setting, &[&str])] = &[
        (
            "export",
            setting("out", Value::One("r/c-{date}-{time}.xlsx".into()), 1),
            &["--out=r/c-2024-03-05-235901.xlsx"],
        ),
        ("export", setting("yes", Value::Flag(true), 1), &["--yes"]),
        ("export", setting("yes", Value::Flag(false), 1), &[]),
        (
            "export",
            setting("budget", Value::One("100".into()), 1),
            &["--budget=100"],
        ),
        (
            "export",
            setting("ids", Value::List(vec!["1-5".into(), "9".into()]), 1),
            &["--ids=1-5", "--ids=9"],
        ),
        (
            "import",
            setting("input", Value::One("in/{date}.csv".into()), 1),
            &["in/2024-03-05.csv"],
        ),
        (
            "import",
            setting("input", Value::One("-odd.csv".into()), 1),
            &["./-odd.csv"],
        ),
        // Not a path: the braces are the message's own (Kayse template variables).
        (
            "sms",
            setting("message", Value::One("Hi {{first_name}} {date}".into()), 1),
            &["--message=Hi {{first_name}} {date}"],
        ),
    ];
    for (command, s, want) in table {
        let cmd = root.find_subcommand(command).unwrap();
        let arg = setting_arg(cmd, s).unwrap();
        let got = tokens(arg, s, at).unwrap();
        let got: Vec<String> = got
            .iter()
            .map(|t| t.to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, *want, "{command} {s:?}");
    }
}
