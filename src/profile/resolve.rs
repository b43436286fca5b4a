//! From the process's arguments to the one `Cli` that runs: a plain command gets the profile's
//! `[defaults]` inserted after its name; `run NAME` becomes the job's command with `[defaults]`,
//! then the job's settings, then what was typed after `run NAME`. Clap parses the result like
//! any command line, so every check it makes applies to profiles too. An option typed on the
//! command line drops the profile's value for that option; the environment (`KAYSE_BASE_URL`)
//! wins over `[defaults]` but not over a job. With `-v`, says where each setting came from.

use std::collections::HashMap;
use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{ArgMatches, Command, CommandFactory, FromArgMatches};

use super::{
    FILE_NAME, Profile, Setting, commands_with_defaults, load, locate, model, setting_arg,
};
use crate::cli::{Cli, Command as Cmd};
use crate::error::{ExitCode, Fatal};

/// Why parsing ends before a command runs: clap's own answer (usage error, `--help`,
/// `--version`), printed as clap prints it, or a profile that cannot be used.
#[derive(Debug)]
pub enum Stop {
    Clap(clap::Error),
    Fatal(Fatal),
}

impl From<clap::Error> for Stop {
    fn from(e: clap::Error) -> Self {
        Stop::Clap(e)
    }
}

/// Where a setting of the final command line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Defaults(usize),
    Job(usize),
}

/// Parse `args` (the program name first) and apply the profile, if there is one.
pub fn resolve(args: &[OsString]) -> Result<Cli, Stop> {
    let root = model::built(Cli::command());
    let first = root.clone().try_get_matches_from(args)?;
    let cli = Cli::from_arg_matches(&first)?;
    let job_name = match &cli.command {
        Cmd::Run(a) => match &a.name {
            Some(n) => Some(n.clone()),
            None => return Ok(cli), // `run --list` reads the profile itself
        },
        _ => None,
    };
    let sub_name = first.subcommand_name().unwrap_or_default();
    if job_name.is_none() && !takes_defaults(&root, sub_name) {
        return Ok(cli);
    }
    let Some((path, file)) = locate(cli.global.config.as_deref()) else {
        return match job_name {
            Some(n) => Err(Stop::Fatal(Fatal::usage(format!(
                "run {n}: there is no {FILE_NAME} in this folder; run it where the profile is, \
                 or give --config FILE"
            )))),
            None => Ok(cli),
        };
    };
    let profile = load(&path, &file, &root)
        .map_err(|e| Stop::Fatal(Fatal::from_error(ExitCode::Usage, e)))?;
    let moment = chrono::Local::now().naive_local();
    let line = assemble(&root, args, &profile, job_name.as_deref(), moment)?;
    let matches = root.clone().try_get_matches_from(&line.tokens)?;
    let cli = Cli::from_arg_matches(&matches)?;
    if cli.global.config.as_deref() != Some(path.as_path()) && cli.global.config.is_some() {
        // Typed after a job's options, --config reached the job, not this resolution.
        return Err(Stop::Fatal(Fatal::usage(format!(
            "--config comes before the job's options: kayse-bulk --config FILE run {}",
            job_name.as_deref().unwrap_or("NAME")
        ))));
    }
    if cli.global.verbose && !cli.global.quiet {
        let sub = matches
            .subcommand()
            .map(|(_, m)| m.clone())
            .unwrap_or_default();
        eprint!("{}", line.report(&root, &profile, &sub));
    }
    Ok(cli)
}

/// True when `[defaults]` can set something of the command `name`: only then is the profile
/// read for it (a broken profile does not stop `template` or `sandbox`).
fn takes_defaults(root: &Command, name: &str) -> bool {
    commands_with_defaults(root).any(|c| {
        c.get_name() == name
            && super::DEFAULT_KEYS
                .iter()
                .any(|k| model::option(c, k).is_some())
    })
}

/// The command line to parse, and what the profile put into it.
#[derive(Debug)]
struct Assembled<'p> {
    tokens: Vec<OsString>,
    command: String,
    job: Option<&'p super::Job>,
    /// Argument id → the profile line that set it.
    origin: HashMap<String, Origin>,
    /// Profile settings the command line (or, for defaults, a job or the environment) replaced.
    overridden: Vec<(&'p Setting, Origin)>,
    /// `[defaults]` settings this command takes no option for.
    unused: Vec<&'p Setting>,
}

fn assemble<'p>(
    root: &Command,
    args: &[OsString],
    profile: &'p Profile,
    job_name: Option<&str>,
    moment: chrono::NaiveDateTime,
) -> Result<Assembled<'p>, Stop> {
    let usage = |m: String| Stop::Fatal(Fatal::usage(m));
    let i_sub =
        model::first_positional(root, args, 1).ok_or_else(|| usage("no command given".into()))?;
    let mut base = args.to_vec();
    let job = match job_name {
        Some(n) => {
            let job = profile.job(n).ok_or_else(|| {
                let names: Vec<&str> = profile.jobs.iter().map(|j| j.name.as_str()).collect();
                usage(format!(
                    "{} has no job '{n}'; its jobs: {}",
                    profile.file,
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ))
            })?;
            let run = root.find_subcommand("run").expect("run is a command");
            let i_name = model::first_positional(run, args, i_sub + 1)
                .ok_or_else(|| usage("run: which job?".into()))?;
            base.remove(i_name);
            base[i_sub] = OsString::from(&job.command);
            Some(job)
        }
        None => None,
    };
    let command = match job {
        Some(j) => j.command.clone(),
        None => args[i_sub].to_string_lossy().into_owned(),
    };
    let cmd = root
        .find_subcommand(&command)
        .expect("a parsed or checked command");
    let typed = model::parse_sub(&model::relaxed(root, &command), &command, &base[1..])?;
    let source = |id: &str| typed.value_source(id);
    let mut out = Assembled {
        tokens: Vec::new(),
        command: command.clone(),
        job,
        origin: HashMap::new(),
        overridden: Vec::new(),
        unused: Vec::new(),
    };
    let mut job_tokens = Vec::new();
    for s in job.map_or(&[][..], |j| &j.settings[..]) {
        let arg = setting_arg(cmd, s).map_err(usage)?;
        let id = arg.get_id().to_string();
        if source(&id) == Some(ValueSource::CommandLine) {
            out.overridden.push((s, Origin::Job(s.line)));
            continue;
        }
        job_tokens.extend(super::tokens(arg, s, moment).map_err(usage)?);
        out.origin.insert(id, Origin::Job(s.line));
    }
    let mut default_tokens = Vec::new();
    let applies = !model::NO_DEFAULTS.contains(&command.as_str());
    for s in profile.defaults.iter().filter(|_| applies) {
        let Some(arg) = model::option(cmd, &s.key) else {
            out.unused.push(s);
            continue;
        };
        let id = arg.get_id().to_string();
        let replaced = out.origin.contains_key(&id)
            || matches!(
                source(&id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            );
        if replaced {
            out.overridden.push((s, Origin::Defaults(s.line)));
            continue;
        }
        default_tokens.extend(super::tokens(arg, s, moment).map_err(usage)?);
        out.origin.insert(id, Origin::Defaults(s.line));
    }
    out.tokens.extend_from_slice(&base[..=i_sub]);
    out.tokens.extend(default_tokens);
    out.tokens.extend(job_tokens);
    out.tokens.extend_from_slice(&base[i_sub + 1..]);
    Ok(out)
}

impl Assembled<'_> {
    /// The `-v` lines: the profile, then every setting of the command with where it came from.
    fn report(&self, root: &Command, profile: &Profile, m: &ArgMatches) -> String {
        let file = &profile.file;
        let place = |o: Origin| match (o, self.job) {
            (Origin::Defaults(l), _) => format!("profile defaults ({file}:{l})"),
            (Origin::Job(l), Some(j)) => format!("job {} ({file}:{l})", j.name),
            (Origin::Job(l), None) => format!("job ({file}:{l})"),
        };
        let mut out = match self.job {
            Some(j) => format!("profile {file}: job {} runs {}\n", j.name, self.command),
            None => format!("profile {file}: its [defaults] apply to {}\n", self.command),
        };
        let cmd = root
            .find_subcommand(&self.command)
            .expect("the command ran");
        for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
            let id = arg.get_id().as_str();
            let (shown, from) = match (m.value_source(id), self.origin.get(id)) {
                (Some(ValueSource::CommandLine), Some(&o)) => (shown(arg, m), place(o)),
                (Some(ValueSource::CommandLine), None) => {
                    let mut from = "command line".to_string();
                    for (s, o) in &self.overridden {
                        if model::option(cmd, &s.key).is_some_and(|a| a.get_id() == id)
                            || (s.key == "input" && arg.is_positional())
                        {
                            from.push_str(&format!(", over {}", place(*o)));
                        }
                    }
                    (shown(arg, m), from)
                }
                (Some(ValueSource::EnvVariable), _) => {
                    let var = arg.get_env().map(|v| v.to_string_lossy().into_owned());
                    (
                        shown(arg, m),
                        format!("environment ({})", var.unwrap_or_default()),
                    )
                }
                (Some(ValueSource::DefaultValue), _)
                    if arg
                        .get_long()
                        .is_some_and(|l| super::DEFAULT_KEYS.contains(&l)) =>
                {
                    (shown(arg, m), "built-in default".to_string())
                }
                _ => continue,
            };
            out.push_str(&format!("  {shown:<40} {from}\n"));
        }
        for s in &self.unused {
            out.push_str(&format!(
                "  {:<40} {}: {} takes no --{}\n",
                s.key,
                place(Origin::Defaults(s.line)),
                self.command,
                s.key
            ));
        }
        out
    }
}

/// One setting as the final command line holds it, e.g. `--rate-limit 400/h` or `input x.csv`.
/// A value whose option is named like a secret is never shown.
fn shown(arg: &clap::Arg, m: &ArgMatches) -> String {
    let id = arg.get_id().as_str();
    let name = match arg.get_long() {
        Some(l) => format!("--{l}"),
        None => "input".to_string(),
    };
    if model::is_flag(arg) {
        return name;
    }
    let values: Vec<String> = m
        .get_raw(id)
        .map(|v| v.map(|x| x.to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    if arg.get_long().is_some_and(super::secret::names_a_secret) {
        return format!("{name} (hidden)");
    }
    format!("{name} {}", values.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = r#"[defaults]
rate-limit = "400/h"
concurrency = 2
ledger = "firm.sqlite"

[jobs.nightly]
command = "export"
ids-from = "known.xlsx"
out = "reports/cases-{date}.xlsx"
budget = 100
concurrency = 3

[jobs.check]
command = "validate"
input = "cases.xlsx"
"#;

    fn profile() -> Profile {
        super::super::parse("p.toml", PROFILE, &Cli::command()).unwrap()
    }

    fn moment() -> chrono::NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2024, 3, 5)
            .unwrap()
            .and_hms_opt(1, 2, 3)
            .unwrap()
    }

    fn words(v: &[OsString]) -> String {
        v.iter()
            .map(|t| t.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// (typed command line, the job, the command line clap is given)
    #[test]
    fn layers_make_one_command_line_and_the_typed_options_win() {
        let table: &[(&str, Option<&str>, &str)] = &[
            (
                "kb run nightly",
                Some("nightly"),
                "kb export --rate-limit=400/h --ledger=firm.sqlite --ids-from=known.xlsx \
                 --out=reports/cases-2024-03-05.xlsx --budget=100 --concurrency=3",
            ),
            (
                "kb -v run nightly --budget 50 --out x.csv",
                Some("nightly"),
                "kb -v export --rate-limit=400/h --ledger=firm.sqlite --ids-from=known.xlsx --concurrency=3 \
                 --budget 50 --out x.csv",
            ),
            (
                "kb --sandbox-state run run nightly --rate-limit=9/m",
                Some("nightly"),
                "kb --sandbox-state run export --ledger=firm.sqlite --ids-from=known.xlsx \
                 --out=reports/cases-2024-03-05.xlsx --budget=100 --concurrency=3 --rate-limit=9/m",
            ),
            (
                "kb run check other.csv",
                Some("check"),
                "kb validate --ledger=firm.sqlite other.csv",
            ),
            (
                "kb import cases.xlsx --dry-run",
                None,
                "kb import --rate-limit=400/h --concurrency=2 --ledger=firm.sqlite cases.xlsx --dry-run",
            ),
            (
                "kb -q import --concurrency 1 -- -odd.csv",
                None,
                "kb -q import --rate-limit=400/h --ledger=firm.sqlite --concurrency 1 -- -odd.csv",
            ),
            (
                "kb validate cases.xlsx",
                None,
                "kb validate --ledger=firm.sqlite cases.xlsx",
            ),
        ];
        let root = model::built(Cli::command());
        let p = profile();
        for (typed, job, want) in table {
            let args: Vec<OsString> = typed.split(' ').map(OsString::from).collect();
            let got =
                assemble(&root, &args, &p, *job, moment()).unwrap_or_else(|_| panic!("{typed}"));
            assert_eq!(words(&got.tokens), *want, "{typed}");
            root.clone()
                .try_get_matches_from(&got.tokens)
                .unwrap_or_else(|e| panic!("{typed}: {e}"));
        }
    }

    #[test]
    fn defaults_reach_the_commands_that_call_kayse_and_validate() {
        let root = model::built(Cli::command());
        let table = [
            ("validate", true), // --batch-size, for its request arithmetic
            ("import", true),
            ("export", true),
            ("delete", true),
            ("sms", true),
            ("email", true),
            ("template", false),
            ("sandbox", false), // its --rate-limit is the server's, not a client's
            ("completions", false),
            ("run", false), // a job gets them through its own command
        ];
        for (name, want) in table {
            assert_eq!(takes_defaults(&root, name), want, "{name}");
        }
    }

    #[test]
    fn an_unknown_job_names_the_jobs_there_are() {
        let root = model::built(Cli::command());
        let args: Vec<OsString> = ["kb", "run", "weekly"].map(OsString::from).to_vec();
        let Err(Stop::Fatal(f)) = assemble(&root, &args, &profile(), Some("weekly"), moment())
        else {
            panic!("accepted an unknown job");
        };
        assert_eq!(
            f.render(),
            "p.toml has no job 'weekly'; its jobs: nightly, check"
        );
        assert_eq!(f.code, ExitCode::Usage);
    }

    #[test]
    fn verbose_says_where_every_setting_came_from() {
        let root = model::built(Cli::command());
        let p = profile();
        let typed = "kb run nightly --budget 50 -v";
        let args: Vec<OsString> = typed.split(' ').map(OsString::from).collect();
        let a = assemble(&root, &args, &p, Some("nightly"), moment()).unwrap();
        let m = root.clone().try_get_matches_from(&a.tokens).unwrap();
        let report = a.report(&root, &p, m.subcommand().unwrap().1);
        let lines: Vec<(&str, &str)> = report
            .lines()
            .skip(1)
            .map(|l| {
                let (setting, from) = l.trim().split_once("  ").unwrap();
                (setting, from.trim())
            })
            .collect();
        assert_eq!(
            report.lines().next(),
            Some("profile p.toml: job nightly runs export")
        );
        let want = [
            ("--ids-from known.xlsx", "job nightly (p.toml:8)"),
            (
                "--out reports/cases-2024-03-05.xlsx",
                "job nightly (p.toml:9)",
            ),
            ("--rate-limit 400/h", "profile defaults (p.toml:2)"),
            ("--concurrency 3", "job nightly (p.toml:11)"),
            ("--budget 50", "command line, over job nightly (p.toml:10)"),
            ("--verbose", "command line"),
            ("--ledger firm.sqlite", "profile defaults (p.toml:4)"),
        ];
        for w in want {
            assert!(lines.contains(&w), "want {w:?} in\n{report}");
        }
        // The base URL and timeout come from the environment or the built-in default; either
        // way the line says which.
        let base = lines
            .iter()
            .find(|(s, _)| s.starts_with("--base-url"))
            .unwrap();
        assert!(
            base.1 == "built-in default" || base.1 == "environment (KAYSE_BASE_URL)",
            "{base:?}"
        );
    }

    #[test]
    fn the_command_and_job_names_are_found_past_option_values() {
        let root = model::built(Cli::command());
        let table: &[(&str, Option<usize>)] = &[
            ("kb import x", Some(1)),
            ("kb -v -q import x", Some(3)),
            ("kb --sandbox-state import import x", Some(3)),
            ("kb --sandbox-state=s.json import", Some(2)),
            ("kb --json", None),
            ("kb -- import", Some(2)),
        ];
        for (typed, want) in table {
            let args: Vec<OsString> = typed.split(' ').map(OsString::from).collect();
            assert_eq!(model::first_positional(&root, &args, 1), *want, "{typed}");
        }
    }
}
