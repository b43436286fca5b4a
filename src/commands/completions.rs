//! `kayse-bulk completions SHELL`: the completion script for bash, zsh, fish or PowerShell, made
//! by clap_complete from the same clap model that parses the command line, so it never lags
//! behind a new command or option. Prints on stdout only.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{CmdResult, ExitCode};

#[derive(Debug, clap::Args)]
#[command(after_help = "Install, for example:\n  \
    bash:        kayse-bulk completions bash > ~/.local/share/bash-completion/completions/kayse-bulk\n  \
    zsh:         kayse-bulk completions zsh > ~/.zfunc/_kayse-bulk  (with fpath+=~/.zfunc)\n  \
    fish:        kayse-bulk completions fish > ~/.config/fish/completions/kayse-bulk.fish\n  \
    PowerShell:  kayse-bulk completions powershell >> $PROFILE")]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells with a script. (clap_complete also knows elvish; no user has asked for it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

pub fn run(args: Args) -> CmdResult {
    print!("{}", script(args.shell));
    Ok(ExitCode::Ok)
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kayse-bulk", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}
