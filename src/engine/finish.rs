//! The end of a run: the results file written row by row (each row counted in the summary), the
//! exit code chosen, the summary shown, and an interruption or a stop turned into its one line.
//! The same for every command; what a row came to is the command's to say.

use std::fmt::Display;
use std::path::Path;

use crate::cli::Global;
use crate::engine::Sent;
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::outcome::ResultRow;
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

/// Print the summary: people's text on stderr unless quiet, JSON on stdout with `--json`.
pub fn emit(summary: &Summary, g: &Global) {
    if !g.quiet {
        eprint!("{}", summary.render());
    }
    if g.json {
        match serde_json::to_string(summary) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("error: cannot encode the summary: {e}"),
        }
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
    let interrupted = sent.is_some_and(|s| s.interrupted);
    let stop = sent.and_then(|s| s.stop.as_ref());
    if let Some(mut stats) = sent.and_then(|s| s.stats.clone()) {
        stats.elapsed_secs = started.elapsed().as_secs_f64();
        summary.requests = Some(stats);
    }
    let code = exit_code(interrupted, stop.is_some(), summary.has_problems());
    summary.exit_code = code as i32;
    write(&summary)?;
    emit(&summary, g);
    match (code, stop) {
        (ExitCode::Interrupted, _) => Err(Fatal::interrupted(
            "interrupted: the journal and results are written; run again with --resume to continue",
        )),
        (ExitCode::Stopped, Some(why)) => Err(Fatal::stopped(format!(
            "{}; the journal and results are written: run again with --resume to continue",
            why.message()
        ))),
        (c, _) => Ok(c),
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

    /// Finish the file and the run.
    pub fn finish(self, g: &Global, sent: Option<&Sent>, started: std::time::Instant) -> CmdResult {
        let Results { writer, summary } = self;
        conclude(summary, g, sent, started, |s| {
            writer
                .finish(s)
                .map_err(|e| Fatal::from_error(ExitCode::Stopped, e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_stop_or_an_interrupt_ends_in_one_line() {
        let g = Global {
            quiet: true,
            ..Default::default()
        };
        let started = std::time::Instant::now();
        let mut sent = Sent::nothing();
        sent.stop = Some(crate::engine::StopReason::Budget);
        let e = conclude(Summary::default(), &g, Some(&sent), started, |_| Ok(())).unwrap_err();
        assert_eq!(e.code, ExitCode::Stopped);
        assert!(
            e.render()
                .starts_with("the --budget is spent; the journal and results are written")
        );
        sent.interrupted = true;
        let e = conclude(Summary::default(), &g, Some(&sent), started, |_| Ok(())).unwrap_err();
        assert_eq!(e.code, ExitCode::Interrupted);
        let mut wrote = None;
        let ok = conclude(Summary::default(), &g, None, started, |s| {
            wrote = Some(s.exit_code);
            Ok(())
        });
        assert_eq!(ok.unwrap(), ExitCode::Ok);
        assert_eq!(wrote, Some(0), "the file gets the final exit code");
    }
}
