//! `kayse-bulk ledger`: look at and tend the ledger of Kayse ids without sending anything —
//! `add` (seed it from files), `show` (the id map as XLSX or CSV), `stats`, `runs`, `forget`.
//! It reads and writes the ledger only; it never talks to Kayse.

mod add;
mod show;

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::cli::Global;
use crate::engine::ledger;
use crate::engine::options::RulesArgs;
use crate::error::{CmdResult, ExitCode, Fatal};
use crate::record::ledger::{Forget, Ledger, rule};
use crate::send::ConnectionArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do [default: stats].
    #[command(subcommand)]
    pub what: Option<What>,
    #[command(flatten)]
    pub conn: ConnectionArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Learn ids from results files, exports, or any sheet with kayse_id (or id) and
    /// case_number columns (with --entity clients: external_source and external_source_id, as
    /// export --with-clients writes them). Sends nothing.
    Add {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        rules: RulesArgs,
    },
    /// The id map: keys, id, status, last seen and sent, where it came from.
    Show {
        /// Write it to this .xlsx or .csv file [default: CSV on stdout].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// How many records, by status, creates in doubt and runs.
    Stats,
    /// The latest runs: command, start, end, counts, exit code.
    Runs {
        /// How many runs to show.
        #[arg(long, default_value_t = 20)]
        last: usize,
    },
    /// Forget records: by --id, by --case-number, or --all. Asks first on a terminal.
    Forget {
        #[arg(long, value_name = "ID", conflicts_with_all = ["case_number", "all"])]
        id: Option<u64>,
        #[arg(long, value_name = "TEXT", conflicts_with = "all")]
        case_number: Option<String>,
        /// Every case the ledger holds.
        #[arg(long)]
        all: bool,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(args: Args, g: &Global) -> CmdResult {
    let path = ledger::path(g, &args.conn)?;
    let mut book = ledger::open_at(&path)?;
    match args.what.unwrap_or(What::Stats) {
        What::Add { files, rules } => {
            let added = add::add(&mut book, &files, &rules)?;
            say(
                g,
                &format!(
                    "ledger {}: {} ids recorded, {} rows without an id, {} conflicts",
                    path.display(),
                    added.added,
                    added.without_id,
                    added.conflicts.len()
                ),
            );
            for c in &added.conflicts {
                eprintln!("conflict: {c}");
            }
            Ok(if added.conflicts.is_empty() {
                ExitCode::Ok
            } else {
                ExitCode::RowsFailed
            })
        }
        What::Show { out } => show::show(&book, out.as_deref(), g),
        What::Stats => stats(&book),
        What::Runs { last } => runs(&book, last),
        What::Forget {
            id,
            case_number,
            all,
            yes,
        } => forget(&mut book, id, case_number, all, yes, g),
    }
}

fn say(g: &Global, line: &str) {
    if !g.quiet {
        eprintln!("{line}");
    }
}

fn stats(book: &Ledger) -> CmdResult {
    let s = book.stats().map_err(Fatal::from)?;
    println!("ledger: {}", book.path().display());
    for e in &s.entities {
        println!(
            "{}: {} live, {} deleted, {} gone, {} never read from Kayse, {} creates in doubt",
            e.entity, e.live, e.deleted, e.gone, e.never_seen, e.in_doubt
        );
    }
    println!(
        "runs: {} ({} unfinished); size: {} bytes",
        s.runs, s.unfinished_runs, s.bytes
    );
    Ok(ExitCode::Ok)
}

fn runs(book: &Ledger, last: usize) -> CmdResult {
    for r in book.runs(last).map_err(Fatal::from)? {
        let counts: Vec<String> = r.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "#{} {} pid {} started {} ended {} exit {} [{}]{}",
            r.id.0,
            r.command,
            r.pid,
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            r.ended_at
                .map(|t| t.format("%H:%M:%S").to_string())
                .unwrap_or_else(|| "-".into()),
            r.exit_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            counts.join(", "),
            r.input.map(|i| format!(" {i}")).unwrap_or_default()
        );
    }
    Ok(ExitCode::Ok)
}

fn forget(
    book: &mut Ledger,
    id: Option<u64>,
    case_number: Option<String>,
    all: bool,
    yes: bool,
    g: &Global,
) -> CmdResult {
    let key = match &case_number {
        Some(n) => Some(
            rule("cases", "case_number")
                .and_then(|r| r.key(&[n]))
                .ok_or_else(|| Fatal::usage("--case-number is blank"))?,
        ),
        None => None,
    };
    let (what, described) = match (id, &key, all) {
        (Some(id), _, _) => (Forget::Id(id), format!("case {id}")),
        (None, Some(k), _) => (Forget::Key(k), k.describe()),
        (None, None, true) => (Forget::Entity, "every case".to_string()),
        (None, None, false) => {
            return Err(Fatal::usage(
                "say what to forget: --id ID, --case-number TEXT or --all",
            ));
        }
    };
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Fatal::usage(format!(
                "forgetting {described} cannot be undone: pass --yes to confirm"
            )));
        }
        eprint!(
            "Forget {described} in {}? Type 'forget' to confirm: ",
            book.path().display()
        );
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Fatal::usage("cannot read the answer").because(e))?;
        if answer.trim() != "forget" {
            return Err(Fatal::usage("nothing forgotten"));
        }
    }
    let done = book.forget("cases", what).map_err(Fatal::from)?;
    say(
        g,
        &format!(
            "forgot {} records and {} creates in doubt",
            done.records, done.unknowns
        ),
    );
    Ok(ExitCode::Ok)
}
