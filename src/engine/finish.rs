//! The end of a run: the results file written row by row (each row counted in the summary), the
//! exit code chosen, the summary shown, and an interruption or a stop turned into its one line.
//! The same for every command; what a row came to is the command's to say.

use std::fmt::Display;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::Global;
use crate::engine::Sent;
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::outcome::{Outcome, ResultRow};
use crate::report::results::ResultsWriter;
use crate::report::summary::Summary;

/// A summary with the run's own facts: the command, its command line, input and results.
pub fn summary(command: &str, input: impl Display, results: Option<&Path>) -> Summary {
    Summary {
        command: command.to_string(),
        command_line: command_line(),
        input: input.to_string(),
        results: results.map(|p| p.display().to_string()),
        ..Default::default()
    }
}

/// The command line, for the Summary sheet. The key can never be on it: it is not a flag.
pub fn command_line() -> String {
    std::env::args()
        .enumerate()
        // argv[0] may be a long build path; people know the tool by its name
        .map(|(i, a)| if i == 0 { "kayse-bulk".to_string() } else { a })
        .map(|a| {
            if a.contains(' ') {
                format!("\"{a}\"")
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Set once this process printed its `--json` object, so `main` prints no second one.
static EMITTED: AtomicBool = AtomicBool::new(false);

/// Whether the run's summary object is already on stdout.
pub fn emitted() -> bool {
    EMITTED.load(Ordering::SeqCst)
}

/// Print the summary: people's text on stderr unless quiet, JSON on stdout with `--json`.
pub fn emit(summary: &Summary, g: &Global) {
    if !g.quiet {
        // The plan is printed once: before the first request when it was, else here.
        let skip: &[&str] = if super::session::plan_shown() {
            &["plan"]
        } else {
            &[]
        };
        eprint!("{}", summary.render_without(skip));
    }
    if g.json {
        println!("{}", summary.to_json());
        EMITTED.store(true, Ordering::SeqCst);
    }
}

/// What a second Ctrl-C (or signal) says before the process exits 130 at once, with no summary
/// and no results file written: one line for people, and the `--json` object a script waits for.
pub fn quit_at_once(command: &'static str, quiet: bool, json: bool) -> impl FnOnce() + Send {
    move || {
        let next = resume_command();
        let line = format!(
            "stopped at once by a second signal: the journal is safe; the results file is not written: run {next}"
        );
        if !quiet {
            eprintln!("{line}");
        }
        // `swap`: the one object, whether the summary's or this one, whichever comes first.
        if json && !EMITTED.swap(true, Ordering::SeqCst) {
            let object = crate::report::summary::error_json(
                Some(command),
                130,
                Some("interrupted"),
                Some(&next),
                &line,
            );
            println!("{object}");
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
    }
}

/// A path or word as it goes into a command people copy: quoted when it holds a space.
fn shell_word(s: &str) -> String {
    if s.contains(' ') {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

/// This command line again, with `--resume` (added once).
pub fn resume_command() -> String {
    let line = command_line();
    if line.split(' ').any(|w| w == "--resume") {
        line
    } else {
        format!("{line} --resume")
    }
}

/// ` --clients FILE` when the command line joins a clients table: the next run must join the
/// same one, or it would read the case sheet's own client columns instead.
fn clients_flag(command_line: &str) -> String {
    // Words as `command_line` wrote them: one with a space is in double quotes.
    let mut words: Vec<&str> = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in command_line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                words.push(&command_line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    words.push(&command_line[start..]);
    words
        .iter()
        .enumerate()
        .find_map(|(i, w)| match w.strip_prefix("--clients") {
            Some("") => words.get(i + 1).map(|f| format!(" --clients {f}")),
            Some(rest) => rest.strip_prefix('=').map(|f| format!(" --clients {f}")),
            None => None,
        })
        .unwrap_or_default()
}

/// What to do next after a run that was not stopped: the command (`next`) and what to do
/// before it (`next_first`), from the counts. Pure: the command line is given.
pub fn next_step(summary: &Summary, command_line: &str) -> (Option<String>, Option<String>) {
    let n = |o: Outcome| summary.get(o);
    let (invalid, failed, unknown) = (n(Outcome::Invalid), n(Outcome::Failed), n(Outcome::Unknown));
    let rows = |k: u64| if k == 1 { "row" } else { "rows" };
    let input = shell_word(&summary.input);
    let results = summary.results.as_deref().map(shell_word);
    let joined = clients_flag(command_line);
    // A row can be invalid for its client: the error names the clients table's row to fix.
    let there = match joined.strip_prefix(" --clients ") {
        Some(table) if invalid > 0 => {
            format!(" (where an error names a row of {table}, fix that row there)")
        }
        _ => String::new(),
    };
    if command_line.split(' ').any(|w| w == "--dry-run") {
        if invalid > 0 {
            return (
                None,
                Some(format!(
                    "fix the {invalid} invalid {} in {input}{there}",
                    rows(invalid)
                )),
            );
        }
        let cmd: Vec<&str> = command_line
            .split(' ')
            .filter(|w| *w != "--dry-run")
            .collect();
        return (Some(cmd.join(" ")), None);
    }
    match summary.command.as_str() {
        "validate" if invalid > 0 => (
            Some(format!("kayse-bulk validate {input}{joined}")),
            Some(format!(
                "fix the {invalid} invalid {} in {input}{there}",
                rows(invalid)
            )),
        ),
        "validate" if n(Outcome::Valid) > 0 => {
            (Some(format!("kayse-bulk import {input}{joined}")), None)
        }
        "import" if invalid + failed + unknown > 0 => {
            let Some(results) = results else {
                return (None, None);
            };
            let mut first = Vec::new();
            if invalid > 0 {
                first.push(format!("fix the {invalid} invalid {}", rows(invalid)));
            }
            if failed > 0 {
                first.push(format!(
                    "the {failed} failed {} (Kayse's reasons are in kayse_errors)",
                    rows(failed)
                ));
            }
            let first =
                (!first.is_empty()).then(|| format!("{} in {results}{there}", first.join(" and ")));
            (
                Some(format!("kayse-bulk import {results} --only-failed{joined}")),
                first,
            )
        }
        // Clients found in doubt: the cases that waited for them go with the import again.
        "reconcile" if failed > 0 && summary.clients_recovered > 0 => {
            let joined = match &summary.joined {
                Some(f) => format!(" --clients {}", shell_word(f)),
                None => joined,
            };
            (
                results.map(|r| format!("kayse-bulk import {r} --only-failed{joined}")),
                None,
            )
        }
        "sms" | "email" if unknown > 0 => (
            None,
            Some(format!(
                "check in Kayse whether the {unknown} unknown {} went out before sending them again",
                if unknown == 1 { "message" } else { "messages" }
            )),
        ),
        _ if failed + n(Outcome::NotFound) > 0 => (
            None,
            Some(format!(
                "see why {} {} failed in {}",
                failed + n(Outcome::NotFound),
                rows(failed + n(Outcome::NotFound)),
                results.unwrap_or(input)
            )),
        ),
        _ => (None, None),
    }
}

/// The exit code of a run: interrupted, stopped, some rows with problems, or all good.
pub fn exit_code(interrupted: bool, stopped: bool, problems: bool) -> ExitCode {
    if interrupted {
        ExitCode::Interrupted
    } else if stopped {
        ExitCode::Stopped
    } else if problems {
        ExitCode::RowsFailed
    } else {
        ExitCode::Ok
    }
}

/// End a run: choose the exit code, write what it produced (`write` gets the finished summary),
/// print the summary, and turn an interruption or a stop into its one line. `sent` is `None`
/// for a run that sent nothing by design (a dry run).
pub fn conclude(
    mut summary: Summary,
    g: &Global,
    sent: Option<&Sent>,
    started: std::time::Instant,
    write: impl FnOnce(&Summary) -> Result<(), Fatal>,
) -> CmdResult {
    // A header and no rows is not a silent success: nothing is written over an earlier file.
    if summary.rows_read == 0 && summary.command != "export" {
        return Err(Fatal::usage(format!(
            "{} has a header and no rows: nothing was checked or sent, and no results were written",
            summary.input
        )));
    }
    let interrupted = sent.is_some_and(|s| s.interrupted);
    let stop = sent.and_then(|s| s.stop.as_ref());
    if let Some(mut stats) = sent.and_then(|s| s.stats.clone()) {
        stats.elapsed_secs = started.elapsed().as_secs_f64();
        summary.requests = Some(stats);
    }
    if let Some(server) = sent.and_then(|s| s.server.as_ref()) {
        summary.server = Some(server.url.clone());
        summary.sandbox = Some(server.sandbox);
    }
    let code = exit_code(interrupted, stop.is_some(), summary.has_problems());
    summary.exit_code = code as i32;
    if interrupted || stop.is_some() {
        summary.stop_reason = Some(
            if interrupted {
                "interrupted"
            } else {
                stop.map_or("usage", |s| s.code())
            }
            .to_string(),
        );
        summary.next = Some(resume_command());
        summary.next_first = None;
    } else {
        (summary.next, summary.next_first) = next_step(&summary, &command_line());
    }
    write(&summary)?;
    emit(&summary, g);
    match (code, stop) {
        (ExitCode::Interrupted, _) => Err(Fatal::interrupted(
            "interrupted: the journal and results are written; run again with --resume to continue",
        )),
        (ExitCode::Stopped, Some(why)) => Err(Fatal::stopped(format!(
            "{}; the journal and results are written: run again with --resume to continue",
            why.message()
        ))
        .with_reason(why.code())),
        (c, _) => Ok(c),
    }
}

/// `<stem>.partial.<ext>` beside `out`: where a run that did not finish writes what it has.
pub fn partial_path(out: &Path) -> std::path::PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "kayse".into());
    match out.extension() {
        Some(ext) => out.with_file_name(format!("{stem}.partial.{}", ext.to_string_lossy())),
        None => out.with_file_name(format!("{stem}.partial")),
    }
}

/// Where a run's output goes: `out` when it finished; else its partial file, so a stopped or
/// interrupted run (the key, the budget, Ctrl-C) never replaces last week's good output, and
/// `--resume` completes into `out`.
pub fn output_for(out: &Path, sent: &Sent) -> std::path::PathBuf {
    if sent.interrupted || sent.stop.is_some() {
        partial_path(out)
    } else {
        out.to_path_buf()
    }
}

/// A results file being written, one row per input row, each counted in the summary.
pub struct Results {
    writer: ResultsWriter,
    pub summary: Summary,
}

impl Results {
    /// Start the results file at `path`: `headers` are the input's, `extra` the command's own
    /// columns, `hidden` the input columns hidden in the workbook (kept hidden in XLSX, left out
    /// of CSV).
    pub fn create(
        path: &Path,
        headers: &[String],
        extra: &[String],
        hidden: &[usize],
        summary: Summary,
    ) -> Result<Results, Fatal> {
        let writer = ResultsWriter::create_hiding(path, headers, extra, hidden)
            .map_err(|e| Fatal::from_error(ExitCode::Stopped, e))?;
        Ok(Results { writer, summary })
    }

    /// Write one row and count it.
    pub fn write(&mut self, row: ResultRow) -> Result<(), Fatal> {
        self.summary.rows_read += 1;
        self.summary.count(row.outcome);
        self.writer
            .write(&row)
            .map_err(|e| Fatal::from_error(ExitCode::Stopped, e))
    }

    /// Finish the file and the run. A results file that cannot be replaced (open in Excel) after
    /// a run that sent is written again by `--resume`, which sends nothing twice; "run again"
    /// would be refused by the journal, so the advice names the resume.
    pub fn finish(self, g: &Global, sent: Option<&Sent>, started: std::time::Instant) -> CmdResult {
        self.finish_with(g, sent, started, &[])
    }

    /// [`Results::finish`], with `tables` beside the rows (an import's Clients sheet).
    pub fn finish_with(
        self,
        g: &Global,
        sent: Option<&Sent>,
        started: std::time::Instant,
        tables: &[crate::report::results::Table],
    ) -> CmdResult {
        let Results { writer, summary } = self;
        conclude(summary, g, sent, started, |s| {
            writer.finish_with(s, tables).map_err(|e| match (&e, sent) {
                (crate::report::results::ResultsError::Replace { path, kept, .. }, Some(_)) => {
                    let resume = resume_command();
                    Fatal::stopped(format!(
                        "cannot replace {path} (is it open in Excel?): close it, then run {resume} to write it again (nothing is sent twice); the new results are also in {kept}"
                    ))
                    .with_reason("results_unwritable")
                    .with_next(resume)
                }
                _ => Fatal::from_error(ExitCode::Stopped, e),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unfinished_run_writes_its_partial_file() {
        let table = [
            ("r/cases.xlsx", "r/cases.partial.xlsx"),
            ("out.csv", "out.partial.csv"),
            ("report", "report.partial"),
        ];
        for (out, want) in table {
            assert_eq!(partial_path(Path::new(out)), Path::new(want));
        }
        let mut sent = Sent::nothing();
        assert_eq!(output_for(Path::new("a.xlsx"), &sent), Path::new("a.xlsx"));
        sent.stop = Some(crate::engine::StopReason::KeyRejected(401));
        assert_eq!(
            output_for(Path::new("a.xlsx"), &sent),
            Path::new("a.partial.xlsx")
        );
        sent.stop = None;
        sent.interrupted = true;
        assert_eq!(
            output_for(Path::new("a.xlsx"), &sent),
            Path::new("a.partial.xlsx")
        );
    }

    #[test]
    fn exit_codes() {
        let table = [
            ((true, true, true), ExitCode::Interrupted),
            ((false, true, true), ExitCode::Stopped),
            ((false, false, true), ExitCode::RowsFailed),
            ((false, false, false), ExitCode::Ok),
        ];
        for ((i, s, p), want) in table {
            assert_eq!(exit_code(i, s, p), want, "{i} {s} {p}");
        }
    }

    #[test]
    fn the_next_step_follows_the_counts() {
        let run = |command: &str, counts: &[(Outcome, u64)]| {
            let mut s = summary(command, "week 1.csv", Some(Path::new("week1.results.xlsx")));
            for (o, k) in counts {
                for _ in 0..*k {
                    s.count(*o);
                }
            }
            s
        };
        // (command, counts, command line, next, what to do first)
        type Case<'a> = (
            &'a str,
            Vec<(Outcome, u64)>,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
        );
        let table: Vec<Case> = vec![
            (
                "validate",
                vec![(Outcome::Valid, 3)],
                "kayse-bulk validate x",
                Some("kayse-bulk import \"week 1.csv\""),
                None,
            ),
            (
                "validate",
                vec![(Outcome::Valid, 3), (Outcome::Invalid, 5)],
                "kayse-bulk validate x",
                Some("kayse-bulk validate \"week 1.csv\""),
                Some("fix the 5 invalid rows in \"week 1.csv\""),
            ),
            (
                "import",
                vec![(Outcome::Created, 3), (Outcome::Invalid, 1)],
                "kayse-bulk import x",
                Some("kayse-bulk import week1.results.xlsx --only-failed"),
                Some("fix the 1 invalid row in week1.results.xlsx"),
            ),
            (
                "validate",
                vec![(Outcome::Valid, 3)],
                "kayse-bulk validate x --clients \"my contacts.csv\"",
                Some("kayse-bulk import \"week 1.csv\" --clients \"my contacts.csv\""),
                None,
            ),
            (
                "validate",
                vec![(Outcome::Invalid, 3)],
                "kayse-bulk validate x --clients=c.csv",
                Some("kayse-bulk validate \"week 1.csv\" --clients c.csv"),
                Some(
                    "fix the 3 invalid rows in \"week 1.csv\" (where an error names a row of c.csv, fix that row there)",
                ),
            ),
            (
                "import",
                vec![(Outcome::Created, 3), (Outcome::Invalid, 1)],
                "kayse-bulk import x --clients c.csv",
                Some("kayse-bulk import week1.results.xlsx --only-failed --clients c.csv"),
                Some(
                    "fix the 1 invalid row in week1.results.xlsx (where an error names a row of c.csv, fix that row there)",
                ),
            ),
            (
                "import",
                vec![(Outcome::Invalid, 2)],
                "kayse-bulk import x --clients c.csv --dry-run",
                None,
                Some(
                    "fix the 2 invalid rows in \"week 1.csv\" (where an error names a row of c.csv, fix that row there)",
                ),
            ),
            (
                "import",
                vec![(Outcome::Created, 3), (Outcome::Failed, 1)],
                "kayse-bulk import x --clients c.csv",
                Some("kayse-bulk import week1.results.xlsx --only-failed --clients c.csv"),
                Some(
                    "the 1 failed row (Kayse's reasons are in kayse_errors) in week1.results.xlsx",
                ),
            ),
            (
                "import",
                vec![(Outcome::Unknown, 2)],
                "kayse-bulk import x",
                Some("kayse-bulk import week1.results.xlsx --only-failed"),
                None,
            ),
            (
                "import",
                vec![(Outcome::Created, 3)],
                "kayse-bulk import x",
                None,
                None,
            ),
            (
                "import",
                vec![(Outcome::Valid, 3)],
                "kayse-bulk import x --dry-run --sandbox",
                Some("kayse-bulk import x --sandbox"),
                None,
            ),
            (
                "sms",
                vec![(Outcome::Sent, 3), (Outcome::Unknown, 1)],
                "kayse-bulk sms x",
                None,
                Some(
                    "check in Kayse whether the 1 unknown message went out before sending them again",
                ),
            ),
            (
                "delete",
                vec![(Outcome::Deleted, 3), (Outcome::NotFound, 2)],
                "kayse-bulk delete x",
                None,
                Some("see why 2 rows failed in week1.results.xlsx"),
            ),
            (
                "export",
                vec![(Outcome::Valid, 3)],
                "kayse-bulk export",
                None,
                None,
            ),
        ];
        for (command, counts, line, next, first) in table {
            let got = next_step(&run(command, &counts), line);
            assert_eq!(
                (got.0.as_deref(), got.1.as_deref()),
                (next, first),
                "{command} {counts:?} {line}"
            );
        }
    }

    #[test]
    fn after_reconciling_clients_the_next_step_is_the_import_again() {
        // (clients recovered, the joined clients table, failed rows, next, what to do first)
        type Case<'a> = (u64, Option<&'a str>, u64, Option<&'a str>, Option<&'a str>);
        let table: [Case; 5] = [
            (
                2,
                None,
                5,
                Some("kayse-bulk import week1.results.xlsx --only-failed"),
                None,
            ),
            // The import joined a clients table: the next one joins it again.
            (
                2,
                Some("my contacts.csv"),
                5,
                Some(
                    "kayse-bulk import week1.results.xlsx --only-failed --clients \"my contacts.csv\"",
                ),
                None,
            ),
            (
                0,
                None,
                5,
                None,
                Some("see why 5 rows failed in week1.results.xlsx"),
            ),
            (2, None, 0, None, None),
            (0, None, 0, None, None),
        ];
        for (recovered, joined, failed, next, first) in table {
            let mut s = summary("reconcile", "w.xlsx", Some(Path::new("week1.results.xlsx")));
            s.clients_recovered = recovered;
            s.joined = joined.map(str::to_string);
            for _ in 0..failed {
                s.count(Outcome::Failed);
            }
            let got = next_step(&s, "kayse-bulk reconcile w.xlsx --probe");
            assert_eq!(
                (got.0.as_deref(), got.1.as_deref()),
                (next, first),
                "{recovered} {failed}"
            );
        }
    }

    #[test]
    fn a_stop_or_an_interrupt_ends_in_one_line() {
        let g = Global {
            quiet: true,
            ..Default::default()
        };
        let one_row = || Summary {
            rows_read: 1,
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let mut sent = Sent::nothing();
        sent.stop = Some(crate::engine::StopReason::Budget);
        let mut seen = None;
        let e = conclude(one_row(), &g, Some(&sent), started, |s| {
            seen = Some((s.stop_reason.clone(), s.next.clone()));
            Ok(())
        })
        .unwrap_err();
        assert_eq!(e.code, ExitCode::Stopped);
        assert_eq!(e.stop_reason(), Some("budget_spent"));
        let (reason, next) = seen.unwrap();
        assert_eq!(reason.as_deref(), Some("budget_spent"));
        assert!(next.unwrap().ends_with(" --resume"));
        assert!(
            e.render()
                .starts_with("the --budget is spent; the journal and results are written")
        );
        sent.interrupted = true;
        let e = conclude(one_row(), &g, Some(&sent), started, |_| Ok(())).unwrap_err();
        assert_eq!(e.code, ExitCode::Interrupted);
        assert_eq!(e.stop_reason(), Some("interrupted"));
        let mut wrote = None;
        let ok = conclude(one_row(), &g, None, started, |s| {
            wrote = Some(s.exit_code);
            Ok(())
        });
        assert_eq!(ok.unwrap(), ExitCode::Ok);
        assert_eq!(wrote, Some(0), "the file gets the final exit code");
        let mut wrote = false;
        let e = conclude(Summary::default(), &g, None, started, |_| {
            wrote = true;
            Ok(())
        })
        .unwrap_err();
        assert_eq!(e.code, ExitCode::Usage);
        assert!(
            e.render().contains("has a header and no rows"),
            "{}",
            e.render()
        );
        assert!(!wrote, "an empty input writes nothing");
    }
}
