//! Import after its reading pass: the rows settled against the journal and the ledger, the
//! plan, then the sending, through the engine. A case sheet that names its clients sends them
//! first, in a phase of their own, and gives the new clients' ids to their cases before the
//! cases go (`linked`). Journal, tallies and progress are the engine's.

use std::collections::BTreeSet;

use super::answer::Item;
use super::linked::{self, Linked};
use super::scan::Scan;
use super::send::Upsert;
use super::sync;
use super::{Args, SHOWN, UpdateBlanks};
use crate::cli::Global;
use crate::engine::ledger::RunLedger;
use crate::engine::session::Session;
use crate::engine::{Job, Sent, View, Work, take_where};
use crate::error::Fatal;
use crate::plan::ImportWork;
use crate::record::journal::RowRecord;
use crate::record::ledger::Blanks;

/// What is decided before the first request.
struct Prepared {
    linked: Option<Linked>,
    client_work: Work<Item>,
    client_counts: ImportWork,
    work: Work<Item>,
    counts: ImportWork,
    /// Rows settled with no request (the ledger's verdicts, cases whose client cannot exist).
    settled: Vec<RowRecord>,
}

/// Settle, plan and send the scanned rows (and their clients); the outcomes, the plan line and
/// the clients, for the results.
pub fn run(
    args: &Args,
    scanned: &mut Scan,
    mut session: Session,
    book: &mut RunLedger,
    g: &Global,
) -> Result<(Sent, Option<String>, Option<Linked>), Fatal> {
    let mut p = prepare(args, scanned, &mut session, book)?;
    scanned.note_plan(p.counts.creates, p.counts.updates);
    let (rate, budget) = (args.pacing.rate_limit, args.pacing.budget);
    let mut line = match &p.linked {
        Some(l) => p
            .counts
            .linked_line(&p.client_counts, l.known(), rate, budget),
        None => p.counts.line(rate, budget),
    };
    line.push_str(&sync::plan_note(&p.settled));
    session.plan(line, g);
    let plan = session.plan_line();
    let batch = p.counts.batch as usize;
    let mut sent = if p.work.is_empty() && p.client_work.is_empty() {
        session.skip_sending()
    } else {
        let mut live = session.connect(&args.conn, &args.pacing, g)?;
        let mut work = p.work;
        if let Some(l) = &p.linked {
            let view = view("import clients", &p.client_counts);
            // A client the sheet changes is updated keeping what Kayse has: its case links.
            let upsert = Upsert { keep_blanks: true };
            live.send_recorded(upsert, p.client_work, batch, view, Some(&mut *book));
            // Only now are the new clients' ids known: give them to their cases.
            let (filled, failed) = l.fill_work(work, live.outcomes());
            let jobs = filled.doubtful.iter().flat_map(|j| &j.items);
            let items = filled.lists.iter().flatten().chain(jobs);
            book.add_states(items.map(|(row, r)| (*row, r.to_json())).collect());
            book.count(&failed);
            p.settled.extend(failed);
            work = filled;
        }
        let upsert = Upsert {
            keep_blanks: args.update_blanks == UpdateBlanks::Keep,
        };
        let view = view("import", &p.counts);
        live.send_recorded(upsert, work, batch, view, Some(&mut *book));
        live.end()
    };
    // Import's summary always states its requests, none sent included.
    sent.stats.get_or_insert_with(Default::default);
    sent.outcomes
        .extend(p.settled.into_iter().map(|r| (r.row, r)));
    Ok((sent, plan, p.linked))
}

/// Everything decided before the first request: what the journal settled, what the ledger
/// knows of each row and client, and the queues of work.
fn prepare(
    args: &Args,
    scanned: &mut Scan,
    session: &mut Session,
    book: &mut RunLedger,
) -> Result<Prepared, Fatal> {
    let items = std::mem::take(&mut scanned.items);
    let clients = scanned.clients.take();
    let keep_blanks = args.update_blanks == UpdateBlanks::Keep;
    never_twice(
        session,
        &items,
        args.rules.entity.table(),
        clients.is_some(),
    )?;
    // Rows the journal or an earlier results file speaks for are settled by them, not here.
    let mut leave: BTreeSet<usize> = session.prior.keys().copied().collect();
    leave.extend(session.in_flight.iter().flatten().copied());
    leave.extend(scanned.earlier_unknown.iter().copied());
    let (linked, client_items) = match clients {
        Some(c) => {
            let mut sheet = vec![args.input.file.display().to_string()];
            sheet.extend(args.came_from.clone());
            let (merge, allow) = (args.rules.merge_by_name, args.allow_missing_clients);
            let (l, items) = Linked::decide(book.ledger(), c, &leave, &sheet, merge, allow)?;
            (Some(l), items)
        }
        None => (None, Vec::new()),
    };
    // Each case with its clients' ids as far as they are known: what the ledger compares. A
    // case an earlier run settled keeps its outcome (it is not sent again).
    let (items, mut settled) = match &linked {
        Some(l) => {
            let (done, rest): (Vec<Item>, Vec<Item>) = items
                .into_iter()
                .partition(|(row, _)| session.prior.contains_key(row));
            let (mut items, failed) = l.fill(rest, &session.prior, false);
            // Its state as its run sent it, with its clients' ids: the ledger records it again.
            items.extend(done.into_iter().map(|it| l.with_ids(it, &session.prior)));
            (items, failed)
        }
        None => (items, Vec::new()),
    };
    book.set_states(sync::states(&items));
    if let Some(l) = &linked {
        book.add_states(l.states());
        book.second_entity(linked::CLIENT_KEY, "clients", l.source_rows());
        book.count(&l.settled());
    }
    book.replay(session.prior.values())?;
    let blanks = if keep_blanks {
        Blanks::Keep
    } else {
        Blanks::Clear
    };
    let (items, decided) = sync::decide(book.ledger(), items, &leave, args.match_by, blanks)?;
    settled.extend(decided);
    book.count(&settled);
    let batch = args.batch.batch_size.max(1) as usize;
    let none = BTreeSet::new();
    let (client_work, client_counts) = work(session, client_items, &none, batch, true);
    let unknown = &scanned.earlier_unknown;
    let (work, counts) = work(session, items, unknown, batch, keep_blanks);
    Ok(Prepared {
        linked,
        client_work,
        client_counts,
        work,
        counts,
        settled,
    })
}

/// The progress of one phase of an import.
fn view(label: &'static str, counts: &ImportWork) -> View {
    View {
        label,
        total: counts.rows(),
        per_request: counts.batch,
        shown: SHOWN,
    }
}

/// A create Kayse would make twice (a client: nothing about one is unique) is never sent again
/// once it may have been applied: on `--resume`, the groups an earlier run left in flight that
/// hold such creates are settled `unknown`, and the ledger holds them in doubt.
fn never_twice(
    session: &mut Session,
    items: &[Item],
    entity: &crate::entity::Entity,
    linked: bool,
) -> Result<(), Fatal> {
    let creates: BTreeSet<usize> = if entity.refuses_duplicates {
        BTreeSet::new()
    } else {
        items
            .iter()
            .filter(|(_, r)| r.id.is_none())
            .map(|(row, _)| *row)
            .collect()
    };
    session.settle_in_flight(
        |k| creates.contains(&k) || (linked && k >= linked::CLIENT_KEY),
        linked::IN_FLIGHT_NOTE,
    )
}

/// The queue's work and the plan's counts: groups an earlier run left in flight and rows an
/// earlier results file says are `unknown` are rechecked in doubt; the rest are creates, then
/// updates (never mixed in one batch, so a lost answer's "already exists" means one thing).
fn work(
    session: &Session,
    items: Vec<Item>,
    earlier_unknown: &BTreeSet<usize>,
    batch: usize,
    keep_blanks: bool,
) -> (Work<Item>, ImportWork) {
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
    use crate::engine::session::{InFlight, Input, Spec};
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
        let rows = |v: &[Item]| v.iter().map(|(r, _)| *r).collect::<Vec<_>>();
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
