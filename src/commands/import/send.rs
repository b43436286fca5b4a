//! How import sends a batch and settles its rows: fill blanks from the stored case first when
//! asked, send one bulk upsert, then bisect definite rejections, learn cheaply from lost answers
//! (the probe), and halve the batch size when the server says it is too large. It never guesses
//! an id. Journal, tallies and progress are the engine's: this file talks to it through `Cx`.

use futures::future::BoxFuture;

use super::answer::{self, Item};
use crate::engine::{Command, Flow, Job};
use crate::outcome::Outcome;
use crate::send::{CallError, learned};

type Cx = crate::engine::Cx<Upsert>;

/// Import's sending: bulk upserts of rows, in batches.
#[derive(Debug, Clone, Copy)]
pub struct Upsert {
    /// `--update-blanks keep`: fetch each updated case first and keep what the row leaves empty.
    pub keep_blanks: bool,
}

impl Command for Upsert {
    type Item = Item;

    fn key(item: &Item) -> usize {
        item.0
    }

    fn send<'a>(&'a self, cx: &'a Cx, job: Job<Item>) -> BoxFuture<'a, Flow> {
        Box::pin(self.job(cx, job))
    }
}

impl Upsert {
    async fn job(&self, cx: &Cx, job: Job<Item>) -> Flow {
        let mut items = job.items;
        if self.keep_blanks && items.iter().any(|(_, c)| c.id.is_some()) {
            let mut kept = Vec::with_capacity(items.len());
            for (row, case) in items {
                let Some(id) = case.id else {
                    kept.push((row, case));
                    continue;
                };
                match cx.client().get(case.entity(), id).await {
                    Ok(stored) => kept.push((row, case.fill_blanks(&stored))),
                    Err(CallError::Rejected { status: 404, .. }) => {
                        // `not_found`: the ledger learns it is gone, so a row found by its key
                        // makes it anew next time.
                        cx.done(vec![answer::record(
                            row,
                            None,
                            Outcome::NotFound,
                            Some(id),
                            Some(answer::not_found_note(case.entity(), id)),
                        )])
                        .await
                    }
                    Err(e) if e.ends_run() => return cx.halted(&e).await,
                    Err(e) => {
                        cx.done(vec![answer::record(
                            row,
                            None,
                            Outcome::Failed,
                            Some(id),
                            Some(format!(
                                "could not read {} {id} to keep its blank fields: {e}",
                                case.entity().one
                            )),
                        )])
                        .await
                    }
                }
            }
            items = kept;
        }
        if job.in_doubt {
            self.bulk(cx, items, true).await
        } else {
            let n = cx.batch_size();
            for chunk in items.chunks(n) {
                if self.bulk(cx, chunk.to_vec(), false).await == Flow::Stop {
                    return Flow::Stop;
                }
            }
            Flow::Go
        }
    }

    /// Send `items` as one bulk request and settle every row: bisect definite rejections, learn
    /// cheaply from lost answers, never guess an id.
    fn bulk<'a>(&'a self, cx: &'a Cx, items: Vec<Item>, in_doubt: bool) -> BoxFuture<'a, Flow> {
        Box::pin(async move {
            if items.is_empty() {
                return Flow::Go;
            }
            let Some(batch) = cx.sent(&items).await else {
                return Flow::Stop;
            };
            let cases: Vec<_> = items.iter().map(|(_, c)| c.clone()).collect();
            let entity = cases[0].entity();
            let res = cx.client().bulk_upsert(entity, &cases).await;
            drop(cases);
            let b = Some(batch);
            match res {
                Ok(ans) => {
                    cx.done(answer::match_answer(&items, &ans.records, b)).await;
                    Flow::Go
                }
                Err(e @ CallError::KeyRejected { .. }) => {
                    cx.release(batch, &items).await;
                    cx.halted(&e).await
                }
                Err(
                    e @ (CallError::Halted { .. }
                    | CallError::GaveUp { .. }
                    | CallError::Outage { .. }),
                ) => {
                    // The budget, a stop, or Kayse down: these rows are not failed. Released when
                    // certainly not applied, else left in flight for --resume to recheck.
                    if !(in_doubt || e.maybe_applied()) {
                        cx.release(batch, &items).await;
                    }
                    cx.halted(&e).await
                }
                Err(CallError::Rejected {
                    status,
                    message,
                    lost_before,
                }) => {
                    let doubt = in_doubt || lost_before;
                    if answer::too_many(&message) && items.len() > 1 {
                        // Rejected whole, this time and any earlier time at this size.
                        cx.release(batch, &items).await;
                        // The maximum the answer names, else halves until one fits.
                        match learned::stated_max(&message) {
                            Some(max) if max < items.len() => {
                                cx.learned_max(max, items.len(), entity.name)
                            }
                            _ => cx.shrink_batch(items.len().div_ceil(2)),
                        }
                        // Re-read the size before each piece: a piece may shrink it again.
                        let mut rest = items;
                        while !rest.is_empty() {
                            let n = cx.batch_size().min(rest.len());
                            let tail = rest.split_off(n);
                            if self.bulk(cx, rest, false).await == Flow::Stop {
                                return Flow::Stop;
                            }
                            rest = tail;
                        }
                        return Flow::Go;
                    }
                    if doubt && answer::already_exists(&message) {
                        return self.probe(cx, items, batch, message).await;
                    }
                    if let Some(at) = taken(&items, &message) {
                        // Kayse has this case number and the ledger has no id for it: that row
                        // is `exists`, and the rest of the batch goes again without it.
                        cx.release(batch, &items).await;
                        let mut rest = items;
                        let one = vec![rest.remove(at)];
                        let note = answer::exists_note(&one[0].1);
                        cx.done(answer::all(&one, b, Outcome::Exists, &note)).await;
                        return self.bulk(cx, rest, false).await;
                    }
                    if !doubt {
                        cx.release(batch, &items).await;
                    }
                    if items.len() == 1 {
                        let mut msg = if status == 400 {
                            message
                        } else {
                            format!("Kayse answered {status}: {message}")
                        };
                        if let Some((entity, id)) = learned::missing_link(&msg) {
                            // The ledger learns it (engine::ledger); say what comes of it.
                            msg.push_str(&format!(
                                "; the ledger now knows {entity} {id} is gone from Kayse (deleted, or merged into another): run the import again to send it anew"
                            ));
                        }
                        cx.done(answer::all(&items, b, Outcome::Failed, &msg)).await;
                        return Flow::Go;
                    }
                    let mut left = items;
                    let right = left.split_off(left.len() / 2);
                    if self.bulk(cx, left, doubt).await == Flow::Stop {
                        return Flow::Stop;
                    }
                    self.bulk(cx, right, doubt).await
                }
                Err(e @ CallError::Lost { .. }) => {
                    let why = e.to_string();
                    cx.done(answer::all_unknown(&items, b, Some(&why))).await;
                    Flow::Go
                }
                Err(e @ CallError::BadAnswer { .. }) => {
                    // A 2xx was received: the batch was applied, but its ids cannot be read.
                    let why = e.to_string();
                    cx.done(answer::all_unknown(&items, b, Some(&why))).await;
                    Flow::Go
                }
            }
        })
    }

    /// A batch whose earlier attempt lost its answer now meets "already exists". Either that
    /// attempt was applied (batches are atomic: then every row exists), or one row clashed with a
    /// case already there. Send one row the message does not name, alone: if it too exists, the
    /// batch was applied and its rows are `unknown`; if it is created, the batch was not applied
    /// and the rest is settled as a plain rejection. At most one request more.
    async fn probe(&self, cx: &Cx, mut items: Vec<Item>, batch: u64, message: String) -> Flow {
        let b = Some(batch);
        if items.len() == 1 {
            cx.done(answer::all_unknown(&items, b, None)).await;
            return Flow::Go;
        }
        let pick = items
            .iter()
            .position(|(_, c)| !names(&message, c.lookup().1))
            .unwrap_or(0);
        let one = vec![items.remove(pick)];
        let Some(pb) = cx.sent(&one).await else {
            return Flow::Stop;
        };
        let res = cx
            .client()
            .bulk_upsert(one[0].1.entity(), &[one[0].1.clone()])
            .await;
        match res {
            Ok(ans) => {
                cx.done(answer::match_answer(&one, &ans.records, Some(pb)))
                    .await;
                // The lost attempt was not applied: the rest is a plain rejected batch.
                cx.release(batch, &items).await;
                self.bulk(cx, items, false).await
            }
            Err(CallError::Rejected { message: m, .. }) if answer::already_exists(&m) => {
                cx.done(answer::all_unknown(&one, Some(pb), None)).await;
                cx.done(answer::all_unknown(&items, b, None)).await;
                Flow::Go
            }
            Err(CallError::Rejected { message: m, .. }) => {
                cx.release(pb, &one).await;
                cx.done(answer::all(&one, Some(pb), Outcome::Failed, &m))
                    .await;
                cx.done(answer::all_unknown(&items, b, None)).await;
                Flow::Go
            }
            Err(e) if e.ends_run() => cx.halted(&e).await,
            Err(e) => {
                let why = e.to_string();
                cx.done(answer::all_unknown(&one, Some(pb), Some(&why)))
                    .await;
                cx.done(answer::all_unknown(&items, b, None)).await;
                Flow::Go
            }
        }
    }
}

/// The one create of a batch whose case number a refusal says is taken, if the message names
/// exactly one of them (else the batch is bisected as before).
fn taken(items: &[Item], message: &str) -> Option<usize> {
    if !answer::already_exists(message) || message.contains("in this request") {
        return None;
    }
    let mut named = items
        .iter()
        .enumerate()
        .filter(|(_, (_, c))| c.id.is_none() && names(message, c.lookup().1));
    match (named.next(), named.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

/// Whether a server message names this case_number (as a whole token, so `A-1` is not `A-10`).
fn names(message: &str, case_number: &str) -> bool {
    if case_number.is_empty() {
        return false;
    }
    message.match_indices(case_number).any(|(i, _)| {
        let before = message[..i].chars().next_back();
        let after = message[i + case_number.len()..].chars().next();
        let edge = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '-' && c != '_');
        edge(before) && edge(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_naming_one_create_picks_it() {
        use crate::entity::{CASES, Record};
        let case = |n: &str, id: Option<u64>| {
            let mut r = Record::from_json(&CASES, &serde_json::json!({"case_number": n})).unwrap();
            r.id = id;
            r
        };
        let items = vec![
            (2, case("A-1", None)),
            (3, case("A-10", None)),
            (4, case("B", Some(9))),
        ];
        let table = [
            ("case_number 'A-1' already exists", Some(0)),
            ("case_number 'A-10' already exists", Some(1)),
            ("case_number 'B' already exists", None),
            ("case_number 'A-1' already exists in this request", None),
            ("case_number 'Z' already exists", None),
            ("status is required", None),
        ];
        for (msg, want) in table {
            assert_eq!(taken(&items, msg), want, "{msg}");
        }
    }

    #[test]
    fn names_match_whole_tokens() {
        assert!(names("case_number 'A-1' already exists", "A-1"));
        assert!(!names("case_number 'A-10' already exists", "A-1"));
        assert!(names("A-1 already exists", "A-1"));
        assert!(!names("anything", ""));
    }
}
