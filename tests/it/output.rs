//! What users read on stderr, as insta snapshots: the summary of `validate` on the sample
//! workbook, the summary of an import against the sandbox (the README's first run), and the
//! usage errors. Filters hide what varies from run to run: the temp folder, ports and timings.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::{bin, sample};

/// `text` as a regular expression that matches only itself.
fn literal(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Snapshot settings for output produced in `dir`.
fn settings(dir: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&literal(&dir.display().to_string()), "[DIR]");
    s.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    s.add_filter(r"elapsed: \d+(\.\d+)? s", "elapsed: [SECS] s");
    s
}

/// The tool in `dir`, with no key, server or other setting from the environment.
fn tool(dir: &Path) -> Command {
    let mut c = Command::new(bin());
    c.current_dir(dir)
        .env_remove("KAYSE_API_KEY")
        .env_remove("KAYSE_BASE_URL")
        .env_remove("KAYSE_BULK_RETRY_BASE_MS")
        .env_remove("KAYSE_BULK_CRASH_AT")
        .stdin(Stdio::null());
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A folder holding a copy of the sample workbook, so the commands name it `cases.xlsx`.
fn with_sample() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(sample("cases.xlsx"), dir.path().join("cases.xlsx")).unwrap();
    dir
}

#[test]
fn validate_summary_of_the_sample() {
    let dir = with_sample();
    let o = tool(dir.path())
        .args(["validate", "cases.xlsx"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    settings(dir.path()).bind(|| insta::assert_snapshot!(stderr(&o)));
}

#[test]
fn import_summary_against_the_sandbox() {
    let dir = with_sample();
    let o = tool(dir.path())
        .args(["import", "cases.xlsx", "--sandbox"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    settings(dir.path()).bind(|| insta::assert_snapshot!(stderr(&o)));
}

/// A command line, and the environment variables it runs with.
type Run = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

const VALID_CSV: &str =
    "case_number,external_source,external_source_id,status,type\nC-1,other,e-1,active,civil\n";

/// Each usage error is one line on stderr, nothing on stdout, exit 2; the snapshot is a
/// transcript of them all, so a reworded message shows beside its command.
#[test]
fn usage_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("cases.csv"), VALID_CSV).unwrap();
    std::fs::write(d.join("headers.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(d.join("notes.pdf"), "%PDF-1.4\n").unwrap();
    let cases: &[Run] = &[
        (&["validate", "nosuch.csv"], &[]),
        (&["validate", "notes.pdf"], &[]),
        (&["validate", "headers.csv"], &[]),
        (&["validate", "cases.csv", "--mapping", "nosuch.toml"], &[]),
        (&["export", "--out", "cases.xlsx"], &[]),
        (&["delete", "cases.csv", "--sandbox", "--yes"], &[]),
    ];
    let transcript = transcript(d, cases, |args, o| {
        let err = stderr(o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    });
    settings(d).bind(|| insta::assert_snapshot!(transcript));
}

/// `import` refusing its connection before any request: no key, plain http to a remote host.
/// Exit 2, nothing sent, and one line on stderr: the server and key are resolved (for the
/// journal) before the plan is printed.
#[test]
fn import_refuses_its_connection_before_any_request() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("cases.csv"), VALID_CSV).unwrap();
    let cases: &[Run] = &[
        (&["import", "cases.csv"], &[]),
        (
            &["import", "cases.csv", "--base-url", "http://example.com"],
            &[("KAYSE_API_KEY", "k")],
        ),
    ];
    let transcript = transcript(d, cases, |args, o| {
        let err = stderr(o);
        let last = err.lines().last().unwrap_or("");
        assert!(last.starts_with("error: "), "{args:?}: {err}");
        // The run's lock file stays (a lock file is never deleted, see record/lock.rs).
        let left: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| !n.to_string_lossy().ends_with(".lock"))
            .collect();
        assert_eq!(left, ["cases.csv"], "{args:?}: no journal, no results");
    });
    settings(d).bind(|| insta::assert_snapshot!(transcript));
}

/// Run each command in `dir` (exit 2, nothing on stdout, then `check`) and write a transcript:
/// the command line, then its stderr.
fn transcript(dir: &Path, cases: &[Run], check: impl Fn(&[&str], &Output)) -> String {
    let mut out = String::new();
    for (args, env) in cases {
        let o = tool(dir)
            .args(*args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
        check(args, &o);
        out.push_str(&format!(
            "$ kayse-bulk {}\n{}\n",
            args.join(" "),
            stderr(&o)
        ));
    }
    out
}

/// An option value clap itself refuses: its own form (error, hint to --help), still exit 2.
#[test]
fn a_bad_option_value_is_refused_by_clap() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cases.csv"), VALID_CSV).unwrap();
    let o = tool(dir.path())
        .args(["import", "cases.csv", "--rate-limit", "5/x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    settings(dir.path()).bind(|| insta::assert_snapshot!(stderr(&o)));
}
