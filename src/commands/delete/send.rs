//! How delete sends a chunk of ids and what the answer means for each: `deleted` only when the
//! answer lists the id, `not_found` when it does not and nothing was in doubt, `unknown` when an
//! earlier attempt of the same request lost its answer.

use std::collections::BTreeSet;

use futures::future::BoxFuture;

use crate::engine::{Command, Cx, Flow, Job};
use crate::outcome::Outcome;
use crate::record::journal::RowRecord;

const LOST: &str = "an earlier attempt of this request lost its answer, and the case is not in the resent request's deleted_ids: it was either deleted by that attempt or never existed. Either way it is no longer in Kayse";

/// Outcomes of one chunk from its answer. `in_doubt`: an earlier attempt may have been applied.
fn judge(
    chunk: &[u64],
    deleted: &BTreeSet<u64>,
    in_doubt: bool,
) -> Vec<(u64, Outcome, Option<String>)> {
    chunk
        .iter()
        .map(|id| {
            if deleted.contains(id) {
                (*id, Outcome::Deleted, None)
            } else if in_doubt {
                (*id, Outcome::Unknown, Some(LOST.to_string()))
            } else {
                let why = format!("case {id} does not exist in Kayse");
                (*id, Outcome::NotFound, Some(why))
            }
        })
        .collect()
}

/// Delete's sending: one `bulk_delete` per job.
pub struct Delete {
    pub with_clients: bool,
}

impl Command for Delete {
    type Item = u64;

    fn key(id: &u64) -> usize {
        *id as usize
    }

    fn send<'a>(&'a self, cx: &'a Cx<Self>, job: Job<u64>) -> BoxFuture<'a, Flow> {
        Box::pin(async move {
            let chunk = job.items;
            let Some(batch) = cx.sent(&chunk).await else {
                return Flow::Stop;
            };
            let judged = match cx.client().bulk_delete(&chunk, self.with_clients).await {
                Ok((deleted, lost)) => {
                    judge(&chunk, &deleted.into_iter().collect(), job.in_doubt || lost)
                }
                Err(e) if e.ends_run() => {
                    if !e.maybe_applied() && !job.in_doubt {
                        cx.release(batch, &chunk).await;
                    }
                    return cx.halted(&e).await;
                }
                Err(e) => {
                    let (o, msg) = if e.maybe_applied() || job.in_doubt {
                        let msg = format!(
                            "{e}; the request may have been applied: run again with --resume to settle it"
                        );
                        (Outcome::Unknown, msg)
                    } else {
                        (Outcome::Failed, e.to_string())
                    };
                    chunk.iter().map(|id| (*id, o, Some(msg.clone()))).collect()
                }
            };
            let recs = judged
                .into_iter()
                .map(|(id, outcome, error)| RowRecord {
                    row: id as usize,
                    batch: Some(batch),
                    outcome,
                    id: Some(id),
                    error,
                    data: None,
                })
                .collect();
            cx.done(recs).await;
            Flow::Go
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judging_a_chunk() {
        let deleted: BTreeSet<u64> = [1, 3].into_iter().collect();
        // (in doubt, expected outcomes of ids 1, 2, 3)
        let table = [
            (
                false,
                [Outcome::Deleted, Outcome::NotFound, Outcome::Deleted],
            ),
            (true, [Outcome::Deleted, Outcome::Unknown, Outcome::Deleted]),
        ];
        for (doubt, want) in table {
            let got = judge(&[1, 2, 3], &deleted, doubt);
            let outcomes: Vec<Outcome> = got.iter().map(|(_, o, _)| *o).collect();
            assert_eq!(outcomes, want.to_vec(), "in doubt: {doubt}");
            assert!(got[0].2.is_none());
        }
        let doubt = judge(&[2], &deleted, true);
        assert!(doubt[0].2.as_deref().unwrap().contains("never existed"));
        let plain = judge(&[2], &deleted, false);
        assert_eq!(
            plain[0].2.as_deref(),
            Some("case 2 does not exist in Kayse")
        );
    }
}
