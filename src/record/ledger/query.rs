//! Reading the ledger for the commands (look-ups by key, the stalest records, the full listing
//! streamed, runs, stats, what changed since a report) and the two writes that are not
//! outcomes: report snapshots and forgetting. Each answers one question; deciding what to do
//! with the answer is the caller's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use serde_json::Value;

use super::compare::{Blanks, FieldChange, changes};
use super::keys::Key;
use super::{
    Found, Id, Known, Ledger, LedgerError, Run, RunId, Status, Unknown, parse_stamp, sql_id, stamp,
};

/// The records holding a key: the key's index first, then each record by its id. CROSS JOIN
/// fixes that order, and the sort is on the key's own column: sorted by `r.kayse_id`, the
/// planner walked every record of the entity instead (5 ms a look-up at 5,000 records, measured).
/// A test checks the plan.
pub(super) const FIND_SQL: &str =
    "SELECT r.entity, r.kayse_id, r.status, r.sent_state, r.sent_at, r.seen_state, r.seen_at,
            r.run_id, r.source_file, r.source_row
     FROM record_keys k CROSS JOIN records r ON r.entity = k.entity AND r.kayse_id = k.kayse_id
     WHERE k.entity = ?1 AND k.key = ?2 AND k.value = ?3 ORDER BY k.kayse_id";

/// The creates in doubt that sent a key.
pub(super) const IN_DOUBT_SQL: &str =
    "SELECT unknown_id FROM unknown_keys WHERE entity = ?1 AND key = ?2 AND value = ?3
     ORDER BY unknown_id";

const KNOWN_COLUMNS: &str = "entity, kayse_id, status, sent_state, sent_at, seen_state, seen_at, \
                             run_id, source_file, source_row";

/// The ids the same run created in the requests around a create in doubt: its id, if it was
/// made, lies between them when ids are handed out in order (`reconcile --probe` checks every
/// guess against the keys before believing it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Neighbours {
    /// The highest id created by an earlier request of the run.
    pub below: Option<Id>,
    /// The lowest id created by a later request of the run.
    pub above: Option<Id>,
}

/// Counts for `ledger stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub entities: Vec<EntityStats>,
    pub runs: u64,
    /// Runs that never said they ended: running now, or killed.
    pub unfinished_runs: u64,
    /// The file and its write-ahead log, in bytes.
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityStats {
    pub entity: String,
    pub live: u64,
    pub deleted: u64,
    pub gone: u64,
    /// Live records never read from Kayse.
    pub never_seen: u64,
    /// Creates in doubt.
    pub in_doubt: u64,
}

/// A report's snapshot: when it was taken and of how many records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub report: String,
    pub entity: String,
    pub run: Option<RunId>,
    pub taken_at: DateTime<Utc>,
    pub records: u64,
}

/// One line of a report's "what changed".
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Not live in the previous report, live now.
    New { id: Id, state: Option<Value> },
    /// Live in both, with these fields changed.
    Changed { id: Id, fields: Vec<FieldChange> },
    /// Live in the previous report, deleted or gone now.
    Gone { id: Id, status: Status },
}

/// What to forget.
#[derive(Debug, Clone, Copy)]
pub enum Forget<'a> {
    Id(Id),
    /// The records holding this key, and the creates in doubt that sent it.
    Key(&'a Key),
    /// Every record of the entity, its creates in doubt, links and report snapshots.
    Entity,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forgotten {
    pub records: u64,
    pub unknowns: u64,
}

fn known(r: &Row<'_>) -> rusqlite::Result<Known> {
    Ok(Known {
        entity: r.get(0)?,
        id: get_id(r, 1)?,
        status: get_status(r, 2)?,
        sent_state: get_json(r, 3)?,
        sent_at: get_time(r, 4)?,
        seen_state: get_json(r, 5)?,
        seen_at: get_time(r, 6)?,
        run: r.get::<_, Option<i64>>(7)?.map(RunId),
        file: r.get(8)?,
        row: r
            .get::<_, Option<i64>>(9)?
            .and_then(|v| u64::try_from(v).ok()),
    })
}

fn bad(col: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        col,
        rusqlite::types::Type::Text,
        Box::<dyn std::error::Error + Send + Sync>::from(what),
    )
}

fn get_id(r: &Row<'_>, col: usize) -> rusqlite::Result<Id> {
    let v: i64 = r.get(col)?;
    u64::try_from(v).map_err(|_| bad(col, format!("a negative id {v}")))
}

fn get_status(r: &Row<'_>, col: usize) -> rusqlite::Result<Status> {
    let s: String = r.get(col)?;
    Status::parse(&s).ok_or_else(|| bad(col, format!("an unknown status {s:?}")))
}

fn get_json(r: &Row<'_>, col: usize) -> rusqlite::Result<Option<Value>> {
    match r.get::<_, Option<String>>(col)? {
        None => Ok(None),
        Some(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| bad(col, format!("a state that is not JSON ({e})"))),
    }
}

fn get_time(r: &Row<'_>, col: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match r.get::<_, Option<String>>(col)? {
        None => Ok(None),
        Some(t) => parse_stamp(&t)
            .map(Some)
            .ok_or_else(|| bad(col, format!("a time that is not one ({t:?})"))),
    }
}

impl Ledger {
    /// The record `id` of `entity`, if the ledger knows it.
    pub fn get(&self, entity: &str, id: Id) -> Result<Option<Known>, LedgerError> {
        let sql =
            format!("SELECT {KNOWN_COLUMNS} FROM records WHERE entity = ?1 AND kayse_id = ?2");
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params![entity, sql_id(id)], known).optional())
            .map_err(self.sql())
    }

    /// Everything the ledger holds for a key: the records that have it (several only for a
    /// non-unique key, or when some are deleted or gone) and the creates in doubt that sent it.
    pub fn find(&self, entity: &str, key: &Key) -> Result<Found, LedgerError> {
        let records = self
            .conn
            .prepare_cached(FIND_SQL)
            .and_then(|mut s| {
                s.query_map(params![entity, key.rule, key.value], known)?
                    .collect()
            })
            .map_err(self.sql())?;
        let ids: Vec<i64> = self
            .conn
            .prepare_cached(IN_DOUBT_SQL)
            .and_then(|mut s| {
                s.query_map(params![entity, key.rule, key.value], |r| r.get(0))?
                    .collect()
            })
            .map_err(self.sql())?;
        let mut in_doubt = Vec::with_capacity(ids.len());
        for id in ids {
            in_doubt.extend(self.unknown(id)?);
        }
        Ok(Found { records, in_doubt })
    }

    /// The keys the ledger holds for a record, by rule name.
    pub fn keys(&self, entity: &str, id: Id) -> Result<Vec<Key>, LedgerError> {
        self.conn
            .prepare_cached(
                "SELECT key, value FROM record_keys WHERE entity = ?1 AND kayse_id = ?2 ORDER BY key, value",
            )
            .and_then(|mut s| {
                s.query_map(params![entity, sql_id(id)], |r| {
                    Ok(Key {
                        rule: r.get(0)?,
                        value: r.get(1)?,
                    })
                })?
                .collect()
            })
            .map_err(self.sql())
    }

    /// The `n` live records gone longest without being read from Kayse: never-seen ones first,
    /// then the oldest seen, ties by id. What a budgeted refresh should read next.
    pub fn stalest(&self, entity: &str, n: usize) -> Result<Vec<Known>, LedgerError> {
        // SQLite sorts NULL first in ascending order, so never-seen records lead.
        let sql = format!(
            "SELECT {KNOWN_COLUMNS} FROM records WHERE entity = ?1 AND status = 'live'
             ORDER BY seen_at, kayse_id LIMIT ?2"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(params![entity, i64::try_from(n).unwrap_or(i64::MAX)], known)?
                    .collect()
            })
            .map_err(self.sql())
    }

    /// Every live record of `entity` with when it was last read from Kayse (`None`: never), by
    /// id, one at a time and without its states: what a budgeted refresh chooses from, cheaply.
    pub fn for_each_seen<E: From<LedgerError>>(
        &self,
        entity: &str,
        mut f: impl FnMut(Id, Option<DateTime<Utc>>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT kayse_id, seen_at FROM records WHERE entity = ?1 AND status = 'live'
                 ORDER BY kayse_id",
            )
            .map_err(self.sql())?;
        let mut rows = stmt.query([entity]).map_err(self.sql())?;
        while let Some(row) = rows.next().map_err(self.sql())? {
            let read = || Ok::<_, rusqlite::Error>((get_id(row, 0)?, get_time(row, 1)?));
            let (id, seen) = read().map_err(self.sql())?;
            f(id, seen)?;
        }
        Ok(())
    }

    /// Every record of `entity`, by id, one at a time: a 100,000-record report never holds
    /// them all. `f` may stop the stream by returning an error, which comes back as is. The
    /// stream reads one consistent snapshot, whatever other processes write meanwhile.
    pub fn for_each<E: From<LedgerError>>(
        &self,
        entity: &str,
        mut f: impl FnMut(Known) -> Result<(), E>,
    ) -> Result<(), E> {
        let sql =
            format!("SELECT {KNOWN_COLUMNS} FROM records WHERE entity = ?1 ORDER BY kayse_id");
        let mut stmt = self.conn.prepare(&sql).map_err(self.sql())?;
        let mut rows = stmt.query([entity]).map_err(self.sql())?;
        while let Some(row) = rows.next().map_err(self.sql())? {
            f(known(row).map_err(self.sql())?)?;
        }
        Ok(())
    }

    /// How many records of `entity` there are, in every status.
    pub fn count(&self, entity: &str) -> Result<u64, LedgerError> {
        self.conn
            .prepare_cached("SELECT count(*) FROM records WHERE entity = ?1")
            .and_then(|mut s| s.query_row([entity], |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
            .map_err(self.sql())
    }

    /// Live records of `entity` read from Kayse at or after `since` (the report's coverage).
    pub fn seen_since(&self, entity: &str, since: DateTime<Utc>) -> Result<u64, LedgerError> {
        self.conn
            .prepare_cached(
                "SELECT count(*) FROM records WHERE entity = ?1 AND status = 'live' AND seen_at >= ?2",
            )
            .and_then(|mut s| s.query_row(params![entity, stamp(since)], |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
            .map_err(self.sql())
    }

    fn unknown(&self, unknown_id: i64) -> Result<Option<Unknown>, LedgerError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT entity, run_id, batch, source_file, source_row, state, recorded_at
                 FROM unknowns WHERE unknown_id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([unknown_id], |r| {
                    Ok(Unknown {
                        unknown_id,
                        entity: r.get(0)?,
                        run: r.get::<_, Option<i64>>(1)?.map(RunId),
                        batch: r.get(2)?,
                        file: r.get(3)?,
                        row: r
                            .get::<_, Option<i64>>(4)?
                            .and_then(|v| u64::try_from(v).ok()),
                        state: get_json(r, 5)?.unwrap_or(Value::Null),
                        keys: Vec::new(),
                        recorded_at: get_time(r, 6)?.unwrap_or_default(),
                    })
                })
                .optional()
            })
            .map_err(self.sql())?;
        let Some(mut u) = row else { return Ok(None) };
        u.keys = self
            .conn
            .prepare_cached(
                "SELECT key, value FROM unknown_keys WHERE unknown_id = ?1 ORDER BY key, value",
            )
            .and_then(|mut s| {
                s.query_map([unknown_id], |r| {
                    Ok(Key {
                        rule: r.get(0)?,
                        value: r.get(1)?,
                    })
                })?
                .collect()
            })
            .map_err(self.sql())?;
        Ok(Some(u))
    }

    /// The creates in doubt, oldest first; of one entity, or of all.
    pub fn unknowns(&self, entity: Option<&str>) -> Result<Vec<Unknown>, LedgerError> {
        let ids: Vec<i64> = self
            .conn
            .prepare_cached(
                "SELECT unknown_id FROM unknowns WHERE ?1 IS NULL OR entity = ?1 ORDER BY unknown_id",
            )
            .and_then(|mut s| s.query_map([entity], |r| r.get(0))?.collect())
            .map_err(self.sql())?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.unknown(id)?);
        }
        Ok(out)
    }

    /// The ids created by the same run's requests just before and just after the one that
    /// carried the create in doubt `unknown_id`.
    pub fn neighbours(&self, unknown_id: i64) -> Result<Neighbours, LedgerError> {
        let Some(u) = self.unknown(unknown_id)? else {
            return Ok(Neighbours::default());
        };
        let (Some(run), Some(batch)) = (u.run, u.batch) else {
            return Ok(Neighbours::default());
        };
        let pick = |sql: &str| -> Result<Option<Id>, LedgerError> {
            self.conn
                .prepare_cached(sql)
                .and_then(|mut s| {
                    s.query_row(params![run.0, u.entity, batch], |r| {
                        r.get::<_, Option<i64>>(0)
                    })
                })
                .map(|v| v.and_then(|v| u64::try_from(v).ok()))
                .map_err(self.sql())
        };
        Ok(Neighbours {
            below: pick(
                "SELECT max(kayse_id) FROM records
                 WHERE created_run = ?1 AND entity = ?2 AND created_batch < ?3",
            )?,
            above: pick(
                "SELECT min(kayse_id) FROM records
                 WHERE created_run = ?1 AND entity = ?2 AND created_batch > ?3",
            )?,
        })
    }

    /// Every id `run` created, by id, with the request that carried it.
    pub fn created_in_run(
        &self,
        entity: &str,
        run: RunId,
    ) -> Result<Vec<(Option<u32>, Id)>, LedgerError> {
        self.conn
            .prepare_cached(
                "SELECT created_batch, kayse_id FROM records
                 WHERE created_run = ?1 AND entity = ?2 ORDER BY kayse_id",
            )
            .and_then(|mut s| {
                s.query_map(params![run.0, entity], |r| Ok((r.get(0)?, get_id(r, 1)?)))?
                    .collect()
            })
            .map_err(self.sql())
    }

    /// The ids of `other` linked to `id` of `entity` (a case's clients, a client's cases).
    pub fn links(&self, entity: &str, id: Id, other: &str) -> Result<Vec<Id>, LedgerError> {
        // A pair is stored once, the smaller (entity, id) first; of two entities, the one whose
        // name sorts first is always `a`.
        let sql = match entity.cmp(other) {
            std::cmp::Ordering::Less => {
                "SELECT b_id FROM links WHERE a_entity = ?1 AND a_id = ?2 AND b_entity = ?3 ORDER BY b_id"
            }
            std::cmp::Ordering::Greater => {
                "SELECT a_id FROM links WHERE b_entity = ?1 AND b_id = ?2 AND a_entity = ?3 ORDER BY a_id"
            }
            std::cmp::Ordering::Equal => {
                "SELECT b_id FROM links WHERE a_entity = ?1 AND a_id = ?2 AND b_entity = ?3
                 UNION SELECT a_id FROM links WHERE b_entity = ?1 AND b_id = ?2 AND a_entity = ?3
                 ORDER BY 1"
            }
        };
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| {
                s.query_map(params![entity, sql_id(id), other], |r| get_id(r, 0))?
                    .collect()
            })
            .map_err(self.sql())
    }

    /// The last `limit` runs, newest first.
    pub fn runs(&self, limit: usize) -> Result<Vec<Run>, LedgerError> {
        self.conn
            .prepare_cached(
                "SELECT run_id, command, pid, input, results, started_at, ended_at, counts, exit_code
                 FROM runs ORDER BY run_id DESC LIMIT ?1",
            )
            .and_then(|mut s| {
                s.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                    let counts: Option<String> = r.get(7)?;
                    Ok(Run {
                        id: RunId(r.get(0)?),
                        command: r.get(1)?,
                        pid: r.get(2)?,
                        input: r.get(3)?,
                        results: r.get(4)?,
                        started_at: get_time(r, 5)?.unwrap_or_default(),
                        ended_at: get_time(r, 6)?,
                        counts: match counts {
                            None => BTreeMap::new(),
                            Some(t) => serde_json::from_str(&t)
                                .map_err(|e| bad(7, format!("counts that are not JSON ({e})")))?,
                        },
                        exit_code: r.get(8)?,
                    })
                })?
                .collect()
            })
            .map_err(self.sql())
    }

    /// Counts per entity and status, runs, and the size on disk.
    pub fn stats(&self) -> Result<Stats, LedgerError> {
        let mut by: BTreeMap<String, EntityStats> = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT entity, status, count(*), sum(seen_at IS NULL) FROM records GROUP BY entity, status",
            )
            .map_err(self.sql())?;
        let rows: Vec<(String, String, i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(|m| m.collect())
            .map_err(self.sql())?;
        for (entity, status, n, unseen) in rows {
            let e = by.entry(entity.clone()).or_insert_with(|| EntityStats {
                entity,
                ..EntityStats::default()
            });
            match Status::parse(&status) {
                Some(Status::Live) => {
                    e.live = n as u64;
                    e.never_seen = unseen as u64;
                }
                Some(Status::Deleted) => e.deleted = n as u64,
                Some(Status::Gone) => e.gone = n as u64,
                None => {}
            }
        }
        let doubts: Vec<(String, i64)> = self
            .conn
            .prepare_cached("SELECT entity, count(*) FROM unknowns GROUP BY entity")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(self.sql())?;
        for (entity, n) in doubts {
            by.entry(entity.clone())
                .or_insert_with(|| EntityStats {
                    entity,
                    ..EntityStats::default()
                })
                .in_doubt = n as u64;
        }
        let (runs, unfinished): (i64, i64) = self
            .conn
            .query_row(
                "SELECT count(*), coalesce(sum(ended_at IS NULL), 0) FROM runs",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(self.sql())?;
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let mut wal = self.path.as_os_str().to_owned();
        wal.push("-wal");
        Ok(Stats {
            entities: by.into_values().collect(),
            runs: runs as u64,
            unfinished_runs: unfinished as u64,
            bytes: size(&self.path) + size(std::path::Path::new(&wal)),
        })
    }

    /// The snapshot `report` last took of `entity`, if any.
    pub fn last_snapshot(&self, report: &str, entity: &str) -> Result<Option<Taken>, LedgerError> {
        self.conn
            .prepare_cached(
                "SELECT run_id, taken_at, records FROM reports WHERE report = ?1 AND entity = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![report, entity], |r| {
                    Ok(Taken {
                        report: report.to_string(),
                        entity: entity.to_string(),
                        run: r.get::<_, Option<i64>>(0)?.map(RunId),
                        taken_at: get_time(r, 1)?.unwrap_or_default(),
                        records: r.get::<_, i64>(2)? as u64,
                    })
                })
                .optional()
            })
            .map_err(self.sql())
    }

    /// Keep the state of every record of `entity` as `report`'s snapshot, replacing its last
    /// one: the next [`Ledger::changes_since`] of that report compares with this.
    pub fn snapshot(
        &mut self,
        report: &str,
        entity: &str,
        run: Option<RunId>,
    ) -> Result<Taken, LedgerError> {
        let now = (self.clock)();
        let path = self.path.clone();
        let sql = |e| super::classify(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        tx.execute(
            "DELETE FROM snapshots WHERE report = ?1 AND entity = ?2",
            params![report, entity],
        )
        .map_err(sql)?;
        let records = tx
            .execute(
                "INSERT INTO snapshots (report, entity, kayse_id, status, state)
                 SELECT ?1, entity, kayse_id, status, coalesce(seen_state, sent_state)
                 FROM records WHERE entity = ?2",
                params![report, entity],
            )
            .map_err(sql)? as u64;
        tx.execute(
            "INSERT OR REPLACE INTO reports (report, entity, run_id, taken_at, records)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![report, entity, run.map(|r| r.0), stamp(now), records as i64],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(Taken {
            report: report.to_string(),
            entity: entity.to_string(),
            run,
            taken_at: parse_stamp(&stamp(now)).unwrap_or(now),
            records,
        })
    }

    /// What changed in `entity` since `report`'s last snapshot, by id, one change at a time:
    /// new records, changed fields (old → new, `ignore` left out), records deleted or gone.
    /// `None` (and no call to `f`) when the report has no snapshot yet: its first run.
    pub fn changes_since<E: From<LedgerError>>(
        &self,
        report: &str,
        entity: &str,
        ignore: &[&str],
        mut f: impl FnMut(Change) -> Result<(), E>,
    ) -> Result<Option<Taken>, E> {
        let Some(taken) = self.last_snapshot(report, entity)? else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.kayse_id, r.status, coalesce(r.seen_state, r.sent_state), s.status, s.state,
                     coalesce(r.seen_state, r.sent_state) IS s.state
                 FROM records r LEFT JOIN snapshots s
                   ON s.report = ?1 AND s.entity = r.entity AND s.kayse_id = r.kayse_id
                 WHERE r.entity = ?2 ORDER BY r.kayse_id",
            )
            .map_err(self.sql())?;
        let mut rows = stmt.query(params![report, entity]).map_err(self.sql())?;
        while let Some(row) = rows.next().map_err(self.sql())? {
            let read = || -> rusqlite::Result<Option<Change>> {
                let id = get_id(row, 0)?;
                let now = get_status(row, 1)?;
                let was = match row.get::<_, Option<String>>(3)? {
                    None => None,
                    Some(s) => Some(
                        Status::parse(&s)
                            .ok_or_else(|| bad(3, format!("an unknown status {s:?}")))?,
                    ),
                };
                let live_now = now == Status::Live;
                let live_then = was == Some(Status::Live);
                Ok(match (live_then, live_now) {
                    (false, true) => Some(Change::New {
                        id,
                        state: get_json(row, 2)?,
                    }),
                    (true, false) => Some(Change::Gone { id, status: now }),
                    // The same text is the same state: most records of a nightly report are
                    // unchanged, and this spares parsing them.
                    (true, true) if row.get::<_, bool>(5)? => None,
                    (true, true) => {
                        let null = Value::Null;
                        let fields = changes(
                            get_json(row, 4)?.as_ref().unwrap_or(&null),
                            get_json(row, 2)?.as_ref().unwrap_or(&null),
                            ignore,
                            Blanks::Clear,
                        );
                        (!fields.is_empty()).then_some(Change::Changed { id, fields })
                    }
                    (false, false) => None,
                })
            };
            let change = read().map_err(self.sql())?;
            if let Some(c) = change {
                f(c)?;
            }
        }
        Ok(Some(taken))
    }

    /// Forget records (and creates in doubt) for good: their keys, links and snapshots go too.
    /// For a record Kayse no longer has, or a wrong mapping a person has checked.
    pub fn forget(&mut self, entity: &str, what: Forget<'_>) -> Result<Forgotten, LedgerError> {
        let path = self.path.clone();
        let sql = |e| super::classify(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let mut out = Forgotten::default();
        let ids: Vec<i64> = match what {
            Forget::Id(id) => vec![sql_id(id)],
            Forget::Key(key) => {
                out.unknowns += tx
                    .execute(
                        "DELETE FROM unknowns WHERE unknown_id IN (SELECT unknown_id FROM unknown_keys
                         WHERE entity = ?1 AND key = ?2 AND value = ?3)",
                        params![entity, key.rule, key.value],
                    )
                    .map_err(sql)? as u64;
                tx.prepare(
                    "SELECT kayse_id FROM record_keys WHERE entity = ?1 AND key = ?2 AND value = ?3",
                )
                .and_then(|mut s| {
                    s.query_map(params![entity, key.rule, key.value], |r| r.get(0))?
                        .collect()
                })
                .map_err(sql)?
            }
            Forget::Entity => {
                out.unknowns += tx
                    .execute("DELETE FROM unknowns WHERE entity = ?1", [entity])
                    .map_err(sql)? as u64;
                out.records += tx
                    .execute("DELETE FROM records WHERE entity = ?1", [entity])
                    .map_err(sql)? as u64;
                for stmt in [
                    "DELETE FROM links WHERE a_entity = ?1 OR b_entity = ?1",
                    "DELETE FROM snapshots WHERE entity = ?1",
                    "DELETE FROM reports WHERE entity = ?1",
                ] {
                    tx.execute(stmt, [entity]).map_err(sql)?;
                }
                Vec::new()
            }
        };
        for id in ids {
            out.records += tx
                .execute(
                    "DELETE FROM records WHERE entity = ?1 AND kayse_id = ?2",
                    params![entity, id],
                )
                .map_err(sql)? as u64;
            for stmt in [
                "DELETE FROM links WHERE (a_entity = ?1 AND a_id = ?2) OR (b_entity = ?1 AND b_id = ?2)",
                "DELETE FROM snapshots WHERE entity = ?1 AND kayse_id = ?2",
            ] {
                tx.execute(stmt, params![entity, id]).map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(out)
    }
}
