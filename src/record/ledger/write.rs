//! Writing outcomes into the ledger: one [`Batch`] (one immediate SQLite transaction) per batch
//! of outcomes, so a batch is recorded whole or not at all, and the key checks inside it see
//! every other process's committed writes. It records what the caller says happened; it does
//! not decide what a row becomes.

use std::path::Path;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde_json::Value;

use super::keys::{Key, KeyRule, keys_of};
use super::{Conflict, Id, Ledger, LedgerError, RunId, Source, Status, classify, sql_id};

/// The other records holding a key, key index first (see `query::FIND_SQL` for why CROSS JOIN).
pub(super) const CLAIM_SQL: &str = "SELECT k.kayse_id, r.status FROM record_keys k
     CROSS JOIN records r ON r.entity = k.entity AND r.kayse_id = k.kayse_id
     WHERE k.entity = ?1 AND k.key = ?2 AND k.value = ?3 AND k.kayse_id != ?4
     ORDER BY k.kayse_id";

/// A record's keys, by rule name.
pub(super) const KEYS_OF_SQL: &str =
    "SELECT key, value FROM record_keys WHERE entity = ?1 AND kayse_id = ?2 ORDER BY key";

/// A create or update that Kayse answered.
#[derive(Debug, Clone, Copy)]
pub struct Written<'a> {
    pub entity: &'a str,
    pub id: Id,
    /// Every field that was sent.
    pub sent: &'a Value,
    /// The record as Kayse answered it, if the answer carried it: then it counts as seen.
    pub answer: Option<&'a Value>,
    /// A create (not an update): the run and request are kept for `reconcile --probe`.
    pub created: bool,
    /// The run's request number that carried it.
    pub batch: Option<u32>,
    pub source: Source<'a>,
}

/// A create whose answer was lost.
#[derive(Debug, Clone, Copy)]
pub struct InDoubt<'a> {
    pub entity: &'a str,
    /// Every field that was sent.
    pub sent: &'a Value,
    pub batch: Option<u32>,
    pub source: Source<'a>,
}

/// What recording one record did besides storing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Keys refused to this id (the id is stored all the same); show them on the row.
    pub conflicts: Vec<Conflict>,
    /// Creates in doubt that this record's keys settled: they are no longer unknown.
    pub resolved_unknowns: usize,
}

/// One transaction of writes. Nothing is stored until [`Batch::commit`]; dropping it rolls
/// everything back.
pub struct Batch<'l> {
    tx: Transaction<'l>,
    path: &'l Path,
    run: Option<RunId>,
    at: String,
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch").field("run", &self.run).finish()
    }
}

impl Ledger {
    /// Start a batch of writes for `run` (`None` for writes outside a run, such as `ledger add`
    /// without one). It waits up to the busy timeout for another process's batch to finish.
    pub fn batch(&mut self, run: Option<RunId>) -> Result<Batch<'_>, LedgerError> {
        let at = self.now();
        let path = self.path.as_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify(path, e))?;
        Ok(Batch { tx, path, run, at })
    }
}

impl Batch<'_> {
    pub fn commit(self) -> Result<(), LedgerError> {
        let path = self.path;
        self.tx.commit().map_err(|e| classify(path, e))
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> LedgerError + '_ {
        |e| classify(self.path, e)
    }

    /// Record a create or update Kayse answered. Its keys become the keys of `sent` (an update
    /// sends every field, so a key left out is no longer the record's), except those another
    /// live record holds: they come back as conflicts.
    pub fn sent(&mut self, w: Written<'_>) -> Result<Recorded, LedgerError> {
        let sent = w.sent.to_string();
        let answer = w.answer.map(Value::to_string);
        let seen_at = w.answer.map(|_| self.at.clone());
        let (created_run, created_batch) = if w.created {
            (self.run.map(|r| r.0), w.batch)
        } else {
            (None, None)
        };
        self.tx
            .prepare_cached(
                "INSERT INTO records (entity, kayse_id, status, sent_state, sent_at, seen_state,
                     seen_at, run_id, source_file, source_row, created_run, created_batch, changed_at)
                 VALUES (?1, ?2, 'live', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?4)
                 ON CONFLICT (entity, kayse_id) DO UPDATE SET
                     status = 'live', sent_state = excluded.sent_state, sent_at = excluded.sent_at,
                     seen_state = coalesce(excluded.seen_state, seen_state),
                     seen_at = coalesce(excluded.seen_at, seen_at),
                     run_id = coalesce(excluded.run_id, run_id),
                     source_file = coalesce(excluded.source_file, source_file),
                     source_row = coalesce(excluded.source_row, source_row),
                     created_run = coalesce(created_run, excluded.created_run),
                     created_batch = coalesce(created_batch, excluded.created_batch),
                     changed_at = excluded.changed_at",
            )
            .and_then(|mut s| {
                s.execute(params![
                    w.entity,
                    sql_id(w.id),
                    sent,
                    self.at,
                    answer,
                    seen_at,
                    self.run.map(|r| r.0),
                    w.source.file,
                    w.source.row.map(sql_id),
                    created_run,
                    created_batch,
                ])
            })
            .map_err(self.sql())?;
        self.replace_keys(w.entity, w.id, w.sent)
    }

    /// Record what Kayse showed for an id (a GET): it is live and seen now, and its keys are
    /// those of `state`.
    pub fn read(&mut self, entity: &str, id: Id, state: &Value) -> Result<Recorded, LedgerError> {
        self.tx
            .prepare_cached(
                "INSERT INTO records (entity, kayse_id, status, seen_state, seen_at, run_id, changed_at)
                 VALUES (?1, ?2, 'live', ?3, ?4, ?5, ?4)
                 ON CONFLICT (entity, kayse_id) DO UPDATE SET
                     status = 'live', seen_state = excluded.seen_state, seen_at = excluded.seen_at,
                     run_id = coalesce(excluded.run_id, run_id), changed_at = excluded.changed_at",
            )
            .and_then(|mut s| {
                s.execute(params![
                    entity,
                    sql_id(id),
                    state.to_string(),
                    self.at,
                    self.run.map(|r| r.0)
                ])
            })
            .map_err(self.sql())?;
        self.replace_keys(entity, id, state)
    }

    /// Record an id learned from a file (`ledger add`: a results file, an export, any sheet
    /// with ids and keys), with `state` as what was sent. A new id is stored with its keys;
    /// an id the ledger knows is left as it is, and a key that disagrees with it is a conflict:
    /// the file may be older than what the ledger knows.
    pub fn seed(
        &mut self,
        entity: &str,
        id: Id,
        state: &Value,
        source: Source<'_>,
    ) -> Result<Recorded, LedgerError> {
        let known: Vec<(String, String)> = self.keys_of(entity, id)?;
        let exists = !known.is_empty() || self.exists(entity, id)?;
        if exists {
            let mut conflicts = Vec::new();
            for (rule, key) in keys_of(entity, state) {
                let known_value = known.iter().find(|(r, _)| r == rule.name).map(|(_, v)| v);
                if known_value != Some(&key.value) {
                    conflicts.push(Conflict::IdKeyDiffers {
                        entity: entity.to_string(),
                        id,
                        rule: rule.name.to_string(),
                        known: known_value.cloned(),
                        given: Some(key.value),
                    });
                }
            }
            return Ok(Recorded {
                conflicts,
                resolved_unknowns: 0,
            });
        }
        self.tx
            .prepare_cached(
                "INSERT INTO records (entity, kayse_id, status, sent_state, run_id, source_file,
                     source_row, changed_at)
                 VALUES (?1, ?2, 'live', ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    entity,
                    sql_id(id),
                    state.to_string(),
                    self.run.map(|r| r.0),
                    source.file,
                    source.row.map(sql_id),
                    self.at
                ])
            })
            .map_err(self.sql())?;
        self.replace_keys(entity, id, state)
    }

    /// This tool deleted `id`. False if the ledger did not know it (nothing is stored then).
    pub fn deleted(&mut self, entity: &str, id: Id) -> Result<bool, LedgerError> {
        self.set_status(entity, id, Status::Deleted)
    }

    /// Kayse answered 404 for an id the ledger knew: deleted or merged in the Kayse UI. False
    /// if the ledger did not know it.
    pub fn gone(&mut self, entity: &str, id: Id) -> Result<bool, LedgerError> {
        self.set_status(entity, id, Status::Gone)
    }

    fn set_status(&mut self, entity: &str, id: Id, status: Status) -> Result<bool, LedgerError> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE records SET status = ?3, run_id = coalesce(?4, run_id), changed_at = ?5
                 WHERE entity = ?1 AND kayse_id = ?2",
            )
            .and_then(|mut s| {
                s.execute(params![
                    entity,
                    sql_id(id),
                    status.as_str(),
                    self.run.map(|r| r.0),
                    self.at
                ])
            })
            .map_err(self.sql())?;
        Ok(n > 0)
    }

    /// Record a create whose answer was lost. Recording the same create again (a resumed run
    /// replaying its journal) finds the first record by its unique keys and returns its number.
    pub fn unknown(&mut self, u: InDoubt<'_>) -> Result<i64, LedgerError> {
        let keys = keys_of(u.entity, u.sent);
        for (rule, key) in keys.iter().filter(|(r, _)| r.unique) {
            let existing: Option<i64> = self
                .tx
                .prepare_cached(
                    "SELECT unknown_id FROM unknown_keys WHERE entity = ?1 AND key = ?2 AND value = ?3
                     ORDER BY unknown_id LIMIT 1",
                )
                .and_then(|mut s| {
                    s.query_row(params![u.entity, rule.name, key.value], |r| r.get(0))
                        .optional()
                })
                .map_err(self.sql())?;
            if let Some(id) = existing {
                return Ok(id);
            }
        }
        self.tx
            .prepare_cached(
                "INSERT INTO unknowns (entity, run_id, batch, source_file, source_row, state, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    u.entity,
                    self.run.map(|r| r.0),
                    u.batch,
                    u.source.file,
                    u.source.row.map(sql_id),
                    u.sent.to_string(),
                    self.at
                ])
            })
            .map_err(self.sql())?;
        let unknown_id = self.tx.last_insert_rowid();
        for (_, key) in &keys {
            self.tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO unknown_keys (unknown_id, entity, key, value) VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut s| s.execute(params![unknown_id, u.entity, key.rule, key.value]))
                .map_err(self.sql())?;
        }
        Ok(unknown_id)
    }

    /// A create in doubt turned out to have made `id` (`reconcile`): it becomes a record created
    /// by the run and request that sent it, with what was sent, and `seen` if Kayse was read.
    /// False if there is no such unknown (already resolved).
    pub fn resolve(
        &mut self,
        unknown_id: i64,
        id: Id,
        seen: Option<&Value>,
    ) -> Result<Option<Recorded>, LedgerError> {
        type Row = (
            String,
            Option<i64>,
            Option<u32>,
            Option<String>,
            Option<i64>,
            String,
        );
        let row: Option<Row> = self
            .tx
            .prepare_cached(
                "SELECT entity, run_id, batch, source_file, source_row, state FROM unknowns
                 WHERE unknown_id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([unknown_id], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .optional()
            })
            .map_err(self.sql())?;
        let Some((entity, run, batch, file, row, state)) = row else {
            return Ok(None);
        };
        let sent: Value = serde_json::from_str(&state).unwrap_or(Value::Null);
        self.tx
            .execute("DELETE FROM unknowns WHERE unknown_id = ?1", [unknown_id])
            .map_err(self.sql())?;
        // Recorded as the run that sent it, not the run that reconciles it.
        let this_run = self.run;
        self.run = run.map(RunId);
        let mut out = self.sent(Written {
            entity: &entity,
            id,
            sent: &sent,
            answer: seen,
            created: true,
            batch,
            source: Source {
                file: file.as_deref(),
                row: row.and_then(|r| u64::try_from(r).ok()),
            },
        });
        self.run = this_run;
        if let Ok(r) = &mut out {
            r.resolved_unknowns += 1;
        }
        out.map(Some)
    }

    /// `id`'s links to `other` entity are exactly `ids` (what the API does with a link array).
    pub fn set_links(
        &mut self,
        entity: &str,
        id: Id,
        other: &str,
        ids: &[Id],
    ) -> Result<(), LedgerError> {
        self.tx
            .prepare_cached(
                "DELETE FROM links WHERE (a_entity = ?1 AND a_id = ?2 AND b_entity = ?3)
                     OR (b_entity = ?1 AND b_id = ?2 AND a_entity = ?3)",
            )
            .and_then(|mut s| s.execute(params![entity, sql_id(id), other]))
            .map_err(self.sql())?;
        self.add_links(entity, id, other, ids)
    }

    /// Add links from `id` to `ids` of `other` entity, keeping those it has.
    pub fn add_links(
        &mut self,
        entity: &str,
        id: Id,
        other: &str,
        ids: &[Id],
    ) -> Result<(), LedgerError> {
        for &o in ids {
            let (a, b) = link_pair((entity, id), (other, o));
            self.tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO links (a_entity, a_id, b_entity, b_id) VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut s| s.execute(params![a.0, sql_id(a.1), b.0, sql_id(b.1)]))
                .map_err(self.sql())?;
        }
        Ok(())
    }

    fn exists(&self, entity: &str, id: Id) -> Result<bool, LedgerError> {
        self.tx
            .prepare_cached("SELECT 1 FROM records WHERE entity = ?1 AND kayse_id = ?2")
            .and_then(|mut s| s.exists(params![entity, sql_id(id)]))
            .map_err(self.sql())
    }

    fn keys_of(&self, entity: &str, id: Id) -> Result<Vec<(String, String)>, LedgerError> {
        self.tx
            .prepare_cached(KEYS_OF_SQL)
            .and_then(|mut s| {
                s.query_map(params![entity, sql_id(id)], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map_err(self.sql())
    }

    /// Make `id`'s keys those of `state`: drop the ones it no longer holds, add the new ones
    /// unless another live record holds a unique one (a conflict), move a unique key from a
    /// deleted or gone record, and settle creates in doubt that sent the same unique key.
    fn replace_keys(
        &mut self,
        entity: &str,
        id: Id,
        state: &Value,
    ) -> Result<Recorded, LedgerError> {
        let new = keys_of(entity, state);
        let old = self.keys_of(entity, id)?;
        for (rule, value) in &old {
            if !new
                .iter()
                .any(|(_, k)| &k.rule == rule && &k.value == value)
            {
                self.tx
                    .prepare_cached(
                        "DELETE FROM record_keys WHERE entity = ?1 AND key = ?2 AND value = ?3 AND kayse_id = ?4",
                    )
                    .and_then(|mut s| s.execute(params![entity, rule, value, sql_id(id)]))
                    .map_err(self.sql())?;
            }
        }
        let mut out = Recorded::default();
        for (rule, key) in new {
            if old.iter().any(|(r, v)| r == &key.rule && v == &key.value) {
                continue;
            }
            if let Some(conflict) = self.claim(entity, id, rule, &key)? {
                out.conflicts.push(conflict);
                continue;
            }
            self.tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO record_keys (entity, key, value, kayse_id) VALUES (?1, ?2, ?3, ?4)",
                )
                .and_then(|mut s| s.execute(params![entity, key.rule, key.value, sql_id(id)]))
                .map_err(self.sql())?;
            if rule.unique {
                out.resolved_unknowns += self
                    .tx
                    .prepare_cached(
                        "DELETE FROM unknowns WHERE unknown_id IN (SELECT unknown_id FROM unknown_keys
                         WHERE entity = ?1 AND key = ?2 AND value = ?3)",
                    )
                    .and_then(|mut s| s.execute(params![entity, key.rule, key.value]))
                    .map_err(self.sql())?;
            }
        }
        Ok(out)
    }

    /// May `id` take a unique `key`? A live holder keeps it (the conflict is returned); a
    /// deleted or gone holder gives it up.
    fn claim(
        &mut self,
        entity: &str,
        id: Id,
        rule: &KeyRule,
        key: &Key,
    ) -> Result<Option<Conflict>, LedgerError> {
        if !rule.unique {
            return Ok(None);
        }
        let holders: Vec<(i64, String)> = self
            .tx
            .prepare_cached(CLAIM_SQL)
            .and_then(|mut s| {
                s.query_map(params![entity, key.rule, key.value, sql_id(id)], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect()
            })
            .map_err(self.sql())?;
        if let Some((holder, _)) = holders.iter().find(|(_, s)| s == Status::Live.as_str()) {
            return Ok(Some(Conflict::KeyTaken {
                entity: entity.to_string(),
                key: key.clone(),
                holder: u64::try_from(*holder).unwrap_or(0),
                id,
            }));
        }
        self.tx
            .prepare_cached(
                "DELETE FROM record_keys WHERE entity = ?1 AND key = ?2 AND value = ?3 AND kayse_id != ?4",
            )
            .and_then(|mut s| s.execute(params![entity, key.rule, key.value, sql_id(id)]))
            .map_err(self.sql())?;
        Ok(None)
    }
}

/// A link stored once per pair: the smaller (entity, id) first.
fn link_pair<'a>(x: (&'a str, Id), y: (&'a str, Id)) -> ((&'a str, Id), (&'a str, Id)) {
    if x <= y { (x, y) } else { (y, x) }
}
