//! Command-line parsing: the global options and the one `match` that dispatches to a command
//! module. Each command owns its own options struct.

use clap::{Args, Parser, Subcommand};

use crate::error::CmdResult;

#[derive(Debug, Parser)]
#[command(
    name = "kayse-bulk",
    version,
    about = "Move case records between spreadsheets and Kayse",
    long_about = "Move case records between spreadsheets (CSV, XLSX, XLS, ODS) and Kayse.\n\n\
        The API key is read from KAYSE_API_KEY or --api-key-file, never from a flag.\n\
        Exit codes: 0 all good, 1 some rows invalid or failed, 2 usage or unusable input,\n\
        3 run stopped (resumable), 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after the command.
#[derive(Debug, Clone, Args, Default)]
pub struct Global {
    /// More detail on stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Only errors on stderr (no progress, no summary).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print one summary object as JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Run against a local sandbox started in-process (no account or key needed).
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// Where the embedded sandbox keeps its data [default: kayse-sandbox.json].
    #[arg(long, global = true, value_name = "PATH")]
    pub sandbox_state: Option<std::path::PathBuf>,
    /// Profile with [defaults] and [jobs.NAME] [default: kayse-bulk.toml in this folder, if any].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// The ledger of Kayse ids [default: one per server and key in your data folder; beside the
    /// sandbox's state file with --sandbox].
    #[arg(long, global = true, env = "KAYSE_LEDGER", value_name = "PATH")]
    pub ledger: Option<std::path::PathBuf>,
    /// When another run is sending with the same ledger, wait for it instead of stopping.
    #[arg(long, global = true)]
    pub wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every row of a spreadsheet without any network and write a results workbook.
    #[command(after_long_help = crate::entity::CASES.help())]
    Validate(crate::commands::validate::Args),
    /// Send the valid rows to Kayse as bulk upserts.
    ///
    /// A case sheet that names its clients (Client Name, Client Email, Client 2 ..., or a
    /// contacts export given with --clients) sends them first, each person once, then each case
    /// linked to its people. The ledger remembers every id, so running the same sheet again
    /// sends only what changed.
    #[command(after_long_help = crate::entity::CASES.help())]
    Import(crate::commands::import::Args),
    /// Write cases, fetched by id, to XLSX or CSV.
    Export(crate::commands::export::Args),
    /// Delete the cases whose ids a spreadsheet lists.
    ///
    /// The ids are read from the column --id-column names, else from a kayse_id, id or case_id
    /// column.
    Delete(crate::commands::delete::Args),
    /// Send one SMS per row to the client of a case.
    ///
    /// The spreadsheet has case_id and client_id columns, and a message column unless --message
    /// gives the text.
    Sms(crate::commands::message::SmsArgs),
    /// Send one email per row to the client of a case.
    ///
    /// The spreadsheet has case_id and client_id columns, and message and subject columns unless
    /// --message and --subject give the text.
    Email(crate::commands::message::EmailArgs),
    /// Write a commented mapping file for a sheet (a practice-management export), to edit and
    /// pass to --mapping.
    Map(crate::commands::map::Args),
    /// Write a starter workbook with every field, notes and an example row.
    Template(crate::commands::template::Args),
    /// Run a local stand-in for the Kayse API.
    Sandbox(crate::commands::sandbox::Args),
    /// Run a job saved in the profile (kayse-bulk.toml), or list the jobs.
    Run(crate::commands::run::Args),
    /// Print a shell completion script on stdout.
    Completions(crate::commands::completions::Args),
    /// Look at and tend the ledger of Kayse ids: add, show, stats, runs, forget.
    Ledger(crate::commands::ledger::Args),
    /// Settle the unknown rows of a results file: their ids from --from FILE, or --probe.
    Reconcile(crate::commands::reconcile::Args),
}

impl Command {
    /// The command's name, as typed (for `--json` when a run ends before its summary).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Validate(_) => "validate",
            Command::Import(_) => "import",
            Command::Export(_) => "export",
            Command::Delete(_) => "delete",
            Command::Sms(_) => "sms",
            Command::Email(_) => "email",
            Command::Map(_) => "map",
            Command::Ledger(_) => "ledger",
            Command::Reconcile(_) => "reconcile",
            Command::Template(_) => "template",
            Command::Sandbox(_) => "sandbox",
            Command::Run(_) => "run",
            Command::Completions(_) => "completions",
        }
    }
}

/// Run the parsed command.
pub fn run(cli: Cli) -> CmdResult {
    let g = &cli.global;
    match cli.command {
        Command::Validate(a) => crate::commands::validate::run(a, g),
        Command::Import(a) => crate::commands::import::run(a, g),
        Command::Export(a) => crate::commands::export::run(a, g),
        Command::Delete(a) => crate::commands::delete::run(a, g),
        Command::Sms(a) => crate::commands::message::run_sms(a, g),
        Command::Email(a) => crate::commands::message::run_email(a, g),
        Command::Map(a) => crate::commands::map::run(a, g),
        Command::Template(a) => crate::commands::template::run(a, g),
        Command::Sandbox(a) => crate::commands::sandbox::run(a, g),
        Command::Run(a) => crate::commands::run::run(a, g),
        Command::Completions(a) => crate::commands::completions::run(a),
        Command::Ledger(a) => crate::commands::ledger::run(a, g),
        Command::Reconcile(a) => crate::commands::reconcile::run(a, g),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn validate_and_import_long_help_list_the_fields_from_the_table() {
        let table = crate::entity::CASES.help();
        for name in ["validate", "import"] {
            let mut cli = Cli::command();
            let cmd = cli.find_subcommand_mut(name).unwrap();
            let long = cmd.render_long_help().to_string();
            for line in table.lines() {
                assert!(long.contains(line), "{name} --help lacks: {line}\n{long}");
            }
            let short = cmd.render_help().to_string();
            assert!(!short.contains("Case fields"), "{name} -h stays short");
        }
    }
}
