//! Saved profiles (`kayse-bulk.toml`): `[defaults]` for the connection and pacing of every command
//! run in the folder, `[jobs.NAME]` for whole command lines run with `kayse-bulk run NAME`. This
//! module reads and checks a profile against clap's model of the command line and turns it into
//! argument tokens that clap parses like any other; it must not know any command's option struct,
//! and it never holds the API key (a profile that does is refused).

pub mod expand;
pub mod model;
pub mod resolve;
pub mod secret;

use std::ffi::OsString;
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use clap::{Arg, Command};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub use resolve::{Stop, resolve};

/// The file a folder's profile lives in.
pub const FILE_NAME: &str = "kayse-bulk.toml";

/// What `[defaults]` may hold: how to reach Kayse and how fast to go, never what a run does
/// (`yes`, `dry-run`, `budget` belong to a job, where they are seen). `ledger` is listed before
/// any command takes it, so a profile written for the ledger reads today.
pub const DEFAULT_KEYS: &[&str] = &[
    "base-url",
    "api-key-file",
    "ledger",
    "rate-limit",
    "batch-size",
    "concurrency",
    "timeout",
    "sandbox-state",
];

/// A checked profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The file as the user named it (or `kayse-bulk.toml`), for messages.
    pub file: String,
    pub defaults: Vec<Setting>,
    /// In the order the file lists them.
    pub jobs: Vec<Job>,
}

/// One `[jobs.NAME]` table.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    /// Line of the job's table header (or its first key).
    pub line: usize,
    pub command: String,
    pub settings: Vec<Setting>,
}

/// One `key = value` of a profile: an option named by its long flag, or `input`.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: String,
    pub value: Value,
    pub line: usize,
}

/// A setting's value, as clap will be given it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `true` gives the flag, `false` leaves it out.
    Flag(bool),
    One(String),
    /// Repeats the option once per item.
    List(Vec<String>),
}

/// A profile that cannot be used. Every variant names the file; all but `Read` the line too.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read the profile {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: {message}")]
    At {
        file: String,
        line: usize,
        message: String,
    },
}

impl Profile {
    /// The job called `name`.
    pub fn job(&self, name: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.name == name)
    }
}

/// Read and check the profile at `path`, shown in messages as `file`.
pub fn load(path: &Path, file: &str, root: &Command) -> Result<Profile, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
        file: file.to_string(),
        source: match source.kind() {
            std::io::ErrorKind::InvalidData => {
                std::io::Error::new(source.kind(), "it is not UTF-8 text; save it as UTF-8")
            }
            _ => source,
        },
    })?;
    parse(file, &text, root)
}

/// Where the profile is: `--config FILE`, else `kayse-bulk.toml` in the current folder if there
/// is one. The path and how to name it in messages.
pub fn locate(config: Option<&Path>) -> Option<(PathBuf, String)> {
    match config {
        Some(p) => Some((p.to_path_buf(), p.display().to_string())),
        None => {
            let p = PathBuf::from(FILE_NAME);
            p.is_file().then(|| (p, FILE_NAME.to_string()))
        }
    }
}

/// Check a whole profile before anything runs: TOML syntax, tables, keys, values (through the
/// value parsers clap would use), a job's command and options. `root` is `Cli::command()`.
pub fn parse(file: &str, text: &str, root: &Command) -> Result<Profile, ProfileError> {
    let root = model::built(root.clone());
    let cx = Ctx { file, text };
    let doc = DeTable::parse(text).map_err(|e| {
        let mut msg = e.message().lines().next().unwrap_or("").trim().to_string();
        if msg.contains("escape") {
            // Nearly always a Windows path in double quotes.
            msg.push_str(
                r" (a Windows path goes in single quotes, 'C:\Kayse\cases.xlsx', or use /)",
            );
        }
        cx.at(e.span().unwrap_or(0..0), format!("not valid TOML: {msg}"))
    })?;
    let mut profile = Profile {
        file: file.to_string(),
        defaults: Vec::new(),
        jobs: Vec::new(),
    };
    for (key, value) in in_file_order(doc.get_ref()) {
        match (key.get_ref().as_ref(), value.get_ref()) {
            ("defaults", DeValue::Table(t)) => {
                profile.defaults = settings(t, &cx)?;
                check_defaults(&profile.defaults, &root, &cx)?;
            }
            ("jobs", DeValue::Table(t)) => {
                for (name, job) in in_file_order(t) {
                    let DeValue::Table(jt) = job.get_ref() else {
                        return Err(cx.at(name.span(), format!(
                            "jobs.{}: a job is a table: write [jobs.{}] and its options below it",
                            name.get_ref(), name.get_ref()
                        )));
                    };
                    let job = read_job(name, jt, &root, &cx)?;
                    profile.jobs.push(job);
                }
            }
            (k @ ("defaults" | "jobs"), _) => {
                return Err(cx.at(key.span(), format!("{k} must be a table: [{k}]")));
            }
            (k, _) => {
                return Err(cx.at(key.span(), format!(
                    "unknown table or key '{k}': a profile holds [defaults] and [jobs.NAME] tables"
                )));
            }
        }
    }
    Ok(profile)
}

/// The profile's name and text, to turn a span into a line and a message into an error.
struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn at(&self, span: Range<usize>, message: String) -> ProfileError {
        self.on(self.line(span), message)
    }

    fn on(&self, line: usize, message: String) -> ProfileError {
        ProfileError::At {
            file: self.file.to_string(),
            line,
            message,
        }
    }
}

fn in_file_order<'t, 'i>(
    t: &'t DeTable<'i>,
) -> Vec<(
    &'t Spanned<std::borrow::Cow<'i, str>>,
    &'t Spanned<DeValue<'i>>,
)> {
    let mut v: Vec<_> = t.iter().collect();
    v.sort_by_key(|(k, _)| k.span().start);
    v
}

/// The key = value pairs of one table, with the two checks that need no clap: no key is named
/// like a secret, and no value looks like one. Neither message repeats the value.
fn settings(t: &DeTable<'_>, cx: &Ctx<'_>) -> Result<Vec<Setting>, ProfileError> {
    let mut out = Vec::new();
    for (key, value) in in_file_order(t) {
        let k = key.get_ref().as_ref();
        if secret::names_a_secret(k) {
            return Err(cx.at(key.span(), format!(
                "{k}: a profile never holds the API key; keep it in a file named by api-key-file, \
                 or in the KAYSE_API_KEY environment variable"
            )));
        }
        let value = scalar_or_list(k, value, cx)?;
        let texts: &[String] = match &value {
            Value::One(s) => std::slice::from_ref(s),
            Value::List(v) => v,
            Value::Flag(_) => &[],
        };
        if texts.iter().any(|s| secret::looks_like_a_key(s)) {
            return Err(cx.at(key.span(), format!(
                "{k}: this value looks like an API key, and a profile never holds one; keep the key \
                 in a file named by api-key-file, or in the KAYSE_API_KEY environment variable"
            )));
        }
        out.push(Setting {
            key: k.to_string(),
            value,
            line: cx.line(key.span()),
        });
    }
    Ok(out)
}

fn scalar_or_list(k: &str, v: &Spanned<DeValue<'_>>, cx: &Ctx<'_>) -> Result<Value, ProfileError> {
    let scalar = |v: &Spanned<DeValue<'_>>| -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            DeValue::Integer(i) => Some(
                i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
                    .map_or_else(|_| i.as_str().to_string(), |n| n.to_string()),
            ),
            DeValue::Float(f) => Some(f.as_str().replace('_', "")),
            DeValue::Datetime(d) => Some(d.to_string()),
            _ => None,
        }
    };
    match v.get_ref() {
        DeValue::Boolean(b) => Ok(Value::Flag(*b)),
        DeValue::Array(items) => items
            .iter()
            .map(|item| {
                scalar(item).ok_or_else(|| {
                    cx.at(
                        item.span(),
                        format!("{k}: a list holds text or numbers only"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List),
        DeValue::Table(_) => Err(cx.at(v.span(), format!("{k}: expected a value, found a table"))),
        _ => Ok(Value::One(scalar(v).unwrap_or_default())),
    }
}

fn check_defaults(defaults: &[Setting], root: &Command, cx: &Ctx<'_>) -> Result<(), ProfileError> {
    let err = |s: &Setting, m: String| cx.on(s.line, m);
    for s in defaults {
        let k = s.key.as_str();
        if !DEFAULT_KEYS.contains(&k) {
            let job_option = k == "input"
                || k == "command"
                || commands_with_defaults(root).any(|c| model::option(c, k).is_some());
            let what = if job_option {
                format!("{k} belongs in a job ([jobs.NAME]), not in [defaults]")
            } else {
                format!("unknown setting '{k}' in [defaults]")
            };
            return Err(err(
                s,
                format!("{what}; [defaults] holds {}", DEFAULT_KEYS.join(", ")),
            ));
        }
        for cmd in commands_with_defaults(root) {
            if let Some(arg) = model::option(cmd, k) {
                check_setting(root, cmd, arg, s).map_err(|m| err(s, m))?;
            }
        }
    }
    Ok(())
}

/// The commands `[defaults]` apply to.
pub fn commands_with_defaults(root: &Command) -> impl Iterator<Item = &Command> {
    root.get_subcommands()
        .filter(|c| !model::NO_DEFAULTS.contains(&c.get_name()))
}

fn read_job(
    name: &Spanned<std::borrow::Cow<'_, str>>,
    t: &DeTable<'_>,
    root: &Command,
    cx: &Ctx<'_>,
) -> Result<Job, ProfileError> {
    let n = name.get_ref().as_ref();
    if n.is_empty()
        || n.starts_with('-')
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(cx.at(name.span(), format!(
            "job name '{n}': use letters, digits, '-' and '_' (it is typed after `kayse-bulk run`)"
        )));
    }
    let mut settings = settings(t, cx)?;
    let Some(pos) = settings.iter().position(|s| s.key == "command") else {
        return Err(cx.at(
            name.span(),
            format!("job {n} has no command: add command = \"export\" (or import, validate, ...)"),
        ));
    };
    let command_setting = settings.remove(pos);
    let err = |s: &Setting, m: String| cx.on(s.line, m);
    let commands = model::command_names(root);
    let command = match &command_setting.value {
        Value::One(c) if commands.contains(c) && !model::NOT_A_JOB.contains(&c.as_str()) => {
            c.clone()
        }
        _ => {
            let usable: Vec<&str> = commands
                .iter()
                .map(String::as_str)
                .filter(|c| !model::NOT_A_JOB.contains(c))
                .collect();
            return Err(err(
                &command_setting,
                format!("job {n}: command must be one of {}", usable.join(", ")),
            ));
        }
    };
    let cmd = root.find_subcommand(&command).expect("a listed command");
    let mut all = vec![OsString::from(&command)];
    for s in &settings {
        let arg = setting_arg(cmd, s).map_err(|m| err(s, format!("job {n}: {m}")))?;
        check_setting(root, cmd, arg, s).map_err(|m| err(s, format!("job {n}: {m}")))?;
        all.extend(tokens(arg, s, sample_moment()).map_err(|m| err(s, m))?);
    }
    // Options that are fine alone may still clash (`quiet` with `verbose`).
    model::parse_sub(&model::relaxed(root, &command), &command, &all)
        .map_err(|e| cx.at(name.span(), format!("job {n}: {}", model::one_line(&e))))?;
    Ok(Job {
        name: n.to_string(),
        line: cx.line(name.span()),
        command,
        settings,
    })
}

/// The argument of `cmd` a job setting names: `input` is the command's input file, anything
/// else a long option.
pub fn setting_arg<'c>(cmd: &'c Command, s: &Setting) -> Result<&'c Arg, String> {
    let name = cmd.get_name();
    if s.key == "input" {
        return model::input(cmd).ok_or_else(|| format!("{name} takes no input file"));
    }
    if model::NOT_SETTABLE.contains(&s.key.as_str()) {
        return Err(format!("{} cannot be set in a profile", s.key));
    }
    model::option(cmd, &s.key).ok_or_else(|| {
        format!(
            "unknown option '{}': {name} has no --{} (see kayse-bulk {name} --help)",
            s.key, s.key
        )
    })
}

/// One setting on its own, through clap: the value's shape, then clap's own value parser.
fn check_setting(root: &Command, cmd: &Command, arg: &Arg, s: &Setting) -> Result<(), String> {
    let k = &s.key;
    match (&s.value, model::is_flag(arg)) {
        (Value::Flag(_), true) => {}
        (_, true) => return Err(format!("{k} is a flag: write {k} = true")),
        (Value::List(_), false) if !model::repeats(arg) && !arg.is_positional() => {
            return Err(format!("{k} takes one value, not a list"));
        }
        _ => {}
    }
    let mut argv = vec![OsString::from(cmd.get_name())];
    argv.extend(tokens(arg, s, sample_moment())?);
    let sub = cmd.get_name();
    model::parse_sub(&model::relaxed(root, sub), sub, &argv)
        .map(|_| ())
        .map_err(|e| {
            let mut m = format!("{k}: {}", model::one_line(&e));
            let possible: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|p| !p.is_hide_set())
                .map(|p| p.get_name().to_string())
                .collect();
            if !possible.is_empty() && !m.contains("possible values") {
                m.push_str(&format!(" (possible values: {})", possible.join(", ")));
            }
            m
        })
}

/// Placeholders are checked with a fixed moment: only their names matter before a run.
fn sample_moment() -> NaiveDateTime {
    NaiveDateTime::default()
}

/// The argument tokens for one setting, its paths' placeholders filled in with `at`.
pub fn tokens(arg: &Arg, s: &Setting, at: NaiveDateTime) -> Result<Vec<OsString>, String> {
    let fill = |v: &str| -> Result<String, String> {
        if model::is_path(arg) {
            expand::expand(v, at).map_err(|e| format!("{}: {e}", s.key))
        } else {
            Ok(v.to_string())
        }
    };
    // `{last}`: the newest file the pattern names in its folder; none yet (a first run) leaves
    // the option out, so the job runs as if it were not set.
    let fill_last = |v: String| -> Option<String> {
        if !v.contains(expand::LAST) {
            return Some(v);
        }
        let path = Path::new(&v);
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let pattern = path.file_name()?.to_str()?;
        let names: Vec<String> = std::fs::read_dir(dir.unwrap_or(Path::new(".")))
            .ok()?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        let found = expand::last(pattern, names.iter().map(String::as_str))?;
        Some(match dir {
            Some(d) => d.join(found).display().to_string(),
            None => found.to_string(),
        })
    };
    let values: Vec<String> = match &s.value {
        Value::Flag(false) => return Ok(Vec::new()),
        Value::Flag(true) => {
            return Ok(vec![
                format!("--{}", arg.get_long().unwrap_or_default()).into(),
            ]);
        }
        Value::One(v) => match fill_last(fill(v)?) {
            Some(v) => vec![v],
            None => return Ok(Vec::new()),
        },
        Value::List(v) => v
            .iter()
            .map(|x| fill(x))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter_map(fill_last)
            .collect(),
    };
    if arg.is_positional() {
        // A path starting with '-' would read as an option: `./-x.csv` is the same file.
        return Ok(values
            .into_iter()
            .map(|v| match v.starts_with('-') {
                true => format!("./{v}").into(),
                false => v.into(),
            })
            .collect());
    }
    let long = arg.get_long().unwrap_or_default();
    if matches!(arg.get_action(), clap::ArgAction::Append) || values.len() == 1 {
        return Ok(values
            .into_iter()
            .map(|v| format!("--{long}={v}").into())
            .collect());
    }
    let mut out = vec![OsString::from(format!("--{long}"))];
    out.extend(values.into_iter().map(OsString::from));
    Ok(out)
}

#[cfg(test)]
mod tests;
