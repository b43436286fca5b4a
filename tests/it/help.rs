//! `--help` of the tool and of every command, as insta snapshots: any change to a help text shows
//! in review. The commands are listed by clap itself, so a new command gets its snapshot without
//! anyone remembering to add it here.

use std::process::Command;

use clap::CommandFactory;
use kayse_bulk::cli::Cli;

use crate::support::bin;

/// `kayse-bulk PATH... --help` as a user's shell runs it, minus what varies between machines:
/// no environment (clap shows the value of a set `KAYSE_BASE_URL`) and 100 columns (clap wraps
/// to `COLUMNS`).
fn help(path: &[String]) -> String {
    let out = Command::new(bin())
        .env_clear()
        .env("COLUMNS", "100")
        .env("LINES", "50")
        .args(path)
        .arg("--help")
        .output()
        .expect("run kayse-bulk --help");
    assert_eq!(out.status.code(), Some(0), "{path:?}");
    assert!(out.stderr.is_empty(), "{path:?}");
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// The path of every command under `cmd`, depth first, starting with `cmd` itself (`[]`).
fn command_paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    out.push(prefix.to_vec());
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_string());
        command_paths(sub, &path, out);
    }
}

#[test]
fn help_of_the_tool_and_of_every_command() {
    let mut paths = Vec::new();
    command_paths(&Cli::command(), &[], &mut paths);
    assert!(
        paths.iter().any(|p| p == &["import"]),
        "clap lists the commands: {paths:?}"
    );
    for path in &paths {
        let name = match path.is_empty() {
            true => "kayse-bulk".to_string(),
            false => path.join("-"),
        };
        insta::assert_snapshot!(name, help(path));
    }
}
