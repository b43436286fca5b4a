//! What a profile needs to know about the command line, asked of clap's own model (`Cli::command()`)
//! and never of a command's option struct: which commands and options exist, which take values,
//! which are paths, and whether some tokens parse. A new option of any command works in a profile
//! with no change here.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::Resettable;
use clap::{Arg, ArgMatches, Command, Id};

/// Commands a profile job may not run: they are about the tool itself, not about cases.
pub const NOT_A_JOB: &[&str] = &["run", "completions", "help"];

/// Commands `[defaults]` never apply to. `sandbox` serves the API rather than calling it: its
/// `--rate-limit` is the server's window, not a client's pace.
pub const NO_DEFAULTS: &[&str] = &["sandbox", "run", "completions", "help", "template"];

/// Options a profile cannot set: clap's own, and the profile's own location.
pub const NOT_SETTABLE: &[&str] = &["help", "version", "config"];

/// The model, built (global options propagated to every command).
pub fn built(mut root: Command) -> Command {
    root.build();
    root
}

/// The names of the commands, in clap's order.
pub fn command_names(root: &Command) -> Vec<String> {
    root.get_subcommands()
        .map(|s| s.get_name().to_string())
        .filter(|n| n != "help")
        .collect()
}

/// The option `--long` of `cmd` that a profile may set, if there is one.
pub fn option<'a>(cmd: &'a Command, long: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| {
        !a.is_hide_set()
            && !NOT_SETTABLE.contains(&a.get_id().as_str())
            && a.get_long() == Some(long)
    })
}

/// The command's first positional argument: what a profile calls `input`.
pub fn input(cmd: &Command) -> Option<&Arg> {
    cmd.get_positionals().next()
}

/// True when the option is a flag: present or not, no value.
pub fn is_flag(arg: &Arg) -> bool {
    !arg.get_action().takes_values()
}

/// True when the option may be given more than once (each occurrence adds values).
pub fn repeats(arg: &Arg) -> bool {
    matches!(arg.get_action(), clap::ArgAction::Append)
        || arg.get_num_args().is_some_and(|r| r.max_values() > 1)
}

/// True when clap parses the option's value as a path: those are the values `{date}` fills.
pub fn is_path(arg: &Arg) -> bool {
    arg.get_value_parser().type_id() == std::any::TypeId::of::<PathBuf>()
}

/// `root` with every requirement of command `sub` lifted, so that part of a command line (one
/// setting, one job without its input, the options typed after `run NAME`) can be parsed for
/// what it holds: value parsers and conflicts still run, "missing FILE" does not.
pub fn relaxed(root: &Command, sub: &str) -> Command {
    root.clone().mut_subcommand(sub, |mut s| {
        let groups: Vec<String> = s.get_groups().map(|g| g.get_id().to_string()).collect();
        for g in groups {
            s = s.mut_group(g, |g| g.required(false));
        }
        s.mut_args(|a| {
            a.required(false)
                .required_unless_present(Resettable::<Id>::Reset)
                .requires(Resettable::<Id>::Reset)
        })
    })
}

/// Parse `tokens` (after the program name) with `root`; the matches of the command `sub`.
pub fn parse_sub(
    root: &Command,
    sub: &str,
    tokens: &[OsString],
) -> Result<ArgMatches, clap::Error> {
    let mut argv: Vec<OsString> = vec![root.get_name().into()];
    argv.extend(tokens.iter().cloned());
    let m = root.clone().try_get_matches_from(argv)?;
    match m.subcommand() {
        Some((name, sm)) if name == sub => Ok(sm.clone()),
        _ => Ok(ArgMatches::default()),
    }
}

/// Index in `tokens` of the first positional argument of `cmd` at or after `from`: options of
/// `cmd` that take a value are stepped over with their value, `--` ends the options. Used to
/// find a command's name in a raw command line without parsing it again.
pub fn first_positional(cmd: &Command, tokens: &[OsString], from: usize) -> Option<usize> {
    let mut i = from;
    while i < tokens.len() {
        let t = tokens[i].to_string_lossy();
        if t == "--" {
            return (i + 1 < tokens.len()).then_some(i + 1);
        }
        if let Some(long) = t.strip_prefix("--") {
            let takes = !long.contains('=')
                && cmd
                    .get_arguments()
                    .any(|a| a.get_long() == Some(long) && !is_flag(a));
            i += if takes { 2 } else { 1 };
        } else if t.len() > 1 && t.starts_with('-') {
            // A short option, or a cluster; only its last letter can take the next token.
            let last = t.chars().last();
            let takes = t.len() == 2
                && cmd
                    .get_arguments()
                    .any(|a| a.get_short() == last && !is_flag(a));
            i += if takes { 2 } else { 1 };
        } else {
            return Some(i);
        }
    }
    None
}

/// The first line of a clap error, without clap's `error: ` prefix: what a profile error says
/// after its file and line.
pub fn one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}
