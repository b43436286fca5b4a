//! `kayse-bulk import`: read the input once (validation, the journal's fingerprint and what the
//! results need, in one pass), plan, and send the valid rows as paced bulk upserts through the
//! engine. What is particular to import: which rows go (`scan`), how a batch is sent and settled
//! (`send`: bisect, probe, shrink), and the pure judgments of answers (`answer`).

mod answer;
mod known;
mod linked;
mod restore;
mod scan;
mod send;
mod sending;
mod sync;
mod written;

use std::time::Instant;

use crate::cli::Global;
use crate::engine::checks;
use crate::engine::ledger::{Keyed, RunLedger};
use crate::engine::options::{
    BatchArgs, InputArgs, ResultsArgs, RulesArgs, RunArgs, SkipHiddenArgs,
};
use crate::engine::session::{InFlight, Input, Session, Spec, restore_reading};
use crate::error::CmdResult;
use crate::outcome::Outcome;
use crate::record::journal::Journal;
use crate::record::ledger::RunStart;
use crate::send::{ConnectionArgs, PacingArgs};

/// `--update-blanks`: what an update does with fields the row leaves empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UpdateBlanks {
    /// Fetch the case first and keep its stored value (one GET per updated row).
    Keep,
    /// Send the row as it is: PUT sets every omitted field to null.
    Clear,
}

// Import asks only before sending a status or type that looks like a typo.
#[derive(Debug, clap::Args)]
#[command(mut_arg("yes", |a| a.help("Send values that look like typos of a more common status or type without asking (with no terminal to ask on, such rows stop the run unless --yes)")))]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub hidden: SkipHiddenArgs,
    #[command(flatten)]
    pub rules: RulesArgs,
    #[command(flatten)]
    pub results: ResultsArgs,
    #[command(flatten)]
    pub batch: BatchArgs,
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub pacing: PacingArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// For rows with an id: keep fields the row leaves empty, or clear them.
    #[arg(long, value_enum, default_value = "keep")]
    pub update_blanks: UpdateBlanks,
    /// The input is an earlier results file: copy rows already created or updated, send the rest
    /// (an earlier results file given without it is read the same way; this checks it is one).
    #[arg(long)]
    pub only_failed: bool,
    /// The input is a backup of deleted cases (delete --backup): create every case anew, keep
    /// each row's old id beside its new kayse_id, and name the opt-outs the API cannot restore.
    #[arg(long)]
    pub restore: bool,
    /// Which key finds a row's Kayse id in the ledger when the row has no id.
    #[arg(
        long = "match",
        value_enum,
        default_value = "case-number",
        value_name = "KEY"
    )]
    pub match_by: sync::Match,
    /// A case sheet naming its clients: send a case even when one of its clients could not be
    /// created (it is linked to those that were); by default such a case is failed, unsent.
    #[arg(long)]
    pub allow_missing_clients: bool,
    /// The sheet a results file fed back came from, as its run's journal names it: the ledger's
    /// clients from that sheet are this sheet's own (`unchanged`, not `reused`).
    #[arg(skip)]
    pub came_from: Option<String>,
}

/// What import's progress line counts.
const SHOWN: &[(&str, Outcome)] = &[
    ("created", Outcome::Created),
    ("updated", Outcome::Updated),
    ("failed", Outcome::Failed),
    ("unknown", Outcome::Unknown),
    ("exists", Outcome::Exists),
];

pub fn run(mut args: Args, g: &Global) -> CmdResult {
    if !args.run.resume {
        crate::engine::session::restore_fed_back(&args.input.file, &mut args.rules)?;
        let earlier = Journal::path_for(&args.input.file);
        args.came_from = crate::engine::session::recorded_input(&earlier)?;
    }
    if args.run.dry_run {
        return checks::run(
            "import",
            &args.input,
            &args.hidden,
            &args.rules,
            (
                &args.batch,
                args.pacing.rate_limit,
                crate::engine::ledger::existing(g, Some(&args.conn)),
            ),
            &args.results,
            g,
        );
    }
    if args.restore && args.rules.entity != crate::engine::options::EntityArg::Cases {
        return Err(crate::error::Fatal::usage(
            "--restore recreates deleted cases; it cannot be used with --entity clients",
        ));
    }
    let started = Instant::now();
    let results_path = args.results.path_for(&args.input.file, "import")?;
    let journal = Journal::path_for(&results_path);
    let refuse_fresh = crate::engine::guard::refuse_fresh_import(&journal, &results_path);
    Session::precheck("import", &journal, args.run.resume, Some(&refuse_fresh))?;
    let recorded = restore_reading(args.run.resume, &results_path, &mut args.input)?;
    args.rules.restore(&recorded);
    let mut scanned = scan::scan(&args, &results_path, g)?;
    if !scanned.date_doubts.is_empty() && !args.run.resume {
        // Ambiguous dates before the proof may have been read the wrong way round.
        return Err(crate::error::Fatal::usage(format!(
            "import: nothing was sent: {}",
            scanned.date_doubts.join("; ")
        )));
    }
    if !args.run.resume {
        // Before the journal exists: a "no" leaves nothing that blocks the next run.
        crate::engine::confirm::ask_before_typos(args.run.yes, &scanned.typos, "import")?;
    }
    let spec = Spec {
        command: "import",
        input: Input::File(args.input.file.clone()),
        journal,
        fingerprint: scanned.fingerprint.clone(),
        options: recorded_options(&args),
        checked: None,
        refuse_fresh: Some(refuse_fresh),
        in_flight: InFlight::Resend,
        retry_failed: false,
        server: crate::send::Server::of(&args.conn, g)?,
    };
    let input = args.input.file.display().to_string();
    let results_text = results_path.display().to_string();
    let start = RunStart {
        command: "import",
        input: Some(&input),
        results: Some(&results_text),
    };
    let entity = args.rules.entity.table();
    let mut book = RunLedger::open(g, &args.conn, start, true, entity.name, Keyed::Row)?;
    let session = Session::open(spec, args.run.resume)?;
    let (sent, plan, linked) = sending::run(&args, &mut scanned, session, &mut book, g)?;
    scanned.note_ledger(book.path_text(), &book.conflicts);
    let result = scanned.write_results(&results_path, &sent, plan, g, started, linked.as_ref());
    book.end(&result);
    result
}

/// The options the journal records, so a `--resume` reads and judges the file as this run did.
fn recorded_options(args: &Args) -> std::collections::BTreeMap<String, String> {
    let mut options = std::collections::BTreeMap::new();
    options.insert(
        "update_blanks".to_string(),
        format!("{:?}", args.update_blanks).to_lowercase(),
    );
    options.insert("only_failed".to_string(), args.only_failed.to_string());
    options.insert("restore".to_string(), args.restore.to_string());
    options.insert(
        "allow_missing_clients".to_string(),
        args.allow_missing_clients.to_string(),
    );
    args.input.record(&mut options);
    args.rules.record(&mut options);
    options
}
