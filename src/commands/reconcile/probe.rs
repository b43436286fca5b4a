//! `reconcile --probe`: for each lost request, GET the ids its run's neighbouring requests left
//! free (between the highest id created before it and the lowest created after), then, while
//! its rows are not all found, the other free ids among those the requests sent around it
//! created, nearest first (with several requests in flight, a request's ids need not lie
//! between its numbered neighbours'). Lost requests side by side share one gap, sized for all
//! their rows (`shared_rows`). The same for cases and for clients (a linked import's),
//! each among the ids of its own entity: a case is kept only when its case number and external
//! pair are the row's, a client only when its external pair is (`Lost::is`). Ids the ledger
//! knows are never read, nor any id twice. Stops at `--budget`. When ids are not handed out in
//! order, nothing matches, and it says so: it never guesses.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::{Lost, Of};
use crate::cli::Global;
use crate::error::Fatal;
use crate::record::ledger::{Id, Ledger, RunId};
use crate::report::summary::RequestStats;
use crate::send::{self, CallError, Client, ConnectionArgs, PacingArgs, StopSignal};

pub struct Probed {
    pub found: Vec<(Lost, Id, Value)>,
    pub notes: Vec<String>,
    pub stats: RequestStats,
}

/// The ids to read for a lost request of `n` rows between `below` and `above`.
pub fn candidates(below: Option<Id>, above: Option<Id>, n: usize) -> Vec<Id> {
    let span = 2 * n as u64;
    match (below, above) {
        (Some(b), Some(a)) if a > b + 1 => (b + 1..a).collect(),
        (Some(_), Some(_)) => Vec::new(),
        (Some(b), None) => (b + 1..=b + span).collect(),
        (None, Some(a)) => (a.saturating_sub(span).max(1)..a).collect(),
        (None, None) => Vec::new(),
    }
}

/// How many requests either side of a lost one may have been answered around the same time
/// (requests in flight at once; the default is 4): the ids they created bound where its own are.
const AROUND: u32 = 8;

/// The ids to read for a lost request of `n` rows: first its gap (`candidates`), then every
/// other id in the span of `near` (the ids created by the requests sent around it) widened by
/// `2n` either side, nearest the gap first. Ids the ledger knows are taken out by the caller.
pub fn reading_order(below: Option<Id>, above: Option<Id>, n: usize, near: &[Id]) -> Vec<Id> {
    let mut ids = candidates(below, above, n);
    let (Some(&lo), Some(&hi)) = (near.iter().min(), near.iter().max()) else {
        return ids;
    };
    // Where the request's ids most likely are: its gap, or between its neighbours' edges.
    let (from, to) = match (ids.first(), ids.last()) {
        (Some(&f), Some(&l)) => (f, l),
        _ => {
            let (b, a) = (below.unwrap_or(lo), above.unwrap_or(hi));
            (b.min(a), b.max(a))
        }
    };
    // A request answered before (or after) all of those may sit just outside their span.
    let span = 2 * n as u64;
    let first: BTreeSet<Id> = ids.iter().copied().collect();
    let mut more: Vec<Id> = (lo.saturating_sub(span).max(1)..=hi + span)
        .filter(|id| !first.contains(id))
        .collect();
    more.sort_by_key(|&id| {
        if id < from {
            from - id
        } else {
            id.saturating_sub(to)
        }
    });
    ids.extend(more);
    ids
}

/// Lost rows by their entity and the run and request that carried them, with the ids to read
/// for them and how many of those are its gap (the rest are the span around it).
type Groups = BTreeMap<Request, (Vec<Lost>, Vec<Id>, usize)>;

/// A request of a run: the entity it sent, the run, its number in the run.
type Request = (Of, i64, u32);

/// The ids a run created, with the request that carried each.
type Created = Vec<(Option<u32>, Id)>;

fn groups(book: &Ledger, lost: &[Lost]) -> Result<Groups, Fatal> {
    let mut out: BTreeMap<Request, (Vec<Lost>, Option<i64>)> = BTreeMap::new();
    for l in lost {
        let found = book.find(l.of.name(), &l.key).map_err(Fatal::from)?;
        let Some(u) = found.in_doubt.first() else {
            continue;
        };
        let g = out
            .entry((l.of, u.run.map_or(0, |r| r.0), u.batch.unwrap_or(0)))
            .or_insert((Vec::new(), Some(u.unknown_id)));
        g.0.push(l.clone());
    }
    let mut found = Vec::with_capacity(out.len());
    for (k, (rows, unknown)) in out {
        let n = book
            .neighbours(unknown.unwrap_or_default())
            .map_err(Fatal::from)?;
        found.push((k, rows, n));
    }
    let sides: Vec<Sides> = found
        .iter()
        .map(|((of, run, _), rows, n)| ((*of, *run, n.below, n.above), rows.len()))
        .collect();
    let widths = shared_rows(&sides);
    let mut with_ids = BTreeMap::new();
    let mut runs: BTreeMap<(Of, i64), Created> = BTreeMap::new();
    for ((k, rows, n), width) in found.into_iter().zip(widths) {
        let (of, run, batch) = k;
        if let std::collections::btree_map::Entry::Vacant(e) = runs.entry((of, run)) {
            e.insert(
                book.created_in_run(of.name(), RunId(run))
                    .map_err(Fatal::from)?,
            );
        }
        let near: Vec<Id> = runs[&(of, run)]
            .iter()
            .filter(|(b, _)| b.is_some_and(|b| b.abs_diff(batch) <= AROUND))
            .map(|(_, id)| *id)
            .collect();
        let gap: BTreeSet<Id> = candidates(n.below, n.above, width).into_iter().collect();
        let mut ids = Vec::new();
        let mut in_gap = 0;
        for id in reading_order(n.below, n.above, width, &near) {
            if book.get(of.name(), id).map_err(Fatal::from)?.is_none() {
                ids.push(id);
                in_gap += usize::from(gap.contains(&id));
            }
        }
        with_ids.insert(k, (rows, ids, in_gap));
    }
    Ok(with_ids)
}

/// A lost request's entity, run and neighbours (the highest id created before it, the lowest
/// after), with its number of rows.
type Sides = ((Of, i64, Option<Id>, Option<Id>), usize);

/// How many rows each lost request's gap must hold: lost requests side by side have the same
/// neighbours, and their ids share the one gap between them, so each counts all their rows.
/// (Several lost requests at the end of a run: the ids after the last created are theirs
/// together, not `2n` for each.)
pub fn shared_rows(requests: &[Sides]) -> Vec<usize> {
    requests
        .iter()
        .map(|(sides, _)| {
            requests
                .iter()
                .filter(|(s, _)| s == sides)
                .map(|(_, n)| n)
                .sum()
        })
        .collect()
}

pub fn probe(
    book: &mut Ledger,
    lost: &[Lost],
    conn: &ConnectionArgs,
    pacing: &PacingArgs,
    g: &Global,
) -> Result<Probed, Fatal> {
    let groups = groups(book, lost)?;
    let mut out = Probed {
        found: Vec::new(),
        notes: Vec::new(),
        stats: RequestStats::default(),
    };
    for (of, what) in [(Of::Cases, "rows"), (Of::Clients, "clients")] {
        let in_ledger = groups
            .iter()
            .filter(|(k, _)| k.0 == of)
            .map(|(_, (r, _, _))| r.len())
            .sum::<usize>();
        let all = lost.iter().filter(|l| l.of == of).count();
        if in_ledger < all {
            out.notes.push(format!(
                "{} unknown {what} have no create in doubt in this ledger: --probe needs the ledger of the run that sent them (try --from)",
                all - in_ledger
            ));
        }
    }
    if groups.values().all(|(_, ids, _)| ids.is_empty()) {
        if !groups.is_empty() {
            out.notes
                .push("no free ids next to the lost requests: nothing to probe".into());
        }
        return Ok(out);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::usage("cannot start the async runtime").because(e))?;
    let stop = Arc::new(StopSignal::default());
    out = rt.block_on(async {
        let connection = send::connect(conn, g).await?;
        let client = Client::new(&connection, pacing, stop)?;
        // A record read is matched against every lost row of its entity, not only its
        // request's: with several requests in flight, neighbouring gaps overlap, and no id is
        // read twice.
        let mut left: Vec<Lost> = groups.values().flat_map(|(r, _, _)| r.clone()).collect();
        let mut read = BTreeSet::new();
        // Clients first: the cases that wait for a client cannot be sent until it is found,
        // while a case in doubt waits for nothing, so a small --budget goes where it unblocks.
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort_by_key(|((of, ..), _)| *of != Of::Clients);
        for ((of, run, batch), (rows, ids, gap)) in groups {
            let before = out.found.len();
            // Past its gap, a request's search ends after 2n reads in a row that find nothing:
            // the span around it holds other writers' cases too.
            let (give_up, mut misses) = (2 * rows.len(), 0);
            for (pos, id) in ids.iter().enumerate() {
                let mine = |l: &Lost| l.of == of && rows.iter().any(|r| r.index == l.index);
                if !left.iter().any(mine) || misses >= give_up {
                    break;
                }
                if !read.insert((of, *id)) {
                    continue;
                }
                let mut hit = false;
                match client.get(of.table(), *id).await {
                    Ok(rec) => {
                        let state = rec.to_json();
                        if let Some(i) = left.iter().position(|l| l.of == of && l.is(&state)) {
                            out.found.push((left.remove(i), *id, state));
                            hit = true;
                        }
                    }
                    Err(CallError::Rejected { status: 404, .. }) => {}
                    Err(e @ (CallError::Halted { .. } | CallError::KeyRejected { .. })) => {
                        out.notes.push(format!("probing stopped: {e}"));
                        out.stats = client.stats();
                        return Ok::<_, Fatal>(out);
                    }
                    Err(e) => out
                        .notes
                        .push(format!("could not read {} {id}: {e}", of.table().one)),
                }
                misses = if hit || pos < gap { 0 } else { misses + 1 };
            }
            if out.found.len() == before && !ids.is_empty() && rows.iter().all(|r| left.iter().any(|l| l.of == of && l.index == r.index)) {
                out.notes.push(match of {
                    Of::Cases => format!(
                        "read the ids next to run {run} request {batch}: none is one of its rows (ids may not be handed out in order on this server); try --from with an export"
                    ),
                    Of::Clients => format!(
                        "read the client ids next to run {run} request {batch}: none is one of its clients (ids may not be handed out in order on this server); try --from with export --with-clients"
                    ),
                });
            }
        }
        out.stats = client.stats();
        Ok(out)
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_requests_side_by_side_share_their_gap() {
        let c = |run: i64, below: Option<Id>, above: Option<Id>, n: usize| {
            ((Of::Clients, run, below, above), n)
        };
        // (requests, the rows each gap must hold)
        let table: [(Vec<Sides>, Vec<usize>); 5] = [
            (vec![], vec![]),
            (vec![c(1, Some(10), Some(16), 5)], vec![5]),
            // The last three requests lost: the ids after 35 are all theirs.
            (
                vec![
                    c(1, Some(20), Some(26), 5),
                    c(1, Some(35), None, 5),
                    c(1, Some(35), None, 5),
                    c(1, Some(35), None, 1),
                ],
                vec![5, 11, 11, 11],
            ),
            // The same neighbours in another run, or of cases, are other requests' gaps.
            (
                vec![
                    c(1, Some(35), None, 5),
                    c(2, Some(35), None, 5),
                    ((Of::Cases, 1, Some(35), None), 4),
                ],
                vec![5, 5, 4],
            ),
            // The first requests lost: the ids before the first created.
            (
                vec![c(1, None, Some(11), 5), c(1, None, Some(11), 5)],
                vec![10, 10],
            ),
        ];
        for (requests, want) in table {
            assert_eq!(shared_rows(&requests), want, "{requests:?}");
        }
    }

    #[test]
    fn the_gap_to_read() {
        type Case = (Option<Id>, Option<Id>, usize, Vec<Id>);
        let table: [Case; 6] = [
            (Some(10), Some(14), 3, vec![11, 12, 13]),
            (Some(10), Some(11), 1, vec![]),
            (Some(10), None, 2, vec![11, 12, 13, 14]),
            (None, Some(5), 3, vec![1, 2, 3, 4]),
            (None, Some(20), 1, vec![18, 19]),
            (None, None, 4, vec![]),
        ];
        for (below, above, n, want) in table {
            assert_eq!(candidates(below, above, n), want, "{below:?} {above:?} {n}");
        }
    }

    #[test]
    fn the_gap_first_then_the_span_around_it_nearest_first() {
        type Case = (Option<Id>, Option<Id>, usize, Vec<Id>, Vec<Id>);
        let table: [Case; 5] = [
            // Nothing around: the gap alone.
            (Some(10), Some(14), 3, vec![], vec![11, 12, 13]),
            // The gap, then the span around it widened by 2n, nearest the gap first.
            (
                Some(10),
                Some(13),
                2,
                vec![8, 10, 13, 15],
                vec![11, 12, 10, 13, 9, 14, 8, 15, 7, 16, 6, 17, 5, 18, 4, 19],
            ),
            // The neighbours overlap (a later request was answered first): no gap, so the span
            // between their edges, then outwards.
            (
                Some(20),
                Some(17),
                1,
                vec![16, 17, 20, 21],
                vec![17, 18, 19, 20, 16, 21, 15, 22, 14, 23],
            ),
            // The last request: the ids after it, then the span below, down to id 1.
            (Some(5), None, 1, vec![3, 5], vec![6, 7, 5, 4, 3, 2, 1]),
            (None, None, 2, vec![], vec![]),
        ];
        for (below, above, n, near, want) in table {
            assert_eq!(
                reading_order(below, above, n, &near),
                want,
                "{below:?} {above:?} {n} {near:?}"
            );
        }
    }
}
