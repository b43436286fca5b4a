//! `kayse-bulk import`: read the input once (validation, the journal's fingerprint and what the
//! results need, in one pass), plan, and send the valid rows as paced bulk upserts through the
//! engine. What is particular to import: which rows go (`scan`), how a batch is sent and settled
//! (`send`: bisect, probe, shrink), and the pure judgments of answers (`answer`).

mod answer;
mod restore;
mod scan;
mod send;
mod sync;

use std::time::Instant;

use crate::cli::Global;
use crate::engine::ledger::{Keyed, RunLedger};
use crate::engine::options::{
    BatchArgs, InputArgs, ResultsArgs, RulesArgs, RunArgs, SkipHiddenArgs,
};
use crate::engine::session::{InFlight, Input, Session, Spec, restore_reading};
use crate::engine::{Job, View, Work, checks, take_where};
use crate::error::CmdResult;
use crate::outcome::Outcome;
use crate::plan::ImportWork;
use crate::record::journal::Journal;
use crate::record::ledger::{Blanks, RunStart};
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
    if args.run.dry_run {
        return checks::run(
            "import",
            &args.input,
            &args.hidden,
            &args.rules,
            (&args.batch, args.pacing.rate_limit),
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
    let items = std::mem::take(&mut scanned.items);
    let keep_blanks = args.update_blanks == UpdateBlanks::Keep;
    let options = recorded_options(&args);
    let spec = Spec {
        command: "import",
        input: Input::File(args.input.file.clone()),
        journal,
        fingerprint: scanned.fingerprint.clone(),
        options,
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
    let mut book = RunLedger::open(
        g,
        &args.conn,
        start,
        true,
        args.rules.entity.table().name,
        Keyed::Row,
    )?;
    book.set_states(sync::states(&items));
    let mut session = Session::open(spec, args.run.resume)?;
    book.replay(session.prior.values())?;
    // Rows the journal or an earlier results file speaks for are settled by them, not here.
    let mut leave: std::collections::BTreeSet<usize> = session.prior.keys().copied().collect();
    leave.extend(session.in_flight.iter().flatten().copied());
    leave.extend(scanned.earlier_unknown.iter().copied());
    let blanks = if keep_blanks {
        Blanks::Keep
    } else {
        Blanks::Clear
    };
    let (items, settled) = sync::decide(book.ledger(), items, &leave, args.match_by, blanks)?;
    book.count(&settled);
    let batch = args.batch.batch_size.max(1) as usize;
    let (work, counts) = work(
        &session,
        items,
        &scanned.earlier_unknown,
        batch,
        keep_blanks,
    );
    scanned.note_plan(counts.creates, counts.updates);
    let mut line = counts.line(args.pacing.rate_limit, args.pacing.budget);
    line.push_str(&sync::plan_note(&settled));
    session.plan(line, g);
    let plan = session.plan_line();
    let mut sent = if work.is_empty() {
        session.skip_sending()
    } else {
        let mut live = session.connect(&args.conn, &args.pacing, g)?;
        let view = View {
            label: "import",
            total: counts.rows(),
            per_request: counts.batch,
            shown: SHOWN,
        };
        live.send_recorded(
            send::Upsert { keep_blanks },
            work,
            counts.batch as usize,
            view,
            Some(&mut book),
        );
        live.end()
    };
    // Import's summary always states its requests, none sent included.
    sent.stats.get_or_insert_with(Default::default);
    sent.outcomes
        .extend(settled.into_iter().map(|r| (r.row, r)));
    scanned.note_ledger(book.path_text(), &book.conflicts);
    let result = scanned.write_results(&results_path, &sent, plan, g, started);
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
    args.input.record(&mut options);
    args.rules.record(&mut options);
    options
}

/// The queue's work and the plan's counts: groups an earlier run left in flight and rows an
/// earlier results file says are `unknown` are rechecked in doubt; the rest are creates, then
/// updates (never mixed in one batch, so a lost answer's "already exists" means one thing).
fn work(
    session: &Session,
    items: Vec<answer::Item>,
    earlier_unknown: &std::collections::BTreeSet<usize>,
    batch: usize,
    keep_blanks: bool,
) -> (Work<answer::Item>, ImportWork) {
    let (mut doubtful, mut creates) = session.split(items, |(row, _)| *row);
    let unknown = take_where(&mut creates, |(row, _)| earlier_unknown.contains(row));
    for chunk in unknown.chunks(batch) {
        doubtful.push(Job {
            items: chunk.to_vec(),
            in_doubt: true,
        });
    }
    let updates = take_where(&mut creates, |(_, c)| c.id.is_some());
    let counts = ImportWork {
        creates: creates.len() as u64,
        updates: updates.len() as u64,
        doubtful: doubtful.iter().map(|j| j.items.len() as u64).sum(),
        doubtful_groups: doubtful.len() as u64,
        doubtful_updates: doubtful
            .iter()
            .flat_map(|j| &j.items)
            .filter(|(_, c)| c.id.is_some())
            .count() as u64,
        batch: batch as u64,
        keep_blanks,
    };
    let work = Work {
        doubtful,
        lists: vec![creates, updates],
    };
    (work, counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::{CASES, Record};
    use crate::record::journal::{Basis, Fingerprint};

    fn fresh_session(dir: &std::path::Path) -> Session {
        let spec = Spec {
            command: "import",
            input: Input::File(dir.join("in.csv")),
            journal: dir.join("out.csv.journal"),
            fingerprint: Fingerprint {
                sha256: "ab".into(),
                size: 1,
                basis: Basis::Rows,
            },
            options: Default::default(),
            checked: None,
            refuse_fresh: None,
            in_flight: InFlight::Resend,
            retry_failed: false,
            server: Default::default(),
        };
        Session::open(spec, false).unwrap()
    }

    #[test]
    fn work_splits_doubt_creates_and_updates() {
        let dir = tempfile::tempdir().unwrap();
        let session = fresh_session(dir.path());
        let item = |row: usize, id: Option<u64>| {
            let mut case = Record::new(&CASES);
            case.id = id;
            (row, case)
        };
        // rows 2..=8; 4 and 6 are updates; 3, 5 and 7 were `unknown` in an earlier results file
        let items: Vec<_> = (2..=8)
            .map(|r| item(r, [4, 6].contains(&r).then_some(r as u64 * 100)))
            .collect();
        let unknown = [3, 5, 7].into_iter().collect();
        let (work, counts) = work(&session, items, &unknown, 2, true);
        let rows = |v: &[answer::Item]| v.iter().map(|(r, _)| *r).collect::<Vec<_>>();
        let groups: Vec<Vec<usize>> = work.doubtful.iter().map(|j| rows(&j.items)).collect();
        assert_eq!(groups, vec![vec![3, 5], vec![7]], "in doubt, in batches");
        assert!(work.doubtful.iter().all(|j| j.in_doubt));
        assert_eq!(rows(&work.lists[0]), vec![2, 8], "creates first");
        assert_eq!(rows(&work.lists[1]), vec![4, 6], "then updates");
        let want = ImportWork {
            creates: 2,
            updates: 2,
            doubtful: 3,
            doubtful_groups: 2,
            doubtful_updates: 0,
            batch: 2,
            keep_blanks: true,
        };
        assert_eq!(counts, want);
    }
}
