//! `kayse-bulk run`: the saved jobs of a profile. `run NAME` never reaches this module: it is
//! turned into the job's own command line before dispatch (`profile::resolve`), so that clap and
//! the job's command see it exactly as if it had been typed. What is left here is `run --list`.

use std::ffi::OsString;

use clap::CommandFactory;
use serde_json::json;

use crate::cli::{Cli, Global};
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::profile::{self, FILE_NAME, Setting, Value};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "A job is a [jobs.NAME] table of kayse-bulk.toml (or --config FILE): \
    command = \"export\" and the command's options, each named by its long flag without the \
    dashes; input = \"FILE\" for a command's input file. `kayse-bulk -v run NAME` shows where \
    each setting came from. The exit code is the job's: 3 means stopped and resumable \
    (run NAME --resume)."
)]
pub struct Args {
    /// List the profile's jobs on stdout, one line each: name, command and options.
    #[arg(long, conflicts_with = "name")]
    pub list: bool,
    /// The job to run: a [jobs.NAME] table of the profile.
    #[arg(required_unless_present = "list", value_name = "NAME")]
    pub name: Option<String>,
    /// Options of the job's command, e.g. --budget 50: each replaces the profile's value for
    /// that option.
    #[arg(
        allow_hyphen_values = true,
        trailing_var_arg = true,
        value_name = "JOB_OPTIONS"
    )]
    pub options: Vec<OsString>,
}

pub fn run(args: Args, g: &Global) -> CmdResult {
    if let Some(name) = args.name {
        // Only reachable when `Cli` was built without `profile::resolve`.
        return Err(Fatal::usage(format!(
            "run {name}: jobs are resolved when the command line is parsed"
        )));
    }
    let Some((path, file)) = profile::locate(g.config.as_deref()) else {
        return Err(Fatal::usage(format!(
            "run --list: there is no {FILE_NAME} in this folder; give --config FILE"
        )));
    };
    let p = profile::load(&path, &file, &Cli::command())
        .map_err(|e| Fatal::from_error(ExitCode::Usage, e))?;
    if g.json {
        println!("{}", list_json(&p));
        return Ok(ExitCode::Ok);
    }
    if p.jobs.is_empty() && !g.quiet {
        eprintln!("{file} has no [jobs.NAME] table");
    }
    print!("{}", list_lines(&p));
    if !p.defaults.is_empty() && !g.quiet {
        eprintln!("[defaults] for every job: {}", line_of(&p.defaults));
    }
    Ok(ExitCode::Ok)
}

/// One line per job: its name, padded, then the command line it stands for.
pub fn list_lines(p: &profile::Profile) -> String {
    let width = p.jobs.iter().map(|j| j.name.len()).max().unwrap_or(0);
    p.jobs
        .iter()
        .map(|j| {
            let opts = line_of(&j.settings);
            let sep = if opts.is_empty() { "" } else { " " };
            format!("{:<width$}  {}{sep}{opts}\n", j.name, j.command)
        })
        .collect()
}

fn list_json(p: &profile::Profile) -> serde_json::Value {
    let words = |s: &[Setting]| -> Vec<String> { s.iter().flat_map(words).collect() };
    json!({
        "profile": p.file,
        "defaults": words(&p.defaults),
        "jobs": p.jobs.iter().map(|j| json!({
            "name": j.name,
            "command": j.command,
            "line": j.line,
            "options": words(&j.settings),
        })).collect::<Vec<_>>(),
    })
}

/// Settings as they would be typed: the input first, then each option.
fn line_of(settings: &[Setting]) -> String {
    let (input, rest): (Vec<&Setting>, Vec<&Setting>) =
        settings.iter().partition(|s| s.key == "input");
    input
        .into_iter()
        .chain(rest)
        .flat_map(words)
        .map(|w| quoted(&w))
        .collect::<Vec<_>>()
        .join(" ")
}

fn words(s: &Setting) -> Vec<String> {
    let flag = format!("--{}", s.key);
    let values: Vec<&String> = match &s.value {
        Value::Flag(true) => return vec![flag],
        Value::Flag(false) => return Vec::new(),
        Value::One(v) => vec![v],
        Value::List(v) => v.iter().collect(),
    };
    if s.key == "input" {
        return values.into_iter().cloned().collect();
    }
    values
        .into_iter()
        .flat_map(|v| [flag.clone(), v.clone()])
        .collect()
}

/// A word as a POSIX shell would need it: bare when safe, else in single quotes.
fn quoted(w: &str) -> String {
    let safe = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+{}".contains(c));
    match safe {
        true => w.to_string(),
        false => format!("'{}'", w.replace('\'', r"'\''")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_a_shell_needs_it() {
        let table = [
            ("reports/cases-{date}.xlsx", "reports/cases-{date}.xlsx"),
            ("500/h", "500/h"),
            ("Open Cases", "'Open Cases'"),
            ("it's", r"'it'\''s'"),
            ("", "''"),
            ("a;b", "'a;b'"),
        ];
        for (w, want) in table {
            assert_eq!(quoted(w), want, "{w}");
        }
    }

    #[test]
    fn a_job_lists_as_the_command_line_it_stands_for() {
        let text = "[jobs.nightly]\ncommand = \"import\"\nbatch-size = 50\ninput = \"in box/cases.xlsx\"\n\
                    sandbox = true\ndry-run = false\nallowed-status = [\"active\", \"closed\"]\n\
                    [jobs.x]\ncommand = \"template\"\n";
        let p = profile::parse("p.toml", text, &Cli::command()).unwrap();
        assert_eq!(
            list_lines(&p),
            "nightly  import 'in box/cases.xlsx' --batch-size 50 --sandbox \
             --allowed-status active --allowed-status closed\n\
             x        template\n"
        );
    }
}
