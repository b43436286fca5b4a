//! `reconcile --probe`: for each lost request, GET the ids its run's neighbouring requests left
//! free (between the highest id created before it and the lowest created after), and keep a
//! case only when its case number and external pair are the row's. Ids the ledger knows are
//! never read. Stops at `--budget`. When ids are not handed out in order, nothing matches, and
//! it says so: it never guesses.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::Lost;
use crate::cli::Global;
use crate::entity::CASES;
use crate::error::Fatal;
use crate::record::ledger::{Id, Ledger, rule};
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

/// Lost rows by the run and request that carried them, with the ids to read for them.
type Groups = BTreeMap<(i64, u32), (Vec<Lost>, Vec<Id>)>;

fn groups(book: &Ledger, lost: &[Lost]) -> Result<Groups, Fatal> {
    let mut out: BTreeMap<(i64, u32), (Vec<Lost>, Option<i64>)> = BTreeMap::new();
    for l in lost {
        let Some(key) = rule("cases", "case_number").and_then(|r| r.key(&[&l.case_number])) else {
            continue;
        };
        let found = book.find("cases", &key).map_err(Fatal::from)?;
        let Some(u) = found.in_doubt.first() else {
            continue;
        };
        let g = out
            .entry((u.run.map_or(0, |r| r.0), u.batch.unwrap_or(0)))
            .or_insert((Vec::new(), Some(u.unknown_id)));
        g.0.push(l.clone());
    }
    let mut with_ids = BTreeMap::new();
    for (k, (rows, unknown)) in out {
        let n = book
            .neighbours(unknown.unwrap_or_default())
            .map_err(Fatal::from)?;
        let mut ids = Vec::new();
        for id in candidates(n.below, n.above, rows.len()) {
            if book.get("cases", id).map_err(Fatal::from)?.is_none() {
                ids.push(id);
            }
        }
        with_ids.insert(k, (rows, ids));
    }
    Ok(with_ids)
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
    let in_ledger = groups.values().map(|(r, _)| r.len()).sum::<usize>();
    if in_ledger < lost.len() {
        out.notes.push(format!(
            "{} unknown rows have no create in doubt in this ledger: --probe needs the ledger of the run that sent them (try --from)",
            lost.len() - in_ledger
        ));
    }
    if groups.values().all(|(_, ids)| ids.is_empty()) {
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
        // A case read is matched against every lost row, not only its request's: with several
        // requests in flight, neighbouring gaps overlap, and no id is read twice.
        let mut left: Vec<Lost> = groups.values().flat_map(|(r, _)| r.clone()).collect();
        let mut read = std::collections::BTreeSet::new();
        for ((run, batch), (rows, ids)) in groups {
            let before = out.found.len();
            for id in &ids {
                let mine = |l: &Lost| rows.iter().any(|r| r.index == l.index);
                if !left.iter().any(mine) {
                    break;
                }
                if !read.insert(*id) {
                    continue;
                }
                match client.get(&CASES, *id).await {
                    Ok(rec) => {
                        let state = rec.to_json();
                        if let Some(i) = left.iter().position(|l| l.is(&state)) {
                            out.found.push((left.remove(i), *id, state));
                        }
                    }
                    Err(CallError::Rejected { status: 404, .. }) => {}
                    Err(e @ (CallError::Halted { .. } | CallError::KeyRejected { .. })) => {
                        out.notes.push(format!("probing stopped: {e}"));
                        out.stats = client.stats();
                        return Ok::<_, Fatal>(out);
                    }
                    Err(e) => out.notes.push(format!("could not read case {id}: {e}")),
                }
            }
            if out.found.len() == before && !ids.is_empty() && rows.iter().all(|r| left.iter().any(|l| l.index == r.index)) {
                out.notes.push(format!(
                    "read the ids next to run {run} request {batch}: none is one of its rows (ids may not be handed out in order on this server); try --from with an export"
                ));
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
}
